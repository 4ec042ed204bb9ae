package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"stampede/checker"
	"stampede/infra"
	"stampede/infra/local"
	"stampede/internal/exitcode"
	"stampede/reports"
	"stampede/run"
	"stampede/server"
	"stampede/strategies"
	"stampede/workloads"
)

// runCommand is `stampede run [scenario.yaml] [flags]`: the main job, from nothing to a
// verdict and a report.
func runCommand() *command {
	return &command{
		name:    "run",
		summary: "run a scenario end to end: services, server, herd, faults, checker, report",
		usage:   []string{"run [scenario.yaml] [flags]"},
		about: "For each strategy x database it starts the backing services (--env local: PostgreSQL, MariaDB and " +
			"Redis from the installed binaries, on free loopback ports, removed afterwards, their data on --storage: " +
			"memory, a tmpfs, by default where there is one, or disk; --env external: yours), a " +
			"fresh database, the payment processor and the reference server; drives the seeded herd with the " +
			"scenario's fault schedule beside it; reads both ledgers; runs the checker; and writes one run directory " +
			"(--out, default runs/<scenario>-<time>) with report.md, report.html, summary.json and junit.xml. With no " +
			"scenario, scenarios/quickstart.yaml.\n\n" +
			"--env external leaves the databases you name as they were: the run creates a schema of its own in the " +
			"PostgreSQL database (search_path set to it on every connection of the run) and a database of its own on " +
			"the MySQL server, both named stampede_run_<UTC time>_<random>, runs everything there and drops them at " +
			"the end, after a failure or Ctrl-C too, unless --keep. The report says where the data was and whether it " +
			"was kept. The user needs the CREATE privilege on the PostgreSQL database and the CREATE privilege on " +
			"MySQL (GRANT ALL ON `stampede\\_run\\_%`.* TO ...); without it the run stops before any load, naming " +
			"the privilege, and exits 4.\n\n" +
			"--out must be new or empty: --force empties a directory that holds an earlier run first. Progress goes " +
			"to stderr: a live display on a terminal, a line every 10s without one (CI), and every fault as it is " +
			"injected and recovered. Ctrl-C stops the runs, marks the report interrupted and exits 130.\n\n" +
			"--shards N drives each herd as N processes of `stampede drive --shard i/N` (this executable) that start " +
			"together at one instant, as the Kubernetes Indexed Job in deploy/kubernetes does on many machines; their " +
			"histories are merged on one time axis, the checker runs once over the whole, and the SLOs are judged over " +
			"every shard's samples. A shard that fails makes the run exit 4, with the end of its log.\n\n" +
			"--repeat N runs every strategy x database N times, repetition j with a seed derived from the seed " +
			"(workloads.RepeatSeed: the first is the seed itself), and reports each metric's median and confidence " +
			"interval over them. --baseline DIR judges the runs against an earlier run of the same scenario, " +
			"strategies and databases (refused before anything runs otherwise): a gated metric fails only when it " +
			"moved beyond its tolerance and the Mann-Whitney U test finds the move significant (4 runs a side at " +
			"least). Tolerances: the scenario's gate: section, else the defaults, with --gate replacing them metric by " +
			"metric (--gate hold_p99=off lifts one). A failed check still exits 1 whatever the gate says.",
		examples: []string{
			"stampede run",
			"stampede run scenarios/hot-seat.yaml --strategy skip-locked,redis-lock --db mysql --seed 7",
			"stampede run --strategy naive --allow-unsafe   # exits 1: the report names the seats sold twice",
			"stampede run --strategy status-expiry --shadow skip-locked   # where skip-locked would decide differently",
			"stampede run --env external --pg postgres://... --mysql mysql://root@127.0.0.1:3306/test --redis redis://...",
			"stampede run --env external --pg postgres://... --keep   # leave the run's schema stampede_run_... in place to inspect",
			"stampede run --target http://booking.internal:8080 --psp-addr 127.0.0.1:8081",
			"stampede run scenarios/quickstart.yaml --strategy skip-locked --db postgres --shards 2   # the herd as 2 driver processes, one verdict",
			"stampede run --strategy skip-locked --db postgres --repeat 5 --out baseline",
			"stampede run --strategy skip-locked --db postgres --repeat 5 --baseline baseline --gate hold_p99=+10%   # exits 3 on a regression",
		},
		exits: []exit{
			{exitcode.OK, "every check passed and every SLO held"},
			{exitcode.Violation, "a check failed: a seat sold twice, money lost, ..."},
			{exitcode.Usage, "bad flags, a scenario that cannot be read, an --out that is not empty, Redis missing under --env external"},
			{exitcode.Gate, "every check passed, but an SLO did not hold (or had no data), or --baseline's gate found a regression"},
			{exitcode.Harness, "a run could not complete (services, server), a check could not decide, or under --env external the user may not create the run's own schema or database"},
			{exitcode.Interrupted, "Ctrl-C or SIGTERM: the report is marked interrupted"},
		},
		args:       []string{argFile},
		flagValues: targetFlagValues(),
		setup:      runFlags,
	}
}

// targetFlagValues are the values of the flags that choose what a run tests (--strategy, --db,
// --env, --storage), for the help of every command that takes them.
func targetFlagValues() map[string][]string {
	return map[string][]string{
		"strategy": append(strategyNames(), "all"), "db": append(slices.Clone(run.Databases), "all"), "env": run.Envs,
		"storage": local.Storages,
	}
}

// withFlagValues adds flag's values to m.
func withFlagValues(m map[string][]string, flag string, values ...string) map[string][]string {
	m[flag] = values
	return m
}

// strategyNames are the strategies a --strategy flag takes.
func strategyNames() []string { return strategies.Names() }

func runFlags(fs *flag.FlagSet, c *cli) action {
	var o run.Options
	var strategy, db string
	var quiet, verbose bool
	fs.StringVar(&strategy, "strategy", "", "strategies to run, comma-separated, or all (default: every safe strategy)")
	fs.StringVar(&db, "db", "", "databases: postgres, mysql or all (default: postgres, plus mysql when installed)")
	fs.StringVar(&o.Env, "env", "local", "where services come from: local (start them) or external (--pg, --mysql, --redis)")
	storageFlag(fs, &o.Storage)
	var ends infra.Endpoints // --pg, --mysql and --redis with --env external; --target
	ends.RegisterFlags(fs)
	fs.BoolVar(&o.Keep, "keep", false, "with --env external, leave the run's own schema (PostgreSQL) or database (MySQL), stampede_run_<time>_<random>, in place instead of dropping it at the end")
	fs.StringVar(&o.PSPAddr, "psp-addr", "", "where the payment processor listens (default: a free port; with --target 127.0.0.1:8081)")
	fs.Int64Var(&o.Seed, "seed", 0, "seed of the herd and the faults (default: the scenario's)")
	fs.Float64Var(&o.Scale, "scale", 1, "multiply the herd (users, arrival rates, the waiting room's admission rate; not the inventory) by this factor")
	require := fs.String("require-coverage", "", "least count of each hazard every run must create, e.g. concurrent_seat_holds=10,expired_mid_checkout=1 (with the scenario's coverage: section; short: exit 5)")
	fs.StringVar(&o.Out, "out", "", "run directory, new or empty (default runs/<scenario>-<time>)")
	fs.BoolVar(&o.Force, "force", false, "let --out be the directory of an earlier run: it is emptied first")
	fs.StringVar(&o.Shadow, "shadow", "", "replay every decision of each strategy against this one on its own copy of the inventory; the report's shadow section says where they differ")
	fs.BoolVar(&o.AllowUnsafe, "allow-unsafe", false, "allow the strategies broken on purpose (naive and the broken variants: stampede help selftest) and the gates broken on purpose (per-gate-cache, which admits tickets twice)")
	fs.StringVar(&o.Scanner, "scanner", "", "how the reference server's stadium gates admit scanned tickets: exactly-once (default) or per-gate-cache (broken on purpose, with --allow-unsafe)")
	fs.DurationVar(&o.CheckTimeout, "check-timeout", 0, fmt.Sprintf("linearizability search bound per seat (default %s)", checker.DefaultTimeout))
	fs.BoolVar(&quiet, "quiet", false, "no progress: only the verdict and the report's path on stdout, and errors")
	fs.BoolVar(&verbose, "verbose", false, "more progress: each run's driver summary and checker table, every fault's parameters")
	fs.IntVar(&o.Shards, "shards", 0, fmt.Sprintf("drive each herd as N stampede drive --shard i/N processes started together, merged before checking (1 to %d; 0: in this process)", run.MaxShards))
	fs.IntVar(&o.Repeat, "repeat", 1, "run each strategy x database this many times, as samples (seeds derived from the seed; 5 or more to gate)")
	fs.StringVar(&o.Baseline, "baseline", "", "judge the runs against an earlier run: its directory or summary.json (same scenario, strategies and databases)")
	var gates toleranceFlags
	fs.Var(&gates, "gate", "with --baseline, a tolerance `metric=value`, repeated, over the scenario's gate: section; a scenario without one gates "+defaultGateText())
	fs.StringVar(&o.Failpoints, "failpoints", "", "arm the reference server's failpoints from its start: NAME=ACTION,... (after-hold=delay:20ms answers every hold 20ms late)")
	var serveFlags stringsFlag
	fs.Var(&serveFlags, "serve-flag", serveFlagUsage)
	return func(ctx context.Context, args []string) error {
		o.Gate = gates
		o.ServeFlags = serveFlags
		if err := wantArgs(args, 0, 1, "one scenario file at most"); err != nil {
			return err
		}
		if quiet && verbose {
			return usageErrorf("--quiet and --verbose: choose one")
		}
		if len(args) == 1 {
			o.Scenario = args[0]
		}
		if *require != "" {
			cov, err := workloads.ParseCoverage(*require)
			if err != nil {
				return usageErrorf("--require-coverage: %w", err)
			}
			o.RequireCoverage = cov
		}
		o.PG, o.MySQL, o.Redis, o.Target = ends.Postgres, ends.MySQL, ends.Redis, ends.Target
		var err error
		if o.Strategies, err = run.ParseList(strategy, strategies.Safe()); err != nil {
			return usageErrorf("--strategy: %w", err)
		}
		if o.DBs, err = run.ParseList(db, run.Databases); err != nil {
			return usageErrorf("--db: %w", err)
		}
		o.Progress, o.Verbose = c.stderr, verbose
		if quiet {
			o.Progress = io.Discard
		}
		o.Version = versionString()
		sum, dir, err := run.Run(ctx, o)
		var ie *run.InputError
		switch {
		case errors.As(err, &ie):
			return inputError(err)
		case err != nil && sum == nil:
			return err
		}
		fmt.Fprintf(c.stdout, "\n%s\n", verdictLine(sum))
		if sum.Gate != nil {
			fmt.Fprintf(c.stdout, "GATE: %s\n", sum.Gate.Line())
		}
		if err != nil {
			return err // the reports could not be written: name no file that is not there
		}
		fmt.Fprintf(c.stdout, "report: %s\n", filepath.Join(dir, reports.HTMLFile))
		fmt.Fprintf(c.stdout, "        %s\n", filepath.Join(dir, reports.MarkdownFile))
		for _, r := range sum.Runs {
			if len(r.Shortfall) > 0 {
				fmt.Fprintf(c.stdout, "coverage short: %s on %s: %s\n", r.Strategy, r.DB, strings.Join(r.Shortfall, "; "))
			}
		}
		if code := sum.ExitCode(); code != exitcode.OK {
			return exitcode.With(code, nil)
		}
		return nil
	}
}

// verdictLine is the run's verdict in one line, for stdout.
func verdictLine(s *reports.Summary) string {
	failed := 0
	for _, r := range s.Runs {
		if r.Verdict != reports.Pass {
			failed++
		}
	}
	switch {
	case s.Interrupted:
		return fmt.Sprintf("INTERRUPTED: %d of %d runs under way failed or were cut short", failed, len(s.Runs))
	case s.Verdict == reports.Pass:
		return fmt.Sprintf("PASS: %d of %d runs passed: no seat sold twice, no money lost, SLOs held", len(s.Runs), len(s.Runs))
	}
	if s.Verdict == reports.Unknown {
		return fmt.Sprintf("UNKNOWN: no run failed, but the load generator was the bottleneck in %d of %d runs: their SLOs say nothing of the target", s.GeneratorBound(), len(s.Runs))
	}
	return fmt.Sprintf("FAIL: %d of %d runs failed", failed, len(s.Runs))
}

// storageFlag registers --storage (run, capacity, selftest): where local services keep their data.
func storageFlag(fs *flag.FlagSet, p *string) {
	fs.StringVar(p, "storage", "", "where --env local services keep their data: memory (a tmpfs: process faults lose nothing committed, and no disk stall reaches the figures) or disk (every commit waits for this machine's disk) (default memory where /dev/shm is a tmpfs, else disk)")
}

// serveFlagUsage is the usage of --serve-flag (run, capacity).
var serveFlagUsage = "a `flag` of stampede serve for the reference server, repeated (--serve-flag=--overload-target=100ms --serve-flag=--max-in-flight=64); not those the run sets itself: " +
	strings.Join(server.RunOwnedFlags, ", ")

// stringsFlag is a flag that may be repeated, each value kept as given.
type stringsFlag []string

func (f *stringsFlag) String() string { return strings.Join(*f, " ") }

func (f *stringsFlag) Set(s string) error {
	*f = append(*f, s)
	return nil
}
