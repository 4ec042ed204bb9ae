package api

import (
	"errors"
	"fmt"
	"net/http"

	"stampede/internal/admintoken"

	"stampede/strategies"
)

// Stable error codes of api.yaml (components.schemas.Error.code). Clients match on these; the
// messages may change.
const (
	CodeInvalidRequest        = "invalid_request"
	CodeEventNotFound         = "event_not_found"
	CodeEventExists           = "event_exists"
	CodeSeatNotFound          = "seat_not_found"
	CodeTierNotFound          = "tier_not_found"
	CodeSeatUnavailable       = "seat_unavailable"
	CodeSoldOut               = "sold_out"
	CodeNotAdmitted           = "not_admitted"
	CodeWaitingRoomOff        = "waiting_room_off"
	CodeTicketNotFound        = "ticket_not_found"
	CodeHoldNotFound          = "hold_not_found"
	CodeNotYourHold           = "not_your_hold"
	CodeHoldSold              = "hold_sold"
	CodeHoldExpired           = "hold_expired"
	CodeHoldLost              = "hold_lost"
	CodePaymentDeclined       = "payment_declined"
	CodeIdempotencyInProgress = "idempotency_in_progress"
	CodeIdempotencyConflict   = "idempotency_conflict"
	CodeBookingNotFound       = "booking_not_found"
	CodeUnavailable           = "unavailable"
	CodeInternal              = "internal"
	// CodeSectionNotFound: a seat-map read of a section the event does not have (extension).
	CodeSectionNotFound = "section_not_found"
	// CodeOverloaded: a request refused, before it did anything, because its class of request
	// is over its share of the server's in-flight budget; it comes with Retry-After (extension).
	CodeOverloaded = "overloaded"
	// Gate scans (extension): a ticket refused from its signature alone (ticket_invalid: forged,
	// altered or truncated; wrong_event: genuine, for another event), one admitted before
	// (ticket_used, with the first entry's gate and time), and one whose booking was cancelled
	// or refunded (booking_cancelled).
	CodeTicketInvalid    = "ticket_invalid"
	CodeWrongEvent       = "wrong_event"
	CodeTicketUsed       = "ticket_used"
	CodeBookingCancelled = "booking_cancelled"
	// CodeTooManySeats: a hold naming more seats than the server allows in one hold (400,
	// error.field seats; extension).
	CodeTooManySeats = "too_many_seats"
	// CodeBodyTooLarge: a request body over MaxBodyBytes (413; extension: it was
	// invalid_request before).
	CodeBodyTooLarge = "body_too_large"
	// CodeHeadersTooLarge: request headers over the server's limit (431; extension).
	CodeHeadersTooLarge = "headers_too_large"
	// CodeQueueFull: a waiting-room join refused because the event's queue has the most
	// sessions the server lets wait (503 with Retry-After; extension).
	CodeQueueFull = "queue_full"
	// CodeTooManyStreams: a waiting-room stream refused because its session has the most
	// streams the server lets one session open (429; extension).
	CodeTooManyStreams = "too_many_streams"
	// CodeUnauthorized: an /admin/* request without the server's admin token (401, extension).
	CodeUnauthorized = admintoken.Code
)

// Errors every area may return (wrapped with context when useful); Common and Unknown map them.
// Match with errors.Is.
var (
	// ErrMissingSession, ErrInvalidSession: the X-Session-Id header is absent or malformed.
	ErrMissingSession = errors.New("missing X-Session-Id header")
	ErrInvalidSession = errors.New("invalid X-Session-Id header: want 1..128 characters of [A-Za-z0-9._:-]")
	// ErrNotYourHold: the hold belongs to another session.
	ErrNotYourHold = errors.New("the hold belongs to another session")
	// ErrUnavailable: the outcome is not known yet (a dependency did not answer); retry.
	ErrUnavailable = errors.New("outcome unknown; retry")
)

// Error is an error with everything the client sees: the api.yaml Error object plus its HTTP
// status. Handlers build one when they need details (field, seats, refund_id) or a message of
// their own; a Table answers it as it is. Cause, when set, is what errors.Is and errors.As see
// through Unwrap, so an Error can still be matched against the sentinels.
type Error struct {
	Status   int      `json:"-"`
	Code     string   `json:"code"`
	Message  string   `json:"message"`
	Field    string   `json:"field,omitempty"`
	Seats    []string `json:"seats,omitempty"`
	RefundID string   `json:"refund_id,omitempty"`
	// FirstGate and FirstAdmittedAt are, for ticket_used, where and when (RFC 3339) the ticket
	// was admitted first.
	FirstGate       string `json:"first_gate,omitempty"`
	FirstAdmittedAt string `json:"first_admitted_at,omitempty"`
	Cause           error  `json:"-"`
}

func (e *Error) Error() string { return e.Message }

func (e *Error) Unwrap() error { return e.Cause }

// ErrorBody is the JSON envelope of every error answer.
type ErrorBody struct {
	Error *Error `json:"error"`
}

// Invalid returns a 400 invalid_request naming field, with a message built like fmt.Sprintf.
func Invalid(field, format string, args ...any) *Error {
	return &Error{
		Status:  http.StatusBadRequest,
		Code:    CodeInvalidRequest,
		Message: fmt.Sprintf(format, args...),
		Field:   field,
		Cause:   strategies.ErrInvalid,
	}
}
