package strategies

import (
	"context"
	"errors"
	"fmt"
	"time"

	"stampede/internal/failpoint"
	"stampede/internal/sqldb"
)

// statusExpiry holds seats with one conditional UPDATE that takes a seat when it is available
// or held by an expired hold (the implicit-status rule), so a lagging sweeper never keeps a seat
// off sale. A multi-seat hold is all-or-nothing: when fewer rows changed than were asked for,
// the transaction rolls back. Confirm checks the hold, charges OUTSIDE any transaction, then
// marks the seats sold with another conditional UPDATE (this hold is still the seat's last
// holder and it is not sold); when any seat is gone the hold is lost after the charge (ErrHoldLost, the
// caller refunds). The sweeper (Run) releases stale holds in bounded batches. General admission
// keeps a counter per tier plus holds rows; only unexpired holds count as held.
type statusExpiry struct {
	sqlBase
	// blind switches on the broken variant status-expiry-blind (broken.go): a seat confirm
	// skips the check before the charge and sells the seats whoever holds them.
	blind bool
	// flaw is the defect of a broken variant built on status-expiry (broken.go); "" for
	// status-expiry itself. behind keeps the bookings of FlawWriteBehind.
	flaw   Flaw
	behind *writeBehind
}

var (
	_ Strategy = (*statusExpiry)(nil)
	_ Runner   = (*statusExpiry)(nil)
)

func newStatusExpiry(d Deps) (Strategy, error) {
	b, err := newSQLBase("status-expiry", d)
	if err != nil {
		return nil, err
	}
	return &statusExpiry{sqlBase: b}, nil
}

// Hold claims all requested seats or units, or none. On PostgreSQL a hold of seats is one
// statement (holdSeatsOneStatement), on MySQL a batch (holdSeatsBatch): of its own for one
// seat, inside the transaction below for more; a refusal they cannot explain, and every hold
// of units, is that transaction.
//
// The clock is read inside the transaction, once its connection is held, and the hold's expiry
// is counted from there. Read before, a hold that waited for a connection (1.5 s under a fault
// that takes the whole pool, against 2 s holds) would judge other holds' expiry by the time its
// request arrived: it would refuse the seat of a hold that expired during the wait, and lose
// the waiting time from its own lifetime.
func (s *statusExpiry) Hold(ctx context.Context, r HoldRequest) (Hold, error) {
	r, err := checkHoldRequest(r, s.ttl)
	if err != nil {
		return Hold{}, err
	}
	// The hold-leak variant stores another expiry than it answers: only the transaction does.
	short := len(r.Seats) > 0 && s.flaw != FlawHoldNeverExpires
	if short && len(r.Seats) == 1 && batchHold(s.db, s.fp) {
		// MySQL: one seat is all-or-nothing in a batch of its own. When it took nothing and the
		// seat exists, the seat was busy when the UPDATE looked at it, as on PostgreSQL; any
		// other refusal is explained by the transaction below, which decides again.
		h, err := holdSeatsAlone(ctx, &s.sqlBase, "", r)
		switch {
		case err == nil:
			return h, nil
		case !errors.Is(err, errShort):
			return Hold{}, fmt.Errorf("hold: %w", err)
		}
		if se, ok := shortOf(err); ok && se.found == 1 {
			return Hold{}, fmt.Errorf("hold: %w", &UnavailableError{Seats: r.Seats})
		}
	}
	if short && oneStatementHold(s.db, s.fp) {
		h, err := holdSeatsOneStatement(ctx, &s.sqlBase, takeSeatsUpdate, r)
		switch {
		case err == nil:
			return h, nil
		case errors.Is(err, errShort): // no seat taken: every one was busy
			return Hold{}, fmt.Errorf("hold: %w", &UnavailableError{Seats: r.Seats})
		case !errors.Is(err, errExplain):
			return Hold{}, fmt.Errorf("hold: %w", err)
		}
		// Some seats taken but not all, or one missing: the transaction says which.
	}
	var h Hold
	err = s.db.Tx(ctx, tagHold, func(tx sqldb.Tx) error {
		now := s.now()
		h = newHold(r, now)
		stored := h // what the database keeps: h, unless the hold-leak variant stores a later expiry
		if s.flaw == FlawHoldNeverExpires {
			stored.Expires = h.Expires.Add(leakedHoldLife)
		}
		if h.Tier != "" {
			price, err := s.takeGA(ctx, tx, h, now)
			if err != nil {
				return err
			}
			h.AmountCents = price * int64(h.Quantity)
		} else if short && batchHold(s.db, s.fp) {
			// MySQL: the batch inside this transaction, which rolls back a partial take.
			taken, err := holdSeatsBatch(ctx, tx, "", r, now)
			if errors.Is(err, errShort) {
				return whyShort(ctx, tx, taken)
			}
			h = taken
			return err // the hold row is written
		} else {
			args := appendArgs([]any{SeatHeld, h.ID, stored.Expires, h.EventID}, h.Seats)
			args = append(args, SeatAvailable, SeatHeld, now)
			n, err := tx.Exec(ctx, "UPDATE seats SET status = ?, hold_id = ?, expires_at = ? WHERE event_id = ? AND seat_id IN ("+
				inList(len(h.Seats))+") AND (status = ? OR (status = ? AND expires_at <= ?))", args...)
			if err != nil {
				return fmt.Errorf("take seats: %w", err)
			}
			if n != int64(len(h.Seats)) {
				return whyShort(ctx, tx, h) // and the rollback gives back the seats it did take
			}
			if _, h.AmountCents, err = s.store.SeatPrices(ctx, tx, h.EventID, h.Seats); err != nil {
				return err
			}
		}
		if err := s.fp.Eval(ctx, failpoint.InHoldTx); err != nil {
			return err
		}
		stored.AmountCents = h.AmountCents
		return insertHold(ctx, tx, stored, now)
	})
	if err != nil {
		return Hold{}, fmt.Errorf("hold: %w", err)
	}
	return h, nil
}

// takeGA takes the hold's units from the tier counter with a conditional UPDATE; when the tier
// looks short it locks the row, reclaims expired holds and tries once more. It returns the unit
// price.
func (s *statusExpiry) takeGA(ctx context.Context, tx sqldb.Tx, h Hold, now time.Time) (int64, error) {
	q := int64(h.Quantity)
	if s.flaw == FlawGAUnlocked {
		if price, ok, err := s.takeGAUnlocked(ctx, tx, h); ok || err != nil {
			return price, err
		}
	}
	n, err := tx.Exec(ctx, "UPDATE ga_tiers SET available = available - ?, held = held + ? WHERE event_id = ? AND tier = ? AND available >= ?",
		q, q, h.EventID, h.Tier, q)
	if err != nil {
		return 0, fmt.Errorf("take units: %w", err)
	}
	if n == 0 {
		t, err := lockTier(ctx, tx, h.EventID, h.Tier)
		if err != nil {
			return 0, err
		}
		if err := takeGAFromLocked(ctx, tx, h.EventID, h.Tier, t, q, now); err != nil {
			return 0, err
		}
		return t.PriceCents, nil
	}
	return s.store.TierPrice(ctx, tx, h.EventID, h.Tier)
}

// gaRaceGap is how long the ga-oversell variant waits between reading a tier's count and writing
// it back: wider than naive's gap, since a tier's holds arrive a few a second rather than a
// crowd on one seat, and a lost update oversells only once the tier is nearly gone.
const gaRaceGap = 25 * time.Millisecond

// takeGAUnlocked is the ga-oversell variant's take: it reads the tier's count without a lock,
// looks up the price, and writes back the count it computed, whatever happened to the row in
// between (a lost update when two holds race). Between the read and the write it waits
// gaRaceGap, so that any two holds of the tier within a few tens of milliseconds race. ok is false
// when the count it read is short: the safe path then decides.
func (s *statusExpiry) takeGAUnlocked(ctx context.Context, tx sqldb.Tx, h Hold) (price int64, ok bool, err error) {
	q := int64(h.Quantity)
	var available int64
	err = tx.QueryRow(ctx, "SELECT available FROM ga_tiers WHERE event_id = ? AND tier = ?", []any{&available}, h.EventID, h.Tier)
	if err != nil || available < q {
		return 0, false, nil // the safe path reports a missing tier or event, and sells out
	}
	if price, err = s.store.TierPrice(ctx, tx, h.EventID, h.Tier); err != nil {
		return 0, false, err
	}
	sleepCtx(ctx, gaRaceGap)
	if _, err := tx.Exec(ctx, "UPDATE ga_tiers SET available = ?, held = held + ? WHERE event_id = ? AND tier = ?",
		available-q, q, h.EventID, h.Tier); err != nil {
		return 0, false, fmt.Errorf("take units: %w", err)
	}
	return price, true, nil
}

// whyShort explains, inside h's transaction, a conditional UPDATE that took fewer of h's seats
// than asked: a seat or event that does not exist, or else the seats it did not take
// (*UnavailableError). Those were busy when the UPDATE looked at them, even if they are free
// again by now; the seats it took (hold_id is h's, which nobody else knows) were free. So the
// answer names exactly the seats that made the hold fail. Judging the seats again instead, on
// another connection after another wait for the pool, finds nothing busy when the busy seats
// were released or swept in between; naming every requested seat then would refuse seats that
// nobody held, which the checker rightly finds impossible.
func whyShort(ctx context.Context, tx sqldb.Querier, h Hold) error {
	rows, err := readSeats(ctx, tx, h.EventID, h.Seats, false)
	if err != nil {
		return err
	}
	if len(rows) < len(h.Seats) {
		found := make(map[string]bool, len(rows))
		for _, r := range rows {
			found[r.ID] = true
		}
		return missingSeat(ctx, tx, h.EventID, h.Seats, found)
	}
	var busy []string
	for _, r := range rows {
		if r.HoldID != h.ID {
			busy = append(busy, r.ID)
		}
	}
	return &UnavailableError{Seats: busy}
}

// Confirm books the hold. Before the charge it refuses a released hold, and an expired one
// whose seats (or reclaimed units) someone else has taken (ErrHoldExpired, nothing charged).
// After the charge, a seat that is no longer the hold's (sold, or held by another hold since,
// even one that expired or was released in turn) is ErrHoldLost.
func (s *statusExpiry) Confirm(ctx context.Context, r ConfirmRequest) (Booking, error) {
	h, err := loadHold(ctx, sqldb.OnPool(s.db, tagCheckout), r.HoldID, false)
	if err != nil {
		return Booking{}, fmt.Errorf("confirm: %w", err)
	}
	switch h.Status {
	case StatusSold:
		return alreadySold(ctx, s.store, h, r.BookingID)
	case StatusReleased:
		return Booking{}, fmt.Errorf("confirm %s: released: %w", h.ID, ErrHoldExpired)
	}
	if effectiveStatus(h, s.now()) == StatusExpired && !(s.blind && h.Tier == "") {
		if err := s.stillThere(ctx, h); err != nil {
			return Booking{}, fmt.Errorf("confirm %s: %w", h.ID, err)
		}
	}
	c, err := charge(ctx, r, h)
	if err != nil {
		return Booking{}, err
	}
	bookingID := newBookingID(r.BookingID)
	var (
		b     Booking
		cur   Hold
		fnErr error
	)
	err = s.db.Tx(ctx, tagCheckout, func(tx sqldb.Tx) (err error) {
		defer func() { fnErr = err }()
		now := s.now()
		if h.Tier != "" {
			t, err := lockTier(ctx, tx, h.EventID, h.Tier)
			if err != nil {
				return err
			}
			if cur, err = loadHold(ctx, tx, h.ID, true); err != nil {
				return err
			}
			if cur.Status == StatusSold {
				return errAlreadySold
			}
			ok, err := sellGA(ctx, tx, cur, t, now)
			if err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("units of tier %s were reclaimed and sold", h.Tier)
			}
		} else {
			args := appendArgs([]any{SeatSold, h.ID, bookingID, h.EventID}, h.Seats)
			// The seat must still be this hold's (its last holder, held or given back) and not
			// sold: a seat someone else held after this hold expired is lost, even when that
			// other hold has expired or been released in turn.
			guard := " AND hold_id = ? AND status IN (?, ?)"
			if s.blind {
				guard = "" // the broken variant: no condition on who holds the seat, or whether it is sold
			} else {
				args = append(args, h.ID, SeatHeld, SeatAvailable)
			}
			n, err := tx.Exec(ctx, "UPDATE seats SET status = ?, hold_id = ?, booking_id = ?, expires_at = NULL WHERE event_id = ? AND seat_id IN ("+
				inList(len(h.Seats))+")"+guard, args...)
			if err != nil {
				return fmt.Errorf("sell seats: %w", err)
			}
			if n != int64(len(h.Seats)) {
				if cur, err = loadHold(ctx, tx, h.ID, false); err != nil {
					return err
				}
				if cur.Status == StatusSold {
					return errAlreadySold
				}
				return fmt.Errorf("%d of %d seats were taken by others", int64(len(h.Seats))-n, len(h.Seats))
			}
		}
		if err := s.fp.Eval(ctx, failpoint.InConfirmTx); err != nil {
			return err
		}
		if err := markHoldSold(ctx, tx, h.ID, bookingID); err != nil {
			return err
		}
		b = bookingOf(h, bookingID, c, now)
		if s.behind != nil {
			return nil // the write-behind variant: the booking row is written later
		}
		return insertBooking(ctx, tx, b)
	})
	switch {
	case err == nil:
		if s.behind != nil {
			s.behind.add(b)
		}
		return b, nil
	case errors.Is(err, errAlreadySold) && cur.BookingID == bookingID:
		return s.store.GetBooking(ctx, bookingID)
	case s.flaw == FlawBookingUnstored && (fnErr != nil || errors.Is(err, errAlreadySold)):
		// The unstored-booking variant: the seats are gone after the charge, and it answers
		// with a booking anyway, written nowhere.
		return bookingOf(h, bookingID, c, s.now()), nil
	case errors.Is(err, errAlreadySold):
		return Booking{}, fmt.Errorf("confirm %s: sold by another confirm after the charge (booking %s): %w", h.ID, cur.BookingID, ErrHoldLost)
	case fnErr != nil:
		return Booking{}, fmt.Errorf("confirm %s: %w: %w", h.ID, err, ErrHoldLost)
	}
	// The commit failed: the booking may or may not exist; a retry with the same booking id
	// finds out.
	return Booking{}, fmt.Errorf("confirm %s: outcome unknown after the charge: %w", h.ID, err)
}

// stillThere checks, before any charge, that an expired hold's seats are still its own (nobody
// held them since, see seatRow.ownedBy), or that its reclaimed units are still available:
// ErrHoldExpired otherwise.
func (s *statusExpiry) stillThere(ctx context.Context, h Hold) error {
	q := sqldb.OnPool(s.db, tagCheckout)
	now := s.now()
	if h.Tier != "" {
		if h.Status == StatusHeld {
			return nil // its units are still counted as held
		}
		free, err := tierFree(ctx, q, h.EventID, h.Tier, now)
		if err != nil {
			return err
		}
		if free >= int64(h.Quantity) {
			return nil
		}
		return fmt.Errorf("expired and its units were sold: %w", ErrHoldExpired)
	}
	rows, err := readSeats(ctx, q, h.EventID, h.Seats, false)
	if err != nil {
		return err
	}
	for _, r := range rows {
		if !r.ownedBy(h.ID) {
			return fmt.Errorf("expired and seat %s was taken: %w", r.ID, ErrHoldExpired)
		}
	}
	return nil
}

// Release gives the hold's seats or units back.
func (s *statusExpiry) Release(ctx context.Context, holdID string) error {
	return s.release(ctx, holdID)
}
