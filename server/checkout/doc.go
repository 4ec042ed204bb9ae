// Package checkout turns a hold into a booking and never loses money: Stripe's atomic phases
// with recovery points. The server builds one Service (New), routes POST
// /holds/{hold_id}/checkout and POST /admin/checkout/settle to it, runs its completer
// (Service.Run) and lists its refunds in the ledger (Service.Refunds). It never imports the
// server: what it needs from it comes in its Config (the error table, a clock, the strategy, the
// booking store); the payment processor is reached through server/payments.
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
// charge ends in a booking or a refund. The completer (Service.Run) resumes keys nobody retried.
//
// Limits. A key resumed after its execution died between charge_requested and the processor's
// answer, whose hold is lost by then, cannot tell "never charged" from "charged": it asks the
// processor again under the same key, which replays the charge or makes it now, and refunds it.
// Executions stop before their lease ends (budget), but a process frozen (SIGSTOP) past its lease
// and then thawed could still finish a strategy write its successor no longer expects; the
// key's own writes are fenced by the lease token, the strategy's are not.
//
// Files:
//
//	service.go      Config, Service, New; the completer (Run), Refunds
//	handler.go      POST /holds/{hold_id}/checkout: validation, replay, the stored answer
//	execution.go    one run of a key through its phases, crash points for tests
//	idempotency.go  the key store: idempotency_keys and checkout_payments, leases
//	settle.go       Settle and POST /admin/checkout/settle
//	errors.go       the sentinel errors and their rows of the server's error table
package checkout
