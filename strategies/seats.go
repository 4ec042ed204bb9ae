package strategies

import (
	"context"
	"fmt"
	"strings"
	"time"

	"stampede/internal/sqldb"
)

// UnavailableError names the seats that made a hold fail. It matches ErrUnavailable with
// errors.Is; callers that report the seats use errors.As.
type UnavailableError struct {
	Seats []string
}

func (e *UnavailableError) Error() string {
	return "seats " + strings.Join(e.Seats, ", ") + ": " + ErrUnavailable.Error()
}

// Is makes an UnavailableError match ErrUnavailable.
func (e *UnavailableError) Is(target error) bool { return target == ErrUnavailable }

// seatRow is one seat as the strategies read it.
type seatRow struct {
	ID, Status, HoldID, BookingID string
	Expires                       *time.Time
	PriceCents                    int64
}

// ownedBy reports whether a confirm of hold may sell the seat: hold is its last holder (held,
// expired or not, or given back by release or sweep with nobody holding it since) and it is not
// sold. A seat another hold took after this one, live, expired or released, is not.
func (s seatRow) ownedBy(hold string) bool {
	return s.HoldID == hold && s.Status != SeatSold
}

// free reports whether the seat can be held at now: available, or held by an expired hold.
func (s seatRow) free(now time.Time) bool {
	return s.Status == SeatAvailable || (s.Status == SeatHeld && (s.Expires == nil || expired(*s.Expires, now)))
}

// readSeats reads the named seats of an event in seat order; forUpdate locks them, in that
// order, for the transaction (the fixed lock order that keeps pessimistic holds free of
// deadlocks). Seats that do not exist are simply absent from the answer.
func readSeats(ctx context.Context, q sqldb.Querier, eventID string, seats []string, forUpdate bool) ([]seatRow, error) {
	query := "SELECT seat_id, status, hold_id, booking_id, expires_at, price_cents FROM seats WHERE event_id = ? AND seat_id IN (" +
		inList(len(seats)) + ") ORDER BY seat_id"
	if forUpdate {
		query += " FOR UPDATE"
	}
	out := make([]seatRow, 0, len(seats))
	err := q.Query(ctx, query, func(rows sqldb.Rows) error {
		for rows.Next() {
			var s seatRow
			var hold, booking *string
			if err := rows.Scan(&s.ID, &s.Status, &hold, &booking, &s.Expires, &s.PriceCents); err != nil {
				return err
			}
			if hold != nil {
				s.HoldID = *hold
			}
			if booking != nil {
				s.BookingID = *booking
			}
			out = append(out, s)
		}
		return nil
	}, appendArgs([]any{eventID}, seats)...)
	if err != nil {
		return nil, fmt.Errorf("read seats: %w", err)
	}
	return out, nil
}

// checkFree returns the seats' total price when every requested seat exists and is free at
// now; ErrSeatNotFound / ErrEventNotFound for missing ones, *UnavailableError naming the busy
// ones otherwise.
func checkFree(ctx context.Context, q sqldb.Querier, eventID string, want []string, rows []seatRow, now time.Time) (int64, error) {
	if len(rows) < len(want) {
		found := make(map[string]bool, len(rows))
		for _, r := range rows {
			found[r.ID] = true
		}
		return 0, missingSeat(ctx, q, eventID, want, found)
	}
	var busy []string
	var total int64
	for _, r := range rows {
		if !r.free(now) {
			busy = append(busy, r.ID)
		}
		total += r.PriceCents
	}
	if len(busy) > 0 {
		return 0, &UnavailableError{Seats: busy}
	}
	return total, nil
}

// markSeatsHeld sets the seats held by h, without any condition (callers have checked or lock).
func markSeatsHeld(ctx context.Context, q sqldb.Querier, h Hold) error {
	args := appendArgs([]any{SeatHeld, h.ID, dbTime(h.Expires), h.EventID}, h.Seats)
	if _, err := q.Exec(ctx, "UPDATE seats SET status = ?, hold_id = ?, expires_at = ? WHERE event_id = ? AND seat_id IN ("+inList(len(h.Seats))+")", args...); err != nil {
		return fmt.Errorf("mark seats held: %w", err)
	}
	return nil
}

// markSeatsSold sets the seats sold to booking, without any condition.
func markSeatsSold(ctx context.Context, q sqldb.Querier, h Hold, bookingID string) error {
	args := appendArgs([]any{SeatSold, h.ID, bookingID, h.EventID}, h.Seats)
	if _, err := q.Exec(ctx, "UPDATE seats SET status = ?, hold_id = ?, booking_id = ?, expires_at = NULL WHERE event_id = ? AND seat_id IN ("+inList(len(h.Seats))+")", args...); err != nil {
		return fmt.Errorf("mark seats sold: %w", err)
	}
	return nil
}
