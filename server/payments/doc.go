// Package payments is stampede's fake card processor (PSP) and the client the reference server
// uses to talk to it.
//
// The Processor is an http.Handler speaking psp.yaml: POST /charges and POST /refunds, each with
// its own Idempotency-Key (the same key with the same request replays the original object with
// 200; the same key with a different request is 422 idempotency_conflict), GET /ledger (every
// charge and refund, the checker's source of truth for money) and PUT /admin/faults, which
// switches failure modes at run time: added latency, 500s that charge nothing, requests held past
// any sensible deadline that charge nothing, and responses lost after the charge was made (the
// connection is closed without an answer). Failure decisions come from one seeded random source,
// so a run with the same seed and the same request order fails the same way. The payment method
// "card_declined" is always declined (402, nothing captured). Amounts are integer cents. A
// Processor is safe for concurrent use; its ledger lives in memory and dies with it.
//
// The Client is what a booking server calls. Every request has its own deadline. Its errors say
// what the caller may conclude: ErrDeclined (certainly nothing charged), ErrUnknownOutcome (a 5xx,
// a timeout or a dropped connection: the charge may or may not have happened, retry with the same
// key), ErrConflict, ErrChargeNotFound and ErrAlreadyRefunded.
//
// ListenAndServe and Serve run a Processor on its own listener, for `stampede psp` and for a
// booking server that starts one beside itself.
package payments
