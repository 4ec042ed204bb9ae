package strategies

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestLastHolder checks the seat confirm rule of every safe strategy: an expired hold may still
// be booked only while it is its seats' last holder. A seat that another hold took after it
// expired is lost, even when that other hold has expired or been released in turn.
func TestLastHolder(t *testing.T) {
	cases := []struct {
		name string
		// between runs after A's hold expired, before A confirms; during runs inside A's
		// charge (strategies that charge outside any transaction only).
		between, during func(t *testing.T, f *fixture)
		want            bool // A is booked
	}{
		{"B held and expired", func(t *testing.T, f *fixture) {
			f.mustHold("b", "A-1-1")
			f.clock.Advance(2 * time.Minute)
		}, nil, false},
		{"B held and released", func(t *testing.T, f *fixture) {
			b := f.mustHold("b", "A-1-1")
			if err := f.s.Release(context.Background(), b.ID); err != nil {
				t.Fatalf("Release(B) = %v", err)
			}
		}, nil, false},
		{"B held, expired and was swept", func(t *testing.T, f *fixture) {
			f.mustHold("b", "A-1-1")
			f.clock.Advance(2 * time.Minute)
			mustSweep(t, f)
		}, nil, false},
		{"B held and released during the charge", nil, func(t *testing.T, f *fixture) {
			b := f.mustHold("b", "A-1-1")
			if err := f.s.Release(context.Background(), b.ID); err != nil {
				t.Errorf("Release(B) = %v", err)
			}
		}, false},
		{"nobody touched the seat", nil, nil, true},
		{"the sweeper ran", func(t *testing.T, f *fixture) { mustSweep(t, f) }, nil, true},
	}
	forEachSafe(t, 8, func(t *testing.T, su *suite, name string) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				f := su.build(t, name, conformanceEvent(), nil)
				ctx := context.Background()
				a := f.mustHold("a", "A-1-1", "A-1-2")
				f.clock.Advance(2 * time.Minute)
				if c.during != nil && name == "pessimistic" {
					t.Skip("pessimistic charges with the seats locked: nobody can take them during the charge")
				}
				if c.between != nil {
					c.between(t, f)
				}
				var ch countingCharge
				if c.during != nil {
					ch.during = func(Hold) { c.during(t, f) }
				}
				b, err := f.s.Confirm(ctx, ConfirmRequest{HoldID: a.ID, Charge: ch.fn})
				if c.want {
					if err != nil {
						t.Fatalf("Confirm(A) = %v, want a booking", err)
					}
					if b.HoldID != a.ID {
						t.Fatalf("booking %+v is not A's", b)
					}
					for _, id := range []string{"A-1-1", "A-1-2"} {
						if s := f.seat(id); s.Status != SeatSold || s.BookingID != b.ID {
							t.Fatalf("seat %s = %+v, want sold to %s", id, s, b.ID)
						}
					}
					return
				}
				switch {
				case errors.Is(err, ErrHoldExpired):
				case errors.Is(err, ErrHoldLost):
					if ch.calls.Load() == 0 {
						t.Fatalf("Confirm(A) = %v without a charge, want ErrHoldExpired", err)
					}
				default:
					t.Fatalf("Confirm(A) = %v (booking %+v), want ErrHoldExpired or ErrHoldLost", err, b)
				}
				if errors.Is(err, ErrHoldExpired) && ch.calls.Load() != 0 && name != "pessimistic" {
					t.Fatalf("Confirm(A) = ErrHoldExpired after %d charges, want ErrHoldLost", ch.calls.Load())
				}
				if bs := f.bookings(); len(bs) != 0 {
					t.Fatalf("bookings after a lost confirm: %+v, want none", bs)
				}
				if got := f.status(a.ID); got == StatusSold {
					t.Fatalf("hold A is %s, want not sold", got)
				}
				for _, id := range []string{"A-1-1", "A-1-2"} {
					s := f.seat(id)
					if s.Status == SeatSold {
						t.Fatalf("seat %s was sold: %+v", id, s)
					}
					if s.Status == SeatAvailable && s.HoldID != "" {
						t.Fatalf("available seat %s reports holder %s", id, s.HoldID)
					}
				}
				// The seat stays sellable to someone new.
				if _, err := f.hold("c", "A-1-1", "A-1-2"); err != nil {
					t.Fatalf("Hold(C) after A lost = %v, want a hold", err)
				}
			})
		}
	})
}

// mustSweep runs the strategy's sweeper once.
func mustSweep(t *testing.T, f *fixture) {
	t.Helper()
	sw, ok := f.s.(sweeper)
	if !ok {
		t.Skipf("%s has no sweeper", f.name)
	}
	if _, err := sw.Sweep(context.Background()); err != nil {
		t.Fatalf("Sweep: %v", err)
	}
}
