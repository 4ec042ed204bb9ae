// Package selftest measures stampede's own power to find bugs: it runs every strategy broken on
// purpose (naive and the variants of strategies.Broken, each one defect on a safe strategy)
// and every safe strategy under each scenario for several seeds, and reports the detection
// matrix (variant x scenario: caught in k of N seeds and by which checks, not exercised, or
// missed) and the false alarms the safe strategies raised. `stampede selftest` runs it; Run
// here does the work and Matrix is what it found.
//
// A variant's run is caught when some check failed; not exercised when no check failed and the
// run created none of the hazards its defect needs (Needs, from the run's coverage); missed
// otherwise, a hole in the checks or the scenario. A safe strategy's run that failed a check is
// a false alarm. Runs that could not complete are errors, neither.
package selftest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"time"

	"stampede/history"
	"stampede/internal/exitcode"
	"stampede/internal/outdir"
	"stampede/run"
	"stampede/strategies"
	"stampede/workloads"
)

// Undetected is the exit status of a selftest in which some broken variant was caught by no
// scenario at any seed (exitcode.Undetected).
const Undetected = exitcode.Undetected

// needs is, for every strategy broken on purpose, the hazards its defect needs: without one of
// them no check can see it.
var needs = map[string][]history.Hazard{
	"naive":               {history.ConcurrentSeatHolds, history.ConcurrentTierHolds},
	"redis-lock-unfenced": {history.ExpiredMidCheckout},
	"status-expiry-blind": {history.ExpiredMidCheckout},
	"double-charge":       {history.UnknownCheckoutRetried},
	"phantom-refund":      {history.ExpiredMidCheckout},
	"unstored-booking":    {history.ExpiredMidCheckout},
	"skip-locked-resold":  {history.ExpiredMidCheckout},
	"no-admission":        {history.HoldsWithoutToken},
	"ga-oversell":         {history.ConcurrentTierHolds},
	"write-behind":        {history.CrashMidCheckout},
	"hold-leak":           {history.HoldsExpired},
}

// Needs returns the hazards the defect of the named unsafe strategy needs (nil for one that is
// not broken on purpose).
func Needs(name string) []history.Hazard { return slices.Clone(needs[name]) }

// Options configure a selftest.
type Options struct {
	// Scenarios are the scenario files; empty means scenarios/gauntlet.yaml.
	Scenarios []string
	// Seeds is how many seeds each scenario runs: its own seed (or Run.Seed) and the next ones;
	// 0 means 1.
	Seeds int
	// Strategies to run, unsafe and safe; empty means every strategy.
	Strategies []string
	// Run is the template of every run: Env, endpoints, DBs, Binary, CheckTimeout, Version,
	// Seed (the first seed). Services are best left nil: the selftest then starts sets of
	// services of its own (see slots) that its runs take turns on, one run on a set at a time,
	// so that runs go in parallel and a fault that leaves a Redis dead under load spoils one
	// run, not the rest of the selftest. Its Scenario, Strategies, DBs, Out and AllowUnsafe are
	// set here, one strategy and one database a run. Broken variants run on the first of
	// Run.DBs (postgres when none is given), safe strategies on each (run's default when none
	// is given).
	Run run.Options
	// Out is the selftest's directory: selftest.md, selftest.json, and each run's directory
	// under runs/<scenario>/seed-<seed>/<strategy>-<db>. Empty means runs/selftest-<time>; it
	// must be new or empty.
	Out string
	// Progress receives a line per run finished; nil means none.
	Progress io.Writer
	// Parallel is how many runs go at once; 0 means DefaultParallel, or 1 when the runs share
	// services (Env external, or Run.Services given), where more than 1 is an input error:
	// their Redis keys and faults would meet.
	Parallel int
}

// ErrInput marks errors of the selftest's input (a scenario that cannot be read, an unknown
// strategy, a used Out): the caller's to fix.
var ErrInput = errors.New("selftest input")

// Run runs the selftest and writes its matrix to Out. The matrix is returned even when a run
// failed to complete (its cell counts an error); the error is then the first such failure.
func Run(ctx context.Context, o Options) (*Matrix, string, error) {
	if len(o.Scenarios) == 0 {
		o.Scenarios = []string{"scenarios/gauntlet.yaml"}
	}
	if o.Seeds <= 0 {
		o.Seeds = 1
	}
	switch {
	case o.Parallel < 0:
		return nil, "", fmt.Errorf("%w: parallel: %d: want 0 (the default, %d) or more", ErrInput, o.Parallel, DefaultParallel)
	case o.Parallel > 1 && !o.ownServices():
		return nil, "", fmt.Errorf("%w: parallel: %d: runs on shared services (--env external) would meet in their Redis keys and faults; give 1", ErrInput, o.Parallel)
	}
	if len(o.Strategies) == 0 {
		o.Strategies = strategies.Names()
	}
	var unsafe, safe []string
	for _, s := range o.Strategies {
		switch {
		case !slices.Contains(strategies.Names(), s):
			return nil, "", fmt.Errorf("%w: strategy %q: unknown; choose among %v", ErrInput, s, strategies.Names())
		case strategies.Unsafe(s):
			unsafe = append(unsafe, s)
		default:
			safe = append(safe, s)
		}
	}
	scs := make([]*workloads.Scenario, len(o.Scenarios))
	for i, path := range o.Scenarios {
		sc, err := workloads.Load(path)
		if err != nil {
			return nil, "", fmt.Errorf("%w: %w", ErrInput, err)
		}
		scs[i] = sc
	}
	if o.Out == "" {
		o.Out = filepath.Join("runs", "selftest-"+time.Now().UTC().Format("20060102-150405"))
	}
	switch err := outdir.Prepare(o.Out, false); {
	case errors.Is(err, outdir.ErrNotEmpty):
		return nil, o.Out, fmt.Errorf("%w: %w", ErrInput, err)
	case err != nil:
		return nil, o.Out, err
	}
	tmpl := o.Run
	if tmpl.Progress == nil {
		tmpl.Progress = io.Discard
	}
	// Broken variants run on the first database, safe strategies on each.
	variantDBs, safeDBs := []string{"postgres"}, tmpl.DBs
	if len(tmpl.DBs) > 0 {
		variantDBs = tmpl.DBs[:1]
	}
	if len(safeDBs) == 0 && len(safe) > 0 {
		r, err := run.Resolve(tmpl)
		if err != nil {
			return nil, o.Out, fmt.Errorf("%w: %w", ErrInput, err)
		}
		safeDBs = r.DBs
	}
	m := newMatrix(unsafe)
	started := time.Now()
	var jobs []*job
	var dbs []string // every database a run takes
	for i, sc := range scs {
		base := sc.RunSeed(tmpl.Seed)
		for k := range o.Seeds {
			seed := base + int64(k)
			for _, g := range []struct {
				kind       string
				names, dbs []string
			}{{"variants", unsafe, variantDBs}, {"safe", safe, safeDBs}} {
				for _, name := range g.names {
					for _, db := range g.dbs {
						ro := tmpl
						ro.Scenario, ro.Seed, ro.Strategies, ro.DBs, ro.AllowUnsafe = o.Scenarios[i], seed, []string{name}, []string{db}, true
						ro.Out = filepath.Join(o.Out, "runs", sc.Name, fmt.Sprintf("seed-%d", seed), name+"-"+db)
						jobs = append(jobs, &job{scenario: sc.Name, seed: seed, kind: g.kind, o: ro})
						if !slices.Contains(dbs, db) {
							dbs = append(dbs, db)
						}
					}
				}
			}
		}
		m.Scenarios = append(m.Scenarios, ScenarioRun{Name: sc.Name, File: o.Scenarios[i], Seeds: seedsFrom(base, o.Seeds)})
	}
	exec := execute
	if o.ownServices() {
		so := tmpl
		so.DBs = dbs
		sl := newSlots(so)
		defer sl.close()
		exec = sl.execute
	}
	runJobs(ctx, jobs, o.parallel(), exec, func(j *job) {
		if o.Progress == nil || j.sum == nil {
			return
		}
		for _, r := range j.sum.Runs {
			fmt.Fprintf(o.Progress, "selftest: %s seed %d: %s on %s: %s\n", j.scenario, j.seed, r.Strategy, r.DB, m.describe(r))
		}
	})
	// The matrix is filled in the jobs' order, whatever order they finished in.
	var first error
	for _, j := range jobs {
		if !j.ran {
			continue
		}
		if j.err != nil && first == nil {
			first = fmt.Errorf("%s seed %d (%s): %w", j.scenario, j.seed, j.kind, j.err)
		}
		if j.sum == nil {
			m.missing(j.scenario, j.o.Strategies, j.o.DBs, j.err)
			continue
		}
		for _, r := range j.sum.Runs {
			m.add(j.scenario, j.seed, r)
		}
	}
	m.Seconds = time.Since(started).Seconds()
	m.Interrupted = ctx.Err() != nil
	m.finish()
	if err := m.write(o.Out); err != nil && first == nil {
		first = err
	}
	return m, o.Out, first
}

func seedsFrom(base int64, n int) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = base + int64(i)
	}
	return out
}

// ExitCode is the selftest's exit status: a violation when a safe strategy failed a check (a
// false alarm, or a real bug), Undetected when a broken variant was caught nowhere, the
// harness's when a run could not complete, interrupted when it was; the worst of them.
func ExitCode(m *Matrix) int {
	var codes []int
	if m.FalseAlarms > 0 {
		codes = append(codes, exitcode.Violation)
	}
	if len(m.Undetected) > 0 {
		codes = append(codes, Undetected)
	}
	if m.Errors > 0 {
		codes = append(codes, exitcode.Harness)
	}
	if m.Interrupted {
		codes = append(codes, exitcode.Interrupted)
	}
	return exitcode.Worst(codes...)
}
