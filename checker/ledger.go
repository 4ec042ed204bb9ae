package checker

import "time"

// Ledger is what a booking system believes it sold, held and refunded for one event: the
// body of GET /admin/ledger?event= (server/api.yaml, components.schemas.Ledger). Unknown
// fields are ignored, so a system that extends the contract compatibly still decodes.
type Ledger struct {
	EventID  string         `json:"event_id"`
	Bookings []Booking      `json:"bookings"`
	Holds    []LedgerHold   `json:"holds"`
	Refunds  []LedgerRefund `json:"refunds"`
	Seats    []SeatState    `json:"seats"`
	GATiers  []TierCount    `json:"ga_tiers"`
	// Entries and Cancellations are the gate's record (an extension; empty for a system
	// without gates).
	Entries       []LedgerEntry        `json:"entries,omitempty"`
	Cancellations []LedgerCancellation `json:"cancellations,omitempty"`
}

// LedgerTicket is one ticket of a booking (api.yaml Ticket); the code is not needed here.
type LedgerTicket struct {
	TicketID string `json:"ticket_id"`
	Seat     string `json:"seat,omitempty"`
	Unit     string `json:"unit,omitempty"`
}

// LedgerEntry is one ticket admitted at a gate.
type LedgerEntry struct {
	TicketID   string    `json:"ticket_id"`
	EventID    string    `json:"event_id"`
	BookingID  string    `json:"booking_id"`
	Gate       string    `json:"gate"`
	AdmittedAt time.Time `json:"admitted_at,omitzero"`
}

// LedgerCancellation is a booking cancelled or refunded after its sale.
type LedgerCancellation struct {
	BookingID string `json:"booking_id"`
	Reason    string `json:"reason"`
}

// Booking is a confirmed purchase (api.yaml Booking). Money is integer cents.
type Booking struct {
	BookingID   string    `json:"booking_id"`
	HoldID      string    `json:"hold_id"`
	EventID     string    `json:"event_id"`
	Session     string    `json:"session"`
	Seats       []string  `json:"seats,omitempty"`
	Tier        string    `json:"tier,omitempty"`
	Quantity    int       `json:"quantity,omitempty"`
	ChargeID    string    `json:"charge_id"`
	AmountCents int64     `json:"amount_cents"`
	CreatedAt   time.Time `json:"created_at,omitzero"`
	// Tickets are the booking's signed tickets (an extension).
	Tickets []LedgerTicket `json:"tickets,omitempty"`
}

// LedgerHold is a hold as the system recorded it (api.yaml Hold). Status is held, released,
// expired or sold; a system using the implicit-status rule may leave an expired hold as held,
// so its ExpiresAt decides.
type LedgerHold struct {
	HoldID    string    `json:"hold_id"`
	EventID   string    `json:"event_id"`
	Session   string    `json:"session"`
	Seats     []string  `json:"seats,omitempty"`
	Tier      string    `json:"tier,omitempty"`
	Quantity  int       `json:"quantity,omitempty"`
	Units     []string  `json:"units,omitempty"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	TTLMillis int64     `json:"ttl_ms,omitempty"`
	Status    string    `json:"status,omitempty"`
}

// LedgerRefund is a refund as the booking system recorded it.
type LedgerRefund struct {
	RefundID    string `json:"refund_id"`
	ChargeID    string `json:"charge_id"`
	HoldID      string `json:"hold_id"`
	AmountCents int64  `json:"amount_cents"`
	Reason      string `json:"reason,omitempty"`
}

// SeatState is one seat's final status: available, held or sold (with its booking).
type SeatState struct {
	ID        string `json:"id"`
	Status    string `json:"status"`
	BookingID string `json:"booking_id,omitempty"`
}

// TierCount is a general-admission tier's final counts.
type TierCount struct {
	Name      string `json:"name"`
	Capacity  int    `json:"capacity"`
	Available int    `json:"available"`
	Held      int    `json:"held"`
	Sold      int    `json:"sold"`
}

// PSPLedger is the payment processor's own record of money, the source of truth for what was
// charged and refunded: the body of its GET /ledger (server/payments/psp.yaml).
type PSPLedger struct {
	Charges []Charge    `json:"charges"`
	Refunds []PSPRefund `json:"refunds"`
}

// Charge is one capture at the processor. Reference is the hold id it pays for; Status is
// captured or refunded.
type Charge struct {
	ChargeID       string    `json:"charge_id"`
	IdempotencyKey string    `json:"idempotency_key"`
	Reference      string    `json:"reference"`
	AmountCents    int64     `json:"amount_cents"`
	Status         string    `json:"status"`
	CreatedAt      time.Time `json:"created_at,omitzero"`
}

// PSPRefund is one refund at the processor.
type PSPRefund struct {
	RefundID       string    `json:"refund_id"`
	ChargeID       string    `json:"charge_id"`
	IdempotencyKey string    `json:"idempotency_key"`
	AmountCents    int64     `json:"amount_cents"`
	Reason         string    `json:"reason,omitempty"`
	CreatedAt      time.Time `json:"created_at,omitzero"`
}

// Seat statuses of SeatState and hold statuses of LedgerHold.
const (
	seatAvailable = "available"
	seatHeld      = "held"
	seatSold      = "sold"

	holdStatusHeld = "held"
	holdStatusSold = "sold"

	chargeCaptured = "captured"
	chargeRefunded = "refunded"
)
