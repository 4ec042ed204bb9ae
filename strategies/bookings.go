package strategies

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"stampede/internal/sqldb"
)

// safetyNetIndex is the optional UNIQUE index on booked seats.
const safetyNetIndex = "booking_seats_unique"

// applySafetyNet creates the UNIQUE (event_id, seat_id) index on booking_seats when on, and
// drops it when off, so that a verification run never inherits the net from an earlier run.
// The tables must exist (Migrate) before the net can be switched on.
func applySafetyNet(ctx context.Context, db sqldb.DB, on bool) error {
	var exists bool
	var n int
	switch db.Dialect() {
	case sqldb.Postgres:
		err := db.QueryRow(ctx, tagRead, "SELECT COUNT(*) FROM pg_indexes WHERE schemaname = current_schema() AND indexname = ?", []any{&n}, safetyNetIndex)
		if err != nil {
			return fmt.Errorf("look up safety net index: %w", err)
		}
	default:
		err := db.QueryRow(ctx, tagRead, "SELECT COUNT(*) FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name = 'booking_seats' AND index_name = ?", []any{&n}, safetyNetIndex)
		if err != nil {
			return fmt.Errorf("look up safety net index: %w", err)
		}
	}
	exists = n > 0
	switch {
	case on && !exists:
		_, err := db.Exec(ctx, tagRead, "CREATE UNIQUE INDEX "+safetyNetIndex+" ON booking_seats (event_id, seat_id)")
		if err != nil && !duplicateIndex(err) {
			return fmt.Errorf("create safety net index (run migrations first): %w", err)
		}
	case !on && exists:
		q := "DROP INDEX " + safetyNetIndex
		if db.Dialect() == sqldb.MySQL {
			q += " ON booking_seats"
		}
		if _, err := db.Exec(ctx, tagRead, q); err != nil {
			return fmt.Errorf("drop safety net index: %w", err)
		}
	}
	return nil
}

// insertBooking writes a booking and one booking_seats row per seat or GA unit it sold, in the
// caller's transaction. Callers update seats or units and the hold first (the fixed table order:
// seats/units, holds, bookings).
func insertBooking(ctx context.Context, tx sqldb.Querier, b Booking) error {
	_, err := tx.Exec(ctx, `INSERT INTO bookings (id, event_id, hold_id, session, seats, tier, quantity, units, charge_id, amount_cents, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		b.ID, b.EventID, b.HoldID, b.Session, encodeList(b.Seats), b.Tier, b.Quantity, encodeList(b.Units),
		b.ChargeID, b.AmountCents, dbTime(b.Created))
	if err != nil {
		return fmt.Errorf("insert booking %s: %w", b.ID, err)
	}
	ids := append(slices.Clone(b.Seats), b.Units...)
	if len(ids) == 0 {
		return nil
	}
	args := make([]any, 0, 3*len(ids))
	for _, id := range ids {
		args = append(args, b.EventID, id, b.ID)
	}
	q := "INSERT INTO booking_seats (event_id, seat_id, booking_id) VALUES " + strings.Repeat("(?, ?, ?), ", len(ids)-1) + "(?, ?, ?)"
	if _, err := tx.Exec(ctx, q, args...); err != nil {
		return fmt.Errorf("insert booked seats of %s: %w", b.ID, err)
	}
	return nil
}

// alreadySold answers a Confirm of a hold that is already sold: the existing booking when the
// request carries the same booking id (a retried confirm), ErrHoldSold otherwise.
func alreadySold(ctx context.Context, store *Store, h Hold, bookingID string) (Booking, error) {
	if bookingID != "" && h.BookingID == bookingID {
		return store.GetBooking(ctx, bookingID)
	}
	return Booking{}, fmt.Errorf("hold %s (booking %s): %w", h.ID, h.BookingID, ErrHoldSold)
}

// newBookingID is the request's booking id, or a fresh one.
func newBookingID(requested string) string {
	if requested != "" {
		return requested
	}
	return newID("b_")
}

// bookingOf is the booking a hold becomes.
func bookingOf(h Hold, id string, c Charge, now time.Time) Booking {
	return Booking{ID: id, HoldID: h.ID, EventID: h.EventID, Session: h.Session, Seats: h.Seats, Tier: h.Tier,
		Quantity: h.Quantity, Units: h.Units, ChargeID: c.ID, AmountCents: h.AmountCents, Created: dbTime(now)}
}

// charge takes the payment for h through r.Charge, outside any transaction. A request without
// Charge is confirmed without payment (tests).
func charge(ctx context.Context, r ConfirmRequest, h Hold) (Charge, error) {
	if r.Charge == nil {
		return Charge{}, nil
	}
	c, err := r.Charge(ctx, h)
	if err != nil {
		return Charge{}, fmt.Errorf("confirm %s: charge: %w", h.ID, err)
	}
	return c, nil
}

// errAlreadySold ends a confirm transaction that found its hold sold; the caller answers with
// alreadySold after the rollback.
var errAlreadySold = errors.New("hold already sold")
