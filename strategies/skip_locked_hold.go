package strategies

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"stampede/internal/failpoint"
	"stampede/internal/sqldb"
)

// Hold claims the requested seats, or Quantity units of a tier, all or nothing.
func (s *SkipLocked) Hold(ctx context.Context, r HoldRequest) (Hold, error) {
	r, err := checkHoldRequest(r, s.ttl)
	if err != nil {
		return Hold{}, err
	}
	if len(r.Seats) > 0 {
		return s.holdSeats(ctx, r)
	}
	return s.holdUnits(ctx, r)
}

// seatFreeSQL is the implicit-status rule for a seat or unit row, with the time as parameter.
const seatFreeSQL = "(status = 'available' OR (status = 'held' AND expires_at <= ?))"

// holdSeats takes reserved seats. The first attempt uses SKIP LOCKED. When it comes back short,
// a plain read of the committed state decides: a seat that is held or sold makes the hold fail
// at once (the common case under contention); if every seat is free and only locked by a
// transaction in flight, a second attempt waits for those locks, in seat order, and then
// decides on what it finds. Without that second attempt, two holds of {1, 2} could each lock
// one seat, skip the other, and both fail although the seats were free. The one statement
// (PostgreSQL) or batch (MySQL) of the first attempt makes that read itself (shortError), so a
// refusal at a busy seat is one round trip; the look below is for the other attempts.
func (s *SkipLocked) holdSeats(ctx context.Context, r HoldRequest) (Hold, error) {
	var h Hold
	var err error
	if oneStatementHold(s.db, s.fp) {
		// PostgreSQL: the claim, the marking and the hold row in one statement.
		if h, err = holdSeatsOneStatement(ctx, &s.sqlBase, takeSeatsSkipLocked, r); errors.Is(err, errExplain) {
			err = errShort
		}
	} else if batchHold(s.db, s.fp) {
		// MySQL: the claim, the marking and the hold row in one batch.
		h, err = holdSeatsAlone(ctx, &s.sqlBase, lockSeatsSkipLocked, r)
	} else {
		h, err = s.tryHoldSeats(ctx, r, false)
	}
	if !errors.Is(err, errShort) {
		return h, err
	}
	if se, ok := shortOf(err); ok && se.found == int64(len(r.Seats)) {
		if len(se.busy) > 0 {
			return Hold{}, &UnavailableError{Seats: se.busy}
		}
		return s.tryHoldSeats(ctx, r, true)
	}
	// The look at the committed state runs in a transaction of its own only so that the clock
	// is read once its connection is held (see statusExpiry.Hold).
	err = s.db.Tx(ctx, tagHold, func(tx sqldb.Tx) error {
		states, err := seatStates(ctx, tx, r.EventID, r.Seats, s.now())
		if err != nil {
			return err
		}
		if len(states) < len(r.Seats) {
			return missingSeat(ctx, tx, r.EventID, r.Seats, states)
		}
		if taken := takenSeats(r.Seats, states); len(taken) > 0 {
			return &UnavailableError{Seats: taken}
		}
		return nil
	})
	if err != nil {
		return Hold{}, err
	}
	return s.tryHoldSeats(ctx, r, true)
}

// seatStates reads the committed state of seats without locking: seat id -> free.
func seatStates(ctx context.Context, q sqldb.Querier, eventID string, seats []string, now time.Time) (map[string]bool, error) {
	out := make(map[string]bool, len(seats))
	err := q.Query(ctx, "SELECT seat_id, status, expires_at FROM seats WHERE event_id = ? AND seat_id IN ("+inList(len(seats))+")",
		func(rows sqldb.Rows) error {
			for rows.Next() {
				var id, status string
				var exp *time.Time
				if err := rows.Scan(&id, &status, &exp); err != nil {
					return err
				}
				out[id] = status == SeatAvailable || (status == SeatHeld && (exp == nil || expired(*exp, now)))
			}
			return nil
		}, appendArgs([]any{eventID}, seats)...)
	if err != nil {
		return nil, fmt.Errorf("read seats: %w", err)
	}
	return out, nil
}

func takenSeats(seats []string, free map[string]bool) []string {
	var out []string
	for _, id := range seats {
		if !free[id] {
			out = append(out, id)
		}
	}
	return out
}

// tryHoldSeats is one hold transaction. Without wait it selects the free seats with SKIP
// LOCKED and returns errShort when any is missing; with wait it locks all requested seats in
// seat order, waiting for other transactions, and checks them itself. The clock is read once
// the transaction's connection is held (see statusExpiry.Hold).
func (s *SkipLocked) tryHoldSeats(ctx context.Context, r HoldRequest, wait bool) (Hold, error) {
	var h Hold
	err := s.db.Tx(ctx, tagHold, func(tx sqldb.Tx) error {
		now := s.now()
		h = newHold(r, now)
		free := make(map[string]bool, len(r.Seats))
		query := "SELECT seat_id, price_cents, status, expires_at FROM seats WHERE event_id = ? AND seat_id IN (" + inList(len(r.Seats)) + ")"
		args := appendArgs([]any{r.EventID}, r.Seats)
		if wait {
			query += " ORDER BY seat_id FOR UPDATE"
		} else {
			query += " AND " + seatFreeSQL + " ORDER BY seat_id FOR UPDATE SKIP LOCKED"
			args = append(args, now)
		}
		err := tx.Query(ctx, query, func(rows sqldb.Rows) error {
			for rows.Next() {
				var id, status string
				var price int64
				var exp *time.Time
				if err := rows.Scan(&id, &price, &status, &exp); err != nil {
					return err
				}
				free[id] = status == SeatAvailable || (status == SeatHeld && (exp == nil || expired(*exp, now)))
				h.AmountCents += price
			}
			return nil
		}, args...)
		if err != nil {
			return fmt.Errorf("claim seats: %w", err)
		}
		if !wait && len(free) < len(r.Seats) {
			return errShort
		}
		if len(free) < len(r.Seats) {
			return missingSeat(ctx, tx, r.EventID, r.Seats, free)
		}
		if taken := takenSeats(r.Seats, free); len(taken) > 0 {
			return &UnavailableError{Seats: taken}
		}
		if err := s.fp.Eval(ctx, failpoint.InHoldTx); err != nil {
			return err
		}
		n, err := tx.Exec(ctx, "UPDATE seats SET status = 'held', hold_id = ?, expires_at = ? WHERE event_id = ? AND seat_id IN ("+inList(len(r.Seats))+")",
			appendArgs([]any{h.ID, h.Expires, r.EventID}, r.Seats)...)
		if err != nil {
			return fmt.Errorf("mark seats held: %w", err)
		}
		if n != int64(len(r.Seats)) {
			return fmt.Errorf("mark seats held: %d of %d rows changed", n, len(r.Seats))
		}
		return insertHold(ctx, tx, h, now)
	})
	if err != nil {
		if errors.Is(err, errShort) {
			return Hold{}, err
		}
		return Hold{}, fmt.Errorf("hold seats of %s: %w", r.EventID, err)
	}
	return h, nil
}

// holdUnits claims Quantity units of a tier. A short claim is followed by a look at the
// committed state (afterShort): mint more units while the counter has some and the pool runs
// low; try again while enough free units exist (they were only locked by claims in flight), the
// first attempts with SKIP LOCKED and the later ones waiting for the locks; and answer
// ErrSoldOut only when nothing is left to mint and fewer than Quantity free units remain. So no claim gives up while committed free units could still
// satisfy it, and a tier sells exactly its capacity.
func (s *SkipLocked) holdUnits(ctx context.Context, r HoldRequest) (Hold, error) {
	t, err := s.tier(ctx, r.EventID, r.Tier)
	if err != nil {
		return Hold{}, err
	}
	for attempt := 0; attempt < maxClaimAttempts; attempt++ {
		h, err := s.tryHoldUnits(ctx, r, t, attempt >= skipAttempts)
		if sqldb.Retryable(err) && ctx.Err() == nil {
			continue // a deadlock outlasted the transaction's own retries; it left nothing behind
		}
		if !errors.Is(err, errShort) {
			return h, err
		}
		if err := s.afterShort(ctx, tagHold, r.EventID, r.Tier, int64(r.Quantity)); err != nil {
			return Hold{}, err
		}
	}
	return Hold{}, fmt.Errorf("tier %s of %s: no %d units claimed in %d attempts under contention: %w",
		r.Tier, r.EventID, r.Quantity, maxClaimAttempts, ErrUnavailable)
}

// afterShort decides what follows a short claim: nil to try again (units were minted, or free
// units exist but were locked), ErrSoldOut when the pool and the counter together have fewer
// than q. The count is of committed state, read after the claim: units locked by claims in
// flight still count as free (those claims can only take them away, or give them back), so a
// count below q with nothing left to mint proves the tier cannot serve q now.
//
// Both reads run in one transaction only so that the clock is read once its connection is
// held: counted with the time before a long wait for the pool, units whose holds expired during
// the wait would not count as free, and a tier with enough of them would be sold out.
func (s *SkipLocked) afterShort(ctx context.Context, tag, eventID, tier string, q int64) error {
	var avail, free int64
	err := s.db.Tx(ctx, tag, func(tx sqldb.Tx) error {
		if err := tx.QueryRow(ctx, "SELECT available FROM ga_tiers WHERE event_id = ? AND tier = ?", []any{&avail}, eventID, tier); err != nil {
			return fmt.Errorf("read tier %s: %w", tier, err)
		}
		var err error
		free, err = countFreeUnits(ctx, tx, eventID, tier, s.now())
		return err
	})
	if err != nil {
		return err
	}
	s.noteUnminted(eventID, tier, avail)
	switch {
	case avail > 0 && free < max(q, int64(s.poolSize)/2):
		_, err := s.refill(ctx, tag, eventID, tier, q)
		return err
	case avail == 0 && free < q:
		return fmt.Errorf("tier %s of %s: %d left, %d asked: %w", tier, eventID, free, q, ErrSoldOut)
	}
	return nil
}

// tryHoldUnits is one GA hold transaction: claim q units, mark them held, insert the hold. The
// clock is read once the transaction's connection is held (see statusExpiry.Hold).
func (s *SkipLocked) tryHoldUnits(ctx context.Context, r HoldRequest, t *slTier, wait bool) (Hold, error) {
	q := r.Quantity
	var h Hold
	err := s.db.Tx(ctx, tagHold, func(tx sqldb.Tx) error {
		now := s.now()
		h = newHold(r, now)
		h.AmountCents = int64(q) * t.price
		units, err := s.claimUnits(ctx, tx, r.EventID, r.Tier, t, q, now, wait)
		if err != nil {
			return err
		}
		if len(units) < q {
			return errShort
		}
		if err := s.fp.Eval(ctx, failpoint.InHoldTx); err != nil {
			return err
		}
		slices.Sort(units)
		h.Units = units
		n, err := tx.Exec(ctx, "UPDATE ga_units SET status = 'held', hold_id = ?, expires_at = ? WHERE event_id = ? AND tier = ? AND unit_id IN ("+inList(q)+")",
			appendArgs([]any{h.ID, h.Expires, r.EventID, r.Tier}, units)...)
		if err != nil {
			return fmt.Errorf("mark units held: %w", err)
		}
		if n != int64(q) {
			return fmt.Errorf("mark units held: %d of %d rows changed", n, q)
		}
		return insertHold(ctx, tx, h, now)
	})
	if err != nil {
		if errors.Is(err, errShort) {
			return Hold{}, err
		}
		return Hold{}, fmt.Errorf("hold %d of tier %s of %s: %w", q, r.Tier, r.EventID, err)
	}
	return h, nil
}
