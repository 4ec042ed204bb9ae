package capacity

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"stampede/reports"
	"stampede/run"
	"stampede/workloads"
)

// Runner is the Stepper of real runs: each step is run.Run on one strategy and one database
// (or the one system at a target), with the scenario rewritten for the step's load, into a
// run directory of its own under Dir: `step-NN-<load>/` with the step's scenario.yaml (so
// that `stampede run` on it repeats the step), step.log and, in run/, the run's reports and history.
// A Runner is not safe for concurrent use: steps run one at a time.
type Runner struct {
	// Options are the run's options for every step; Scenario, Out, Seed and Progress are
	// the Runner's to set.
	Options run.Options
	// Scenario is the scenario as loaded, and Source the file it was loaded from, as written.
	Scenario *workloads.Scenario
	Source   []byte
	Mode     Mode
	// StepDuration is how long a ModeRate step offers its load.
	StepDuration time.Duration
	// Dir is where the step directories go.
	Dir string

	n    int
	runs map[string]reports.Run // each step's run, by its directory
}

var _ Stepper = (*Runner)(nil)

// Herd is how long a step's arrivals last.
func (r *Runner) Herd() time.Duration {
	if r.Mode == ModeRate {
		return r.StepDuration
	}
	p, err := workloads.NewProfile(r.Scenario.Arrivals)
	if err != nil {
		return 0
	}
	return p.Duration()
}

// stepOverhead is what a step takes besides its herd on a shared 2-core machine: a fresh
// database, the server and the processor started, the drain, the checker and the reports.
const stepOverhead = 10 * time.Second

// StepTime is how long a step is expected to take: the herd, one request timeout for the
// drain, and the set-up and checking around it.
func (r *Runner) StepTime() time.Duration {
	return r.Herd() + r.Scenario.RequestTimeout + stepOverhead
}

// Step runs the scenario at load (arrivals per second) with seed, and returns what the run
// found. A run that could not complete (a server that did not start) is an error.
func (r *Runner) Step(ctx context.Context, load float64, seed uint64) (StepResult, error) {
	r.n++
	name := fmt.Sprintf("step-%02d-%s", r.n, strings.TrimSuffix(strings.ReplaceAll(Rate(load).String(), ".", "_"), "/s"))
	dir := filepath.Join(r.Dir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return StepResult{}, fmt.Errorf("create %s: %w", name, err)
	}
	src, err := stepScenario(r.Source, r.Scenario, load, r.Mode, r.StepDuration, stepName(r.Scenario.Name, r.n))
	if err != nil {
		return StepResult{}, err
	}
	file := filepath.Join(dir, "scenario.yaml")
	if err := os.WriteFile(file, src, 0o644); err != nil {
		return StepResult{}, fmt.Errorf("write %s: %w", file, err)
	}
	log, err := os.Create(filepath.Join(dir, "step.log"))
	if err != nil {
		return StepResult{}, fmt.Errorf("create step log: %w", err)
	}
	defer log.Close()
	o := r.Options
	o.Strategies, o.DBs = slices.Clone(o.Strategies), slices.Clone(o.DBs)
	// The run writes into a directory of its own beside the step's scenario and log: a run
	// refuses an --out that already holds files.
	o.Scenario, o.Out, o.Progress = file, filepath.Join(dir, "run"), log
	o.Seed = int64(seed >> 1) // run seeds are int64; 0 would mean the scenario's
	if o.Seed == 0 {
		o.Seed = 1
	}
	sum, _, err := run.Run(ctx, o)
	if err == nil && ctx.Err() != nil {
		err = ctx.Err() // an interrupted run measured nothing about the load
	}
	if err != nil {
		return StepResult{}, err
	}
	if len(sum.Runs) != 1 {
		return StepResult{}, fmt.Errorf("step at %s: %d runs, want 1", Rate(load), len(sum.Runs))
	}
	rr := sum.Runs[0]
	if rr.Error != "" {
		return StepResult{}, errors.New(rr.Error)
	}
	rr.Dir = filepath.Join(name, "run", rr.Dir)
	if r.runs == nil {
		r.runs = map[string]reports.Run{}
	}
	res := FromRun(rr)
	res.Dir = rr.Dir
	r.runs[res.Dir] = rr
	return res, nil
}

// Run returns the report's run of a step, by StepResult.Dir.
func (r *Runner) Run(dir string) (reports.Run, bool) {
	rr, ok := r.runs[dir]
	return rr, ok
}

// stepName names a step's scenario: the step's number first, so that the event ids, which
// are cut to a length, stay apart.
func stepName(name string, n int) string {
	p := fmt.Sprintf("c%d-", n)
	if len(p)+len(name) > 40 {
		name = name[:40-len(p)]
	}
	return p + name
}

// ignoredTags are the conn tags of the server's own work, not of requests: a background
// sweeper that takes longer under load is a symptom, not what limits a buyer (its connections
// show up in the requests' pool wait if they crowd the pool).
var ignoredTags = []string{"admin", "health", "migrate", "sweeper"}

// FromRun reads a step's result from the report of its run: throughput, concurrency (the mean
// requests in flight), latencies, error and shed rates, the objectives, the checks, and the
// pool's wait and connection hold per conn tag as signals. A run's summary that carries the
// generator's account or an attribution of where the time went gives GeneratorBound, Limit
// and more Signals.
func FromRun(r reports.Run) StepResult {
	sr := StepResult{P99: map[string]time.Duration{}, Dir: r.Dir}
	for op, p := range r.Latency {
		sr.P99[op] = time.Duration(p.P99 * float64(time.Millisecond))
	}
	var definite, info, shed int64
	for _, oc := range r.Outcomes {
		definite += oc["ok"] + oc["fail"]
		info += oc["info"]
		shed += max(oc["shed"], oc["overloaded"])
	}
	if r.Requests > 0 {
		sr.Throughput = r.Throughput.RequestsPerSec * float64(definite) / float64(r.Requests)
		sr.ErrorRate = float64(info) / float64(r.Requests)
		sr.ShedRate = float64(shed) / float64(r.Requests)
	}
	if n := len(r.Series); n > 0 {
		sum := 0.0
		for _, p := range r.Series {
			sum += float64(p.InFlight)
		}
		sr.Concurrency = sum / float64(n)
		sr.Arrivals = float64(r.Users) / float64(n)
	}
	for _, o := range r.SLOs {
		if o.Name == "error_rate" {
			sr.ErrorRate = o.Actual / 100
		}
		sr.SLOs = append(sr.SLOs, SLO{Name: o.Name, Objective: objective(o), Observed: figure(o.Actual, o.Unit), Pass: o.Pass})
	}
	for _, c := range r.Checks {
		sr.Checks = append(sr.Checks, Check{Name: c.Name, Status: c.Result, Counterexample: c.Counterexample})
	}
	if g := r.Generator; g != nil && g.Bound {
		sr.GeneratorBound, sr.GeneratorReasons = true, g.Reasons
	}
	if a := r.Attribution; a != nil {
		sr.Limit = a.Limit
		if r.Requests > 0 {
			for _, c := range a.Costs {
				if c.Resource == "pool wait" || c.Resource == "connection hold" {
					continue // per conn tag from the pool statistics below
				}
				sr.Signals = append(sr.Signals, Signal{Resource: c.Resource, Ms: c.Seconds * 1000 / float64(r.Requests)})
			}
		}
	}
	for _, tag := range sortedTags(r.Pool) {
		p := r.Pool[tag]
		sr.Signals = append(sr.Signals,
			Signal{Resource: "pool wait on conn_tag " + tag, Ms: p.WaitMeanMs},
			Signal{Resource: "connection hold on conn_tag " + tag, Ms: p.HoldMeanMs})
	}
	return sr
}

func sortedTags(pool map[string]reports.PoolStats) []string {
	var tags []string
	for t, p := range pool {
		if p.Count > 0 && !slices.Contains(ignoredTags, t) {
			tags = append(tags, t)
		}
	}
	slices.Sort(tags)
	return tags
}

// objective writes an SLO as people read it: "hold p99 <= 250 ms", "error rate <= 5.00%".
func objective(o reports.SLO) string {
	what := strings.ReplaceAll(o.Name, "_", " ")
	return fmt.Sprintf("%s <= %s", what, figure(o.Target, o.Unit))
}

func figure(v float64, u reports.Unit) string {
	switch u {
	case reports.Millis:
		return fmt.Sprintf("%.0f ms", v)
	case reports.Percent:
		return fmt.Sprintf("%.2f%%", v)
	}
	return fmt.Sprintf("%g%s", v, u)
}
