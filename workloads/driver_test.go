package workloads

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"stampede/history"
)

// browseScenario is a herd of one-page browsers: one request per user, so the request rate is
// the arrival rate.
func browseScenario(tb testing.TB, arrivals string) *Scenario {
	tb.Helper()
	src := fmt.Sprintf(`name: rates
inventory: {sections: 1, rows: 1, seats_per_row: 5}
arrivals: %s
users: [{flow: browse, pages: 1}]
request_timeout: 30s
`, arrivals)
	sc, err := Parse("rates.yaml", []byte(src))
	if err != nil {
		tb.Fatalf("Parse: %v", err)
	}
	return sc
}

// okServer answers every request at once with an empty JSON object.
func okServer(tb testing.TB) (*httptest.Server, *atomic.Int64) {
	tb.Helper()
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{}`))
	}))
	tb.Cleanup(srv.Close)
	return srv, &hits
}

// callTimes runs the scenario and returns the call times of its requests, as offsets from
// the start of the arrivals.
func callTimes(tb testing.TB, sc *Scenario, target string) ([]time.Duration, *Summary) {
	tb.Helper()
	var mu sync.Mutex
	var calls []int64
	d, err := New(Config{Scenario: sc, Target: target, OnRecord: func(r *history.Record) {
		mu.Lock()
		calls = append(calls, r.Call)
		mu.Unlock()
	}})
	if err != nil {
		tb.Fatal(err)
	}
	sum, err := d.Run(context.Background())
	if err != nil {
		tb.Fatalf("Run: %v", err)
	}
	began, _ := d.Began()
	out := make([]time.Duration, len(calls))
	for i, c := range calls {
		out[i] = time.Duration(c) - began
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, sum
}

func countIn(ts []time.Duration, from, to time.Duration) int {
	n := 0
	for _, t := range ts {
		if t >= from && t < to {
			n++
		}
	}
	return n
}

// TestArrivalRates runs each profile shape for a second or two against a fast local endpoint
// and checks the requests sent in each stretch against the profile, within 5%.
func TestArrivalRates(t *testing.T) {
	srv, _ := okServer(t)
	// Under the race detector every request costs several times more; a quarter of the rate
	// keeps the driver, the endpoint and the detector within two cores.
	scale := 1.0
	if raceEnabled {
		scale = 0.25
	}
	r := func(perSecond float64) string { return fmt.Sprintf("%g/s", perSecond*scale) }
	n := func(count float64) int { return int(count * scale) }
	type window struct {
		from, to time.Duration
		want     int
	}
	tests := []struct {
		name     string
		arrivals string
		users    int
		windows  []window
	}{
		{"constant 500/s for 2s", "{profile: constant, rate: " + r(500) + ", duration: 2s}", n(1000),
			[]window{{0, time.Second, n(500)}, {time.Second, 2 * time.Second, n(500)}}},
		// 200 -> 600/s over 2 s (300 then 500), then 600/s for 1 s.
		{"ramp 200 to 600/s over 2s", "{profile: ramp, start_rate: " + r(200) + ", rate: " + r(600) + ", ramp: 2s, hold: 1s}", n(1400),
			[]window{{0, time.Second, n(300)}, {time.Second, 2 * time.Second, n(500)}, {2 * time.Second, 3 * time.Second, n(600)}}},
		{"steps 200/s then 800/s", "{profile: steps, steps: [{rate: " + r(200) + ", for: 1s}, {rate: " + r(800) + ", for: 1s}]}", n(1000),
			[]window{{0, time.Second, n(200)}, {time.Second, 2 * time.Second, n(800)}}},
		// Baseline 100/s, up to 700/s over 1 s (400), 700/s for 1 s (700), down over 1 s (400).
		{"spike 100 to 700/s", "{profile: spike, rate: " + r(100) + ", peak_rate: " + r(700) + ", ramp: 1s, hold: 1s}", n(1500),
			[]window{{0, time.Second, n(400)}, {time.Second, 2 * time.Second, n(700)}, {2 * time.Second, 3 * time.Second, n(400)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A run is judged only when the machine let the driver keep its schedule: a user
			// started more than 100ms late says nothing about the profile. Up to three tries.
			var lags []time.Duration
			for try := 0; try < 3; try++ {
				ts, sum := callTimes(t, browseScenario(t, tt.arrivals), srv.URL)
				if len(ts) != tt.users || sum.Arrived != int64(tt.users) {
					t.Fatalf("%d requests, %d arrived; want %d of each", len(ts), sum.Arrived, tt.users)
				}
				if sum.MaxLag > 100*time.Millisecond {
					lags = append(lags, sum.MaxLag)
					continue
				}
				for _, w := range tt.windows {
					got := countIn(ts, w.from, w.to)
					if diff := float64(got-w.want) / float64(w.want); diff > 0.05 || diff < -0.05 {
						t.Errorf("requests in [%s, %s) = %d, want %d within 5%%", w.from, w.to, got, w.want)
					}
				}
				return
			}
			t.Skipf("machine too busy to judge rates: users started up to %v late in three runs", lags)
		})
	}
}

func readHistory(tb testing.TB, path string) []history.Record {
	tb.Helper()
	recs, err := history.ReadFile(path)
	if err != nil {
		tb.Fatalf("read history: %v", err)
	}
	if len(recs) == 0 || recs[0].Op != history.KindHeader {
		tb.Fatalf("history does not start with a header: %+v", recs)
	}
	return recs
}

// TestBuyFlowEndToEnd drives buyers through the waiting room (SSE), holds and checkouts whose
// first attempt answers 503, and checks what the history, the metrics and the summary say.
func TestBuyFlowEndToEnd(t *testing.T) {
	stub, srv := newContractStub(t)
	stub.flakyCheckouts = true
	stub.requireToken = true
	sc, err := Parse("buy.yaml", []byte(`name: buy
seed: 5
inventory: {sections: 1, rows: 2, seats_per_row: 10}
arrivals: {profile: constant, rate: 100/s, users: 40}
users:
  - {flow: buy, weight: 3, seats: {count: [1, 2], choice: random}, pay_after: 10ms..50ms, retry: 2, retry_backoff: 10ms, hold_tries: 3}
  - {flow: buy, weight: 1, seats: {count: 2}, pay_after: 10ms}
  - {flow: bot, weight: 1, seats: {count: 1, choice: zipf, skew: 2}, attempts: 3, interval: 10ms}
waiting_room: {enabled: true, admit_rate: 100/s, timeout: 5s}
request_timeout: 2s
slo: {hold_p99: 5s, error_rate: 50%}
`))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	sum, err := Run(context.Background(), Config{Scenario: sc, Target: srv.URL, OutDir: dir, CreateEvents: true, RunID: "t1", Progress: &bytes.Buffer{}})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := stub.createdEvents(); got != "buy-1" {
		t.Errorf("events created: %q, want buy-1", got)
	}
	recs := readHistory(t, filepath.Join(dir, "history.jsonl"))
	h := recs[0].Header
	if h.Seed != 5 || h.Scenario != "buy" || h.Start != sum.Start.UnixNano() {
		t.Errorf("header %+v does not describe the run", h)
	}
	ops := map[history.Kind]int{}
	keys := map[string][]history.Type{}
	var joins, botHolds, admittedHolds int
	for _, r := range recs[1:] {
		if err := r.Validate(); err != nil {
			t.Fatalf("invalid record %+v: %v", r, err)
		}
		ops[r.Op]++
		switch r.Op {
		case history.OpJoin:
			joins++
			if r.Type != history.Ok {
				t.Errorf("join of client %d = %s (%s), want ok", r.Client, r.Type, r.Out.Error)
			}
		case history.OpHold:
			if r.In.Token == "" {
				botHolds++
				if r.Type != history.Fail || r.Out.Code != "not_admitted" {
					t.Errorf("hold without a token = %s %s, want fail not_admitted", r.Type, r.Out.Code)
				}
			} else {
				admittedHolds++
				if r.Type == history.Ok && (r.Out.HoldID == "" || r.Out.ExpiresAt == 0 || r.Out.TTLMillis != 5000) {
					t.Errorf("ok hold without hold id, expiry or ttl: %+v", r.Out)
				}
			}
		case history.OpCheckout:
			if r.In.Key == "" || r.In.HoldID == "" || !strings.HasPrefix(r.In.Session, "t1-u") {
				t.Errorf("checkout input %+v lacks key, hold or session", r.In)
			}
			keys[r.In.Key] = append(keys[r.In.Key], r.Type)
			if r.Type == history.Ok && (r.Out.BookingID == "" || r.Out.ChargeID == "") {
				t.Errorf("ok checkout without booking or charge: %+v", r.Out)
			}
		}
	}
	if joins == 0 || botHolds == 0 || admittedHolds == 0 || len(keys) == 0 {
		t.Fatalf("flows missing: %d joins, %d bot holds, %d admitted holds, %d checkout keys", joins, botHolds, admittedHolds, len(keys))
	}
	// Every checkout's first attempt got 503 (info) and was retried with the same key.
	for key, types := range keys {
		if len(types) < 2 || types[0] != history.Info || types[1] != history.Ok {
			t.Errorf("checkout key %s: outcomes %v, want info then ok", key, types)
		}
		if n := stub.attemptsOf(key); n != len(types) {
			t.Errorf("key %s reached the server %d times, history has %d", key, n, len(types))
		}
	}
	// The summary agrees with the history.
	var total int64
	for op, o := range sum.Ops {
		if int(o.Requests) != ops[history.Kind(op)] {
			t.Errorf("summary %s requests %d, history %d", op, o.Requests, ops[history.Kind(op)])
		}
		total += o.Requests
		if o.Intended.P99 < o.Actual.P99 {
			t.Errorf("%s intended p99 %s below actual p99 %s", op, o.Intended.P99, o.Actual.P99)
		}
	}
	if total != sum.Requests || sum.HistoryRecords != int64(len(recs)) || sum.Arrived != 40 || sum.Finished != 40 {
		t.Errorf("summary requests %d (ops %d), history records %d (file %d), arrived %d, finished %d",
			sum.Requests, total, sum.HistoryRecords, len(recs), sum.Arrived, sum.Finished)
	}
	if len(sum.SLO) != 2 || !sum.Passed() {
		t.Errorf("SLO results %+v, want two passing", sum.SLO)
	}
	// metrics.jsonl: one line a second, requests adding up to the total.
	f, err := os.Open(filepath.Join(dir, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines, requests int64
	sc2 := bufio.NewScanner(f)
	for sc2.Scan() {
		var l MetricsLine
		if err := json.Unmarshal(sc2.Bytes(), &l); err != nil {
			t.Fatalf("metrics line %q: %v", sc2.Text(), err)
		}
		lines++
		requests += l.Requests
	}
	if lines == 0 || requests != sum.Requests {
		t.Errorf("metrics: %d lines with %d requests, want the summary's %d", lines, requests, sum.Requests)
	}
	var text bytes.Buffer
	if err := sum.WriteText(&text); err != nil || !strings.Contains(text.String(), "checkout") {
		t.Errorf("WriteText: %v\n%s", err, text.String())
	}
}

// TestBestAvailableTakesTheBestFreeBlock checks that best-available buyers read the map and
// hold the best block still free, and that their reads list the seats they looked at.
func TestBestAvailableTakesTheBestFreeBlock(t *testing.T) {
	_, srv := newContractStub(t)
	sc, err := Parse("best.yaml", []byte(`name: best
inventory: {sections: 1, rows: 2, seats_per_row: 10}
arrivals: {profile: constant, rate: 20/s, users: 5}
users: [{flow: buy, seats: {count: 2, choice: best-available}, hold_tries: 1}]
`))
	if err != nil {
		t.Fatal(err)
	}
	var h bytes.Buffer
	hw := history.NewWriter(&h)
	if _, err := Run(context.Background(), Config{Scenario: sc, Target: srv.URL, History: hw}); err != nil {
		t.Fatal(err)
	}
	recs, err := history.ReadAll(&h)
	if err != nil {
		t.Fatal(err)
	}
	var held []string
	for _, r := range recs {
		if r.Op == history.OpHold && r.Type == history.Ok {
			held = append(held, strings.Join(r.In.Seats, "+"))
		}
		if r.Op == history.OpRead && r.Type == history.Ok && len(r.Out.Available) != 2 {
			t.Errorf("read of client %d lists available %v, want the 2 chosen seats", r.Client, r.Out.Available)
		}
	}
	// Arrivals are 50ms apart and each buyer holds at once: the first takes the centre of
	// row 1, the others blocks beside it, all in row 1.
	if len(held) > 0 && held[0] != "A-1-5+A-1-6" {
		t.Errorf("first buyer held %s, want the centre block A-1-5+A-1-6", held[0])
	}
	if len(held) != 5 {
		t.Fatalf("%d holds granted, want 5: %v", len(held), held)
	}
	seen := map[string]bool{}
	for _, b := range held {
		for _, s := range strings.Split(b, "+") {
			if seen[s] {
				t.Errorf("seat %s granted twice: %v", s, held)
			}
			seen[s] = true
			if !strings.HasPrefix(s, "A-1-") {
				t.Errorf("best-available took %s while row 1 had room: %v", s, held)
			}
		}
	}
}

// TestCancelStopsTheRun cancels a run against a server that never answers and checks that Run
// returns promptly with the in-flight requests recorded as info.
func TestCancelStopsTheRun(t *testing.T) {
	release := make(chan struct{})
	var received atomic.Int64 // requests that reached the server: certainly sent
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/metrics" {
			http.NotFound(w, r) // the driver's own reading, before the herd
			return
		}
		received.Add(1)
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	sc := browseScenario(t, "{profile: constant, rate: 100/s, duration: 60s}")
	ctx, cancel := context.WithCancel(context.Background())
	var h bytes.Buffer
	var seen atomic.Int64
	d, err := New(Config{Scenario: sc, Target: srv.URL, History: history.NewWriter(&h)})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		// Cancel once a few requests are waiting in the server (counted in flight is not
		// enough: a request still waiting for a connection is never sent, and is a fail).
		for received.Load() < 5 {
			time.Sleep(5 * time.Millisecond)
		}
		seen.Store(received.Load())
		cancel()
	}()
	sum, err := d.Run(ctx)
	if err == nil || !strings.Contains(err.Error(), "context canceled") {
		t.Fatalf("Run after cancel returned %v, want context canceled", err)
	}
	if !sum.Interrupted || sum.Arrived >= 6000 || sum.Outcomes.Info < seen.Load() {
		t.Errorf("summary after cancel: interrupted %v, arrived %d, info %d (in flight at cancel %d)",
			sum.Interrupted, sum.Arrived, sum.Outcomes.Info, seen.Load())
	}
	recs, err := history.ReadAll(&h)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(recs)-1) != sum.Requests {
		t.Errorf("history has %d operations, summary %d", len(recs)-1, sum.Requests)
	}
	// Requests the server had received are info (they may have taken effect); one cancelled
	// before it was sent is a fail with no answer; none is ok.
	for _, r := range recs[1:] {
		if r.Type == history.Ok || (r.Type == history.Fail && r.Out.Status != 0) {
			t.Errorf("cancelled request recorded as %s (status %d), want info, or fail when never sent", r.Type, r.Out.Status)
		}
	}
}

// TestShardedRunsCoverTheRun runs a herd whole and as three shards and checks that the shards
// together sent exactly the whole run's users, each once.
func TestShardedRunsCoverTheRun(t *testing.T) {
	srv, _ := okServer(t)
	sc := browseScenario(t, "{profile: constant, rate: 1000/s, users: 300}")
	clients := func(sh Shard) map[int]int {
		var h bytes.Buffer
		if _, err := Run(context.Background(), Config{Scenario: sc, Target: srv.URL, Shard: sh, History: history.NewWriter(&h)}); err != nil {
			t.Fatal(err)
		}
		recs, err := history.ReadAll(&h)
		if err != nil {
			t.Fatal(err)
		}
		if got := recs[0].Header.Shard; got != sh.String() {
			t.Errorf("header shard %q, want %q", got, sh.String())
		}
		out := map[int]int{}
		for _, r := range recs[1:] {
			out[r.Client]++
		}
		return out
	}
	whole := clients(Shard{})
	union := map[int]int{}
	for k := 0; k < 3; k++ {
		for c, n := range clients(Shard{Index: k, Count: 3}) {
			if c%3 != k {
				t.Errorf("shard %d/3 ran user %d", k, c)
			}
			union[c] += n
		}
	}
	if len(whole) != 300 || len(union) != 300 {
		t.Fatalf("whole run %d users, shards %d users; want 300", len(whole), len(union))
	}
	for c, n := range whole {
		if union[c] != n {
			t.Errorf("user %d: %d requests whole, %d in the shards", c, n, union[c])
		}
	}
}

func TestAnnotate(t *testing.T) {
	srv, _ := okServer(t)
	sc := browseScenario(t, "{profile: constant, rate: 100/s, users: 5}")
	var h bytes.Buffer
	d, err := New(Config{Scenario: sc, Target: srv.URL, History: history.NewWriter(&h)})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Annotate(&history.Record{Op: history.OpHold, Type: history.Ok}); err == nil {
		t.Error("Annotate accepted a client operation")
	}
	now := d.Clock().Now()
	if err := d.Annotate(&history.Record{Op: history.KindFaultStart, Call: now, Ret: now, Type: history.Info,
		In: history.Input{Fault: "redis-restart"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	recs, err := history.ReadAll(&h)
	if err != nil {
		t.Fatal(err)
	}
	if recs[0].Op != history.KindHeader || recs[1].Op != history.KindFaultStart {
		t.Errorf("history starts with %s, %s; want the header, then the fault written before Run", recs[0].Op, recs[1].Op)
	}
	found := false
	for _, r := range recs {
		if r.Op == history.KindFaultStart && r.Client == -1 && r.In.Fault == "redis-restart" {
			found = true
		}
	}
	if !found {
		t.Errorf("fault record not in the history: %+v", recs)
	}
}

func TestConfigErrors(t *testing.T) {
	sc := browseScenario(t, "{profile: constant, rate: 100/s, users: 5}")
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no scenario", Config{Target: "http://x"}, "no scenario"},
		{"no target", Config{Scenario: sc}, "no target"},
		{"bad target", Config{Scenario: sc, Target: "ftp://x"}, "not an http"},
		{"bad shard", Config{Scenario: sc, Target: "http://x", Shard: Shard{Index: 3, Count: 2}}, "index must be"},
		{"pacer without users", Config{Scenario: sc, Target: "http://x", Pacer: PacerFunc(func(uint64) (time.Duration, bool) { return 0, true })}, "Users > 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New() error %v, want %q", err, tt.want)
			}
		})
	}
}

func TestProgressQuietWhenNotATerminal(t *testing.T) {
	if interactive(&bytes.Buffer{}) {
		t.Error("a buffer counts as a terminal")
	}
	t.Setenv("CI", "true")
	if interactive(os.Stdout) {
		t.Error("progress shown under CI=true")
	}
}
