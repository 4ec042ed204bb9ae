// Package checker judges a stampede run: was any seat sold twice, was money lost, were buyers
// told "sold out" while seats sat idle? It reads only the run's history (package history),
// the booking system's ledger (GET /admin/ledger, server/api.yaml) and the payment
// processor's ledger (GET /ledger, server/payments/psp.yaml), so it can judge any booking
// system that speaks the contract. It imports neither the server nor the strategies.
//
// # Linearizability
//
// Every seat (and every general-admission unit, when holds name their units) is checked on
// its own with github.com/anishathalye/porcupine against a sequential model of one seat:
// available, held by hold H until its expiry, or sold to booking B. Holds, checkouts
// (confirmations), releases and reads are projected onto each seat they touch; failures that
// say nothing about a seat (not_admitted, payment_declined, ...) are left out. Expiry is not
// an operation anybody calls: it is a nondeterministic step of the model
// (porcupine.NondeterministicModel) that may happen before any operation returning at or after
// the hold's expires_at, less the clock-skew tolerance. A fault that loses holds
// (Options.HoldLossFaults: the runner names those that package chaos marks, a Redis restart
// or flush) may end a hold from the fault's start in the same way, and a checkout answered
// hold_lost or hold_expired (or of unknown outcome) may end its own hold at once, as a server
// that gives up a hold during payment frees its seats then. A seat whose hold ended so and that nobody took since may
// still be confirmed by that hold, as the contract allows; a sold seat never becomes
// available again, so no fault excuses a double sale. Operations of unknown outcome (type
// info) may take effect at any point after their call, or never. General-admission units are
// checked per unit id, which assumes a sold unit's id is never handed out again.
//
// A read whose seat map carries an as_of is a snapshot: a system may answer many readers from
// one map taken before their calls. It is checked as if it happened anywhere from its as_of
// (less the clock-skew tolerance) to its return, so a seat sold before the as_of and shown
// available is a violation, and a seat sold after it, even before the read was sent, may be
// shown available (stale, but as fresh as the map says). A request the system shed (history
// type shed: 503 overloaded) is a certain failure, like a fail: nothing happened.
//
// Two sound reductions keep hot seats cheap without changing any verdict: operations called
// after the first confirmed sale of a seat returned are checked directly against the sold
// state, and refusals that fall inside a hold's certain lifetime, or whose interval contains
// another refusal's, are dropped; a seat is first checked without its refusals and reads of
// held seats (illegal then, it is illegal, and proving it costs no search over the orders of
// those observers). Seats are
// checked in parallel by a bounded pool of workers, each with a timeout; a seat that times out
// is Unknown, never a pass. A failing seat is minimized to the first operation that cannot be
// explained (the culprit), reported with the operations that shaped the seat before it, and
// rendered with porcupine's HTML visualization, the run's fault windows drawn as annotations.
//
// # Invariants, money and availability
//
// From the ledgers: no seat sold twice, every booking a client was told about exists, every
// seat in exactly one state, general-admission counts add up to capacity; every captured
// charge matched by exactly one booking or one refund, no idempotency key charged twice, no
// booking without a charge; no hold for a session the waiting room had not admitted. In the
// other direction: false sell-outs (a hold refused, or a read showing the seat held, after
// its last hold ended unsold more than a grace period earlier) and leaked holds (seats still
// held at the end by holds long expired).
//
// Each check yields a Verdict (pass, fail, unknown or skipped, a count, the first
// counterexamples with the seat, clients, operations, times and the fault window they
// followed); Check gathers them in a Result that reports render and `stampede check` prints.
//
// # Files
//
// check.go (Options, Input and Check), load.go (reading a run directory and the ledgers),
// ledger.go (the ledgers' types), partition.go (the index: records projected onto seats),
// model.go (the sequential model of one seat), linearizability.go (checking every seat with
// porcupine), reduce.go (the reductions), explain.go (minimizing a failing seat to its
// culprit), visualize.go (porcupine's HTML), invariants.go (what the invariant checks share),
// sales.go (no double sale, bookings exist), inventory.go (seat states, general-admission
// capacity), money.go (charges, idempotency), admission.go (the waiting room),
// availability.go (false sell-outs, leaked holds) and verdict.go (Verdict and Result).
package checker
