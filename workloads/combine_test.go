package workloads

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// shardSummary is the summary of a shard whose holds took the given latencies, through JSON as
// drive-summary.json carries it.
func shardSummary(t *testing.T, shard string, holds []time.Duration) *Summary {
	t.Helper()
	st := newOpStats()
	for _, d := range holds {
		us := d.Microseconds()
		_ = st.intended.RecordValue(us)
		_ = st.actual.RecordValue(us)
		_ = st.delays.lag.RecordValue(0)
		_ = st.delays.slot.RecordValue(0)
		st.ok++
	}
	n := int64(len(holds))
	s := &Summary{Scenario: "c", Seed: 3, Shard: shard, RunID: "r" + shard, Users: int(n), Arrived: n, Finished: n,
		Flows: map[string]int64{"buy": n}, Requests: n, Outcomes: Outcomes{Ok: n}, Elapsed: time.Second,
		Ops:        map[string]*OpSummary{"hold": {Requests: n, Outcomes: Outcomes{Ok: n}, Intended: latencyOf(st.intended), Actual: latencyOf(st.actual)}},
		Histograms: &Histograms{Ops: map[string]OpHistograms{"hold": encodeOp(st)}, ArrivalLag: encodeHist(newHist())},
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var back Summary
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	return &back
}

func repeat(d time.Duration, n int) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = d
	}
	return out
}

// TestCombineJudgesOverEverySample: the p99 of the whole herd comes from every shard's samples.
// Shard 0 has 2 slow holds in 100 (its own p99 is the slow one), shard 1 none: over the 200
// holds, 1% are slow and the p99 is the fast one, so the SLO holds, which neither the largest
// nor the mean of the shards' p99s would say.
func TestCombineJudgesOverEverySample(t *testing.T) {
	sc := &Scenario{Name: "c", SLO: SLO{HoldP99: 100 * time.Millisecond}}
	a := shardSummary(t, "0/2", append(repeat(10*time.Millisecond, 98), repeat(time.Second, 2)...))
	b := shardSummary(t, "1/2", repeat(10*time.Millisecond, 100))
	if a.Ops["hold"].Intended.P99 < time.Second-10*time.Millisecond {
		t.Fatalf("shard 0/2 alone: hold p99 %s, want about 1s", a.Ops["hold"].Intended.P99)
	}
	sum, err := Combine(sc, a, b)
	if err != nil {
		t.Fatalf("Combine: %v", err)
	}
	hold := sum.Ops["hold"]
	if hold.Requests != 200 || sum.Requests != 200 || sum.Outcomes.Ok != 200 || sum.Users != 200 || sum.Flows["buy"] != 200 {
		t.Errorf("combined counts: hold %d, requests %d, ok %d, users %d, flows %v; want 200 each", hold.Requests, sum.Requests, sum.Outcomes.Ok, sum.Users, sum.Flows)
	}
	if p := hold.Intended.P99; p < 9*time.Millisecond || p > 11*time.Millisecond {
		t.Errorf("combined hold p99 %s, want 10ms: 2 slow holds in 200 are 1%%", p)
	}
	if hold.Intended.Max < time.Second-10*time.Millisecond {
		t.Errorf("combined hold max %s, want about 1s", hold.Intended.Max)
	}
	if len(sum.SLO) != 1 || !sum.SLO[0].Pass || sum.SLO[0].Name != "hold_p99" {
		t.Errorf("combined SLOs %+v, want hold_p99 holding", sum.SLO)
	}
	if sum.RunID != "r0/2,r1/2" || sum.Shard != "" {
		t.Errorf("combined run id %q shard %q, want both run ids and no shard", sum.RunID, sum.Shard)
	}
	// The combined summary combines again, as the whole herd.
	again, err := Combine(sc, sum)
	if err != nil || again.Ops["hold"].Intended != hold.Intended {
		t.Errorf("Combine of the combined: %+v, %v; want the same latencies %+v", again.Ops["hold"], err, hold.Intended)
	}

	// Three slow holds in 200 are more than 1%: the SLO fails over the whole herd.
	c := shardSummary(t, "1/2", append(repeat(10*time.Millisecond, 99), time.Second))
	if sum, err = Combine(sc, a, c); err != nil {
		t.Fatal(err)
	}
	if sum.SLO[0].Pass {
		t.Errorf("3 slow holds in 200: SLO %+v holds, want it failing", sum.SLO[0])
	}
}

func TestCombineErrors(t *testing.T) {
	sc := &Scenario{Name: "c"}
	a := shardSummary(t, "0/2", repeat(time.Millisecond, 3))
	otherSeed := shardSummary(t, "1/2", repeat(time.Millisecond, 3))
	otherSeed.Seed = 4
	noHist := shardSummary(t, "1/2", repeat(time.Millisecond, 3))
	noHist.Histograms = nil
	broken := shardSummary(t, "1/2", repeat(time.Millisecond, 3))
	broken.Histograms.Ops["hold"] = OpHistograms{Intended: "not base64!"}
	tests := []struct {
		name  string
		parts []*Summary
		want  string
	}{
		{"none", nil, "no summaries"},
		{"other seed", []*Summary{a, otherSeed}, "shard 1/2 is scenario c seed 4"},
		{"twice", []*Summary{a, a}, "shard 0/2 given twice"},
		{"no histograms", []*Summary{a, noHist}, "1/2 has no histograms"},
		{"bad histogram", []*Summary{a, broken}, "hold intended histogram"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Combine(sc, tt.parts...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Combine = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// TestCombineShardsOfAHerd drives a herd whole and as two shards against the same server: the
// combined shards arrive, request and finish exactly as the whole did.
func TestCombineShardsOfAHerd(t *testing.T) {
	srv, _ := okServer(t)
	sc := browseScenario(t, "{profile: constant, rate: 200/s, duration: 1s}")
	whole, err := Run(context.Background(), Config{Scenario: sc, Target: srv.URL, Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	var parts []*Summary
	for i := range 2 {
		p, err := Run(context.Background(), Config{Scenario: sc, Target: srv.URL, Seed: 9, Shard: Shard{Index: i, Count: 2}})
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, p)
	}
	sum, err := Combine(sc, parts...)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Users != whole.Users || sum.Arrived != whole.Arrived || sum.Finished != whole.Finished || sum.Requests != whole.Requests ||
		sum.Outcomes != whole.Outcomes || sum.Flows["browse"] != whole.Flows["browse"] {
		t.Errorf("combined shards: users %d arrived %d finished %d requests %d outcomes %+v flows %v\nwhole: users %d arrived %d finished %d requests %d outcomes %+v flows %v",
			sum.Users, sum.Arrived, sum.Finished, sum.Requests, sum.Outcomes, sum.Flows,
			whole.Users, whole.Arrived, whole.Finished, whole.Requests, whole.Outcomes, whole.Flows)
	}
	if sum.Ops["browse"].Intended.Max < max(parts[0].Ops["browse"].Intended.Max, parts[1].Ops["browse"].Intended.Max) {
		t.Errorf("combined browse max %s below a shard's", sum.Ops["browse"].Intended.Max)
	}
}

// TestMergeMetrics: the shards' lines of one second become one line on the runner's axis, their
// counts added and their percentiles the largest.
func TestMergeMetrics(t *testing.T) {
	zero := time.Unix(1000, 0)
	start := zero.Add(2 * time.Second)
	line := func(unix time.Time, req int64, p99 float64) string {
		b, _ := json.Marshal(MetricsLine{T: 1, Unix: unix.UnixMilli(), Requests: req, Ok: req, Arrived: req,
			Ops: map[string]OpWindow{"hold": {Count: req, Ok: req, P99: p99, P99Intended: p99}}})
		return string(b) + "\n"
	}
	a := line(start.Add(time.Second), 5, 10) + line(start.Add(2*time.Second), 7, 30)
	b := line(start.Add(time.Second+20*time.Millisecond), 3, 20) + line(start.Add(3*time.Second), 1, 5)
	var out bytes.Buffer
	if err := MergeMetrics(&out, zero, start, strings.NewReader(a), strings.NewReader(b)); err != nil {
		t.Fatal(err)
	}
	var got []MetricsLine
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var m MetricsLine
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("merged line %q: %v", l, err)
		}
		got = append(got, m)
	}
	want := []struct {
		t        float64
		requests int64
		p99      float64
	}{{3, 8, 20}, {4, 7, 30}, {5, 1, 5}}
	if len(got) != len(want) {
		t.Fatalf("%d merged lines, want %d:\n%s", len(got), len(want), out.String())
	}
	for i, w := range want {
		g := got[i]
		if g.T != w.t || g.Requests != w.requests || g.Ok != w.requests || g.Arrived != w.requests || g.Ops["hold"].Count != w.requests || g.Ops["hold"].P99 != w.p99 {
			t.Errorf("line %d: t %g requests %d ok %d arrived %d hold %+v; want t %g, %d requests, hold p99 %g", i, g.T, g.Requests, g.Ok, g.Arrived, g.Ops["hold"], w.t, w.requests, w.p99)
		}
	}
	if err := MergeMetrics(&out, zero, start, strings.NewReader("{\n")); err == nil || !strings.Contains(err.Error(), "input 1 line 1") {
		t.Errorf("MergeMetrics of a broken line = %v, want an error naming input 1 line 1", err)
	}
}
