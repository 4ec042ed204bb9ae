package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"stampede/capacity"
	"stampede/checker"
	"stampede/infra"
	"stampede/internal/exitcode"
	"stampede/reports"
	"stampede/run"
	"stampede/strategies"
)

// capacityCommand is `stampede capacity [scenario.yaml] [flags]`: the most load each strategy
// x database takes while holding the scenario's SLOs and passing every check.
func capacityCommand() *command {
	return &command{
		name:    "capacity",
		summary: "find the most load each strategy x database takes while staying correct",
		usage:   []string{"capacity [scenario.yaml] [flags]"},
		about: "Finds the most load (arrivals per second) each strategy x database takes while every SLO of the " +
			"scenario holds and every correctness check passes: a short climb, then bisection, each step a real " +
			"seeded run. A step whose checks fail ends the search: the system is unsafe and gets no capacity. A " +
			"step where the load generator was the bottleneck is not the target's limit. With no scenario, " +
			"searches scenarios/quickstart.yaml.",
		examples: []string{
			"stampede capacity scenarios/capacity.yaml --strategy all --db postgres --budget 15m --repeat 3",
			"stampede capacity --strategy skip-locked --precision 10% --expect 100000 --over 10m --min 50",
		},
		exits: []exit{
			{exitcode.OK, "every capacity found (and at least --min)"},
			{exitcode.Violation, "a step's checks failed: unsafe, no capacity given"},
			{exitcode.Usage, ""},
			{exitcode.Gate, "a capacity below --min, or no load held"},
			{exitcode.Harness, "a step could not run, or the load generator ran out first"},
			{exitcode.Interrupted, ""},
		},
		args:       []string{argFile},
		flagValues: withFlagValues(targetFlagValues(), "mode", "scale", "rate"),
		setup:      capacityFlags,
	}
}

func capacityFlags(fs *flag.FlagSet, cl *cli) action {
	var c capacity.Config
	var strategy, db, mode, precision, minRate, start string
	fs.StringVar(&strategy, "strategy", "", "strategies to search, comma-separated, or all (default: every safe strategy)")
	fs.StringVar(&db, "db", "", "databases: postgres, mysql or all (default: postgres, plus mysql when installed)")
	fs.StringVar(&c.Env, "env", "local", "where services come from: local (start them) or external (--pg/--mysql/--redis or STAMPEDE_PG/STAMPEDE_MYSQL/STAMPEDE_REDIS)")
	storageFlag(fs, &c.Storage)
	var ends infra.Endpoints
	ends.RegisterFlags(fs)
	fs.StringVar(&c.PSPAddr, "psp-addr", "", "where the payment processor listens (default: a free port; with --target 127.0.0.1:8081)")
	fs.Int64Var(&c.Seed, "seed", 0, "seed of every step's first run (default: the scenario's); repeats derive theirs from it")
	fs.StringVar(&c.Out, "out", "", "run directory (default runs/capacity-<scenario>-<time>)")
	fs.BoolVar(&c.AllowUnsafe, "allow-unsafe", false, "allow the strategies broken on purpose; they are reported unsafe, never given a capacity")
	fs.DurationVar(&c.CheckTimeout, "check-timeout", 0, fmt.Sprintf("linearizability search bound per seat (default %s)", checker.DefaultTimeout))
	fs.StringVar(&mode, "mode", string(capacity.ModeScale), "how a step offers its load: scale (the scenario's arrival profile scaled to it) or rate (a constant rate for --step)")
	fs.DurationVar(&c.StepDuration, "step", capacity.DefaultStepDuration, "how long a step offers its load with --mode rate")
	fs.StringVar(&start, "start", "", "first load, arrivals/s (default: the scenario's top arrival rate)")
	fs.StringVar(&precision, "precision", "5%", "how narrow the boundary must be: the first load that fails within this of the last that held")
	fs.DurationVar(&c.Budget, "budget", 10*time.Minute, "time for every search together (0: no bound); each strategy x database gets an even share of what is left")
	fs.IntVar(&c.Repeat, "repeat", 1, "runs, each with its own seed, of each load at the boundary: the answer is an interval that covers their noise")
	fs.StringVar(&minRate, "min", "", "capacity required, arrivals/s: exit 3 when a search cannot vouch for it")
	fs.Int64Var(&c.Users, "expect", 0, "fans expected at the on-sale: how long the queue gets and how long the last fan waits")
	fs.DurationVar(&c.Over, "over", 0, "the time over which the --expect fans arrive (0: all at once)")
	var serveFlags stringsFlag
	fs.Var(&serveFlags, "serve-flag", serveFlagUsage)
	return func(ctx context.Context, args []string) error {
		c.ServeFlags = serveFlags
		if len(args) > 1 {
			return usageErrorf("%w", fmt.Errorf("one scenario file at most, got %q", args))
		}
		if len(args) == 1 {
			c.Scenario = args[0]
		}
		c.Mode = capacity.Mode(mode)
		c.PG, c.MySQL, c.Redis, c.Target = ends.Postgres, ends.MySQL, ends.Redis, ends.Target
		if c.Target == "" {
			c.Target = os.Getenv(infra.EnvTarget)
		}
		var err error
		if c.Strategies, err = run.ParseList(strategy, strategies.Safe()); err != nil {
			return usageErrorf("%w", fmt.Errorf("--strategy: %w", err))
		}
		if c.DBs, err = run.ParseList(db, run.Databases); err != nil {
			return usageErrorf("%w", fmt.Errorf("--db: %w", err))
		}
		if c.Precision, err = capacity.ParsePrecision(precision); err != nil {
			return usageErrorf("%w", fmt.Errorf("--precision: %w", err))
		}
		for _, r := range []struct {
			flag, v string
			to      *float64
		}{{"--min", minRate, &c.Min}, {"--start", start, &c.Start}} {
			if r.v == "" {
				continue
			}
			if *r.to, err = capacity.ParseRate(r.v); err != nil {
				return usageErrorf("%w", fmt.Errorf("%s: %w", r.flag, err))
			}
		}
		if c.Over > 0 && c.Users == 0 {
			return usageErrorf("%w", errors.New("--over needs --expect: how many fans arrive over it"))
		}
		c.Version = versionString()
		sum, dir, err := capacity.Measure(ctx, c)
		switch {
		case errors.Is(err, capacity.ErrInput):
			return usageErrorf("%w", err)
		case sum == nil && err != nil:
			return exitcode.With(exitcode.Harness, err)
		}
		writeAnswers(cl.stdout, sum)
		fmt.Fprintf(cl.stdout, "\nreport: %s\n        %s\n", filepath.Join(dir, reports.HTMLFile), filepath.Join(dir, reports.MarkdownFile))
		if err != nil {
			if ctx.Err() != nil {
				return exitcode.With(exitcode.Interrupted, err)
			}
			return exitcode.With(exitcode.Worst(exitcode.Harness, capacity.ExitCode(sum)), err)
		}
		if code := capacity.ExitCode(sum); code != exitcode.OK {
			return exitcode.With(code, nil)
		}
		return nil
	}
}

// writeAnswers prints each search's answer and its on-sale advice.
func writeAnswers(w io.Writer, s *reports.Summary) {
	fmt.Fprintln(w)
	for _, r := range s.Runs {
		c := r.CapacitySearch
		if c == nil {
			fmt.Fprintf(w, "%s on %s: %s\n", r.Strategy, r.DB, r.Error)
			continue
		}
		fmt.Fprintln(w, c.Answer)
		if o := c.OnSale; o != nil {
			fmt.Fprintf(w, "  waiting room: admit %.0f/s (%s)", o.AdmitRate, o.Rule)
			if o.Users > 0 {
				fmt.Fprintf(w, "; %d fans: queue up to %.0f, the last waits %s", o.Users, o.PeakQueue, time.Duration(o.LastWaitSeconds*float64(time.Second)).Round(time.Second))
			}
			fmt.Fprintln(w)
		}
	}
}
