package payments

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"stampede/internal/admintoken"
)

// Processor is the fake card processor: an http.Handler for psp.yaml. Build it with New; it is
// safe for concurrent use. Close releases requests it is holding (the timeout fault and pending
// latency) so that a server shutting down does not wait for them.
type Processor struct {
	ledger  *ledger
	faults  *injector
	logger  *slog.Logger
	maxHold time.Duration
	token   string
	mux     *http.ServeMux

	closeOnce sync.Once
	closing   chan struct{}

	// fates counts the fault decisions made, by fate, for Stats.
	fates   [4]atomic.Int64
	delayed atomic.Int64
}

var _ http.Handler = (*Processor)(nil)

// Option configures a Processor.
type Option func(*Processor)

// WithSeed seeds the failure decisions (default 1).
func WithSeed(seed int64) Option {
	return func(p *Processor) { p.faults = newInjector(seed) }
}

// WithClock replaces time.Now for the created_at of charges and refunds.
func WithClock(now func() time.Time) Option {
	return func(p *Processor) { p.ledger.now = now }
}

// WithLogger sets where the processor logs faults it injects (default: nowhere).
func WithLogger(l *slog.Logger) Option {
	return func(p *Processor) { p.logger = l }
}

// WithMaxHold bounds how long the timeout fault holds a request whose client never gives up
// (default 10 minutes). Either way the request charges nothing.
func WithMaxHold(d time.Duration) Option {
	return func(p *Processor) { p.maxHold = d }
}

// WithAdminToken locks PUT and GET /admin/faults behind token (internal/admintoken): a request
// without "Authorization: Bearer TOKEN" is refused 401 unauthorized. Empty (the default)
// leaves them open.
func WithAdminToken(token string) Option {
	return func(p *Processor) { p.token = token }
}

// New builds a healthy processor with an empty ledger; options apply in order.
func New(opts ...Option) *Processor {
	p := &Processor{
		ledger:  newLedger(time.Now),
		faults:  newInjector(1),
		logger:  slog.New(slog.DiscardHandler),
		maxHold: 10 * time.Minute,
		mux:     http.NewServeMux(),
		closing: make(chan struct{}),
	}
	for _, o := range opts {
		o(p)
	}
	p.mux.HandleFunc("POST /charges", p.handleCharge)
	p.mux.HandleFunc("POST /refunds", p.handleRefund)
	p.mux.HandleFunc("GET /ledger", p.handleLedger)
	p.mux.Handle("PUT /admin/faults", p.admin(p.handlePutFaults))
	p.mux.Handle("GET /admin/faults", p.admin(p.handleGetFaults))
	p.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	return p
}

// admin locks h behind the processor's admin token.
func (p *Processor) admin(h http.HandlerFunc) http.Handler {
	return admintoken.Require(p.token, h, func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusUnauthorized, admintoken.Code, admintoken.ErrUnauthorized.Error())
	})
}

// ServeHTTP implements http.Handler.
func (p *Processor) ServeHTTP(w http.ResponseWriter, r *http.Request) { p.mux.ServeHTTP(w, r) }

// SetFaults switches the failure modes; an out-of-range field is an error naming it.
func (p *Processor) SetFaults(f Faults) error { return p.faults.set(f) }

// Faults returns the current failure modes, with the seed last set.
func (p *Processor) Faults() Faults { return p.faults.get() }

// Ledger returns a copy of every charge and refund made so far.
func (p *Processor) Ledger() Ledger { return p.ledger.snapshot() }

// Stats counts the fault decisions made so far: how many charge and refund requests were
// answered normally, answered 500, held until their client gave up, or lost after the work.
type Stats struct {
	Normal       int64 `json:"normal"`
	Errors       int64 `json:"errors"`
	Timeouts     int64 `json:"timeouts"`
	LostResponse int64 `json:"lost_responses"`
	// Delayed counts the requests the latency fault slowed.
	Delayed int64 `json:"delayed"`
}

// Stats returns the fault decisions made so far.
func (p *Processor) Stats() Stats {
	return Stats{
		Normal:       p.fates[fateNormal].Load(),
		Errors:       p.fates[fateError].Load(),
		Timeouts:     p.fates[fateTimeout].Load(),
		LostResponse: p.fates[fateLost].Load(),
		Delayed:      p.delayed.Load(),
	}
}

// Close releases held requests: those in the timeout fault end without charging, those waiting
// out latency are processed at once. It is safe to call more than once.
func (p *Processor) Close() {
	p.closeOnce.Do(func() { close(p.closing) })
}

// maxBody bounds request bodies.
const maxBody = 64 << 10

// errorEnvelope is the processor's error JSON, the same envelope as the booking contract.
type errorEnvelope struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client may be gone; nothing to do about it
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	var e errorEnvelope
	e.Error.Code, e.Error.Message = code, msg
	writeJSON(w, status, e)
}

// decode reads one JSON object from the body into v, strictly typed, unknown fields allowed.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, maxBody+1))
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return fmt.Errorf("field %q: want %s", te.Field, jsonType(te.Type.Kind()))
		}
		return fmt.Errorf("body: %w", err)
	}
	if dec.More() {
		return errors.New("body: want one JSON object")
	}
	return nil
}

// jsonType names a Go kind the way a JSON client thinks of it.
func jsonType(k reflect.Kind) string {
	switch k {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Struct, reflect.Map:
		return "object"
	case reflect.Slice, reflect.Array:
		return "array"
	}
	return k.String()
}

// idempotencyKey returns the request's key (1..255 characters) or an error saying what is wrong.
func idempotencyKey(r *http.Request) (string, error) {
	k := r.Header.Get("Idempotency-Key")
	switch {
	case k == "":
		return "", errors.New("missing Idempotency-Key header")
	case len(k) > 255:
		return "", errors.New("Idempotency-Key header: longer than 255 characters")
	}
	return k, nil
}

// admit applies the fault decision's first part: the latency, then an injected 500 or a held
// request. It reports whether the handler should go on, and whether the response must be lost
// after the work is done.
func (p *Processor) admit(w http.ResponseWriter, r *http.Request) (proceed, lose bool) {
	f, latency := p.faults.decide()
	p.fates[f].Add(1)
	if latency > 0 {
		p.delayed.Add(1)
		t := time.NewTimer(latency)
		select {
		case <-t.C:
		case <-p.closing:
			t.Stop()
		}
	}
	switch f {
	case fateError:
		p.logger.Info("psp fault: 500", "path", r.URL.Path, "key", r.Header.Get("Idempotency-Key"))
		writeError(w, http.StatusInternalServerError, "internal", "injected processor error; nothing was charged")
		return false, false
	case fateTimeout:
		p.logger.Info("psp fault: timeout", "path", r.URL.Path, "key", r.Header.Get("Idempotency-Key"))
		t := time.NewTimer(p.maxHold)
		defer t.Stop()
		select {
		case <-r.Context().Done():
		case <-p.closing:
		case <-t.C:
		}
		writeError(w, http.StatusGatewayTimeout, "timeout", "injected processor timeout; nothing was charged")
		return false, false
	case fateLost:
		p.logger.Info("psp fault: lost response", "path", r.URL.Path, "key", r.Header.Get("Idempotency-Key"))
		return true, true
	}
	return true, false
}

// loseResponse closes the connection without writing anything: the caller cannot tell whether
// the work happened.
func loseResponse(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	// HTTP/2 cannot be hijacked; aborting the handler resets the stream without an answer.
	panic(http.ErrAbortHandler)
}

func (p *Processor) handleCharge(w http.ResponseWriter, r *http.Request) {
	key, err := idempotencyKey(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	var req ChargeRequest
	if err := decode(r, &req); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	switch {
	case req.AmountCents < 1:
		writeError(w, http.StatusBadRequest, "invalid_request", fmt.Sprintf("amount_cents: %d, want at least 1", req.AmountCents))
		return
	case req.Reference == "" || len(req.Reference) > 200:
		writeError(w, http.StatusBadRequest, "invalid_request", "reference: want 1..200 characters")
		return
	}
	proceed, lose := p.admit(w, r)
	if !proceed {
		return
	}
	c, replayed, err := p.ledger.charge(key, req)
	if lose {
		loseResponse(w)
		return
	}
	switch {
	case errors.Is(err, errKeyConflict):
		writeError(w, http.StatusUnprocessableEntity, "idempotency_conflict", "Idempotency-Key was used with a different charge request")
	case errors.Is(err, errDeclined):
		writeError(w, http.StatusPaymentRequired, "card_declined", "the card was declined; nothing was captured")
	case err != nil:
		writeError(w, http.StatusInternalServerError, "internal", "internal error")
	case replayed:
		writeJSON(w, http.StatusOK, c)
	default:
		writeJSON(w, http.StatusCreated, c)
	}
}

func (p *Processor) handleRefund(w http.ResponseWriter, r *http.Request) {
	key, err := idempotencyKey(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	var req RefundRequest
	if err := decode(r, &req); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	if req.ChargeID == "" {
		writeError(w, http.StatusBadRequest, "invalid_request", "charge_id: required")
		return
	}
	proceed, lose := p.admit(w, r)
	if !proceed {
		return
	}
	rf, replayed, err := p.ledger.refund(key, req)
	if lose {
		loseResponse(w)
		return
	}
	switch {
	case errors.Is(err, errKeyConflict):
		writeError(w, http.StatusUnprocessableEntity, "idempotency_conflict", "Idempotency-Key was used with a different refund request")
	case errors.Is(err, errChargeNotFound):
		writeError(w, http.StatusNotFound, "charge_not_found", fmt.Sprintf("no charge %q", req.ChargeID))
	case errors.Is(err, errAlreadyRefunded):
		writeError(w, http.StatusConflict, "already_refunded", fmt.Sprintf("charge %q is already refunded under another key", req.ChargeID))
	case err != nil:
		writeError(w, http.StatusInternalServerError, "internal", "internal error")
	case replayed:
		writeJSON(w, http.StatusOK, rf)
	default:
		writeJSON(w, http.StatusCreated, rf)
	}
}

func (p *Processor) handleLedger(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, p.ledger.snapshot())
}

func (p *Processor) handlePutFaults(w http.ResponseWriter, r *http.Request) {
	var f Faults
	if err := decode(r, &f); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	if err := p.faults.set(f); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (p *Processor) handleGetFaults(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, p.faults.get())
}
