package chaos

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"stampede/internal/failpoint"
	"stampede/server/payments"
)

// TestCrashAtAfterCharge: `when: {failpoint: after-charge, hit: 1}` makes the server kill itself
// right after the processor charged and before the booking, the moment a timer rarely hits.
// The schedule sees the server gone and restarts it; the charge exists exactly once, nothing
// was sold yet, the restarted server sells again, and the client's retry with the same key
// books with that charge once the dead attempt's checkout lease (2 s here) is over.
func TestCrashAtAfterCharge(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ strategy, dialect string }{
		{"status-expiry", "postgres"},
		{"pessimistic", "mysql"}, // charges inside its transaction: the crash rolls the sale back
		{"redis-lock", "postgres"},
		{"skip-locked", "mysql"},
	} {
		t.Run(tc.strategy+"/"+tc.dialect, func(t *testing.T) {
			t.Parallel()
			s := startServer(t, serverOpts{strategy: tc.strategy, dialect: tc.dialect, lease: 2 * time.Second})
			h := s.hold("alice", "A-1-1")
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			wait := s.schedule(ctx, map[string]any{"fault": "server-crash",
				"when": map[string]any{"failpoint": failpoint.AfterCharge, "hit": 1}})
			waitFor(t, 10*time.Second, "the schedule to arm after-charge", func() bool { return s.failpointHits(failpoint.AfterCharge) == 0 })
			pid := s.proc.Pid()

			a := s.checkout(ctx, "alice", h, "key-fp-1")
			if a.err == nil {
				t.Fatalf("checkout through a crash at after-charge = %s, want the connection cut", a)
			}
			ws := wait()
			if ws[0].Err != nil || ws[0].Start == 0 {
				t.Fatalf("server-crash window = %+v, want injected", ws[0])
			}
			if !s.proc.Running() || s.proc.Pid() == pid {
				t.Fatalf("after the crash: running %v, pid %d (was %d); want a new process", s.proc.Running(), s.proc.Pid(), pid)
			}
			ch := s.chargesFor(h)
			if len(ch) != 1 || ch[0].Status != payments.StatusCaptured {
				t.Fatalf("processor charges for the hold = %+v, want exactly one, captured, made before the crash", ch)
			}
			if l := s.ledger(); len(l.Bookings) != 0 {
				t.Fatalf("ledger after a crash between the charge and the booking: %d bookings, want none yet", len(l.Bookings))
			}

			// The restarted server sells: another buyer holds and pays.
			h2 := s.hold("bob", "A-1-2")
			if a := s.checkout(ctx, "bob", h2, "key-fp-2"); a.status != http.StatusCreated {
				t.Fatalf("checkout after the restart = %s, want 201", a)
			}

			// The retry resumes once the dead attempt's lease is over, and books with the charge
			// made before the crash: never a second one.
			retry := s.resume(ctx, "alice", h, "key-fp-1", 10*time.Second)
			if retry.status != http.StatusCreated || retry.chargeID() != ch[0].ID {
				t.Fatalf("retry after the restart = %s, want 201 paid by the charge made before the crash, %s", retry, ch[0].ID)
			}
			if n := len(s.chargesFor(h)); n != 1 {
				t.Fatalf("%d charges for alice's hold after her retry, want still 1", n)
			}
			if l := s.ledger(); len(l.Bookings) != 2 || len(l.Refunds) != 0 {
				t.Fatalf("ledger: %d bookings, %d refunds; want alice's and bob's, no refund", len(l.Bookings), len(l.Refunds))
			}
		})
	}
}

// TestAmbiguousChargeOnTrigger: `when: {failpoint: before-charge, hit: 1}` parks the first
// checkout just before its charge, puts psp-ambiguous in place, then lets it go: the processor
// charges and the answer is lost, so the client is told the outcome is unknown (503). After the
// window, the retry with the same key books with that very charge, made once.
func TestAmbiguousChargeOnTrigger(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOpts{strategy: "status-expiry", dialect: "postgres"})
	h := s.hold("alice", "A-1-1")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	wait := s.schedule(ctx, map[string]any{"fault": "psp-ambiguous", "rate": 1, "for": "300ms",
		"when": map[string]any{"failpoint": failpoint.BeforeCharge, "hit": 1}})
	waitFor(t, 10*time.Second, "the schedule to arm before-charge", func() bool { return s.failpointHits(failpoint.BeforeCharge) == 0 })

	a := s.checkout(ctx, "alice", h, "key-amb-1")
	if a.status != http.StatusServiceUnavailable || a.code() != "unavailable" {
		t.Fatalf("checkout whose charge answer was lost = %s, want 503 unavailable (outcome unknown)", a)
	}
	ch := s.chargesFor(h)
	if len(ch) != 1 {
		t.Fatalf("processor charges for the hold = %+v, want the one whose answer was lost", ch)
	}
	ws := wait()
	if ws[0].Err != nil || ws[0].End-ws[0].Start < int64(300*time.Millisecond) {
		t.Fatalf("psp-ambiguous window = %+v, want injected for 300ms", ws[0])
	}
	if n := s.failpointHits(failpoint.BeforeCharge); n != -1 {
		t.Fatalf("before-charge still armed after the trigger (%d hits)", n)
	}
	retry := s.checkout(ctx, "alice", h, "key-amb-1")
	if retry.status != http.StatusCreated || retry.chargeID() != ch[0].ID {
		t.Fatalf("retry after recovery = %s, want 201 paid by charge %s", retry, ch[0].ID)
	}
	if n := len(s.chargesFor(h)); n != 1 {
		t.Fatalf("%d charges after the retry, want 1", n)
	}
}

// TestRedisRestartBetweenLockAndWrite: for redis-lock, Redis restarts (every lock gone) while a
// paid checkout sits between its lock check and its database write (after-redis-lock). Another
// buyer takes the seat in the empty Redis and pays first; when the first checkout goes on, the
// fencing token refuses its write, and it is refunded. The seat is sold once; every charge is
// a booking or a refund.
func TestRedisRestartBetweenLockAndWrite(t *testing.T) {
	t.Parallel()
	for _, dialect := range []string{"postgres", "mysql"} {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			s := startServer(t, serverOpts{strategy: "redis-lock", dialect: dialect})
			h1 := s.hold("alice", "A-1-1")
			// Only the first confirm parks; the others pass.
			s.arm(failpoint.AfterRedisLock, failpoint.Action{Kind: failpoint.Block, From: 1, Times: 1})
			paid := make(chan answer, 1)
			go func() { paid <- s.checkout(context.Background(), "alice", h1, "key-fence-1") }()
			waitFor(t, 10*time.Second, "alice's checkout to park after the lock check", func() bool {
				return s.failpointHits(failpoint.AfterRedisLock) >= 1
			})
			if ch := s.chargesFor(h1); len(ch) != 1 {
				t.Fatalf("alice parked after-redis-lock with charges %+v, want her one charge", ch)
			}
			inject(t, "redis-restart", s.target, nil)

			// Redis forgot alice's lock: bob can take the seat, and pays.
			var h2 string
			waitFor(t, 10*time.Second, "bob to hold the seat in the restarted Redis", func() bool {
				a := s.do(context.Background(), http.MethodPost, "/events/"+s.event+"/holds", "bob", nil, map[string]any{"seats": []string{"A-1-1"}})
				switch {
				case a.status == http.StatusCreated:
					var h struct {
						ID string `json:"hold_id"`
					}
					_ = json.Unmarshal(a.body, &h)
					h2 = h.ID
					return true
				case a.status == http.StatusServiceUnavailable:
					time.Sleep(20 * time.Millisecond) // the server's Redis connections are reconnecting
					return false
				}
				t.Fatalf("bob's hold after the Redis restart = %s, want 201 (the lock is gone)", a)
				return false
			})
			if a := s.checkout(context.Background(), "bob", h2, "key-fence-2"); a.status != http.StatusCreated {
				t.Fatalf("bob's checkout = %s, want 201", a)
			}
			// Alice goes on: her token is older than the one bob's sale wrote.
			s.mustDo(http.StatusNoContent, http.MethodDelete, "/admin/failpoints/"+failpoint.AfterRedisLock, "", nil)
			a := <-paid
			if a.status != http.StatusConflict || a.code() != "hold_lost" {
				t.Fatalf("alice's checkout after bob bought her seat = %s, want 409 hold_lost", a)
			}
			l := s.ledger()
			if len(l.Bookings) != 1 || l.Bookings[0].HoldID != h2 {
				t.Fatalf("ledger bookings = %+v, want bob's alone", l.Bookings)
			}
			if ch := s.chargesFor(h1); len(ch) != 1 || ch[0].Status != payments.StatusRefunded {
				t.Fatalf("alice's charges = %+v, want one, refunded", ch)
			}
			if ch := s.chargesFor(h2); len(ch) != 1 || ch[0].Status != payments.StatusCaptured {
				t.Fatalf("bob's charges = %+v, want one, captured", ch)
			}
		})
	}
}

// TestFailedSaleFreesTheSeat: a sale that fails inside the confirm transaction after the charge
// (an injected error at in-confirm-tx, as a database link cut mid-write does) ends in a refund,
// and the seat is not kept from others: once the hold's TTL has passed, another buyer holds and
// buys it.
func TestFailedSaleFreesTheSeat(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ strategy, dialect string }{
		{"status-expiry", "mysql"},
		{"pessimistic", "postgres"},
		{"redis-lock", "postgres"},
		{"skip-locked", "postgres"},
	} {
		t.Run(tc.strategy+"/"+tc.dialect, func(t *testing.T) {
			t.Parallel()
			ttl := time.Second
			s := startServer(t, serverOpts{strategy: tc.strategy, dialect: tc.dialect, holdTTL: ttl})
			h1 := s.hold("alice", "A-1-1")
			held := time.Now()
			s.arm(failpoint.InConfirmTx, failpoint.Action{Kind: failpoint.Error, Times: 1})
			a := s.checkout(context.Background(), "alice", h1, "key-fail-1")
			if a.status == http.StatusServiceUnavailable && tc.strategy == "pessimistic" {
				// The pessimistic strategy charges inside the transaction the error rolled back, and
				// leaves the outcome to the retry: it books with the one charge, or, the hold having
				// run out meanwhile, refunds it.
				a = s.checkout(context.Background(), "alice", h1, "key-fail-1")
				if a.status == http.StatusCreated {
					if ch := s.chargesFor(h1); len(ch) != 1 || ch[0].Status != payments.StatusCaptured {
						t.Fatalf("alice's charges after her retry booked = %+v, want one, captured", ch)
					}
					if l := s.ledger(); len(l.Bookings) != 1 || len(l.Refunds) != 0 {
						t.Fatalf("ledger = %+v, want alice's booking alone", l)
					}
					return
				}
			}
			if a.status != http.StatusConflict || a.code() != "hold_lost" {
				t.Fatalf("checkout whose sale failed after the charge = %s, want 409 hold_lost", a)
			}
			if ch := s.chargesFor(h1); len(ch) != 1 || ch[0].Status != payments.StatusRefunded {
				t.Fatalf("alice's charges = %+v, want one, refunded", ch)
			}
			// Bob may have to wait for alice's hold to run out, and no longer.
			var h2 string
			var last answer
			deadline := held.Add(ttl + 3*time.Second)
			for h2 == "" && time.Now().Before(deadline) {
				last = s.do(context.Background(), http.MethodPost, "/events/"+s.event+"/holds", "bob", nil, map[string]any{"seats": []string{"A-1-1"}})
				switch {
				case last.status == http.StatusCreated:
					var h struct {
						ID string `json:"hold_id"`
					}
					_ = json.Unmarshal(last.body, &h)
					h2 = h.ID
				case last.err != nil || last.code() != "seat_unavailable":
					t.Fatalf("bob's hold = %s, want 201 or seat_unavailable", last)
				default:
					time.Sleep(50 * time.Millisecond)
				}
			}
			if h2 == "" {
				t.Fatalf("seat still refused %s after alice's hold expired and she was refunded: %s", time.Since(held)-ttl, last)
			}
			if a := s.checkout(context.Background(), "bob", h2, "key-fail-2"); a.status != http.StatusCreated {
				t.Fatalf("bob's checkout = %s, want 201", a)
			}
			if l := s.ledger(); len(l.Bookings) != 1 || l.Bookings[0].HoldID != h2 || len(l.Refunds) != 1 {
				t.Fatalf("ledger = %+v, want bob's booking and alice's refund", l)
			}
		})
	}
}
