package main

import (
	"context"
	"flag"
	"fmt"
	"net"

	"stampede/internal/admintoken"
	"stampede/internal/exitcode"
	"stampede/server"
	"stampede/server/payments"
)

// serveCommand is `stampede serve`: the reference booking server. Its flags are
// server.Options' (RegisterFlags).
func serveCommand() *command {
	return &command{
		name:    "serve",
		summary: "run the reference booking server",
		usage:   []string{"serve --strategy NAME --db DSN [--redis URL] [--psp URL] [flags]"},
		about: "The reference booking server (server/api.yaml) on one strategy and one database: it applies the " +
			"migrations, connects to Redis when --redis is given (redis-lock, the waiting room and the read cache need " +
			"it), pays through the processor at --psp, and serves until Ctrl-C or SIGTERM, letting requests in flight " +
			"finish. It prints \"listening on ADDR\" once it accepts requests.\n\n" +
			"--db is a postgres:// URL or a mysql:// DSN, mysql://user:pass@host:port/db (or the driver's " +
			"mysql://user:pass@tcp(host:port)/db). --with-psp runs the fake payment processor beside it.\n\n" +
			"Every /admin/* endpoint (failpoints, pool hog, event creation, settle, ledger, waiting-room rate) " +
			"answers 401 unless the request carries \"Authorization: Bearer TOKEN\" with the --admin-token " +
			"(STAMPEDE_ADMIN_TOKEN) the server was given; without a token the server refuses to listen beyond loopback.",
		examples: []string{
			"stampede serve --strategy skip-locked --db postgres://postgres@127.0.0.1:5432/test --redis redis://127.0.0.1:6379/0",
			"stampede serve --strategy pessimistic --db mysql://root@127.0.0.1:3306/test --with-psp 127.0.0.1:8081",
			"STAMPEDE_SERVE_STRATEGY=status-expiry STAMPEDE_SERVE_DB=postgres://... stampede serve",
		},
		exits: []exit{
			{exitcode.OK, "stopped by Ctrl-C or SIGTERM"},
			{exitcode.Usage, "bad flags: an unknown strategy, no --db, redis-lock without --redis, ..."},
			{exitcode.Harness, "the database, Redis or the address could not be used"},
		},
		args:       []string{},
		flagValues: map[string][]string{"strategy": strategyNames(), "log-level": {"debug", "info", "warn", "error"}},
		setup:      serveFlags,
	}
}

func serveFlags(fs *flag.FlagSet, c *cli) action {
	o := server.DefaultOptions()
	o.RegisterFlags(fs)
	var withPSP string
	fs.StringVar(&withPSP, "with-psp", "", "also run a payment processor on this address (e.g. 127.0.0.1:8081) and pay through it; overrides --psp")
	return func(ctx context.Context, args []string) error {
		if err := wantArgs(args, 0, 0, "flags only"); err != nil {
			return err
		}
		if err := o.Validate(); err != nil {
			return exitcode.With(exitcode.Usage, err)
		}
		logger, err := o.Logger(c.stderr)
		if err != nil {
			return exitcode.With(exitcode.Usage, err)
		}
		o.Ready = func(addr string) { fmt.Fprintf(c.stdout, "listening on %s\n", addr) }
		if withPSP == "" {
			return server.Serve(ctx, o, logger)
		}
		// The processor beside the server: its own listener, stopped with the server, locked by
		// the server's admin token.
		if err := admintoken.RequireForAddr(withPSP, o.AdminToken); err != nil {
			return exitcode.With(exitcode.Usage, fmt.Errorf("with-psp: %w", err))
		}
		ln, err := net.Listen("tcp", withPSP)
		if err != nil {
			return fmt.Errorf("with-psp: listen on %s: %w", withPSP, err)
		}
		o.PSP = "http://" + ln.Addr().String()
		fmt.Fprintf(c.stdout, "payment processor on %s\n", ln.Addr())
		pctx, stop := context.WithCancel(ctx)
		defer stop()
		pspDone := make(chan error, 1)
		go func() {
			pspDone <- payments.Serve(pctx, ln, payments.New(payments.WithLogger(logger), payments.WithAdminToken(o.AdminToken)))
		}()
		err = server.Serve(ctx, o, logger)
		stop()
		if perr := <-pspDone; err == nil {
			err = perr
		}
		return err
	}
}
