package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"stampede/infra/local"
	"stampede/internal/failpoint"
	"stampede/internal/sqldb"
	"stampede/internal/testsvc"
	"stampede/server/payments"
	"stampede/strategies"
)

// testDB is one migrated database of a dialect, shared by the servers of one test.
type testDB struct {
	dialect string
	db      sqldb.DB
	metrics *sqldb.Metrics
	reg     *prometheus.Registry
}

// newTestDB creates a fresh database of the dialect (skipping when the service is not there,
// failing under CI), migrates it, and closes it at cleanup. Its pool metrics are registered on
// a registry of its own that the servers built on it share.
func newTestDB(tb testing.TB, dialect string) *testDB {
	tb.Helper()
	return newTestDBPool(tb, dialect, 16)
}

// newTestDBPool is newTestDB with a pool of size connections.
func newTestDBPool(tb testing.TB, dialect string, size int) *testDB {
	tb.Helper()
	reg := prometheus.NewRegistry()
	m := sqldb.NewMetrics(reg)
	db := testsvc.MigratedDB(tb, dialect, sqldb.Options{MaxConns: size, Metrics: m}, strategies.Migrate)
	return &testDB{dialect: dialect, db: db, metrics: m, reg: reg}
}

// testEnv is one reference server (one strategy on one database) behind an httptest server.
type testEnv struct {
	tb       testing.TB
	name     string
	url      string
	srv      *Server
	clock    *testsvc.Clock
	rdb      *redis.Client
	redis    *local.Process
	fps      *failpoint.Set
	strategy strategies.Strategy
	client   *http.Client
	psp      *payments.Processor // withPSP's processor; nil without it
}

const testHoldTTL = time.Minute

// envOption changes how newEnv builds a server.
type envOption func(*envConfig)

type envConfig struct {
	holdTTL      time.Duration
	freshness    time.Duration
	maxInFlight  int
	overloadWait time.Duration
	wrap         func(strategies.Strategy) strategies.Strategy
	psp          bool
	gate         string
	tune         []func(*Config)
}

// withConfig adjusts the server's Config after newEnv has filled it in (admin token, limits).
func withConfig(tune func(*Config)) envOption {
	return func(c *envConfig) { c.tune = append(c.tune, tune) }
}

// withHoldTTL gives the strategy and the server another hold lifetime than testHoldTTL.
func withHoldTTL(d time.Duration) envOption { return func(c *envConfig) { c.holdTTL = d } }

// withSeatMapFreshness shares seat-map snapshots for d (Config.SeatMapFreshness).
func withSeatMapFreshness(d time.Duration) envOption { return func(c *envConfig) { c.freshness = d } }

// withBudget bounds the requests in flight (Config.MaxInFlight and OverloadWait).
func withBudget(maxInFlight int, wait time.Duration) envOption {
	return func(c *envConfig) { c.maxInFlight, c.overloadWait = maxInFlight, wait }
}

// withStrategy wraps the strategy before the server is built on it (its optional capabilities,
// such as Preparer, are then hidden).
func withStrategy(wrap func(strategies.Strategy) strategies.Strategy) envOption {
	return func(c *envConfig) { c.wrap = wrap }
}

// withGate runs the named gate (Config.Gate), unsafe ones included.
func withGate(name string) envOption { return func(c *envConfig) { c.gate = name } }

// withPSP gives the server a payment processor of the test's own, so checkout can charge.
func withPSP() envOption { return func(c *envConfig) { c.psp = true } }

// newEnv builds the named strategy on tdb (with a Redis of the test's own) and a Server over
// it, serving on a loopback httptest server until cleanup. A strategy that has not landed yet
// ("not implemented yet") skips the test.
func newEnv(tb testing.TB, name string, tdb *testDB, opts ...envOption) *testEnv {
	tb.Helper()
	ec := envConfig{holdTTL: testHoldTTL}
	for _, o := range opts {
		o(&ec)
	}
	proc, rdb := testsvc.RedisClient(tb)
	clock := &testsvc.Clock{}
	fps := failpoint.New()
	prefix := "t:" + randomID() + ":"
	st, err := strategies.New(name, strategies.Deps{
		DB: tdb.db, Redis: rdb, KeyPrefix: prefix, HoldTTL: ec.holdTTL, Now: clock.Now, Failpoints: fps,
	}, true)
	if err != nil && strings.Contains(err.Error(), "not implemented yet") {
		tb.Skipf("strategy %s: %v", name, err)
	}
	if err != nil {
		tb.Fatalf("strategies.New(%s): %v", name, err)
	}
	if c, ok := st.(strategies.Closer); ok {
		tb.Cleanup(func() { _ = c.Close() })
	}
	if ec.wrap != nil {
		st = ec.wrap(st)
	}
	var pspURL string
	var psp *payments.Processor
	if ec.psp {
		psp = payments.New(payments.WithSeed(1))
		ps := httptest.NewServer(psp)
		tb.Cleanup(func() {
			psp.Close()
			ps.Close()
		})
		pspURL = ps.URL
	}
	cfg := Config{
		DB: tdb.db, Strategy: st, Redis: rdb, KeyPrefix: prefix, HoldTTL: ec.holdTTL, Registry: tdb.reg,
		Failpoints: fps, Now: clock.Now, AdmissionSecret: []byte("test-secret-test-secret"), PSPURL: pspURL,
		SeatMapFreshness: ec.freshness, MaxInFlight: ec.maxInFlight, OverloadWait: ec.overloadWait,
		Gate: ec.gate, AllowUnsafeGate: true,
	}
	for _, tune := range ec.tune {
		tune(&cfg)
	}
	srv, err := New(cfg)
	if err != nil {
		tb.Fatalf("New server: %v", err)
	}
	hs := httptest.NewServer(srv)
	tb.Cleanup(hs.Close)
	return &testEnv{tb: tb, name: name, url: hs.URL, srv: srv, clock: clock, rdb: rdb, redis: proc, fps: fps, strategy: st, client: hs.Client(), psp: psp}
}

// run runs the server's background work (the waiting room's admitter, the checkout completer)
// until the test ends.
func (e *testEnv) run() {
	e.tb.Helper()
	testsvc.Go(e.tb, e.srv.Run)
}

// with returns a copy of e that reports to tb (a subtest) instead.
func (e *testEnv) with(tb testing.TB) *testEnv {
	c := *e
	c.tb = tb
	return &c
}

func randomID() string {
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// response is what a call returned.
type response struct {
	status int
	header http.Header
	body   []byte
}

// errBody decodes the body as an api.yaml Error.
func (r response) errBody(tb testing.TB) errorResponse {
	tb.Helper()
	var e errorResponse
	if err := json.Unmarshal(r.body, &e); err != nil {
		tb.Fatalf("error body %q: %v", r.body, err)
	}
	return e
}

// decode decodes the body into v.
func (r response) decode(tb testing.TB, v any) {
	tb.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		tb.Fatalf("body %q: %v", r.body, err)
	}
}

// call sends a request with an optional session header and body (a string is sent as is,
// anything else as JSON).
func (e *testEnv) call(method, path, session string, body any) response {
	e.tb.Helper()
	return e.callWith(nil, method, path, session, body)
}

// callWith is call with more request headers.
func (e *testEnv) callWith(header map[string]string, method, path, session string, body any) response {
	e.tb.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.tb.Fatalf("encode %v: %v", body, err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	if err != nil {
		e.tb.Fatalf("%s %s: %v", method, path, err)
	}
	if session != "" {
		req.Header.Set("X-Session-Id", session)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		e.tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.tb.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// must calls and fails the test unless the status is want.
func (e *testEnv) must(want int, method, path, session string, body any) response {
	e.tb.Helper()
	return e.mustWith(want, nil, method, path, session, body)
}

// mustWith is must with more request headers.
func (e *testEnv) mustWith(want int, header map[string]string, method, path, session string, body any) response {
	e.tb.Helper()
	r := e.callWith(header, method, path, session, body)
	if r.status != want {
		e.tb.Fatalf("%s %s = %d %s, want %d", method, path, r.status, r.body, want)
	}
	return r
}

// wantMetrics reads /metrics and fails the test for each line it lacks.
func (e *testEnv) wantMetrics(lines ...string) {
	e.tb.Helper()
	body := string(e.must(http.StatusOK, http.MethodGet, "/metrics", "", nil).body)
	for _, want := range lines {
		if !strings.Contains(body, want) {
			e.tb.Errorf("/metrics lacks %s", want)
		}
	}
}

// wantError calls and checks the status, the error code and, when given, the field.
func (e *testEnv) wantError(status int, code, field, method, path, session string, body any) errorResponse {
	e.tb.Helper()
	r := e.call(method, path, session, body)
	if r.status != status {
		e.tb.Fatalf("%s %s = %d %s, want %d %s", method, path, r.status, r.body, status, code)
	}
	eb := r.errBody(e.tb)
	if eb.Error.Code != code || (field != "" && eb.Error.Field != field) || eb.Error.Message == "" {
		e.tb.Fatalf("%s %s = %d %+v, want code %q field %q and a message", method, path, r.status, eb.Error, code, field)
	}
	return eb
}

// testEventSpec is a small event: section A of 2 rows of 5 seats, section B of 1 row of 2
// seats at 7000, tier floor of 20 units and tier tiny of 3.
func testEventSpec(id string) map[string]any {
	return map[string]any{
		"id": id, "name": "Test Night", "performer": "The Testers", "venue": "Hall", "city": "Berlin",
		"starts_at": "2026-07-01T19:30:00Z",
		"sections": []map[string]any{
			{"name": "A", "rows": 2, "seats_per_row": 5},
			{"name": "B", "rows": 1, "seats_per_row": 2, "price_cents": 7000},
		},
		"ga_tiers": []map[string]any{{"name": "floor", "quantity": 20}, {"name": "tiny", "quantity": 3, "price_cents": 2500}},
	}
}

// createEvent creates a fresh test event and returns its id.
func (e *testEnv) createEvent() string {
	e.tb.Helper()
	id := "ev-" + randomID()
	e.must(http.StatusCreated, http.MethodPost, "/admin/events", "", testEventSpec(id))
	return id
}

// holdSeats holds seats for session and returns the hold.
func (e *testEnv) holdSeats(eventID, session string, seats ...string) holdView {
	e.tb.Helper()
	var h holdView
	e.must(http.StatusCreated, http.MethodPost, "/events/"+eventID+"/holds", session, map[string]any{"seats": seats}).decode(e.tb, &h)
	return h
}

// storeEnv is a migrated database with its store and a private Redis that several Servers can
// share, as several server processes share them in production.
type storeEnv struct {
	db    sqldb.DB
	store *strategies.Store
	redis *local.Process
	rdb   *redis.Client
}

func newStoreEnv(tb testing.TB, dialect string) *storeEnv {
	tb.Helper()
	db := testsvc.MigratedDB(tb, dialect, sqldb.Options{MaxConns: 8}, strategies.Migrate)
	proc, rdb := testsvc.RedisClient(tb)
	return &storeEnv{db: db, store: strategies.NewStore(db, nil), redis: proc, rdb: rdb}
}

// server builds a Server (status-expiry) on the environment; tune, when given, adjusts it
// before use.
func (e *storeEnv) server(tb testing.TB, tune func(*Server)) *Server {
	tb.Helper()
	st, err := strategies.New("status-expiry", strategies.Deps{DB: e.db}, false)
	if err != nil {
		tb.Fatalf("strategy: %v", err)
	}
	s, err := New(Config{
		DB: e.db, Strategy: st, Redis: e.rdb, KeyPrefix: "t:", Registry: prometheus.NewRegistry(),
		AdmissionSecret: []byte("test-secret"),
	})
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	if tune != nil {
		tune(s)
	}
	return s
}

// event creates an event through the store.
func (e *storeEnv) event(tb testing.TB, id string, wr *strategies.WaitingRoom) strategies.Event {
	tb.Helper()
	ev, _, err := e.store.CreateEvent(context.Background(), strategies.Event{
		ID: id, Name: "Show " + id, Sections: []strategies.Section{{Name: "A", Rows: 1, SeatsPerRow: 4}}, WaitingRoom: wr,
	})
	if err != nil {
		tb.Fatalf("create event %s: %v", id, err)
	}
	return ev
}
