package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"stampede/strategies"
)

// Mapping is one row of a Table: an error matching Err (errors.Is) is answered Status and Code,
// with Field as the invalid_request field it is about, if any.
type Mapping struct {
	Err    error
	Status int
	Code   string
	Field  string
}

// Table maps errors to their HTTP status and stable code. Rows are tried in order with
// errors.Is, so a more specific error must come before a more general one; an *Error that
// carries its own status and code is answered as it is; anything else is a logged 500 internal.
// The server composes its one table from Common, each area's rows and Unknown.
type Table []Mapping

// Common maps the errors of the strategies and the sentinels of this package. A table starts
// with it.
var Common = Table{
	{Err: strategies.ErrInvalid, Status: http.StatusBadRequest, Code: CodeInvalidRequest},
	{Err: ErrMissingSession, Status: http.StatusBadRequest, Code: CodeInvalidRequest, Field: "X-Session-Id"},
	{Err: ErrInvalidSession, Status: http.StatusBadRequest, Code: CodeInvalidRequest, Field: "X-Session-Id"},
	{Err: strategies.ErrEventNotFound, Status: http.StatusNotFound, Code: CodeEventNotFound},
	{Err: strategies.ErrEventExists, Status: http.StatusConflict, Code: CodeEventExists},
	{Err: strategies.ErrSeatNotFound, Status: http.StatusNotFound, Code: CodeSeatNotFound},
	{Err: strategies.ErrTierNotFound, Status: http.StatusNotFound, Code: CodeTierNotFound},
	{Err: strategies.ErrUnavailable, Status: http.StatusConflict, Code: CodeSeatUnavailable},
	{Err: strategies.ErrSoldOut, Status: http.StatusConflict, Code: CodeSoldOut},
	{Err: strategies.ErrHoldNotFound, Status: http.StatusNotFound, Code: CodeHoldNotFound},
	{Err: ErrNotYourHold, Status: http.StatusForbidden, Code: CodeNotYourHold},
	{Err: strategies.ErrHoldSold, Status: http.StatusConflict, Code: CodeHoldSold},
	{Err: strategies.ErrHoldExpired, Status: http.StatusConflict, Code: CodeHoldExpired},
	{Err: strategies.ErrHoldLost, Status: http.StatusConflict, Code: CodeHoldLost},
	{Err: strategies.ErrBookingNotFound, Status: http.StatusNotFound, Code: CodeBookingNotFound},
}

// Unknown maps the errors that leave an outcome unknown: ErrUnavailable, and a deadline that
// passed while the request ran. A table ends with it, so that a more specific error wrapped
// together with these keeps its own answer.
var Unknown = Table{
	{Err: ErrUnavailable, Status: http.StatusServiceUnavailable, Code: CodeUnavailable},
	{Err: context.DeadlineExceeded, Status: http.StatusServiceUnavailable, Code: CodeUnavailable},
}

// fieldError is implemented by errors that know which request field they are about (besides
// strategies.FieldError, which carries it as a struct field).
type fieldError interface{ Field() string }

// seatsError is implemented by errors that know which seats were unavailable (besides
// strategies.UnavailableError); the answer puts them into error.seats.
type seatsError interface{ UnavailableSeats() []string }

// Answer returns what the client is told about err. An error the table does not map is a 500
// internal whose message never leaks the error's text.
func (t Table) Answer(err error) *Error {
	ae, _ := t.answer(err)
	return ae
}

// answer is Answer, also reporting whether err was mapped.
func (t Table) answer(err error) (*Error, bool) {
	var ae *Error
	if errors.As(err, &ae) && ae.Code != "" && ae.Status != 0 {
		return ae, true
	}
	for _, m := range t {
		if !errors.Is(err, m.Err) {
			continue
		}
		out := &Error{Status: m.Status, Code: m.Code, Message: err.Error(), Field: m.Field, Cause: err}
		if m.Status >= 500 && m.Err == context.DeadlineExceeded {
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
	return &Error{Status: http.StatusInternalServerError, Code: CodeInternal, Message: "internal error", Cause: err}, false
}

// Code returns the stable code err maps to ("internal" when unmapped), for metrics labels.
func (t Table) Code(err error) string { return t.Answer(err).Code }

// Write sends err as the api.yaml Error JSON with its mapped status. An unmapped error is logged
// with the request's method and path (to the request's Logger) and answered with a generic 500
// internal. A client that went away (context.Canceled) gets nothing written beyond the status,
// which it will not read.
func (t Table) Write(w http.ResponseWriter, r *http.Request, err error) {
	ae, mapped := t.answer(err)
	if !mapped {
		if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
			// The client is gone; nothing it could read. 499 is nginx's "client closed request".
			w.WriteHeader(499)
			return
		}
		Logger(r.Context()).Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	WriteJSON(w, ae.Status, ErrorBody{Error: ae})
}

// loggerKey is the context key of the request's logger.
type loggerKey struct{}

// WithLogger returns ctx carrying l, for Write's logging and the handlers' own.
func WithLogger(ctx context.Context, l *slog.Logger) context.Context {
	return context.WithValue(ctx, loggerKey{}, l)
}

// Logger returns the request's logger; without one, slog's default, so that an internal error is
// never silently dropped.
func Logger(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok && l != nil {
		return l
	}
	return slog.Default()
}
