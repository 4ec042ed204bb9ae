package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"

	"stampede/strategies"
)

// Stable error codes of api.yaml (components.schemas.Error.code). Clients match on these; the
// messages may change.
const (
	codeInvalidRequest        = "invalid_request"
	codeEventNotFound         = "event_not_found"
	codeEventExists           = "event_exists"
	codeSeatNotFound          = "seat_not_found"
	codeTierNotFound          = "tier_not_found"
	codeSeatUnavailable       = "seat_unavailable"
	codeSoldOut               = "sold_out"
	codeNotAdmitted           = "not_admitted"
	codeWaitingRoomOff        = "waiting_room_off"
	codeTicketNotFound        = "ticket_not_found"
	codeHoldNotFound          = "hold_not_found"
	codeNotYourHold           = "not_your_hold"
	codeHoldSold              = "hold_sold"
	codeHoldExpired           = "hold_expired"
	codeHoldLost              = "hold_lost"
	codePaymentDeclined       = "payment_declined"
	codeIdempotencyInProgress = "idempotency_in_progress"
	codeIdempotencyConflict   = "idempotency_conflict"
	codeBookingNotFound       = "booking_not_found"
	codeUnavailable           = "unavailable"
	codeInternal              = "internal"
)

// Server-level errors: outcomes that do not come from a strategy. Handlers return them (wrapped
// with context when useful) and writeError maps them through errorTable. Match with errors.Is.
var (
	// errMissingIdempotencyKey: checkout without an Idempotency-Key header.
	errMissingIdempotencyKey = errors.New("missing Idempotency-Key header")
	// errInvalidIdempotencyKey: an Idempotency-Key outside 8..128 characters.
	errInvalidIdempotencyKey = errors.New("invalid Idempotency-Key header: want 8..128 characters")
	// errMissingSession, errInvalidSession: the X-Session-Id header is absent or malformed.
	errMissingSession = errors.New("missing X-Session-Id header")
	errInvalidSession = errors.New("invalid X-Session-Id header: want 1..128 characters of [A-Za-z0-9._:-]")
	// errNotAdmitted: a hold on an event with a waiting room without a valid admission token.
	errNotAdmitted = errors.New("not admitted by the waiting room")
	// errWaitingRoomOff: joining the queue of an event that has no waiting room.
	errWaitingRoomOff = errors.New("the event has no waiting room")
	// errTicketNotFound: an unknown (or another session's) queue ticket.
	errTicketNotFound = errors.New("queue ticket not found")
	// errNotYourHold: the hold belongs to another session.
	errNotYourHold = errors.New("the hold belongs to another session")
	// errBookingNotFound: no booking has that id.
	errBookingNotFound = errors.New("booking not found")
	// errIdempotencyConflict: the key was used before with a different request.
	errIdempotencyConflict = errors.New("idempotency key reused with a different request")
	// errIdempotencyInProgress: a request with the same key is still running.
	errIdempotencyInProgress = errors.New("a request with this idempotency key is in progress; retry later")
	// errPaymentDeclined: the processor declined the payment; nothing was charged.
	errPaymentDeclined = errors.New("payment declined")
	// errUnavailable: the outcome is not known yet (a dependency did not answer); retry.
	errUnavailable = errors.New("outcome unknown; retry")
)

// errorMapping is one row of errorTable.
type errorMapping struct {
	err    error
	status int
	code   string
	// field is the invalid_request field the error is about, if any.
	field string
}

// errorTable maps every error a handler may return to its HTTP status and stable code. It is the
// one place where outcomes become HTTP: rows are tried in order with errors.Is, so a more specific
// error must come before a more general one. Anything not listed is a logged 500 internal.
var errorTable = []errorMapping{
	{err: strategies.ErrInvalid, status: http.StatusBadRequest, code: codeInvalidRequest},
	{err: errMissingIdempotencyKey, status: http.StatusBadRequest, code: codeInvalidRequest, field: "Idempotency-Key"},
	{err: errInvalidIdempotencyKey, status: http.StatusBadRequest, code: codeInvalidRequest, field: "Idempotency-Key"},
	{err: errMissingSession, status: http.StatusBadRequest, code: codeInvalidRequest, field: "X-Session-Id"},
	{err: errInvalidSession, status: http.StatusBadRequest, code: codeInvalidRequest, field: "X-Session-Id"},
	{err: strategies.ErrEventNotFound, status: http.StatusNotFound, code: codeEventNotFound},
	{err: strategies.ErrEventExists, status: http.StatusConflict, code: codeEventExists},
	{err: strategies.ErrSeatNotFound, status: http.StatusNotFound, code: codeSeatNotFound},
	{err: strategies.ErrTierNotFound, status: http.StatusNotFound, code: codeTierNotFound},
	{err: strategies.ErrUnavailable, status: http.StatusConflict, code: codeSeatUnavailable},
	{err: strategies.ErrSoldOut, status: http.StatusConflict, code: codeSoldOut},
	{err: errNotAdmitted, status: http.StatusForbidden, code: codeNotAdmitted},
	{err: errWaitingRoomOff, status: http.StatusConflict, code: codeWaitingRoomOff},
	{err: errTicketNotFound, status: http.StatusNotFound, code: codeTicketNotFound},
	{err: strategies.ErrHoldNotFound, status: http.StatusNotFound, code: codeHoldNotFound},
	{err: errNotYourHold, status: http.StatusForbidden, code: codeNotYourHold},
	{err: strategies.ErrHoldSold, status: http.StatusConflict, code: codeHoldSold},
	{err: strategies.ErrHoldExpired, status: http.StatusConflict, code: codeHoldExpired},
	{err: strategies.ErrHoldLost, status: http.StatusConflict, code: codeHoldLost},
	{err: errPaymentDeclined, status: http.StatusPaymentRequired, code: codePaymentDeclined},
	{err: errIdempotencyInProgress, status: http.StatusConflict, code: codeIdempotencyInProgress},
	{err: errIdempotencyConflict, status: http.StatusUnprocessableEntity, code: codeIdempotencyConflict},
	{err: strategies.ErrBookingNotFound, status: http.StatusNotFound, code: codeBookingNotFound},
	{err: errBookingNotFound, status: http.StatusNotFound, code: codeBookingNotFound},
	{err: errUnavailable, status: http.StatusServiceUnavailable, code: codeUnavailable},
	// A deadline that passed while the request ran leaves its outcome unknown, like a timeout.
	{err: context.DeadlineExceeded, status: http.StatusServiceUnavailable, code: codeUnavailable},
}

// apiError is an error with everything the client sees: the api.yaml Error object plus its HTTP
// status. Handlers build one when they need details (field, seats, refund_id) or a message of
// their own; writeError sends it as it is. Cause, when set, is what errors.Is and errors.As see
// through Unwrap, so an apiError can still be matched against the sentinels.
type apiError struct {
	Status   int      `json:"-"`
	Code     string   `json:"code"`
	Message  string   `json:"message"`
	Field    string   `json:"field,omitempty"`
	Seats    []string `json:"seats,omitempty"`
	RefundID string   `json:"refund_id,omitempty"`
	Cause    error    `json:"-"`
}

func (e *apiError) Error() string { return e.Message }

func (e *apiError) Unwrap() error { return e.Cause }

// errorBody is the JSON envelope of every error response.
type errorBody struct {
	Error *apiError `json:"error"`
}

// invalid returns a 400 invalid_request naming field, with a message built like fmt.Sprintf.
func invalid(field, format string, args ...any) *apiError {
	return &apiError{
		Status:  http.StatusBadRequest,
		Code:    codeInvalidRequest,
		Message: fmt.Sprintf(format, args...),
		Field:   field,
		Cause:   strategies.ErrInvalid,
	}
}

// fieldError is implemented by errors that know which request field they are about (besides
// strategies.FieldError, which carries it as a struct field).
type fieldError interface{ Field() string }

// seatsError is implemented by errors that know which seats were unavailable (besides
// strategies.UnavailableError); writeError puts them into error.seats.
type seatsError interface{ UnavailableSeats() []string }

// toAPIError turns any error into what the client is told. The second result is false for an
// unmapped error, which becomes a 500 internal whose message never leaks the error's text.
func toAPIError(err error) (*apiError, bool) {
	var ae *apiError
	if errors.As(err, &ae) && ae.Code != "" && ae.Status != 0 {
		return ae, true
	}
	for _, m := range errorTable {
		if !errors.Is(err, m.err) {
			continue
		}
		out := &apiError{Status: m.status, Code: m.code, Message: err.Error(), Field: m.field, Cause: err}
		if m.status >= 500 && m.err == context.DeadlineExceeded {
			out.Message = "the request ran out of time; its outcome is unknown"
		}
		if out.Field == "" {
			var sfe *strategies.FieldError
			var fe fieldError
			switch {
			case errors.As(err, &sfe):
				out.Field = sfe.Field
			case errors.As(err, &fe):
				out.Field = fe.Field()
			}
		}
		var sue *strategies.UnavailableError
		var se seatsError
		switch {
		case errors.As(err, &sue):
			out.Seats = sue.Seats
		case errors.As(err, &se):
			out.Seats = se.UnavailableSeats()
		}
		return out, true
	}
	return &apiError{Status: http.StatusInternalServerError, Code: codeInternal, Message: "internal error", Cause: err}, false
}

// errorCode returns the stable code err maps to ("internal" when unmapped), for metrics labels.
func errorCode(err error) string {
	ae, _ := toAPIError(err)
	return ae.Code
}

// writeError sends err as the api.yaml Error JSON with its mapped status. An unmapped error is
// logged with the request's method and path and answered with a generic 500 internal. A client
// that went away (context.Canceled) gets nothing written beyond the status, which it will not read.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	ae, mapped := toAPIError(err)
	if !mapped {
		if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
			// The client is gone; nothing it could read. 499 is nginx's "client closed request".
			w.WriteHeader(499)
			return
		}
		loggerFrom(r.Context()).Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeJSON(w, ae.Status, errorBody{Error: ae})
}

// loggerKey is the context key of the request's logger.
type loggerKey struct{}

// withLogger returns ctx carrying l, for writeError's logging.
func withLogger(ctx context.Context, l *slog.Logger) context.Context {
	return context.WithValue(ctx, loggerKey{}, l)
}

// loggerFrom returns the request's logger; without one, slog's default, so that an internal
// error is never silently dropped.
func loggerFrom(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok && l != nil {
		return l
	}
	return slog.Default()
}

// sessionPattern is api.yaml's X-Session-Id pattern.
var sessionPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

// sessionFrom returns the request's X-Session-Id header, or errMissingSession /
// errInvalidSession (400 invalid_request naming the header).
func sessionFrom(r *http.Request) (string, error) {
	v := r.Header.Get("X-Session-Id")
	if v == "" {
		return "", errMissingSession
	}
	if !sessionPattern.MatchString(v) {
		return "", errInvalidSession
	}
	return v, nil
}

// idempotencyKeyFrom returns the request's Idempotency-Key header (8..128 characters), or
// errMissingIdempotencyKey / errInvalidIdempotencyKey.
func idempotencyKeyFrom(r *http.Request) (string, error) {
	v := r.Header.Get("Idempotency-Key")
	if v == "" {
		return "", errMissingIdempotencyKey
	}
	if n := len(v); n < 8 || n > 128 {
		return "", errInvalidIdempotencyKey
	}
	return v, nil
}

// idPattern is api.yaml's EventId pattern, used for event ids in paths and queries.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// eventIDFrom returns the {event_id} path value, or a 400 naming event_id when it cannot be an
// event id.
func eventIDFrom(r *http.Request) (string, error) {
	id := r.PathValue("event_id")
	if !idPattern.MatchString(id) {
		return "", invalid("event_id", "event_id %q: want 1..64 characters of [A-Za-z0-9._-]", truncate(id, 80))
	}
	return id, nil
}

// truncate shortens s to at most n bytes for echoing in messages.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
