package strategies

import "time"

// Section is a block of reserved seats: Rows rows of SeatsPerRow seats, ids SECTION-ROW-NUMBER.
type Section struct {
	Name        string `json:"name"`
	Rows        int    `json:"rows"`
	SeatsPerRow int    `json:"seats_per_row"`
	PriceCents  int64  `json:"price_cents,omitempty"`
}

// Tier is a general-admission tier: Quantity interchangeable units.
type Tier struct {
	Name       string `json:"name"`
	Quantity   int64  `json:"quantity"`
	PriceCents int64  `json:"price_cents,omitempty"`
}

// WaitingRoom configures the virtual queue in front of an event's holds.
type WaitingRoom struct {
	Enabled bool `json:"enabled"`
	// AdmitPerSecond is the admission rate; 0 pauses admission.
	AdmitPerSecond float64 `json:"admit_per_second"`
}

// Event is an on-sale with its inventory.
type Event struct {
	ID          string       `json:"id"`
	Name        string       `json:"name"`
	Performer   string       `json:"performer,omitempty"`
	Venue       string       `json:"venue,omitempty"`
	City        string       `json:"city,omitempty"`
	StartsAt    *time.Time   `json:"starts_at,omitempty"`
	Sections    []Section    `json:"sections,omitempty"`
	Tiers       []Tier       `json:"ga_tiers,omitempty"`
	WaitingRoom *WaitingRoom `json:"waiting_room,omitempty"`
	// SeatCount and GACapacity are computed from Sections and Tiers.
	SeatCount  int64 `json:"seat_count"`
	GACapacity int64 `json:"ga_capacity"`
}

// DefaultPriceCents is the price of a seat or unit whose spec gives none.
const DefaultPriceCents = 5000
