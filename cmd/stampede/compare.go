package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"stampede/compare"
	"stampede/workloads"
)

// Exit statuses of stampede compare.
const (
	compareOK          = 0
	compareCorrectness = 1 // a candidate run failed a correctness check
	compareUsage       = 2
	compareRegression  = 3 // a gated metric regressed beyond its tolerance, significantly
	compareInputs      = 4 // the inputs could not be read or compared, or a candidate run did not complete
)

// cmdCompare is `stampede compare BASE CAND [flags]`: the candidate's runs against the base's,
// metric by metric with significance, and the regression gate.
func cmdCompare(_ context.Context, args []string) error {
	if code := compareMain(args, os.Stdout, os.Stderr); code != compareOK {
		return exitError{code}
	}
	return nil
}

// compareMain runs stampede compare with its output on stdout and its messages on stderr,
// and returns the exit status.
func compareMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	format := fs.String("format", "md", "output: md (markdown: a CI step summary or a pull-request comment) or json")
	var gates toleranceFlags
	fs.Var(&gates, "gate", "a tolerance `metric=value`, repeated: hold_p99=+10%, throughput=-5%, error_rate=+0.5pp, lost_holds=+2, hold_p99=off (over the scenario's)")
	scenario := fs.String("scenario", "", "a scenario file whose gate: section gives the tolerances")
	alpha := fs.Float64("alpha", compare.DefaultAlpha, "significance level of the Mann-Whitney U test")
	force := fs.Bool("force", false, "compare summaries of different scenarios (refused otherwise)")
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintln(w, "usage: stampede compare BASE CAND [flags]")
		fmt.Fprintln(w, "\nBASE and CAND are each a run directory, a summary.json, a directory of run directories, or several")
		fmt.Fprintln(w, "of these separated by commas. Every run of a strategy x database on one side is a sample of it;")
		fmt.Fprintln(w, "metrics are compared with the Mann-Whitney U test (4 runs a side at least to tell anything).")
		fmt.Fprintln(w, "A metric fails the gate only when it moved beyond its tolerance in its bad direction, significantly;")
		fmt.Fprintln(w, "a candidate run whose checks failed fails it whatever the tolerances.")
		fmt.Fprintln(w, "\nExit status: 0 no regression, 1 the candidate failed a correctness check, 2 usage,")
		fmt.Fprintln(w, "3 a regression gate failed, 4 the inputs could not be read or compared (or a candidate run did not complete).")
		fmt.Fprintln(w, "\nflags:")
		fs.PrintDefaults()
	}
	pos, done, err := parseInterleaved(fs, args)
	if done {
		if err != nil {
			return compareUsage
		}
		return compareOK
	}
	usage := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "stampede compare: "+format+"\n\n", a...)
		fs.Usage()
		return compareUsage
	}
	switch {
	case len(pos) != 2:
		return usage("want BASE and CAND, got %q", pos)
	case *format != "md" && *format != "json":
		return usage("--format %q: want md or json", *format)
	case !(*alpha > 0 && *alpha < 1):
		return usage("--alpha %v: want a level between 0 and 1, such as 0.05", *alpha)
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "stampede compare: %v\n", err)
		return compareInputs
	}
	var tol workloads.Gate
	if *scenario != "" {
		sc, err := workloads.Load(*scenario)
		if err != nil {
			return fail(err)
		}
		tol = sc.Gate
	}
	tol = tol.With(gates...)
	base, err := compare.Load(pos[0])
	if err != nil {
		return fail(fmt.Errorf("base: %w", err))
	}
	cand, err := compare.Load(pos[1])
	if err != nil {
		return fail(fmt.Errorf("candidate: %w", err))
	}
	opts := []compare.Option{compare.WithAlpha(*alpha)}
	if *force {
		opts = append(opts, compare.WithForce())
	}
	g, err := compare.Gate(base, cand, tol, opts...)
	if err != nil {
		return fail(err)
	}
	if *format == "json" {
		err = g.JSON(stdout)
	} else {
		err = g.Markdown(stdout)
	}
	if err != nil {
		return fail(err)
	}
	switch g.Verdict {
	case compare.Correctness:
		return compareCorrectness
	case compare.Incomplete:
		return compareInputs
	case compare.Regression:
		return compareRegression
	}
	return compareOK
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

// parseInterleaved parses fs from args with flags allowed before, between and after the
// positional arguments (`stampede compare base cand --gate ...`), and returns the positional
// ones in order; everything after `--` is positional. done and err are as parseFlags's.
func parseInterleaved(fs *flag.FlagSet, args []string) (pos []string, done bool, err error) {
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, true, nil
			}
			return nil, true, exitError{compareUsage}
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, false, nil
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), false, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}
