package checkout

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"stampede/server/api"
)

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

// Handle is POST /holds/{hold_id}/checkout.
func (c *Service) Handle(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	res := c.serve(r)
	if res.crashed {
		// The process "died": the client sees its connection dropped, with no answer.
		panic(http.ErrAbortHandler)
	}
	outcome := "booked"
	switch {
	case res.err != nil:
		outcome = c.table.Code(res.err)
		c.table.Write(w, r, res.err)
	default:
		if res.replayed {
			w.Header().Set("Idempotent-Replayed", "true")
			outcome = "replayed"
		} else if res.status != http.StatusCreated {
			outcome = storedCode(res.body)
		}
		api.WriteRawJSON(w, res.status, res.body)
	}
	name := "none"
	if c.strategy != nil {
		name = c.strategy.Name()
	}
	c.outcomes.WithLabelValues(name, outcome).Inc()
	c.duration.WithLabelValues(name, outcome).Observe(time.Since(start).Seconds())
}

// serve validates the request, then records or finds its key and runs it.
func (c *Service) serve(r *http.Request) checkoutResult {
	session, err := api.Session(r)
	if err != nil {
		return checkoutResult{err: err}
	}
	key, err := idempotencyKey(r)
	if err != nil {
		return checkoutResult{err: err}
	}
	holdID, ok := api.OpaqueID(r, "hold_id")
	if !ok {
		return checkoutResult{err: api.Invalid("hold_id", "hold_id: want 1..64 bytes of UTF-8")}
	}
	var body checkoutBody
	if err := api.DecodeJSON(r, &body); err != nil {
		return checkoutResult{err: err}
	}
	if n := len(body.PaymentMethod); n == 0 || n > 64 {
		return checkoutResult{err: api.Invalid("payment_method", "payment_method: want 1..64 characters (test tokens: card_ok, card_declined)")}
	}
	if !c.ready() {
		return checkoutResult{err: fmt.Errorf("checkout: no database, strategy or payment processor configured: %w", api.ErrUnavailable)}
	}
	// The execution runs to its end even if the client goes away: stopping half-way is what
	// recovery points are for, not something to do on purpose.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), c.budget)
	defer cancel()
	k, outcome, err := c.keys.begin(ctx, session, key, checkoutRequest{HoldID: holdID, PaymentMethod: body.PaymentMethod})
	if err != nil {
		return checkoutResult{err: fmt.Errorf("checkout: %w: %w", api.ErrUnavailable, err)}
	}
	switch outcome {
	case beginReplay:
		return checkoutResult{status: k.ResponseStatus, body: []byte(k.ResponseBody), replayed: true}
	case beginConflict:
		return checkoutResult{err: ErrIdempotencyConflict}
	case beginBusy:
		return checkoutResult{err: ErrIdempotencyInProgress}
	case beginResume:
		c.resumes.WithLabelValues("retry").Inc()
	}
	return c.execute(ctx, k)
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

// idempotencyKey returns the request's Idempotency-Key header (8..128 bytes of UTF-8 without
// NUL: the key is stored as text), or ErrMissingIdempotencyKey / ErrInvalidIdempotencyKey.
func idempotencyKey(r *http.Request) (string, error) {
	v := r.Header.Get("Idempotency-Key")
	if v == "" {
		return "", ErrMissingIdempotencyKey
	}
	if n := len(v); n < 8 || n > 128 || !api.StorableText(v) {
		return "", ErrInvalidIdempotencyKey
	}
	return v, nil
}
