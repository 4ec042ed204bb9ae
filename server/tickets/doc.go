// Package tickets is the reference server's gate: the signed tickets a booking carries, and the
// scans of them at the gates.
//
// Each seat or general-admission unit of a booking gets a ticket, signed from the booking
// alone (tickets.go): its claims (event, booking, seat or unit, ticket id) with an Ed25519
// signature and a short HMAC tag from the same seed (strategies.Store.TicketSeed keeps one per
// database). Ticket ids and codes are deterministic, so the booking's answer, GET /bookings and
// the ledger show the same tickets without storing them.
//
// A scan (service.go) is refused from the code alone when it is forged, altered, truncated or
// for another event: nothing is read from the database or Redis for it, and it is refused
// before it takes any room in the server's overload budget. A genuine ticket goes to the Gate
// (gate.go), which admits it exactly once across every gate (strategies.Store.Admit), or
// refuses it as already used (with the first entry's gate and time) or as belonging to a
// cancelled booking. Gates are registered by name in one place: exactly-once, and
// per-gate-cache, broken on purpose (each gate trusts its own list, so a shared screenshot gets
// in once per gate), which the checker must catch and which runs only with --allow-unsafe.
package tickets
