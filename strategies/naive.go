package strategies

import (
	"context"
	"errors"
	"fmt"
	"time"

	"stampede/internal/sqldb"
)

// naive is unsafe on purpose: it reads the status, then writes, with no lock, no condition and
// no transaction around the two. Two buyers who read a seat as available before either writes
// both get a hold, and both holds confirm, so the seat is sold twice; two GA holds that read the
// same count both write their own result (a lost update), so the tier oversells. It exists so
// that the checker can be shown to catch double bookings; the registry refuses it unless
// allowUnsafe is set.
type naive struct {
	sqlBase
	// betweenReadAndWrite, when set, is called after a hold or confirm has read and before it
	// writes. Tests use it as a barrier that makes the race certain instead of likely. Unset,
	// the strategy waits naiveGap there instead.
	betweenReadAndWrite func(ctx context.Context)
}

// naiveGap is how long naive waits between its read and its write when no test barrier is set:
// the time a busy application server spends between the two (a GC pause, a slow network hop).
// On a loopback link the bare gap is one round trip, short enough that a run with little
// concurrency (a herd thinned by a server crash) could miss the race by luck; with the gap, any
// two buyers of one seat within a few milliseconds of each other both get it, so a run that
// contends at all shows the defect.
const naiveGap = 5 * time.Millisecond

var _ Strategy = (*naive)(nil)

func newNaive(d Deps) (Strategy, error) {
	b, err := newSQLBase("naive", d)
	if err != nil {
		return nil, err
	}
	return &naive{sqlBase: b}, nil
}

func (n *naive) pause(ctx context.Context) {
	if n.betweenReadAndWrite != nil {
		n.betweenReadAndWrite(ctx)
		return
	}
	t := time.NewTimer(naiveGap)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// Hold reads the seats (or the tier count), and if they look free writes the hold.
func (n *naive) Hold(ctx context.Context, r HoldRequest) (Hold, error) {
	r, err := checkHoldRequest(r, n.ttl)
	if err != nil {
		return Hold{}, err
	}
	now := n.now()
	h := newHold(r, now)
	q := sqldb.OnPool(n.db, tagHold)
	if h.Tier != "" {
		var t tierRow
		err := q.QueryRow(ctx, "SELECT capacity, price_cents, available, held, sold FROM ga_tiers WHERE event_id = ? AND tier = ?",
			[]any{&t.Capacity, &t.PriceCents, &t.Available, &t.Held, &t.Sold}, h.EventID, h.Tier)
		if errors.Is(err, sqldb.ErrNoRows) {
			return Hold{}, fmt.Errorf("hold: %w", missingTier(ctx, q, h.EventID, h.Tier))
		}
		if err != nil {
			return Hold{}, fmt.Errorf("hold: read tier: %w", err)
		}
		qty := int64(h.Quantity)
		if t.Available < qty {
			return Hold{}, fmt.Errorf("hold: tier %s: %d left, %d asked: %w", h.Tier, t.Available, qty, ErrSoldOut)
		}
		n.pause(ctx)
		if _, err := q.Exec(ctx, "UPDATE ga_tiers SET available = ?, held = ? WHERE event_id = ? AND tier = ?",
			t.Available-qty, t.Held+qty, h.EventID, h.Tier); err != nil {
			return Hold{}, fmt.Errorf("hold: write tier: %w", err)
		}
		h.AmountCents = t.PriceCents * qty
	} else {
		rows, err := readSeats(ctx, q, h.EventID, h.Seats, false)
		if err != nil {
			return Hold{}, fmt.Errorf("hold: %w", err)
		}
		if h.AmountCents, err = checkFree(ctx, q, h.EventID, h.Seats, rows, now); err != nil {
			return Hold{}, fmt.Errorf("hold: %w", err)
		}
		n.pause(ctx)
		if err := markSeatsHeld(ctx, q, h); err != nil {
			return Hold{}, fmt.Errorf("hold: %w", err)
		}
	}
	if err := insertHold(ctx, q, h, now); err != nil {
		return Hold{}, fmt.Errorf("hold: %w", err)
	}
	return h, nil
}

// Confirm reads the hold's status and, if it is not sold or released, charges and writes the
// sale without checking whose the seats are now.
func (n *naive) Confirm(ctx context.Context, r ConfirmRequest) (Booking, error) {
	q := sqldb.OnPool(n.db, tagCheckout)
	h, err := loadHold(ctx, q, r.HoldID, false)
	if err != nil {
		return Booking{}, fmt.Errorf("confirm: %w", err)
	}
	switch h.Status {
	case StatusSold:
		return alreadySold(ctx, n.store, h, r.BookingID)
	case StatusReleased:
		return Booking{}, fmt.Errorf("confirm %s: released: %w", h.ID, ErrHoldExpired)
	}
	var t tierRow
	if h.Tier != "" {
		err := q.QueryRow(ctx, "SELECT available, held, sold FROM ga_tiers WHERE event_id = ? AND tier = ?",
			[]any{&t.Available, &t.Held, &t.Sold}, h.EventID, h.Tier)
		if err != nil {
			return Booking{}, fmt.Errorf("confirm %s: read tier: %w", h.ID, err)
		}
	}
	n.pause(ctx)
	c, err := charge(ctx, r, h)
	if err != nil {
		return Booking{}, err
	}
	bookingID := newBookingID(r.BookingID)
	b := bookingOf(h, bookingID, c, n.now())
	err = n.db.Tx(ctx, tagCheckout, func(tx sqldb.Tx) error {
		if h.Tier != "" {
			qty := int64(h.Quantity)
			if _, err := tx.Exec(ctx, "UPDATE ga_tiers SET held = ?, sold = ? WHERE event_id = ? AND tier = ?",
				t.Held-qty, t.Sold+qty, h.EventID, h.Tier); err != nil {
				return fmt.Errorf("write tier: %w", err)
			}
		} else if err := markSeatsSold(ctx, tx, h, bookingID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "UPDATE holds SET status = ?, booking_id = ? WHERE id = ?", StatusSold, bookingID, h.ID); err != nil {
			return fmt.Errorf("mark hold sold: %w", err)
		}
		return insertBooking(ctx, tx, b)
	})
	if err != nil {
		return Booking{}, fmt.Errorf("confirm %s: %w: %w", h.ID, err, ErrHoldLost)
	}
	return b, nil
}

// Release gives the hold's seats or units back.
func (n *naive) Release(ctx context.Context, holdID string) error {
	return n.release(ctx, holdID)
}
