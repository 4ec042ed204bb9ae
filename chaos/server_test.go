package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"stampede/internal/failpoint"
	"stampede/internal/proc"
	"stampede/internal/testsvc"
	"stampede/server"
	"stampede/server/payments"
	"stampede/sut"
)

// The reference server runs as a child process (`stampede serve`), as in a real run, so that
// server-crash can kill it and a crash failpoint can kill it from inside. TestMain starts
// building the binary at once, beside the tests that do not need it.
var (
	binDir   string
	binPath  string
	binErr   error
	binBuilt = make(chan struct{})
)

func TestMain(m *testing.M) {
	flag.Parse()
	go buildStampede()
	code := m.Run()
	<-binBuilt
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

func buildStampede() {
	defer close(binBuilt)
	if testing.Short() {
		binErr = errors.New("the reference server is not built in -short mode")
		return
	}
	if binDir, binErr = os.MkdirTemp("", "stampede-chaos-test"); binErr != nil {
		return
	}
	binPath, binErr = testsvc.BuildStampede(binDir)
}

func stampedeBinary(t testing.TB) string {
	t.Helper()
	<-binBuilt
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// refServer is a reference server child process on a fresh test database, with a real payment
// processor in this process, and a Target for both.
type refServer struct {
	t      *testing.T
	base   string
	proc   *proc.Process
	psp    *payments.Processor
	target *Target
	http   *http.Client
	event  string
}

type serverOpts struct {
	strategy string
	dialect  string
	holdTTL  time.Duration
	poolSize int
	redis    bool // a private Redis (redis-lock needs one)
	// lease is the server's checkout lease: how long a crashed attempt keeps its key from
	// the retry; 0 means the server's default (45 s).
	lease time.Duration
}

func startServer(t *testing.T, o serverOpts) *refServer {
	t.Helper()
	if testing.Short() {
		t.Skip("reference server tests are skipped in -short mode")
	}
	bin := stampedeBinary(t)
	dsn := testsvc.DB(t, o.dialect)
	psp := payments.New(payments.WithSeed(1), payments.WithMaxHold(30*time.Second))
	hs := httptest.NewServer(psp)
	t.Cleanup(func() {
		psp.Close()
		hs.Close()
	})
	port, err := proc.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	so := server.DefaultOptions()
	so.Addr, so.Strategy, so.DB, so.PSP = "127.0.0.1:"+strconv.Itoa(port), o.strategy, dsn, hs.URL
	so.SweepInterval, so.KeyPrefix, so.HoldTTL, so.PoolSize, so.CheckoutLease = 200*time.Millisecond, "chaos-test:", o.holdTTL, o.poolSize, o.lease
	tg := &Target{Handles: sut.Handles{Server: base, PSP: hs.URL, DB: dsn}, Rand: rand.New(rand.NewPCG(7, 7))}
	if o.redis || o.strategy == "redis-lock" {
		rd, url := testsvc.Redis(t)
		so.Redis = url
		tg.Redis, tg.RedisURL = rd, url
	}
	args := append([]string{"serve"}, so.Args()...)
	logPath := filepath.Join(t.TempDir(), "server.log")
	child, err := proc.NewProcess("server", bin, args, proc.EnvWithout(server.EnvPrefix), port, logPath, proc.ServerAnswers(base+"/healthz"))
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = child.Stop(5 * time.Second)
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("server log:\n%s", tail(string(b), 40))
		}
	})
	tg.ServerProcess = child
	s := &refServer{t: t, base: base, proc: child, psp: psp, target: tg, http: &http.Client{Timeout: 10 * time.Second}}
	s.event = "chaos-" + strings.ReplaceAll(o.strategy, "-", "")
	s.mustDo(http.StatusCreated, http.MethodPost, "/admin/events", "", map[string]any{
		"id": s.event, "name": "Chaos night",
		"sections": []map[string]any{{"name": "A", "rows": 1, "seats_per_row": 8, "price_cents": 5000}},
	})
	return s
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// answer is what the server said: a status and body, or a transport error (err) when the
// connection ended without an answer.
type answer struct {
	status int
	body   []byte
	err    error
}

func (a answer) code() string {
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(a.body, &e)
	return e.Error.Code
}

// chargeID is the charge_id of a checkout's answer, "" when it has none.
func (a answer) chargeID() string {
	var b struct {
		ChargeID string `json:"charge_id"`
	}
	_ = json.Unmarshal(a.body, &b)
	return b.ChargeID
}

func (a answer) String() string {
	if a.err != nil {
		return "no answer: " + a.err.Error()
	}
	return fmt.Sprintf("%d %s", a.status, bytes.TrimSpace(a.body))
}

func (s *refServer) do(ctx context.Context, method, path, session string, hdr map[string]string, body any) answer {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			s.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.base+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if session != "" {
		req.Header.Set("X-Session-Id", session)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return answer{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, body: b, err: err}
}

func (s *refServer) mustDo(want int, method, path, session string, body any) answer {
	s.t.Helper()
	a := s.do(context.Background(), method, path, session, nil, body)
	if a.err != nil || a.status != want {
		s.t.Fatalf("%s %s = %s, want %d", method, path, a, want)
	}
	return a
}

// hold holds seats for session and returns the hold id.
func (s *refServer) hold(session string, seats ...string) string {
	s.t.Helper()
	a := s.mustDo(http.StatusCreated, http.MethodPost, "/events/"+s.event+"/holds", session, map[string]any{"seats": seats})
	var h struct {
		ID string `json:"hold_id"`
	}
	if err := json.Unmarshal(a.body, &h); err != nil || h.ID == "" {
		s.t.Fatalf("hold answer %s: no hold id", a)
	}
	return h.ID
}

func (s *refServer) checkout(ctx context.Context, session, holdID, key string) answer {
	return s.do(ctx, http.MethodPost, "/holds/"+holdID+"/checkout", session, map[string]string{"Idempotency-Key": key},
		map[string]string{"payment_method": "card_ok"})
}

// resume retries a checkout interrupted by a crash: the dead attempt keeps the key for the
// server's checkout lease (409 idempotency_in_progress), after which the retry takes it over.
// It gives up after limit and returns the last answer.
func (s *refServer) resume(ctx context.Context, session, holdID, key string, limit time.Duration) answer {
	deadline := time.Now().Add(limit)
	for {
		a := s.checkout(ctx, session, holdID, key)
		if a.status != http.StatusConflict || a.code() != "idempotency_in_progress" || time.Now().After(deadline) {
			return a
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// serverLedger is the part of GET /admin/ledger the tests read.
type serverLedger struct {
	Bookings []struct {
		BookingID string   `json:"booking_id"`
		HoldID    string   `json:"hold_id"`
		ChargeID  string   `json:"charge_id"`
		Seats     []string `json:"seats"`
	} `json:"bookings"`
	Refunds []struct {
		RefundID string `json:"refund_id"`
		ChargeID string `json:"charge_id"`
		HoldID   string `json:"hold_id"`
	} `json:"refunds"`
}

func (s *refServer) ledger() serverLedger {
	s.t.Helper()
	a := s.mustDo(http.StatusOK, http.MethodGet, "/admin/ledger?event="+s.event, "", nil)
	var l serverLedger
	if err := json.Unmarshal(a.body, &l); err != nil {
		s.t.Fatalf("ledger %s: %v", a, err)
	}
	return l
}

// chargesFor returns the processor's charges for a hold.
func (s *refServer) chargesFor(holdID string) []payments.Charge {
	return s.psp.Ledger().ChargesFor(holdID)
}

// failpointHits returns the hits of an armed failpoint, -1 when it is not armed.
func (s *refServer) failpointHits(name string) int64 {
	s.t.Helper()
	a := s.do(context.Background(), http.MethodGet, "/admin/failpoints", "", nil, nil)
	if a.err != nil || a.status != http.StatusOK {
		return -1
	}
	var list []failpoint.Status
	if err := json.Unmarshal(a.body, &list); err != nil {
		s.t.Fatalf("GET /admin/failpoints: %s: %v", a, err)
	}
	for _, p := range list {
		if p.Name == name {
			return p.Hits
		}
	}
	return -1
}

// arm arms a failpoint directly (as the schedule does for a trigger).
func (s *refServer) arm(name string, a failpoint.Action) {
	s.t.Helper()
	s.mustDo(http.StatusOK, http.MethodPut, "/admin/failpoints/"+name, "", a)
}

// schedule runs entries against the server in the background and returns a function that
// waits for their windows.
func (s *refServer) schedule(ctx context.Context, raw ...map[string]any) func() []Window {
	s.t.Helper()
	es, err := ParseEntries(raw)
	if err != nil {
		s.t.Fatalf("ParseEntries: %v", err)
	}
	start := time.Now()
	sch := &Schedule{Entries: es, Target: s.target, Clock: func() int64 { return int64(time.Since(start)) },
		Record: &recorder{}, Poll: 10 * time.Millisecond}
	done := make(chan []Window, 1)
	go func() { done <- sch.Run(ctx) }()
	return func() []Window { return <-done }
}

// TestServerCrashRestartsTheServer: server-crash kills the child process with a checkout in
// flight (parked at before-charge) and starts it again on the same port; the client's connection
// ends without an answer, nothing was charged, the restarted server serves new holds and
// checkouts, and the retry with the same key books, with one charge, once the dead attempt's
// checkout lease (2 s here) is over.
func TestServerCrashRestartsTheServer(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOpts{strategy: "status-expiry", dialect: "postgres", lease: 2 * time.Second})
	h := s.hold("alice", "A-1-1")
	s.arm(failpoint.BeforeCharge, failpoint.Action{Kind: failpoint.Block})
	inflight := make(chan answer, 1)
	go func() { inflight <- s.checkout(context.Background(), "alice", h, "key-crash-1") }()
	waitFor(t, 10*time.Second, "the checkout to park at before-charge", func() bool { return s.failpointHits(failpoint.BeforeCharge) >= 1 })

	pid := s.proc.Pid()
	if rec := inject(t, "server-crash", s.target, nil); rec != nil {
		t.Fatal("server-crash returned a recovery; it is instantaneous")
	}
	if a := <-inflight; a.err == nil {
		t.Fatalf("the checkout in flight during the crash got an answer %s, want its connection cut", a)
	}
	if !s.proc.Running() || s.proc.Pid() == pid {
		t.Fatalf("after server-crash: running %v, pid %d (was %d); want a new process", s.proc.Running(), s.proc.Pid(), pid)
	}
	if n := s.failpointHits(failpoint.BeforeCharge); n != -1 {
		t.Fatalf("the restarted server still has before-charge armed (%d hits)", n)
	}
	if n := len(s.chargesFor(h)); n != 0 {
		t.Fatalf("%d charges for a checkout killed before the charge, want none", n)
	}
	// The next operations succeed: another buyer holds and pays.
	h2 := s.hold("bob", "A-1-2")
	if a := s.checkout(context.Background(), "bob", h2, "key-crash-2"); a.status != http.StatusCreated {
		t.Fatalf("checkout after the restart = %s, want 201", a)
	}
	// The retry of the interrupted checkout resumes once the dead attempt's lease is over, and
	// books with one charge.
	retry := s.resume(context.Background(), "alice", h, "key-crash-1", 10*time.Second)
	if retry.status != http.StatusCreated {
		t.Fatalf("retry after the restart = %s, want the booking", retry)
	}
	if n := len(s.chargesFor(h)); n != 1 {
		t.Fatalf("%d charges for hold %s after the retry, want 1", n, h)
	}
	if l := s.ledger(); len(l.Bookings) != 2 || len(l.Refunds) != 0 {
		t.Fatalf("ledger after the crash: %d bookings, %d refunds; want 2 and 0", len(l.Bookings), len(l.Refunds))
	}
}

// TestPSPDelayRefundsThroughTheServer: payments slower than the hold TTL let another buyer take
// the seat mid-payment; the first checkout is charged, then refunded (409 hold_lost naming the
// refund), and the seat is sold once, to the other buyer. After recovery checkouts book at once.
func TestPSPDelayRefundsThroughTheServer(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ strategy, dialect string }{
		{"status-expiry", "postgres"},
		{"skip-locked", "mysql"},
	} {
		t.Run(tc.strategy+"/"+tc.dialect, func(t *testing.T) {
			t.Parallel()
			// Alice's payment takes 3 s against a 2 s TTL: Bob can take the seat from 2 s on, and
			// his hold is still live when her charge comes back at 3 s.
			ttl := 2 * time.Second
			s := startServer(t, serverOpts{strategy: tc.strategy, dialect: tc.dialect, holdTTL: ttl})
			h1 := s.hold("alice", "A-1-3")
			rec := inject(t, "psp-delay", s.target, map[string]any{"delay": "3s"})
			paid := make(chan answer, 1)
			go func() { paid <- s.checkout(context.Background(), "alice", h1, "key-slow-1") }()
			var h2 string
			waitFor(t, 5*time.Second, "bob to take the seat after alice's hold expired", func() bool {
				a := s.do(context.Background(), http.MethodPost, "/events/"+s.event+"/holds", "bob", nil, map[string]any{"seats": []string{"A-1-3"}})
				if a.status == http.StatusCreated {
					var h struct {
						ID string `json:"hold_id"`
					}
					_ = json.Unmarshal(a.body, &h)
					h2 = h.ID
					return true
				}
				if a.err != nil || a.code() != "seat_unavailable" {
					t.Fatalf("bob's hold during alice's payment = %s, want 201 or seat_unavailable", a)
				}
				time.Sleep(20 * time.Millisecond)
				return false
			})
			if len(s.chargesFor(h1)) != 0 {
				t.Fatal("alice's charge came back before bob took the seat; the delay did not hold her payment")
			}
			a := <-paid
			if a.status != http.StatusConflict || a.code() != "hold_lost" || !bytes.Contains(a.body, []byte(`"refund_id"`)) {
				t.Fatalf("alice's checkout under psp-delay = %s, want 409 hold_lost with a refund id", a)
			}
			ch := s.chargesFor(h1)
			if len(ch) != 1 || ch[0].Status != payments.StatusRefunded {
				t.Fatalf("processor charges for alice's hold = %+v, want one, refunded", ch)
			}
			if err := rec(context.Background()); err != nil {
				t.Fatal(err)
			}
			// Alice's refund was as slow as her charge, so Bob's hold may have run out meanwhile;
			// then he holds the seat again (it is free: nobody else has it) and pays.
			a = s.checkout(context.Background(), "bob", h2, "key-slow-2")
			if a.status == http.StatusConflict && a.code() == "hold_expired" {
				h2 = s.hold("bob", "A-1-3")
				a = s.checkout(context.Background(), "bob", h2, "key-slow-3")
			}
			if a.status != http.StatusCreated {
				t.Fatalf("bob's checkout after recovery = %s, want 201", a)
			}
			l := s.ledger()
			if len(l.Bookings) != 1 || l.Bookings[0].HoldID != h2 || len(l.Refunds) != 1 || l.Refunds[0].HoldID != h1 {
				t.Fatalf("ledger = %+v, want bob's booking and alice's refund", l)
			}
		})
	}
}

// TestPoolExhaustionStarvesThePool: with every connection but one hogged by chaos transactions,
// holds still go through one at a time, so a hold that keeps its connection (a delay failpoint
// inside its transaction) makes the next one wait for a connection; pool wait climbs, the hogs
// show as conn_tag chaos, and after recovery holds are served again.
func TestPoolExhaustionStarvesThePool(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOpts{strategy: "status-expiry", dialect: "postgres", poolSize: 4})
	ctx := context.Background()
	f, _, _ := Lookup("pool-exhaustion")
	p, _ := poolExhaustionSpec.resolve(nil)
	rec, err := f.Inject(ctx, s.target, p)
	if err != nil {
		t.Fatalf("pool-exhaustion: %v", err)
	}
	window := time.Now()
	before := s.metric(`stampede_db_pool_wait_seconds_count{tag="hold"}`) - s.metric(`stampede_db_pool_wait_seconds_bucket{tag="hold",le="0.152587890625"}`)
	s.arm(failpoint.InHoldTx, failpoint.Action{Kind: failpoint.Delay, Delay: 300 * time.Millisecond})
	var wg sync.WaitGroup
	for i, seat := range []string{"A-1-4", "A-1-5", "A-1-6"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := s.do(ctx, http.MethodPost, "/events/"+s.event+"/holds", fmt.Sprintf("s%d", i), nil, map[string]any{"seats": []string{seat}})
			if a.status != http.StatusCreated {
				t.Errorf("hold %s with the pool hogged = %s, want 201 (late, not refused)", seat, a)
			}
		}()
	}
	wg.Wait()
	s.mustDo(http.StatusNoContent, http.MethodDelete, "/admin/failpoints/"+failpoint.InHoldTx, "", nil)
	slow := s.metric(`stampede_db_pool_wait_seconds_count{tag="hold"}`) - s.metric(`stampede_db_pool_wait_seconds_bucket{tag="hold",le="0.152587890625"}`) - before
	if slow < 1 {
		t.Errorf("three holds of 300 ms on the one free connection: %v waited over 150 ms for it, want at least 1", slow)
	}
	if err := rec(ctx); err != nil {
		t.Fatalf("recover: %v", err)
	}
	hogged := time.Since(window).Seconds()
	if n := s.metric(`stampede_db_conn_hold_seconds_count{tag="chaos"}`); n < 3 {
		t.Errorf("%v chaos connections released, want the 3 hogged (pool of 4 but one)", n)
	}
	if sum := s.metric(`stampede_db_conn_hold_seconds_sum{tag="chaos"}`); sum < 3*hogged*0.9 {
		t.Errorf("chaos connections held %.2f s in all, want about 3 x %.2f s", sum, hogged)
	}
	h := s.hold("after", "A-1-7")
	if a := s.checkout(ctx, "after", h, "key-pool-1"); a.status != http.StatusCreated {
		t.Fatalf("checkout after recovery = %s, want 201", a)
	}
}

// metric reads one sample of the server's /metrics by its exact name and labels; 0 when absent.
func (s *refServer) metric(series string) float64 {
	s.t.Helper()
	a := s.mustDo(http.StatusOK, http.MethodGet, "/metrics", "", nil)
	for _, line := range strings.Split(string(a.body), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				s.t.Fatalf("metric %s: %q", series, v)
			}
			return f
		}
	}
	return 0
}
