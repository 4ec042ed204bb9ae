package strategies

import (
	"context"
	"errors"
	"fmt"

	"stampede/internal/failpoint"
	"stampede/internal/sqldb"
)

// confirmKeys are the keys of lua/confirm.lua and lua/finalize.lua (after their first one).
func (s *RedisLock) confirmKeys(h Hold) []string {
	tier := h.Tier
	if tier == "" {
		tier = "-" // a key the seat path never touches
	}
	keys := []string{s.tierKey(h.EventID, tier), s.tierHoldsKey(h.EventID, tier)}
	for _, seat := range h.Seats {
		keys = append(keys, s.seatKey(h.EventID, seat))
	}
	return keys
}

// checkLock runs lua/confirm.lua: 1 ours, 0 someone else's, -2 released.
func (s *RedisLock) checkLock(ctx context.Context, h Hold, mode string) (int64, error) {
	now := s.clock()
	keys := append([]string{s.fenceKey(h.EventID), s.holdKey(h.ID)}, s.confirmKeys(h)...)
	res, err := s.run(ctx, h.EventID, s.confirmScript, keys,
		h.ID, ms(now), mode, ms(now.Add(s.grace)), s.grace.Milliseconds(), h.Quantity)
	if err != nil {
		return 0, fmt.Errorf("%s lock of hold %s: %w", mode, h.ID, err)
	}
	n, _ := res.(int64)
	return n, nil
}

// Confirm charges and books a hold; see the type's documentation for the order of events.
func (s *RedisLock) Confirm(ctx context.Context, r ConfirmRequest) (Booking, error) {
	h, found, err := s.redisHold(ctx, r.HoldID)
	if err != nil {
		return Booking{}, err
	}
	if !found {
		sold, err := s.soldHold(ctx, r.HoldID)
		if err != nil {
			return Booking{}, err
		}
		return alreadySold(ctx, s.store, sold, r.BookingID)
	}
	switch h.Status {
	case StatusSold:
		return alreadySold(ctx, s.store, h, r.BookingID)
	case StatusReleased:
		return Booking{}, fmt.Errorf("confirm %s: released: %w", h.ID, ErrHoldExpired)
	}
	// The broken variant (unfenced, seat holds only) trusts the lock it once had: no check.
	trustLock := s.unfenced && h.Tier == ""
	switch n, err := s.lockCheck(ctx, h, "check", trustLock); {
	case err != nil:
		return Booking{}, fmt.Errorf("confirm %s: %w", h.ID, err)
	case n == -2:
		return Booking{}, fmt.Errorf("confirm %s: released: %w", h.ID, ErrHoldExpired)
	case n != 1:
		// A concurrent confirm of this very hold may have sold the seats since the hold was
		// read: then the answer is the sale, not an expiry.
		if now, found, err := s.redisHold(ctx, h.ID); err == nil && found && now.Status == StatusSold {
			return alreadySold(ctx, s.store, now, r.BookingID)
		}
		return Booking{}, fmt.Errorf("confirm %s: expired and taken: %w", h.ID, ErrHoldExpired)
	}
	if expired(h.Expires, s.clock()) {
		h.Status = StatusExpired
	}
	c, err := charge(ctx, r, h)
	if err != nil {
		return Booking{}, err
	}
	b := bookingOf(h, newBookingID(r.BookingID), c, s.clock())
	// From here on the buyer has paid: every failure is ErrHoldLost (the caller refunds) unless
	// the booking turns out to exist.
	switch n, err := s.lockCheck(ctx, h, "claim", trustLock); {
	case err != nil:
		return s.lost(ctx, h, b, err)
	case n != 1:
		return s.lost(ctx, h, b, errors.New("the lock is someone else's now"))
	}
	if err := s.fp.Eval(ctx, failpoint.AfterRedisLock); err != nil {
		return s.lost(ctx, h, b, err)
	}
	err = s.db.Tx(ctx, tagCheckout, func(tx sqldb.Tx) error {
		if h.Tier != "" {
			n, err := tx.Exec(ctx, "UPDATE ga_tiers SET available = available - ?, sold = sold + ? WHERE event_id = ? AND tier = ? AND available >= ?",
				h.Quantity, h.Quantity, h.EventID, h.Tier, h.Quantity)
			if err != nil {
				return fmt.Errorf("sell units: %w", err)
			}
			if n != 1 {
				return fmt.Errorf("tier %s has fewer than %d units left: %w", h.Tier, h.Quantity, errLostRows)
			}
		} else {
			args := appendArgs([]any{h.ID, b.ID, h.Token, h.EventID}, h.Seats)
			guard := " AND status <> 'sold' AND fence < ?"
			if trustLock {
				guard = "" // the broken variant: neither the fence nor the seat's status is checked
			} else {
				args = append(args, h.Token)
			}
			n, err := tx.Exec(ctx, "UPDATE seats SET status = 'sold', hold_id = ?, booking_id = ?, expires_at = NULL, fence = ? WHERE event_id = ? AND seat_id IN ("+
				inList(len(h.Seats))+")"+guard, args...)
			if err != nil {
				return fmt.Errorf("sell seats: %w", err)
			}
			if n != int64(len(h.Seats)) {
				return fmt.Errorf("%d of %d seats could be sold with token %d: %w", n, len(h.Seats), h.Token, errLostRows)
			}
		}
		if err := s.fp.Eval(ctx, failpoint.InConfirmTx); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO holds (id, event_id, session, seats, tier, quantity, units, amount_cents, status, expires_at, ttl_ms, token, booking_id, created_at)
			VALUES (?, ?, ?, ?, ?, ?, '', ?, ?, ?, ?, ?, ?, ?)`,
			h.ID, h.EventID, h.Session, encodeList(h.Seats), h.Tier, h.Quantity, h.AmountCents, StatusSold,
			dbTime(h.Expires), h.TTL.Milliseconds(), h.Token, b.ID, b.Created)
		if sqldb.UniqueViolation(err) {
			return fmt.Errorf("hold %s was sold by another confirm: %w", h.ID, errLostRows)
		}
		if err != nil {
			return fmt.Errorf("record sold hold: %w", err)
		}
		return insertBooking(ctx, tx, b)
	})
	if err != nil {
		return s.lost(ctx, h, b, err)
	}
	s.finalize(ctx, h, b.ID)
	return b, nil
}

// lost answers a confirm whose sale failed after the charge. If the booking exists after all
// (a concurrent confirm with the same booking id, or a commit whose answer was lost), it is
// the answer; if it certainly does not, ErrHoldLost; if the database cannot tell, the error
// without ErrHoldLost, since a refund could then take money for a booking that exists.
func (s *RedisLock) lost(ctx context.Context, h Hold, b Booking, cause error) (Booking, error) {
	dctx := context.WithoutCancel(ctx)
	got, err := s.store.GetBooking(dctx, b.ID)
	switch {
	case err == nil && got.HoldID == h.ID:
		s.finalize(dctx, h, got.ID)
		return got, nil
	case err == nil:
		return Booking{}, fmt.Errorf("confirm %s: booking id %s belongs to hold %s: %w", h.ID, b.ID, got.HoldID, ErrInvalid)
	case errors.Is(err, ErrBookingNotFound):
		// The sale certainly did not happen and the buyer will be refunded: give back what the
		// confirm's claim took now, rather than keeping the seats from others for its grace.
		keys := append([]string{s.holdKey(h.ID)}, s.confirmKeys(h)...)
		if rerr := s.releaseScript.Run(dctx, s.rdb, keys, h.ID, h.Quantity).Err(); rerr != nil {
			s.log.Warn("redis-lock: release the claim of a lost confirm", "hold", h.ID, "err", rerr)
		}
		return Booking{}, fmt.Errorf("confirm %s after the charge: %v: %w", h.ID, cause, ErrHoldLost)
	}
	return Booking{}, fmt.Errorf("confirm %s after the charge: %w (and reading the booking back: %v)", h.ID, cause, err)
}

// finalize records a committed sale in Redis. Failing to is logged, not returned: the database
// has the sale, and Redis is rebuilt from it after a restart.
func (s *RedisLock) finalize(ctx context.Context, h Hold, bookingID string) {
	keys := append([]string{s.holdKey(h.ID)}, s.confirmKeys(h)...)
	if err := s.finalizeScript.Run(context.WithoutCancel(ctx), s.rdb, keys, h.ID, bookingID, h.Quantity).Err(); err != nil {
		s.log.Warn("redis-lock: record sale in redis", "hold", h.ID, "booking", bookingID, "err", err)
	}
}

// Release deletes the seat keys the hold still has, returns its GA units and marks it
// released. Expired and released holds are not an error; a sold hold is ErrHoldSold.
func (s *RedisLock) Release(ctx context.Context, holdID string) error {
	h, found, err := s.redisHold(ctx, holdID)
	if err != nil {
		return err
	}
	if found {
		keys := append([]string{s.holdKey(h.ID)}, s.confirmKeys(h)...)
		n, err := s.releaseScript.Run(ctx, s.rdb, keys, h.ID, h.Quantity).Int64()
		if err != nil {
			return fmt.Errorf("release %s: %w", holdID, err)
		}
		switch n {
		case 1, 2:
			return nil
		case 3:
			return fmt.Errorf("release %s: %w", holdID, ErrHoldSold)
		}
	}
	if _, err := s.soldHold(ctx, holdID); err != nil {
		return fmt.Errorf("release: %w", err)
	}
	return fmt.Errorf("release %s: %w", holdID, ErrHoldSold)
}
