package workloads

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Summary is the end-of-run account of a driver run (or of one shard): how many users arrived,
// what every operation returned and how long it took, from the moment each request was due
// (Intended: coordinated omission included) and from the moment it was sent (Actual).
type Summary struct {
	Scenario string `json:"scenario"`
	Seed     int64  `json:"seed"`
	Shard    string `json:"shard,omitempty"`
	Target   string `json:"target"`
	RunID    string `json:"run_id"`
	// Scale is the factor the scenario's herd was scaled by (Scenario.Scale); 1 when it was not.
	Scale float64   `json:"scale"`
	Start time.Time `json:"start"`
	// Elapsed is the run's wall time, from the first arrival's schedule to the last answer.
	Elapsed time.Duration `json:"elapsed_ns"`
	// Users is the number of users this run (or shard) was to start; Arrived how many started,
	// Dropped how many were not started because MaxActive users were already running, and
	// Finished how many completed their flow.
	Users    int   `json:"users"`
	Arrived  int64 `json:"arrived"`
	Dropped  int64 `json:"dropped"`
	Finished int64 `json:"finished"`
	// Flows counts the arrived users per flow.
	Flows map[string]int64 `json:"flows"`
	// Requests is the number of completed operations; Throughput the same per second of Elapsed.
	Requests   int64    `json:"requests"`
	Throughput float64  `json:"throughput"`
	Outcomes   Outcomes `json:"outcomes"`
	// Errors counts info outcomes and failures that are not business outcomes (see
	// ErrorRate); ErrorRate is Errors over Requests. Shed requests are not errors: Outcomes.Shed
	// counts them.
	Errors    int64   `json:"errors"`
	ErrorRate float64 `json:"error_rate"`
	// Ops has one entry per operation kind that was performed.
	Ops map[string]*OpSummary `json:"ops"`
	// MaxLag is the latest the scheduler started a user after its due time.
	MaxLag time.Duration `json:"max_lag_ns"`
	// Generator is the driver's account of itself; GeneratorBound is set when the driver, not
	// the target, limited the run (Config.Saturation), and GeneratorReasons say why, with the
	// figures. A generator-bound run's SLO results are marked Untrusted: they are not a verdict
	// on the target.
	Generator        GeneratorStats `json:"generator"`
	GeneratorBound   bool           `json:"generator_bound"`
	GeneratorReasons []string       `json:"generator_reasons,omitempty"`
	// SeatMap says how the buyers' seat-map reads went (section and compact forms).
	SeatMap SeatMapStats `json:"seat_map"`
	// Server is where the target's time went during the herd, from its /metrics (nil when it
	// exposes none); Attribution puts it beside the driver's own and names the limit.
	Server      *ServerTime `json:"server,omitempty"`
	Attribution Attribution `json:"attribution"`
	// SLO has one result per objective of the scenario.
	SLO []SLOResult `json:"slo,omitempty"`
	// HistoryRecords is the number of lines written to the history.
	HistoryRecords int64 `json:"history_records"`
	// Interrupted is set when the run was cancelled before every user finished.
	Interrupted bool `json:"interrupted,omitempty"`
	// Histograms are the latency distributions behind Ops and Generator, so that the summaries
	// of a sharded run's shards combine over all their samples (Combine); nil in a summary
	// written before they were kept.
	Histograms *Histograms `json:"histograms,omitempty"`
}

// Outcomes counts records by type.
type Outcomes struct {
	Ok   int64 `json:"ok"`
	Fail int64 `json:"fail"`
	Info int64 `json:"info"`
	Shed int64 `json:"shed"`
}

// OpSummary is one operation's outcomes and latencies, and the driver's own delays in
// sending it: its lag (how late it began the requests after they were due) and its waits for
// a connection slot (0 for requests that did not wait; SlotWaits counts those that waited and
// then got one, SlotStarved those that never got one).
type OpSummary struct {
	Requests    int64            `json:"requests"`
	Outcomes    Outcomes         `json:"outcomes"`
	Errors      int64            `json:"errors"`
	Codes       map[string]int64 `json:"codes,omitempty"`
	Intended    Latency          `json:"intended"`
	Actual      Latency          `json:"actual"`
	Lag         Latency          `json:"lag"`
	SlotWait    Latency          `json:"slot_wait"`
	SlotWaits   int64            `json:"slot_waits"`
	SlotStarved int64            `json:"slot_starved"`
	// Calm is the latency of the requests the target took on (neither shed nor refused for
	// want of admission) that met no fault window from their due time to their answer: what a
	// buyer the waiting room let in saw while nothing was being injected. The SLOs judge it.
	// Nil in a summary that does not know the fault windows (one combined from shards).
	Calm *CalmLatency `json:"calm,omitempty"`
}

// CalmLatency is OpSummary.Calm: how many requests, and their latencies from the intended
// start and from sending.
type CalmLatency struct {
	Requests int64   `json:"requests"`
	Intended Latency `json:"intended"`
	Actual   Latency `json:"actual"`
}

// Latency is a latency distribution's summary (nanoseconds in JSON).
type Latency struct {
	P50  time.Duration `json:"p50_ns"`
	P90  time.Duration `json:"p90_ns"`
	P99  time.Duration `json:"p99_ns"`
	P999 time.Duration `json:"p999_ns"`
	Max  time.Duration `json:"max_ns"`
	Mean time.Duration `json:"mean_ns"`
}

func latencyOf(h *hdr.Histogram) Latency {
	us := func(v int64) time.Duration { return time.Duration(v) * time.Microsecond }
	return Latency{
		P50: us(h.ValueAtQuantile(50)), P90: us(h.ValueAtQuantile(90)), P99: us(h.ValueAtQuantile(99)),
		P999: us(h.ValueAtQuantile(99.9)), Max: us(h.Max()), Mean: time.Duration(h.Mean() * float64(time.Microsecond)),
	}
}

// Passed reports whether every SLO held (trusted or not: see GeneratorBound).
func (s *Summary) Passed() bool {
	for _, r := range s.SLO {
		if !r.Pass {
			return false
		}
	}
	return true
}

// WriteText writes a k6-style end-of-run summary for a terminal.
func (s *Summary) WriteText(w io.Writer) error {
	var b strings.Builder
	shard := ""
	if s.Shard != "" {
		shard = " shard " + s.Shard
	}
	if s.Scale != 0 && s.Scale != 1 {
		shard += fmt.Sprintf(" scaled x%g", s.Scale)
	}
	fmt.Fprintf(&b, "scenario %s seed %d%s against %s\n", s.Scenario, s.Seed, shard, s.Target)
	fmt.Fprintf(&b, "users     %d planned, %d arrived, %d finished, %d dropped (max start lag %s)\n",
		s.Users, s.Arrived, s.Finished, s.Dropped, s.MaxLag.Round(time.Microsecond))
	flows := make([]string, 0, len(s.Flows))
	for f, n := range s.Flows {
		flows = append(flows, fmt.Sprintf("%s %d", f, n))
	}
	sort.Strings(flows)
	fmt.Fprintf(&b, "flows     %s\n", strings.Join(flows, ", "))
	fmt.Fprintf(&b, "requests  %d in %s (%.1f/s): ok %d, fail %d, info %d, shed %d; errors %.2f%%\n",
		s.Requests, s.Elapsed.Round(time.Millisecond), s.Throughput, s.Outcomes.Ok, s.Outcomes.Fail, s.Outcomes.Info, s.Outcomes.Shed, s.ErrorRate*100)
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "op\tcount\tok\tfail\tinfo\tshed\tp50\tp90\tp99\tp99.9\tmax\tp99 (sent)\tlag p99\tslot waits\t")
	r := func(d time.Duration) string { return d.Round(10 * time.Microsecond).String() }
	for _, k := range opKinds {
		o := s.Ops[string(k)]
		if o == nil {
			continue
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t\n", k, o.Requests, o.Outcomes.Ok, o.Outcomes.Fail, o.Outcomes.Info,
			o.Outcomes.Shed, r(o.Intended.P50), r(o.Intended.P90), r(o.Intended.P99), r(o.Intended.P999), r(o.Intended.Max), r(o.Actual.P99),
			r(o.Lag.P99), o.SlotWaits)
	}
	tw.Flush()
	b.WriteString("latencies from the intended start; p99 (sent) from the actual send; lag and slot waits are the driver's own\n")
	g := s.Generator
	fmt.Fprintf(&b, "driver    lag p99 %s (arrivals %s), %d requests waited for a connection slot (p99 %s), %d never got one",
		r(g.Lag.P99), r(g.ArrivalLag.P99), g.SlotWaits, r(g.SlotWait.P99), g.SlotStarved)
	if g.CPU.Measured {
		fmt.Fprintf(&b, "; CPU %.2f of %d cores on average, %.2f at most", g.CPU.Mean, g.CPU.Cores, g.CPU.Max)
	}
	b.WriteString("\n")
	if sm := s.SeatMap; sm.Reads > 0 || sm.Fallbacks > 0 {
		fmt.Fprintf(&b, "seat map  %d reads, %d of one section, %d compact; %d refused for a parameter and sent again\n",
			sm.Reads, sm.SectionReads, sm.CompactReads, sm.Fallbacks)
	}
	if a := s.Attribution; a.Limit != "" {
		fmt.Fprintf(&b, "limit     %s: %s", a.Limit, a.Why)
		for _, c := range a.Costs {
			fmt.Fprintf(&b, "; %s %.0f%%", c.Name(), c.Share*100)
		}
		if a.Shed > 0 {
			fmt.Fprintf(&b, "; %d requests shed", a.Shed)
		}
		b.WriteString("\n")
		for _, n := range a.Notes {
			fmt.Fprintf(&b, "          %s\n", n)
		}
	}
	if s.GeneratorBound {
		fmt.Fprintf(&b, "GENERATOR-BOUND: the driver, not the target, limited this run, so its SLO results are not a verdict on the target: %s\n",
			strings.Join(s.GeneratorReasons, "; "))
	}
	for _, r := range s.SLO {
		mark, observed := "ok  ", r.Observed.String()
		switch {
		case r.NoData:
			mark, observed = "FAIL", "no data"
		case !r.Pass:
			mark = "FAIL"
		}
		untrusted := ""
		if r.Untrusted {
			untrusted = " (not trustworthy: generator-bound)"
		}
		fmt.Fprintf(&b, "slo %s %s %s (limit %s)%s\n", mark, r.Name, observed, r.Threshold, untrusted)
	}
	if s.Interrupted {
		b.WriteString("interrupted before every user finished\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
