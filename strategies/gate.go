package strategies

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"stampede/internal/sqldb"
)

// The gate's part of the inventory: entries through the gates (one per ticket, whatever the
// gate), bookings cancelled after their sale, and the seed of the key that signs tickets. The
// tickets themselves are not stored: they are signed from the booking (server/tickets), so a
// gate verifies them without the database, and only a ticket whose signature holds reaches
// Admit.

// tagGate is the connection tag of the gate's statements.
const tagGate = "gate"

// Errors of the gate. Match with errors.Is; ErrTicketUsed comes as a *UsedError.
var (
	// ErrTicketUsed: the ticket was admitted before (at this gate or another).
	ErrTicketUsed = errors.New("ticket already used")
	// ErrBookingCancelled: the ticket's booking was cancelled or refunded after its sale.
	ErrBookingCancelled = errors.New("booking cancelled")
)

// Entry is one ticket admitted through a gate.
type Entry struct {
	TicketID  string `json:"ticket_id"`
	EventID   string `json:"event_id"`
	BookingID string `json:"booking_id"`
	// Item is the seat id, or the general-admission unit, the ticket is for.
	Item       string    `json:"item"`
	Gate       string    `json:"gate"`
	AdmittedAt time.Time `json:"admitted_at"`
}

// UsedError is ErrTicketUsed with the first entry of the ticket.
type UsedError struct{ First Entry }

func (e *UsedError) Error() string {
	return fmt.Sprintf("ticket %s already used: admitted at gate %s at %s", e.First.TicketID, e.First.Gate,
		e.First.AdmittedAt.Format(time.RFC3339Nano))
}

// Is makes errors.Is(err, ErrTicketUsed) hold.
func (e *UsedError) Is(target error) bool { return target == ErrTicketUsed }

// Cancellation is a booking cancelled or refunded after its sale.
type Cancellation struct {
	BookingID   string    `json:"booking_id"`
	EventID     string    `json:"event_id"`
	Reason      string    `json:"reason"`
	CancelledAt time.Time `json:"cancelled_at"`
}

// Admit records e (its AdmittedAt is set from the store's clock) as the one entry of its
// ticket, atomically across every gate and every server sharing the database: of concurrent
// Admits of one ticket exactly one succeeds, the others are *UsedError naming the first entry.
// The booking must exist (ErrBookingNotFound) and not be cancelled (ErrBookingCancelled); its
// row is locked for the check, so a cancellation and an admission of the same booking are
// ordered. Tables in the fixed order: bookings, then gate tables.
func (s *Store) Admit(ctx context.Context, e Entry) (Entry, error) {
	e.AdmittedAt = dbTime(s.now())
	err := s.db.Tx(ctx, tagGate, func(tx sqldb.Tx) error {
		if err := lockActiveBooking(ctx, tx, e.BookingID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "INSERT INTO gate_entries (ticket_id, event_id, booking_id, item, gate, admitted_at) VALUES (?, ?, ?, ?, ?, ?)",
			e.TicketID, e.EventID, e.BookingID, e.Item, e.Gate, e.AdmittedAt)
		return err
	})
	if sqldb.UniqueViolation(err) {
		first, ferr := s.entry(ctx, e.TicketID)
		if ferr != nil {
			return Entry{}, ferr
		}
		return Entry{}, &UsedError{First: first}
	}
	if err != nil {
		return Entry{}, fmt.Errorf("admit ticket %s: %w", e.TicketID, err)
	}
	return e, nil
}

// lockActiveBooking locks a booking's row in tx and checks that it is not cancelled.
func lockActiveBooking(ctx context.Context, tx sqldb.Tx, bookingID string) error {
	var event string
	err := tx.QueryRow(ctx, "SELECT event_id FROM bookings WHERE id = ? FOR UPDATE", []any{&event}, bookingID)
	if errors.Is(err, sqldb.ErrNoRows) {
		return fmt.Errorf("booking %s: %w", bookingID, ErrBookingNotFound)
	}
	if err != nil {
		return fmt.Errorf("lock booking %s: %w", bookingID, err)
	}
	var reason string
	err = tx.QueryRow(ctx, "SELECT reason FROM booking_cancellations WHERE booking_id = ?", []any{&reason}, bookingID)
	switch {
	case err == nil:
		return fmt.Errorf("booking %s (%s): %w", bookingID, reason, ErrBookingCancelled)
	case errors.Is(err, sqldb.ErrNoRows):
		return nil
	default:
		return fmt.Errorf("read cancellation of %s: %w", bookingID, err)
	}
}

// entry reads the entry of a ticket.
func (s *Store) entry(ctx context.Context, ticketID string) (Entry, error) {
	var e Entry
	err := s.db.QueryRow(ctx, tagGate, "SELECT ticket_id, event_id, booking_id, item, gate, admitted_at FROM gate_entries WHERE ticket_id = ?",
		[]any{&e.TicketID, &e.EventID, &e.BookingID, &e.Item, &e.Gate, &e.AdmittedAt}, ticketID)
	if err != nil {
		return Entry{}, fmt.Errorf("read entry of ticket %s: %w", ticketID, err)
	}
	e.AdmittedAt = e.AdmittedAt.UTC()
	return e, nil
}

// CancelBooking marks a booking cancelled (reason: "cancelled" or "refunded", at most 32
// characters), so that its tickets are refused at the gates from then on. The seats stay sold
// and no money moves: it is the gate's record of a booking that no longer admits anyone. It is
// idempotent (the first reason is kept); an unknown booking is ErrBookingNotFound.
func (s *Store) CancelBooking(ctx context.Context, bookingID, reason string) (Cancellation, error) {
	if reason == "" || len(reason) > 32 {
		return Cancellation{}, invalid("reason", "must be 1..32 characters")
	}
	c := Cancellation{BookingID: bookingID, Reason: reason, CancelledAt: dbTime(s.now())}
	err := s.db.Tx(ctx, tagGate, func(tx sqldb.Tx) error {
		err := tx.QueryRow(ctx, "SELECT event_id FROM bookings WHERE id = ? FOR UPDATE", []any{&c.EventID}, bookingID)
		if errors.Is(err, sqldb.ErrNoRows) {
			return fmt.Errorf("booking %s: %w", bookingID, ErrBookingNotFound)
		}
		if err != nil {
			return fmt.Errorf("lock booking %s: %w", bookingID, err)
		}
		err = tx.QueryRow(ctx, "SELECT reason, cancelled_at FROM booking_cancellations WHERE booking_id = ?", []any{&c.Reason, &c.CancelledAt}, bookingID)
		if err == nil {
			c.CancelledAt = c.CancelledAt.UTC()
			return nil
		}
		if !errors.Is(err, sqldb.ErrNoRows) {
			return fmt.Errorf("read cancellation of %s: %w", bookingID, err)
		}
		_, err = tx.Exec(ctx, "INSERT INTO booking_cancellations (booking_id, event_id, reason, cancelled_at) VALUES (?, ?, ?, ?)",
			c.BookingID, c.EventID, c.Reason, c.CancelledAt)
		return err
	})
	if err != nil {
		return Cancellation{}, fmt.Errorf("cancel booking %s: %w", bookingID, err)
	}
	return c, nil
}

// Entries returns every entry of an event, in admission order.
func (s *Store) Entries(ctx context.Context, eventID string) ([]Entry, error) {
	out := []Entry{}
	err := s.db.Query(ctx, tagRead, "SELECT ticket_id, event_id, booking_id, item, gate, admitted_at FROM gate_entries WHERE event_id = ? ORDER BY admitted_at, ticket_id",
		func(rows sqldb.Rows) error {
			for rows.Next() {
				var e Entry
				if err := rows.Scan(&e.TicketID, &e.EventID, &e.BookingID, &e.Item, &e.Gate, &e.AdmittedAt); err != nil {
					return err
				}
				e.AdmittedAt = e.AdmittedAt.UTC()
				out = append(out, e)
			}
			return rows.Err()
		}, eventID)
	if err != nil {
		return nil, fmt.Errorf("list entries of %s: %w", eventID, err)
	}
	return out, nil
}

// Cancellations returns every cancelled booking of an event.
func (s *Store) Cancellations(ctx context.Context, eventID string) ([]Cancellation, error) {
	out := []Cancellation{}
	err := s.db.Query(ctx, tagRead, "SELECT booking_id, event_id, reason, cancelled_at FROM booking_cancellations WHERE event_id = ? ORDER BY cancelled_at, booking_id",
		func(rows sqldb.Rows) error {
			for rows.Next() {
				var c Cancellation
				if err := rows.Scan(&c.BookingID, &c.EventID, &c.Reason, &c.CancelledAt); err != nil {
					return err
				}
				c.CancelledAt = c.CancelledAt.UTC()
				out = append(out, c)
			}
			return rows.Err()
		}, eventID)
	if err != nil {
		return nil, fmt.Errorf("list cancellations of %s: %w", eventID, err)
	}
	return out, nil
}

// TicketSeed returns the 32-byte seed of the key that signs tickets, creating it (random) on
// first use. Every server on the database gets the same seed, so tickets outlive restarts and
// verify at any server.
func (s *Store) TicketSeed(ctx context.Context) ([]byte, error) {
	read := func() ([]byte, error) {
		var h string
		if err := s.db.QueryRow(ctx, tagRead, "SELECT seed FROM ticket_keys WHERE id = 1", []any{&h}); err != nil {
			return nil, err
		}
		seed, err := hex.DecodeString(h)
		if err != nil || len(seed) != 32 {
			return nil, fmt.Errorf("ticket key seed in the database is not 64 hex digits")
		}
		return seed, nil
	}
	seed, err := read()
	if err == nil {
		return seed, nil
	}
	if !errors.Is(err, sqldb.ErrNoRows) {
		return nil, fmt.Errorf("read ticket key: %w", err)
	}
	fresh := make([]byte, 32)
	_, _ = rand.Read(fresh)
	_, err = s.db.Exec(ctx, tagRead, "INSERT INTO ticket_keys (id, seed) VALUES (1, ?)", hex.EncodeToString(fresh))
	if err != nil && !sqldb.UniqueViolation(err) {
		return nil, fmt.Errorf("create ticket key: %w", err)
	}
	// Another server may have created it first: the stored one wins.
	if seed, err = read(); err != nil {
		return nil, fmt.Errorf("read ticket key: %w", err)
	}
	return seed, nil
}
