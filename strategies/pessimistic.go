package strategies

import (
	"context"
	"errors"
	"fmt"
	"time"

	"stampede/internal/failpoint"
	"stampede/internal/sqldb"
)

// pessimistic locks before it looks. Hold is one transaction that locks the requested seat rows
// with SELECT ... FOR UPDATE in seat-id order (the fixed lock order: no deadlocks between
// holds), checks them with the implicit-status rule, marks them held and inserts the hold.
// Confirm is one transaction that locks the seats and the hold again and calls the charge
// INSIDE it, so the row locks and the pooled connection are held across the payment call: the
// strategy's point is to show what that costs under a slow processor (lock waits, pool
// exhaustion). General admission locks the tier's counter row and moves units between
// available, held and sold; expired GA holds are reclaimed by the next hold that finds the tier
// short, and by the sweeper (Run).
type pessimistic struct {
	sqlBase
}

var (
	_ Strategy = (*pessimistic)(nil)
	_ Runner   = (*pessimistic)(nil)
)

func newPessimistic(d Deps) (Strategy, error) {
	b, err := newSQLBase("pessimistic", d)
	if err != nil {
		return nil, err
	}
	return &pessimistic{sqlBase: b}, nil
}

// Hold claims all requested seats or units in one transaction, or none: for seats, first as one
// statement or batch that locks, decides and marks, and when that takes nothing, as the
// transaction below. The clock is read once
// the seat rows (or the tier row) are locked, and the hold's expiry is counted from there: no
// wait for a pooled connection or for a lock can make it judge other holds' expiry by a time
// already past (see statusExpiry.Hold).
func (p *pessimistic) Hold(ctx context.Context, r HoldRequest) (Hold, error) {
	r, err := checkHoldRequest(r, p.ttl)
	if err != nil {
		return Hold{}, err
	}
	if len(r.Seats) > 0 {
		// The lock, the decision and the marking in one statement (PostgreSQL) or one batch
		// (MySQL). A refusal names the busy seats that statement or batch read; when it cannot
		// (a seat missing, a deadlock, or the busy seat freed before the batch read it back),
		// the transaction below locks again and says why.
		var h Hold
		err := errShort
		switch {
		case oneStatementHold(p.db, p.fp):
			h, err = holdSeatsOneStatement(ctx, &p.sqlBase, takeSeatsLocked, r)
		case batchHold(p.db, p.fp):
			h, err = holdSeatsAlone(ctx, &p.sqlBase, lockSeatsAll, r)
		}
		switch {
		case err == nil:
			return h, nil
		case !errors.Is(err, errShort) && !errors.Is(err, errExplain):
			return Hold{}, fmt.Errorf("hold: %w", err)
		}
		if se, ok := shortOf(err); ok && se.found == int64(len(r.Seats)) && len(se.busy) > 0 {
			return Hold{}, fmt.Errorf("hold: %w", &UnavailableError{Seats: se.busy})
		}
	}
	var h Hold
	err = p.db.Tx(ctx, tagHold, func(tx sqldb.Tx) error {
		var now time.Time
		if r.Tier != "" {
			t, err := lockTier(ctx, tx, r.EventID, r.Tier)
			if err != nil {
				return err
			}
			now = p.now()
			h = newHold(r, now)
			if err := takeGAFromLocked(ctx, tx, h.EventID, h.Tier, t, int64(h.Quantity), now); err != nil {
				return err
			}
			h.AmountCents = t.PriceCents * int64(h.Quantity)
		} else {
			rows, err := readSeats(ctx, tx, r.EventID, r.Seats, true)
			if err != nil {
				return err
			}
			now = p.now()
			h = newHold(r, now)
			if h.AmountCents, err = checkFree(ctx, tx, h.EventID, h.Seats, rows, now); err != nil {
				return err
			}
			if err := markSeatsHeld(ctx, tx, h); err != nil {
				return err
			}
		}
		if err := p.fp.Eval(ctx, failpoint.InHoldTx); err != nil {
			return err
		}
		return insertHold(ctx, tx, h, now)
	})
	if err != nil {
		return Hold{}, fmt.Errorf("hold: %w", err)
	}
	return h, nil
}

// Confirm locks the hold's seats (or tier) and the hold, checks the seats are still the hold's
// (this hold is their last holder and they are not sold: an expired hold whose seats nobody
// held since still counts, one whose seats another hold took since does not), charges inside
// the transaction, marks the seats sold and writes the booking. A hold whose seats were taken is ErrHoldExpired with
// nothing charged: pessimistic never loses a hold after the charge, except when the database
// fails between the charge and the commit (ErrHoldLost).
func (p *pessimistic) Confirm(ctx context.Context, r ConfirmRequest) (Booking, error) {
	h, err := loadHold(ctx, sqldb.OnPool(p.db, tagCheckout), r.HoldID, false)
	if err != nil {
		return Booking{}, fmt.Errorf("confirm: %w", err)
	}
	switch h.Status {
	case StatusSold:
		return alreadySold(ctx, p.store, h, r.BookingID)
	case StatusReleased:
		return Booking{}, fmt.Errorf("confirm %s: released: %w", h.ID, ErrHoldExpired)
	}
	bookingID := newBookingID(r.BookingID)
	var (
		b       Booking
		cur     Hold
		charged bool
		fnErr   error
	)
	err = p.db.TxOnce(ctx, tagCheckout, func(tx sqldb.Tx) (err error) {
		defer func() { fnErr = err }()
		var t tierRow
		now := p.now()
		if h.Tier != "" {
			if t, err = lockTier(ctx, tx, h.EventID, h.Tier); err != nil {
				return err
			}
		} else {
			rows, err := readSeats(ctx, tx, h.EventID, h.Seats, true)
			if err != nil {
				return err
			}
			if len(rows) != len(h.Seats) {
				return fmt.Errorf("hold %s: seats vanished: %w", h.ID, ErrSeatNotFound)
			}
			for _, s := range rows {
				if s.Status == SeatSold && s.HoldID == h.ID {
					continue // sold by this hold: the hold row below says so
				}
				if !s.ownedBy(h.ID) {
					return fmt.Errorf("hold %s: seat %s was taken after it expired: %w", h.ID, s.ID, ErrHoldExpired)
				}
			}
		}
		if cur, err = loadHold(ctx, tx, h.ID, true); err != nil {
			return err
		}
		switch {
		case cur.Status == StatusSold:
			return errAlreadySold
		case cur.Status == StatusReleased:
			return fmt.Errorf("hold %s: released: %w", h.ID, ErrHoldExpired)
		}
		if cur.Tier != "" {
			ok, err := ensureUnits(ctx, tx, cur, &t, now)
			if err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("hold %s: units were reclaimed and sold: %w", h.ID, ErrHoldExpired)
			}
		}
		if err := p.fp.Eval(ctx, failpoint.InConfirmTx); err != nil {
			return err
		}
		var c Charge
		if r.Charge != nil {
			charged = true
			if c, err = r.Charge(ctx, cur); err != nil {
				charged = false
				return fmt.Errorf("charge: %w", err)
			}
		}
		if cur.Tier != "" {
			if _, err := sellGA(ctx, tx, cur, t, now); err != nil {
				return err
			}
		} else if err := markSeatsSold(ctx, tx, cur, bookingID); err != nil {
			return err
		}
		if err := markHoldSold(ctx, tx, cur.ID, bookingID); err != nil {
			return err
		}
		b = bookingOf(cur, bookingID, c, p.now())
		return insertBooking(ctx, tx, b)
	})
	switch {
	case err == nil:
		return b, nil
	case errors.Is(err, errAlreadySold):
		return alreadySold(ctx, p.store, cur, r.BookingID)
	case charged && fnErr != nil:
		return Booking{}, fmt.Errorf("confirm %s: booking failed after the charge (%w): %w", h.ID, err, ErrHoldLost)
	case charged:
		// The commit itself failed: the booking may or may not exist. A retry with the same
		// booking id finds out.
		return Booking{}, fmt.Errorf("confirm %s: outcome unknown after the charge: %w", h.ID, err)
	}
	return Booking{}, fmt.Errorf("confirm %s: %w", h.ID, err)
}

// Release gives the hold's seats or units back.
func (p *pessimistic) Release(ctx context.Context, holdID string) error {
	return p.release(ctx, holdID)
}
