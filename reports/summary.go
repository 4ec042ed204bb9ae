package reports

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"stampede/internal/exitcode"
)

// SchemaVersion names the summary.json schema. Fields are only ever added within a version;
// a rename or removal makes a new version.
const SchemaVersion = "stampede.summary/v1"

// Verdicts. A check's result is one of them; NotExercised is a check that passed while the
// run created none of the hazards it guards against: not a failure, but no evidence either.
const (
	Pass         = "pass"
	Fail         = "fail"
	Unknown      = "unknown"
	Skipped      = "skipped"
	NotExercised = "not-exercised"
)

// Summary is summary.json: everything a run found, for every strategy x database it ran.
type Summary struct {
	Schema   string `json:"schema"`
	Scenario string `json:"scenario"`
	Seed     int64  `json:"seed"`
	// Scale is the factor the scenario's herd was scaled by (--scale); 0 or 1: not scaled.
	Scale float64 `json:"scale,omitempty"`
	// ServeFlags are the flags of `stampede serve` the reference server was given beyond the
	// run's own (stampede run --serve-flag), as given; empty: its defaults.
	ServeFlags []string `json:"serve_flags,omitempty"`
	// Versions of stampede and the services (postgres, mysql, redis) where known.
	Versions map[string]string `json:"versions,omitempty"`
	Started  time.Time         `json:"started"`
	// DurationSeconds is the whole run, set-up and checking included.
	DurationSeconds float64 `json:"duration_seconds"`
	// Verdict is pass only when every run passed; fail when one failed; unknown when none
	// failed but one could not be judged (see Run.Verdict); never pass when interrupted.
	Verdict string `json:"verdict"`
	// CoverageShort is set when some run created a hazard fewer times than required
	// (Run.Shortfall); the verdict does not change, but `stampede run` exits 5.
	CoverageShort bool  `json:"coverage_short,omitempty"`
	Runs          []Run `json:"runs"`
	// Interrupted is set when the run was stopped (Ctrl-C, SIGTERM) before it finished: the
	// runs are those that got under way, the last of them cut short.
	Interrupted bool `json:"interrupted,omitempty"`

	// Provenance says where the numbers came from (build, scenario hash, seeds, machine,
	// service versions); nil in summaries written before it existed.
	Provenance *Provenance `json:"provenance,omitempty"`
	// Storage is where the runs kept their data when they ran against databases they do not
	// own (--env external): a schema or database of their own per database; empty otherwise.
	Storage []Storage `json:"storage,omitempty"`

	// Repeat is how many times each strategy x database ran (stampede run --repeat N), each
	// run with its own seed (Run.Seed); 0 or 1: once. Samples are the statistics over the
	// repetitions, when there were several.
	Repeat  int       `json:"repeat,omitempty"`
	Samples []Samples `json:"samples,omitempty"`
	// Gate is the verdict against a baseline (stampede run --baseline); nil without one.
	Gate *Gate `json:"gate,omitempty"`
}

// Run is one strategy on one database (or one external target).
type Run struct {
	Strategy string `json:"strategy"`
	DB       string `json:"db"`
	Target   string `json:"target,omitempty"`
	// Verdict is pass when every check passed and every SLO held; fail when a check failed
	// (or could not decide) or an SLO did not hold; unknown when every check passed but an SLO
	// that did not hold is untrusted (the load generator was the bottleneck, so the figure is
	// no verdict on the target). Reasons say why not pass.
	Verdict string   `json:"verdict"`
	Reasons []string `json:"reasons,omitempty"`
	// TargetNotes, for a run against a system that is not ours (--target), say what its
	// verdict rests on: a hold lifetime that differs from the scenario's hold_ttl, and the
	// checks that depend on open checkouts being settled, which a target is not asked to do.
	TargetNotes []string `json:"target_notes,omitempty"`
	// Error is set when the run could not complete (services failed to start, ...).
	Error           string  `json:"error,omitempty"`
	DurationSeconds float64 `json:"duration_seconds"`
	Users           int64   `json:"users"`
	Requests        int64   `json:"requests"`

	Throughput Throughput `json:"throughput"`
	// Latency per operation (hold, checkout, release, read, browse, join), in milliseconds,
	// measured from the intended start of each request (coordinated omission included).
	Latency map[string]Percentiles `json:"latency"`
	// LatencyActual is the same measured from the actual send time, for comparison.
	LatencyActual map[string]Percentiles `json:"latency_actual,omitempty"`
	// Outcomes counts results per operation: ok, fail, info, shed, and fail codes
	// (seat_unavailable...).
	Outcomes map[string]map[string]int64 `json:"outcomes"`
	// Shed counts the requests the system under test shed (503 overloaded), over all
	// operations; they are neither failures of the system nor errors.
	Shed int64 `json:"shed"`

	Bookings int64 `json:"bookings"`
	Refunds  int64 `json:"refunds"`
	// LostHolds counts checkouts refused because the system no longer had their hold: lost
	// during payment (hold_lost, refunded) or forgotten before it (hold_not_found for a hold
	// the system granted, as after a Redis restart).
	LostHolds int64 `json:"lost_holds"`
	// ChargedCents and RefundedCents come from the processor's ledger.
	ChargedCents  int64 `json:"charged_cents"`
	RefundedCents int64 `json:"refunded_cents"`
	// Capacity is the highest arrival rate, in users per second, at which the run held its
	// SLOs, when it searched for one; 0 when it did not.
	Capacity float64 `json:"capacity,omitempty"`
	// CapacitySearch is the search that measured Capacity (stampede capacity): its steps,
	// boundary, scalability fit, limit and verdict; nil for a run that did not search. The
	// run's other fields are then those of the search's representative step: the highest load
	// that held, or the step that ended the search.
	CapacitySearch *Capacity `json:"capacity_search,omitempty"`

	// Shadow is what the shadow strategy found beside this run's strategy (run --shadow); nil
	// without one.
	Shadow *Shadow `json:"shadow,omitempty"`

	// Pool is the database pool wait and connection hold time per conn tag.
	Pool map[string]PoolStats `json:"pool,omitempty"`
	// Generator is the load generator's account of itself; Attribution says where the time
	// went and names the limiting resource.
	Generator   *Generator    `json:"generator,omitempty"`
	Attribution *Attribution  `json:"attribution,omitempty"`
	Faults      []FaultWindow `json:"faults,omitempty"`
	Checks      []Check       `json:"checks"`
	// Coverage counts the hazards the run created, one row per hazard; Shortfall names, in
	// words, those below their minimum ("expired_mid_checkout: 0 of at least 1").
	Coverage  []Coverage `json:"coverage,omitempty"`
	Shortfall []string   `json:"shortfall,omitempty"`
	SLOs      []SLO      `json:"slos,omitempty"`
	// Series is one point a second of the herd.
	Series []Point `json:"series,omitempty"`
	// Dir is the run's subdirectory (history.jsonl, ledgers, visualizations), relative to the
	// summary.
	Dir string `json:"dir,omitempty"`
	// Repeat is the run's 1-based repetition of its strategy x database (Summary.Repeat), and
	// Seed the seed it ran with; both 0 in a summary whose runs were not repeated.
	Repeat int   `json:"repeat,omitempty"`
	Seed   int64 `json:"seed,omitempty"`
}

// Throughput in operations per second over the herd's duration.
type Throughput struct {
	RequestsPerSec float64 `json:"requests_per_sec"`
	HoldsPerSec    float64 `json:"holds_per_sec"`
	BookingsPerSec float64 `json:"bookings_per_sec"`
}

// Percentiles of a latency distribution in milliseconds.
type Percentiles struct {
	Count int64   `json:"count"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	P999  float64 `json:"p999"`
	Max   float64 `json:"max"`
}

// PoolStats are the pool figures of one conn tag, in milliseconds.
type PoolStats struct {
	Count      int64   `json:"count"`
	WaitMeanMs float64 `json:"wait_mean_ms"`
	WaitMaxMs  float64 `json:"wait_max_ms"`
	HoldMeanMs float64 `json:"hold_mean_ms"`
	HoldMaxMs  float64 `json:"hold_max_ms"`
}

// FaultWindow is one injected fault, in seconds from the herd's start. End equals Start for
// instantaneous faults; Error is set when injection or recovery failed.
type FaultWindow struct {
	Fault  string            `json:"fault"`
	Start  float64           `json:"start"`
	End    float64           `json:"end"`
	Params map[string]string `json:"params,omitempty"`
	Error  string            `json:"error,omitempty"`
}

// Check is one checker verdict.
type Check struct {
	Name   string `json:"name"`
	Result string `json:"result"`
	Count  int64  `json:"count"`
	// Counterexample is the first counterexample in words; Details more of them.
	Counterexample string   `json:"counterexample,omitempty"`
	Details        []string `json:"details,omitempty"`
	// Visualization is a file (relative to the summary) showing the failure, if any.
	Visualization string `json:"visualization,omitempty"`
}

// Coverage is one hazard of a run: how many opportunities for it the run created (the checker's
// count, in the hazard's own unit) and the least the scenario or the command line asked for.
type Coverage struct {
	// Hazard is the hazard's stable name (concurrent_seat_holds, expired_mid_checkout, ...).
	Hazard string `json:"hazard"`
	Count  int64  `json:"count"`
	// Peak is, for the concurrency hazards, the most attempts in flight at once on one seat
	// or tier.
	Peak int64 `json:"peak,omitempty"`
	// Checks are the checks the hazard feeds.
	Checks []string `json:"checks,omitempty"`
	// Min is the least count asked for; 0 when none was.
	Min int64 `json:"min,omitempty"`
}

// Short reports whether the run created the hazard fewer times than asked.
func (c Coverage) Short() bool { return c.Count < c.Min }

// Shortfall says in words how far short the run fell: "expired_mid_checkout: 0 of at least 1".
func (c Coverage) Shortfall() string {
	return fmt.Sprintf("%s: %d of at least %d", c.Hazard, c.Count, c.Min)
}

// exercised is how many hazards the run created at least once.
func exercised(cs []Coverage) int {
	n := 0
	for _, c := range cs {
		if c.Count > 0 {
			n++
		}
	}
	return n
}

// SLO is one service-level objective of the scenario, checked against the run.
type SLO struct {
	// Name is the objective as the scenario names it (hold_p99, checkout_p99, error_rate).
	Name string `json:"name"`
	// Metric is what it measures: the p99 latency of Op from each request's intended start
	// ("p99"), or the run's share of errors ("error_rate").
	Metric string `json:"metric,omitempty"`
	Op     string `json:"op,omitempty"`
	// Target is the objective's limit and Actual what the run measured, both in Unit.
	Target float64 `json:"target"`
	Actual float64 `json:"actual"`
	Unit   Unit    `json:"unit"`
	Pass   bool    `json:"pass"`
	// Untrusted is set when the load generator was the bottleneck of the run: the figure
	// measured the generator as much as the target, and Pass is no verdict on the target.
	Untrusted bool `json:"untrusted,omitempty"`
	// NoData is set when the run measured nothing for the objective (no request of its
	// operation completed): it does not hold, and Actual means nothing.
	NoData bool `json:"no_data,omitempty"`
	// FromSend is set when the generator was the bottleneck but the target missed the
	// objective on its own time: Actual is the p99 from sending to answer, without the
	// driver's waits, and the miss is a verdict on the target.
	FromSend bool `json:"from_send,omitempty"`
	// Scope says which requests a latency objective was judged on: those the target took on
	// outside the fault windows (shed and not-admitted requests left out), or every request;
	// Samples how many.
	Scope   string `json:"scope,omitempty"`
	Samples int64  `json:"samples,omitempty"`
}

// ScopeText says which requests the objective was judged on, with their number: "" for an
// objective that is not a latency's.
func (o SLO) ScopeText() string {
	switch {
	case o.Scope == "":
		return ""
	case o.Samples > 0:
		return fmt.Sprintf("%s (%d)", o.Scope, o.Samples)
	}
	return o.Scope
}

// ActualText is what the run measured for the objective, with its unit, or "no data".
func (o SLO) ActualText() string {
	if o.NoData {
		return "no data"
	}
	return fmtVal(o.Actual, o.Unit)
}

// Generator is the load generator's account of itself over a run: how late it began requests
// and arrivals (lag), how requests waited for its own connection slots, the arrivals it
// dropped and the CPU its process used. Bound is set when it, not the target, limited the
// run; Reasons say why, with the figures.
type Generator struct {
	Bound           bool     `json:"bound"`
	Reasons         []string `json:"reasons,omitempty"`
	LagP99Ms        float64  `json:"lag_p99_ms"`
	ArrivalLagP99Ms float64  `json:"arrival_lag_p99_ms"`
	SlotWaitP99Ms   float64  `json:"slot_wait_p99_ms"`
	SlotWaits       int64    `json:"slot_waits"`
	SlotStarved     int64    `json:"slot_starved"`
	// MaxConns is the generator's bound on connections (0: none).
	MaxConns int   `json:"max_conns"`
	Dropped  int64 `json:"dropped"`
	// CPU is in cores, of Cores the process may use; 0 cores where it was not measured.
	CPUMeanCores float64 `json:"cpu_mean_cores"`
	CPUMaxCores  float64 `json:"cpu_max_cores"`
	Cores        int     `json:"cores"`
}

// Attribution says where a run's time went: per resource (generator, server queue, server,
// pool wait per conn tag, database, redis, payment), the seconds summed over requests, their
// share and where the figure came from, and the limiting resource at a glance with why.
// Shares overlap where the work does; they are not a partition of the run.
type Attribution struct {
	Limit string `json:"limit"`
	Why   string `json:"why"`
	Costs []Cost `json:"costs,omitempty"`
	// Shed counts the requests the target shed, by ShedSource's count.
	Shed       int64    `json:"shed"`
	ShedSource string   `json:"shed_source,omitempty"`
	Notes      []string `json:"notes,omitempty"`
}

// Cost is one resource's part of a run's time.
type Cost struct {
	Resource string  `json:"resource"`
	Seconds  float64 `json:"seconds"`
	Share    float64 `json:"share"`
	Source   string  `json:"source,omitempty"`
}

// Unit is the unit of an SLO's figures.
type Unit string

// Units of SLO figures.
const (
	Millis  Unit = "ms"
	Percent Unit = "%"
)

// Point is one second of the herd.
type Point struct {
	T        float64          `json:"t"`
	Requests int64            `json:"requests"`
	Ok       int64            `json:"ok"`
	Fail     int64            `json:"fail"`
	Info     int64            `json:"info"`
	Holds    int64            `json:"holds"`
	Bookings int64            `json:"bookings"`
	P50      float64          `json:"p50_ms"`
	P99      float64          `json:"p99_ms"`
	InFlight int64            `json:"in_flight"`
	Extra    map[string]int64 `json:"extra,omitempty"`
	// Shed counts the second's shed requests; LagP99 is the generator's lag p99 (ms) and CPU
	// the cores its process used.
	Shed   int64   `json:"shed,omitempty"`
	LagP99 float64 `json:"lag_p99_ms,omitempty"`
	CPU    float64 `json:"cpu_cores,omitempty"`
	// Errors counts the requests that count against the error rate: every info, and every
	// fail whose code is not a business outcome; so Fail + Info - Errors fails were refused.
	// It is 0 in summaries written before it existed.
	Errors int64 `json:"errors,omitempty"`
}

// Finish computes each run's verdict from its checks, SLOs and error, and the overall verdict;
// and each run's coverage shortfall, which leaves the verdict alone. An SLO that did not hold
// while the load generator was the bottleneck (SLO.Untrusted) does not fail the run: it makes
// it unknown, unless something else failed it. An interrupted run never passes.
func (s *Summary) Finish() {
	s.Schema = SchemaVersion
	s.Verdict = Pass
	s.CoverageShort = false
	if len(s.Runs) == 0 || s.Interrupted {
		s.Verdict = Fail
	}
	unknown := false
	for i := range s.Runs {
		r := &s.Runs[i]
		r.Judge()
		for _, c := range r.Coverage {
			if c.Short() {
				s.CoverageShort = true
			}
		}
		switch r.Verdict {
		case Fail:
			s.Verdict = Fail
		case Unknown:
			unknown = true
		}
	}
	if unknown && s.Verdict == Pass {
		s.Verdict = Unknown
	}
}

// GeneratorBound counts the runs whose load generator was the bottleneck.
func (s *Summary) GeneratorBound() int {
	n := 0
	for _, r := range s.Runs {
		if r.Generator != nil && r.Generator.Bound {
			n++
		}
	}
	return n
}

// Judge sets the run's verdict, pass only when every check passed and every SLO held, and
// its reasons otherwise, the most serious first: the run's error, failed checks, undecided
// checks, SLOs that did not hold.
func (r *Run) Judge() {
	r.Verdict, r.Reasons, r.Shortfall = Pass, nil, nil
	for _, c := range r.Coverage {
		if c.Short() {
			r.Shortfall = append(r.Shortfall, c.Shortfall())
		}
	}
	if r.Error != "" {
		r.Verdict = Fail
		r.Reasons = append(r.Reasons, "run error: "+r.Error)
	}
	for _, c := range r.Checks {
		switch c.Result {
		case Fail:
			r.Verdict = Fail
			r.Reasons = append(r.Reasons, fmt.Sprintf("check %s failed (%d)", c.Name, c.Count))
		case Unknown:
			r.Verdict = Fail
			r.Reasons = append(r.Reasons, fmt.Sprintf("check %s could not decide", c.Name))
		}
	}
	var untrusted []string
	for _, o := range r.SLOs {
		switch {
		case o.NoData:
			r.Verdict = Fail
			r.Reasons = append(r.Reasons, fmt.Sprintf("SLO %s: no data", o.Name))
		case !o.Pass && o.Untrusted:
			untrusted = append(untrusted, fmt.Sprintf("%s: %s over %s", o.Name, fmtVal(o.Actual, o.Unit), fmtVal(o.Target, o.Unit)))
		case !o.Pass:
			r.Verdict = Fail
			how := ""
			if o.FromSend {
				how = " from sending to answer (the target's own time, though the generator was the bottleneck)"
			}
			r.Reasons = append(r.Reasons, fmt.Sprintf("SLO %s: %s over %s%s", o.Name, fmtVal(o.Actual, o.Unit), fmtVal(o.Target, o.Unit), how))
		}
	}
	if c := r.CapacitySearch; c != nil && c.Reason != "" {
		r.Verdict = Fail
		r.Reasons = append(r.Reasons, "capacity: "+c.Reason)
	}
	if len(r.Checks) == 0 && r.Error == "" {
		r.Verdict = Fail
		r.Reasons = append(r.Reasons, "no checks ran")
	}
	if len(untrusted) > 0 {
		why := ""
		if r.Generator != nil && len(r.Generator.Reasons) > 0 {
			why = " (" + strings.Join(r.Generator.Reasons, "; ") + ")"
		}
		r.Reasons = append(r.Reasons, fmt.Sprintf("SLOs not judged: the load generator was the bottleneck%s, so %s says nothing of the target",
			why, strings.Join(untrusted, ", ")))
		if r.Verdict == Pass {
			r.Verdict = Unknown
		}
	}
}

// ExitCode is the exit status the summary calls for (internal/exitcode): a failed check is a
// violation (1), over an interruption (130), over a run that could not complete or a check that
// could not decide (4: undecided is neither a pass nor a proven violation), over an SLO that
// did not hold or a gate that found a regression (3), or a run short of its hazard coverage
// (5); an SLO that did not hold while the load generator was the bottleneck is the harness's
// failure (4). A summary without runs is the harness failing, unless interrupted.
func (s *Summary) ExitCode() int {
	codes := []int{exitcode.OK}
	if s.Interrupted {
		codes = append(codes, exitcode.Interrupted)
	} else if len(s.Runs) == 0 {
		codes = append(codes, exitcode.Harness)
	}
	for _, r := range s.Runs {
		if r.Error != "" || len(r.Checks) == 0 {
			codes = append(codes, exitcode.Harness)
		}
		for _, c := range r.Checks {
			switch c.Result {
			case Fail:
				codes = append(codes, exitcode.Violation)
			case Unknown:
				codes = append(codes, exitcode.Harness)
			}
		}
		for _, o := range r.SLOs {
			switch {
			case !o.Pass && o.Untrusted:
				codes = append(codes, exitcode.Harness) // the generator was the bottleneck
			case !o.Pass || o.NoData:
				codes = append(codes, exitcode.Gate)
			}
		}
		if len(r.Shortfall) > 0 {
			codes = append(codes, exitcode.Coverage)
		}
	}
	if s.Gate != nil {
		switch s.Gate.Verdict {
		case GateRegression:
			codes = append(codes, exitcode.Gate)
		case GateCorrectness:
			codes = append(codes, exitcode.Violation)
		case GateIncomplete:
			codes = append(codes, exitcode.Harness)
		}
	}
	return exitcode.Worst(codes...)
}

// Load reads summary.json from dir (see LoadFile).
func Load(dir string) (*Summary, error) {
	return LoadFile(filepath.Join(dir, SummaryFile))
}

func fmtVal(v float64, unit Unit) string {
	switch unit {
	case Millis:
		return fmt.Sprintf("%.0f ms", v)
	case Percent:
		return fmt.Sprintf("%.2f%%", v)
	}
	return fmt.Sprintf("%g%s", v, unit)
}
