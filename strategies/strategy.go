package strategies

import (
	"context"
	"errors"
	"time"
)

// Errors a Strategy returns for outcomes callers act on. Match them with errors.Is.
var (
	// ErrUnavailable: at least one requested seat is held or sold (nothing was held).
	ErrUnavailable = errors.New("seat unavailable")
	// ErrSoldOut: a general-admission tier has fewer units left than requested.
	ErrSoldOut = errors.New("sold out")
	// ErrEventNotFound, ErrSeatNotFound, ErrTierNotFound: the request names something that does
	// not exist.
	ErrEventNotFound = errors.New("event not found")
	ErrSeatNotFound  = errors.New("seat not found")
	ErrTierNotFound  = errors.New("tier not found")
	// ErrHoldNotFound: no hold has that id.
	ErrHoldNotFound = errors.New("hold not found")
	// ErrBookingNotFound: no booking has that id.
	ErrBookingNotFound = errors.New("booking not found")
	// ErrHoldExpired: the hold expired or was released before Confirm charged anything.
	ErrHoldExpired = errors.New("hold expired")
	// ErrHoldLost: the charge ran but the seats could no longer be booked (taken by someone else
	// after the hold expired, Redis lost the lock, a fencing token was stale, the transaction
	// failed after the charge). The caller must refund the charge.
	ErrHoldLost = errors.New("hold lost")
	// ErrHoldSold: the hold is already booked.
	ErrHoldSold = errors.New("hold already sold")
	// ErrInvalid: the request is malformed (wrapped with the reason).
	ErrInvalid = errors.New("invalid request")
	// ErrEventExists: an event with the same id but a different spec exists.
	ErrEventExists = errors.New("event exists with a different spec")
)

// Hold statuses.
const (
	StatusHeld     = "held"
	StatusReleased = "released"
	StatusExpired  = "expired"
	StatusSold     = "sold"
)

// Seat statuses, as the implicit-status rule computes them: a held seat whose hold has expired
// is available.
const (
	SeatAvailable = "available"
	SeatHeld      = "held"
	SeatSold      = "sold"
)

// HoldRequest asks for specific seats, or a quantity of a general-admission tier.
type HoldRequest struct {
	EventID string
	Session string
	// Seats are seat ids (SECTION-ROW-NUMBER); set either Seats or Tier and Quantity.
	Seats    []string
	Tier     string
	Quantity int
	// TTL is the hold's lifetime; zero means the strategy's configured default.
	TTL time.Duration
}

// Hold is a temporary claim on seats or GA units.
type Hold struct {
	ID       string        `json:"hold_id"`
	EventID  string        `json:"event_id"`
	Session  string        `json:"session"`
	Seats    []string      `json:"seats,omitempty"`
	Tier     string        `json:"tier,omitempty"`
	Quantity int           `json:"quantity,omitempty"`
	Units    []string      `json:"units,omitempty"`
	Expires  time.Time     `json:"expires_at"`
	TTL      time.Duration `json:"-"`
	Status   string        `json:"status"`
	// AmountCents is the price of everything held.
	AmountCents int64 `json:"amount_cents,omitempty"`
	// Token is the fencing token of a redis-lock hold; 0 for other strategies.
	Token int64 `json:"token,omitempty"`
	// BookingID is set once the hold is sold.
	BookingID string `json:"booking_id,omitempty"`
}

// Charge is a captured payment.
type Charge struct {
	ID          string
	AmountCents int64
}

// ChargeFunc takes the payment for a hold. Confirm calls it at most once, at the point its
// strategy decides (inside the transaction for pessimistic, outside any for the others). It must
// be idempotent (the caller keys it), since a crashed confirm is retried.
type ChargeFunc func(ctx context.Context, h Hold) (Charge, error)

// ConfirmRequest turns a hold into a booking.
type ConfirmRequest struct {
	HoldID  string
	Session string
	// BookingID is the id to give the booking; empty means the strategy makes one. Checkout
	// passes a stable id so that a resumed confirm cannot write a second booking.
	BookingID string
	// Charge takes the payment. Nil means the hold is confirmed without payment (tests).
	Charge ChargeFunc
}

// Booking is a sold hold.
type Booking struct {
	ID          string    `json:"booking_id"`
	HoldID      string    `json:"hold_id"`
	EventID     string    `json:"event_id"`
	Session     string    `json:"session"`
	Seats       []string  `json:"seats,omitempty"`
	Tier        string    `json:"tier,omitempty"`
	Quantity    int       `json:"quantity,omitempty"`
	Units       []string  `json:"units,omitempty"`
	ChargeID    string    `json:"charge_id"`
	AmountCents int64     `json:"amount_cents"`
	Created     time.Time `json:"created_at"`
}

// SeatState is one seat in an availability answer or a ledger.
type SeatState struct {
	ID         string `json:"id"`
	Status     string `json:"status"`
	PriceCents int64  `json:"price_cents,omitempty"`
	HoldID     string `json:"hold_id,omitempty"`
	BookingID  string `json:"booking_id,omitempty"`
}

// TierState is one general-admission tier: Available + Held + Sold == Capacity.
type TierState struct {
	Name       string `json:"name"`
	Capacity   int64  `json:"capacity"`
	Available  int64  `json:"available"`
	Held       int64  `json:"held"`
	Sold       int64  `json:"sold"`
	PriceCents int64  `json:"price_cents,omitempty"`
}

// Availability is the live state of an event's inventory.
type Availability struct {
	EventID string      `json:"event_id"`
	AsOf    time.Time   `json:"as_of"`
	Seats   []SeatState `json:"seats"`
	Tiers   []TierState `json:"ga_tiers"`
}

// Strategy moves seats through available -> held -> sold. Implementations are safe for
// concurrent use; every method honours ctx.
type Strategy interface {
	// Name is the strategy's registry name (pessimistic, status-expiry, ...).
	Name() string
	// Hold claims all requested seats or units, or none: ErrUnavailable, ErrSoldOut,
	// ErrSeatNotFound, ErrTierNotFound, ErrEventNotFound, ErrInvalid.
	Hold(ctx context.Context, r HoldRequest) (Hold, error)
	// Confirm charges (through r.Charge) and books the hold. Before the charge: ErrHoldExpired,
	// ErrHoldSold, ErrHoldNotFound (nothing charged). After the charge: ErrHoldLost (the caller
	// refunds). A hold that expired while paying is still booked when none of its seats was
	// taken by anyone else. An error from r.Charge is returned wrapped, with nothing booked.
	Confirm(ctx context.Context, r ConfirmRequest) (Booking, error)
	// Release gives the hold's seats back. Releasing an expired or released hold is not an
	// error; a sold hold is ErrHoldSold; an unknown one ErrHoldNotFound.
	Release(ctx context.Context, holdID string) error
	// GetHold returns a hold with its current status (expired once past its expiry).
	GetHold(ctx context.Context, holdID string) (Hold, error)
	// Holds lists the event's holds that are not sold (for the ledger).
	Holds(ctx context.Context, eventID string) ([]Hold, error)
	// Availability computes the live seat map and tier counts.
	Availability(ctx context.Context, eventID string) (Availability, error)
}

// Preparer is implemented by strategies that keep per-event structures beyond the shared
// inventory tables (GA unit pools, Redis keys). The store calls it after creating an event.
type Preparer interface {
	PrepareEvent(ctx context.Context, e Event) error
}

// Runner is implemented by strategies with background work (the status-expiry sweeper, pool
// replenishment). Run blocks until ctx is done.
type Runner interface {
	Run(ctx context.Context) error
}

// Closer is implemented by strategies that own resources beyond the shared pools.
type Closer interface {
	Close() error
}
