package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"stampede/server/api"
	"stampede/server/checkout"
	"stampede/server/overload"
	"stampede/server/seatmap"
	"stampede/server/waitingroom"
	"stampede/strategies"
)

// errorResponse is the client's view of an error body.
type errorResponse struct {
	Error struct {
		Code     string   `json:"code"`
		Message  string   `json:"message"`
		Field    string   `json:"field"`
		Seats    []string `json:"seats"`
		RefundID string   `json:"refund_id"`
		// FirstGate and FirstAdmittedAt come with ticket_used.
		FirstGate       string `json:"first_gate"`
		FirstAdmittedAt string `json:"first_admitted_at"`
	} `json:"error"`
}

// unavailableSeats is an error carrying the seats that were unavailable, as a strategy may return.
type unavailableSeats []string

func (u unavailableSeats) Error() string              { return "seats taken: " + strings.Join(u, ",") }
func (u unavailableSeats) Unwrap() error              { return strategies.ErrUnavailable }
func (u unavailableSeats) UnavailableSeats() []string { return u }

func TestWriteError(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantCode   string
		wantField  string
		wantSeats  []string
		wantRefund string
	}{
		{name: "invalid", err: fmt.Errorf("create event: sections[2].rows: must be 1..500: %w", strategies.ErrInvalid), wantStatus: 400, wantCode: "invalid_request"},
		{name: "missing key", err: checkout.ErrMissingIdempotencyKey, wantStatus: 400, wantCode: "invalid_request", wantField: "Idempotency-Key"},
		{name: "bad key", err: checkout.ErrInvalidIdempotencyKey, wantStatus: 400, wantCode: "invalid_request", wantField: "Idempotency-Key"},
		{name: "missing session", err: api.ErrMissingSession, wantStatus: 400, wantCode: "invalid_request", wantField: "X-Session-Id"},
		{name: "event not found", err: fmt.Errorf("get event e1: %w", strategies.ErrEventNotFound), wantStatus: 404, wantCode: "event_not_found"},
		{name: "event exists", err: strategies.ErrEventExists, wantStatus: 409, wantCode: "event_exists"},
		{name: "seat not found", err: strategies.ErrSeatNotFound, wantStatus: 404, wantCode: "seat_not_found"},
		{name: "tier not found", err: strategies.ErrTierNotFound, wantStatus: 404, wantCode: "tier_not_found"},
		{name: "seat unavailable", err: strategies.ErrUnavailable, wantStatus: 409, wantCode: "seat_unavailable"},
		{name: "seat unavailable with seats", err: fmt.Errorf("hold: %w", unavailableSeats{"A-1-2", "A-1-3"}), wantStatus: 409, wantCode: "seat_unavailable", wantSeats: []string{"A-1-2", "A-1-3"}},
		{name: "sold out", err: strategies.ErrSoldOut, wantStatus: 409, wantCode: "sold_out"},
		{name: "not admitted", err: waitingroom.ErrNotAdmitted, wantStatus: 403, wantCode: "not_admitted"},
		{name: "waiting room off", err: waitingroom.ErrWaitingRoomOff, wantStatus: 409, wantCode: "waiting_room_off"},
		{name: "ticket not found", err: waitingroom.ErrTicketNotFound, wantStatus: 404, wantCode: "ticket_not_found"},
		{name: "hold not found", err: strategies.ErrHoldNotFound, wantStatus: 404, wantCode: "hold_not_found"},
		{name: "not your hold", err: api.ErrNotYourHold, wantStatus: 403, wantCode: "not_your_hold"},
		{name: "hold sold", err: strategies.ErrHoldSold, wantStatus: 409, wantCode: "hold_sold"},
		{name: "hold expired", err: strategies.ErrHoldExpired, wantStatus: 409, wantCode: "hold_expired"},
		{name: "hold lost with refund", err: &api.Error{Status: 409, Code: api.CodeHoldLost, Message: "hold lost", RefundID: "re_1", Cause: strategies.ErrHoldLost}, wantStatus: 409, wantCode: "hold_lost", wantRefund: "re_1"},
		{name: "declined", err: checkout.ErrPaymentDeclined, wantStatus: 402, wantCode: "payment_declined"},
		{name: "in progress", err: checkout.ErrIdempotencyInProgress, wantStatus: 409, wantCode: "idempotency_in_progress"},
		{name: "conflict", err: checkout.ErrIdempotencyConflict, wantStatus: 422, wantCode: "idempotency_conflict"},
		{name: "booking not found", err: errBookingNotFound, wantStatus: 404, wantCode: "booking_not_found"},
		{name: "section not found", err: fmt.Errorf("seat map: %w", seatmap.ErrSectionNotFound), wantStatus: 404, wantCode: "section_not_found", wantField: "section"},
		{name: "overloaded", err: fmt.Errorf("%w: browse over its share", overload.ErrOverloaded), wantStatus: 503, wantCode: "overloaded"},
		{name: "unavailable", err: fmt.Errorf("charge: %w", api.ErrUnavailable), wantStatus: 503, wantCode: "unavailable"},
		{name: "deadline", err: fmt.Errorf("hold: %w", context.DeadlineExceeded), wantStatus: 503, wantCode: "unavailable"},
		{name: "invalid helper", err: api.Invalid("quantity", "quantity: must be 1..10"), wantStatus: 400, wantCode: "invalid_request", wantField: "quantity"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			writeError(w, httptest.NewRequest(http.MethodGet, "/x", nil), tc.err)
			var got errorResponse
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
				t.Fatalf("writeError(%v) body %q: %v", tc.err, w.Body.String(), err)
			}
			if w.Code != tc.wantStatus || got.Error.Code != tc.wantCode || got.Error.Field != tc.wantField || got.Error.RefundID != tc.wantRefund {
				t.Errorf("writeError(%v) = %d %+v, want %d code %q field %q refund %q", tc.err, w.Code, got.Error, tc.wantStatus, tc.wantCode, tc.wantField, tc.wantRefund)
			}
			if fmt.Sprint(got.Error.Seats) != fmt.Sprint(tc.wantSeats) {
				t.Errorf("writeError(%v) seats %v, want %v", tc.err, got.Error.Seats, tc.wantSeats)
			}
			if got.Error.Message == "" {
				t.Errorf("writeError(%v): empty message", tc.err)
			}
			if errorCode(tc.err) != tc.wantCode {
				t.Errorf("errorCode(%v) = %q, want %q", tc.err, errorCode(tc.err), tc.wantCode)
			}
		})
	}
}
