package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"

	"stampede/server"
	"stampede/server/payments"
)

// cmdServe is `stampede serve`: the reference booking server. Its flags are server.Options'
// (RegisterFlags); every flag can also be given as the environment variable STAMPEDE_<FLAG>
// (server.EnvName, e.g. STAMPEDE_HOLD_TTL); a flag on the command line wins over the
// environment.
func cmdServe(ctx context.Context, args []string) error {
	return serveMain(ctx, args, os.Getenv, os.Stdout, os.Stderr)
}

func serveMain(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := server.DefaultOptions()
	o.RegisterFlags(fs)
	var withPSP string
	fs.StringVar(&withPSP, "with-psp", "", "also run a payment processor on this address (e.g. 127.0.0.1:8081) and pay through it; overrides --psp")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: stampede serve --strategy NAME --db DSN [flags]")
		fmt.Fprintln(stderr, "\nEvery flag may also be set as STAMPEDE_<FLAG>, e.g. STAMPEDE_HOLD_TTL=30s; flags win.")
		fmt.Fprintln(stderr, "\nflags:")
		fs.PrintDefaults()
	}
	if done, err := parseFlags(fs, args); done {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (flags only)", fs.Arg(0))
	}
	if err := server.FlagsFromEnv(fs, getenv); err != nil {
		return err
	}
	logger, err := o.Logger(stderr)
	if err != nil {
		return err
	}
	o.Ready = func(addr string) { fmt.Fprintf(stdout, "listening on %s\n", addr) }
	if withPSP == "" {
		return server.Serve(ctx, o, logger)
	}
	// The processor beside the server: its own listener, stopped with the server.
	ln, err := net.Listen("tcp", withPSP)
	if err != nil {
		return fmt.Errorf("with-psp: listen on %s: %w", withPSP, err)
	}
	o.PSP = "http://" + ln.Addr().String()
	fmt.Fprintf(stdout, "payment processor on %s\n", ln.Addr())
	pctx, stop := context.WithCancel(ctx)
	defer stop()
	pspDone := make(chan error, 1)
	go func() { pspDone <- payments.Serve(pctx, ln, payments.New(payments.WithLogger(logger))) }()
	err = server.Serve(ctx, o, logger)
	stop()
	if perr := <-pspDone; err == nil {
		err = perr
	}
	return err
}
