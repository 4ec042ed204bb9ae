package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"time"

	"stampede/internal/admintoken"
	"stampede/internal/exitcode"
	"stampede/server/payments"
)

// pspCommand is `stampede psp`: the fake payment processor.
func pspCommand() *command {
	return &command{
		name:    "psp",
		summary: "run the fake payment processor",
		usage:   []string{"psp [--addr HOST:PORT] [flags]"},
		about: "The fake payment processor (server/payments/psp.yaml) the reference server pays through. It prints " +
			"\"psp listening on ADDR\" once it accepts requests, and serves until Ctrl-C or SIGTERM.\n\n" +
			"Failure modes are switched at run time: PUT /admin/faults {latency_ms, latency_rate, error_rate, " +
			"timeout_rate, lost_response_rate, seed}, with \"Authorization: Bearer TOKEN\" when --admin-token is set " +
			"(required to listen beyond loopback). GET /ledger is its record of money, which the checker reconciles.",
		examples: []string{"stampede psp --addr 127.0.0.1:8081", "STAMPEDE_PSP_ADDR=0.0.0.0:8081 stampede psp -v"},
		exits: []exit{
			{exitcode.OK, "stopped by Ctrl-C or SIGTERM"},
			{exitcode.Usage, ""},
			{exitcode.Harness, "the address could not be listened on"},
		},
		args:  []string{},
		setup: pspFlags,
	}
}

func pspFlags(fs *flag.FlagSet, c *cli) action {
	addr := fs.String("addr", "127.0.0.1:8081", "listen address (port 0 picks a free one)")
	seed := fs.Int64("seed", 1, "seed of the failure decisions")
	maxHold := fs.Duration("max-hold", 10*time.Minute, "longest time the timeout fault holds a request")
	verbose := fs.Bool("v", false, "log every injected fault")
	token := fs.String("admin-token", "", "bearer token every /admin/* request must carry (required unless --addr is loopback; at least 16 characters)")
	return func(ctx context.Context, args []string) error {
		if err := wantArgs(args, 0, 0, "flags only"); err != nil {
			return err
		}
		if *maxHold <= 0 {
			return usageErrorf("--max-hold %v: must be positive", *maxHold)
		}
		if err := admintoken.Validate(*token); err != nil {
			return usageErrorf("%v", err)
		}
		if err := admintoken.RequireForAddr(*addr, *token); err != nil {
			return usageErrorf("%v", err)
		}
		logger := slog.New(slog.DiscardHandler)
		if *verbose {
			logger = slog.New(slog.NewTextHandler(c.stderr, nil))
		}
		ln, err := net.Listen("tcp", *addr)
		if err != nil {
			return fmt.Errorf("listen on %s: %w", *addr, err)
		}
		// The parent process (a run, a test) reads this line to learn the port.
		fmt.Fprintf(c.stdout, "psp listening on %s\n", ln.Addr())
		p := payments.New(payments.WithSeed(*seed), payments.WithMaxHold(*maxHold), payments.WithLogger(logger), payments.WithAdminToken(*token))
		return payments.Serve(ctx, ln, p)
	}
}
