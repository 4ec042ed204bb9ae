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
	"sort"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"stampede/history"
	"stampede/internal/exitcode"
	"stampede/internal/outdir"
	"stampede/sut"
	"stampede/workloads"
	"stampede/workloads/prom"
)

// driveCommand is `stampede drive scenario.yaml --target URL --out DIR`: the load driver alone
// against a booking system that is already running; `drive merge` joins the histories of a
// sharded run; `drive plan` prints a seeded plan without sending anything.
func driveCommand() *command {
	return &command{
		name:    "drive",
		summary: "run the load driver alone against a booking system that is already running",
		usage: []string{
			"drive scenario.yaml --target URL --out DIR [--shard i/n] [flags]",
			"drive merge --clock-skew 10ms --out merged.jsonl shard0.jsonl shard1.jsonl ...",
			"drive plan scenario.yaml [--seed N] [--users N] [--shard i/n]",
		},
		about: "Drives the scenario's seeded open-model herd at --target, a system that speaks the booking contract " +
			"(server/api.yaml), and writes history.jsonl, metrics.jsonl and drive-summary.json into --out (new or " +
			"empty; --force empties a directory of an earlier run). It creates the scenario's events first (--setup). " +
			"When the target has GET /admin/ledger (the reference server has), its ledger of the scenario's events is " +
			"saved as ledger.json, and with --psp the processor's as psp-ledger.json, so that `stampede check DIR` has " +
			"all it judges.\n\n" +
			"A target that fails every request for --abort-on-fail (it is down, or refuses every connection) ends the " +
			"drive early with exit status 4. An SLO of the scenario that had no data does not hold.",
		examples: []string{
			"stampede drive scenarios/quickstart.yaml --target http://127.0.0.1:8080 --out out --psp http://127.0.0.1:8081",
			"stampede drive scenarios/eras-tour.yaml --target http://booking:8080 --out shard0 --shard 0/4 --run-id r1",
			"STAMPEDE_TARGET=http://127.0.0.1:8080 stampede drive scenarios/hot-seat.yaml --out out --quiet",
		},
		exits: []exit{
			{exitcode.OK, "every SLO of the scenario held"},
			{exitcode.Usage, "bad flags, a scenario that cannot be read, an --out that is not empty"},
			{exitcode.Gate, "an SLO did not hold, or had no data"},
			{exitcode.Harness, "the target could not be set up, failed every request for --abort-on-fail, or the ledgers could not be read"},
			{exitcode.Interrupted, ""},
		},
		args:  []string{argFile},
		subs:  []*command{driveMergeCommand(), drivePlanCommand()},
		setup: driveFlags,
	}
}

func driveFlags(fs *flag.FlagSet, c *cli) action {
	var target, out, shard, runID, psp, metricsAddr, remoteWrite, startAt, eventPrefix, adminToken string
	var seed int64
	var scale float64
	var setup, ledgers, force, quiet, verbose bool
	var maxConns, maxActive int
	var abortOnFail time.Duration
	fs.StringVar(&target, "target", "", "base URL of the booking system (required)")
	fs.StringVar(&out, "out", "", "directory for history.jsonl, metrics.jsonl and drive-summary.json, new or empty (required)")
	fs.BoolVar(&force, "force", false, "let --out be the directory of an earlier run: it is emptied first")
	fs.Int64Var(&seed, "seed", 0, "seed of the herd (default: the scenario's)")
	fs.Float64Var(&scale, "scale", 1, "multiply the herd (users, arrival rates, the waiting room's admission rate; not the inventory) by this factor")
	fs.StringVar(&shard, "shard", "", "run shard i/n of the users (0 <= i < n), e.g. 0/4")
	fs.BoolVar(&setup, "setup", true, "create the scenario's events first (POST /admin/events, idempotent)")
	fs.StringVar(&eventPrefix, "event-prefix", "", "prefix of the scenario's event ids, <prefix>-1, ... (default: the scenario's event_prefix, else its name); every shard of a run takes the same")
	fs.StringVar(&runID, "run-id", "", "label of this run's sessions and idempotency keys (default: from the start time)")
	fs.IntVar(&maxActive, "max-active", 0, fmt.Sprintf("users running at once before arrivals are dropped (default %d)", workloads.DefaultMaxActive))
	fs.BoolVar(&ledgers, "ledgers", true, "after the herd, save the target's ledger of the scenario's events as ledger.json (and, with --psp, the processor's as psp-ledger.json); skipped with a note when the target has no /admin/ledger, unless given explicitly")
	fs.StringVar(&adminToken, "admin-token", "", "bearer token of the target's and the processor's /admin endpoints (event set-up, ledgers), when they are locked")
	fs.StringVar(&psp, "psp", "", "base URL of the payment processor the target pays through, whose ledger is saved too")
	fs.IntVar(&maxConns, "max-conns", 0, fmt.Sprintf("connections to the target for ordinary requests (default %d; -1: no bound)", workloads.DefaultMaxConns))
	fs.DurationVar(&abortOnFail, "abort-on-fail", 10*time.Second, "give up once every request has failed for this long (a target that is down); 0: never")
	fs.BoolVar(&quiet, "quiet", false, "no progress and no summary table: only the history's path on stdout, and errors")
	fs.BoolVar(&verbose, "verbose", false, "more output: every operation's answers by code after the summary")
	fs.StringVar(&metricsAddr, "metrics-addr", "", "serve live Prometheus metrics on HOST:PORT/metrics while the run goes (e.g. 0.0.0.0:9464)")
	fs.StringVar(&remoteWrite, "metrics-remote-write", "", fmt.Sprintf("push the live metrics every %s to this Prometheus remote-write URL (protocol 2.0), e.g. http://prometheus:9090/api/v1/write", prom.DefaultPushEvery))
	fs.StringVar(&startAt, "start-at", "", fmt.Sprintf("RFC 3339 instant at which the arrivals start, after the set-up, so that shards line up (refused when more than %s past)", workloads.MaxStartLate))
	return func(ctx context.Context, args []string) error {
		if err := wantArgs(args, 1, 1, "one scenario file"); err != nil {
			return err
		}
		switch {
		case target == "":
			return usageErrorf("--target is required (or STAMPEDE_TARGET)")
		case out == "":
			return usageErrorf("--out is required")
		case quiet && verbose:
			return usageErrorf("--quiet and --verbose: choose one")
		}
		explicitLedgers := false
		fs.Visit(func(f *flag.Flag) { explicitLedgers = explicitLedgers || f.Name == "ledgers" })
		sc, err := workloads.Load(args[0])
		if err != nil {
			return inputError(err)
		}
		if err := sc.Scale(scale); err != nil {
			return usageErrorf("--scale: %w", err)
		}
		if eventPrefix != "" {
			if err := sc.SetEventPrefix(eventPrefix); err != nil {
				return usageErrorf("--event-prefix: %w", err)
			}
		}
		sh, err := workloads.ParseShard(shard)
		if err != nil {
			return usageErrorf("--shard: %w", err)
		}
		var start time.Time
		if startAt != "" {
			if start, err = time.Parse(time.RFC3339, startAt); err != nil {
				return usageErrorf("--start-at %q: want an RFC 3339 instant such as 2030-05-01T18:00:00Z: %w", startAt, err)
			}
			if err := workloads.CheckStartAt(start, time.Now()); err != nil {
				return usageErrorf("--start-at: %w", err)
			}
		}
		if err := outdir.Prepare(out, force); err != nil {
			return inputError(err)
		}
		var progress io.Writer = c.stderr
		if quiet {
			progress = nil
		}
		cfg := workloads.Config{
			Scenario: sc, Target: target, Seed: seed, Shard: sh, OutDir: out, Progress: progress,
			CreateEvents: setup, AdminToken: adminToken, RunID: runID, MaxConns: maxConns, MaxActive: maxActive, AbortOnFail: abortOnFail,
			StartAt: start,
		}
		if metricsAddr != "" || remoteWrite != "" {
			stop, err := driverMetrics(metricsAddr, remoteWrite, &cfg)
			if err != nil {
				return err
			}
			defer stop()
		}
		sum, runErr := workloads.Run(ctx, cfg)
		if sum == nil {
			return runErr
		}
		if err := writeSummary(filepath.Join(out, workloads.SummaryFile), sum); err != nil && runErr == nil {
			runErr = err
		}
		if !quiet {
			fmt.Fprintln(c.stdout)
			if err := sum.WriteText(c.stdout); err != nil && runErr == nil {
				runErr = err
			}
			if verbose {
				writeCodes(c.stdout, sum)
			}
		}
		fmt.Fprintf(c.stdout, "history: %s\n", filepath.Join(out, history.FileName))
		if runErr != nil {
			return runErr
		}
		if ledgers {
			err := writeLedgers(ctx, out, target, psp, adminToken, sc.EventIDs())
			switch {
			case errors.Is(err, sut.ErrNoLedger) && !explicitLedgers:
				if !quiet {
					fmt.Fprintf(c.stderr, "ledgers: not saved, the target has no /admin/ledger; stampede check %s judges the history alone\n", out)
				}
			case err != nil:
				return err
			default:
				fmt.Fprintf(c.stdout, "ledgers: %s\n", out)
			}
		}
		return sloExit(sum)
	}
}

// sloExit is the exit status of a driver summary's SLOs: none when every one held, 3 when one
// did not, 4 when one did not while the driver was the bottleneck (no verdict on the target).
func sloExit(sum *workloads.Summary) error {
	switch {
	case sum.Passed():
		return nil
	case sum.GeneratorBound:
		return exitcode.With(exitcode.Harness, nil)
	}
	return exitcode.With(exitcode.Gate, nil)
}

// writeCodes lists every operation's answers: ok, each failure's code (the most frequent
// first) and unknown outcomes.
func writeCodes(w io.Writer, sum *workloads.Summary) {
	ops := make([]string, 0, len(sum.Ops))
	for op := range sum.Ops {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	for _, op := range ops {
		o := sum.Ops[op]
		keys := make([]string, 0, len(o.Codes))
		for k := range o.Codes {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool {
			if o.Codes[keys[i]] != o.Codes[keys[j]] {
				return o.Codes[keys[i]] > o.Codes[keys[j]]
			}
			return keys[i] < keys[j]
		})
		parts := []string{fmt.Sprintf("ok %d", o.Outcomes.Ok)}
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%s %d", k, o.Codes[k]))
		}
		parts = append(parts, fmt.Sprintf("info %d", o.Outcomes.Info))
		fmt.Fprintf(w, "answers %-8s %s\n", op, strings.Join(parts, ", "))
	}
}

// writeLedgers reads the target's ledger of each event, and the processor's when psp is given,
// into the run directory out. An error wraps sut.ErrNoLedger when the target has no ledger.
func writeLedgers(ctx context.Context, out, target, psp, token string, events []string) error {
	var l sut.Ledgers
	var err error
	if l.Server, l.ServerJSON, err = (sut.Server{URL: target, Token: token}).Ledgers(ctx, events); err != nil {
		return err
	}
	if psp != "" {
		if l.PSP, l.PSPJSON, err = (sut.Processor{URL: psp, Token: token}).Ledger(ctx); err != nil {
			return err
		}
	}
	return l.WriteDir(out)
}

// driverMetrics keeps the driver's live metrics, with the Go runtime's and the process's, and
// sets cfg.Observer to feed them: served on addr when it is given, pushed to the remote-write
// URL remoteWrite when that is. stop ends the serving and, after a last push, the pushing.
func driverMetrics(addr, remoteWrite string, cfg *workloads.Config) (stop func(), err error) {
	reg := prometheus.NewRegistry()
	if err := reg.Register(collectors.NewGoCollector()); err != nil {
		return nil, err
	}
	if err := reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
		return nil, err
	}
	m, err := prom.New(reg)
	if err != nil {
		return nil, fmt.Errorf("live metrics: %w", err)
	}
	var stops []func()
	if remoteWrite != "" {
		p, err := prom.NewPusher(remoteWrite, reg, 0)
		if err != nil {
			return nil, usageErrorf("--metrics-remote-write: %w", err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- p.Run(ctx) }()
		stops = append(stops, func() {
			cancel()
			if err := <-done; err != nil {
				fmt.Fprintf(os.Stderr, "stampede drive: --metrics-remote-write: %v\n", err)
			}
		})
	}
	if addr != "" {
		ep, err := prom.Listen(addr, reg)
		if err != nil {
			for _, s := range stops {
				s()
			}
			return nil, fmt.Errorf("--metrics-addr: %w", err)
		}
		fmt.Fprintf(os.Stderr, "metrics: http://%s/metrics\n", ep.Addr())
		stops = append(stops, func() {
			if err := ep.Close(); err != nil {
				fmt.Fprintf(os.Stderr, "stampede drive: %v\n", err)
			}
		})
	}
	cfg.Observer = m
	return func() {
		for _, s := range stops {
			s()
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

// driveMergeCommand is `stampede drive merge`.
func driveMergeCommand() *command {
	return &command{
		name:    "drive merge",
		summary: "join the histories of a sharded run into one",
		usage:   []string{"drive merge --clock-skew 10ms --out merged.jsonl [--scenario scenario.yaml] shard0.jsonl shard1.jsonl ..."},
		about: "Puts the histories of the shards of one run (stampede drive --shard i/n on several machines) on one " +
			"time axis, using each header's wall-clock start, and widens every operation by --clock-skew on both " +
			"sides, so that the checker never orders two operations of different shards more tightly than the " +
			"machines' clocks allow.\n\n" +
			"With --scenario, the drive-summary.json beside each history is combined too, into a drive-summary.json " +
			"beside --out: counts added, latencies from every shard's samples (the shards' histograms merged, not " +
			"their percentiles averaged), and the scenario's SLOs judged over them, printed as drive prints them.",
		examples: []string{
			"stampede drive merge --clock-skew 5ms --out merged/history.jsonl shard0/history.jsonl shard1/history.jsonl",
			"stampede drive merge --scenario scenarios/eras-tour.yaml --out merged/history.jsonl shard*/history.jsonl",
		},
		exits: []exit{{exitcode.OK, "merged; with --scenario, every SLO held"}, {exitcode.Usage, "no --out or no histories, a history, summary or scenario that cannot be read"},
			{exitcode.Gate, "with --scenario: an SLO did not hold over the shards together"},
			{exitcode.Harness, "the merged history could not be written, or an SLO did not hold while a shard's driver was the bottleneck"}},
		args: []string{argFile},
		setup: func(fs *flag.FlagSet, c *cli) action {
			var out, scenario string
			var skew time.Duration
			fs.StringVar(&out, "out", "", "merged history file (required)")
			fs.DurationVar(&skew, "clock-skew", 10*time.Millisecond, "bound on how far the shards' wall clocks may disagree; widens every operation by it on both sides")
			fs.StringVar(&scenario, "scenario", "", "the shards' scenario: also combine the drive-summary.json beside each history and judge its SLOs over every shard's samples")
			return func(_ context.Context, args []string) error {
				if out == "" {
					return usageErrorf("--out is required")
				}
				if err := wantArgs(args, 1, -1, "the histories to merge"); err != nil {
					return err
				}
				var readers []io.Reader
				for _, p := range args {
					f, err := os.Open(p)
					if err != nil {
						return inputError(fmt.Errorf("open history: %w", err))
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
					return inputError(err)
				}
				if err := w.Close(); err != nil {
					return err
				}
				fmt.Fprintf(c.stdout, "merged %d histories into %s (%d records, clock skew %s)\n", len(readers), out, w.Count(), skew)
				if scenario == "" {
					return nil
				}
				return combineSummaries(c, scenario, out, w.Count(), args)
			}
		},
	}
}

// drivePlanCommand is `stampede drive plan`: the seeded plan as JSON Lines, one user a line.
func drivePlanCommand() *command {
	return &command{
		name:    "drive plan",
		summary: "print the seeded plan of a scenario's users without sending anything",
		usage:   []string{"drive plan scenario.yaml [--seed N] [--users N] [--shard i/n]"},
		about: "Prints what each user of the herd will do, one JSON object a line: its flow, event, seats, pauses and " +
			"arrival offset, all drawn from the seed. The same scenario and seed always give the same plan.",
		examples: []string{"stampede drive plan scenarios/quickstart.yaml --seed 7 --users 5", "stampede drive plan scenarios/eras-tour.yaml --shard 1/4 --users 0 | wc -l"},
		exits:    []exit{{exitcode.OK, ""}, {exitcode.Usage, "bad flags, or a scenario that cannot be read"}},
		args:     []string{argFile},
		setup: func(fs *flag.FlagSet, c *cli) action {
			var seed int64
			var users int
			var shard string
			fs.Int64Var(&seed, "seed", 0, "seed (default: the scenario's)")
			fs.IntVar(&users, "users", 20, "print the first N users of the shard (0: all)")
			fs.StringVar(&shard, "shard", "", "only the users of shard i/n")
			return func(_ context.Context, args []string) error {
				if err := wantArgs(args, 1, 1, "one scenario file"); err != nil {
					return err
				}
				sc, err := workloads.Load(args[0])
				if err != nil {
					return inputError(err)
				}
				sh, err := workloads.ParseShard(shard)
				if err != nil {
					return usageErrorf("--shard: %w", err)
				}
				p, err := workloads.NewPlan(sc, sc.RunSeed(seed))
				if err != nil {
					return inputError(err)
				}
				enc := json.NewEncoder(c.stdout)
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
		},
	}
}
