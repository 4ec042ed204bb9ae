package strategies

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Limits of a hold request, as the booking contract states them.
const (
	maxSeatsPerHold    = 10
	maxQuantityPerHold = 10
	maxSessionLen      = 128
	maxSeatIDLen       = 32
)

// FieldError is a request that is invalid because of one field. It matches ErrInvalid with
// errors.Is; Field names the offending field as the request spells it (sections[2].rows).
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// Is makes a FieldError match ErrInvalid.
func (e *FieldError) Is(target error) bool { return target == ErrInvalid }

func invalid(field, format string, args ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// sortSeats returns the seat ids in the fixed lock order (byte order, which is also the order of
// the seats primary key on both databases: MySQL tables use utf8mb4_bin, PostgreSQL orders
// ORDER BY seat_id consistently within one database). It rejects an empty list, more than ten
// seats, empty or overlong ids and duplicates.
func sortSeats(ids []string) ([]string, error) {
	if len(ids) == 0 {
		return nil, invalid("seats", "at least one seat is required")
	}
	if len(ids) > maxSeatsPerHold {
		return nil, invalid("seats", "at most %d seats per hold, got %d", maxSeatsPerHold, len(ids))
	}
	out := slices.Clone(ids)
	slices.Sort(out)
	for i, id := range out {
		if id == "" || len(id) > maxSeatIDLen || strings.ContainsAny(id, ", ") {
			return nil, invalid("seats", "seat id %q is not a seat id (SECTION-ROW-NUMBER)", id)
		}
		if i > 0 && out[i-1] == id {
			return nil, invalid("seats", "seat %s is listed twice", id)
		}
	}
	return out, nil
}

// checkHoldRequest validates r and returns it with its seats in lock order and its TTL set: a
// request without one gets ttl, the strategy's Deps.HoldTTL (which Deps.defaults has set).
func checkHoldRequest(r HoldRequest, ttl time.Duration) (HoldRequest, error) {
	if r.EventID == "" {
		return r, invalid("event_id", "required")
	}
	if len(r.Session) > maxSessionLen {
		return r, invalid("session", "at most %d characters", maxSessionLen)
	}
	if r.TTL < 0 {
		return r, invalid("ttl", "must not be negative")
	}
	if r.TTL == 0 {
		r.TTL = ttl
	}
	switch {
	case len(r.Seats) > 0 && (r.Tier != "" || r.Quantity != 0):
		return r, invalid("seats", "give either seats or tier and quantity, not both")
	case len(r.Seats) > 0:
		seats, err := sortSeats(r.Seats)
		if err != nil {
			return r, err
		}
		r.Seats = seats
	case r.Tier != "":
		if r.Quantity < 1 || r.Quantity > maxQuantityPerHold {
			return r, invalid("quantity", "must be 1..%d", maxQuantityPerHold)
		}
	default:
		return r, invalid("seats", "give seats, or tier and quantity")
	}
	return r, nil
}

// newHold is the hold a validated request becomes at now.
func newHold(r HoldRequest, now time.Time) Hold {
	return Hold{ID: newID("h_"), EventID: r.EventID, Session: r.Session, Seats: r.Seats, Tier: r.Tier, Quantity: r.Quantity,
		TTL: r.TTL, Expires: dbTime(now.Add(r.TTL)), Status: StatusHeld}
}
