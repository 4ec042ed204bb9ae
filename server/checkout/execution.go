package checkout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"stampede/internal/failpoint"
	"stampede/server/api"
	"stampede/server/overload"
	"stampede/server/payments"
	"stampede/strategies"
)

// Crash points of an execution, for Service.crashAt: right after each recovery point is
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

// execution is one run of a key, by a request or by the completer. It owns the key's lease.
type execution struct {
	c *Service
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
func (c *Service) execute(ctx context.Context, k *idemKey) checkoutResult {
	e := &execution{c: c, k: k, start: k.Phase}
	err := e.run(ctx)
	switch {
	case err == nil:
		return checkoutResult{status: k.ResponseStatus, body: []byte(k.ResponseBody)}
	case errors.Is(err, errCrashed):
		return checkoutResult{crashed: true}
	case errors.Is(err, errLeaseLost):
		return checkoutResult{err: ErrIdempotencyInProgress}
	}
	// Unknown outcome: give the key back where it stands so that the retry resumes at once.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if rerr := c.keys.release(rctx, k); rerr != nil {
		c.log.Warn("checkout: release key after unknown outcome", "key", k.Key, "err", rerr)
	}
	c.log.Info("checkout: outcome unknown, key kept for a resume", "key", k.Key, "phase", k.Phase, "err", err)
	return checkoutResult{err: &api.Error{
		Status: http.StatusServiceUnavailable, Code: api.CodeUnavailable, Cause: err,
		Message: "the outcome is not known yet; retry with the same Idempotency-Key",
	}}
}

// crash reports whether a test asked the execution to die at point.
func (e *execution) crash(point string) bool {
	f := e.c.crashAt
	return f != nil && f(point)
}

// failpoint evaluates a chaos failpoint.
func (e *execution) failpoint(ctx context.Context, name string) error {
	return e.c.failpoints.Eval(ctx, name)
}

func (e *execution) keys() *keyStore { return e.c.keys }

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
func (e *execution) finishWith(ctx context.Context, ae *api.Error) error {
	body, err := json.Marshal(api.ErrorBody{Error: ae})
	if err != nil {
		return fmt.Errorf("encode checkout answer: %w", err)
	}
	e.k.ResponseStatus, e.k.ResponseBody = ae.Status, string(body)
	return e.keys().finish(ctx, e.k)
}

// Final answers of a checkout that charged nothing.
func holdNotFound() *api.Error {
	return &api.Error{Status: http.StatusNotFound, Code: api.CodeHoldNotFound, Message: "no such hold; nothing was charged", Cause: strategies.ErrHoldNotFound}
}

func notYourHold() *api.Error {
	return &api.Error{Status: http.StatusForbidden, Code: api.CodeNotYourHold, Message: "the hold belongs to another session; nothing was charged", Cause: api.ErrNotYourHold}
}

func holdSold() *api.Error {
	return &api.Error{Status: http.StatusConflict, Code: api.CodeHoldSold, Message: "the hold is already paid under another Idempotency-Key; nothing was charged", Cause: strategies.ErrHoldSold}
}

func holdExpired() *api.Error {
	return &api.Error{Status: http.StatusConflict, Code: api.CodeHoldExpired, Message: "the hold expired or was released before payment; nothing was charged", Cause: strategies.ErrHoldExpired}
}

func paymentDeclined() *api.Error {
	return &api.Error{Status: http.StatusPaymentRequired, Code: api.CodePaymentDeclined, Message: "the payment was declined; nothing was charged", Cause: ErrPaymentDeclined}
}

// beforeCharge maps a strategy's before-the-charge error to its final answer, or nil.
func beforeCharge(err error) *api.Error {
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
	h, err := e.c.strategy.GetHold(ctx, k.Request.HoldID)
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
	b, err := e.c.strategy.Confirm(ctx, strategies.ConfirmRequest{
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
func (e *execution) settle(ctx context.Context, final *api.Error, mayHaveCharged bool) (done bool, err error) {
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
	key := k.ProcessorKey
	if e.c.flaw == strategies.FlawChargeEachAttempt && e.start != phaseStarted {
		key += "-" + randomHex(4) // the broken variant: a resumed key charges anew
	}
	t0 := time.Now()
	back := overload.StepOut(ctx) // waiting on the processor is no work of the server's
	ch, err := e.c.psp.Charge(ctx, key, payments.ChargeRequest{
		AmountCents: amount, Reference: k.Request.HoldID, PaymentMethod: k.Request.PaymentMethod,
	})
	back()
	e.c.pspSeconds.WithLabelValues("charge", pspResult(err)).Observe(time.Since(t0).Seconds())
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
	if !e.c.inTx {
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
	body, err := json.Marshal(e.c.answer(b))
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
	switch b, err := e.c.bookings.GetBooking(ctx, k.BookingID); {
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
	var rf payments.Refund
	if e.c.flaw == strategies.FlawRefundUnmade {
		rf.ID = "re_" + randomHex(8) // the broken variant: a refund announced, never asked for
	} else {
		t0 := time.Now()
		var err error
		back := overload.StepOut(ctx)
		rf, err = e.c.psp.Refund(ctx, k.RefundKey, payments.RefundRequest{ChargeID: k.ChargeID, Reason: k.RefundReason})
		back()
		e.c.pspSeconds.WithLabelValues("refund", pspResult(err)).Observe(time.Since(t0).Seconds())
		if err != nil {
			return fmt.Errorf("refund charge %s: %w", k.ChargeID, err)
		}
	}
	body, err := json.Marshal(api.ErrorBody{Error: &api.Error{
		Code: api.CodeHoldLost, RefundID: rf.ID,
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
