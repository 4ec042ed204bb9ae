package workloads

import (
	"fmt"
	"time"
)

// SLO holds the run's service-level objectives; zero fields are not checked.
type SLO struct {
	HoldP99     time.Duration
	CheckoutP99 time.Duration
	// ErrorRate is the largest acceptable share of errors (see Summary.ErrorRate).
	ErrorRate float64
	// ErrorRateSet tells an error_rate of 0 from none.
	ErrorRateSet bool
}

// fileSLO mirrors the slo section of a scenario file.
type fileSLO struct {
	HoldP99     string `yaml:"hold_p99"`
	CheckoutP99 string `yaml:"checkout_p99"`
	ErrorRate   string `yaml:"error_rate"`
}

func (v *validator) slo(fs *fileSLO) SLO {
	var slo SLO
	if fs == nil {
		return slo
	}
	slo.HoldP99 = v.duration("slo.hold_p99", fs.HoldP99, 0)
	slo.CheckoutP99 = v.duration("slo.checkout_p99", fs.CheckoutP99, 0)
	if fs.ErrorRate != "" {
		slo.ErrorRate = v.fraction("slo.error_rate", fs.ErrorRate)
		slo.ErrorRateSet = true
	}
	return slo
}

// SLOMetric names what an objective measures.
type SLOMetric string

// Metrics of the objectives.
const (
	// MetricP99 is the 99th percentile latency of one operation (SLOResult.Op), measured from
	// each request's intended start (coordinated omission included).
	MetricP99 SLOMetric = "p99"
	// MetricErrorRate is the run's share of errors (Summary.ErrorRate).
	MetricErrorRate SLOMetric = "error_rate"
)

// Unit says how a Measure reads.
type Unit string

// Units of a Measure.
const (
	// UnitDuration is a latency: Measure.Duration.
	UnitDuration Unit = "duration"
	// UnitRatio is a share: Measure.Ratio, 0.005 for 0.5%.
	UnitRatio Unit = "ratio"
)

// Measure is one figure of an objective, a threshold or what the run observed: a duration or
// a ratio, as Unit says; the other field is zero.
type Measure struct {
	Unit     Unit          `json:"unit"`
	Duration time.Duration `json:"duration_ns,omitempty"`
	Ratio    float64       `json:"ratio,omitempty"`
}

func durationMeasure(d time.Duration) Measure { return Measure{Unit: UnitDuration, Duration: d} }

func ratioMeasure(r float64) Measure { return Measure{Unit: UnitRatio, Ratio: r} }

// String formats m as a scenario file writes it: "250ms", "0.50%".
func (m Measure) String() string {
	if m.Unit == UnitRatio {
		return fmt.Sprintf("%.2f%%", m.Ratio*100)
	}
	return m.Duration.String()
}

// SLOResult is one objective checked against the run.
type SLOResult struct {
	// Name is the objective as the scenario names it: hold_p99, checkout_p99 or error_rate.
	Name   string    `json:"name"`
	Metric SLOMetric `json:"metric"`
	// Op is the operation a latency metric measures (hold, checkout); empty otherwise.
	Op string `json:"op,omitempty"`
	// Threshold is the objective's limit, Observed what the run measured; the objective holds
	// (Pass) when Observed is at most Threshold.
	Threshold Measure `json:"threshold"`
	Observed  Measure `json:"observed"`
	Pass      bool    `json:"pass"`
	// Untrusted is set when the driver, not the target, limited the run (Summary.
	// GeneratorBound): the figure measured the driver as much as the target, and the
	// objective's pass or fail is not a verdict on the target.
	Untrusted bool `json:"untrusted,omitempty"`
	// NoData is set when nothing was measured (no request of the operation, or none at all,
	// completed): the objective does not hold, Observed is zero and Value says "no data".
	NoData bool `json:"no_data,omitempty"`
	// FromSend is set on a latency objective of a generator-bound run that the target missed
	// on its own time: Observed is then the p99 from each request's sending to its answer,
	// without the driver's lag and connection-slot waits. A generator that sent less than
	// planned only spared the target, so that miss is a verdict on the target (not Untrusted).
	FromSend bool `json:"from_send,omitempty"`
	// Scope says which requests a latency objective was judged on (ScopeCalm, ScopeAll or
	// ScopeAllFaulted), and
	// Samples how many there were.
	Scope   string `json:"scope,omitempty"`
	Samples int64  `json:"samples,omitempty"`
	// Limit and Value are Threshold and Observed as text, the fields drive-summary.json had
	// before the typed ones.
	Limit string `json:"limit"`
	Value string `json:"value"`
}

func newSLOResult(name string, metric SLOMetric, op string, threshold, observed Measure, pass bool) SLOResult {
	return SLOResult{Name: name, Metric: metric, Op: op, Threshold: threshold, Observed: observed, Pass: pass,
		Limit: threshold.String(), Value: observed.String()}
}

// noData marks an objective the run measured nothing for: it does not hold.
func noData(r SLOResult) SLOResult {
	r.Pass, r.NoData, r.Value = false, true, "no data"
	return r
}

// distrustSLO marks the objectives of a generator-bound run: each is Untrusted, except a
// latency objective the target missed even on its own time (the p99 from sending to answer,
// without the driver's waits), which is judged on that time and stays a verdict on the target.
func (s *Summary) distrustSLO() {
	if !s.GeneratorBound {
		return
	}
	for i, r := range s.SLO {
		var p99 time.Duration
		if o := s.Ops[r.Op]; o != nil {
			p99 = o.judged().actual.P99
		}
		if r.Metric == MetricP99 && !r.NoData && p99 > r.Threshold.Duration {
			r.Observed, r.Value = durationMeasure(p99), durationMeasure(p99).String()
			r.Pass, r.FromSend = false, true
		} else {
			r.Untrusted = true
		}
		s.SLO[i] = r
	}
}

// Scopes of a latency objective (SLOResult.Scope).
const (
	// ScopeCalm: the requests the target took on outside every fault window, a lingering
	// fault's linger included (OpSummary.Calm).
	ScopeCalm = "outside fault windows (and a delay's linger after one), shed and not-admitted requests left out"
	// ScopeAll: every request of the operation (a summary that does not know the windows).
	ScopeAll = "every request"
	// ScopeAllFaulted: every request of the operation, none of which the target took on
	// outside the fault windows.
	ScopeAllFaulted = "every request (none outside the fault windows)"
)

// judgedLatency is what a latency objective is judged on: the calm requests when the summary
// has them, else all of them (also when every request met a fault window: the objective is
// then judged on the faults' latencies rather than left without data).
type judgedLatency struct {
	n                int64
	intended, actual Latency
	scope            string
}

func (o *OpSummary) judged() judgedLatency {
	switch {
	case o.Calm != nil && o.Calm.Requests > 0:
		return judgedLatency{n: o.Calm.Requests, intended: o.Calm.Intended, actual: o.Calm.Actual, scope: ScopeCalm}
	case o.Calm != nil:
		return judgedLatency{n: o.Requests, intended: o.Intended, actual: o.Actual, scope: ScopeAllFaulted}
	}
	return judgedLatency{n: o.Requests, intended: o.Intended, actual: o.Actual, scope: ScopeAll}
}

// checkSLO evaluates the scenario's objectives; latencies are taken from the intended start,
// over the requests the target took on outside the fault windows when the summary knows them
// (OpSummary.judged): faults are injected to see what breaks, and the objectives say how the
// admitted buyers are served otherwise. An objective without data (no such request completed)
// does not hold.
func (s *Summary) checkSLO(slo SLO) {
	lat := func(name, op string, limit time.Duration) {
		if limit <= 0 {
			return
		}
		o := s.Ops[op]
		var j judgedLatency
		if o != nil {
			j = o.judged()
		}
		if j.n == 0 {
			r := noData(newSLOResult(name, MetricP99, op, durationMeasure(limit), durationMeasure(0), false))
			r.Scope = j.scope
			s.SLO = append(s.SLO, r)
			return
		}
		v := j.intended.P99
		r := newSLOResult(name, MetricP99, op, durationMeasure(limit), durationMeasure(v), v <= limit)
		r.Scope, r.Samples = j.scope, j.n
		s.SLO = append(s.SLO, r)
	}
	lat("hold_p99", "hold", slo.HoldP99)
	lat("checkout_p99", "checkout", slo.CheckoutP99)
	if slo.ErrorRateSet {
		r := newSLOResult("error_rate", MetricErrorRate, "", ratioMeasure(slo.ErrorRate), ratioMeasure(s.ErrorRate), s.ErrorRate <= slo.ErrorRate)
		if s.Requests == 0 {
			r = noData(r)
		}
		s.SLO = append(s.SLO, r)
	}
}
