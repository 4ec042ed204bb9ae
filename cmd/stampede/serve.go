package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"

	"stampede/server"
	"stampede/server/payments"
	"stampede/strategies"
)

// cmdServe is `stampede serve`: the reference booking server. Every flag can also be given as
// the environment variable STAMPEDE_<FLAG> (upper case, dashes as underscores, e.g.
// STAMPEDE_HOLD_TTL); a flag on the command line wins over the environment.
func cmdServe(ctx context.Context, args []string) error {
	return serveMain(ctx, args, os.Getenv, os.Stdout, os.Stderr)
}

func serveMain(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o server.Options
	var secret, logLevel string
	fs.StringVar(&o.Addr, "addr", server.DefaultAddr, "listen address (port 0 picks a free one; the real address is printed)")
	fs.StringVar(&o.Strategy, "strategy", "", "concurrency strategy: "+strings.Join(strategies.Names(), ", "))
	fs.StringVar(&o.DB, "db", "", "database: postgres://... URL or mysql://user:pass@tcp(host:port)/db DSN")
	fs.StringVar(&o.Redis, "redis", "", "Redis URL (redis://host:port/db); needed by redis-lock, the waiting room and the read cache")
	fs.StringVar(&o.PSP, "psp", server.DefaultPSP, "payment processor base URL")
	fs.DurationVar(&o.HoldTTL, "hold-ttl", 0, "hold lifetime (default 10m)")
	fs.BoolVar(&o.AllowUnsafe, "allow-unsafe", false, "allow the strategies broken on purpose (naive, redis-lock-unfenced, status-expiry-blind), which sell seats twice")
	fs.BoolVar(&o.SafetyNet, "safety-net", false, "add a UNIQUE constraint on booked seats (off in verification runs)")
	fs.IntVar(&o.PoolSize, "pool-size", 0, "database connection pool size (default 20)")
	fs.StringVar(&o.KeyPrefix, "key-prefix", "stampede:", "prefix of every Redis key")
	fs.StringVar(&secret, "admission-secret", "", "secret that signs waiting-room admission tokens (default: random per process)")
	fs.DurationVar(&o.SweepInterval, "sweep-interval", 0, "how often a sweeping strategy releases expired holds (default 1s)")
	fs.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.DurationVar(&o.CheckoutLease, "checkout-lease", 0, "how long a checkout owns its idempotency key; must outlast the slowest payment (default 45s)")
	fs.DurationVar(&o.CheckoutIdle, "checkout-idle", 0, "how long an unfinished checkout waits before the completer resumes it (default 1m)")
	fs.DurationVar(&o.SeatMapFreshness, "seatmap-freshness", server.DefaultSeatMapFreshness, "how long one seat-map snapshot is shared by all readers (0: every read is live)")
	fs.IntVar(&o.MaxInFlight, "max-in-flight", server.DefaultMaxInFlight, "requests in flight beyond which browse, join and hold are refused 503 overloaded, in that order (0: no bound)")
	fs.DurationVar(&o.OverloadWait, "overload-wait", 0, "how long a request over its class's share of max-in-flight waits for room (default 50ms)")
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
	if err := flagsFromEnv(fs, getenv); err != nil {
		return err
	}
	o.AdmissionSecret = []byte(secret)

	var level slog.Level
	if err := level.UnmarshalText([]byte(logLevel)); err != nil {
		return fmt.Errorf("log-level %q: want debug, info, warn or error", logLevel)
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
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

// flagsFromEnv sets every flag not given on the command line from STAMPEDE_<FLAG> when that
// variable is set. A bad value is an error naming the variable.
func flagsFromEnv(fs *flag.FlagSet, getenv func(string) string) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if err != nil || given[f.Name] {
			return
		}
		name := envName(f.Name)
		v := getenv(name)
		if v == "" {
			return
		}
		if serr := fs.Set(f.Name, v); serr != nil {
			err = fmt.Errorf("%s=%q: %w", name, v, serr)
		}
	})
	return err
}

// envName is the environment variable of a flag: hold-ttl -> STAMPEDE_HOLD_TTL.
func envName(flagName string) string {
	return "STAMPEDE_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}
