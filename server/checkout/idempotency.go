package checkout

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"stampede/internal/sqldb"
)

// Recovery points of a checkout, in the order an execution passes them (booked and refunded are
// alternatives). Each is written before the step it makes safe to resume: charge_requested
// before the processor is called (from then on a charge may exist), charged once its id is
// known, booked or refunded with the answer to store, finished when the answer is final.
const (
	phaseStarted         = "started"
	phaseChargeRequested = "charge_requested"
	phaseCharged         = "charged"
	phaseBooked          = "booked"
	phaseRefunded        = "refunded"
	phaseFinished        = "finished"
)

// openPhases are the phases of keys that are not finished (what the completer scans).
var openPhases = []any{phaseStarted, phaseChargeRequested, phaseCharged, phaseBooked, phaseRefunded}

// connTagIdempotency tags every statement on the idempotency tables, so their pool wait and hold
// are measured apart from the strategy's own "checkout" statements.
const connTagIdempotency = "idempotency"

// errLeaseLost: a fenced write found another execution owning the key (this one's lease expired
// and was taken over). The execution must stop without writing anything more.
var errLeaseLost = errors.New("idempotency key lease lost to another execution")

// checkoutRequest is what a checkout asks for, saved with its key so that a resume (by a retry or
// by the completer) can redo it.
type checkoutRequest struct {
	HoldID        string
	PaymentMethod string
}

// hash is the fingerprint compared when a key is reused: hex SHA-256 of the request's fields.
func (r checkoutRequest) hash() string {
	sum := sha256.Sum256([]byte("checkout\x00" + r.HoldID + "\x00" + r.PaymentMethod))
	return hex.EncodeToString(sum[:])
}

// idemKey is one row of idempotency_keys: a checkout's recovery state. An execution owns it
// while it holds the lease (LeaseToken); fields other than the identity are written back by
// keyStore.save.
type idemKey struct {
	Session      string
	Key          string
	RequestHash  string
	Request      checkoutRequest
	EventID      string
	Phase        string
	LeaseToken   string
	Attempts     int
	ProcessorKey string
	RefundKey    string
	BookingID    string
	ChargeID     string
	AmountCents  int64
	RefundReason string
	RefundID     string
	// ResponseStatus and ResponseBody are the stored answer (0 and "" until there is one).
	ResponseStatus int
	ResponseBody   string
}

// beginOutcome is what keyStore.begin found.
type beginOutcome int

const (
	// beginNew: the key is new; this execution owns it at phase started.
	beginNew beginOutcome = iota
	// beginResume: the key existed unfinished with no live lease; this execution owns it now.
	beginResume
	// beginReplay: the key is finished; its stored answer is to be replayed.
	beginReplay
	// beginConflict: the key was used with a different request.
	beginConflict
	// beginBusy: another execution holds the key's lease.
	beginBusy
)

// keyStore reads and writes idempotency_keys and checkout_payments. Its methods are safe for
// concurrent use; mutual exclusion between executions of one key comes from the lease.
type keyStore struct {
	db  sqldb.DB
	now func() time.Time
	// lease is how long an execution may own a key before another may take it over.
	lease time.Duration
}

func (ks *keyStore) clock() time.Time { return ks.now().UTC().Truncate(time.Microsecond) }

// derivedKeys returns the processor idempotency keys of a checkout key: one for its charge and
// one for its refund. They depend only on (session, key), so every execution of the checkout,
// first or resumed, on any server, sends the same keys and the processor charges at most once.
func derivedKeys(session, key string) (charge, refund string) {
	sum := sha256.Sum256([]byte(session + "\x00" + key))
	h := hex.EncodeToString(sum[:20])
	return "ck_" + h, "rk_" + h
}

// randomHex returns n random bytes as hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}

const keyColumns = `session, idem_key, request_hash, hold_id, payment_method, event_id, phase, lease_token,
	attempts, processor_key, refund_key, booking_id, charge_id, amount_cents, refund_reason, refund_id,
	response_status, response_body`

func scanKey(scan func(dest ...any) error) (*idemKey, error) {
	k := &idemKey{}
	err := scan(&k.Session, &k.Key, &k.RequestHash, &k.Request.HoldID, &k.Request.PaymentMethod, &k.EventID,
		&k.Phase, &k.LeaseToken, &k.Attempts, &k.ProcessorKey, &k.RefundKey, &k.BookingID, &k.ChargeID,
		&k.AmountCents, &k.RefundReason, &k.RefundID, &k.ResponseStatus, &k.ResponseBody)
	if err != nil {
		return nil, err
	}
	return k, nil
}

// load reads one key; sqldb.ErrNoRows when there is none.
func (ks *keyStore) load(ctx context.Context, session, key string) (*idemKey, error) {
	var k *idemKey
	err := ks.db.Query(ctx, connTagIdempotency,
		"SELECT "+keyColumns+" FROM idempotency_keys WHERE session = ? AND idem_key = ?",
		func(rows sqldb.Rows) error {
			if !rows.Next() {
				return sqldb.ErrNoRows
			}
			var err error
			k, err = scanKey(rows.Scan)
			return err
		}, session, key)
	if err != nil {
		return nil, err
	}
	return k, nil
}

// begin records a new key at phase started and takes its lease, or finds the existing key and
// says what to do with it: replay its stored answer, refuse a different request, report that
// another execution holds it, or take it over (a crashed or abandoned execution whose lease has
// expired, or one that ended with an unknown outcome and released it).
func (ks *keyStore) begin(ctx context.Context, session, key string, req checkoutRequest) (*idemKey, beginOutcome, error) {
	now := ks.clock()
	chargeKey, refundKey := derivedKeys(session, key)
	k := &idemKey{
		Session: session, Key: key, RequestHash: req.hash(), Request: req, Phase: phaseStarted,
		LeaseToken: randomHex(12), Attempts: 1, ProcessorKey: chargeKey, RefundKey: refundKey,
		BookingID: "b_" + randomHex(12),
	}
	_, err := ks.db.Exec(ctx, connTagIdempotency, `INSERT INTO idempotency_keys
		(session, idem_key, request_hash, hold_id, payment_method, phase, locked_at, lease_token, attempts,
		 processor_key, refund_key, booking_id, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?)`,
		session, key, k.RequestHash, req.HoldID, req.PaymentMethod, phaseStarted, now, k.LeaseToken,
		chargeKey, refundKey, k.BookingID, now, now)
	if err == nil {
		return k, beginNew, nil
	}
	if !sqldb.UniqueViolation(err) {
		return nil, 0, fmt.Errorf("record idempotency key: %w", err)
	}
	return ks.takeOver(ctx, session, key, req.hash())
}

// takeOver handles an existing key: see begin. wantHash is the request's fingerprint, or "" for
// the completer, which resumes the saved request whatever it is.
func (ks *keyStore) takeOver(ctx context.Context, session, key, wantHash string) (*idemKey, beginOutcome, error) {
	k, err := ks.load(ctx, session, key)
	if err != nil {
		return nil, 0, fmt.Errorf("read idempotency key: %w", err)
	}
	if wantHash != "" && k.RequestHash != wantHash {
		return k, beginConflict, nil
	}
	if k.Phase == phaseFinished {
		return k, beginReplay, nil
	}
	now := ks.clock()
	token := randomHex(12)
	n, err := ks.db.Exec(ctx, connTagIdempotency, `UPDATE idempotency_keys
		SET locked_at = ?, lease_token = ?, attempts = attempts + 1, version = version + 1, updated_at = ?
		WHERE session = ? AND idem_key = ? AND phase <> ? AND (locked_at IS NULL OR locked_at < ?)`,
		now, token, now, session, key, phaseFinished, now.Add(-ks.lease))
	if err != nil {
		return nil, 0, fmt.Errorf("take idempotency key lease: %w", err)
	}
	if n == 0 {
		// Someone holds the lease, or finished the key since we read it.
		if k, err = ks.load(ctx, session, key); err != nil {
			return nil, 0, fmt.Errorf("read idempotency key: %w", err)
		}
		if k.Phase == phaseFinished {
			return k, beginReplay, nil
		}
		return k, beginBusy, nil
	}
	// Re-read: the row may have moved on between the first read and the lease.
	if k, err = ks.load(ctx, session, key); err != nil {
		return nil, 0, fmt.Errorf("read idempotency key: %w", err)
	}
	if k.LeaseToken != token {
		return k, beginBusy, nil
	}
	return k, beginResume, nil
}

// save writes k's recovery state (phase, event, charge, refund, stored answer) if this execution
// still owns the lease, together with extra statements in the same transaction (the payments
// record). It returns errLeaseLost when another execution owns the key now.
func (ks *keyStore) save(ctx context.Context, k *idemKey, extra ...func(sqldb.Tx) error) error {
	write := func(q sqldb.Querier) error {
		n, err := q.Exec(ctx, `UPDATE idempotency_keys
			SET phase = ?, event_id = ?, charge_id = ?, amount_cents = ?, refund_reason = ?, refund_id = ?,
			    response_status = ?, response_body = ?, version = version + 1, updated_at = ?
			WHERE session = ? AND idem_key = ? AND lease_token = ?`,
			k.Phase, k.EventID, k.ChargeID, k.AmountCents, k.RefundReason, k.RefundID,
			k.ResponseStatus, k.ResponseBody, ks.clock(), k.Session, k.Key, k.LeaseToken)
		if err != nil {
			return fmt.Errorf("save idempotency key at %s: %w", k.Phase, err)
		}
		if n == 0 {
			return errLeaseLost
		}
		return nil
	}
	if len(extra) == 0 {
		return write(sqldb.OnPool(ks.db, connTagIdempotency))
	}
	return ks.db.Tx(ctx, connTagIdempotency, func(tx sqldb.Tx) error {
		if err := write(tx); err != nil {
			return err
		}
		for _, f := range extra {
			if err := f(tx); err != nil {
				return err
			}
		}
		return nil
	})
}

// finish marks the key finished and gives up its lease: its stored answer is final.
func (ks *keyStore) finish(ctx context.Context, k *idemKey) error {
	n, err := ks.db.Exec(ctx, connTagIdempotency, `UPDATE idempotency_keys
		SET phase = ?, response_status = ?, response_body = ?, locked_at = NULL, lease_token = '',
		    version = version + 1, updated_at = ?
		WHERE session = ? AND idem_key = ? AND lease_token = ?`,
		phaseFinished, k.ResponseStatus, k.ResponseBody, ks.clock(), k.Session, k.Key, k.LeaseToken)
	if err != nil {
		return fmt.Errorf("finish idempotency key: %w", err)
	}
	if n == 0 {
		return errLeaseLost
	}
	k.Phase = phaseFinished
	return nil
}

// release gives up the lease without finishing, after an unknown outcome: the client's retry (or
// the completer) may resume at once from the last recovery point.
func (ks *keyStore) release(ctx context.Context, k *idemKey) error {
	_, err := ks.db.Exec(ctx, connTagIdempotency, `UPDATE idempotency_keys
		SET locked_at = NULL, lease_token = '', version = version + 1, updated_at = ?
		WHERE session = ? AND idem_key = ? AND lease_token = ?`,
		ks.clock(), k.Session, k.Key, k.LeaseToken)
	if err != nil {
		return fmt.Errorf("release idempotency key: %w", err)
	}
	return nil
}

// abandoned lists up to limit unfinished keys that nobody has touched since before idleSince and
// whose lease is free or expired: crashed executions, and unknown outcomes never retried.
func (ks *keyStore) abandoned(ctx context.Context, idleSince time.Time, limit int) ([][2]string, error) {
	now := ks.clock()
	args := append([]any{}, openPhases...)
	args = append(args, idleSince.UTC(), now.Add(-ks.lease), limit)
	var out [][2]string
	err := ks.db.Query(ctx, connTagIdempotency, `SELECT session, idem_key FROM idempotency_keys
		WHERE phase IN (?, ?, ?, ?, ?) AND updated_at < ? AND (locked_at IS NULL OR locked_at < ?)
		ORDER BY updated_at LIMIT ?`,
		func(rows sqldb.Rows) error {
			for rows.Next() {
				var s, k string
				if err := rows.Scan(&s, &k); err != nil {
					return err
				}
				out = append(out, [2]string{s, k})
			}
			return rows.Err()
		}, args...)
	if err != nil {
		return nil, fmt.Errorf("list abandoned idempotency keys: %w", err)
	}
	return out, nil
}

// Payment kinds in checkout_payments.
const (
	paymentCharge = "charge"
	paymentRefund = "refund"
)

// recordPayment returns a statement for save's transaction that records a charge or refund the
// server made. Recording the same processor id twice (a resumed execution) is not an error.
func recordPayment(ctx context.Context, k *idemKey, kind, id, reason string, now time.Time) func(sqldb.Tx) error {
	return func(tx sqldb.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM checkout_payments WHERE id = ?", []any{&n}, id); err != nil {
			return fmt.Errorf("read checkout payments: %w", err)
		}
		if n > 0 {
			return nil
		}
		_, err := tx.Exec(ctx, `INSERT INTO checkout_payments
			(id, kind, charge_id, event_id, hold_id, session, idem_key, amount_cents, reason, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			id, kind, k.ChargeID, k.EventID, k.Request.HoldID, k.Session, k.Key, k.AmountCents, reason, now)
		if err != nil {
			return fmt.Errorf("record %s %s: %w", kind, id, err)
		}
		return nil
	}
}

// refundRecords lists the refunds the server made for an event's holds, oldest first.
func (ks *keyStore) refundRecords(ctx context.Context, eventID string) ([]RefundRecord, error) {
	out := []RefundRecord{}
	err := ks.db.Query(ctx, connTagIdempotency, `SELECT id, charge_id, hold_id, amount_cents, reason
		FROM checkout_payments WHERE event_id = ? AND kind = ? ORDER BY created_at, id`,
		func(rows sqldb.Rows) error {
			for rows.Next() {
				var r RefundRecord
				if err := rows.Scan(&r.RefundID, &r.ChargeID, &r.HoldID, &r.AmountCents, &r.Reason); err != nil {
					return err
				}
				out = append(out, r)
			}
			return rows.Err()
		}, eventID, paymentRefund)
	if err != nil {
		return nil, fmt.Errorf("list refunds of event %s: %w", eventID, err)
	}
	return out, nil
}
