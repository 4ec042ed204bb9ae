package payments

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Charge statuses.
const (
	StatusCaptured = "captured"
	StatusRefunded = "refunded"
)

// Charge is a captured payment, as psp.yaml's Charge schema shows it.
type Charge struct {
	ID             string `json:"charge_id"`
	IdempotencyKey string `json:"idempotency_key"`
	// Reference is what the charge pays for (the reference server sends the hold id).
	Reference     string `json:"reference"`
	AmountCents   int64  `json:"amount_cents"`
	PaymentMethod string `json:"payment_method,omitempty"`
	// Status is StatusCaptured, or StatusRefunded once a refund exists for it.
	Status  string    `json:"status"`
	Created time.Time `json:"created_at"`
	// Replayed is set by the Client when the processor answered with the original charge of an
	// earlier request with the same key (200 instead of 201). It is not part of the JSON.
	Replayed bool `json:"-"`
}

// Refund gives a charge's whole amount back.
type Refund struct {
	ID             string    `json:"refund_id"`
	ChargeID       string    `json:"charge_id"`
	IdempotencyKey string    `json:"idempotency_key"`
	AmountCents    int64     `json:"amount_cents"`
	Reason         string    `json:"reason,omitempty"`
	Created        time.Time `json:"created_at"`
	// Replayed: see Charge.Replayed.
	Replayed bool `json:"-"`
}

// Ledger is every charge and refund, each list in the order they were made.
type Ledger struct {
	Charges []Charge `json:"charges"`
	Refunds []Refund `json:"refunds"`
}

// ChargeRequest is the body of POST /charges.
type ChargeRequest struct {
	AmountCents   int64  `json:"amount_cents"`
	Reference     string `json:"reference"`
	PaymentMethod string `json:"payment_method,omitempty"`
}

// RefundRequest is the body of POST /refunds.
type RefundRequest struct {
	ChargeID string `json:"charge_id"`
	Reason   string `json:"reason,omitempty"`
}

// DeclinedMethod is the test payment method the processor always declines.
const DeclinedMethod = "card_declined"

// Ledger outcomes the handler turns into HTTP answers.
var (
	errKeyConflict     = errors.New("idempotency key reused with a different request")
	errDeclined        = errors.New("card declined")
	errChargeNotFound  = errors.New("charge not found")
	errAlreadyRefunded = errors.New("charge already refunded under another idempotency key")
)

// keyRecord is what an idempotency key was first used for: the request's fingerprint and its
// outcome (a charge or refund id, or a decline), so that a replay gives the same answer.
type keyRecord struct {
	fingerprint string
	id          string // charge or refund id; empty for a decline
	declined    bool
}

// ledger is the processor's book of charges and refunds. Every method takes mu: a charge or
// refund and its idempotency key are recorded atomically, so two requests with the same key that
// arrive together give one charge and one replay.
type ledger struct {
	mu         sync.Mutex
	now        func() time.Time
	charges    []*Charge
	chargeByID map[string]*Charge
	refunds    []*Refund
	refundByID map[string]*Refund
	// refundOf maps a charge id to its refund: refunds are whole, so there is at most one.
	refundOf   map[string]*Refund
	chargeKeys map[string]keyRecord
	refundKeys map[string]keyRecord
}

func newLedger(now func() time.Time) *ledger {
	return &ledger{
		now:        now,
		chargeByID: map[string]*Charge{},
		refundByID: map[string]*Refund{},
		refundOf:   map[string]*Refund{},
		chargeKeys: map[string]keyRecord{},
		refundKeys: map[string]keyRecord{},
	}
}

func (r ChargeRequest) fingerprint() string {
	return fmt.Sprintf("%d\x00%s\x00%s", r.AmountCents, r.Reference, r.PaymentMethod)
}

func (r RefundRequest) fingerprint() string {
	return r.ChargeID + "\x00" + r.Reason
}

// charge captures req under key. It returns the charge and whether it is a replay of an earlier
// request with the same key; errKeyConflict when the key was used for a different request;
// errDeclined for the declined test method (remembered under the key, so a replay declines too).
func (l *ledger) charge(key string, req ChargeRequest) (Charge, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fp := req.fingerprint()
	if rec, ok := l.chargeKeys[key]; ok {
		if rec.fingerprint != fp {
			return Charge{}, false, errKeyConflict
		}
		if rec.declined {
			return Charge{}, true, errDeclined
		}
		return *l.chargeByID[rec.id], true, nil
	}
	if req.PaymentMethod == DeclinedMethod {
		l.chargeKeys[key] = keyRecord{fingerprint: fp, declined: true}
		return Charge{}, false, errDeclined
	}
	c := &Charge{
		ID:             newID("ch_"),
		IdempotencyKey: key,
		Reference:      req.Reference,
		AmountCents:    req.AmountCents,
		PaymentMethod:  req.PaymentMethod,
		Status:         StatusCaptured,
		Created:        l.now().UTC(),
	}
	l.charges = append(l.charges, c)
	l.chargeByID[c.ID] = c
	l.chargeKeys[key] = keyRecord{fingerprint: fp, id: c.ID}
	return *c, false, nil
}

// refund gives back the whole amount of req.ChargeID under key. Errors: errKeyConflict,
// errChargeNotFound, errAlreadyRefunded (a refund exists under another key).
func (l *ledger) refund(key string, req RefundRequest) (Refund, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fp := req.fingerprint()
	if rec, ok := l.refundKeys[key]; ok {
		if rec.fingerprint != fp {
			return Refund{}, false, errKeyConflict
		}
		return *l.refundByID[rec.id], true, nil
	}
	c, ok := l.chargeByID[req.ChargeID]
	if !ok {
		return Refund{}, false, errChargeNotFound
	}
	if _, done := l.refundOf[c.ID]; done {
		return Refund{}, false, errAlreadyRefunded
	}
	r := &Refund{
		ID:             newID("re_"),
		ChargeID:       c.ID,
		IdempotencyKey: key,
		AmountCents:    c.AmountCents,
		Reason:         req.Reason,
		Created:        l.now().UTC(),
	}
	c.Status = StatusRefunded
	l.refunds = append(l.refunds, r)
	l.refundByID[r.ID] = r
	l.refundOf[c.ID] = r
	l.refundKeys[key] = keyRecord{fingerprint: fp, id: r.ID}
	return *r, false, nil
}

// snapshot copies the ledger.
func (l *ledger) snapshot() Ledger {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := Ledger{Charges: make([]Charge, 0, len(l.charges)), Refunds: make([]Refund, 0, len(l.refunds))}
	for _, c := range l.charges {
		out.Charges = append(out.Charges, *c)
	}
	for _, r := range l.refunds {
		out.Refunds = append(out.Refunds, *r)
	}
	return out
}

// Totals sums a ledger: captured is every charge ever made, refunded every refund, and net what
// the processor still holds. Cents.
func (l Ledger) Totals() (captured, refunded, net int64) {
	for _, c := range l.Charges {
		captured += c.AmountCents
	}
	for _, r := range l.Refunds {
		refunded += r.AmountCents
	}
	return captured, refunded, captured - refunded
}

// ChargesFor returns the charges whose reference is ref, in the order they were made.
func (l Ledger) ChargesFor(ref string) []Charge {
	var out []Charge
	for _, c := range l.Charges {
		if c.Reference == ref {
			out = append(out, c)
		}
	}
	return out
}

// RefundOf returns the refund of a charge, if any.
func (l Ledger) RefundOf(chargeID string) (Refund, bool) {
	i := slices.IndexFunc(l.Refunds, func(r Refund) bool { return r.ChargeID == chargeID })
	if i < 0 {
		return Refund{}, false
	}
	return l.Refunds[i], true
}

// newID returns prefix followed by 20 random hex digits.
func newID(prefix string) string {
	b := make([]byte, 10)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return prefix + hex.EncodeToString(b)
}
