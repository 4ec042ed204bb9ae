package tickets

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"stampede/internal/promreg"
	"stampede/server/api"
	"stampede/strategies"
)

// Config is what a Service is built from.
type Config struct {
	// Deps are the server's error table (Errors are this package's rows of it), the registry
	// of the scan metrics, the logger and the clock. Required.
	api.Deps
	// Keys sign and verify tickets. Required.
	Keys *Keys
	// Gate admits verified tickets; Store records cancellations. Both required.
	Gate  Gate
	Store Store
	// Admission, when set, wraps the part of a scan that runs after the signature held (the
	// server puts it under its overload budget): forgeries are refused before it, so a flood
	// of them never takes the room that genuine tickets need. Nil runs it as it is.
	Admission func(http.Handler) http.Handler
}

// Service answers the gates: POST /gates/{gate}/scan, and the admin cancellation of a
// booking. It is safe for concurrent use.
type Service struct {
	cfg   Config
	admit http.Handler
	scans *prometheus.CounterVec
}

// Errors maps this package's errors to their status and code; the server puts them in its
// table.
var Errors = api.Table{
	{Err: ErrForged, Status: http.StatusForbidden, Code: api.CodeTicketInvalid},
	{Err: ErrWrongEvent, Status: http.StatusForbidden, Code: api.CodeWrongEvent},
	{Err: strategies.ErrTicketUsed, Status: http.StatusConflict, Code: api.CodeTicketUsed},
	{Err: strategies.ErrBookingCancelled, Status: http.StatusGone, Code: api.CodeBookingCancelled},
}

// New builds a Service and registers its metrics.
func New(cfg Config) (*Service, error) {
	if err := cfg.Deps.Check(); err != nil {
		return nil, fmt.Errorf("new gate service: %w", err)
	}
	switch {
	case cfg.Keys == nil:
		return nil, errors.New("new gate service: no ticket keys")
	case cfg.Gate == nil || cfg.Store == nil:
		return nil, errors.New("new gate service: no gate or store")
	}
	var err error
	s := &Service{cfg: cfg}
	s.scans = promreg.Register(cfg.Registry, prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "stampede", Subsystem: "gate", Name: "scans_total",
		Help: "Ticket scans at the gates by result: admitted, or the code of the refusal.",
	}, []string{"result"}), &err)
	if err != nil {
		return nil, fmt.Errorf("new gate service: register metrics: %w", err)
	}
	s.admit = http.HandlerFunc(s.handleAdmit)
	if cfg.Admission != nil {
		s.admit = cfg.Admission(s.admit)
	}
	return s, nil
}

// scanBody is api.yaml's ScanRequest.
type scanBody struct {
	EventID string `json:"event_id"`
	Ticket  string `json:"ticket"`
}

// scanAnswer is api.yaml's Entry: a ticket let in.
type scanAnswer struct {
	Admitted   bool   `json:"admitted"`
	TicketID   string `json:"ticket_id"`
	EventID    string `json:"event_id"`
	BookingID  string `json:"booking_id"`
	Seat       string `json:"seat,omitempty"`
	Unit       string `json:"unit,omitempty"`
	Gate       string `json:"gate"`
	AdmittedAt string `json:"admitted_at"`
}

var gatePattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

type claimsKey struct{}

// HandleScan is POST /gates/{gate}/scan. The ticket's signature is checked first, from the
// code and the keys alone (no database, no Redis): a forged, altered or truncated ticket is 403
// ticket_invalid, a genuine one of another event 403 wrong_event. Only then is the gate asked:
// 200 with the entry, 409 ticket_used with the first entry's gate and time, 410
// booking_cancelled, 404 booking_not_found.
func (s *Service) HandleScan(w http.ResponseWriter, r *http.Request) {
	gate := r.PathValue("gate")
	if !gatePattern.MatchString(gate) {
		s.refuse(w, r, api.Invalid("gate", "gate: must match %s", gatePattern))
		return
	}
	var b scanBody
	if err := api.DecodeJSON(r, &b); err != nil {
		s.refuse(w, r, err)
		return
	}
	switch {
	case b.Ticket == "":
		s.refuse(w, r, api.Invalid("ticket", "ticket: required"))
		return
	case b.EventID == "":
		s.refuse(w, r, api.Invalid("event_id", "event_id: required (the event the gate admits to)"))
		return
	}
	c, err := s.cfg.Keys.Verify(b.Ticket, b.EventID)
	if err != nil {
		s.refuse(w, r, err)
		return
	}
	s.admit.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), claimsKey{}, c)))
}

// handleAdmit is the part of a scan after the signature held.
func (s *Service) handleAdmit(w http.ResponseWriter, r *http.Request) {
	c := r.Context().Value(claimsKey{}).(Claims)
	gate := r.PathValue("gate")
	e, err := s.cfg.Gate.Admit(r.Context(), gate, c)
	var used *strategies.UsedError
	if errors.As(err, &used) {
		ae := s.cfg.Table.Answer(err)
		ae.FirstGate, ae.FirstAdmittedAt = used.First.Gate, rfc3339(used.First.AdmittedAt)
		err = ae
	}
	if err != nil {
		s.refuse(w, r, err)
		return
	}
	s.scans.WithLabelValues("admitted").Inc()
	api.WriteJSON(w, http.StatusOK, scanAnswer{
		Admitted: true, TicketID: e.TicketID, EventID: e.EventID, BookingID: e.BookingID,
		Seat: c.Seat, Unit: c.Unit, Gate: e.Gate, AdmittedAt: rfc3339(e.AdmittedAt),
	})
}

// refuse answers err and counts the refusal by its code.
func (s *Service) refuse(w http.ResponseWriter, r *http.Request, err error) {
	s.scans.WithLabelValues(s.cfg.Table.Code(err)).Inc()
	s.cfg.Table.Write(w, r, err)
}

// cancelBody is the body of POST /admin/bookings/{booking_id}/cancel.
type cancelBody struct {
	Reason string `json:"reason"`
}

// HandleCancel is POST /admin/bookings/{booking_id}/cancel: the booking's tickets are refused
// at the gates from then on (reason cancelled, the default, or refunded). 200 with the
// cancellation (the first one when repeated), 404 booking_not_found.
func (s *Service) HandleCancel(w http.ResponseWriter, r *http.Request) {
	id, ok := api.OpaqueID(r, "booking_id")
	if !ok {
		s.cfg.Table.Write(w, r, fmt.Errorf("booking %q: %w", api.Truncate(id, 80), strategies.ErrBookingNotFound))
		return
	}
	var b cancelBody
	if r.ContentLength != 0 {
		if err := api.DecodeJSON(r, &b); err != nil {
			s.cfg.Table.Write(w, r, err)
			return
		}
	}
	switch b.Reason {
	case "":
		b.Reason = "cancelled"
	case "cancelled", "refunded":
	default:
		s.cfg.Table.Write(w, r, api.Invalid("reason", "reason: want cancelled or refunded, got %q", api.Truncate(b.Reason, 40)))
		return
	}
	c, err := s.cfg.Store.CancelBooking(r.Context(), id, b.Reason)
	if err != nil {
		s.cfg.Table.Write(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, struct {
		BookingID   string `json:"booking_id"`
		EventID     string `json:"event_id"`
		Reason      string `json:"reason"`
		CancelledAt string `json:"cancelled_at"`
	}{c.BookingID, c.EventID, c.Reason, rfc3339(c.CancelledAt)})
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
