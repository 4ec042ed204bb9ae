package strategies

import (
	"context"
	"fmt"
	"time"

	"stampede/internal/sqldb"
)

// expired reports whether a hold that expires at exp is past its expiry at now. A hold lives
// for [taken, exp): at exp itself it has expired. SQL spells the same rule expires_at <= now.
func expired(exp, now time.Time) bool { return !now.Before(exp) }

// holdColumns are the holds table's columns in the order scanHold reads them.
const holdColumns = "id, event_id, session, seats, tier, quantity, units, amount_cents, status, expires_at, ttl_ms, token, booking_id"

// scanHold reads one holds row selected with holdColumns. Status is the stored status; callers
// apply the implicit rule with effectiveStatus.
func scanHold(rows interface{ Scan(...any) error }) (Hold, error) {
	var h Hold
	var seats, units string
	var ttlMS int64
	var booking *string
	if err := rows.Scan(&h.ID, &h.EventID, &h.Session, &seats, &h.Tier, &h.Quantity, &units, &h.AmountCents,
		&h.Status, &h.Expires, &ttlMS, &h.Token, &booking); err != nil {
		return h, err
	}
	h.Seats, h.Units = decodeList(seats), decodeList(units)
	h.Expires = h.Expires.UTC()
	h.TTL = time.Duration(ttlMS) * time.Millisecond
	if booking != nil {
		h.BookingID = *booking
	}
	return h, nil
}

// effectiveStatus applies the implicit-status rule: a held hold past its expiry is expired.
func effectiveStatus(h Hold, now time.Time) string {
	if h.Status == StatusHeld && expired(h.Expires, now) {
		return StatusExpired
	}
	return h.Status
}

// loadHold reads a hold with its stored status; forUpdate locks the row for the transaction.
func loadHold(ctx context.Context, q sqldb.Querier, id string, forUpdate bool) (Hold, error) {
	query := "SELECT " + holdColumns + " FROM holds WHERE id = ?"
	if forUpdate {
		query += " FOR UPDATE"
	}
	var h Hold
	var found bool
	err := q.Query(ctx, query, func(rows sqldb.Rows) error {
		if !rows.Next() {
			return nil
		}
		var err error
		h, err = scanHold(rows)
		found = err == nil
		return err
	}, id)
	if err != nil {
		return h, fmt.Errorf("read hold %s: %w", id, err)
	}
	if !found {
		return h, fmt.Errorf("hold %s: %w", id, ErrHoldNotFound)
	}
	return h, nil
}

// insertHold writes a new holds row with status held.
func insertHold(ctx context.Context, tx sqldb.Querier, h Hold, now time.Time) error {
	_, err := tx.Exec(ctx, `INSERT INTO holds (id, event_id, session, seats, tier, quantity, units, amount_cents, status, expires_at, ttl_ms, token, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		h.ID, h.EventID, h.Session, encodeList(h.Seats), h.Tier, h.Quantity, encodeList(h.Units), h.AmountCents,
		StatusHeld, dbTime(h.Expires), h.TTL.Milliseconds(), h.Token, dbTime(now))
	if err != nil {
		return fmt.Errorf("insert hold %s: %w", h.ID, err)
	}
	return nil
}

// markHoldSold records the booking on the hold row, after its seats or units and before the
// booking (the fixed table order).
func markHoldSold(ctx context.Context, tx sqldb.Querier, holdID, bookingID string) error {
	n, err := tx.Exec(ctx, "UPDATE holds SET status = ?, booking_id = ? WHERE id = ? AND status <> ?", StatusSold, bookingID, holdID, StatusSold)
	if err != nil {
		return fmt.Errorf("mark hold %s sold: %w", holdID, err)
	}
	if n != 1 {
		return fmt.Errorf("mark hold %s sold: already sold: %w", holdID, ErrHoldSold)
	}
	return nil
}
