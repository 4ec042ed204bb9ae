package compare

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"stampede/workloads"
)

// normal draws n values of a normal distribution from a seeded generator.
func normal(seed uint64, n int, mean, sd float64) []float64 {
	r := rand.New(rand.NewPCG(seed, 1))
	out := make([]float64, n)
	for i := range out {
		out[i] = mean + sd*r.NormFloat64()
	}
	return out
}

func metric(tb testing.TB, name string) workloads.GateMetric {
	tb.Helper()
	m, ok := workloads.LookupGateMetric(name)
	if !ok {
		tb.Fatalf("no gate metric %s", name)
	}
	return m
}

func TestJudgeKnownDistributions(t *testing.T) {
	o := newOptions(nil)
	same := normal(1, 8, 100, 10)
	tests := []struct {
		name       string
		metric     string
		base, cand []float64
		want       Change
		wantP      func(p float64) bool
	}{
		{"identical samples", "hold_p99", same, same, Same, func(p float64) bool { return p == 1 }},
		{"identical constants", "lost_holds", []float64{0, 0, 0, 0, 0}, []float64{0, 0, 0, 0, 0}, Same, func(p float64) bool { return p == 1 }},
		{"latency clearly up", "hold_p99", normal(2, 10, 100, 5), normal(3, 10, 150, 5), Worse, func(p float64) bool { return p < 0.001 }},
		{"latency clearly down", "checkout_p50", normal(4, 10, 150, 5), normal(5, 10, 100, 5), Better, func(p float64) bool { return p < 0.001 }},
		{"throughput clearly down", "throughput", normal(6, 6, 1000, 20), normal(7, 6, 800, 20), Worse, func(p float64) bool { return p < 0.01 }},
		{"throughput clearly up", "bookings_per_sec", normal(8, 6, 100, 2), normal(9, 6, 120, 2), Better, func(p float64) bool { return p < 0.01 }},
		{"tiny shift in noise", "hold_p99", normal(10, 6, 100, 10), normal(11, 6, 101, 10), Same, func(p float64) bool { return p > 0.05 }},
		{"samples from one distribution", "throughput", normal(12, 20, 500, 50), normal(13, 20, 500, 50), Same, func(p float64) bool { return p > 0.05 }},
		{"three a side, far apart", "hold_p99", []float64{10, 11, 12}, []float64{100, 101, 102}, TooFew, func(p float64) bool { return p > 0.05 }},
		{"one a side", "hold_p99", []float64{10}, []float64{100}, TooFew, func(p float64) bool { return p == 1 }},
		{"one against ten", "hold_p99", []float64{10}, normal(14, 10, 100, 1), TooFew, func(p float64) bool { return true }},
		{"four a side, far apart", "hold_p99", []float64{10, 11, 12, 13}, []float64{100, 101, 102, 103}, Worse, func(p float64) bool { return p < 0.05 }},
		{"not in the candidate", "join_p99", []float64{1, 2, 3, 4}, nil, Missing, func(p float64) bool { return p == 1 }},
		{"not in the base", "join_p99", nil, []float64{1, 2, 3, 4}, Missing, func(p float64) bool { return p == 1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := slices.Clone(tt.base)
			got := judge(metric(t, tt.metric), tt.base, tt.cand, o)
			if got.Change != tt.want || !tt.wantP(got.P) {
				t.Fatalf("judge(%s, n=%d+%d) = %s (p=%v, notes %q), want %s", tt.metric, len(tt.base), len(tt.cand), got.Change, got.P, got.Notes, tt.want)
			}
			if !slices.Equal(base, tt.base) {
				t.Errorf("judge reordered its input: %v, was %v", tt.base, base)
			}
			if tt.want == TooFew && !slices.Contains(got.Notes, "need >= 4 samples to detect a difference at alpha level 0.05") {
				t.Errorf("too few samples without benchstat's note: %q", got.Notes)
			}
		})
	}
}

func TestJudgeEstimates(t *testing.T) {
	o := newOptions(nil)
	got := judge(metric(t, "hold_p99"), []float64{12, 10, 11, 13, 14, 10.5, 12.5, 11.5, 13.5, 9.5}, []float64{20, 22, 21, 23, 24, 20.5, 22.5, 21.5, 23.5, 19.5}, o)
	if got.Base.Median != 11.75 || got.Candidate.Median != 21.75 || got.Base.N != 10 {
		t.Errorf("medians %v and %v (n=%d), want 11.75 and 21.75 (n=10)", got.Base.Median, got.Candidate.Median, got.Base.N)
	}
	if got.Base.Lo == nil || got.Base.Hi == nil || *got.Base.Lo > 11.75 || *got.Base.Hi < 11.75 || *got.Base.Lo < 9.5 || *got.Base.Hi > 14 {
		t.Errorf("base interval %v..%v, want a finite interval around 11.75 within the sample", got.Base.Lo, got.Base.Hi)
	}
	if got.Delta != 10 || got.DeltaPct == nil || math.Abs(*got.DeltaPct-100*10/11.75) > 1e-9 {
		t.Errorf("delta %v (%v%%), want 10 (%.2f%%)", got.Delta, got.DeltaPct, 100*10/11.75)
	}
	if !slices.IsSorted(got.Base.Values) {
		t.Errorf("base values %v not sorted", got.Base.Values)
	}
	small := judge(metric(t, "hold_p99"), []float64{1, 2, 3, 4, 5}, []float64{1, 2, 3, 4, 5}, o)
	if small.Base.Lo != nil || !slices.Contains(small.Base.Warnings, "need >= 6 samples for confidence interval at level 0.95") {
		t.Errorf("five samples: interval %v, warnings %q; want none, and benchstat's warning", small.Base.Lo, small.Base.Warnings)
	}
	zero := judge(metric(t, "lost_holds"), []float64{0, 0, 0, 0}, []float64{3, 4, 5, 6}, o)
	if zero.Change != Worse || zero.DeltaPct != nil || zero.Delta != 4.5 {
		t.Errorf("from a zero base: %s, delta %v, pct %v; want worse by 4.5 with no percentage", zero.Change, zero.Delta, zero.DeltaPct)
	}
}

func TestMinP(t *testing.T) {
	// The U test's smallest p-values for n a side, as benchmath tabulates them.
	for n, want := range map[int]float64{1: 1, 2: 1.0 / 3, 3: 0.1, 4: 0.02857142857142857, 5: 0.007936507936507936} {
		if got := minP(n, n); math.Abs(got-want) > 1e-12 {
			t.Errorf("minP(%d, %d) = %v, want %v", n, n, got, want)
		}
	}
	if got := minP(1, 10); math.Abs(got-2.0/11) > 1e-12 {
		t.Errorf("minP(1, 10) = %v, want 2/11", got)
	}
	for alpha, want := range map[float64]int{0.05: 4, 0.01: 5, 0.1: 3} {
		if got := samplesNeeded(alpha); got != want {
			t.Errorf("samplesNeeded(%v) = %d, want %d", alpha, got, want)
		}
	}
}
