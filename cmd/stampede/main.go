// Command stampede is the load-testing and chaos-verification harness for ticket-booking
// systems, and its reference booking server. Each subcommand wires packages together; the logic
// lives in those packages.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// command is one subcommand: run parses its own flags from args.
type command struct {
	summary string
	run     func(ctx context.Context, args []string) error
}

// commands is every subcommand, built in one place.
func commands() map[string]command {
	return map[string]command{
		"serve":   {"run the reference booking server", cmdServe},
		"psp":     {"run the fake payment processor", cmdPSP},
		"drive":   {"run the load driver alone against a target", cmdDrive},
		"check":   {"check a recorded history and ledgers", cmdCheck},
		"run":     {"run a scenario end to end: services, server, herd, faults, checker, report", cmdRun},
		"report":  {"re-render the reports of a run directory", cmdReport},
		"chaos":   {"list the faults (stampede chaos list)", cmdChaos},
		"compare": {"compare a candidate's runs with a baseline's, with significance, and gate regressions", cmdCompare},
		"version": {"print the version", cmdVersion},

		"capacity": {"find the most load each strategy x database takes while staying correct", cmdCapacity},
	}
}

// exitError carries an exit status without printing anything more.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func main() {
	os.Exit(realMain(os.Args[1:]))
}

func realMain(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cmds := commands()
	name := "run"
	if len(args) > 0 {
		name = args[0]
		args = args[1:]
	}
	if name == "help" || name == "-h" || name == "--help" {
		usage(cmds)
		return 0
	}
	c, ok := cmds[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "stampede: unknown command %q\n\n", name)
		usage(cmds)
		return 2
	}
	if err := c.run(ctx, args); err != nil {
		var ee exitError
		if errors.As(err, &ee) {
			return ee.code
		}
		fmt.Fprintf(os.Stderr, "stampede %s: %v\n", name, err)
		return 1
	}
	return 0
}

func usage(cmds map[string]command) {
	fmt.Fprintln(os.Stderr, "usage: stampede <command> [flags]   (no command: stampede run)")
	fmt.Fprintln(os.Stderr, "\ncommands:")
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(os.Stderr, "  %-8s %s\n", n, cmds[n].summary)
	}
}
