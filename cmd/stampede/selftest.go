package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"

	"stampede/checker"
	"stampede/infra"
	"stampede/internal/exitcode"
	"stampede/run"
	"stampede/selftest"
	"stampede/strategies"
)

// selftestCommand is `stampede selftest [scenario...] [flags]`: stampede's own bug-finding
// rate, every broken variant and every safe strategy under each scenario for several seeds.
func selftestCommand() *command {
	return &command{
		name:    "selftest",
		summary: "measure stampede's own power: every broken variant and safe strategy under each scenario, over seeds",
		usage:   []string{"selftest [scenario.yaml...] [flags]"},
		about: "Runs every strategy broken on purpose (naive and the variants that add one defect to a safe strategy) " +
			"and every safe strategy under each scenario for --seeds seeds (the scenario's own seed, or --seed, and the " +
			"next ones), and prints the detection matrix: for each variant and scenario, caught in k of N seeds (and by " +
			"which checks), not exercised (the run created none of the hazards its defect needs), or MISSED (it did, " +
			"and no check failed); and the safe strategies' false alarms. Broken variants run on the first --db, safe " +
			"strategies on each. It writes selftest.md, selftest.json and every run's directory under --out " +
			"(default runs/selftest-<time>). With no scenario, scenarios/gauntlet.yaml.",
		examples: []string{
			"stampede selftest scenarios/gauntlet.yaml --seeds 10",
			"stampede selftest scenarios/quickstart.yaml scenarios/hot-seat.yaml --seeds 3 --db postgres",
			"stampede selftest --strategy double-charge,phantom-refund,status-expiry --seeds 1",
		},
		exits: []exit{
			{exitcode.OK, "every broken variant caught by some scenario, no safe strategy failed a check"},
			{exitcode.Violation, "a safe strategy failed a check (a false alarm, or a real bug)"},
			{exitcode.Usage, ""},
			{exitcode.Harness, "a run could not complete"},
			{exitcode.Undetected, "a broken variant was caught by no scenario at any seed"},
			{exitcode.Interrupted, ""},
		},
		args:       []string{argFile},
		flagValues: targetFlagValues(),
		setup:      selftestFlags,
	}
}

func selftestFlags(fs *flag.FlagSet, c *cli) action {
	var o selftest.Options
	var strategy, db string
	var verbose bool
	fs.IntVar(&o.Seeds, "seeds", 1, "seeds per scenario: the scenario's own (or --seed) and the next ones")
	fs.Int64Var(&o.Run.Seed, "seed", 0, "first seed (default: each scenario's own)")
	fs.StringVar(&strategy, "strategy", "", "strategies to run, broken and safe, comma-separated, or all (default: all)")
	fs.StringVar(&db, "db", "", "databases: postgres, mysql or all; variants run on the first (default: postgres, plus mysql when installed, for the safe strategies)")
	fs.StringVar(&o.Run.Env, "env", "local", "where services come from: local (start them) or external (--pg, --mysql, --redis)")
	storageFlag(fs, &o.Run.Storage)
	var ends infra.Endpoints
	ends.RegisterFlags(fs)
	fs.StringVar(&o.Out, "out", "", "directory, new or empty (default runs/selftest-<time>)")
	fs.DurationVar(&o.Run.CheckTimeout, "check-timeout", 0, fmt.Sprintf("linearizability search bound per seat (default %s)", checker.DefaultTimeout))
	fs.IntVar(&o.Parallel, "parallel", 0, fmt.Sprintf("runs at once, each on a set of PostgreSQL, MariaDB and Redis processes of the selftest's own that serves one run at a time and the next run after it (default %d; 1 with --env external)", selftest.DefaultParallel))
	fs.BoolVar(&verbose, "verbose", false, "every run's own progress too")
	return func(ctx context.Context, args []string) error {
		o.Scenarios = args
		if o.Seeds < 1 {
			return usageErrorf("--seeds: %d: want at least 1", o.Seeds)
		}
		if o.Parallel < 0 {
			return usageErrorf("--parallel: %d: want at least 1", o.Parallel)
		}
		if ends.Target != "" {
			return usageErrorf("--target: a selftest runs the in-tree strategies, not a target")
		}
		o.Run.PG, o.Run.MySQL, o.Run.Redis = ends.Postgres, ends.MySQL, ends.Redis
		var err error
		if o.Strategies, err = run.ParseList(strategy, strategies.Names()); err != nil {
			return usageErrorf("--strategy: %w", err)
		}
		if o.Run.DBs, err = run.ParseList(db, run.Databases); err != nil {
			return usageErrorf("--db: %w", err)
		}
		o.Progress, o.Run.Progress = c.stderr, io.Discard
		if verbose {
			o.Run.Progress = c.stderr
		}
		o.Run.Version = versionString()
		m, dir, err := selftest.Run(ctx, o)
		switch {
		case errors.Is(err, selftest.ErrInput):
			return usageErrorf("%w", err)
		case m == nil:
			return exitcode.With(exitcode.Harness, err)
		}
		fmt.Fprintln(c.stdout)
		if werr := m.WriteMarkdown(c.stdout); werr != nil {
			return werr
		}
		fmt.Fprintf(c.stdout, "\nreport: %s\n        %s\n", filepath.Join(dir, selftest.MarkdownFile), filepath.Join(dir, selftest.JSONFile))
		if err != nil {
			c.stderr.Write([]byte("selftest: " + err.Error() + "\n"))
		}
		if m.ExitCode != exitcode.OK {
			return exitcode.With(m.ExitCode, nil)
		}
		return nil
	}
}
