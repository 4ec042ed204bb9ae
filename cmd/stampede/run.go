package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"stampede/checker"
	"stampede/infra"
	"stampede/reports"
	"stampede/run"
	"stampede/strategies"
	"stampede/workloads"
)

// cmdRun is `stampede run [scenario.yaml] [flags]`: the main job, from nothing to a verdict
// and a report. It exits 0 only when every check passed and every SLO held, 1 when not, and
// 5 when they did but some run fell short of the hazard coverage the scenario declares.
func cmdRun(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	var o run.Options
	var strategy, db string
	fs.StringVar(&strategy, "strategy", "", "strategies to run, comma-separated, or all (default: every safe strategy)")
	fs.StringVar(&db, "db", "", "databases: postgres, mysql or all (default: postgres, plus mysql when installed)")
	fs.StringVar(&o.Env, "env", "local", "where services come from: local (start them) or external (--pg/--mysql/--redis or STAMPEDE_PG/STAMPEDE_MYSQL/STAMPEDE_REDIS)")
	var ends infra.Endpoints // --pg, --mysql and --redis with --env external; --target
	ends.RegisterFlags(fs)
	fs.StringVar(&o.PSPAddr, "psp-addr", "", "where the payment processor listens (default: a free port; with --target 127.0.0.1:8081)")
	fs.Int64Var(&o.Seed, "seed", 0, "seed of the herd and the faults (default: the scenario's)")
	fs.Float64Var(&o.Scale, "scale", 1, "multiply the herd (users, arrival rates, the waiting room's admission rate; not the inventory) by this factor")
	fs.StringVar(&o.Out, "out", "", "run directory (default runs/<scenario>-<time>)")
	fs.BoolVar(&o.AllowUnsafe, "allow-unsafe", false, "allow the strategies broken on purpose (naive, redis-lock-unfenced, status-expiry-blind), which sell seats twice")
	fs.DurationVar(&o.CheckTimeout, "check-timeout", 0, fmt.Sprintf("linearizability search bound per seat (default %s)", checker.DefaultTimeout))
	require := fs.String("require-coverage", "", "least count of each hazard every run must create, e.g. concurrent_seat_holds=10,expired_mid_checkout=1 (with the scenario's coverage: section; short: exit 5)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: stampede run [scenario.yaml] [flags]\n\nWith no scenario, runs scenarios/quickstart.yaml.")
		fmt.Fprintln(fs.Output(), "\nExit status: 0 when every run passed, 1 when one failed, 4 when none failed but an SLO could not be judged (the load generator was the bottleneck).\n\nflags:")
		fs.PrintDefaults()
	}
	if done, err := parseFlags(fs, args); done {
		return err
	}
	if fs.NArg() > 1 {
		return fmt.Errorf("one scenario file at most, got %q", fs.Args())
	}
	o.Scenario = fs.Arg(0)
	if *require != "" {
		c, err := workloads.ParseCoverage(*require)
		if err != nil {
			fmt.Fprintf(os.Stderr, "stampede run: --require-coverage: %v\n", err)
			return exitError{2}
		}
		o.RequireCoverage = c
	}
	o.PG, o.MySQL, o.Redis, o.Target = ends.Postgres, ends.MySQL, ends.Redis, ends.Target
	if o.Target == "" {
		o.Target = os.Getenv(infra.EnvTarget)
	}
	var err error
	if o.Strategies, err = run.ParseList(strategy, strategies.Safe()); err != nil {
		return fmt.Errorf("--strategy: %w", err)
	}
	if o.DBs, err = run.ParseList(db, []string{"postgres", "mysql"}); err != nil {
		return fmt.Errorf("--db: %w", err)
	}
	o.Version = versionString()
	sum, dir, err := run.Run(ctx, o)
	if err != nil {
		return err
	}
	fmt.Printf("\n%s\nreport: %s\n", verdictLine(sum), filepath.Join(dir, reports.HTMLFile))
	fmt.Printf("        %s\n", filepath.Join(dir, reports.MarkdownFile))
	switch sum.Verdict {
	case reports.Fail:
		return exitError{1}
	case reports.Unknown:
		return exitError{4}
	}
	if sum.CoverageShort {
		for _, r := range sum.Runs {
			if len(r.Shortfall) > 0 {
				fmt.Printf("coverage short: %s on %s: %s\n", r.Strategy, r.DB, strings.Join(r.Shortfall, "; "))
			}
		}
		return exitError{5}
	}
	return nil
}

func verdictLine(s *reports.Summary) string {
	failed := 0
	for _, r := range s.Runs {
		if r.Verdict != reports.Pass {
			failed++
		}
	}
	if s.Verdict == reports.Pass {
		return fmt.Sprintf("PASS: %d of %d runs passed: no seat sold twice, no money lost, SLOs held", len(s.Runs), len(s.Runs))
	}
	if s.Verdict == reports.Unknown {
		return fmt.Sprintf("UNKNOWN: no run failed, but the load generator was the bottleneck in %d of %d runs: their SLOs say nothing of the target", s.GeneratorBound(), len(s.Runs))
	}
	return fmt.Sprintf("FAIL: %d of %d runs failed", failed, len(s.Runs))
}

// parseFlags parses args into fs (a leading positional argument first moved after the flags,
// see reorder). done is true when the command has nothing more to do: -h was asked for (err
// nil: the usage is printed) or a flag was wrong (exit status 2: the flag package said why).
func parseFlags(fs *flag.FlagSet, args []string) (done bool, err error) {
	if err := fs.Parse(reorder(args)); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return true, nil
		}
		return true, exitError{2}
	}
	return false, nil
}

// reorder moves a leading positional argument after the flags, so that both
// `stampede run scenario.yaml --seed 7` and `stampede run --seed 7 scenario.yaml` work.
func reorder(args []string) []string {
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		return append(append([]string{}, args[1:]...), args[0])
	}
	return args
}
