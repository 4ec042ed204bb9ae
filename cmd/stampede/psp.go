package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"stampede/server/payments"
)

// cmdPSP runs the fake payment processor: stampede psp --addr 127.0.0.1:8081.
func cmdPSP(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("psp", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8081", "listen address (port 0 picks a free one)")
	seed := fs.Int64("seed", 1, "seed of the failure decisions")
	maxHold := fs.Duration("max-hold", 10*time.Minute, "longest time the timeout fault holds a request")
	verbose := fs.Bool("v", false, "log every injected fault")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: stampede psp [flags]\n\nFlags (also from STAMPEDE_PSP_<FLAG>, e.g. STAMPEDE_PSP_ADDR; a flag wins):")
		fs.PrintDefaults()
		fmt.Fprintln(fs.Output(), "\nFailure modes are switched at run time: PUT /admin/faults {latency_ms, latency_rate, error_rate, timeout_rate, lost_response_rate, seed}.")
	}
	if err := pspEnvDefaults(fs, os.LookupEnv); err != nil {
		return err
	}
	if done, err := parseFlags(fs, args); done {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *maxHold <= 0 {
		return fmt.Errorf("--max-hold %v: must be positive", *maxHold)
	}
	logger := slog.New(slog.DiscardHandler)
	if *verbose {
		logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	// The parent process (a run, a test) reads this line to learn the port.
	fmt.Printf("psp listening on %s\n", ln.Addr())
	p := payments.New(payments.WithSeed(*seed), payments.WithMaxHold(*maxHold), payments.WithLogger(logger))
	return payments.Serve(ctx, ln, p)
}

// pspEnvDefaults sets each flag of fs from STAMPEDE_PSP_<NAME> (dashes become underscores) when
// that variable is set; flags given on the command line are parsed afterwards and win.
func pspEnvDefaults(fs *flag.FlagSet, lookup func(string) (string, bool)) error {
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		name := "STAMPEDE_PSP_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		v, ok := lookup(name)
		if !ok || err != nil {
			return
		}
		if e := f.Value.Set(v); e != nil {
			err = fmt.Errorf("%s=%q: %w", name, v, e)
		}
	})
	return err
}
