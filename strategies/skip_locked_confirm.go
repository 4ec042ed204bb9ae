package strategies

import (
	"context"
	"errors"
	"fmt"

	"stampede/internal/failpoint"
	"stampede/internal/sqldb"
)

// Confirm charges and books a hold; see the type's documentation for the order of events.
func (s *SkipLocked) Confirm(ctx context.Context, r ConfirmRequest) (Booking, error) {
	h, err := loadHold(ctx, sqldb.OnPool(s.db, tagCheckout), r.HoldID, false)
	if err != nil {
		return Booking{}, err
	}
	switch h.Status {
	case StatusSold:
		return alreadySold(ctx, s.store, h, r.BookingID)
	case StatusReleased:
		return Booking{}, fmt.Errorf("confirm %s: %s: %w", h.ID, h.Status, ErrHoldExpired)
	case StatusExpired:
		// A swept seat hold may still be booked while it is its seats' last holder; swept GA
		// units went back to the pool.
		if h.Tier != "" {
			return Booking{}, fmt.Errorf("confirm %s: %s: %w", h.ID, h.Status, ErrHoldExpired)
		}
	}
	resell := s.flaw == FlawExpiredResold && h.Tier == "" // the broken variant: no holder checks on seats
	if (h.Status == StatusExpired || expired(h.Expires, s.now())) && !resell {
		ours, err := s.stillOurs(ctx, h)
		if err != nil {
			return Booking{}, err
		}
		if !ours {
			return Booking{}, fmt.Errorf("confirm %s: expired and taken: %w", h.ID, ErrHoldExpired)
		}
		h.Status = StatusExpired
	}
	c, err := charge(ctx, r, h)
	if err != nil {
		return Booking{}, err
	}
	b := bookingOf(h, newBookingID(r.BookingID), c, s.now())
	err = s.db.Tx(ctx, tagCheckout, func(tx sqldb.Tx) error {
		var n int64
		var err error
		if h.Tier != "" {
			n, err = tx.Exec(ctx, "UPDATE ga_units SET status = 'sold', booking_id = ? WHERE event_id = ? AND tier = ? AND unit_id IN ("+inList(len(h.Units))+") AND hold_id = ? AND status = 'held'",
				append(appendArgs([]any{b.ID, h.EventID, h.Tier}, h.Units), h.ID)...)
		} else if resell {
			n, err = tx.Exec(ctx, "UPDATE seats SET status = 'sold', hold_id = ?, booking_id = ?, expires_at = NULL WHERE event_id = ? AND seat_id IN ("+inList(len(h.Seats))+")",
				appendArgs([]any{h.ID, b.ID, h.EventID}, h.Seats)...)
		} else {
			n, err = tx.Exec(ctx, "UPDATE seats SET status = 'sold', booking_id = ?, expires_at = NULL WHERE event_id = ? AND seat_id IN ("+inList(len(h.Seats))+") AND "+seatOursSQL,
				append(appendArgs([]any{b.ID, h.EventID}, h.Seats), h.ID)...)
		}
		if err != nil {
			return fmt.Errorf("claim sold rows: %w", err)
		}
		if n != int64(len(h.Seats)+len(h.Units)) {
			return errLostRows
		}
		if err := s.fp.Eval(ctx, failpoint.InConfirmTx); err != nil {
			return err
		}
		if err := markHoldSold(ctx, tx, h.ID, b.ID); err != nil {
			return err
		}
		return insertBooking(ctx, tx, b)
	})
	if err == nil {
		return b, nil
	}
	// The charge ran. Whatever failed, look at what the database holds now: a concurrent
	// confirm with the same booking id (or this one, if only the commit's answer was lost) may
	// have booked the hold.
	cur, lerr := loadHold(context.WithoutCancel(ctx), sqldb.OnPool(s.db, tagCheckout), h.ID, false)
	if lerr != nil {
		return Booking{}, fmt.Errorf("confirm %s: %w (and reading the hold back: %v)", h.ID, err, lerr)
	}
	if cur.Status == StatusSold && cur.BookingID == b.ID {
		return s.store.GetBooking(context.WithoutCancel(ctx), b.ID)
	}
	return Booking{}, fmt.Errorf("confirm %s after the charge: %v: %w", h.ID, err, ErrHoldLost)
}

// seatOursSQL selects seats a confirm of the hold given as its parameter may sell: the hold is
// the seat's last holder (held, expired or not, or given back by release or sweep with nobody
// holding it since) and the seat is not sold.
const seatOursSQL = "hold_id = ? AND status IN ('held', 'available')"

// errLostRows is an internal signal: the hold's seats or units are no longer all its own.
var errLostRows = errors.New("seats or units no longer held by the hold")

// stillOurs reports whether every seat or unit of an expired hold is still its own (nobody
// held them since it expired: seatOursSQL for seats, still held by it for units), so that it
// may still be booked.
func (s *SkipLocked) stillOurs(ctx context.Context, h Hold) (bool, error) {
	var n int
	var err error
	if h.Tier != "" {
		err = s.db.QueryRow(ctx, tagCheckout, "SELECT COUNT(*) FROM ga_units WHERE event_id = ? AND tier = ? AND unit_id IN ("+inList(len(h.Units))+") AND hold_id = ? AND status = 'held'",
			[]any{&n}, append(appendArgs([]any{h.EventID, h.Tier}, h.Units), h.ID)...)
	} else {
		err = s.db.QueryRow(ctx, tagCheckout, "SELECT COUNT(*) FROM seats WHERE event_id = ? AND seat_id IN ("+inList(len(h.Seats))+") AND "+seatOursSQL,
			[]any{&n}, append(appendArgs([]any{h.EventID}, h.Seats), h.ID)...)
	}
	if err != nil {
		return false, fmt.Errorf("check hold %s: %w", h.ID, err)
	}
	return n == len(h.Seats)+len(h.Units), nil
}

// Release gives the hold's seats or units back to the pool (only those it still holds) and
// marks it released. Releasing an expired or released hold is not an error; a sold hold is
// ErrHoldSold.
func (s *SkipLocked) Release(ctx context.Context, holdID string) error {
	return releaseHold(ctx, s.db, holdID, func(ctx context.Context, tx sqldb.Tx, h Hold) error {
		_, err := tx.Exec(ctx, "UPDATE ga_units SET status = 'available', hold_id = NULL, expires_at = NULL WHERE event_id = ? AND tier = ? AND unit_id IN ("+inList(len(h.Units))+") AND hold_id = ? AND status = 'held'",
			append(appendArgs([]any{h.EventID, h.Tier}, h.Units), h.ID)...)
		if err != nil {
			return fmt.Errorf("free units: %w", err)
		}
		return nil
	}, nil)
}
