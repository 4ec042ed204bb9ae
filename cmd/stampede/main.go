// Command stampede is the load-testing and chaos-verification harness for ticket-booking
// systems, and its reference booking server. Each subcommand wires packages together; the logic
// lives in those packages.
//
// Files: main.go dispatches a command line to its subcommand and turns the outcome into an
// exit status (internal/exitcode); command.go is the command table's type and the parsing every
// subcommand shares (flags anywhere, -h, the environment); help.go and completion.go are
// generated from that table; each other file is one subcommand.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"stampede/internal/exitcode"
)

// commands is every subcommand, built in one place, in the order help lists them.
func commands() []*command {
	return []*command{
		runCommand(), capacityCommand(), selftestCommand(), driveCommand(), checkCommand(), compareCommand(), reportCommand(),
		serveCommand(), pspCommand(), chaosCommand(), versionCommand(), helpCommand(), completionCommand(),
	}
}

// cli is where a command line's output goes and where its environment comes from.
type cli struct {
	stdout, stderr io.Writer
	getenv         func(string) string
}

func main() {
	os.Exit(realMain(os.Args[1:]))
}

// realMain runs one command line on the process's streams and environment, and returns its
// exit status. Ctrl-C and SIGTERM cancel the command's context.
func realMain(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return (&cli{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}).main(ctx, args)
}

// main runs one command line and returns its exit status: exitcode.Of the command's error, or
// Interrupted when ctx was cancelled under a command that then failed. A message is printed
// on stderr for every error that has one.
func (c *cli) main(ctx context.Context, args []string) int {
	name, err := c.dispatch(ctx, args)
	if err == nil {
		return exitcode.OK
	}
	code := exitcode.Of(err)
	if ctx.Err() != nil && code == exitcode.Harness {
		code = exitcode.Interrupted
		if errors.Is(err, context.Canceled) {
			err = exitcode.With(code, errors.New("interrupted"))
		}
	}
	var ee *exitcode.Error
	if errors.As(err, &ee) && ee.Err == nil {
		return code // the command has said why
	}
	fmt.Fprintf(c.stderr, "%s: %s\n", prog(name), message(name, err))
	if code == exitcode.Usage {
		fmt.Fprintf(c.stderr, "Run '%s --help' for usage.\n", prog(name))
	}
	return code
}

// prog is how messages name a subcommand: "stampede check".
func prog(name string) string { return strings.TrimSpace("stampede " + name) }

// message is err's text without a leading repeat of the subcommand's name ("check: ..." from
// the checker under "stampede check: ").
func message(name string, err error) string {
	msg := err.Error()
	if name == "" {
		return msg
	}
	words := strings.Fields(name)
	return strings.TrimPrefix(msg, words[len(words)-1]+": ")
}

// dispatch finds the subcommand of args and runs it; it returns the subcommand's name (empty
// for stampede itself) for messages.
func (c *cli) dispatch(ctx context.Context, args []string) (string, error) {
	if len(args) == 0 {
		return "", c.overview(c.stdout)
	}
	switch args[0] {
	case "-h", "-help", "--help":
		return "", c.overview(c.stdout)
	case "-version", "--version":
		return "version", printVersion(c.stdout)
	}
	cmd := lookup(commands(), args[0])
	if cmd == nil {
		if strings.HasPrefix(args[0], "-") {
			return "", usageErrorf("flag %s before a command: write stampede COMMAND [flags]", args[0])
		}
		return "", usageErrorf("unknown command %q; the commands are %s", args[0], strings.Join(names(commands()), ", "))
	}
	return c.run(ctx, cmd, args[1:])
}

// usageErrorf is an error of the command line: exit status 2, and a pointer to the help.
func usageErrorf(format string, a ...any) error {
	return exitcode.With(exitcode.Usage, fmt.Errorf(format, a...))
}
