package server

import (
	"errors"
	"fmt"
	"net/http"

	"stampede/internal/failpoint"
	"stampede/server/api"
	"stampede/server/overload"
	"stampede/strategies"
)

// Limits of a hold request, as api.yaml's HoldRequest states them.
const (
	// DefaultMaxSeatsPerHold is how many seat ids one hold may name unless Options say
	// otherwise (--max-seats-per-hold).
	DefaultMaxSeatsPerHold = 10
	maxQuantityPerHold     = 10
	// maxSeatIDLen is the longest seat id the inventory can hold (SECTION-ROW-NUMBER of a
	// section name up to 8 characters fits many times over).
	maxSeatIDLen = 32
)

// holdRequest is api.yaml's HoldRequest. Pointers tell "absent" from "zero" so that "exactly one
// of seats or tier and quantity" can be checked.
type holdRequest struct {
	Seats          *[]string `json:"seats"`
	Tier           *string   `json:"tier"`
	Quantity       *int      `json:"quantity"`
	AdmissionToken string    `json:"admission_token"`
}

// errTooManySeats: a hold naming more seats than the server's limit (400 too_many_seats).
var errTooManySeats = errors.New("too many seats in one hold")

// validate checks the request's shape against the limit of seats per hold (0 means
// DefaultMaxSeatsPerHold); whether the seats or tier exist is the strategy's answer.
func (hr holdRequest) validate(maxSeats int) error {
	if maxSeats <= 0 {
		maxSeats = DefaultMaxSeatsPerHold
	}
	hasSeats := hr.Seats != nil
	hasGA := hr.Tier != nil || hr.Quantity != nil
	switch {
	case hasSeats && hasGA:
		return api.Invalid("seats", "give either seats or tier and quantity, not both")
	case !hasSeats && !hasGA:
		return api.Invalid("seats", "give seats, or tier and quantity")
	case hasSeats:
		seats := *hr.Seats
		if len(seats) < 1 {
			return api.Invalid("seats", "seats: want 1..%d seat ids, got none", maxSeats)
		}
		if len(seats) > maxSeats {
			return &api.Error{Status: http.StatusBadRequest, Code: api.CodeTooManySeats, Field: "seats", Cause: errTooManySeats,
				Message: fmt.Sprintf("seats: at most %d seat ids in one hold, got %d", maxSeats, len(seats))}
		}
		seen := make(map[string]bool, len(seats))
		for i, id := range seats {
			field := fmt.Sprintf("seats[%d]", i)
			switch {
			case id == "":
				return api.Invalid(field, "%s: empty seat id", field)
			case len(id) > maxSeatIDLen:
				return api.Invalid(field, "%s: seat id longer than %d characters", field, maxSeatIDLen)
			case seen[id]:
				return api.Invalid(field, "%s: seat %s is listed twice", field, id)
			}
			seen[id] = true
		}
	default:
		if hr.Tier == nil || *hr.Tier == "" {
			return api.Invalid("tier", "tier: required with quantity")
		}
		if hr.Quantity == nil {
			return api.Invalid("quantity", "quantity: required with tier")
		}
		if q := *hr.Quantity; q < 1 || q > maxQuantityPerHold {
			return api.Invalid("quantity", "quantity: want 1..%d, got %d", maxQuantityPerHold, q)
		}
	}
	return nil
}

// holdView is api.yaml's Hold. amount_cents and booking_id are compatible extensions.
type holdView struct {
	HoldID      string   `json:"hold_id"`
	EventID     string   `json:"event_id"`
	Session     string   `json:"session"`
	Seats       []string `json:"seats,omitempty"`
	Tier        string   `json:"tier,omitempty"`
	Quantity    int      `json:"quantity,omitempty"`
	Units       []string `json:"units,omitempty"`
	ExpiresAt   string   `json:"expires_at"`
	TTLMillis   int64    `json:"ttl_ms"`
	Status      string   `json:"status"`
	AmountCents int64    `json:"amount_cents,omitempty"`
	BookingID   string   `json:"booking_id,omitempty"`
}

// viewHold renders h; a hold without its lifetime recorded gets the server's default.
func (s *Server) viewHold(h strategies.Hold) holdView {
	ttl := h.TTL
	if ttl <= 0 {
		ttl = s.cfg.HoldTTL
	}
	status := h.Status
	if status == "" {
		status = strategies.StatusHeld
	}
	return holdView{
		HoldID: h.ID, EventID: h.EventID, Session: h.Session, Seats: h.Seats, Tier: h.Tier,
		Quantity: h.Quantity, Units: h.Units, ExpiresAt: rfc3339(h.Expires), TTLMillis: ttl.Milliseconds(),
		Status: status, AmountCents: h.AmountCents, BookingID: h.BookingID,
	}
}

// handleHold is POST /events/{event_id}/holds. The request is checked before anything is
// touched (400), the event looked up (404), the waiting room consulted when the event has one
// (403 not_admitted), all of it before the overload budget, so that a herd of bots without
// tokens is refused cheaply and takes no slot; then the request enters the budget as a hold
// (503 overloaded), then the strategy holds all seats or none: 201 with the hold, 409
// seat_unavailable (error.seats names the seats when the strategy says which) or sold_out, 404
// seat_not_found or tier_not_found.
func (s *Server) handleHold(w http.ResponseWriter, r *http.Request) {
	eventID, err := api.EventID(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	session, err := api.Session(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	var req holdRequest
	if err := api.DecodeJSON(r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	if err := req.validate(s.cfg.MaxSeatsPerHold); err != nil {
		writeError(w, r, err)
		return
	}
	ctx := r.Context()
	ev, err := s.event(ctx, eventID)
	if err != nil {
		writeError(w, r, err)
		return
	}
	// The no-admission variant (strategies.FlawAdmissionUnchecked) lets a request without a
	// token through.
	unchecked := req.AdmissionToken == "" && strategies.FlawOf(s.strategy.Name()) == strategies.FlawAdmissionUnchecked
	if ev.WaitingRoom != nil && ev.WaitingRoom.Enabled && !unchecked {
		if err := s.room.CheckAdmission(ctx, ev, session, req.AdmissionToken); err != nil {
			writeError(w, r, err)
			return
		}
	}
	// Only now, the request checked and its buyer admitted, does it take a slot of the budget.
	release, ok := s.budget.Enter(w, r, overload.Hold)
	if !ok {
		return
	}
	defer release()
	hr := strategies.HoldRequest{EventID: eventID, Session: session, TTL: s.cfg.HoldTTL}
	if req.Seats != nil {
		hr.Seats = *req.Seats
	} else {
		hr.Tier, hr.Quantity = *req.Tier, *req.Quantity
	}
	h, err := s.cfg.Strategy.Hold(ctx, hr)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if err := s.cfg.Failpoints.Eval(ctx, failpoint.AfterHold); err != nil {
		// The hold was taken but the client will not hear of it: its outcome is unknown to
		// the client, which is what 503 says.
		writeError(w, r, fmt.Errorf("after hold %s: %w: %w", h.ID, api.ErrUnavailable, err))
		return
	}
	api.WriteJSON(w, http.StatusCreated, s.viewHold(h))
}

// ownHold returns the {hold_id} hold when it belongs to the request's session:
// 400 without a valid session, 404 hold_not_found, 403 not_your_hold.
func (s *Server) ownHold(r *http.Request) (strategies.Hold, error) {
	session, err := api.Session(r)
	if err != nil {
		return strategies.Hold{}, err
	}
	id, ok := api.OpaqueID(r, "hold_id")
	if !ok {
		return strategies.Hold{}, fmt.Errorf("hold %q: %w", api.Truncate(id, 80), strategies.ErrHoldNotFound)
	}
	h, err := s.cfg.Strategy.GetHold(r.Context(), id)
	if err != nil {
		return h, err
	}
	if h.Session != session {
		return h, fmt.Errorf("hold %s: %w", id, api.ErrNotYourHold)
	}
	return h, nil
}

// handleGetHold is GET /holds/{hold_id}: the hold with its current status (held, released,
// expired, sold), for its own session only.
func (s *Server) handleGetHold(w http.ResponseWriter, r *http.Request) {
	h, err := s.ownHold(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, s.viewHold(h))
}

// handleRelease is DELETE /holds/{hold_id}: 204 when the seats are given back, and again for a
// hold already released or expired; 409 hold_sold for a sold hold; 403 for another session's.
func (s *Server) handleRelease(w http.ResponseWriter, r *http.Request) {
	h, err := s.ownHold(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if err := s.cfg.Strategy.Release(r.Context(), h.ID); err != nil {
		writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
