package strategies

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"stampede/infra/local"
	"stampede/internal/testsvc"
)

// rlEnv is a fresh database of one dialect and a private Redis process, with a redis-lock
// strategy over them.
type rlEnv struct {
	*lkEnv
	redis *local.Process
	rdb   *redis.Client
	s     *RedisLock
}

func newRLEnv(tb testing.TB, dialect string) *rlEnv {
	tb.Helper()
	e := newLKEnv(tb, dialect)
	p, rdb := testsvc.RedisClient(tb)
	d := e.deps()
	d.Redis, d.KeyPrefix = rdb, "rl:"
	s, err := NewRedisLock(d)
	if err != nil {
		tb.Fatalf("NewRedisLock = %v", err)
	}
	return &rlEnv{lkEnv: e, redis: p, rdb: rdb, s: s}
}

// restart kills Redis (-9) and starts it empty on the same port.
func (e *rlEnv) restart(tb testing.TB) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.redis.Restart(ctx); err != nil {
		tb.Fatalf("restart redis: %v", err)
	}
	if n, err := e.rdb.DBSize(ctx).Result(); err != nil || n != 0 {
		tb.Fatalf("redis after restart has %d keys (%v), want an empty server", n, err)
	}
}

// lkBookedSeats returns seat or unit id -> booking ids, from booking_seats.
func lkBookedSeats(tb testing.TB, e *lkEnv, eventID string) map[string][]string {
	tb.Helper()
	bookings, err := e.store.Bookings(context.Background(), eventID)
	if err != nil {
		tb.Fatalf("Bookings(%s) = %v", eventID, err)
	}
	out := map[string][]string{}
	for _, b := range bookings {
		for _, seat := range b.Seats {
			out[seat] = append(out[seat], b.ID)
		}
	}
	return out
}

// paying is a charge that reports its call and then waits until the test lets it finish.
type paying struct {
	arrived sync.WaitGroup
	release chan struct{}
	calls   atomic.Int32
}

func newPaying(n int) *paying {
	p := &paying{release: make(chan struct{})}
	p.arrived.Add(n)
	return p
}

func (p *paying) charge(ctx context.Context, h Hold) (Charge, error) {
	p.calls.Add(1)
	p.arrived.Done()
	select {
	case <-p.release:
	case <-ctx.Done():
		return Charge{}, ctx.Err()
	}
	return Charge{ID: "ch_" + h.ID, AmountCents: h.AmountCents}, nil
}

func TestRedisLockRestartNeverTwoConfirms(t *testing.T) {
	for _, dialect := range testsvc.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			e := newRLEnv(t, dialect)
			e.createEvent(t, e.s, Event{ID: "tour", Name: "Tour",
				Sections: []Section{{Name: "A", Rows: 1, SeatsPerRow: 7}}, Tiers: []Tier{{Name: "pit", Quantity: 4}}})
			ctx := context.Background()

			// Before the restart: buyers A1..A6 hold seats A-1-1..6 and Apit holds the whole
			// tier; they all start paying. A7 holds A-1-7 and has not paid yet.
			var before []Hold
			for i := 1; i <= 6; i++ {
				h, err := e.s.Hold(ctx, HoldRequest{EventID: "tour", Session: fmt.Sprintf("a%d", i), Seats: []string{SeatID("A", 1, i)}})
				if err != nil {
					t.Fatalf("Hold A-1-%d = %v", i, err)
				}
				before = append(before, h)
			}
			pit, err := e.s.Hold(ctx, HoldRequest{EventID: "tour", Session: "apit", Tier: "pit", Quantity: 4})
			if err != nil {
				t.Fatalf("Hold pit = %v", err)
			}
			before = append(before, pit)
			idle, err := e.s.Hold(ctx, HoldRequest{EventID: "tour", Session: "a7", Seats: []string{"A-1-7"}})
			if err != nil {
				t.Fatalf("Hold A-1-7 = %v", err)
			}
			var lastToken int64
			for _, h := range append(before, idle) {
				lastToken = max(lastToken, h.Token)
			}

			pay := newPaying(len(before))
			results := make([]error, len(before))
			bookings := make([]Booking, len(before))
			var done sync.WaitGroup
			for i, h := range before {
				done.Add(1)
				go func() {
					defer done.Done()
					bookings[i], results[i] = e.s.Confirm(ctx, ConfirmRequest{HoldID: h.ID, Charge: pay.charge})
				}()
			}
			pay.arrived.Wait() // every A passed the pre-charge check and is paying

			e.restart(t)

			// A7's hold is gone with Redis: refused before any charge.
			var idleCharges countingCharge
			if _, err := e.s.Confirm(ctx, ConfirmRequest{HoldID: idle.ID, Charge: idleCharges.fn}); !errors.Is(err, ErrHoldNotFound) || idleCharges.calls.Load() != 0 {
				t.Errorf("Confirm of a hold lost in the restart = %v (charged %d times), want ErrHoldNotFound without a charge", err, idleCharges.calls.Load())
			}
			// After the restart, B1..B3 take and buy seats 1..3, Bpit the whole tier. Their
			// tokens continue above every token handed out before the restart.
			var after []Booking
			for i := 1; i <= 3; i++ {
				h, err := e.s.Hold(ctx, HoldRequest{EventID: "tour", Session: fmt.Sprintf("b%d", i), Seats: []string{SeatID("A", 1, i)}})
				if err != nil {
					t.Fatalf("Hold A-1-%d after the restart = %v", i, err)
				}
				if h.Token <= lastToken {
					t.Errorf("token after the restart %d, want above %d (the largest before it)", h.Token, lastToken)
				}
				b, err := e.s.Confirm(ctx, ConfirmRequest{HoldID: h.ID})
				if err != nil {
					t.Fatalf("Confirm of B%d = %v", i, err)
				}
				after = append(after, b)
			}
			bpit, err := e.s.Hold(ctx, HoldRequest{EventID: "tour", Session: "bpit", Tier: "pit", Quantity: 4})
			if err != nil {
				t.Fatalf("Hold pit after the restart = %v", err)
			}
			if _, err := e.s.Confirm(ctx, ConfirmRequest{HoldID: bpit.ID}); err != nil {
				t.Fatalf("Confirm of Bpit = %v", err)
			}

			close(pay.release)
			done.Wait()
			for i, err := range results[:3] {
				if !errors.Is(err, ErrHoldLost) {
					t.Errorf("A%d (seat sold to B%d during its payment): Confirm = %v, want ErrHoldLost", i+1, i+1, err)
				}
			}
			for i, err := range results[3:6] {
				if err != nil {
					t.Errorf("A%d (lock lost, seat untouched): Confirm = %v, want a booking", i+4, err)
				}
			}
			if !errors.Is(results[6], ErrHoldLost) {
				t.Errorf("Apit (tier sold to Bpit during its payment): Confirm = %v, want ErrHoldLost", results[6])
			}

			booked := lkBookedSeats(t, e.lkEnv, "tour")
			for i := 1; i <= 6; i++ {
				seat := SeatID("A", 1, i)
				want := bookings[i-1].ID
				if i <= 3 {
					want = after[i-1].ID
				}
				if len(booked[seat]) != 1 || booked[seat][0] != want {
					t.Errorf("seat %s booked by %v, want exactly [%s]", seat, booked[seat], want)
				}
			}
			a, err := e.s.Availability(ctx, "tour")
			if err != nil {
				t.Fatal(err)
			}
			if tr := a.Tiers[0]; tr.Sold != 4 || tr.Held != 0 || tr.Available != 0 {
				t.Errorf("tier after two buyers of the whole tier = %+v, want exactly 4 sold", tr)
			}
		})
	}
}

func TestRedisLockHerdAfterRestart(t *testing.T) {
	for _, dialect := range testsvc.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			e := newRLEnv(t, dialect)
			e.createEvent(t, e.s, Event{ID: "herd", Name: "Herd", Sections: []Section{{Name: "A", Rows: 4, SeatsPerRow: 8}}})
			ctx := context.Background()
			sold, err := e.s.Hold(ctx, HoldRequest{EventID: "herd", Session: "early", Seats: []string{"A-1-1"}})
			if err != nil {
				t.Fatalf("Hold = %v", err)
			}
			if _, err := e.s.Confirm(ctx, ConfirmRequest{HoldID: sold.ID}); err != nil {
				t.Fatalf("Confirm = %v", err)
			}
			e.restart(t)

			// 32 buyers arrive at once on the empty Redis, one of them for the sold seat: the
			// event is seeded once, the sold seat stays sold, every other seat gets exactly one
			// holder, and the tokens are distinct and above the sale's.
			holds := make([]Hold, 32)
			errs := make([]error, 32)
			lkRun(32, func(i int) {
				seat := SeatID("A", i/8+1, i%8+1)
				holds[i], errs[i] = e.s.Hold(ctx, HoldRequest{EventID: "herd", Session: fmt.Sprintf("s%d", i), Seats: []string{seat}})
			})
			if !errors.Is(errs[0], ErrUnavailable) {
				t.Errorf("Hold of the seat sold before the restart = %v, want ErrUnavailable", errs[0])
			}
			tokens := map[int64]bool{}
			for i := 1; i < 32; i++ {
				if errs[i] != nil {
					t.Errorf("Hold of free seat #%d after the restart = %v", i, errs[i])
					continue
				}
				if holds[i].Token <= sold.Token || tokens[holds[i].Token] {
					t.Errorf("token %d of hold #%d: want distinct and above %d", holds[i].Token, i, sold.Token)
				}
				tokens[holds[i].Token] = true
			}
		})
	}
}

func TestRedisLockStaleFencingToken(t *testing.T) {
	for _, dialect := range testsvc.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			e := newRLEnv(t, dialect)
			ctx := context.Background()
			tests := []struct {
				name string
				// during runs inside A's charge, after A's hold expired; it returns B's hold id
				// and booking id (empty when B does not buy).
				during func(t *testing.T, event string) (string, string)
			}{
				{"newer holder has not bought", func(t *testing.T, event string) (string, string) {
					h, err := e.s.Hold(ctx, HoldRequest{EventID: event, Session: "b", Seats: []string{"A-1-1"}})
					if err != nil {
						t.Fatalf("B's Hold = %v", err)
					}
					return h.ID, ""
				}},
				{"newer holder bought first", func(t *testing.T, event string) (string, string) {
					h, err := e.s.Hold(ctx, HoldRequest{EventID: event, Session: "b", Seats: []string{"A-1-1"}})
					if err != nil {
						t.Fatalf("B's Hold = %v", err)
					}
					b, err := e.s.Confirm(ctx, ConfirmRequest{HoldID: h.ID})
					if err != nil {
						t.Fatalf("B's Confirm = %v", err)
					}
					return h.ID, b.ID
				}},
			}
			for i, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					event := fmt.Sprintf("ev%d", i)
					e.createEvent(t, e.s, Event{ID: event, Name: "Ev", Sections: []Section{{Name: "A", Rows: 1, SeatsPerRow: 1}}})
					a, err := e.s.Hold(ctx, HoldRequest{EventID: event, Session: "a", Seats: []string{"A-1-1"}})
					if err != nil {
						t.Fatalf("A's Hold = %v", err)
					}
					var bHold, bBooking string
					var calls int
					_, err = e.s.Confirm(ctx, ConfirmRequest{HoldID: a.ID, Charge: func(context.Context, Hold) (Charge, error) {
						calls++
						e.clock.Advance(11 * time.Minute) // A's hold expires while A pays
						bHold, bBooking = tc.during(t, event)
						return Charge{ID: "ch_a"}, nil
					}})
					if !errors.Is(err, ErrHoldLost) || calls != 1 {
						t.Fatalf("A's Confirm with an older token = %v (charged %d times), want ErrHoldLost after one charge", err, calls)
					}
					bh, err := e.s.GetHold(ctx, bHold)
					if err != nil || bh.Token <= a.Token {
						t.Fatalf("B's hold = %+v, %v; want a token above A's %d", bh, err, a.Token)
					}
					if bBooking == "" {
						b, err := e.s.Confirm(ctx, ConfirmRequest{HoldID: bHold})
						if err != nil {
							t.Fatalf("B's Confirm after A lost = %v", err)
						}
						bBooking = b.ID
					}
					var status, booking string
					var fence int64
					if err := e.db.QueryRow(ctx, "test", "SELECT status, booking_id, fence FROM seats WHERE event_id = ? AND seat_id = 'A-1-1'",
						[]any{&status, &booking, &fence}, event); err != nil {
						t.Fatal(err)
					}
					if status != SeatSold || booking != bBooking || fence != bh.Token {
						t.Errorf("seat row = %s, booking %s, fence %d; want sold to B (%s) with B's token %d", status, booking, fence, bBooking, bh.Token)
					}
					if got := lkBookedSeats(t, e.lkEnv, event); len(got) != 1 || len(got["A-1-1"]) != 1 || got["A-1-1"][0] != bBooking {
						t.Errorf("bookings = %v, want only B's %s", got, bBooking)
					}
				})
			}

			t.Run("database fence newer than the token", func(t *testing.T) {
				// The seat's row carries a later sale's token (a seat sold and put back on sale):
				// a holder whose token is older is refused by the database itself, even though
				// Redis still says the lock is its own.
				e.createEvent(t, e.s, Event{ID: "resale", Name: "Resale", Sections: []Section{{Name: "A", Rows: 1, SeatsPerRow: 1}}})
				a, err := e.s.Hold(ctx, HoldRequest{EventID: "resale", Session: "a", Seats: []string{"A-1-1"}})
				if err != nil {
					t.Fatalf("Hold = %v", err)
				}
				if _, err := e.db.Exec(ctx, "test", "UPDATE seats SET fence = ? WHERE event_id = 'resale'", a.Token+1); err != nil {
					t.Fatal(err)
				}
				var ch countingCharge
				if _, err := e.s.Confirm(ctx, ConfirmRequest{HoldID: a.ID, Charge: ch.fn}); !errors.Is(err, ErrHoldLost) || ch.calls.Load() != 1 {
					t.Fatalf("Confirm with a token below the seat's fence = %v (charged %d), want ErrHoldLost after the charge", err, ch.calls.Load())
				}
				if got := lkBookedSeats(t, e.lkEnv, "resale"); len(got) != 0 {
					t.Errorf("bookings = %v, want none", got)
				}
				var status string
				if err := e.db.QueryRow(ctx, "test", "SELECT status FROM seats WHERE event_id = 'resale'", []any{&status}); err != nil || status != SeatAvailable {
					t.Errorf("seat row status = %q (%v), want available", status, err)
				}
			})
		})
	}
}

func TestRedisLockGANeverOversellsWhenRedisForgets(t *testing.T) {
	for _, dialect := range testsvc.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			e := newRLEnv(t, dialect)
			e.createEvent(t, e.s, Event{ID: "ga", Name: "GA", Tiers: []Tier{{Name: "floor", Quantity: 4}}})
			ctx := context.Background()

			// Redis admits 3 units. Then units are sold that Redis does not know about (a server
			// whose last step failed, say): the database's guard refuses the sale that would
			// oversell, after the charge.
			a, err := e.s.Hold(ctx, HoldRequest{EventID: "ga", Session: "a", Tier: "floor", Quantity: 3})
			if err != nil {
				t.Fatalf("Hold 3 of 4 = %v", err)
			}
			if _, err := e.db.Exec(ctx, "test", "UPDATE ga_tiers SET available = available - 2, sold = sold + 2 WHERE event_id = 'ga'"); err != nil {
				t.Fatal(err)
			}
			var ch countingCharge
			if _, err := e.s.Confirm(ctx, ConfirmRequest{HoldID: a.ID, Charge: ch.fn}); !errors.Is(err, ErrHoldLost) || ch.calls.Load() != 1 {
				t.Fatalf("Confirm of 3 units with 2 left = %v (charged %d), want ErrHoldLost after the charge", err, ch.calls.Load())
			}
			// After a restart the tier is rebuilt from the database: 2 sold, 2 left.
			e.restart(t)
			if _, err := e.s.Hold(ctx, HoldRequest{EventID: "ga", Session: "b", Tier: "floor", Quantity: 3}); !errors.Is(err, ErrSoldOut) {
				t.Fatalf("Hold 3 after the restart with 2 left = %v, want ErrSoldOut", err)
			}
			b, err := e.s.Hold(ctx, HoldRequest{EventID: "ga", Session: "b", Tier: "floor", Quantity: 2})
			if err != nil {
				t.Fatalf("Hold the last 2 = %v", err)
			}
			if _, err := e.s.Confirm(ctx, ConfirmRequest{HoldID: b.ID}); err != nil {
				t.Fatalf("Confirm the last 2 = %v", err)
			}
			var sold, avail int64
			if err := e.db.QueryRow(ctx, "test", "SELECT sold, available FROM ga_tiers WHERE event_id = 'ga'", []any{&sold, &avail}); err != nil {
				t.Fatal(err)
			}
			if sold != 4 || avail != 0 {
				t.Errorf("tier row sold %d, available %d; want 4 and 0", sold, avail)
			}
		})
	}
}

func TestNewRedisLockNeedsRedis(t *testing.T) {
	e := newLKEnv(t, "postgres")
	if _, err := NewRedisLock(e.deps()); err == nil {
		t.Fatal("NewRedisLock without a Redis client = nil error, want one")
	}
	if _, err := New("redis-lock", e.deps(), false); err == nil {
		t.Fatal(`New("redis-lock") without a Redis client = nil error, want one`)
	}
}

// TestRedisLockAvailabilityShowsASaleAfterItsRead: Availability reads the database, then the
// seats' Redis keys. A sale committed between the two (Redis records "sold|BOOKING" only after
// the database sold the seat) must show the seat sold, not available: a seat map that shows a
// seat available after its sale completed is a stale read the checker rightly refuses.
func TestRedisLockAvailabilityShowsASaleAfterItsRead(t *testing.T) {
	for _, dialect := range testsvc.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			e := newRLEnv(t, dialect)
			ctx := context.Background()
			e.createEvent(t, e.s, Event{ID: "ev", Name: "Ev", Sections: []Section{{Name: "A", Rows: 1, SeatsPerRow: 2}}})
			// The database still shows A-1-1 available (its sale commits after the read); Redis
			// already has the sale, as finalize.lua writes it.
			if err := e.rdb.Set(ctx, e.s.seatKey("ev", "A-1-1"), "sold|bk_1", 0).Err(); err != nil {
				t.Fatal(err)
			}
			a, err := e.s.Availability(ctx, "ev")
			if err != nil {
				t.Fatalf("Availability = %v", err)
			}
			got := map[string]SeatState{}
			for _, s := range a.Seats {
				got[s.ID] = s
			}
			if s := got["A-1-1"]; s.Status != SeatSold || s.BookingID != "bk_1" {
				t.Errorf("A-1-1 = %+v, want sold to bk_1 (Redis has the sale)", s)
			}
			if s := got["A-1-2"]; s.Status != SeatAvailable {
				t.Errorf("A-1-2 = %+v, want available", s)
			}
		})
	}
}
