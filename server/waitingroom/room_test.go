package waitingroom

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/redis/go-redis/v9"

	"stampede/infra/local"
	"stampede/internal/testsvc"
	"stampede/server/api"
	"stampede/strategies"
)

// testEnv is a private Redis that several Rooms can share, as several server processes share
// it in production, and the events they read.
type testEnv struct {
	redis  *local.Process
	rdb    *redis.Client
	events *testEvents
}

func newTestEnv(tb testing.TB) *testEnv {
	tb.Helper()
	proc, rdb := testsvc.RedisClient(tb)
	return &testEnv{redis: proc, rdb: rdb, events: &testEvents{m: map[string]strategies.Event{}}}
}

// testEvents is an in-memory event store.
type testEvents struct {
	mu sync.Mutex
	m  map[string]strategies.Event
}

func (s *testEvents) GetEvent(_ context.Context, id string) (strategies.Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ev, ok := s.m[id]
	if !ok {
		return strategies.Event{}, fmt.Errorf("get event %s: %w", id, strategies.ErrEventNotFound)
	}
	return ev, nil
}

// testTable is the server's error table as far as the waiting room's answers go.
var testTable = slices.Concat(api.Common, Errors, api.Unknown)

// testDeps are the server's dependencies as a test gives them: testTable, reg, no logging, the
// real clock.
func testDeps(reg prometheus.Registerer) api.Deps {
	return api.Deps{Table: testTable, Registry: reg, Logger: slog.New(slog.DiscardHandler), Now: time.Now}
}

// testRoom is a Room behind the waiting room's routes, as the server routes them.
type testRoom struct {
	*Room
	mux *http.ServeMux
	reg *prometheus.Registry
}

func (q *testRoom) ServeHTTP(w http.ResponseWriter, r *http.Request) { q.mux.ServeHTTP(w, r) }

// room builds a Room on the environment; tune, when given, adjusts it before use.
func (e *testEnv) room(tb testing.TB, tune func(*Room)) *testRoom {
	tb.Helper()
	reg := prometheus.NewRegistry()
	q, err := New(Config{Deps: testDeps(reg), Redis: e.rdb, KeyPrefix: "t:", Secret: []byte("test-secret"), Events: e.events})
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	if tune != nil {
		tune(q)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /events/{event_id}/queue", q.HandleJoin)
	mux.HandleFunc("GET /queue/{ticket}", q.HandleStatus)
	mux.HandleFunc("GET /queue/{ticket}/stream", q.HandleStream)
	mux.HandleFunc("PUT /admin/events/{event_id}/waiting-room", q.HandleSetRate)
	return &testRoom{Room: q, mux: mux, reg: reg}
}

// event adds an event to the environment's store.
func (e *testEnv) event(tb testing.TB, id string, wr *strategies.WaitingRoom) strategies.Event {
	tb.Helper()
	ev := strategies.Event{ID: id, Name: "Show " + id, Sections: []strategies.Section{{Name: "A", Rows: 1, SeatsPerRow: 4}}, WaitingRoom: wr}
	e.events.mu.Lock()
	e.events.m[id] = ev
	e.events.mu.Unlock()
	return ev
}

// call sends one request to s and decodes a JSON answer into out (when not nil).
func wrCall(tb testing.TB, s *testRoom, method, path, session string, body string, out any) int {
	tb.Helper()
	var r *http.Request
	if body != "" {
		r = httptest.NewRequest(method, path, strings.NewReader(body))
	} else {
		r = httptest.NewRequest(method, path, nil)
	}
	if session != "" {
		r.Header.Set("X-Session-Id", session)
	}
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	if out != nil {
		if err := json.Unmarshal(w.Body.Bytes(), out); err != nil {
			tb.Fatalf("%s %s: decode %q: %v", method, path, w.Body.String(), err)
		}
	}
	return w.Code
}

type wrErrorReply struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field"`
	} `json:"error"`
}

func wrJoin(tb testing.TB, s *testRoom, event, session string) (int, queueStatus) {
	tb.Helper()
	var st queueStatus
	code := wrCall(tb, s, "POST", "/events/"+event+"/queue", session, "", &st)
	return code, st
}

func wrMustJoin(tb testing.TB, s *testRoom, event, session string) queueStatus {
	tb.Helper()
	code, st := wrJoin(tb, s, event, session)
	if code != http.StatusCreated && code != http.StatusOK {
		tb.Fatalf("join %s as %s: status %d", event, session, code)
	}
	return st
}

func wrStatus(tb testing.TB, s *testRoom, ticket, session string) (int, queueStatus, wrErrorReply) {
	tb.Helper()
	r := httptest.NewRequest("GET", "/queue/"+ticket, nil)
	r.Header.Set("X-Session-Id", session)
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	var st queueStatus
	var er wrErrorReply
	if w.Code == http.StatusOK {
		_ = json.Unmarshal(w.Body.Bytes(), &st)
	} else {
		_ = json.Unmarshal(w.Body.Bytes(), &er)
	}
	return w.Code, st, er
}

func TestJoinQueue(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	s := e.room(t, nil)
	e.event(t, "on", &strategies.WaitingRoom{Enabled: true, AdmitPerSecond: 4})
	e.event(t, "off", nil)
	e.event(t, "disabled", &strategies.WaitingRoom{Enabled: false, AdmitPerSecond: 4})

	code, first := wrJoin(t, s, "on", "alice")
	if code != http.StatusCreated || first.Position != 1 || first.Length != 1 || first.Admitted || first.Ticket == "" || first.EventID != "on" {
		t.Fatalf("first join = %d %+v, want 201 position 1 of 1", code, first)
	}
	if first.ETASeconds == nil || *first.ETASeconds != 0.3 || first.AdmitPerSecond != 4 {
		t.Fatalf("first join eta = %v rate %v, want 0.3 s at 4/s", first.ETASeconds, first.AdmitPerSecond)
	}
	code, second := wrJoin(t, s, "on", "bob")
	if code != http.StatusCreated || second.Position != 2 || second.Length != 2 {
		t.Fatalf("second join = %d %+v, want 201 position 2 of 2", code, second)
	}
	code, again := wrJoin(t, s, "on", "alice")
	if code != http.StatusOK || again.Ticket != first.Ticket || again.Position != 1 || again.Length != 2 {
		t.Fatalf("join again = %d %+v, want 200 with the same ticket at position 1 of 2", code, again)
	}

	for _, tc := range []struct {
		name, path, session string
		status              int
		code, field         string
	}{
		{name: "no waiting room", path: "/events/off/queue", session: "alice", status: 409, code: "waiting_room_off"},
		{name: "disabled waiting room", path: "/events/disabled/queue", session: "alice", status: 409, code: "waiting_room_off"},
		{name: "unknown event", path: "/events/nope/queue", session: "alice", status: 404, code: "event_not_found"},
		{name: "no session", path: "/events/on/queue", session: "", status: 400, code: "invalid_request", field: "X-Session-Id"},
		{name: "bad session", path: "/events/on/queue", session: "a b", status: 400, code: "invalid_request", field: "X-Session-Id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var er wrErrorReply
			got := wrCall(t, s, "POST", tc.path, tc.session, "", &er)
			if got != tc.status || er.Error.Code != tc.code || er.Error.Field != tc.field {
				t.Fatalf("POST %s = %d %+v, want %d %s field %q", tc.path, got, er.Error, tc.status, tc.code, tc.field)
			}
		})
	}
}

func TestQueueStatusIsBoundToSession(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	s := e.room(t, nil)
	e.event(t, "ev", &strategies.WaitingRoom{Enabled: true, AdmitPerSecond: 0})
	a := wrMustJoin(t, s, "ev", "alice")
	wrMustJoin(t, s, "ev", "bob")

	code, st, _ := wrStatus(t, s, a.Ticket, "alice")
	if code != 200 || st.Position != 1 || st.Length != 2 || st.Admitted || st.ETASeconds != nil {
		t.Fatalf("status = %d %+v, want position 1 of 2, no eta while paused", code, st)
	}
	forged := strings.Replace(a.Ticket, ".", ".x", 1)
	otherSecret := testSigner(t, "other").ticket(queueTicket{Event: "ev", Session: "alice", Run: "r"})
	for _, tc := range []struct {
		name, ticket, session string
		want                  int
	}{
		{name: "another session", ticket: a.Ticket, session: "bob", want: 404},
		{name: "forged", ticket: forged, session: "alice", want: 404},
		{name: "signed elsewhere", ticket: otherSecret, session: "alice", want: 404},
		{name: "garbage", ticket: "abc", session: "alice", want: 404},
		{name: "no session", ticket: a.Ticket, session: "", want: 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, er := wrStatus(t, s, tc.ticket, tc.session)
			if code != tc.want {
				t.Fatalf("GET /queue/{%s} as %q = %d %+v, want %d", tc.name, tc.session, code, er, tc.want)
			}
			if code == 404 && er.Error.Code != "ticket_not_found" {
				t.Fatalf("code %q, want ticket_not_found", er.Error.Code)
			}
		})
	}
}

// admittedOrder returns the sessions of event's admitted set in admission order (by admission
// time, then by their join order).
func wrWaitingOrder(tb testing.TB, e *testEnv, s *testRoom, event string) []string {
	tb.Helper()
	m, err := e.rdb.ZRange(context.Background(), s.keys(event).q, 0, -1).Result()
	if err != nil {
		tb.Fatalf("read queue: %v", err)
	}
	return m
}

func wrAdmittedSet(tb testing.TB, e *testEnv, s *testRoom, event string) map[string]string {
	tb.Helper()
	m, err := e.rdb.HGetAll(context.Background(), s.keys(event).adm).Result()
	if err != nil {
		tb.Fatalf("read admitted: %v", err)
	}
	return m
}

func TestAdmissionFollowsJoinOrder(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	s := e.room(t, nil)
	e.event(t, "ev", &strategies.WaitingRoom{Enabled: true, AdmitPerSecond: 2000})
	ctx := t.Context()

	// Sequential joins: positions are 1..n in join order.
	for i := range 20 {
		if st := wrMustJoin(t, s, "ev", fmt.Sprintf("seq-%02d", i)); st.Position != int64(i+1) {
			t.Fatalf("join %d: position %d, want %d", i, st.Position, i+1)
		}
	}
	// Concurrent joins: Redis decides their order; each session's answer agrees with it.
	var wg sync.WaitGroup
	positions := make(map[string]int64)
	var mu sync.Mutex
	for w := range 8 {
		wg.Go(func() {
			for i := range 25 {
				sess := fmt.Sprintf("par-%d-%02d", w, i)
				st := wrMustJoin(t, s, "ev", sess)
				mu.Lock()
				positions[sess] = st.Position
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	order := wrWaitingOrder(t, e, s, "ev")
	if len(order) != 220 {
		t.Fatalf("queue holds %d sessions, want 220", len(order))
	}
	for i := range 20 {
		if order[i] != fmt.Sprintf("seq-%02d", i) {
			t.Fatalf("queue[%d] = %s, want seq-%02d", i, order[i], i)
		}
	}
	for sess, pos := range positions {
		// Nobody was admitted yet, so the position a join reported is its place in the order.
		if order[pos-1] != sess {
			t.Fatalf("%s was told position %d, but the queue has %s there", sess, pos, order[pos-1])
		}
	}

	// Admit in steps; after every step the admitted sessions are exactly a prefix of the order.
	admitted := 0
	for admitted < len(order) {
		st, err := s.admitEvent(ctx, "ev")
		if err != nil {
			t.Fatalf("admitEvent: %v", err)
		}
		for i, sess := range st.Sessions {
			if want := order[admitted+i]; sess != want {
				t.Fatalf("admission %d was %s, want %s (join order)", admitted+i, sess, want)
			}
		}
		admitted += len(st.Sessions)
		adm := wrAdmittedSet(t, e, s, "ev")
		if len(adm) != admitted {
			t.Fatalf("admitted set holds %d, want %d", len(adm), admitted)
		}
		for _, sess := range order[:admitted] {
			if _, ok := adm[sess]; !ok {
				t.Fatalf("%s is not admitted after %d admissions", sess, admitted)
			}
		}
		if st.Length != int64(len(order)-admitted) {
			t.Fatalf("length after step = %d, want %d", st.Length, len(order)-admitted)
		}
	}
}

// redisNow is the Redis server's clock, the one admission times are written with.
func wrRedisNow(tb testing.TB, rdb *redis.Client) time.Time {
	tb.Helper()
	t, err := rdb.Time(context.Background()).Result()
	if err != nil {
		tb.Fatalf("TIME: %v", err)
	}
	return t
}

// admissionTimes returns every admission time of event, sorted.
func wrAdmissionTimes(tb testing.TB, e *testEnv, s *testRoom, event string) []int64 {
	tb.Helper()
	var out []int64
	for _, v := range wrAdmittedSet(tb, e, s, event) {
		var ms int64
		if _, err := fmt.Sscan(v, &ms); err != nil {
			tb.Fatalf("admission time %q: %v", v, err)
		}
		out = append(out, ms)
	}
	slices.Sort(out)
	return out
}

// joinMany puts n sessions named prefix-i into event's queue directly through the join script.
func wrJoinMany(tb testing.TB, s *testRoom, event, prefix string, n int, rate float64) {
	tb.Helper()
	for i := range n {
		if _, _, err := s.join(context.Background(), event, fmt.Sprintf("%s-%05d", prefix, i), rate); err != nil {
			tb.Fatalf("join: %v", err)
		}
	}
}

func TestAdmissionRateHolds(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	s := e.room(t, nil)
	const rate = 250.0
	e.event(t, "ev", &strategies.WaitingRoom{Enabled: true, AdmitPerSecond: rate})
	wrJoinMany(t, s, "ev", "u", 1500, rate)
	testsvc.Go(t, s.Run)

	// Measure over at least 2 s of the Redis clock, from the first admission step to the first
	// step 2 s or more later: the sessions admitted after the first step and up to the last are
	// exactly the budget the window refilled.
	const window = 2 * time.Second
	var m wrRateWindow
	for {
		var ok bool
		if m, ok = wrMeasureRate(wrAdmissionTimes(t, e, s, "ev"), window); ok {
			break
		}
		time.Sleep(50 * time.Millisecond) // polling the outcome of a background loop
	}
	if errPct := m.errorPct(rate); errPct < -5 || errPct > 5 {
		t.Fatalf("admitted %d in %v, want %.0f within 5%% (error %.1f%%)", m.n, m.span, rate*m.span.Seconds(), errPct)
	}
	t.Logf("admitted %d in %v at %v/s (%.2f%% off)", m.n, m.span, rate, m.errorPct(rate))
}

// wrRateWindow is a count of admissions over a span between two admission steps.
type wrRateWindow struct {
	n    int
	span time.Duration
}

func (m wrRateWindow) errorPct(rate float64) float64 {
	want := rate * m.span.Seconds()
	return (float64(m.n) - want) / want * 100
}

// wrMeasureRate counts the admissions (sorted times, unix ms) after the first step up to the
// first step at least window later; false until there is such a step. Aligning both ends on
// steps makes the count independent of when the steps happened to run.
func wrMeasureRate(times []int64, window time.Duration) (wrRateWindow, bool) {
	if len(times) == 0 {
		return wrRateWindow{}, false
	}
	t0 := times[0]
	end := int64(-1)
	for _, ms := range times {
		if ms >= t0+window.Milliseconds() {
			end = ms
			break
		}
	}
	if end < 0 {
		return wrRateWindow{}, false
	}
	n := 0
	for _, ms := range times {
		if ms > t0 && ms <= end {
			n++
		}
	}
	return wrRateWindow{n: n, span: time.Duration(end-t0) * time.Millisecond}, true
}

func TestTwoAdmittersDoNotOverAdmit(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	const rate = 400.0
	tune := func(s *Room) { s.burstSeconds = 0.05 }
	a, b := e.room(t, tune), e.room(t, tune)
	e.event(t, "ev", &strategies.WaitingRoom{Enabled: true, AdmitPerSecond: rate})
	wrJoinMany(t, a, "ev", "u", 3000, rate)
	ctx := t.Context()

	// Six admitters (three per server) step as fast as they can for a second: far more steps
	// than any real admitter runs, all racing on one bucket.
	start := wrRedisNow(t, e.rdb)
	deadline := time.Now().Add(time.Second)
	var wg sync.WaitGroup
	var mu sync.Mutex
	seen := map[string]int{}
	for _, s := range []*testRoom{a, b, a, b, a, b} {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				st, err := s.admitEvent(ctx, "ev")
				if err != nil {
					t.Errorf("admitEvent: %v", err)
					return
				}
				mu.Lock()
				for _, sess := range st.Sessions {
					seen[sess]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	elapsed := wrRedisNow(t, e.rdb).Sub(start)
	for sess, n := range seen {
		if n != 1 {
			t.Fatalf("%s admitted %d times", sess, n)
		}
	}
	adm := len(wrAdmittedSet(t, e, a, "ev"))
	if adm != len(seen) {
		t.Fatalf("admitted set %d, admitters reported %d", adm, len(seen))
	}
	// The budget: the rate over the elapsed Redis time, plus the burst cap (the bucket starts
	// empty, so it can only have saved up a burst if steps paused).
	most := rate*elapsed.Seconds() + rate*0.05 + 1
	if float64(adm) > most {
		t.Fatalf("admitted %d in %v at %v/s: over the budget of %.0f", adm, elapsed, rate, most)
	}
	// Admission happened at all (stalls of a busy machine may cost budget here, since the
	// burst cap is tiny; the rate itself is TestAdmissionRateHolds's business).
	if least := 0.5 * rate * elapsed.Seconds(); float64(adm) < least {
		t.Fatalf("admitted %d in %v at %v/s: under %.0f", adm, elapsed, rate, least)
	}
	t.Logf("admitted %d in %v at %v/s (budget %.0f)", adm, elapsed, rate, most)
}

func TestAdmissionRateChangesAtRunTime(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	s := e.room(t, nil)
	e.event(t, "ev", &strategies.WaitingRoom{Enabled: true, AdmitPerSecond: 1000})
	e.event(t, "plain", nil)
	wrJoinMany(t, s, "ev", "u", 50, 1000)
	ctx := t.Context()

	var got strategies.WaitingRoom
	if code := wrCall(t, s, "PUT", "/admin/events/ev/waiting-room", "", `{"admit_per_second": 0}`, &got); code != 200 || got.AdmitPerSecond != 0 || !got.Enabled {
		t.Fatalf("PUT rate 0 = %d %+v", code, got)
	}
	// Paused: however much time passes, a step admits nobody.
	for range 3 {
		st, err := s.admitEvent(ctx, "ev")
		if err != nil || len(st.Sessions) != 0 || st.Rate != 0 {
			t.Fatalf("admitEvent while paused = %+v, %v; want nobody at rate 0", st, err)
		}
		time.Sleep(20 * time.Millisecond) // let the clock move: a paused bucket must not refill
	}
	if code := wrCall(t, s, "PUT", "/admin/events/ev/waiting-room", "", `{"admit_per_second": 100}`, &got); code != 200 || got.AdmitPerSecond != 100 {
		t.Fatalf("PUT rate 100 = %d %+v", code, got)
	}
	// A join after the change keeps the changed rate (the configured one does not override it).
	if st := wrMustJoin(t, s, "ev", "late"); st.AdmitPerSecond != 100 {
		t.Fatalf("rate after a join = %v, want 100", st.AdmitPerSecond)
	}
	time.Sleep(50 * time.Millisecond) // five sessions' worth of budget at 100/s
	st, err := s.admitEvent(ctx, "ev")
	if err != nil || len(st.Sessions) == 0 || st.Rate != 100 {
		t.Fatalf("admitEvent at 100/s = %+v, %v; want some admitted", st, err)
	}

	for _, tc := range []struct {
		name, path, body string
		status           int
		code, field      string
	}{
		{name: "negative", path: "/admin/events/ev/waiting-room", body: `{"admit_per_second": -1}`, status: 400, code: "invalid_request", field: "admit_per_second"},
		{name: "too high", path: "/admin/events/ev/waiting-room", body: `{"admit_per_second": 1e9}`, status: 400, code: "invalid_request", field: "admit_per_second"},
		{name: "missing", path: "/admin/events/ev/waiting-room", body: `{}`, status: 400, code: "invalid_request", field: "admit_per_second"},
		{name: "wrong type", path: "/admin/events/ev/waiting-room", body: `{"admit_per_second": "fast"}`, status: 400, code: "invalid_request", field: "admit_per_second"},
		{name: "not json", path: "/admin/events/ev/waiting-room", body: `{`, status: 400, code: "invalid_request"},
		{name: "unknown event", path: "/admin/events/nope/waiting-room", body: `{"admit_per_second": 1}`, status: 404, code: "event_not_found"},
		{name: "no waiting room", path: "/admin/events/plain/waiting-room", body: `{"admit_per_second": 1}`, status: 409, code: "waiting_room_off"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var er wrErrorReply
			code := wrCall(t, s, "PUT", tc.path, "", tc.body, &er)
			if code != tc.status || er.Error.Code != tc.code || er.Error.Field != tc.field {
				t.Fatalf("PUT %s %s = %d %+v, want %d %s field %q", tc.path, tc.body, code, er.Error, tc.status, tc.code, tc.field)
			}
		})
	}
}

func TestAdmittedSessionGetsWorkingToken(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	s := e.room(t, func(s *Room) { s.tokenTTL = time.Minute })
	ev := e.event(t, "ev", &strategies.WaitingRoom{Enabled: true, AdmitPerSecond: 1000})
	other := e.event(t, "other", &strategies.WaitingRoom{Enabled: true, AdmitPerSecond: 1000})
	a := wrMustJoin(t, s, "ev", "alice")
	time.Sleep(5 * time.Millisecond) // a few sessions' worth of budget at 1000/s
	if _, err := s.admitEvent(t.Context(), "ev"); err != nil {
		t.Fatalf("admitEvent: %v", err)
	}
	code, st, er := wrStatus(t, s, a.Ticket, "alice")
	if code != 200 || !st.Admitted || st.Position != 0 || st.AdmissionToken == "" || st.AdmissionExpiresAt == nil {
		t.Fatalf("status after admission = %d %+v %+v, want admitted with a token", code, st, er)
	}
	if err := s.CheckAdmission(t.Context(), ev, "alice", st.AdmissionToken); err != nil {
		t.Fatalf("CheckAdmission with the issued token: %v", err)
	}
	if err := s.CheckAdmission(t.Context(), ev, "mallory", st.AdmissionToken); !errors.Is(err, errTokenOtherSession) {
		t.Fatalf("token reused by another session: %v, want errTokenOtherSession", err)
	}
	if err := s.CheckAdmission(t.Context(), other, "alice", st.AdmissionToken); !errors.Is(err, errTokenOtherEvent) {
		t.Fatalf("token reused for another event: %v, want errTokenOtherEvent", err)
	}
	// Joining again while admitted returns the same admission; another server with the same
	// secret hands out the same token.
	code, again := wrJoin(t, s, "ev", "alice")
	if code != 200 || !again.Admitted || again.AdmissionToken != st.AdmissionToken {
		t.Fatalf("join after admission = %d %+v, want 200 with the same token", code, again)
	}
	_, st2, _ := wrStatus(t, e.room(t, func(s *Room) { s.tokenTTL = time.Minute }), a.Ticket, "alice")
	if st2.AdmissionToken != st.AdmissionToken {
		t.Fatalf("a second server issued %q, want the same token %q", st2.AdmissionToken, st.AdmissionToken)
	}
	// Once the admission has expired the ticket is done and a new join queues again.
	s.tokenTTL = time.Millisecond
	time.Sleep(5 * time.Millisecond)
	if code, _, er := wrStatus(t, s, a.Ticket, "alice"); code != 404 || !strings.Contains(er.Error.Message, "expired") {
		t.Fatalf("status after the admission expired = %d %+v, want 404 saying it expired", code, er)
	}
	if code, st := wrJoin(t, s, "ev", "alice"); code != 201 || st.Admitted || st.Position != 1 {
		t.Fatalf("join after the admission expired = %d %+v, want 201 at position 1", code, st)
	}
}

func TestRedisRestartMidQueue(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	s := e.room(t, func(s *Room) { s.streamTick = 20 * time.Millisecond })
	ev := e.event(t, "ev", &strategies.WaitingRoom{Enabled: true, AdmitPerSecond: 1000})
	ctx := t.Context()

	admitted := wrMustJoin(t, s, "ev", "early")
	time.Sleep(5 * time.Millisecond)
	if _, err := s.admitEvent(ctx, "ev"); err != nil {
		t.Fatalf("admitEvent: %v", err)
	}
	_, early, _ := wrStatus(t, s, admitted.Ticket, "early")
	if !early.Admitted {
		t.Fatalf("early is not admitted: %+v", early)
	}
	a := wrMustJoin(t, s, "ev", "alice")
	b := wrMustJoin(t, s, "ev", "bob")
	if a.Position != 1 || b.Position != 2 {
		t.Fatalf("positions before the restart %d, %d; want 1, 2", a.Position, b.Position)
	}
	hs := httptest.NewServer(s)
	defer hs.Close()
	stream := wrOpenStream(t, hs.URL, b.Ticket, "bob")
	if ev := stream.next(t); ev.name != "position" {
		t.Fatalf("first stream event %q, want position", ev.name)
	}

	if err := e.redis.Kill(); err != nil {
		t.Fatalf("kill redis: %v", err)
	}
	// While Redis is down the outcome of a join is unknown: 503 unavailable.
	var down wrErrorReply
	if code := wrCall(t, s, "POST", "/events/ev/queue", "dora", "", &down); code != http.StatusServiceUnavailable || down.Error.Code != "unavailable" {
		t.Fatalf("join with Redis down = %d %+v, want 503 unavailable", code, down.Error)
	}
	if code, _, er := wrStatus(t, s, a.Ticket, "alice"); code != http.StatusServiceUnavailable {
		t.Fatalf("status with Redis down = %d %+v, want 503", code, er.Error)
	}
	if err := e.redis.Start(ctx); err != nil {
		t.Fatalf("start redis: %v", err)
	}

	// The first join after the loss starts a new queue: carol is first in it.
	c := wrMustJoin(t, s, "ev", "carol")
	if c.Position != 1 || c.Length != 1 {
		t.Fatalf("carol after the restart: position %d of %d, want 1 of 1", c.Position, c.Length)
	}
	// Old tickets are answered clearly, not with someone else's place.
	code, _, er := wrStatus(t, s, a.Ticket, "alice")
	if code != 404 || er.Error.Code != "ticket_not_found" || !strings.Contains(er.Error.Message, "reset") {
		t.Fatalf("old ticket after the restart = %d %+v, want 404 ticket_not_found saying the queue was reset", code, er)
	}
	// The open stream is told the same and ends.
	got := stream.next(t)
	if got.name != "error" || !strings.Contains(got.data, "ticket_not_found") || !strings.Contains(got.data, "reset") {
		t.Fatalf("stream event after the restart = %+v, want an error saying the queue was reset", got)
	}
	stream.end(t)
	// Alice joins again and gets a new place behind carol, with a new ticket.
	a2 := wrMustJoin(t, s, "ev", "alice")
	if a2.Position != 2 || a2.Ticket == a.Ticket {
		t.Fatalf("alice rejoining: position %d, same ticket %v; want position 2 with a new ticket", a2.Position, a2.Ticket == a.Ticket)
	}
	// The admission from before the restart still holds: tokens need no Redis.
	if err := s.CheckAdmission(ctx, ev, "early", early.AdmissionToken); err != nil {
		t.Fatalf("token issued before the restart: %v", err)
	}
}

// wrSSEEvent is one Server-Sent Event.
type wrSSEEvent struct {
	name, data string
}

type wrSSE struct {
	resp   *http.Response
	events chan wrSSEEvent
	done   chan error
}

// openStream opens GET /queue/{ticket}/stream and reads its events in the background.
func wrOpenStream(tb testing.TB, base, ticket, session string) *wrSSE {
	tb.Helper()
	return wrOpenStreamWith(tb, http.DefaultClient, base, ticket, session)
}

func wrOpenStreamWith(tb testing.TB, client *http.Client, base, ticket, session string) *wrSSE {
	tb.Helper()
	req, err := http.NewRequest("GET", base+"/queue/"+ticket+"/stream", nil)
	if err != nil {
		tb.Fatalf("new request: %v", err)
	}
	req.Header.Set("X-Session-Id", session)
	resp, err := client.Do(req)
	if err != nil {
		tb.Fatalf("open stream: %v", err)
	}
	tb.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		tb.Fatalf("open stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return wrReadSSE(resp)
}

// wrServe serves s over HTTP/1.1, or over HTTP/2 with TLS, until the test ends.
func wrServe(tb testing.TB, s *testRoom, http2 bool) *httptest.Server {
	hs := httptest.NewUnstartedServer(s)
	if http2 {
		hs.EnableHTTP2 = true
		hs.StartTLS()
	} else {
		hs.Start()
	}
	tb.Cleanup(hs.Close)
	return hs
}

// wrReadSSE reads the events of an open stream's response in the background.
func wrReadSSE(resp *http.Response) *wrSSE {
	c := &wrSSE{resp: resp, events: make(chan wrSSEEvent, 1024), done: make(chan error, 1)}
	go func() {
		sc := bufio.NewScanner(resp.Body)
		var ev wrSSEEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.name != "" || ev.data != "" {
					c.events <- ev
				}
				ev = wrSSEEvent{}
			case strings.HasPrefix(line, "event: "):
				ev.name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				ev.data = strings.TrimPrefix(line, "data: ")
			}
		}
		close(c.events)
		c.done <- sc.Err()
	}()
	return c
}

// next returns the stream's next event, failing after 10 s.
func (c *wrSSE) next(tb testing.TB) wrSSEEvent {
	tb.Helper()
	select {
	case ev, ok := <-c.events:
		if !ok {
			tb.Fatalf("stream ended")
		}
		return ev
	case <-time.After(10 * time.Second):
		tb.Fatalf("no stream event within 10 s")
	}
	return wrSSEEvent{}
}

// end waits for the server to end the stream.
func (c *wrSSE) end(tb testing.TB) {
	tb.Helper()
	select {
	case ev, ok := <-c.events:
		if ok {
			tb.Fatalf("stream sent %+v, want its end", ev)
		}
	case <-time.After(10 * time.Second):
		tb.Fatalf("stream still open after 10 s")
	}
}

func TestStreamSendsPositionsThenToken(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		http2 bool
	}{
		{name: "HTTP/1.1, connection taken over"},
		{name: "HTTP/2, streamed by the handler", http2: true},
	} {
		t.Run(tc.name, func(t *testing.T) { testStreamPositionsThenToken(t, tc.http2) })
	}
}

func testStreamPositionsThenToken(t *testing.T, http2 bool) {
	e := newTestEnv(t)
	s := e.room(t, func(s *Room) {
		s.streamTick = 10 * time.Millisecond
		s.streamMinInterval = 0
		s.heartbeat = 50 * time.Millisecond
	})
	ev := e.event(t, "ev", &strategies.WaitingRoom{Enabled: true, AdmitPerSecond: 0})
	ctx := t.Context()
	hs := wrServe(t, s, http2)
	client := hs.Client()

	const n = 6
	tickets := make([]queueStatus, n)
	for i := range n {
		tickets[i] = wrMustJoin(t, s, "ev", fmt.Sprintf("s%d", i))
	}
	streams := make([]*wrSSE, n)
	for i := range n {
		streams[i] = wrOpenStreamWith(t, client, hs.URL, tickets[i].Ticket, fmt.Sprintf("s%d", i))
		if wantProto := map[bool]int{false: 1, true: 2}[http2]; streams[i].resp.ProtoMajor != wantProto {
			t.Fatalf("stream over HTTP/%d, want HTTP/%d", streams[i].resp.ProtoMajor, wantProto)
		}
		first := streams[i].next(t)
		var st queueStatus
		if err := json.Unmarshal([]byte(first.data), &st); err != nil || first.name != "position" || st.Position != int64(i+1) || st.Length != n {
			t.Fatalf("stream %d first event %+v, want position %d of %d", i, first, i+1, n)
		}
	}
	// Paused: the position does not change, and heartbeats repeat it.
	for _, c := range streams {
		hb := c.next(t)
		var st queueStatus
		if err := json.Unmarshal([]byte(hb.data), &st); err != nil || hb.name != "position" {
			t.Fatalf("heartbeat %+v", hb)
		}
	}
	// Admit two at a time and follow the last stream's position down, and the others' tokens.
	if err := s.setRate(ctx, "ev", 100); err != nil {
		t.Fatalf("setRate: %v", err)
	}
	admittedStreams := 0
	for step := 0; admittedStreams < n; step++ {
		if step > 1000 {
			t.Fatalf("not every stream admitted after %d steps", step)
		}
		time.Sleep(20 * time.Millisecond) // two sessions' worth of budget at 100/s
		if _, err := s.admitEvent(ctx, "ev"); err != nil {
			t.Fatalf("admitEvent: %v", err)
		}
		admittedStreams = 0
		for i, c := range streams {
			if c == nil {
				admittedStreams++
				continue
			}
			// Drain what the stream has sent so far; check what it says.
			for drained := false; !drained; {
				select {
				case m, ok := <-c.events:
					if !ok {
						t.Fatalf("stream %d ended without an admitted event", i)
					}
					var st queueStatus
					if err := json.Unmarshal([]byte(m.data), &st); err != nil {
						t.Fatalf("stream %d event %+v: %v", i, m, err)
					}
					switch m.name {
					case "position":
						if st.Admitted || st.Position < 1 || st.Position > int64(i+1) {
							t.Fatalf("stream %d position event %+v out of range", i, st)
						}
					case "admitted":
						if !st.Admitted || st.AdmissionToken == "" {
							t.Fatalf("stream %d admitted event without a token: %+v", i, st)
						}
						if err := s.CheckAdmission(ctx, ev, fmt.Sprintf("s%d", i), st.AdmissionToken); err != nil {
							t.Fatalf("stream %d token refused: %v", i, err)
						}
						c.end(t)
						streams[i] = nil
						drained = true
					default:
						t.Fatalf("stream %d sent %q", i, m.name)
					}
				default:
					drained = true
				}
			}
		}
	}
}

func TestStreamPositionsMatchStatus(t *testing.T) {
	t.Parallel()
	// A broadcaster derives positions from the head of the queue; they must equal ZRANK's.
	e := newTestEnv(t)
	s := e.room(t, nil)
	e.event(t, "ev", &strategies.WaitingRoom{Enabled: true, AdmitPerSecond: 1000})
	ctx := t.Context()
	tickets := map[string]queueStatus{}
	for i := range 40 {
		sess := fmt.Sprintf("s%02d", i)
		tickets[sess] = wrMustJoin(t, s, "ev", sess)
	}
	time.Sleep(10 * time.Millisecond) // about ten sessions' worth at 1000/s
	if _, err := s.admitEvent(ctx, "ev"); err != nil {
		t.Fatalf("admitEvent: %v", err)
	}
	// Rejoins of waiting sessions must not disturb the arithmetic.
	wrMustJoin(t, s, "ev", "s39")
	wrMustJoin(t, s, "ev", "late")
	h, err := s.head(ctx, "ev")
	if err != nil {
		t.Fatalf("head: %v", err)
	}
	for sess, tk := range tickets {
		tt, _ := s.sign.parseTicket(tk.Ticket)
		p, err := s.status(ctx, tt)
		if err != nil {
			t.Fatalf("status %s: %v", sess, err)
		}
		if !p.Admitted.IsZero() {
			if p.Seq != 0 {
				t.Fatalf("%s admitted but has seq %d", sess, p.Seq)
			}
			continue
		}
		if derived := p.Seq - h.Seq + 1; derived != p.Position {
			t.Fatalf("%s: derived position %d, ZRANK position %d", sess, derived, p.Position)
		}
		if h.Length != p.Length {
			t.Fatalf("%s: head length %d, status length %d", sess, h.Length, p.Length)
		}
	}
}

func TestStreamErrorsBeforeStart(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	s := e.room(t, nil)
	e.event(t, "ev", &strategies.WaitingRoom{Enabled: true, AdmitPerSecond: 1})
	a := wrMustJoin(t, s, "ev", "alice")
	for _, tc := range []struct {
		name, ticket, session string
		want                  int
	}{
		{name: "other session", ticket: a.Ticket, session: "bob", want: 404},
		{name: "forged", ticket: "x.y", session: "alice", want: 404},
		{name: "no session", ticket: a.Ticket, session: "", want: 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var er wrErrorReply
			code := wrCall(t, s, "GET", "/queue/"+tc.ticket+"/stream", tc.session, "", &er)
			if code != tc.want {
				t.Fatalf("stream = %d %+v, want %d", code, er, tc.want)
			}
		})
	}
}

func TestStreamsEndWhenServerStops(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	s := e.room(t, nil)
	e.event(t, "ev", &strategies.WaitingRoom{Enabled: true, AdmitPerSecond: 0})
	a := wrMustJoin(t, s, "ev", "alice")
	hs := httptest.NewServer(s)
	defer hs.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	c := wrOpenStream(t, hs.URL, a.Ticket, "alice")
	c.next(t)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	wantShutdownEvent(t, c)
	c.end(t)
}

// wantShutdownEvent reads the stream's next event and fails unless it is the final `shutdown`
// event: an Error with code unavailable.
func wantShutdownEvent(tb testing.TB, c *wrSSE) {
	tb.Helper()
	ev := c.next(tb)
	var body wrErrorReply
	if ev.name != "shutdown" || json.Unmarshal([]byte(ev.data), &body) != nil || body.Error.Code != "unavailable" {
		tb.Fatalf("stream's last event = %+v, want a shutdown event with an Error of code unavailable", ev)
	}
}

// TestCloseStreams: a shutdown's first step ends every open stream with a final shutdown event
// while the room still runs, and a stream opened after it gets that event at once.
func TestCloseStreams(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	s := e.room(t, nil)
	e.event(t, "ev", &strategies.WaitingRoom{Enabled: true, AdmitPerSecond: 0})
	a := wrMustJoin(t, s, "ev", "alice")
	b := wrMustJoin(t, s, "ev", "bob")
	hs := httptest.NewServer(s)
	defer hs.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = s.Run(ctx) }()
	c := wrOpenStream(t, hs.URL, a.Ticket, "alice")
	c.next(t)
	s.CloseStreams()
	wantShutdownEvent(t, c)
	c.end(t)
	late := wrOpenStream(t, hs.URL, b.Ticket, "bob")
	if ev := late.next(t); ev.name != "position" {
		t.Fatalf("first event of a stream opened during shutdown = %+v, want its position", ev)
	}
	wantShutdownEvent(t, late)
	late.end(t)
}

func TestStreamDroppedWhenClientLeaves(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	s := e.room(t, func(s *Room) {
		s.streamTick = 10 * time.Millisecond
		s.heartbeat = 20 * time.Millisecond
	})
	e.event(t, "ev", &strategies.WaitingRoom{Enabled: true, AdmitPerSecond: 0})
	hs := httptest.NewServer(s)
	defer hs.Close()
	var streams []*wrSSE
	for i := range 3 {
		st := wrMustJoin(t, s, "ev", fmt.Sprintf("s%d", i))
		c := wrOpenStream(t, hs.URL, st.Ticket, fmt.Sprintf("s%d", i))
		c.next(t)
		streams = append(streams, c)
	}
	open := func() float64 {
		var m dto.Metric
		if err := s.metrics.streams.Write(&m); err != nil {
			t.Fatalf("read gauge: %v", err)
		}
		return m.GetGauge().GetValue()
	}
	// A stream registers with its broadcaster just after writing its first event.
	waitOpen := func(want float64, what string) {
		for deadline := time.Now().Add(10 * time.Second); open() != want; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("open streams %v 10 s %s, want %v", open(), what, want)
			}
		}
	}
	waitOpen(3, "after opening three")
	streams[0].resp.Body.Close()
	// The server notices at its next writes (heartbeats every 20 ms here).
	waitOpen(2, "after a client left")
	// The others still get their heartbeats.
	if ev := streams[1].next(t); ev.name != "position" {
		t.Fatalf("stream 1 after another left: %+v", ev)
	}
	s.mu.Lock()
	rooms := len(s.rooms)
	s.mu.Unlock()
	if rooms != 1 {
		t.Fatalf("%d broadcasters, want 1", rooms)
	}
}

func TestIdleQueueSavesUpNoBurst(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	s := e.room(t, nil)
	const rate = 100.0
	e.event(t, "ev", &strategies.WaitingRoom{Enabled: true, AdmitPerSecond: rate})
	ctx := t.Context()
	wrJoinMany(t, s, "ev", "first", 1, rate)
	time.Sleep(20 * time.Millisecond) // two sessions' worth of budget
	if st, err := s.admitEvent(ctx, "ev"); err != nil || len(st.Sessions) != 1 || st.Length != 0 {
		t.Fatalf("admitEvent = %+v, %v; want the one session admitted and the queue empty", st, err)
	}
	// The queue stays empty for 400 ms: 40 sessions' worth at the rate, none of which may be
	// saved up for the next arrivals.
	time.Sleep(400 * time.Millisecond)
	start := time.Now()
	wrJoinMany(t, s, "ev", "next", 20, rate)
	st, err := s.admitEvent(ctx, "ev")
	if err != nil {
		t.Fatalf("admitEvent: %v", err)
	}
	if most := 2 + rate*time.Since(start).Seconds(); float64(len(st.Sessions)) > most {
		t.Fatalf("admitted %d right after an idle spell, want at most %.0f", len(st.Sessions), most)
	}
}

// TestAdmissionThenCheck: a session admitted through the queue gets a token that admits it, and
// only it, to that event; every other token is refused with 403 not_admitted. (The server's
// tests check that a hold asks the room, on both databases.)
func TestAdmissionThenCheck(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	s := e.room(t, nil)
	ev := e.event(t, "ev", &strategies.WaitingRoom{Enabled: true, AdmitPerSecond: 1000})
	other := e.event(t, "other", &strategies.WaitingRoom{Enabled: true, AdmitPerSecond: 1000})
	open := e.event(t, "open", nil)
	ctx := t.Context()
	tk := wrMustJoin(t, s, "ev", "alice")
	time.Sleep(5 * time.Millisecond) // a few sessions' worth of budget at 1000/s
	if _, err := s.admitEvent(ctx, "ev"); err != nil {
		t.Fatalf("admitEvent: %v", err)
	}
	_, st, _ := wrStatus(t, s, tk.Ticket, "alice")
	if !st.Admitted {
		t.Fatalf("alice not admitted: %+v", st)
	}
	sign := s.sign
	now := time.Now()
	for _, tc := range []struct {
		name    string
		ev      strategies.Event
		session string
		token   string
	}{
		{name: "no token (a bot skipping the queue)", ev: ev, session: "bot", token: ""},
		{name: "garbage", ev: ev, session: "alice", token: "garbage"},
		{name: "forged signature", ev: ev, session: "alice", token: testSigner(t, "guessed").admissionToken("ev", "alice", now, time.Hour)},
		{name: "another session's token", ev: ev, session: "mallory", token: st.AdmissionToken},
		{name: "token for another event", ev: other, session: "alice", token: st.AdmissionToken},
		{name: "expired", ev: ev, session: "alice", token: sign.admissionToken("ev", "alice", now.Add(-2*time.Hour), time.Hour)},
		{name: "the queue ticket instead of the token", ev: ev, session: "alice", token: tk.Ticket},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := s.CheckAdmission(ctx, tc.ev, tc.session, tc.token)
			if ae := testTable.Answer(err); err == nil || ae.Status != http.StatusForbidden || ae.Code != "not_admitted" {
				t.Fatalf("CheckAdmission = %v, answered %d %s; want 403 not_admitted", err, ae.Status, ae.Code)
			}
		})
	}
	if err := s.CheckAdmission(ctx, ev, "alice", st.AdmissionToken); err != nil {
		t.Fatalf("CheckAdmission with the admission token = %v, want nil", err)
	}
	if err := s.CheckAdmission(ctx, open, "bot", ""); err != nil {
		t.Fatalf("CheckAdmission without a waiting room = %v, want nil", err)
	}
}

func TestWaitingRoomMetrics(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	s := e.room(t, nil)
	e.event(t, "ev", &strategies.WaitingRoom{Enabled: true, AdmitPerSecond: 1000})
	ctx := t.Context()
	wrJoinMany(t, s, "ev", "u", 5, 1000)
	time.Sleep(10 * time.Millisecond) // ten sessions' worth of budget at 1000/s
	if err := s.admitAll(ctx); err != nil {
		t.Fatalf("admitAll: %v", err)
	}
	wrJoinMany(t, s, "ev", "v", 3, 1000)
	if err := s.admitAll(ctx); err != nil { // admits some of the three; reports the rest
		t.Fatalf("admitAll: %v", err)
	}
	w := httptest.NewRecorder()
	promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{}).ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	body := w.Body.String()
	for _, want := range []string{
		`stampede_waiting_room_length{event="ev"}`,
		`stampede_waiting_room_admit_rate{event="ev"} 1000`,
		`stampede_waiting_room_admitted_total{event="ev"}`,
		`stampede_waiting_room_wait_seconds_count{event="ev"}`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	var m dto.Metric
	if err := s.metrics.admitted.WithLabelValues("ev").Write(&m); err != nil || m.GetCounter().GetValue() < 5 {
		t.Fatalf("admitted_total = %v, want at least 5", m.GetCounter().GetValue())
	}
}

// TestAdmissionFollowsPace: the admitter admits at the configured rate times the pace
// (Config.Pace, the overload budget's headroom in the server), never below a tenth of it, and
// at the full rate again when the pace returns to 1; the gauges say so.
func TestAdmissionFollowsPace(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	var pace atomic.Value
	pace.Store(0.0)
	s := e.room(t, func(q *Room) { q.pace = func() float64 { return pace.Load().(float64) } })
	e.event(t, "ev", &strategies.WaitingRoom{Enabled: true, AdmitPerSecond: 200})
	wrJoinMany(t, s, "ev", "u", 500, 200)
	ctx := t.Context()
	// admitted runs a step, lets the bucket refill for 300 ms of the Redis clock, and returns
	// what the next step admitted and at which rate.
	admitted := func() (int, float64) {
		if _, err := s.admitEvent(ctx, "ev"); err != nil {
			t.Fatalf("admitEvent: %v", err)
		}
		time.Sleep(300 * time.Millisecond) // the bucket refills with time
		st, err := s.admitEvent(ctx, "ev")
		if err != nil {
			t.Fatalf("admitEvent: %v", err)
		}
		return len(st.Sessions), st.Rate
	}
	slow, slowRate := admitted() // pace 0: clamped to a tenth, 20/s
	if slowRate != 20 {
		t.Errorf("rate at pace 0 = %v, want 20 (a tenth of 200)", slowRate)
	}
	var m dto.Metric
	if err := s.metrics.pace.Write(&m); err != nil || m.GetGauge().GetValue() != minPace {
		got := m.GetGauge().GetValue()
		t.Errorf("stampede_waiting_room_pace at pace 0 = %v, want %v", got, minPace)
	}
	pace.Store(1.0)
	fast, fastRate := admitted()
	if fastRate != 200 {
		t.Errorf("rate at pace 1 = %v, want 200", fastRate)
	}
	if slow == 0 || fast < 4*slow {
		t.Errorf("admitted in 300ms: %d at pace 0.1, %d at pace 1; want some, and at least 4 times more at the full rate", slow, fast)
	}
	t.Logf("admitted in 300ms: %d at pace 0.1, %d at pace 1", slow, fast)
}
