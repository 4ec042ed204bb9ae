package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"stampede/internal/failpoint"
	"stampede/server/payments"
	"stampede/strategies"
)

// Checkout turns a hold into a booking and never loses money: Stripe's atomic phases with
// recovery points (idempotency.go holds the key store).
//
// One execution of a key: started (hold checked) -> charge_requested (written before the
// processor is called) -> the strategy's Confirm, which calls chargeFunc where the strategy
// decides (pessimistic: inside its transaction; the others: outside any) -> charged (charge id
// recorded) -> booked (201 Booking stored), or refunded (the hold was lost after the charge: the
// charge is refunded through the processor under the key's own refund key, 409 hold_lost stored)
// -> finished. A decline finishes with 402; a hold that cannot be paid before any charge finishes
// with 403/404/409. An unknown outcome (the processor did not answer, the database failed) is a
// 503 that releases the key where it stands, so the retry with the same key resumes from the
// last recovery point, with the same processor keys: a charge is never made twice, and every
// charge ends in a booking or a refund. The completer (runCheckout) resumes keys nobody retried.
//
// Limits. A key resumed after its execution died between charge_requested and the processor's
// answer, whose hold is lost by then, cannot tell "never charged" from "charged": it asks the
// processor again under the same key, which replays the charge or makes it now, and refunds it.
// Executions stop before their lease ends (budget), but a process frozen (SIGSTOP) past its lease
// and then thawed could still finish a strategy write its successor no longer expects; the
// key's own writes are fenced by the lease token, the strategy's are not.

// Checkout defaults; tests shorten them through checkoutState.
const (
	// defaultLease is how long an execution owns its key. It must outlast the slowest execution
	// (pspTimeout plus the database work); budget keeps executions inside it.
	defaultLease = 45 * time.Second
	// defaultPSPTimeout bounds one processor request.
	defaultPSPTimeout = 20 * time.Second
	// defaultIdle: an unfinished key untouched this long is resumed by the completer (a client
	// that got a 503 retries well before that).
	defaultIdle = time.Minute
	// defaultCompleterEvery is the completer's period; completerBatch bounds one pass.
	defaultCompleterEvery = 5 * time.Second
	completerBatch        = 50
)

type checkoutState struct {
	keys *keyStore
	psp  *payments.Client
	// inTx reports that the strategy calls the charge inside its own transaction, holding a
	// pooled connection: chargeFunc then writes nothing to the database (a second connection
	// could deadlock a small pool) and the charge is recorded right after Confirm returns.
	inTx bool
	// budget bounds one execution; it is shorter than the lease so that a live execution never
	// outlasts its lease and meets its successor.
	budget         time.Duration
	idle           time.Duration
	completerEvery time.Duration
	// crashAt, set only by tests, makes an execution stop dead at a named point (crashPoints)
	// as if the process died there: nothing more is written, not even the lease release, and
	// the client's connection is dropped.
	crashAt func(point string) bool
	// failpoints are the chaos schedule's points (failpoint.BeforeCharge, AfterCharge,
	// BeforeRefund); nil disables them at no cost.
	failpoints *failpoint.Set

	outcomes   *prometheus.CounterVec
	duration   *prometheus.HistogramVec
	pspSeconds *prometheus.HistogramVec
	resumes    *prometheus.CounterVec
}

// Crash points of an execution, for checkoutState.crashAt: right after each recovery point is
// written, and right after the strategy booked (before the key says so).
const (
	crashStarted         = "started"          // key recorded, hold not yet checked
	crashChargeRequested = "charge_requested" // recorded, processor not yet called
	crashCharged         = "charged"          // processor charged (recorded unless in-tx), not yet confirmed
	crashConfirmed       = "confirmed"        // the strategy booked, the key not yet at booked
	crashBooked          = "booked"           // key at booked, not yet finished
	crashRefundDecided   = "refund_decided"   // charge to refund recorded, refund not yet asked
	crashRefunded        = "refunded"         // refund recorded, key not yet finished
)

// crashPoints lists them in execution order.
var crashPoints = []string{crashStarted, crashChargeRequested, crashCharged, crashConfirmed, crashBooked, crashRefundDecided, crashRefunded}

// errCrashed: a test's crashAt stopped the execution.
var errCrashed = errors.New("checkout crashed at a test crash point")

// chargesInTx is implemented by strategies that say where they charge; without it, the
// pessimistic strategy is known to charge inside its transaction.
type chargesInTx interface{ ChargesInTransaction() bool }

func (s *Server) initCheckout() error {
	lease, idle := defaultLease, defaultIdle
	if s.cfg.CheckoutLease > 0 {
		lease = s.cfg.CheckoutLease
	}
	if s.cfg.CheckoutIdle > 0 {
		idle = s.cfg.CheckoutIdle
	}
	c := &checkoutState{
		keys:           &keyStore{db: s.cfg.DB, now: s.cfg.Now, lease: lease},
		budget:         lease * 3 / 4,
		idle:           idle,
		completerEvery: defaultCompleterEvery,
	}
	if s.cfg.PSPURL != "" {
		psp, err := payments.NewClient(s.cfg.PSPURL, payments.WithTimeout(defaultPSPTimeout))
		if err != nil {
			return fmt.Errorf("checkout: %w", err)
		}
		c.psp = psp
	}
	c.failpoints = s.cfg.Failpoints
	// s.strategy is the strategy as given (cfg.Strategy is the instrumented wrapper).
	if st := s.strategy; st != nil {
		if t, ok := st.(chargesInTx); ok {
			c.inTx = t.ChargesInTransaction()
		} else {
			c.inTx = st.Name() == "pessimistic"
		}
	}
	c.outcomes = register(s.cfg.Registry, prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "stampede", Subsystem: "checkout", Name: "outcomes_total",
		Help: "Checkout answers by strategy and outcome (booked, replayed, or the error code).",
	}, []string{"strategy", "outcome"}))
	c.duration = register(s.cfg.Registry, prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "stampede", Subsystem: "checkout", Name: "duration_seconds",
		Help:    "Checkout request duration by strategy and outcome.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
	}, []string{"strategy", "outcome"}))
	c.pspSeconds = register(s.cfg.Registry, prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "stampede", Subsystem: "checkout", Name: "processor_seconds",
		Help:    "Payment processor request latency by operation (charge, refund) and result (ok, declined, unknown, error).",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
	}, []string{"op", "result"}))
	c.resumes = register(s.cfg.Registry, prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "stampede", Subsystem: "checkout", Name: "resumes_total",
		Help: "Checkout executions resumed from a recovery point, by who resumed them (retry, completer).",
	}, []string{"by"}))
	s.checkout = c
	return nil
}

// register registers c with reg, or returns the collector already registered under its name
// (several servers may share a registry in one process).
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
	}
	return c
}

// runCheckout is the completer: until ctx is done, it periodically resumes abandoned keys (a
// crashed execution whose lease expired, or an unknown outcome nobody retried) and drives each to
// a booking or a refund.
func (s *Server) runCheckout(ctx context.Context) error {
	if s.checkout.keys.db == nil {
		<-ctx.Done()
		return nil
	}
	t := time.NewTicker(s.checkout.completerEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if _, err := s.completeAbandoned(ctx); err != nil && ctx.Err() == nil {
			s.cfg.Logger.Warn("checkout completer", "err", err)
		}
	}
}

// completeAbandoned makes one completer pass and returns how many keys it resumed.
func (s *Server) completeAbandoned(ctx context.Context) (int, error) {
	return s.completeIdle(ctx, s.checkout.idle)
}

// completeIdle resumes the unfinished keys untouched for idle whose lease is free or expired.
func (s *Server) completeIdle(ctx context.Context, idle time.Duration) (int, error) {
	c := s.checkout
	if c.psp == nil || s.cfg.Strategy == nil {
		return 0, nil
	}
	keys, err := c.keys.abandoned(ctx, c.keys.clock().Add(-idle), completerBatch)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, sk := range keys {
		if ctx.Err() != nil {
			break
		}
		k, outcome, err := c.keys.takeOver(ctx, sk[0], sk[1], "")
		if err != nil {
			s.cfg.Logger.Warn("checkout completer: take over key", "session", sk[0], "key", sk[1], "err", err)
			continue
		}
		if outcome != beginResume {
			continue // finished or taken meanwhile
		}
		n++
		c.resumes.WithLabelValues("completer").Inc()
		ectx, cancel := context.WithTimeout(ctx, c.budget)
		res := s.execute(ectx, k)
		cancel()
		if res.err != nil {
			s.cfg.Logger.Warn("checkout completer: key still open", "session", sk[0], "key", sk[1], "err", res.err)
		}
	}
	return n, nil
}

// RefundRecord is a refund the server issued, as /admin/ledger shows it.
type RefundRecord struct {
	RefundID    string `json:"refund_id"`
	ChargeID    string `json:"charge_id"`
	HoldID      string `json:"hold_id"`
	AmountCents int64  `json:"amount_cents"`
	Reason      string `json:"reason"`
}

// refunds lists the refunds the server issued for an event's holds, oldest first.
func (s *Server) refunds(ctx context.Context, eventID string) ([]RefundRecord, error) {
	if s.checkout.keys.db == nil {
		return []RefundRecord{}, nil
	}
	return s.checkout.keys.refundRecords(ctx, eventID)
}

// checkoutBody is the CheckoutRequest of api.yaml.
type checkoutBody struct {
	PaymentMethod string `json:"payment_method"`
}

// checkoutResult is the answer of one checkout request: a stored answer (status and body), or
// an error that is not stored (409 in progress, 422 conflict, 503 unknown), or a crash.
type checkoutResult struct {
	status   int
	body     []byte
	replayed bool
	err      error
	crashed  bool
}

func (s *Server) handleCheckout(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	res := s.serveCheckout(r)
	if res.crashed {
		// The process "died": the client sees its connection dropped, with no answer.
		panic(http.ErrAbortHandler)
	}
	outcome := "booked"
	switch {
	case res.err != nil:
		outcome = errorCode(res.err)
		writeError(w, r, res.err)
	default:
		if res.replayed {
			w.Header().Set("Idempotent-Replayed", "true")
			outcome = "replayed"
		} else if res.status != http.StatusCreated {
			outcome = storedCode(res.body)
		}
		writeRawJSON(w, res.status, res.body)
	}
	name := "none"
	if s.cfg.Strategy != nil {
		name = s.cfg.Strategy.Name()
	}
	s.checkout.outcomes.WithLabelValues(name, outcome).Inc()
	s.checkout.duration.WithLabelValues(name, outcome).Observe(time.Since(start).Seconds())
}

// serveCheckout validates the request, then records or finds its key and runs it.
func (s *Server) serveCheckout(r *http.Request) checkoutResult {
	session, err := sessionFrom(r)
	if err != nil {
		return checkoutResult{err: err}
	}
	key, err := idempotencyKeyFrom(r)
	if err != nil {
		return checkoutResult{err: err}
	}
	holdID := r.PathValue("hold_id")
	if holdID == "" || len(holdID) > 64 {
		return checkoutResult{err: invalid("hold_id", "hold_id: want 1..64 characters")}
	}
	var body checkoutBody
	if err := decodeJSON(r, &body); err != nil {
		return checkoutResult{err: err}
	}
	if n := len(body.PaymentMethod); n == 0 || n > 64 {
		return checkoutResult{err: invalid("payment_method", "payment_method: want 1..64 characters (test tokens: card_ok, card_declined)")}
	}
	c := s.checkout
	if c.keys.db == nil || c.psp == nil || s.cfg.Strategy == nil {
		return checkoutResult{err: fmt.Errorf("checkout: no database, strategy or payment processor configured: %w", errUnavailable)}
	}
	// The execution runs to its end even if the client goes away: stopping half-way is what
	// recovery points are for, not something to do on purpose.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), c.budget)
	defer cancel()
	k, outcome, err := c.keys.begin(ctx, session, key, checkoutRequest{HoldID: holdID, PaymentMethod: body.PaymentMethod})
	if err != nil {
		return checkoutResult{err: fmt.Errorf("checkout: %w: %w", errUnavailable, err)}
	}
	switch outcome {
	case beginReplay:
		return checkoutResult{status: k.ResponseStatus, body: []byte(k.ResponseBody), replayed: true}
	case beginConflict:
		return checkoutResult{err: errIdempotencyConflict}
	case beginBusy:
		return checkoutResult{err: errIdempotencyInProgress}
	case beginResume:
		c.resumes.WithLabelValues("retry").Inc()
	}
	return s.execute(ctx, k)
}

// execution is one run of a key, by a request or by the completer. It owns the key's lease.
type execution struct {
	s *Server
	k *idemKey
	// start is the key's phase when this execution took it.
	start string
	// charged is the charge the processor confirmed during this execution, if any.
	charged *payments.Charge
	// askedProcessor: this execution asked the processor to charge, whatever the answer.
	askedProcessor bool
}

// execute runs k from its recovery point to a stored answer, or stops at an unknown outcome
// (503, the key released for a resume) or when another execution took the key over.
func (s *Server) execute(ctx context.Context, k *idemKey) checkoutResult {
	e := &execution{s: s, k: k, start: k.Phase}
	err := e.run(ctx)
	switch {
	case err == nil:
		return checkoutResult{status: k.ResponseStatus, body: []byte(k.ResponseBody)}
	case errors.Is(err, errCrashed):
		return checkoutResult{crashed: true}
	case errors.Is(err, errLeaseLost):
		return checkoutResult{err: errIdempotencyInProgress}
	}
	// Unknown outcome: give the key back where it stands so that the retry resumes at once.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if rerr := s.checkout.keys.release(rctx, k); rerr != nil {
		s.cfg.Logger.Warn("checkout: release key after unknown outcome", "key", k.Key, "err", rerr)
	}
	s.cfg.Logger.Info("checkout: outcome unknown, key kept for a resume", "key", k.Key, "phase", k.Phase, "err", err)
	return checkoutResult{err: &apiError{
		Status: http.StatusServiceUnavailable, Code: codeUnavailable, Cause: err,
		Message: "the outcome is not known yet; retry with the same Idempotency-Key",
	}}
}

// crash reports whether a test asked the execution to die at point.
func (e *execution) crash(point string) bool {
	f := e.s.checkout.crashAt
	return f != nil && f(point)
}

// failpoint evaluates a chaos failpoint.
func (e *execution) failpoint(ctx context.Context, name string) error {
	return e.s.checkout.failpoints.Eval(ctx, name)
}

func (e *execution) keys() *keyStore { return e.s.checkout.keys }

// run moves the key through its phases from wherever it stands.
func (e *execution) run(ctx context.Context) error {
	k := e.k
	if k.Phase == phaseStarted {
		if e.crash(crashStarted) {
			return errCrashed
		}
		done, err := e.checkHold(ctx)
		if err != nil || done {
			return err
		}
	}
	if (k.Phase == phaseChargeRequested || k.Phase == phaseCharged) && k.RefundReason == "" {
		done, err := e.confirm(ctx)
		if err != nil || done {
			return err
		}
	}
	if k.Phase == phaseCharged && k.RefundReason != "" {
		if err := e.refund(ctx); err != nil {
			return err
		}
	}
	switch k.Phase {
	case phaseBooked, phaseRefunded:
		return e.keys().finish(ctx, k)
	case phaseFinished:
		return nil
	}
	return fmt.Errorf("checkout key at phase %q: no way forward", k.Phase)
}

// finishWith stores a final error answer and finishes the key.
func (e *execution) finishWith(ctx context.Context, ae *apiError) error {
	body, err := json.Marshal(errorBody{Error: ae})
	if err != nil {
		return fmt.Errorf("encode checkout answer: %w", err)
	}
	e.k.ResponseStatus, e.k.ResponseBody = ae.Status, string(body)
	return e.keys().finish(ctx, e.k)
}

// Final answers of a checkout that charged nothing.
func holdNotFound() *apiError {
	return &apiError{Status: http.StatusNotFound, Code: codeHoldNotFound, Message: "no such hold; nothing was charged", Cause: strategies.ErrHoldNotFound}
}

func notYourHold() *apiError {
	return &apiError{Status: http.StatusForbidden, Code: codeNotYourHold, Message: "the hold belongs to another session; nothing was charged", Cause: errNotYourHold}
}

func holdSold() *apiError {
	return &apiError{Status: http.StatusConflict, Code: codeHoldSold, Message: "the hold is already paid under another Idempotency-Key; nothing was charged", Cause: strategies.ErrHoldSold}
}

func holdExpired() *apiError {
	return &apiError{Status: http.StatusConflict, Code: codeHoldExpired, Message: "the hold expired or was released before payment; nothing was charged", Cause: strategies.ErrHoldExpired}
}

func paymentDeclined() *apiError {
	return &apiError{Status: http.StatusPaymentRequired, Code: codePaymentDeclined, Message: "the payment was declined; nothing was charged", Cause: errPaymentDeclined}
}

// beforeCharge maps a strategy's before-the-charge error to its final answer, or nil.
func beforeCharge(err error) *apiError {
	switch {
	case errors.Is(err, strategies.ErrHoldNotFound):
		return holdNotFound()
	case errors.Is(err, strategies.ErrHoldSold):
		return holdSold()
	case errors.Is(err, strategies.ErrHoldExpired):
		return holdExpired()
	}
	return nil
}

// checkHold is the started phase: a hold that cannot be paid finishes the key (nothing was
// charged); otherwise the key moves to charge_requested. done reports a finished key.
func (e *execution) checkHold(ctx context.Context) (done bool, err error) {
	k := e.k
	h, err := e.s.cfg.Strategy.GetHold(ctx, k.Request.HoldID)
	switch {
	case errors.Is(err, strategies.ErrHoldNotFound):
		return true, e.finishWith(ctx, holdNotFound())
	case err != nil:
		return false, fmt.Errorf("read hold %s: %w", k.Request.HoldID, err)
	case h.Session != k.Session:
		return true, e.finishWith(ctx, notYourHold())
	case h.Status == strategies.StatusSold:
		return true, e.finishWith(ctx, holdSold())
	case h.Status != strategies.StatusHeld:
		return true, e.finishWith(ctx, holdExpired())
	}
	k.EventID, k.AmountCents, k.Phase = h.EventID, h.AmountCents, phaseChargeRequested
	if err := e.keys().save(ctx, k); err != nil {
		return false, err
	}
	if e.crash(crashChargeRequested) {
		return false, errCrashed
	}
	return false, nil
}

// confirm runs the strategy's Confirm with chargeFunc and records what came of it: booked, a
// refund decided (the key stays at charged with RefundReason set), or a final answer. done
// reports a finished key.
func (e *execution) confirm(ctx context.Context) (done bool, err error) {
	k := e.k
	b, err := e.s.cfg.Strategy.Confirm(ctx, strategies.ConfirmRequest{
		HoldID: k.Request.HoldID, Session: k.Session, BookingID: k.BookingID, Charge: e.chargeFunc,
	})
	if err == nil {
		if e.crash(crashConfirmed) {
			return false, errCrashed
		}
		return false, e.booked(ctx, b)
	}
	if errors.Is(err, errCrashed) || errors.Is(err, errLeaseLost) {
		return false, err
	}
	switch {
	case errors.Is(err, payments.ErrDeclined):
		return true, e.finishWith(ctx, paymentDeclined())
	case errors.Is(err, payments.ErrUnknownOutcome):
		return false, err
	case errors.Is(err, strategies.ErrHoldLost):
		// The strategy charged and could not book. Should nothing turn out to be charged
		// after all, the hold simply expired.
		return e.settle(ctx, holdExpired(), true)
	}
	final := beforeCharge(err)
	if final == nil {
		// The database, Redis, a failpoint or the deadline: the outcome is unknown; a resume
		// runs Confirm again (the charge replays under the same processor key).
		return false, fmt.Errorf("confirm hold %s: %w", k.Request.HoldID, err)
	}
	// Nothing can have been charged when no execution of this key ever asked the processor.
	return e.settle(ctx, final, e.start != phaseStarted || e.askedProcessor)
}

// settle ends a checkout that cannot book: a charge that exists is refunded (the key moves to a
// refund decision); when none can exist, the key finishes with final. When a charge may exist
// but its id is unknown (an earlier execution died while asking), asking again with the same
// processor key settles it: the processor replays that charge, or makes one now, and either is
// refunded; a decline means nothing was charged.
func (e *execution) settle(ctx context.Context, final *apiError, mayHaveCharged bool) (done bool, err error) {
	k := e.k
	if e.charged != nil || k.ChargeID != "" {
		return false, e.decideRefund(ctx, "hold_lost")
	}
	if !mayHaveCharged {
		return true, e.finishWith(ctx, final)
	}
	ch, err := e.callCharge(ctx, k.AmountCents)
	switch {
	case errors.Is(err, payments.ErrDeclined):
		return true, e.finishWith(ctx, final)
	case err != nil:
		return false, fmt.Errorf("settle the charge of hold %s: %w", k.Request.HoldID, err)
	}
	e.charged = &ch
	return false, e.decideRefund(ctx, "hold_lost")
}

// callCharge asks the processor to charge under the key's processor key, timing it.
func (e *execution) callCharge(ctx context.Context, amount int64) (payments.Charge, error) {
	k := e.k
	e.askedProcessor = true
	t0 := time.Now()
	ch, err := e.s.checkout.psp.Charge(ctx, k.ProcessorKey, payments.ChargeRequest{
		AmountCents: amount, Reference: k.Request.HoldID, PaymentMethod: k.Request.PaymentMethod,
	})
	e.s.checkout.pspSeconds.WithLabelValues("charge", pspResult(err)).Observe(time.Since(t0).Seconds())
	return ch, err
}

func pspResult(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, payments.ErrDeclined):
		return "declined"
	case errors.Is(err, payments.ErrUnknownOutcome):
		return "unknown"
	}
	return "error"
}

// chargeFunc is the strategies.ChargeFunc of the execution: it takes the payment for h under the
// key's processor key, records it (unless the strategy calls it inside its transaction) and
// returns it. A charge already known from an earlier execution is returned without asking again.
func (e *execution) chargeFunc(ctx context.Context, h strategies.Hold) (strategies.Charge, error) {
	k := e.k
	if k.ChargeID != "" {
		return strategies.Charge{ID: k.ChargeID, AmountCents: k.AmountCents}, nil
	}
	if h.AmountCents <= 0 {
		return strategies.Charge{}, fmt.Errorf("hold %s has no price to charge", h.ID)
	}
	if err := e.failpoint(ctx, failpoint.BeforeCharge); err != nil {
		return strategies.Charge{}, err
	}
	ch, err := e.callCharge(ctx, h.AmountCents)
	if err != nil {
		return strategies.Charge{}, err
	}
	e.charged = &ch
	k.ChargeID, k.AmountCents, k.Phase = ch.ID, ch.AmountCents, phaseCharged
	if k.EventID == "" {
		k.EventID = h.EventID
	}
	if !e.s.checkout.inTx {
		if err := e.keys().save(ctx, k, recordPayment(ctx, k, paymentCharge, ch.ID, "", e.keys().clock())); err != nil {
			return strategies.Charge{}, err
		}
	}
	if e.crash(crashCharged) {
		return strategies.Charge{}, errCrashed
	}
	if err := e.failpoint(ctx, failpoint.AfterCharge); err != nil {
		return strategies.Charge{}, err
	}
	return strategies.Charge{ID: ch.ID, AmountCents: ch.AmountCents}, nil
}

// booked records the booking as the key's answer (201) and the charge that paid it.
func (e *execution) booked(ctx context.Context, b strategies.Booking) error {
	k := e.k
	if b.ChargeID != "" {
		k.ChargeID = b.ChargeID
	}
	if b.AmountCents > 0 {
		k.AmountCents = b.AmountCents
	}
	if b.EventID != "" {
		k.EventID = b.EventID
	}
	if k.ChargeID == "" {
		// A strategy that booked without calling the charge breaks its contract; refuse to
		// call that a sale.
		return fmt.Errorf("hold %s booked as %s without a charge", k.Request.HoldID, b.ID)
	}
	body, err := json.Marshal(b)
	if err != nil {
		return fmt.Errorf("encode booking: %w", err)
	}
	k.Phase, k.ResponseStatus, k.ResponseBody = phaseBooked, http.StatusCreated, string(body)
	if err := e.keys().save(ctx, k, recordPayment(ctx, k, paymentCharge, k.ChargeID, "", e.keys().clock())); err != nil {
		return err
	}
	if e.crash(crashBooked) {
		return errCrashed
	}
	return nil
}

// decideRefund records that the charge must be refunded: the key stays at charged, with its
// charge id and RefundReason set, so any resume goes straight to the refund.
func (e *execution) decideRefund(ctx context.Context, reason string) error {
	k := e.k
	if e.charged != nil {
		k.ChargeID, k.AmountCents = e.charged.ID, e.charged.AmountCents
	}
	if k.ChargeID == "" {
		return fmt.Errorf("refund for hold %s: no charge id known", k.Request.HoldID)
	}
	// Never refund a charge that paid a booking: if the key's booking exists (an earlier
	// execution booked and died before saying so, and the strategy did not recognise its own
	// booking id), the checkout is booked.
	switch b, err := e.s.store.GetBooking(ctx, k.BookingID); {
	case err == nil:
		return e.booked(ctx, b)
	case !errors.Is(err, strategies.ErrBookingNotFound):
		return fmt.Errorf("look for booking %s before refunding: %w", k.BookingID, err)
	}
	k.Phase, k.RefundReason = phaseCharged, reason
	if err := e.keys().save(ctx, k, recordPayment(ctx, k, paymentCharge, k.ChargeID, "", e.keys().clock())); err != nil {
		return err
	}
	if e.crash(crashRefundDecided) {
		return errCrashed
	}
	return nil
}

// refund gives the key's charge back through the processor under the key's refund key, and
// stores 409 hold_lost naming the refund.
func (e *execution) refund(ctx context.Context) error {
	k := e.k
	if err := e.failpoint(ctx, failpoint.BeforeRefund); err != nil {
		return err
	}
	t0 := time.Now()
	rf, err := e.s.checkout.psp.Refund(ctx, k.RefundKey, payments.RefundRequest{ChargeID: k.ChargeID, Reason: k.RefundReason})
	e.s.checkout.pspSeconds.WithLabelValues("refund", pspResult(err)).Observe(time.Since(t0).Seconds())
	if err != nil {
		return fmt.Errorf("refund charge %s: %w", k.ChargeID, err)
	}
	body, err := json.Marshal(errorBody{Error: &apiError{
		Code: codeHoldLost, RefundID: rf.ID,
		Message: "the hold was lost during payment; the charge was refunded",
	}})
	if err != nil {
		return fmt.Errorf("encode checkout answer: %w", err)
	}
	k.RefundID, k.Phase = rf.ID, phaseRefunded
	k.ResponseStatus, k.ResponseBody = http.StatusConflict, string(body)
	if err := e.keys().save(ctx, k, recordPayment(ctx, k, paymentRefund, rf.ID, k.RefundReason, e.keys().clock())); err != nil {
		return err
	}
	if e.crash(crashRefunded) {
		return errCrashed
	}
	return nil
}

// storedCode returns the error code of a stored error answer, for metrics.
func storedCode(body []byte) string {
	var eb struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &eb) != nil || eb.Error.Code == "" {
		return "unknown"
	}
	return eb.Error.Code
}
