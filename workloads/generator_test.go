package workloads

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"stampede/history"
)

// slowishServer answers every request after d: a fast target, but one whose answers a
// driver with too few connections cannot keep up with.
func slowishServer(tb testing.TB, d time.Duration) *httptest.Server {
	tb.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(d)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{}`))
	}))
	tb.Cleanup(srv.Close)
	return srv
}

// herdOf200 is 200 one-page browsers arriving over a second, each request within timeout, with
// an SLO of no errors.
func herdOf200(tb testing.TB, timeout string) *Scenario {
	tb.Helper()
	sc, err := Parse("herd.yaml", []byte(`name: herd
inventory: {sections: 1, rows: 1, seats_per_row: 5}
arrivals: {profile: constant, rate: 200/s, users: 200}
users: [{flow: browse, pages: 1}]
request_timeout: `+timeout+`
slo: {error_rate: 0%}
`))
	if err != nil {
		tb.Fatal(err)
	}
	return sc
}

// TestGeneratorBound runs a herd of one-page browsers against a target that answers in 20ms,
// with one connection (the driver can send 50 requests a second for 200 arriving) and with
// plenty, and checks that the driver blames itself in the first case only: in the summary,
// its SLO results and metrics.jsonl.
func TestGeneratorBound(t *testing.T) {
	srv := slowishServer(t, 20*time.Millisecond)
	tests := []struct {
		name     string
		maxConns int
		bound    bool
	}{
		{"one connection", 1, true},
		{"plenty of connections", 256, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := herdOf200(t, "400ms")
			var metrics bytes.Buffer
			// A generous lag bound: on a busy machine the plentiful case must not be flagged for
			// the scheduler's hiccups; the starved one is flagged by its slots either way.
			sum, err := Run(context.Background(), Config{Scenario: sc, Target: srv.URL, MaxConns: tt.maxConns,
				Metrics: &metrics, Saturation: Saturation{MaxLagP99: time.Second}})
			if err != nil {
				t.Fatal(err)
			}
			var text bytes.Buffer
			if err := sum.WriteText(&text); err != nil {
				t.Fatal(err)
			}
			if sum.GeneratorBound != tt.bound {
				t.Fatalf("GeneratorBound = %v (reasons %q), want %v\n%s", sum.GeneratorBound, sum.GeneratorReasons, tt.bound, text.String())
			}
			g := sum.Generator
			if g.MaxConns != tt.maxConns {
				t.Errorf("Generator.MaxConns = %d, want %d", g.MaxConns, tt.maxConns)
			}
			browse := sum.Ops["browse"]
			if browse == nil {
				t.Fatalf("no browse requests: %+v", sum.Ops)
			}
			if !tt.bound {
				if g.SlotStarved != 0 || len(sum.GeneratorReasons) != 0 {
					t.Errorf("with plenty of connections: %d starved, reasons %q", g.SlotStarved, sum.GeneratorReasons)
				}
				return
			}
			if len(sum.GeneratorReasons) == 0 || !strings.Contains(strings.Join(sum.GeneratorReasons, ";"), "one of its 1 connection slots") {
				t.Errorf("GeneratorReasons = %q, want the connection slots named with their number", sum.GeneratorReasons)
			}
			if g.SlotWaits == 0 || g.SlotWait.Max == 0 || g.SlotWaitSeconds == 0 || browse.SlotWaits == 0 {
				t.Errorf("generator %+v, browse %+v: want slot waits counted and timed", g, browse)
			}
			// The target stayed fast: the time was lost in the driver.
			if browse.Actual.P50 > 200*time.Millisecond || browse.Intended.P99 <= browse.Actual.P99 {
				t.Errorf("browse actual p50 %s, p99 %s, intended p99 %s: want a fast target and the driver's wait on top",
					browse.Actual.P50, browse.Actual.P99, browse.Intended.P99)
			}
			if len(sum.SLO) != 1 || sum.SLO[0].Pass || !sum.SLO[0].Untrusted {
				t.Errorf("SLO results %+v, want the error rate failed and marked untrusted", sum.SLO)
			}
			if !strings.Contains(text.String(), "GENERATOR-BOUND") || !strings.Contains(text.String(), "not trustworthy") {
				t.Errorf("WriteText does not warn of the generator:\n%s", text.String())
			}
			var waits int64
			sc2 := bufio.NewScanner(&metrics)
			for sc2.Scan() {
				var l MetricsLine
				if err := json.Unmarshal(sc2.Bytes(), &l); err != nil {
					t.Fatalf("metrics line %q: %v", sc2.Text(), err)
				}
				waits += l.SlotWaits
			}
			if waits != g.SlotWaits {
				t.Errorf("metrics.jsonl counts %d slot waits, the summary %d", waits, g.SlotWaits)
			}
		})
	}
}

func TestJudgeGenerator(t *testing.T) {
	tests := []struct {
		name string
		sum  Summary
		want []string // one substring per reason, in order
	}{
		{"keeping up", Summary{Requests: 1000, Generator: GeneratorStats{Lag: Latency{P99: 5 * time.Millisecond}, SlotWaits: 10}}, nil},
		{"late", Summary{Requests: 1000, Generator: GeneratorStats{LagIdle: Latency{P99: 300 * time.Millisecond}}},
			[]string{"lag p99 300ms over 100ms with connection slots free: the driver began its requests late"}},
		{"late on a crowded machine", Summary{Requests: 1000, Generator: GeneratorStats{LagIdle: Latency{P99: 300 * time.Millisecond},
			CPU: CPUUse{Measured: true, Cores: 2, Mean: 0.11, Max: 0.3, Seconds: 60}}},
			[]string{"while its process used 0.11 of its 2 cores on average: other processes on its machine"}},
		{"late only behind full slots", Summary{Requests: 1000, Generator: GeneratorStats{Lag: Latency{P99: 300 * time.Millisecond},
			LagIdle: Latency{P99: 5 * time.Millisecond}}}, nil},
		{"slots", Summary{Requests: 1000, Generator: GeneratorStats{SlotWaits: 40, SlotStarved: 20, MaxConns: 8}},
			[]string{"6.0% of requests waited for one of its 8 connection slots (over 5%; p99 wait 0s), 20 never got one"}},
		{"slots behind a slowed target", Summary{Requests: 1000, Generator: GeneratorStats{SlotWaits: 400, SlotStarved: 20, MaxConns: 8,
			TargetSlowdown: 0.9, TargetSlowed: true}}, nil},
		{"dropped", Summary{Requests: 10, Dropped: 3}, []string{"3 arrivals dropped: 100 users were already running"}},
		{"cpu", Summary{Requests: 10, Generator: GeneratorStats{CPU: CPUUse{Measured: true, Cores: 2, Max: 2, Seconds: 8, Busy: 4}}},
			[]string{"90% or more of its 2 cores in 4 of 8 seconds"}},
		{"cpu busy for a moment only", Summary{Requests: 10, Generator: GeneratorStats{CPU: CPUUse{Measured: true, Cores: 2, Max: 2, Seconds: 40, Busy: 4}}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bound, reasons := judgeGenerator(&tt.sum, Saturation{}, 100)
			if bound != (len(tt.want) > 0) || len(reasons) != len(tt.want) {
				t.Fatalf("judgeGenerator = %v, %q; want reasons %q", bound, reasons, tt.want)
			}
			for i, w := range tt.want {
				if !strings.Contains(reasons[i], w) {
					t.Errorf("reason %d = %q, want it to say %q", i, reasons[i], w)
				}
			}
		})
	}
}

// TestStreamsOutsideTheConnectionSlots holds a waiting-room stream open on a client with one
// connection slot and checks that an ordinary request still goes at once, and that the stream
// counts as a stream, not as a request in flight.
func TestStreamsOutsideTheConnectionSlots(t *testing.T) {
	release := make(chan struct{})
	opened := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("POST /events/{id}/queue", func(w http.ResponseWriter, r *http.Request) {
		stubJSON(w, 201, map[string]any{"ticket": "t1", "position": 1, "length": 1})
	})
	mux.HandleFunc("GET /queue/{ticket}/stream", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(200)
		fmt.Fprint(w, "event: position\ndata: {\"position\":1}\n\n")
		w.(http.Flusher).Flush()
		close(opened)
		<-release
		fmt.Fprint(w, "event: admitted\ndata: {\"admitted\":true,\"admission_token\":\"tok\"}\n\n")
	})
	mux.HandleFunc("GET /events", func(w http.ResponseWriter, r *http.Request) { stubJSON(w, 200, map[string]any{}) })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	c := testClient(t, srv.URL, 5*time.Second)
	c.stream = &http.Client{Transport: NewTransport(0)}
	c.slots = make(chan struct{}, 1)

	var wg sync.WaitGroup
	var token string
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, token = c.join(context.Background(), &caller{index: 1, session: "s1"}, "e", 5*time.Second)
	}()
	<-opened
	if n, m := c.streams.Load(), c.inFlight.Load(); n != 1 || m != 0 {
		t.Errorf("with a stream open: %d streams, %d requests in flight; want 1 and 0", n, m)
	}
	who := &caller{index: 2, session: "s2"}
	rec := c.page(context.Background(), who, "e", Page{Kind: PageList})
	close(release)
	wg.Wait()
	if rec.Type != history.Ok || who.last.slotWait != 0 {
		t.Errorf("a page while a stream was open = %s after a slot wait of %s, want ok at once", rec.Type, who.last.slotWait)
	}
	if token != "tok" {
		t.Errorf("join = token %q, want tok", token)
	}
}

// saturatedServer answers one request at a time, each after d: a target whose time in flight
// grows with what it is asked (requests queue in it), as a saturated server's does.
func saturatedServer(tb testing.TB, d time.Duration) *httptest.Server {
	tb.Helper()
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		time.Sleep(d)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{}`))
	}))
	tb.Cleanup(srv.Close)
	return srv
}

// TestSlotWaitsAttributed runs the same herd against a target that slows as requests queue in
// it and against one that stays fast but is reached through one connection slot, and checks
// who is charged with the slot waits in each: the target in the first (the run is not
// generator-bound, its SLO verdict is trusted, the limit is the target and the waits are not
// the generator's cost), the generator in the second.
func TestSlotWaitsAttributed(t *testing.T) {
	tests := []struct {
		name     string
		srv      *httptest.Server
		maxConns int
		target   bool // the slot waits are the target's
	}{
		// 200 arrivals in a second against at most 100 answers a second, 16 at a time: the 16
		// slots are held by requests queued in the target, in flight about 16 times its
		// unloaded time (the first request's, which also dialled).
		{"a saturated target", saturatedServer(t, 10*time.Millisecond), 16, true},
		// Answers in 20 ms whatever the load: 50 a second through one slot for 200 arriving.
		{"a fast target through one slot", slowishServer(t, 20*time.Millisecond), 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := herdOf200(t, "30s")
			// A generous lag bound, as in TestGeneratorBound: the verdict under test is the slots'.
			sum, err := Run(context.Background(), Config{Scenario: sc, Target: tt.srv.URL, MaxConns: tt.maxConns,
				ServerMetrics: "-", Saturation: Saturation{MaxLagP99: time.Second}})
			if err != nil {
				t.Fatal(err)
			}
			g, a := sum.Generator, sum.Attribution
			var text bytes.Buffer
			if err := sum.WriteText(&text); err != nil {
				t.Fatal(err)
			}
			// Both herds wait for slots: what differs is whose the waits are.
			if share := float64(g.SlotWaits+g.SlotStarved) / float64(sum.Requests); share <= DefaultMaxSlotShare {
				t.Fatalf("%.1f%% of requests waited for a slot, want more than %.0f%%: the herd must queue at the driver\n%s",
					share*100, DefaultMaxSlotShare*100, text.String())
			}
			if g.TargetSlowed != tt.target {
				t.Fatalf("TargetSlowed = %v (slowdown %.2f), want %v\n%s", g.TargetSlowed, g.TargetSlowdown, tt.target, text.String())
			}
			var genCost float64
			for _, c := range a.Costs {
				if c.Resource == ResourceGenerator {
					genCost = c.Seconds
				}
			}
			if tt.target {
				if sum.GeneratorBound || len(sum.SLO) != 1 || !sum.SLO[0].Pass || sum.SLO[0].Untrusted {
					t.Errorf("bound %v (%q), SLO %+v: want not generator-bound and a trusted, passing SLO", sum.GeneratorBound, sum.GeneratorReasons, sum.SLO)
				}
				if a.Limit != ResourceTarget || g.SlotWaitTargetSeconds <= 0 || g.SlotWaitTargetSeconds > g.SlotWaitSeconds ||
					genCost > g.LagSeconds+g.SlotWaitSeconds-g.SlotWaitTargetSeconds+0.01 {
					t.Errorf("limit %q, slot waits %.3fs of which the target's %.3fs, generator cost %.3fs: want the target named and its waits off the generator's cost",
						a.Limit, g.SlotWaitSeconds, g.SlotWaitTargetSeconds, genCost)
				}
				if !strings.Contains(strings.Join(a.Notes, ";"), "counted as the target's") || !strings.Contains(text.String(), "counted as the target's") {
					t.Errorf("notes %q, want one saying the slot waits were counted as the target's, in the text too:\n%s", a.Notes, text.String())
				}
				return
			}
			if !sum.GeneratorBound || a.Limit != ResourceGenerator || g.SlotWaitTargetSeconds != 0 {
				t.Errorf("bound %v, limit %q, target's slot waits %.3fs: want generator-bound, the generator named, no waits the target's",
					sum.GeneratorBound, a.Limit, g.SlotWaitTargetSeconds)
			}
			if !strings.Contains(strings.Join(sum.GeneratorReasons, ";"), "one of its 1 connection slots") {
				t.Errorf("GeneratorReasons = %q, want the connection slots named", sum.GeneratorReasons)
			}
		})
	}
}
