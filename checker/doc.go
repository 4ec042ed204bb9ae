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
// that gives up a hold during payment frees its seats then. A seat whose hold ended so and
// that nobody took since may still be confirmed by that hold, as the contract allows; a
// confirm that does so in two steps takes the seat back (held by that hold again) before it
// sells it or gives it up, which the model allows within the checkout's own interval (the
// claim step, kClaim). A sold seat never becomes available again, so no fault excuses a
// double sale. Operations of unknown outcome (type
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
// Sound reductions keep hot seats cheap without changing any verdict: operations called
// after the first confirmed sale of a seat returned are checked directly against the sold
// state; every operation inside an ok hold's certain lifetime (called after the hold returned,
// returned before it could expire and before any release or checkout of it was called) is
// checked directly against "held by that hold", an impossible one proving the seat illegal
// whatever the operations of unknown outcome did, and one that changes nothing dropped;
// refusals that fall inside a hold's certain lifetime, or whose interval contains another
// refusal's, are dropped; a seat is first checked without its refusals and reads of held
// seats (illegal then, it is illegal, and proving it costs no search over the orders of those
// observers). reduce.go argues each. Seats are
// checked in parallel by a bounded pool of workers, each with a timeout; a seat that times out
// is Unknown, never a pass. A failing seat is minimized to the first operation that cannot be
// explained (the culprit), reported with the operations that shaped the seat before it, and
// rendered with porcupine's HTML visualization, the run's fault windows drawn as annotations.
//
// A history is read as a stream (history.Stream), never held whole. Past
// Options.MaxResidentOps seat operations, the seats' operations are spilled to disk in
// buckets by seat and checked one bucket at a time, so memory holds one bucket of seat
// operations plus what the other checks keep about every hold and checkout: ten million
// operations are checked in a few GiB (make bench-checker measures it).
//
// # Invariants, money and availability
//
// From the ledgers: no seat sold twice, every booking a client was told about exists, every
// seat in exactly one state, general-admission counts add up to capacity; every captured
// charge matched by exactly one booking or one refund, no idempotency key charged twice, no
// booking without a charge; no hold for a session the waiting room had not admitted. In the
// other direction: false sell-outs (a hold refused, or a read showing the seat held, after
// its last hold ended unsold more than a grace period earlier) and leaked holds (seats still
// held at the end by holds long expired, by the expiry the hold's answer gave when the ledger
// records a later one).
//
// Each check yields a Verdict (pass, fail, unknown, skipped or not exercised, a count, the
// first counterexamples with the seat, clients, operations, times and the fault window they
// followed); Check gathers them in a Result that reports render and `stampede check` prints.
// A fault whose fault-start record carries an error was never injected: it opens no window,
// so no counterexample is said to follow it.
//
// # Coverage
//
// A green run that created no opportunity for a bug looks like one that created many, so
// Check also counts, from the history alone, the hazards the run created (Result.Coverage, one
// row per history.Hazard) and which checks each feeds. A check that passed while every hazard
// feeding it counted zero is NotExercised: not a failure, but not evidence either. A scenario
// declares the least counts it expects (`coverage:`); Coverage.Shortfalls says what a run
// missed. Two operations overlap when each was called before the other returned; a fault
// window runs from its fault-start to its fault-end's return, both included. A hold's expiry
// is the best estimate the checker has (expires_at on the run axis, else the call plus ttl_ms),
// without the clock-skew tolerance. The hazards, by their stable names:
//
//   - concurrent_seat_holds: hold attempts on a reserved seat that overlapped another attempt
//     on the same seat, counted per seat (a hold of two seats racing on both counts twice).
//     An attempt counts when it reached the inventory: granted, of unknown outcome, or refused
//     as seat_unavailable naming the seat; refusals before the inventory (not_admitted, bad
//     requests) raced nobody. Peak is the most attempts in flight at one instant on one seat.
//     Feeds linearizability, no-double-sale and seat-states.
//   - concurrent_tier_holds: the same for general-admission tiers (refusals as sold_out or
//     seat_unavailable count), per event and tier; peak likewise. Feeds linearizability,
//     no-double-sale and ga-capacity.
//   - tier_sold_out: tiers that answered sold_out to an attempt overlapping another attempt
//     on the tier: sold out under contention. Feeds no-double-sale and ga-capacity.
//   - holds_expired: granted holds whose expiry came before the end of the history while they
//     were neither released (an ok release called before the expiry) nor bought (a checkout,
//     ok or of unknown outcome, called before the expiry). Feeds linearizability,
//     false-sell-outs and leaked-holds.
//   - seat_reheld: granted seat holds that ended unsold (no checkout of them answered ok or of
//     unknown outcome) and after whose end a hold of one of their seats was attempted; a hold
//     ends at the earliest of its expiry, the call of an ok release of it, and the call of a
//     checkout of it refused as hold_expired or hold_lost.
//     Feeds linearizability, no-double-sale and false-sell-outs.
//   - expired_mid_checkout: holds whose expiry fell strictly inside a checkout of them,
//     whatever its answer. Feeds linearizability, no-double-sale and charges-matched.
//   - confirmed_after_expiry: holds confirmed by an ok checkout that returned after their
//     expiry. Feeds linearizability and no-double-sale.
//   - unknown_checkout_retried: checkouts of unknown outcome (info) followed by a checkout with
//     the same idempotency key called later. Feeds bookings-exist, charges-matched,
//     idempotency and bookings-charged.
//   - psp_answer_lost: checkouts of unknown outcome that overlapped the window of a fault on
//     the payment processor's answers (Options.PaymentFaults). Feeds charges-matched,
//     idempotency and bookings-charged.
//   - crash_mid_checkout: checkouts, whatever their answer, that overlapped the window of a
//     fault that kills the server (Options.CrashFaults) or of any fault the schedule triggered
//     at a server failpoint (its record's history.ParamFailpoint). Feeds bookings-exist,
//     seat-states, charges-matched, idempotency and bookings-charged.
//   - holds_at_state_loss: granted holds live during the window of a fault that loses holds
//     (Options.HoldLossFaults): asked for before the window ended, expiring after it began,
//     and not released, refused as gone or sold before it began. Feeds linearizability,
//     no-double-sale, seat-states and charges-matched.
//   - holds_without_token: hold attempts, granted or refused, sent without an admission token
//     on an event whose waiting room was on (some join was admitted). Feeds admission.
//   - forged_scans: forged tickets presented at the gates. Feeds gate-forgeries and
//     gate-overwhelmed (a flood the scanners must refuse without turning holders away).
//   - duplicate_scans: genuine tickets presented more than once with two presentations in
//     flight together (a shared screenshot). Feeds gate-once and gate-answered.
//   - cancelled_scans: scans of tickets whose booking was cancelled or refunded, answered
//     booking_cancelled. Feeds gate-answered.
//
// # Files
//
// check.go (Options, Input and Check), load.go (reading a run directory and the ledgers),
// ledger.go (the ledgers' types), partition.go (the index: records projected onto seats),
// spill.go (seat operations on disk for a large history),
// model.go (the sequential model of one seat), linearizability.go (checking every seat with
// porcupine), reduce.go (the reductions), explain.go (minimizing a failing seat to its
// culprit), visualize.go (porcupine's HTML), invariants.go (what the invariant checks share),
// sales.go (no double sale, bookings exist), inventory.go (seat states, general-admission
// capacity), money.go (charges, idempotency), admission.go (the waiting room),
// availability.go (false sell-outs, leaked holds), gates.go (the gate scans: gate-once,
// gate-forgeries, gate-answered, gate-overwhelmed), verdict.go (Verdict and Result), hazards.go
// (counting the hazards) and coverage.go (Coverage, what each hazard feeds, NotExercised and
// Shortfalls).
package checker
