package reports

import (
	"fmt"
	"path/filepath"
	"time"
)

// SchemaVersion names the summary.json schema. Fields are only ever added within a version;
// a rename or removal makes a new version.
const SchemaVersion = "stampede.summary/v1"

// Verdicts.
const (
	Pass    = "pass"
	Fail    = "fail"
	Unknown = "unknown"
	Skipped = "skipped"
)

// Summary is summary.json: everything a run found, for every strategy x database it ran.
type Summary struct {
	Schema   string `json:"schema"`
	Scenario string `json:"scenario"`
	Seed     int64  `json:"seed"`
	// Versions of stampede and the services (postgres, mysql, redis) where known.
	Versions map[string]string `json:"versions,omitempty"`
	Started  time.Time         `json:"started"`
	// DurationSeconds is the whole run, set-up and checking included.
	DurationSeconds float64 `json:"duration_seconds"`
	// Verdict is pass only when every run passed.
	Verdict string `json:"verdict"`
	Runs    []Run  `json:"runs"`

	// Provenance says where the numbers came from (build, scenario hash, seeds, machine,
	// service versions); nil in summaries written before it existed.
	Provenance *Provenance `json:"provenance,omitempty"`
}

// Run is one strategy on one database (or one external target).
type Run struct {
	Strategy string `json:"strategy"`
	DB       string `json:"db"`
	Target   string `json:"target,omitempty"`
	// Verdict is pass when every check passed and every SLO held; Reasons say why not.
	Verdict string   `json:"verdict"`
	Reasons []string `json:"reasons,omitempty"`
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
	// Outcomes counts results per operation: ok, fail, info, and fail codes (seat_unavailable...).
	Outcomes map[string]map[string]int64 `json:"outcomes"`

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

	// Pool is the database pool wait and connection hold time per conn tag.
	Pool   map[string]PoolStats `json:"pool,omitempty"`
	Faults []FaultWindow        `json:"faults,omitempty"`
	Checks []Check              `json:"checks"`
	SLOs   []SLO                `json:"slos,omitempty"`
	// Series is one point a second of the herd.
	Series []Point `json:"series,omitempty"`
	// Dir is the run's subdirectory (history.jsonl, ledgers, visualizations), relative to the
	// summary.
	Dir string `json:"dir,omitempty"`
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
}

// Finish computes each run's verdict from its checks, SLOs and error, and the overall verdict.
func (s *Summary) Finish() {
	s.Schema = SchemaVersion
	s.Verdict = Pass
	if len(s.Runs) == 0 {
		s.Verdict = Fail
	}
	for i := range s.Runs {
		r := &s.Runs[i]
		r.Verdict, r.Reasons = Pass, nil
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
		for _, o := range r.SLOs {
			if !o.Pass {
				r.Verdict = Fail
				r.Reasons = append(r.Reasons, fmt.Sprintf("SLO %s: %s over %s", o.Name, fmtVal(o.Actual, o.Unit), fmtVal(o.Target, o.Unit)))
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
		if r.Verdict != Pass {
			s.Verdict = Fail
		}
	}
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
