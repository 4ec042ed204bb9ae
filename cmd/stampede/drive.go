package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"stampede/history"
	"stampede/infra"
	"stampede/sut"
	"stampede/workloads"
	"stampede/workloads/prom"
)

// cmdDrive is `stampede drive scenario.yaml --target URL --out DIR`: the load driver alone
// against a booking system that is already running; `stampede drive merge` joins the histories
// of a sharded run; `stampede drive plan` prints a seeded plan without sending anything.
func cmdDrive(ctx context.Context, args []string) error {
	if len(args) > 0 {
		switch args[0] {
		case "merge":
			return driveMerge(args[1:])
		case "plan":
			return drivePlan(args[1:], os.Stdout)
		}
	}
	fs := flag.NewFlagSet("drive", flag.ContinueOnError)
	var target, out, shard, runID, metricsAddr, startAt string
	var seed int64
	var setup, ledgers bool
	var psp string
	var scale float64
	var maxConns, maxActive int
	fs.StringVar(&target, "target", os.Getenv(infra.EnvTarget), "base URL of the booking system ("+infra.EnvTarget+")")
	fs.StringVar(&out, "out", "", "directory for history.jsonl, metrics.jsonl and drive-summary.json (required)")
	fs.Int64Var(&seed, "seed", 0, "seed of the herd (default: the scenario's)")
	fs.Float64Var(&scale, "scale", 1, "multiply the herd (users, arrival rates, the waiting room's admission rate; not the inventory) by this factor")
	fs.StringVar(&shard, "shard", "", "run shard i/n of the users (0 <= i < n), e.g. 0/4")
	fs.BoolVar(&setup, "setup", true, "create the scenario's events first (POST /admin/events, idempotent)")
	fs.StringVar(&runID, "run-id", "", "label of this run's sessions and idempotency keys (default: from the start time)")
	fs.IntVar(&maxActive, "max-active", 0, fmt.Sprintf("users running at once before arrivals are dropped (default %d)", workloads.DefaultMaxActive))
	fs.BoolVar(&ledgers, "ledgers", false, "after the herd, write the target's ledger of the scenario's events to ledger.json (and, with --psp, the processor's to psp-ledger.json), so that `stampede check DIR` has all it judges")
	fs.StringVar(&psp, "psp", "", "base URL of the payment processor the target pays through (with --ledgers)")
	fs.IntVar(&maxConns, "max-conns", 0, fmt.Sprintf("connections to the target for ordinary requests (default %d; -1: no bound)", workloads.DefaultMaxConns))
	fs.StringVar(&metricsAddr, "metrics-addr", "", "serve live Prometheus metrics on HOST:PORT/metrics while the run goes (e.g. 0.0.0.0:9464)")
	fs.StringVar(&startAt, "start-at", "", fmt.Sprintf("RFC 3339 instant at which the arrivals start, after the set-up, so that shards line up (refused when more than %s past)", workloads.MaxStartLate))
	fs.Usage = func() {
		o := fs.Output()
		fmt.Fprintln(o, "usage: stampede drive scenario.yaml --target URL --out DIR [flags]")
		fmt.Fprintln(o, "       stampede drive merge --clock-skew 10ms --out merged.jsonl shard0.jsonl shard1.jsonl ...")
		fmt.Fprintln(o, "       stampede drive plan scenario.yaml [--seed N] [--users N]")
		fmt.Fprintln(o, "\nExit status: 0 when every SLO of the scenario held, 3 when one did not, 4 when one did not while the")
		fmt.Fprintln(o, "driver was the bottleneck (the SLOs say nothing of the target then), 1 on error.")
		fmt.Fprintln(o, "\nflags:")
		fs.PrintDefaults()
	}
	if done, err := parseFlags(fs, args); done {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return exitError{2}
	}
	if target == "" {
		return errors.New("--target is required (or STAMPEDE_TARGET)")
	}
	if out == "" {
		return errors.New("--out is required")
	}
	sc, err := workloads.Load(fs.Arg(0))
	if err != nil {
		return err
	}
	if err := sc.Scale(scale); err != nil {
		return fmt.Errorf("--scale: %w", err)
	}
	sh, err := workloads.ParseShard(shard)
	if err != nil {
		return fmt.Errorf("--shard: %w", err)
	}
	var start time.Time
	if startAt != "" {
		if start, err = time.Parse(time.RFC3339, startAt); err != nil {
			return fmt.Errorf("--start-at %q: want an RFC 3339 instant such as 2030-05-01T18:00:00Z: %w", startAt, err)
		}
		if err := workloads.CheckStartAt(start, time.Now()); err != nil {
			return fmt.Errorf("--start-at: %w", err)
		}
	}
	cfg := workloads.Config{
		Scenario: sc, Target: target, Seed: seed, Shard: sh, OutDir: out, Progress: os.Stderr,
		CreateEvents: setup, RunID: runID, MaxConns: maxConns, MaxActive: maxActive, StartAt: start,
	}
	if metricsAddr != "" {
		stop, err := serveDriverMetrics(metricsAddr, &cfg)
		if err != nil {
			return err
		}
		defer stop()
	}
	sum, runErr := workloads.Run(ctx, cfg)
	if sum == nil {
		return runErr
	}
	if err := writeSummary(filepath.Join(out, "drive-summary.json"), sum); err != nil && runErr == nil {
		runErr = err
	}
	fmt.Println()
	if err := sum.WriteText(os.Stdout); err != nil && runErr == nil {
		runErr = err
	}
	fmt.Printf("history: %s\n", filepath.Join(out, "history.jsonl"))
	if runErr != nil {
		return runErr
	}
	if ledgers {
		if err := writeLedgers(ctx, out, target, psp, sc.EventIDs()); err != nil {
			return err
		}
	}
	switch {
	case sum.Passed():
		return nil
	case sum.GeneratorBound:
		return exitError{4}
	}
	return exitError{3}
}

// writeLedgers reads the target's ledger of each event, and the processor's when psp is given,
// into the run directory out.
func writeLedgers(ctx context.Context, out, target, psp string, events []string) error {
	var l sut.Ledgers
	var err error
	if l.Server, l.ServerJSON, err = (sut.Server{URL: target}).Ledgers(ctx, events); err != nil {
		return err
	}
	if psp != "" {
		if l.PSP, l.PSPJSON, err = (sut.Processor{URL: psp}).Ledger(ctx); err != nil {
			return err
		}
	}
	return l.WriteDir(out)
}

// serveDriverMetrics serves the driver's live metrics, with the Go runtime's and the process's,
// on addr, and sets cfg.Observer to feed them. stop ends the serving.
func serveDriverMetrics(addr string, cfg *workloads.Config) (stop func(), err error) {
	reg := prometheus.NewRegistry()
	if err := reg.Register(collectors.NewGoCollector()); err != nil {
		return nil, err
	}
	if err := reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
		return nil, err
	}
	m, err := prom.New(reg)
	if err != nil {
		return nil, fmt.Errorf("--metrics-addr: %w", err)
	}
	ep, err := prom.Listen(addr, reg)
	if err != nil {
		return nil, fmt.Errorf("--metrics-addr: %w", err)
	}
	fmt.Fprintf(os.Stderr, "metrics: http://%s/metrics\n", ep.Addr())
	cfg.Observer = m
	return func() {
		if err := ep.Close(); err != nil {
			fmt.Fprintf(os.Stderr, "stampede drive: %v\n", err)
		}
	}, nil
}

func writeSummary(path string, sum *workloads.Summary) error {
	b, err := json.MarshalIndent(sum, "", "  ")
	if err != nil {
		return fmt.Errorf("encode summary: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write summary: %w", err)
	}
	return nil
}

// driveMerge is `stampede drive merge`.
func driveMerge(args []string) error {
	fs := flag.NewFlagSet("drive merge", flag.ContinueOnError)
	var out string
	var skew time.Duration
	fs.StringVar(&out, "out", "", "merged history file (required)")
	fs.DurationVar(&skew, "clock-skew", 10*time.Millisecond, "bound on how far the shards' wall clocks may disagree; widens every operation by it on both sides")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: stampede drive merge --clock-skew 10ms --out merged.jsonl shard0.jsonl shard1.jsonl ...\n\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return exitError{2}
	}
	if out == "" || fs.NArg() == 0 {
		fs.Usage()
		return exitError{2}
	}
	var readers []io.Reader
	for _, p := range fs.Args() {
		f, err := os.Open(p)
		if err != nil {
			return fmt.Errorf("open history: %w", err)
		}
		defer f.Close()
		readers = append(readers, f)
	}
	w, err := history.Create(out)
	if err != nil {
		return err
	}
	if err := workloads.Merge(w, skew, readers...); err != nil {
		w.Close()
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	fmt.Printf("merged %d histories into %s (%d records, clock skew %s)\n", len(readers), out, w.Count(), skew)
	return nil
}

// drivePlan is `stampede drive plan`: the seeded plan as JSON Lines, one user a line.
func drivePlan(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("drive plan", flag.ContinueOnError)
	var seed int64
	var users int
	var shard string
	fs.Int64Var(&seed, "seed", 0, "seed (default: the scenario's)")
	fs.IntVar(&users, "users", 20, "print the first N users of the shard (0: all)")
	fs.StringVar(&shard, "shard", "", "only the users of shard i/n")
	if done, err := parseFlags(fs, args); done {
		return err
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(fs.Output(), "usage: stampede drive plan scenario.yaml [--seed N] [--users N] [--shard i/n]")
		return exitError{2}
	}
	sc, err := workloads.Load(fs.Arg(0))
	if err != nil {
		return err
	}
	sh, err := workloads.ParseShard(shard)
	if err != nil {
		return fmt.Errorf("--shard: %w", err)
	}
	p, err := workloads.NewPlan(sc, sc.RunSeed(seed))
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	for n, i := range p.ShardUsers(sh) {
		if users > 0 && n >= users {
			break
		}
		if err := enc.Encode(p.User(i)); err != nil {
			return fmt.Errorf("write plan: %w", err)
		}
	}
	return nil
}
