package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"stampede/compare"
	"stampede/internal/exitcode"
	"stampede/workloads"
)

// compareCommand is `stampede compare BASE CAND [flags]`: the candidate's runs against the
// base's, metric by metric with significance, and the regression gate.
func compareCommand() *command {
	return &command{
		name:    "compare",
		summary: "compare a candidate's runs with a baseline's, with significance, and gate regressions",
		usage:   []string{"compare BASE CAND [--gate metric=tolerance]... [--scenario FILE] [flags]"},
		about: "BASE and CAND are each a run directory, a summary.json, a directory of run directories, or several " +
			"of these separated by commas. Every run of a strategy x database on one side is a sample of it; metrics " +
			"are compared with the Mann-Whitney U test (4 runs a side at least to tell anything).\n\n" +
			"A metric fails the gate only when it moved beyond its tolerance in its bad direction, significantly; a " +
			"candidate run whose checks failed fails it whatever the tolerances. Tolerances come from the scenario's " +
			"gate: section (--scenario) and --gate flags, which replace it metric by metric (--gate hold_p99=off lifts one).",
		examples: []string{
			"stampede compare baseline candidate --scenario scenarios/quickstart.yaml",
			"stampede compare baseline candidate --gate hold_p99=+10% --gate throughput=-5% --format json",
		},
		exits: []exit{
			{exitcode.OK, "no regression"},
			{exitcode.Violation, "a candidate run failed a correctness check"},
			{exitcode.Usage, ""},
			{exitcode.Gate, "a gated metric regressed beyond its tolerance, significantly"},
			{exitcode.Harness, "the inputs could not be read or compared, or a candidate run did not complete"},
		},
		args:       []string{argDir},
		flagValues: map[string][]string{"format": {"md", "json"}},
		setup:      compareFlags,
	}
}

func compareFlags(fs *flag.FlagSet, c *cli) action {
	format := fs.String("format", "md", "output: md (markdown: a CI step summary or a pull-request comment) or json")
	var gates toleranceFlags
	fs.Var(&gates, "gate", "a tolerance `metric=value`, repeated: hold_p99=+10%, hold_p50=\"+20% or +5ms\" (beyond both), throughput=-5%, error_rate=+0.5pp, lost_holds=+2, hold_p99=off (over the scenario's)")
	scenario := fs.String("scenario", "", "a scenario file whose gate: section gives the tolerances")
	alpha := fs.Float64("alpha", compare.DefaultAlpha, "significance level of the Mann-Whitney U test")
	force := fs.Bool("force", false, "compare summaries of different scenarios (refused otherwise)")
	return func(_ context.Context, pos []string) error {
		switch {
		case len(pos) != 2:
			return usageErrorf("want BASE and CAND, got %q", pos)
		case *format != "md" && *format != "json":
			return usageErrorf("--format %q: want md or json", *format)
		case !(*alpha > 0 && *alpha < 1):
			return usageErrorf("--alpha %v: want a level between 0 and 1, such as 0.05", *alpha)
		}
		var tol workloads.Gate
		if *scenario != "" {
			sc, err := workloads.Load(*scenario)
			if err != nil {
				return err
			}
			tol = sc.Tolerances()
		}
		tol = tol.With(gates...)
		base, err := compare.Load(pos[0])
		if err != nil {
			return fmt.Errorf("base: %w", err)
		}
		cand, err := compare.Load(pos[1])
		if err != nil {
			return fmt.Errorf("candidate: %w", err)
		}
		opts := []compare.Option{compare.WithAlpha(*alpha)}
		if *force {
			opts = append(opts, compare.WithForce())
		}
		g, err := compare.Gate(base, cand, tol, opts...)
		if err != nil {
			return err
		}
		if *format == "json" {
			err = g.JSON(c.stdout)
		} else {
			err = g.Markdown(c.stdout)
		}
		if err != nil {
			return err
		}
		switch g.Verdict {
		case compare.Correctness:
			return exitcode.With(exitcode.Violation, nil)
		case compare.Incomplete:
			return exitcode.With(exitcode.Harness, nil)
		case compare.Regression:
			return exitcode.With(exitcode.Gate, nil)
		}
		return nil
	}
}

// toleranceFlags collects repeated --gate metric=value flags.
type toleranceFlags []workloads.Tolerance

func (t *toleranceFlags) String() string {
	parts := make([]string, len(*t))
	for i, x := range *t {
		parts[i] = x.Metric + "=" + x.Text
	}
	return strings.Join(parts, ",")
}

func (t *toleranceFlags) Set(s string) error {
	x, err := workloads.ParseToleranceFlag(s)
	if err != nil {
		return err
	}
	*t = append(*t, x)
	return nil
}

// defaultGateText is workloads.DefaultGate as written: "checkout_p50=+20% or +20ms,...".
func defaultGateText() string {
	t := toleranceFlags(workloads.DefaultGate())
	return t.String()
}
