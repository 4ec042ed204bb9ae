package workloads

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

func TestCheckSLO(t *testing.T) {
	ms := time.Millisecond
	ops := map[string]*OpSummary{
		"hold":     {Requests: 40, Intended: Latency{P99: 31 * ms}},
		"checkout": {Requests: 20, Intended: Latency{P99: 1200 * ms}},
	}
	tests := []struct {
		name      string
		slo       SLO
		errorRate float64
		calm      bool // the summary knows the calm requests (OpSummary.Calm)
		want      []SLOResult
	}{
		{"none", SLO{}, 0.3, false, nil},
		{"no data is not a pass", SLO{HoldP99: 250 * ms, ErrorRate: 0.01, ErrorRateSet: true}, -1, false, []SLOResult{
			{Name: "hold_p99", Metric: MetricP99, Op: "hold", Threshold: Measure{Unit: UnitDuration, Duration: 250 * ms},
				Observed: Measure{Unit: UnitDuration}, NoData: true, Limit: "250ms", Value: "no data"},
			{Name: "error_rate", Metric: MetricErrorRate, Threshold: Measure{Unit: UnitRatio, Ratio: 0.01},
				Observed: Measure{Unit: UnitRatio}, NoData: true, Limit: "1.00%", Value: "no data"},
		}},
		{"latencies held and missed", SLO{HoldP99: 250 * ms, CheckoutP99: time.Second}, 0, false, []SLOResult{
			{Name: "hold_p99", Metric: MetricP99, Op: "hold", Threshold: Measure{Unit: UnitDuration, Duration: 250 * ms},
				Observed: Measure{Unit: UnitDuration, Duration: 31 * ms}, Pass: true, Limit: "250ms", Value: "31ms", Scope: ScopeAll, Samples: 40},
			{Name: "checkout_p99", Metric: MetricP99, Op: "checkout", Threshold: Measure{Unit: UnitDuration, Duration: time.Second},
				Observed: Measure{Unit: UnitDuration, Duration: 1200 * ms}, Pass: false, Limit: "1s", Value: "1.2s", Scope: ScopeAll, Samples: 20},
		}},
		{"judged outside the fault windows", SLO{HoldP99: 250 * ms, CheckoutP99: time.Second}, 0, true, []SLOResult{
			{Name: "hold_p99", Metric: MetricP99, Op: "hold", Threshold: Measure{Unit: UnitDuration, Duration: 250 * ms},
				Observed: Measure{Unit: UnitDuration, Duration: 80 * ms}, Pass: true, Limit: "250ms", Value: "80ms", Scope: ScopeCalm, Samples: 30},
			{Name: "checkout_p99", Metric: MetricP99, Op: "checkout", Threshold: Measure{Unit: UnitDuration, Duration: time.Second},
				Observed: Measure{Unit: UnitDuration, Duration: 1200 * ms}, Pass: false, Limit: "1s", Value: "1.2s", Scope: ScopeAllFaulted, Samples: 20},
		}},
		{"error rate of zero is an objective", SLO{ErrorRateSet: true}, 0.004, false, []SLOResult{
			{Name: "error_rate", Metric: MetricErrorRate, Threshold: Measure{Unit: UnitRatio},
				Observed: Measure{Unit: UnitRatio, Ratio: 0.004}, Pass: false, Limit: "0.00%", Value: "0.40%"},
		}},
		{"error rate held", SLO{ErrorRate: 0.005, ErrorRateSet: true}, 0.005, false, []SLOResult{
			{Name: "error_rate", Metric: MetricErrorRate, Threshold: Measure{Unit: UnitRatio, Ratio: 0.005},
				Observed: Measure{Unit: UnitRatio, Ratio: 0.005}, Pass: true, Limit: "0.50%", Value: "0.50%"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Summary{Ops: ops, ErrorRate: tt.errorRate, Requests: 60}
			if tt.calm {
				s.Ops = map[string]*OpSummary{
					"hold":     {Requests: 40, Intended: Latency{P99: 900 * ms}, Calm: &CalmLatency{Requests: 30, Intended: Latency{P99: 80 * ms}}},
					"checkout": {Requests: 20, Intended: Latency{P99: 1200 * ms}, Calm: &CalmLatency{}},
				}
			}
			if tt.errorRate < 0 { // a run in which nothing completed
				s = &Summary{Ops: map[string]*OpSummary{}}
			}
			s.checkSLO(tt.slo)
			if !reflect.DeepEqual(s.SLO, tt.want) {
				t.Errorf("checkSLO(%+v) =\n%+v\nwant\n%+v", tt.slo, s.SLO, tt.want)
			}
		})
	}
}

// TestSLOResultJSON pins drive-summary.json's SLO fields: the text ones it always had and the
// typed ones beside them.
func TestSLOResultJSON(t *testing.T) {
	s := &Summary{Ops: map[string]*OpSummary{"hold": {Requests: 1, Intended: Latency{P99: 31 * time.Millisecond}}}}
	s.checkSLO(SLO{HoldP99: 250 * time.Millisecond})
	b, err := json.Marshal(s.SLO[0])
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"name": "hold_p99", "metric": "p99", "op": "hold", "pass": true, "limit": "250ms", "value": "31ms",
		"scope": ScopeAll, "samples": 1.0,
		"threshold": map[string]any{"unit": "duration", "duration_ns": 250e6},
		"observed":  map[string]any{"unit": "duration", "duration_ns": 31e6}}
	if !reflect.DeepEqual(raw, want) {
		t.Errorf("SLO result as JSON = %v, want %v", raw, want)
	}
	var back SLOResult
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, s.SLO[0]) {
		t.Errorf("SLO result read back = %+v (%v), want %+v", back, err, s.SLO[0])
	}
}

// TestDistrustSLO: in a generator-bound run, a latency objective the target missed on its own
// time (sending to answer) stays a verdict, judged on that time; one it met on its own time,
// and the error rate, are marked untrusted; a run that was not generator-bound is left alone.
func TestDistrustSLO(t *testing.T) {
	slo := SLO{HoldP99: 250 * time.Millisecond, CheckoutP99: time.Second, ErrorRate: 0.01, ErrorRateSet: true}
	sum := func(bound bool) *Summary {
		s := &Summary{Requests: 100, Errors: 50, ErrorRate: 0.5, GeneratorBound: bound, Ops: map[string]*OpSummary{
			"hold":     {Requests: 50, Intended: Latency{P99: 9 * time.Second}, Actual: Latency{P99: 2 * time.Second}},
			"checkout": {Requests: 50, Intended: Latency{P99: 9 * time.Second}, Actual: Latency{P99: 800 * time.Millisecond}},
		}}
		s.checkSLO(slo)
		s.distrustSLO()
		return s
	}
	got := map[string]SLOResult{}
	for _, r := range sum(true).SLO {
		got[r.Name] = r
	}
	if h := got["hold_p99"]; h.Pass || h.Untrusted || !h.FromSend || h.Observed.Duration != 2*time.Second {
		t.Errorf("hold_p99 = %+v, want failed on the target's own 2s, trusted", h)
	}
	if c := got["checkout_p99"]; c.Pass || !c.Untrusted || c.FromSend || c.Observed.Duration != 9*time.Second {
		t.Errorf("checkout_p99 = %+v, want failed from the intended start (9s) and untrusted", c)
	}
	if e := got["error_rate"]; !e.Untrusted || e.FromSend {
		t.Errorf("error_rate = %+v, want untrusted", e)
	}
	for _, r := range sum(false).SLO {
		if r.Untrusted || r.FromSend || r.Pass {
			t.Errorf("not generator-bound: %+v, want failed, trusted, from the intended start", r)
		}
	}
}
