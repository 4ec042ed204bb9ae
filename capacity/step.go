package capacity

import (
	"context"
	"fmt"
	"strings"
	"time"

	"stampede/checker"
)

// A Stepper runs one step of a search: the system under test at an offered load, in arrivals
// per second, for a bounded time, with a seed that makes the step repeatable. The error is for
// a step that could not happen at all (a service that did not start, a target that could not be
// reached); a step that ran and failed its objectives or its checks returns a StepResult that
// says so and a nil error.
type Stepper interface {
	Step(ctx context.Context, load float64, seed uint64) (StepResult, error)
}

// StepFunc adapts a function to a Stepper.
type StepFunc func(ctx context.Context, load float64, seed uint64) (StepResult, error)

// Step calls f.
func (f StepFunc) Step(ctx context.Context, load float64, seed uint64) (StepResult, error) {
	return f(ctx, load, seed)
}

var _ Stepper = StepFunc(nil)

// StepResult is what one step measured and what was judged of it. The zero value of an
// optional field means it was not measured.
type StepResult struct {
	// Throughput is the work the system completed per second: requests with a definite outcome
	// (ok, or a business failure such as a seat already taken), not errors or shed requests.
	Throughput float64
	// Concurrency is the mean number of requests in flight (Little's law's N), the x of the
	// Universal Scalability Law fit.
	Concurrency float64
	// Arrivals is how many users per second the generator actually started; 0 when unknown.
	Arrivals float64
	// P99 is the 99th percentile latency per operation, from each request's intended start.
	P99 map[string]time.Duration
	// ErrorRate is the share of requests that ended in an error (0.01 for 1%); ShedRate the
	// share the system refused because it was overloaded (503 with Retry-After).
	ErrorRate float64
	ShedRate  float64
	// SLOs are the scenario's objectives as the step met them; there must be at least one.
	SLOs []SLO
	// Checks are the correctness checks of the step's history and ledgers.
	Checks []Check
	// GeneratorBound is set when the load generator, not the system under test, limited the
	// step (it could not start or send the load on time); GeneratorReasons say why.
	GeneratorBound   bool
	GeneratorReasons []string
	// Limit names the resource the step's own attribution found limiting, when it names one;
	// Signals are where the time of a request went, for NameLimit to compare across steps.
	Limit   string
	Signals []Signal
	// Dir is where the step's run directory is, when it has one.
	Dir string
}

// SLO is one objective of a step.
type SLO struct {
	// Name is the scenario's name of it (hold_p99, checkout_p99, error_rate).
	Name string
	// Objective is the objective in words ("hold p99 <= 250 ms"); Observed what the step
	// measured ("312 ms").
	Objective string
	Observed  string
	Pass      bool
}

// Check is one correctness check of a step.
type Check struct {
	Name string
	// Status is pass, fail, unknown (the checker could not decide) or skipped.
	Status string
	// Counterexample is the first counterexample in words, for a failed check.
	Counterexample string
}

// Check statuses.
const (
	CheckPass    = "pass"
	CheckFail    = "fail"
	CheckUnknown = "unknown"
	CheckSkipped = "skipped"
)

// Signal is one place where the requests of a step spent their time.
type Signal struct {
	// Resource names it in words: "pool wait on conn_tag hold", "server queueing",
	// "generator lag", "database", "redis", "payments".
	Resource string
	// Ms is the mean time a request (or an acquisition, for a pool) spent there, in
	// milliseconds.
	Ms float64
}

// Unsafe returns the failed correctness check that says it best, or nil when none failed: a
// seat sold twice (no-double-sale) when that failed, else the first that did. A check that
// could not decide is not a failure here: it proved nothing either way (see Passed).
func (r *StepResult) Unsafe() *Check {
	var first *Check
	for i := range r.Checks {
		c := &r.Checks[i]
		if c.Status != CheckFail {
			continue
		}
		if c.Name == checker.CheckNoDoubleSale {
			return c
		}
		if first == nil {
			first = c
		}
	}
	return first
}

// Passed reports whether the step held every objective and passed every correctness check.
// A check that could not decide is not a pass: the step cannot vouch for that load.
func (r *StepResult) Passed() bool {
	return len(r.Failures()) == 0
}

// Failures lists, in words, why the step did not pass: each objective missed and each check
// that failed or could not decide; empty when it passed.
func (r *StepResult) Failures() []string {
	var out []string
	for _, s := range r.SLOs {
		if !s.Pass {
			out = append(out, fmt.Sprintf("%s (%s)", s.Objective, s.Observed))
		}
	}
	for _, c := range r.Checks {
		switch c.Status {
		case CheckFail:
			out = append(out, "check "+c.Name+" failed")
		case CheckUnknown:
			out = append(out, "check "+c.Name+" could not decide")
		}
	}
	return out
}

// missed returns the objectives the step did not hold, in words.
func (r *StepResult) missed() []string {
	var out []string
	for _, s := range r.SLOs {
		if !s.Pass {
			out = append(out, s.Objective)
		}
	}
	return out
}

// objectives returns every objective of the step, in words.
func (r *StepResult) objectives() string {
	out := make([]string, len(r.SLOs))
	for i, s := range r.SLOs {
		out[i] = s.Objective
	}
	return strings.Join(out, ", ")
}
