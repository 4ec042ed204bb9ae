package server

import (
	"net/http"

	"stampede/server/api"
	"stampede/server/checkout"
	"stampede/server/tickets"
	"stampede/strategies"
)

// bookingView is api.yaml's Booking. units (GA unit ids when the strategy has them) and
// tickets (one signed ticket per seat or unit, server/tickets) are compatible extensions.
type bookingView struct {
	BookingID   string           `json:"booking_id"`
	HoldID      string           `json:"hold_id"`
	EventID     string           `json:"event_id"`
	Session     string           `json:"session"`
	Seats       []string         `json:"seats,omitempty"`
	Tier        string           `json:"tier,omitempty"`
	Quantity    int              `json:"quantity,omitempty"`
	Units       []string         `json:"units,omitempty"`
	ChargeID    string           `json:"charge_id"`
	AmountCents int64            `json:"amount_cents"`
	CreatedAt   string           `json:"created_at"`
	Tickets     []tickets.Ticket `json:"tickets,omitempty"`
}

func (s *Server) viewBooking(b strategies.Booking) bookingView {
	return bookingView{
		BookingID: b.ID, HoldID: b.HoldID, EventID: b.EventID, Session: b.Session, Seats: b.Seats,
		Tier: b.Tier, Quantity: b.Quantity, Units: b.Units, ChargeID: b.ChargeID,
		AmountCents: b.AmountCents, CreatedAt: rfc3339(b.Created), Tickets: s.keys.Issue(b),
	}
}

// handleGetBooking is GET /bookings/{booking_id}: 200 with the booking, 404 booking_not_found.
func (s *Server) handleGetBooking(w http.ResponseWriter, r *http.Request) {
	id, ok := api.OpaqueID(r, "booking_id")
	if !ok {
		writeError(w, r, errBookingNotFound)
		return
	}
	b, err := s.store.GetBooking(r.Context(), id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, s.viewBooking(b))
}

// ledgerSeat is one seat of the ledger: its status and who has it. hold_id is a compatible
// extension (the hold of a held seat).
type ledgerSeat struct {
	ID        string `json:"id"`
	Status    string `json:"status"`
	HoldID    string `json:"hold_id,omitempty"`
	BookingID string `json:"booking_id,omitempty"`
}

// ledger is api.yaml's Ledger.
type ledger struct {
	EventID  string                  `json:"event_id"`
	AsOf     string                  `json:"as_of"`
	Bookings []bookingView           `json:"bookings"`
	Holds    []holdView              `json:"holds"`
	Refunds  []checkout.RefundRecord `json:"refunds"`
	Seats    []ledgerSeat            `json:"seats"`
	Tiers    []tierView              `json:"ga_tiers"`
	// Entries and Cancellations are the gate's record (extension): every ticket admitted, and
	// every booking cancelled after its sale.
	Entries       []strategies.Entry        `json:"entries"`
	Cancellations []strategies.Cancellation `json:"cancellations"`
}

// handleLedger is GET /admin/ledger?event=ID: what the server believes it sold (every bookings
// row, so a strategy's double booking shows), the holds that are not sold with their current
// status, the refunds checkout issued, and every seat's and tier's state. The parts are read one
// after another, not in one snapshot: the checker reads the ledger once the run has stopped.
func (s *Server) handleLedger(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("event")
	if id == "" {
		writeError(w, r, api.Invalid("event", "event: query parameter required"))
		return
	}
	if err := api.CheckEventID("event", id); err != nil {
		writeError(w, r, err)
		return
	}
	ctx := r.Context()
	bookings, err := s.store.Bookings(ctx, id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	holds, err := s.cfg.Strategy.Holds(ctx, id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	refunds, err := s.checkout.Refunds(ctx, id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	entries, err := s.store.Entries(ctx, id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	cancellations, err := s.store.Cancellations(ctx, id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	a, err := s.cfg.Strategy.Availability(ctx, id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	l := ledger{
		EventID:  id,
		AsOf:     rfc3339(a.AsOf),
		Bookings: make([]bookingView, 0, len(bookings)),
		Holds:    make([]holdView, 0, len(holds)),
		Refunds:  refunds,
		Seats:    make([]ledgerSeat, 0, len(a.Seats)),
		Tiers:    tierViews(a.Tiers),

		Entries:       entries,
		Cancellations: cancellations,
	}
	if l.Refunds == nil {
		l.Refunds = []checkout.RefundRecord{}
	}
	for _, b := range bookings {
		l.Bookings = append(l.Bookings, s.viewBooking(b))
	}
	for _, h := range holds {
		l.Holds = append(l.Holds, s.viewHold(h))
	}
	for _, st := range a.Seats {
		l.Seats = append(l.Seats, ledgerSeat{ID: st.ID, Status: st.Status, HoldID: st.HoldID, BookingID: st.BookingID})
	}
	api.WriteJSON(w, http.StatusOK, l)
}
