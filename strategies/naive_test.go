package strategies

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"stampede/internal/sqldb"
	"stampede/internal/testsvc"
)

func TestNaiveRefusedWithoutAllowUnsafe(t *testing.T) {
	if !Unsafe("naive") {
		t.Fatalf("Unsafe(naive) = false, want true")
	}
	for _, n := range Safe() {
		if n == "naive" {
			t.Fatalf("Safe() = %v lists naive", Safe())
		}
	}
	db := openDB(t, "postgres", 2)
	_, err := New("naive", Deps{DB: db}, false)
	if err == nil || !strings.Contains(err.Error(), "--allow-unsafe") {
		t.Fatalf("New(naive, allowUnsafe=false) = %v, want a refusal naming --allow-unsafe", err)
	}
	if _, err := New("naive", Deps{DB: db}, true); err != nil {
		t.Fatalf("New(naive, allowUnsafe=true) = %v", err)
	}
}

// buildNaive returns the naive strategy on the suite's database with a fresh event.
func buildNaive(tb testing.TB, su *suite) (*naive, *fixture) {
	tb.Helper()
	f := su.build(tb, "naive", conformanceEvent(), nil)
	n, ok := f.s.(*naive)
	if !ok {
		tb.Fatalf("New(naive) built %T", f.s)
	}
	return n, f
}

// barrier makes the naive strategy's read-then-write race certain: each of parties callers
// waits between its read and its write until all have read.
func barrier(tb testing.TB, parties int) func(ctx context.Context) {
	var mu sync.Mutex
	arrived := 0
	all := make(chan struct{})
	return func(ctx context.Context) {
		mu.Lock()
		arrived++
		if arrived == parties {
			close(all)
		}
		mu.Unlock()
		select {
		case <-all:
		case <-ctx.Done():
		case <-time.After(10 * time.Second): // a caller that never arrives must not hang the test
		}
	}
}

// TestNaiveDoubleSells shows, on both databases, what the naive strategy is for: two buyers who
// both read a seat as available both get it and both pay, and a one-unit tier sells two.
func TestNaiveDoubleSells(t *testing.T) {
	for _, dialect := range testsvc.Dialects {
		t.Run(dialect, func(t *testing.T) {
			su := &suite{dialect: dialect, db: openDB(t, dialect, 8)}
			ctx := context.Background()

			t.Run("seat", func(t *testing.T) {
				n, f := buildNaive(t, su)
				n.betweenReadAndWrite = barrier(t, 2)
				holds := make([]Hold, 2)
				errs := make([]error, 2)
				var wg sync.WaitGroup
				for i := range 2 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						holds[i], errs[i] = f.hold(fmt.Sprintf("buyer%d", i), "A-1-1")
					}()
				}
				wg.Wait()
				n.betweenReadAndWrite = nil
				for i, err := range errs {
					if err != nil {
						t.Fatalf("naive Hold #%d = %v, want both buyers to get the seat", i, err)
					}
				}
				for _, h := range holds {
					if _, err := f.s.Confirm(ctx, ConfirmRequest{HoldID: h.ID}); err != nil {
						t.Fatalf("naive Confirm(%s) = %v, want a booking", h.ID, err)
					}
				}
				assertSeatSoldTwice(t, f, "A-1-1")
			})

			t.Run("tier", func(t *testing.T) {
				ev := conformanceEvent()
				ev.Tiers = []Tier{{Name: "solo", Quantity: 1}}
				f := su.build(t, "naive", ev, nil)
				n := f.s.(*naive)
				n.betweenReadAndWrite = barrier(t, 2)
				holds := make([]Hold, 2)
				errs := make([]error, 2)
				var wg sync.WaitGroup
				for i := range 2 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						holds[i], errs[i] = f.holdGA(fmt.Sprintf("buyer%d", i), "solo", 1, 0)
					}()
				}
				wg.Wait()
				n.betweenReadAndWrite = nil
				for i, err := range errs {
					if err != nil {
						t.Fatalf("naive GA Hold #%d = %v, want both buyers to get the only unit", i, err)
					}
				}
				sold := 0
				for _, h := range holds {
					b, err := f.s.Confirm(ctx, ConfirmRequest{HoldID: h.ID})
					if err != nil {
						t.Fatalf("naive Confirm(%s) = %v, want a booking", h.ID, err)
					}
					sold += b.Quantity
				}
				if got := len(f.bookings()); got != 2 || sold != 2 {
					t.Fatalf("naive sold %d units in %d bookings of a 1-unit tier, want 2 in 2 (oversold)", sold, got)
				}
			})

			// Without any barrier, real contention is enough: 16 buyers released at once on one
			// seat. Within a bounded number of rounds (each on a fresh seat) at least one round
			// gives the seat to more than one buyer.
			t.Run("contention", func(t *testing.T) {
				_, f := buildNaive(t, su)
				const buyers, rounds = 16, 10
				for round := 1; round <= rounds; round++ {
					seat := SeatID("A", 1, round)
					start := make(chan struct{})
					var wg sync.WaitGroup
					var mu sync.Mutex
					var won []Hold
					for i := range buyers {
						wg.Add(1)
						go func() {
							defer wg.Done()
							<-start
							h, err := f.hold(fmt.Sprintf("r%d-b%d", round, i), seat)
							if err != nil && !errors.Is(err, ErrUnavailable) {
								t.Errorf("naive Hold = %v, want a hold or ErrUnavailable", err)
								return
							}
							if err == nil {
								mu.Lock()
								won = append(won, h)
								mu.Unlock()
							}
						}()
					}
					close(start)
					wg.Wait()
					if t.Failed() {
						return
					}
					if len(won) < 2 {
						continue
					}
					for _, h := range won {
						if _, err := f.s.Confirm(ctx, ConfirmRequest{HoldID: h.ID}); err != nil {
							t.Fatalf("naive Confirm(%s) = %v", h.ID, err)
						}
					}
					assertSeatSoldTwice(t, f, seat)
					t.Logf("round %d: %d of %d buyers got seat %s", round, len(won), buyers, seat)
					return
				}
				t.Fatalf("no double sale in %d rounds of %d buyers: naive should race", rounds, buyers)
			})
		})
	}
}

// assertSeatSoldTwice checks that seat is in at least two bookings and two booking_seats rows.
func assertSeatSoldTwice(tb testing.TB, f *fixture, seat string) {
	tb.Helper()
	n := 0
	for _, b := range f.bookings() {
		for _, s := range b.Seats {
			if s == seat {
				n++
			}
		}
	}
	var rows int
	if err := f.db.QueryRow(context.Background(), "test", "SELECT COUNT(*) FROM booking_seats WHERE event_id = ? AND seat_id = ?", []any{&rows}, f.ev.ID, seat); err != nil {
		tb.Fatalf("count booking_seats: %v", err)
	}
	if n < 2 || rows < 2 {
		tb.Fatalf("seat %s is in %d bookings (%d booking_seats rows), want at least 2: naive did not double-sell", seat, n, rows)
	}
}

// TestSafetyNet: with Deps.SafetyNet the database refuses the naive double sale; without it the
// index is dropped again.
func TestSafetyNet(t *testing.T) {
	for _, dialect := range testsvc.Dialects {
		t.Run(dialect, func(t *testing.T) {
			su := &suite{dialect: dialect, db: openDB(t, dialect, 8)}
			ctx := context.Background()
			f := su.build(t, "naive", conformanceEvent(), func(d *Deps) { d.SafetyNet = true })
			n := f.s.(*naive)
			n.betweenReadAndWrite = barrier(t, 2)
			holds := make([]Hold, 2)
			errs := make([]error, 2)
			var wg sync.WaitGroup
			for i := range 2 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					holds[i], errs[i] = f.hold(fmt.Sprintf("buyer%d", i), "A-1-1")
				}()
			}
			wg.Wait()
			n.betweenReadAndWrite = nil
			if errs[0] != nil || errs[1] != nil {
				t.Fatalf("naive holds = %v, %v; want both", errs[0], errs[1])
			}
			if _, err := f.s.Confirm(ctx, ConfirmRequest{HoldID: holds[0].ID}); err != nil {
				t.Fatalf("first Confirm = %v", err)
			}
			_, err := f.s.Confirm(ctx, ConfirmRequest{HoldID: holds[1].ID})
			if !errors.Is(err, ErrHoldLost) || !sqldb.UniqueViolation(err) {
				t.Fatalf("second Confirm with the safety net = %v, want ErrHoldLost from a unique violation", err)
			}
			if got := len(f.bookings()); got != 1 {
				t.Fatalf("bookings with the safety net = %d, want 1", got)
			}
			// Building a strategy without the net removes it.
			g := su.build(t, "naive", conformanceEvent(), nil)
			h1, h2 := g.mustHold("a", "A-1-1"), g.mustHold("b", "A-1-2")
			if _, err := g.db.Exec(ctx, "test", "UPDATE holds SET seats = ? WHERE id = ?", "A-1-1", h2.ID); err != nil {
				t.Fatalf("rewrite hold: %v", err)
			}
			for _, id := range []string{h1.ID, h2.ID} {
				if _, err := g.s.Confirm(ctx, ConfirmRequest{HoldID: id}); err != nil {
					t.Fatalf("Confirm without the safety net = %v, want the double sale to go through", err)
				}
			}
		})
	}
}
