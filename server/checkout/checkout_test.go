package checkout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
	dto "github.com/prometheus/client_model/go"
	"github.com/redis/go-redis/v9"

	"stampede/internal/failpoint"
	"stampede/internal/sqldb"
	"stampede/internal/testsvc"
	"stampede/server/api"
	"stampede/server/payments"
	"stampede/strategies"
)

// Checkout tests run every safe strategy that constructs on both databases, against a real
// processor on an httptest listener. The clock is real time plus an offset the tests advance:
// past a lease (a crashed execution's key becomes resumable) or past a hold's TTL (the hold is
// lost), without sleeping.

const (
	ckLease   = 20 * time.Second
	ckHoldTTL = time.Hour
)

// ckEnv is one strategy on a shared database with its own processor, Redis prefix, clock and
// event (section A, seats at 5000 cents).
type ckEnv struct {
	name   string
	db     sqldb.DB
	rdb    *redis.Client
	prefix string
	clock  *testsvc.Clock
	psp    *payments.Processor
	pspURL string
	// pspHook, when set, sees every processor request before the processor does.
	pspHook atomic.Pointer[func(*http.Request)]
	store   *strategies.Store
	ev      strategies.Event
	seats   atomic.Int64
	perRow  int
}

// TestCheckout runs every checkout scenario for every safe strategy on both databases. Each
// database is created once; each strategy gets its own event, processor, Redis prefix and clock
// on it, and its scenarios run in order on distinct seats, each ending with the money
// reconciled and no idempotency key left open.
func TestCheckout(t *testing.T) {
	_, rdb := testsvc.RedisClient(t)
	scenarios := []struct {
		name string
		run  func(*testing.T, *ckEnv)
	}{
		{"key store", ckKeyStore},
		{"validation", ckValidation},
		{"outcomes", ckOutcomes},
		{"retries", ckRetries},
		{"crash points", ckCrashPoints},
		{"strategy forgets its booking", ckForgetfulStrategy},
		{"failpoints", ckFailpoints},
		{"slow processor", ckProcessorSlowerThanHold},
		{"unknown outcomes", ckUnknownOutcomes},
		{"settle", ckSettle},
	}
	for _, dialect := range testsvc.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel() // one database each; nothing else is shared but the Redis server
			db := testsvc.MigratedDB(t, dialect, sqldb.Options{MaxConns: 16}, strategies.Migrate)
			for _, name := range strategies.Safe() {
				t.Run(name, func(t *testing.T) {
					e := newCkEnv(t, name, db, rdb, 200)
					for _, sc := range scenarios {
						t.Run(sc.name, func(t *testing.T) {
							b0, r0 := e.reconcile(t)
							sc.run(t, e)
							// Every scenario leaves the money reconciled and every key finished.
							b1, r1 := e.reconcile(t)
							t.Logf("%d bookings and %d refunds", b1-b0, r1-r0)
						})
					}
				})
			}
		})
	}
}

// newCkEnv builds an env for strategy name on db whose event has (at least) seats seats in
// section A, rows of up to 500.
func newCkEnv(tb testing.TB, name string, db sqldb.DB, rdb *redis.Client, seats int) *ckEnv {
	tb.Helper()
	ctx := context.Background()
	e := &ckEnv{name: name, db: db, rdb: rdb, prefix: "ck:" + randomHex(4) + ":", clock: &testsvc.Clock{}}
	st := e.strategy(tb) // skips a strategy that has not landed
	e.psp = payments.New(payments.WithSeed(1))
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hook := e.pspHook.Load(); hook != nil {
			(*hook)(r)
		}
		e.psp.ServeHTTP(w, r)
	}))
	tb.Cleanup(func() {
		e.psp.Close()
		hs.Close()
	})
	e.pspURL = hs.URL
	e.store = strategies.NewStore(db, e.clock.Now)
	ev, _, err := e.store.CreateEvent(ctx, strategies.Event{
		ID: "ck-" + randomHex(4), Name: "Checkout test",
		Sections: []strategies.Section{{Name: "A", Rows: (seats + 499) / 500, SeatsPerRow: min(seats, 500)}},
	})
	if err != nil {
		tb.Fatalf("create event: %v", err)
	}
	e.ev, e.perRow = ev, min(seats, 500)
	if p, ok := st.(strategies.Preparer); ok {
		if err := p.PrepareEvent(ctx, ev); err != nil {
			tb.Fatalf("prepare event: %v", err)
		}
	}
	return e
}

// seat returns a seat no scenario has used yet.
func (e *ckEnv) seat() string {
	k := int(e.seats.Add(1)) - 1
	return fmt.Sprintf("A-%d-%d", k/e.perRow+1, k%e.perRow+1)
}

// strategy builds a fresh instance of the env's strategy, as a restarted process would.
func (e *ckEnv) strategy(tb testing.TB) strategies.Strategy {
	tb.Helper()
	st, err := strategies.New(e.name, strategies.Deps{
		DB: e.db, Redis: e.rdb, KeyPrefix: e.prefix, HoldTTL: ckHoldTTL, Now: e.clock.Now,
	}, false)
	if err != nil && strings.Contains(err.Error(), "not implemented yet") {
		tb.Skipf("%s: %v", e.name, err)
	}
	if err != nil {
		tb.Fatalf("strategies.New(%s): %v", e.name, err)
	}
	if c, ok := st.(strategies.Closer); ok {
		tb.Cleanup(func() { _ = c.Close() })
	}
	return st
}

// testTable is the server's error table as far as checkout's answers go.
var testTable = slices.Concat(api.Common, Errors, api.Unknown)

// ckServer is one server process: a Service behind checkout's routes, as the server routes
// them, on its own httptest listener.
type ckServer struct {
	*Service
	url string
	reg *prometheus.Registry
}

// server starts a fresh server on the env's database; tune adjusts its Service.
func (e *ckEnv) server(tb testing.TB, tune func(*Service)) *ckServer {
	tb.Helper()
	return e.serverWith(tb, nil, tune)
}

// serverWith is server with the strategy wrapped by wrap (when not nil).
func (e *ckEnv) serverWith(tb testing.TB, wrap func(strategies.Strategy) strategies.Strategy, tune func(*Service)) *ckServer {
	tb.Helper()
	reg := prometheus.NewRegistry()
	st := e.strategy(tb)
	if wrap != nil {
		st = wrap(st)
	}
	s, err := New(Config{
		Deps: api.Deps{Table: testTable, Registry: reg, Logger: slog.New(slog.DiscardHandler), Now: e.clock.Now},
		DB:   e.db, Strategy: st, ChargesInTx: ChargesInTx(st), Bookings: e.store, PSPURL: e.pspURL,
		Failpoints: failpoint.New(), Lease: ckLease, Idle: ckLease,
	})
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	if tune != nil {
		tune(s)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /holds/{hold_id}/checkout", s.Handle)
	mux.HandleFunc("POST /admin/checkout/settle", s.HandleSettle)
	hs := httptest.NewServer(mux)
	tb.Cleanup(hs.Close)
	return &ckServer{Service: s, url: hs.URL, reg: reg}
}

// crashOnce makes the server's executions die at point, once.
func crashOnce(point string) func(*Service) {
	var fired atomic.Bool
	return func(c *Service) {
		c.crashAt = func(p string) bool { return p == point && fired.CompareAndSwap(false, true) }
	}
}

// expireLeases moves the clock past any lease and idle time, as if the crashed process's
// executions had been gone for a while.
func (e *ckEnv) expireLeases() { e.clock.Advance(2*ckLease + time.Second) }

// hold takes seats for session through the server's strategy.
func (e *ckEnv) hold(tb testing.TB, s *ckServer, session string, ttl time.Duration, seats ...string) strategies.Hold {
	tb.Helper()
	h, err := s.strategy.Hold(context.Background(), strategies.HoldRequest{EventID: e.ev.ID, Session: session, Seats: seats, TTL: ttl})
	if err != nil {
		tb.Fatalf("hold %v for %s: %v", seats, session, err)
	}
	return h
}

// loseHold makes every current hold lost (expireHolds), then session takes seat.
func (e *ckEnv) loseHold(tb testing.TB, s *ckServer, session, seat string) {
	tb.Helper()
	e.expireHolds(tb)
	e.hold(tb, s, session, 0, seat)
}

// expireHolds makes every current hold lost: the clock passes their TTL and, for Redis-backed
// holds, the locks are gone (as after a Redis restart).
func (e *ckEnv) expireHolds(tb testing.TB) {
	tb.Helper()
	ctx := context.Background()
	e.clock.Advance(ckHoldTTL + time.Minute)
	var keys []string
	iter := e.rdb.Scan(ctx, 0, e.prefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		tb.Fatalf("scan redis: %v", err)
	}
	if len(keys) > 0 {
		if err := e.rdb.Del(ctx, keys...).Err(); err != nil {
			tb.Fatalf("delete redis keys: %v", err)
		}
	}
}

// ckCounter reads a counter's value.
func ckCounter(tb testing.TB, c prometheus.Counter) float64 {
	tb.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		tb.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// ckReply is what a checkout request got.
type ckReply struct {
	status   int
	replayed bool
	// dropped: the connection closed without an answer (a crashed server).
	dropped  bool
	booking  strategies.Booking
	code     string
	refundID string
	raw      string
}

func (r ckReply) String() string {
	if r.dropped {
		return "dropped connection"
	}
	return fmt.Sprintf("%d replayed=%v %s", r.status, r.replayed, strings.TrimSpace(r.raw))
}

// ckHTTP never reuses connections: net/http would silently resend a POST carrying an
// Idempotency-Key on a reused connection that died, hiding the crash the test made.
var ckHTTP = &http.Client{Timeout: time.Minute, Transport: &http.Transport{DisableKeepAlives: true}}

func ckCheckout(tb testing.TB, s *ckServer, holdID, session, key, method string) ckReply {
	tb.Helper()
	body := fmt.Sprintf(`{"payment_method":%q}`, method)
	req, err := http.NewRequest(http.MethodPost, s.url+"/holds/"+holdID+"/checkout", strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.GetBody = nil
	req.Header.Set("X-Session-Id", session)
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := ckHTTP.Do(req)
	if err != nil {
		return ckReply{dropped: true}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return ckReply{dropped: true}
	}
	r := ckReply{status: resp.StatusCode, replayed: resp.Header.Get("Idempotent-Replayed") == "true", raw: string(raw)}
	if r.status == http.StatusCreated {
		if err := json.Unmarshal(raw, &r.booking); err != nil {
			tb.Fatalf("checkout answer %s: %v", raw, err)
		}
		return r
	}
	var eb struct {
		Error struct {
			Code     string `json:"code"`
			RefundID string `json:"refund_id"`
		} `json:"error"`
	}
	if err := json.Unmarshal(raw, &eb); err != nil {
		tb.Fatalf("checkout error answer %q: %v", raw, err)
	}
	r.code, r.refundID = eb.Error.Code, eb.Error.RefundID
	return r
}

// wantBooked fails unless r is a 201 booking of holdID.
func wantBooked(tb testing.TB, r ckReply, holdID string) {
	tb.Helper()
	if r.status != http.StatusCreated || r.booking.HoldID != holdID || r.booking.ChargeID == "" || r.booking.AmountCents <= 0 {
		tb.Fatalf("checkout of %s: got %v, want 201 with a booking of the hold paid by a charge", holdID, r)
	}
}

// wantCode fails unless r is an error answer with status and code.
func wantCode(tb testing.TB, r ckReply, status int, code string) {
	tb.Helper()
	if r.status != status || r.code != code {
		tb.Fatalf("checkout: got %v, want %d %s", r, status, code)
	}
}

// sess returns a session name unique to the env (keys are scoped to sessions, and strategies
// share the database).
func (e *ckEnv) sess(name string) string { return e.prefix + name }

// reconcile checks money between the processor's ledger and what the server believes: every
// charge is matched by exactly one booking or exactly one refund (never both, never neither),
// every booking is paid by a captured charge of its amount, the server's refunds are the
// processor's, no seat is sold twice, and no idempotency key is left unfinished. It returns the
// number of bookings and refunds of the env's event.
func (e *ckEnv) reconcile(tb testing.TB) (booked, refunded int) {
	tb.Helper()
	ctx := context.Background()
	ledger := e.psp.Ledger()
	bookings, err := e.store.Bookings(ctx, e.ev.ID)
	if err != nil {
		tb.Fatalf("bookings: %v", err)
	}
	ks := &keyStore{db: e.db, now: e.clock.Now}
	serverRefunds, err := ks.refundRecords(ctx, e.ev.ID)
	if err != nil {
		tb.Fatalf("server refunds: %v", err)
	}
	charges := map[string]payments.Charge{}
	keys := map[string]bool{}
	for _, c := range ledger.Charges {
		charges[c.ID] = c
		if keys[c.IdempotencyKey] {
			tb.Errorf("processor key %s charged twice", c.IdempotencyKey)
		}
		keys[c.IdempotencyKey] = true
	}
	pspRefunds := map[string]payments.Refund{}
	for _, r := range ledger.Refunds {
		pspRefunds[r.ChargeID] = r
	}
	bookedCharge := map[string]string{}
	seatOwner := map[string]string{}
	for _, b := range bookings {
		c, ok := charges[b.ChargeID]
		switch {
		case b.ChargeID == "":
			tb.Errorf("booking %s has no charge", b.ID)
		case !ok:
			tb.Errorf("booking %s names charge %s, which the processor never made", b.ID, b.ChargeID)
		case c.AmountCents != b.AmountCents:
			tb.Errorf("booking %s of %d cents paid by charge %s of %d", b.ID, b.AmountCents, c.ID, c.AmountCents)
		}
		if other, dup := bookedCharge[b.ChargeID]; dup {
			tb.Errorf("charge %s pays bookings %s and %s", b.ChargeID, other, b.ID)
		}
		bookedCharge[b.ChargeID] = b.ID
		for _, seat := range b.Seats {
			if other, dup := seatOwner[seat]; dup {
				tb.Errorf("seat %s sold twice: bookings %s and %s", seat, other, b.ID)
			}
			seatOwner[seat] = b.ID
		}
	}
	for _, c := range ledger.Charges {
		_, isBooked := bookedCharge[c.ID]
		r, isRefunded := pspRefunds[c.ID]
		switch {
		case isBooked && isRefunded:
			tb.Errorf("charge %s (%s) is both booked and refunded (%s)", c.ID, c.Reference, r.ID)
		case !isBooked && !isRefunded:
			tb.Errorf("charge %s (%s) is neither booked nor refunded", c.ID, c.Reference)
		case isBooked && c.Status != payments.StatusCaptured:
			tb.Errorf("charge %s pays a booking but is %s", c.ID, c.Status)
		}
	}
	if len(serverRefunds) != len(ledger.Refunds) {
		tb.Errorf("server lists %d refunds, processor %d", len(serverRefunds), len(ledger.Refunds))
	}
	for _, r := range serverRefunds {
		pr, ok := pspRefunds[r.ChargeID]
		if !ok || pr.ID != r.RefundID || pr.AmountCents != r.AmountCents {
			tb.Errorf("server refund %+v does not match the processor's %+v", r, pr)
		}
	}
	var open int
	if err := e.db.QueryRow(ctx, "test", "SELECT COUNT(*) FROM idempotency_keys WHERE phase <> ?", []any{&open}, phaseFinished); err != nil {
		tb.Fatalf("count open keys: %v", err)
	}
	if open != 0 {
		tb.Errorf("%d idempotency keys are not finished", open)
	}
	return len(bookings), len(ledger.Refunds)
}

// ckCounts is what reconcile counted, to compare before and after a scenario.
func (e *ckEnv) counts(tb testing.TB) (booked, refunded, charged int) {
	tb.Helper()
	b, r := e.reconcile(tb)
	return b, r, len(e.psp.Ledger().Charges)
}

// wantDelta fails unless the scenario added exactly these bookings, refunds and charges.
func (e *ckEnv) wantDelta(tb testing.TB, b0, r0, c0, booked, refunded, charged int) {
	tb.Helper()
	b1, r1, c1 := e.counts(tb)
	if b1-b0 != booked || r1-r0 != refunded || c1-c0 != charged {
		tb.Errorf("the scenario made %d bookings, %d refunds and %d charges; want %d, %d and %d",
			b1-b0, r1-r0, c1-c0, booked, refunded, charged)
	}
}

// wantGone fails unless r says the hold could not be paid before any charge: hold_expired, or
// hold_not_found for a strategy whose holds vanish with their locks (redis-lock after a restart).
func wantGone(tb testing.TB, r ckReply) {
	tb.Helper()
	if !(r.status == http.StatusConflict && r.code == api.CodeHoldExpired) && !(r.status == http.StatusNotFound && r.code == api.CodeHoldNotFound) {
		tb.Fatalf("checkout: got %v, want 409 hold_expired or 404 hold_not_found", r)
	}
}

// ckValidation: malformed requests are 400 invalid_request naming the field, and record nothing.
func ckValidation(t *testing.T, e *ckEnv) {
	s := e.server(t, nil)
	h := e.hold(t, s, e.sess("v1"), 0, e.seat())
	tests := []struct {
		name, session, key, body string
		field                    string
	}{
		{"missing key", e.sess("v1"), "", `{"payment_method":"card_ok"}`, "Idempotency-Key"},
		{"short key", e.sess("v1"), "1234567", `{"payment_method":"card_ok"}`, "Idempotency-Key"},
		{"long key", e.sess("v1"), strings.Repeat("k", 129), `{"payment_method":"card_ok"}`, "Idempotency-Key"},
		{"missing session", "", "key-12345", `{"payment_method":"card_ok"}`, "X-Session-Id"},
		{"bad session", "s 1", "key-12345", `{"payment_method":"card_ok"}`, "X-Session-Id"},
		{"no payment method", e.sess("v1"), "key-12345", `{}`, "payment_method"},
		{"payment method wrong type", e.sess("v1"), "key-12345", `{"payment_method":7}`, "payment_method"},
		{"payment method too long", e.sess("v1"), "key-12345", `{"payment_method":"` + strings.Repeat("c", 65) + `"}`, "payment_method"},
		{"not json", e.sess("v1"), "key-12345", `payment_method=card_ok`, ""},
		{"empty body", e.sess("v1"), "key-12345", ``, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, s.url+"/holds/"+h.ID+"/checkout", strings.NewReader(tt.body))
			if tt.session != "" {
				req.Header.Set("X-Session-Id", tt.session)
			}
			if tt.key != "" {
				req.Header.Set("Idempotency-Key", tt.key)
			}
			resp, err := ckHTTP.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var eb struct {
				Error struct{ Code, Field string } `json:"error"`
			}
			_ = json.Unmarshal(raw, &eb)
			if resp.StatusCode != http.StatusBadRequest || eb.Error.Code != api.CodeInvalidRequest || eb.Error.Field != tt.field {
				t.Errorf("checkout %s: got %d %s, want 400 invalid_request naming %q", tt.name, resp.StatusCode, raw, tt.field)
			}
		})
	}
	var n int
	if err := e.db.QueryRow(context.Background(), "test", "SELECT COUNT(*) FROM idempotency_keys WHERE session = ?", []any{&n}, e.sess("v1")); err != nil || n != 0 {
		t.Errorf("idempotency_keys has %d rows for the session (err %v), want 0", n, err)
	}
	if c := e.psp.Ledger().ChargesFor(h.ID); len(c) != 0 {
		t.Errorf("processor charged %d times, want 0", len(c))
	}
	if err := s.strategy.Release(context.Background(), h.ID); err != nil {
		t.Fatal(err)
	}
}

// ckOutcomes covers every answer of a checkout that meets no fault.
func ckOutcomes(t *testing.T, e *ckEnv) {
	b0, r0, c0 := e.counts(t)
	s := e.server(t, nil)
	s1, s2 := e.sess("o1"), e.sess("o2")

	seat := e.seat()
	h1 := e.hold(t, s, s1, 0, seat)
	first := ckCheckout(t, s, h1.ID, s1, "key-books-1", "card_ok")
	wantBooked(t, first, h1.ID)
	if first.replayed || !slices.Equal(first.booking.Seats, []string{seat}) || first.booking.AmountCents != 5000 {
		t.Fatalf("first checkout = %v, want a fresh booking of %s for 5000", first, seat)
	}
	again := ckCheckout(t, s, h1.ID, s1, "key-books-1", "card_ok")
	if again.status != http.StatusCreated || !again.replayed || again.raw != first.raw {
		t.Fatalf("replay = %v, want the stored 201 with Idempotent-Replayed", again)
	}
	wantCode(t, ckCheckout(t, s, h1.ID, s1, "key-books-1", "card_other"), http.StatusUnprocessableEntity, api.CodeIdempotencyConflict)
	// Keys are scoped to the session: another session's same key is another request.
	wantCode(t, ckCheckout(t, s, h1.ID, s2, "key-books-1", "card_ok"), http.StatusForbidden, api.CodeNotYourHold)
	// Paid under one key, the hold is sold for every other key, with nothing charged.
	wantCode(t, ckCheckout(t, s, h1.ID, s1, "key-books-2", "card_ok"), http.StatusConflict, api.CodeHoldSold)

	h2 := e.hold(t, s, s1, 0, e.seat())
	wantCode(t, ckCheckout(t, s, h2.ID, s1, "key-decline", payments.DeclinedMethod), http.StatusPaymentRequired, api.CodePaymentDeclined)
	if r := ckCheckout(t, s, h2.ID, s1, "key-decline", payments.DeclinedMethod); r.status != http.StatusPaymentRequired || !r.replayed {
		t.Fatalf("decline replay = %v, want the stored 402", r)
	}
	// A decline leaves the hold alone: another card under a new key books it.
	wantBooked(t, ckCheckout(t, s, h2.ID, s1, "key-decline-then-ok", "card_ok"), h2.ID)

	wantCode(t, ckCheckout(t, s, "h_nope", s1, "key-unknown", "card_ok"), http.StatusNotFound, api.CodeHoldNotFound)

	h3 := e.hold(t, s, s1, 0, e.seat())
	if err := s.strategy.Release(context.Background(), h3.ID); err != nil {
		t.Fatal(err)
	}
	wantCode(t, ckCheckout(t, s, h3.ID, s1, "key-released", "card_ok"), http.StatusConflict, api.CodeHoldExpired)

	seat4 := e.seat()
	h4 := e.hold(t, s, s1, 0, seat4)
	e.loseHold(t, s, s2, seat4)
	wantGone(t, ckCheckout(t, s, h4.ID, s1, "key-expired", "card_ok"))

	e.wantDelta(t, b0, r0, c0, 2, 0, 2)
	if got := ckCounter(t, s.outcomes.WithLabelValues(e.name, "booked")); got != 2 {
		t.Errorf("outcomes_total{booked} = %v, want 2", got)
	}
	if got := ckCounter(t, s.outcomes.WithLabelValues(e.name, "replayed")); got != 2 {
		t.Errorf("outcomes_total{replayed} = %v, want 2", got)
	}
	families, err := s.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(families, func(f *dto.MetricFamily) bool {
		return f.GetName() == "stampede_checkout_processor_seconds" && len(f.GetMetric()) > 0
	}) {
		t.Error("the registry has no stampede_checkout_processor_seconds series")
	}
}

// ckRetries: retry storms and concurrent duplicates with one key make one execution and one
// charge; concurrent checkouts of one hold under different keys make one booking.
func ckRetries(t *testing.T, e *ckEnv) {
	b0, r0, c0 := e.counts(t)
	s := e.server(t, nil)
	s1 := e.sess("r1")
	refunds := 0

	t.Run("sequential storm", func(t *testing.T) {
		h := e.hold(t, s, s1, 0, e.seat())
		first := ckCheckout(t, s, h.ID, s1, "storm-key-1", "card_ok")
		wantBooked(t, first, h.ID)
		for i := range 20 {
			r := ckCheckout(t, s, h.ID, s1, "storm-key-1", "card_ok")
			if !r.replayed || r.raw != first.raw {
				t.Fatalf("retry %d = %v, want the stored booking replayed", i, r)
			}
		}
		if n := len(e.psp.Ledger().ChargesFor(h.ID)); n != 1 {
			t.Fatalf("%d charges for the hold, want 1", n)
		}
	})

	t.Run("concurrent duplicates", func(t *testing.T) {
		h := e.hold(t, s, s1, 0, e.seat())
		// The first execution's charge waits at the processor until every duplicate sent
		// while it runs has been answered.
		arrived, release := make(chan struct{}, 1), make(chan struct{})
		hook := func(r *http.Request) {
			if r.URL.Path == "/charges" {
				arrived <- struct{}{}
				<-release
			}
		}
		e.pspHook.Store(&hook)
		defer e.pspHook.Store(nil)
		before := e.psp.Stats().Normal
		first := make(chan ckReply, 1)
		go func() { first <- ckCheckout(t, s, h.ID, s1, "dup-key-1", "card_ok") }()
		select {
		case <-arrived:
		case <-time.After(30 * time.Second):
			t.Fatal("the first execution never reached the processor")
		}
		const n = 12
		replies := make([]ckReply, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				replies[i] = ckCheckout(t, s, h.ID, s1, "dup-key-1", "card_ok")
			}()
		}
		wg.Wait()
		close(release)
		for i, r := range replies {
			if r.status != http.StatusConflict || r.code != api.CodeIdempotencyInProgress {
				t.Errorf("duplicate %d while the first runs: %v, want 409 idempotency_in_progress", i, r)
			}
		}
		r := <-first
		if wantBooked(t, r, h.ID); r.replayed {
			t.Errorf("the first execution's answer is marked replayed")
		}
		if got := e.psp.Stats().Normal - before; got != 1 {
			t.Errorf("the processor saw %d charge requests, want exactly 1 execution", got)
		}
		// Duplicates arriving together after the end all get the stored answer.
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				replies[i] = ckCheckout(t, s, h.ID, s1, "dup-key-1", "card_ok")
			}()
		}
		wg.Wait()
		for i, again := range replies {
			if !again.replayed || again.raw != r.raw {
				t.Errorf("duplicate %d after the end: %v, want the stored booking replayed", i, again)
			}
		}
	})

	t.Run("one hold, many keys", func(t *testing.T) {
		h := e.hold(t, s, s1, 0, e.seat())
		const n = 8
		replies := make([]ckReply, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				replies[i] = ckCheckout(t, s, h.ID, s1, fmt.Sprintf("many-keys-%d", i), "card_ok")
			}()
		}
		close(start)
		wg.Wait()
		booked := 0
		for i, r := range replies {
			switch {
			case r.status == http.StatusCreated:
				booked++
			case r.status == http.StatusConflict && r.code == api.CodeHoldSold:
			case r.status == http.StatusConflict && r.code == api.CodeHoldLost && r.refundID != "":
				refunds++
			default:
				t.Errorf("request %d: %v, want 201, 409 hold_sold or 409 hold_lost with a refund", i, r)
			}
		}
		if booked != 1 {
			t.Errorf("%d bookings of one hold, want 1", booked)
		}
		if got := len(e.psp.Ledger().ChargesFor(h.ID)); got != 1+refunds {
			t.Errorf("%d charges for the hold, want 1 booked + %d refunded", got, refunds)
		}
	})

	e.wantDelta(t, b0, r0, c0, 3, refunds, 3+refunds)
}

// ckCrashCase is one crash scenario: the first server dies at crashes[0]; each later server
// resumes the key and dies at the next point; after crash number loseAfter (0-based) the hold
// is lost to another buyer; a last server resumes (by the client's retry or by the completer)
// and the checkout must end as want.
type ckCrashCase struct {
	name      string
	crashes   []string
	loseAfter int // -1: the hold is never lost
	completer bool
	want      string // "booked", api.CodeHoldLost or "gone" (hold_expired or hold_not_found)
}

var ckCrashCases = []ckCrashCase{
	{"started", []string{crashStarted}, -1, false, "booked"},
	{"charge requested", []string{crashChargeRequested}, -1, true, "booked"},
	{"charged", []string{crashCharged}, -1, false, "booked"},
	{"confirmed", []string{crashConfirmed}, -1, true, "booked"},
	{"booked", []string{crashBooked}, -1, false, "booked"},
	{"booked, by completer", []string{crashBooked}, -1, true, "booked"},
	{"charged, hold lost", []string{crashCharged}, 0, false, api.CodeHoldLost},
	{"charged, hold lost, refund decided", []string{crashCharged, crashRefundDecided}, 0, true, api.CodeHoldLost},
	{"charged, hold lost, refunded", []string{crashCharged, crashRefunded}, 0, false, api.CodeHoldLost},
	{"charge requested, hold lost", []string{crashChargeRequested}, 0, false, api.CodeHoldLost},
	{"started, hold lost", []string{crashStarted}, 0, true, "gone"},
}

// ckCrashPoints kills the server at every recovery point and checks that a fresh server on the
// same database drives the key to a booking or a refund, never neither.
func ckCrashPoints(t *testing.T, e *ckEnv) {
	b0, r0, c0 := e.counts(t)
	wantBookings, wantRefunds := 0, 0
	for i, tc := range ckCrashCases {
		seat := e.seat()
		key := fmt.Sprintf("crash-key-%02d", i)
		s1 := e.sess("c1")
		base := e.server(t, nil)
		h := e.hold(t, base, s1, 0, seat)
		for j, point := range tc.crashes {
			s := e.server(t, crashOnce(point))
			if r := ckCheckout(t, s, h.ID, s1, key, "card_ok"); !r.dropped {
				t.Fatalf("%s: crash %d at %s: got %v, want a dropped connection", tc.name, j, point, r)
			}
			// Until its lease expires, the dead execution still owns the key.
			if j == 0 {
				wantCode(t, ckCheckout(t, base, h.ID, s1, key, "card_ok"), http.StatusConflict, api.CodeIdempotencyInProgress)
			}
			if j == tc.loseAfter {
				e.loseHold(t, s, e.sess("c2"), seat)
			}
			e.expireLeases()
		}
		last := e.server(t, nil)
		var r ckReply
		if tc.completer {
			n, err := last.completeAbandoned(context.Background())
			if err != nil || n != 1 {
				t.Fatalf("%s: completer resumed %d keys (err %v), want 1", tc.name, n, err)
			}
			r = ckCheckout(t, last, h.ID, s1, key, "card_ok")
			if !r.replayed {
				t.Fatalf("%s: after the completer, the retry got %v; want the stored answer replayed", tc.name, r)
			}
		} else {
			r = ckCheckout(t, last, h.ID, s1, key, "card_ok")
		}
		switch tc.want {
		case "booked":
			wantBooked(t, r, h.ID)
			wantBookings++
		case api.CodeHoldLost:
			wantCode(t, r, http.StatusConflict, api.CodeHoldLost)
			if r.refundID == "" {
				t.Fatalf("%s: hold_lost without a refund_id: %v", tc.name, r)
			}
			wantRefunds++
		default:
			wantGone(t, r)
		}
		// Whatever came first, the answer is final now.
		if again := ckCheckout(t, last, h.ID, s1, key, "card_ok"); !again.replayed || again.status != r.status {
			t.Fatalf("%s: retry after the end = %v, want %d replayed", tc.name, again, r.status)
		}
		if n, err := last.completeAbandoned(context.Background()); err != nil || n != 0 {
			t.Fatalf("%s: the completer still found %d keys (err %v)", tc.name, n, err)
		}
	}
	e.wantDelta(t, b0, r0, c0, wantBookings, wantRefunds, wantBookings+wantRefunds)
}

// ckForgetful is a strategy that, asked to confirm a hold it already booked, says the hold was
// lost instead of returning the booking.
type ckForgetful struct{ strategies.Strategy }

func (f ckForgetful) Confirm(ctx context.Context, r strategies.ConfirmRequest) (strategies.Booking, error) {
	if h, err := f.GetHold(ctx, r.HoldID); err == nil && h.Status == strategies.StatusSold {
		return strategies.Booking{}, fmt.Errorf("confirm %s: %w", r.HoldID, strategies.ErrHoldLost)
	}
	return f.Strategy.Confirm(ctx, r)
}

// ckForgetfulStrategy: a server dies after the strategy booked; the resuming server's strategy
// then claims the hold was lost. The checkout must still end booked, its charge not refunded.
func ckForgetfulStrategy(t *testing.T, e *ckEnv) {
	b0, r0, c0 := e.counts(t)
	s1 := e.sess("f1")
	base := e.server(t, nil)
	h := e.hold(t, base, s1, 0, e.seat())
	if r := ckCheckout(t, e.server(t, crashOnce(crashConfirmed)), h.ID, s1, "forgetful-key", "card_ok"); !r.dropped {
		t.Fatalf("crash after the booking: got %v, want a dropped connection", r)
	}
	e.expireLeases()
	forgetful := e.serverWith(t, func(st strategies.Strategy) strategies.Strategy { return ckForgetful{st} }, nil)
	wantBooked(t, ckCheckout(t, forgetful, h.ID, s1, "forgetful-key", "card_ok"), h.ID)
	e.wantDelta(t, b0, r0, c0, 1, 0, 1)
}

// ckFailpoints: the chaos failpoints of checkout (before-charge, after-charge, before-refund)
// armed to fail once make a 503 that the retry with the same key resumes, with one charge.
func ckFailpoints(t *testing.T, e *ckEnv) {
	b0, r0, c0 := e.counts(t)
	s := e.server(t, nil)
	fp := s.failpoints
	s1 := e.sess("fp1")
	arm := func(point string) {
		t.Helper()
		if err := fp.Arm(point, failpoint.Action{Kind: failpoint.Error, Times: 1}); err != nil {
			t.Fatal(err)
		}
	}
	for _, point := range []string{failpoint.BeforeCharge, failpoint.AfterCharge} {
		h := e.hold(t, s, s1, 0, e.seat())
		key := "fp-key-" + point
		arm(point)
		wantCode(t, ckCheckout(t, s, h.ID, s1, key, "card_ok"), http.StatusServiceUnavailable, api.CodeUnavailable)
		if st := fp.List(); len(st) != 1 || st[0].Hits != 1 {
			t.Fatalf("failpoints after one checkout: %+v, want %s hit once", st, point)
		}
		fp.Disarm(point)
		wantBooked(t, ckCheckout(t, s, h.ID, s1, key, "card_ok"), h.ID)
	}
	seat := e.seat()
	h := e.hold(t, s, s1, 0, seat)
	if r := ckCheckout(t, e.server(t, crashOnce(crashCharged)), h.ID, s1, "fp-key-refund", "card_ok"); !r.dropped {
		t.Fatalf("crash at charged: %v", r)
	}
	e.loseHold(t, s, e.sess("fp2"), seat)
	e.expireLeases()
	arm(failpoint.BeforeRefund)
	wantCode(t, ckCheckout(t, s, h.ID, s1, "fp-key-refund", "card_ok"), http.StatusServiceUnavailable, api.CodeUnavailable)
	fp.Disarm(failpoint.BeforeRefund)
	wantCode(t, ckCheckout(t, s, h.ID, s1, "fp-key-refund", "card_ok"), http.StatusConflict, api.CodeHoldLost)
	e.wantDelta(t, b0, r0, c0, 2, 1, 3)
}

// ckProcessorSlowerThanHold: the processor takes longer than the hold's TTL and another buyer
// takes the seat meanwhile. A strategy that charges outside its transaction must refund (409
// hold_lost); pessimistic, which charges with the seat locked, keeps the seat and the other
// buyer is refused. Either way the seat is booked exactly once and money reconciles.
//
// The delay is made in front of the processor: the charge waits there until the other buyer's
// hold has come back (or, when that hold is itself waiting for the charging transaction's
// locks, for a second), so the order of events does not depend on timing.
func ckProcessorSlowerThanHold(t *testing.T, e *ckEnv) {
	b0, r0, c0 := e.counts(t)
	s := e.server(t, nil)
	ctx := context.Background()
	s1, s2 := e.sess("p1"), e.sess("p2")
	arrived, release := make(chan struct{}, 1), make(chan struct{})
	var once sync.Once
	hook := func(r *http.Request) {
		if r.URL.Path != "/charges" {
			return
		}
		once.Do(func() {
			arrived <- struct{}{}
			select {
			case <-release:
			case <-time.After(time.Second):
			}
		})
	}
	e.pspHook.Store(&hook)
	defer e.pspHook.Store(nil)
	seat := e.seat()
	h1 := e.hold(t, s, s1, 0, seat)
	done := make(chan ckReply, 1)
	go func() { done <- ckCheckout(t, s, h1.ID, s1, "slow-key-1", "card_ok") }()
	select {
	case <-arrived:
	case <-time.After(30 * time.Second):
		t.Fatal("the charge never reached the processor")
	}
	// The charge is in flight; the hold's lifetime passes, then another buyer tries.
	e.expireHolds(t)
	type holdResult struct {
		h   strategies.Hold
		err error
	}
	other := make(chan holdResult, 1)
	go func() {
		h, err := s.strategy.Hold(ctx, strategies.HoldRequest{EventID: e.ev.ID, Session: s2, Seats: []string{seat}})
		other <- holdResult{h, err}
	}()
	if s.inTx {
		// The other hold waits for the seat's lock, held by the transaction that charges.
		r1 := <-done
		o := <-other
		wantBooked(t, r1, h1.ID)
		if !errors.Is(o.err, strategies.ErrUnavailable) {
			t.Fatalf("the other buyer's hold: %v, want ErrUnavailable (the seat was sold)", o.err)
		}
		e.wantDelta(t, b0, r0, c0, 1, 0, 1)
		return
	}
	o := <-other
	close(release)
	r1 := <-done
	if o.err != nil {
		t.Fatalf("the other buyer could not take the expired seat: %v", o.err)
	}
	wantCode(t, r1, http.StatusConflict, api.CodeHoldLost)
	if r1.refundID == "" {
		t.Fatalf("hold_lost without refund_id: %v", r1)
	}
	wantBooked(t, ckCheckout(t, s, o.h.ID, s2, "slow-key-2", "card_ok"), o.h.ID)
	e.wantDelta(t, b0, r0, c0, 1, 1, 2)
}

// ckUnknownOutcomes: processor errors, timeouts and lost responses give 503 and leave the key
// resumable; the retries never charge twice.
func ckUnknownOutcomes(t *testing.T, e *ckEnv) {
	b0, r0, c0 := e.counts(t)
	fast := func(c *Service) {
		psp, err := payments.NewClient(e.pspURL, payments.WithTimeout(300*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		c.psp = psp
	}
	s, short := e.server(t, nil), e.server(t, fast)
	s1 := e.sess("u1")
	setFaults := func(f payments.Faults) {
		t.Helper()
		if err := e.psp.SetFaults(f); err != nil {
			t.Fatal(err)
		}
	}
	defer setFaults(payments.Faults{})
	tests := []struct {
		name        string
		faults      payments.Faults
		wantCharged bool // the failed attempts charged
		srv         *ckServer
	}{
		{"lost response", payments.Faults{LostResponseRate: 1}, true, s},
		{"processor error", payments.Faults{ErrorRate: 1}, false, s},
		// A server whose processor deadline is short, so the held requests end soon.
		{"processor timeout", payments.Faults{TimeoutRate: 1}, false, short},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := e.hold(t, s, s1, 0, e.seat())
			key := fmt.Sprintf("unknown-key-%d", i)
			setFaults(tt.faults)
			for attempt := range 2 {
				wantCode(t, ckCheckout(t, tt.srv, h.ID, s1, key, "card_ok"), http.StatusServiceUnavailable, api.CodeUnavailable)
				want := 0
				if tt.wantCharged {
					want = 1
				}
				if n := len(e.psp.Ledger().ChargesFor(h.ID)); n != want {
					t.Fatalf("attempt %d: %d charges, want %d", attempt, n, want)
				}
			}
			setFaults(payments.Faults{})
			r := ckCheckout(t, s, h.ID, s1, key, "card_ok")
			wantBooked(t, r, h.ID)
			charges := e.psp.Ledger().ChargesFor(h.ID)
			if len(charges) != 1 || charges[0].ID != r.booking.ChargeID {
				t.Fatalf("charges %+v, want exactly the booking's %s", charges, r.booking.ChargeID)
			}
		})
	}

	t.Run("lost refund", func(t *testing.T) {
		seat := e.seat()
		h := e.hold(t, s, s1, 0, seat)
		crashed := e.server(t, crashOnce(crashCharged))
		if r := ckCheckout(t, crashed, h.ID, s1, "lost-refund-key", "card_ok"); !r.dropped {
			t.Fatalf("crash at charged: %v", r)
		}
		e.loseHold(t, s, e.sess("u2"), seat)
		e.expireLeases()
		setFaults(payments.Faults{LostResponseRate: 1})
		for range 2 {
			wantCode(t, ckCheckout(t, s, h.ID, s1, "lost-refund-key", "card_ok"), http.StatusServiceUnavailable, api.CodeUnavailable)
		}
		setFaults(payments.Faults{})
		r := ckCheckout(t, s, h.ID, s1, "lost-refund-key", "card_ok")
		wantCode(t, r, http.StatusConflict, api.CodeHoldLost)
		l := e.psp.Ledger()
		charges := l.ChargesFor(h.ID)
		if len(charges) != 1 {
			t.Fatalf("%d charges for the hold, want 1", len(charges))
		}
		if rf, ok := l.RefundOf(charges[0].ID); !ok || rf.ID != r.refundID {
			t.Fatalf("refund of %s = %+v, want %s", charges[0].ID, rf, r.refundID)
		}
		// Refunds lists the refund the way the ledger shows it to the checker.
		refunds, err := s.Refunds(context.Background(), e.ev.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(refunds, func(x RefundRecord) bool {
			return x.RefundID == r.refundID && x.ChargeID == charges[0].ID && x.HoldID == h.ID && x.Reason == "hold_lost" && x.AmountCents == 5000
		}) {
			t.Errorf("Refunds = %+v, want %s of charge %s for hold %s", refunds, r.refundID, charges[0].ID, h.ID)
		}
	})

	t.Run("seeded storm", func(t *testing.T) {
		seed := int64(7)
		setFaults(payments.Faults{LostResponseRate: 0.3, ErrorRate: 0.2, Seed: &seed})
		defer setFaults(payments.Faults{})
		st0 := e.psp.Stats()
		for i := range 6 {
			h := e.hold(t, s, s1, 0, e.seat())
			key := fmt.Sprintf("storm-key-%d", i)
			var r ckReply
			for attempt := 0; ; attempt++ {
				if attempt == 40 {
					t.Fatalf("hold %s: still %v after 40 attempts", h.ID, r)
				}
				r = ckCheckout(t, s, h.ID, s1, key, "card_ok")
				if r.status != http.StatusServiceUnavailable {
					break
				}
			}
			wantBooked(t, r, h.ID)
			if n := len(e.psp.Ledger().ChargesFor(h.ID)); n != 1 {
				t.Fatalf("hold %s: %d charges, want 1", h.ID, n)
			}
		}
		if st := e.psp.Stats(); st.LostResponse == st0.LostResponse || st.Errors == st0.Errors {
			t.Errorf("processor stats %+v (before %+v): the storm met no faults", st, st0)
		}
	})

	e.wantDelta(t, b0, r0, c0, 9, 1, 10)
}
