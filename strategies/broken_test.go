package strategies

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"stampede/internal/testsvc"
)

// brokenVariants are the strategies broken on purpose besides naive, each with the safe
// strategy it is a variant of.
var brokenVariants = []struct{ name, safe string }{
	{"redis-lock-unfenced", "redis-lock"},
	{"status-expiry-blind", "status-expiry"},
	{"skip-locked-resold", "skip-locked"},
}

// TestBrokenVariantsRegisteredAsUnsafe: every variant of Broken (the two above and the
// flawed ones) is unsafe, built on a safe strategy, says it is broken on purpose, and is
// refused without allowUnsafe; the server-side flaws are known by name.
func TestBrokenVariantsRegisteredAsUnsafe(t *testing.T) {
	db := openDB(t, "postgres", 2)
	if n := len(Broken()); n != 10 {
		t.Errorf("%d broken variants, want 10: %+v", n, Broken())
	}
	for _, name := range []string{"double-charge", "phantom-refund", "no-admission"} {
		if FlawOf(name) == "" {
			t.Errorf("FlawOf(%s) is empty", name)
		}
	}
	for _, s := range Safe() {
		if FlawOf(s) != "" {
			t.Errorf("safe strategy %s has flaw %q", s, FlawOf(s))
		}
	}
	for _, bv := range Broken() {
		v := struct{ name, safe string }{bv.Name, bv.Safe}
		t.Run(v.name, func(t *testing.T) {
			if !Unsafe(v.name) || Unsafe(v.safe) {
				t.Fatalf("Unsafe(%s) = %v, Unsafe(%s) = %v; want true, false", v.name, Unsafe(v.name), v.safe, Unsafe(v.safe))
			}
			if !slices.Contains(Names(), v.name) || slices.Contains(Safe(), v.name) {
				t.Fatalf("Names() = %v, Safe() = %v; want %s in the first only", Names(), Safe(), v.name)
			}
			if !strings.Contains(About(v.name), "broken on purpose") {
				t.Fatalf("About(%s) = %q, want it to say it is broken on purpose", v.name, About(v.name))
			}
			_, err := New(v.name, Deps{DB: db}, false)
			if err == nil || !strings.Contains(err.Error(), "--allow-unsafe") {
				t.Fatalf("New(%s, allowUnsafe=false) = %v, want a refusal naming --allow-unsafe", v.name, err)
			}
		})
	}
}

// brokenEnv is a fresh database of one dialect with a settable clock, and a private Redis.
type brokenEnv struct {
	*lkEnv
	rdb *redis.Client
}

func newBrokenEnv(tb testing.TB, dialect string) *brokenEnv {
	tb.Helper()
	e := newLKEnv(tb, dialect)
	_, rdb := testsvc.RedisClient(tb)
	return &brokenEnv{lkEnv: e, rdb: rdb}
}

// strategy builds the named strategy through the registry (unsafe ones allowed) with a Redis
// prefix of its own, and creates a one-seat event for it.
func (e *brokenEnv) strategy(tb testing.TB, name, event string) Strategy {
	tb.Helper()
	d := e.deps()
	d.Redis, d.KeyPrefix = e.rdb, name+":"+event+":"
	s, err := New(name, d, true)
	if err != nil {
		tb.Fatalf("New(%s) = %v", name, err)
	}
	if s.Name() != name {
		tb.Fatalf("New(%s).Name() = %q", name, s.Name())
	}
	e.createEvent(tb, s, Event{ID: event, Name: "Ev", Sections: []Section{{Name: "A", Rows: 1, SeatsPerRow: 1}}})
	return s
}

// TestBrokenVariantsSellTwice shows on both databases that each broken variant sells a seat
// twice where its safe strategy does not. Buyer A holds the only seat; A's hold expires (the
// application clock moves past it); buyer B holds the seat and buys it; A's confirm, either
// after B bought or while A was paying, then books the seat as well. The safe strategies,
// in the same steps, refuse A: before the charge (ErrHoldExpired) or after it (ErrHoldLost).
func TestBrokenVariantsSellTwice(t *testing.T) {
	ctx := context.Background()
	for _, dialect := range testsvc.Dialects {
		t.Run(dialect, func(t *testing.T) {
			e := newBrokenEnv(t, dialect)
			var names []string
			for _, v := range brokenVariants {
				names = append(names, v.name, v.safe)
			}
			scenarios := []struct {
				name string
				// safeErr is what the safe strategy's confirm of A returns.
				safeErr error
				// duringPayment makes the expiry, and B's hold and purchase, happen inside A's
				// charge; otherwise they happen before A confirms.
				duringPayment bool
			}{
				{"confirm after the other buyer bought", ErrHoldExpired, false},
				{"other buyer bought during the payment", ErrHoldLost, true},
			}
			for i, sc := range scenarios {
				for _, name := range names {
					t.Run(sc.name+"/"+name, func(t *testing.T) {
						event := fmt.Sprintf("ev%d-%s", i, name)
						s := e.strategy(t, name, event)
						seat := []string{"A-1-1"}
						a, err := s.Hold(ctx, HoldRequest{EventID: event, Session: "a", Seats: seat})
						if err != nil {
							t.Fatalf("A's Hold = %v", err)
						}
						var bBooking string
						otherBuyer := func() {
							e.clock.Advance(11 * time.Minute) // past A's 10-minute hold
							bh, err := s.Hold(ctx, HoldRequest{EventID: event, Session: "b", Seats: seat})
							if err != nil {
								t.Fatalf("B's Hold after A's expired = %v", err)
							}
							b, err := s.Confirm(ctx, ConfirmRequest{HoldID: bh.ID, Charge: func(context.Context, Hold) (Charge, error) {
								return Charge{ID: "ch_b"}, nil
							}})
							if err != nil {
								t.Fatalf("B's Confirm = %v", err)
							}
							bBooking = b.ID
						}
						if !sc.duringPayment {
							otherBuyer()
						}
						charges := 0
						ab, err := s.Confirm(ctx, ConfirmRequest{HoldID: a.ID, Charge: func(context.Context, Hold) (Charge, error) {
							charges++
							if sc.duringPayment {
								otherBuyer()
							}
							return Charge{ID: "ch_a"}, nil
						}})
						booked := lkBookedSeats(t, e.lkEnv, event)["A-1-1"]
						if Unsafe(name) {
							if err != nil {
								t.Fatalf("A's Confirm of an expired hold whose seat B bought = %v, want the broken variant to book it", err)
							}
							slices.Sort(booked)
							want := []string{ab.ID, bBooking}
							slices.Sort(want)
							if !slices.Equal(booked, want) {
								t.Fatalf("bookings of A-1-1 = %v, want both A's and B's %v: the seat sold twice", booked, want)
							}
							return
						}
						if !errors.Is(err, sc.safeErr) {
							t.Fatalf("A's Confirm = %v, %v; want %v", ab, err, sc.safeErr)
						}
						if !slices.Equal(booked, []string{bBooking}) {
							t.Fatalf("bookings of A-1-1 = %v, want only B's %s", booked, bBooking)
						}
						if wantCharges := map[bool]int{false: 0, true: 1}[sc.duringPayment]; charges != wantCharges {
							t.Fatalf("A was charged %d times, want %d", charges, wantCharges)
						}
					})
				}
			}
		})
	}
}

// TestWriteBehindLosesUnwrittenBookings: the write-behind variant answers a confirm with a
// booking that only its own process can read (its BookingStore writes it first); another
// process over the same database, which is what a restarted server is, finds no such booking
// until the write happens. status-expiry's booking is there for everyone at once.
func TestWriteBehindLosesUnwrittenBookings(t *testing.T) {
	ctx := context.Background()
	e := newBrokenEnv(t, "postgres")
	for _, name := range []string{"write-behind", "status-expiry"} {
		t.Run(name, func(t *testing.T) {
			s := e.strategy(t, name, "wb-"+name)
			h, err := s.Hold(ctx, HoldRequest{EventID: "wb-" + name, Session: "a", Seats: []string{"A-1-1"}})
			if err != nil {
				t.Fatalf("Hold = %v", err)
			}
			b, err := s.Confirm(ctx, ConfirmRequest{HoldID: h.ID, Session: "a"})
			if err != nil {
				t.Fatalf("Confirm = %v", err)
			}
			_, err = NewStore(e.db, nil).GetBooking(ctx, b.ID)
			if name == "write-behind" && !errors.Is(err, ErrBookingNotFound) {
				t.Fatalf("another process reads booking %s at once: %v; want not found", b.ID, err)
			}
			if name == "status-expiry" && err != nil {
				t.Fatalf("another process reads booking %s: %v", b.ID, err)
			}
			if _, err := BookingStore(s, e.db, nil).GetBooking(ctx, b.ID); err != nil {
				t.Fatalf("the server's own store reads booking %s: %v", b.ID, err)
			}
			if _, err := NewStore(e.db, nil).GetBooking(ctx, b.ID); err != nil {
				t.Fatalf("after the write, another process reads booking %s: %v", b.ID, err)
			}
		})
	}
}

// TestWriteBehindReadWritesOnlyWhatItReads: the server's read of one booking (as a checkout
// does before it refunds) writes that booking alone; another booking answered before it stays
// unwritten, for a crash to lose.
func TestWriteBehindReadWritesOnlyWhatItReads(t *testing.T) {
	ctx := context.Background()
	e := newBrokenEnv(t, "postgres")
	s := e.strategy(t, "write-behind", "wbr-a")
	e.createEvent(t, s, Event{ID: "wbr-b", Name: "Ev", Sections: []Section{{Name: "A", Rows: 1, SeatsPerRow: 1}}})
	var ids []string
	for _, event := range []string{"wbr-a", "wbr-b"} {
		h, err := s.Hold(ctx, HoldRequest{EventID: event, Session: "a", Seats: []string{"A-1-1"}})
		if err != nil {
			t.Fatalf("Hold in %s = %v", event, err)
		}
		b, err := s.Confirm(ctx, ConfirmRequest{HoldID: h.ID, Session: "a"})
		if err != nil {
			t.Fatalf("Confirm in %s = %v", event, err)
		}
		ids = append(ids, b.ID)
	}
	if _, err := BookingStore(s, e.db, nil).GetBooking(ctx, ids[1]); err != nil {
		t.Fatalf("the server's own store reads booking %s: %v", ids[1], err)
	}
	if _, err := NewStore(e.db, nil).GetBooking(ctx, ids[1]); err != nil {
		t.Fatalf("after its read, another process reads booking %s: %v", ids[1], err)
	}
	if _, err := NewStore(e.db, nil).GetBooking(ctx, ids[0]); !errors.Is(err, ErrBookingNotFound) {
		t.Fatalf("another process reads booking %s, which nothing read: %v; want not found", ids[0], err)
	}
}

// TestHoldLeakStoresALaterExpiry: the hold-leak variant answers a seat hold with the TTL's
// expiry and stores the seat to expire leakedHoldLife later, on PostgreSQL too (whose safe
// seat holds are one statement that stores the expiry it answers); status-expiry stores the
// expiry it answers.
func TestHoldLeakStoresALaterExpiry(t *testing.T) {
	ctx := context.Background()
	e := newBrokenEnv(t, "postgres")
	for _, name := range []string{"hold-leak", "status-expiry"} {
		t.Run(name, func(t *testing.T) {
			event := "hl-" + name
			s := e.strategy(t, name, event)
			h, err := s.Hold(ctx, HoldRequest{EventID: event, Session: "a", Seats: []string{"A-1-1"}})
			if err != nil {
				t.Fatalf("Hold = %v", err)
			}
			var stored time.Time
			if err := e.db.QueryRow(ctx, "test", "SELECT expires_at FROM seats WHERE event_id = ? AND seat_id = ?", []any{&stored}, event, "A-1-1"); err != nil {
				t.Fatal(err)
			}
			late := stored.Sub(h.Expires)
			if name == "hold-leak" && late < leakedHoldLife-time.Minute {
				t.Fatalf("seat stored to expire %s after the answered expiry, want about %s", late, leakedHoldLife)
			}
			if name == "status-expiry" && (late > time.Second || late < -time.Second) {
				t.Fatalf("seat stored to expire %s after the answered expiry, want the same expiry", late)
			}
		})
	}
}
