package strategies

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"stampede/internal/sqldb"
)

// This file holds the strategies that are broken on purpose, besides naive: each is a safe
// strategy with one guard taken out, so that the checker can be shown to catch that exact
// mistake. Both are registered as unsafe: New refuses them without allowUnsafe, and Safe (which
// the conformance, server and matrix tests iterate) leaves them out. Broken lists them with the
// safe strategy each is built on.
//
// redis-lock-unfenced is redis-lock whose seat confirm trusts the lock it took at hold time. It
// neither checks before the charge nor claims after it that the seat keys in Redis are still
// its own, and its database write has no fencing condition (nor any on the seat's status). A
// buyer whose hold expired during a slow payment, and whose seat was held and bought by someone
// else meanwhile, still books it: one seat, two bookings. General-admission holds keep the safe
// path.
//
// status-expiry-blind is status-expiry whose seat confirm ignores who holds the seat: no check
// before the charge, and an UPDATE that names the seats without any condition on their holder
// or status. A confirm that arrives after its hold expired and another buyer took (or bought)
// the seat still sells it. General-admission holds keep the safe path.

func newRedisLockUnfenced(d Deps) (Strategy, error) {
	s, err := NewRedisLock(d)
	if err != nil {
		return nil, err
	}
	s.unfenced = true
	return s, nil
}

func newStatusExpiryBlind(d Deps) (Strategy, error) {
	b, err := newSQLBase("status-expiry-blind", d)
	if err != nil {
		return nil, err
	}
	return &statusExpiry{sqlBase: b, blind: true}, nil
}

// lockCheck runs checkLock in mode, unless the broken variant trusts its lock (then the answer
// is always 1, ours, and Redis is not asked).
func (s *RedisLock) lockCheck(ctx context.Context, h Hold, mode string, trust bool) (int64, error) {
	if trust {
		return 1, nil
	}
	return s.checkLock(ctx, h, mode)
}

// Flaw is the one defect a broken variant adds to the safe strategy it is built on. Most live in
// the strategy itself; three live where the server acts on the strategy's behalf (its checkout
// and its waiting room), and the server asks FlawOf which of those, if any, to commit.
type Flaw string

// The flaws of the variants registered below. None is visible on a calm sequential path: each
// needs the hazard named beside it.
const (
	// FlawChargeEachAttempt: a checkout resumed after an unknown outcome (the processor's
	// answer lost, the client retrying with its Idempotency-Key) charges under a processor key
	// of its own, so the processor charges again (unknown_checkout_retried, psp_answer_lost).
	FlawChargeEachAttempt Flaw = "charge-each-attempt"
	// FlawRefundUnmade: a checkout whose hold was lost after the charge answers 409 hold_lost
	// naming a refund it never asked the processor for (expired_mid_checkout).
	FlawRefundUnmade Flaw = "refund-unmade"
	// FlawAdmissionUnchecked: a hold request without an admission token skips the waiting room,
	// as if no token meant "no waiting room here" (holds_without_token).
	FlawAdmissionUnchecked Flaw = "admission-unchecked"
	// FlawBookingUnstored: a confirm that finds after the charge that its seats or units were
	// taken answers with a booking it never writes, instead of ErrHoldLost (expired_mid_checkout).
	FlawBookingUnstored Flaw = "booking-unstored"
	// FlawExpiredResold: a seat confirm skips the check that the hold is still its seats' last
	// holder, before and after the charge: an expired hold's seat is sold to its old holder
	// though another buyer took it meanwhile (expired_mid_checkout, seat_reheld).
	FlawExpiredResold Flaw = "expired-resold"
	// FlawGAUnlocked: a general-admission hold reads the tier's count without a lock and writes
	// back the count it computed from it, a lost update when two holds race, so the tier
	// oversells (concurrent_tier_holds, tier_sold_out).
	FlawGAUnlocked Flaw = "ga-unlocked"
	// FlawWriteBehind: a confirm answers with its booking while the booking row is still in the
	// server's memory, written writeBehindDelay later (or before any read of bookings): a crash
	// in between loses a booking its buyer was told about (crash_mid_checkout).
	FlawWriteBehind Flaw = "write-behind"
	// FlawHoldNeverExpires: a hold answers with the TTL's expiry but is stored to expire
	// leakedHoldLife later, so its seats or units stay held long after it expired unbought
	// (holds_expired, seat_reheld).
	FlawHoldNeverExpires Flaw = "hold-never-expires"
)

// FlawOf returns the flaw of the named strategy: "" for the safe ones, for naive and for the
// variants whose defect is a guard taken out rather than a named flaw.
func FlawOf(name string) Flaw { return registry[name].flaw }

// Variant ties a broken variant to the safe strategy it is built on and its flaw.
type Variant struct {
	Name, Safe string
	Flaw       Flaw
}

// Broken lists the broken variants that are built on a safe strategy (every unsafe strategy but
// naive), by name.
func Broken() []Variant {
	var out []Variant
	for _, n := range Names() {
		if c := registry[n]; c.unsafe && c.base != "" {
			out = append(out, Variant{Name: n, Safe: c.base, Flaw: c.flaw})
		}
	}
	return out
}

// newStatusExpiryFlawed builds status-expiry under the variant's name with flaw f.
func newStatusExpiryFlawed(name string, f Flaw) func(Deps) (Strategy, error) {
	return func(d Deps) (Strategy, error) {
		b, err := newSQLBase(name, d)
		if err != nil {
			return nil, err
		}
		s := &statusExpiry{sqlBase: b, flaw: f}
		if f == FlawWriteBehind {
			s.behind = &writeBehind{db: d.DB, delay: writeBehindDelay}
			s.store.beforeRead = s.behind.flush
		}
		return s, nil
	}
}

// newSkipLockedResold is skip-locked whose seat confirm sells the seats whoever holds them.
func newSkipLockedResold(d Deps) (Strategy, error) {
	s, err := NewSkipLocked(d)
	if err != nil {
		return nil, err
	}
	s.name, s.flaw = "skip-locked-resold", FlawExpiredResold
	return s, nil
}

// writeBehindDelay is how long FlawWriteBehind keeps a booking in memory only: longer than the
// crash scenarios run before their crash, so that a crash loses every booking answered since
// the on-sale began (unless something read it since). At 2 s, a crash on a loaded machine,
// where checkouts answer slowly, sometimes found only bookings whose answers never reached
// their buyers, and the buyers that had been told of a booking kept theirs.
const writeBehindDelay = 10 * time.Second

// leakedHoldLife is how much later than it says a FlawHoldNeverExpires hold is stored to expire.
const leakedHoldLife = time.Hour

// writeBehind keeps bookings answered but not yet written. A read of one booking (the Store's
// beforeRead) writes that booking first, a read of many writes them all, so the process reads
// its own writes; another process, or the same one after a crash, does not. A read of one
// booking leaves the others in memory: a checkout that looks up its own booking before a
// refund (every hold lost after its charge does) would otherwise write every booking answered
// so far, and a crash that came after it would find few left to lose.
type writeBehind struct {
	db    sqldb.DB
	delay time.Duration

	mu      sync.Mutex
	pending []Booking
}

// add queues b and schedules its write, of b alone: a crash loses every booking answered in the
// delay before it, however late it comes.
func (w *writeBehind) add(b Booking) {
	w.mu.Lock()
	w.pending = append(w.pending, b)
	w.mu.Unlock()
	time.AfterFunc(w.delay, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = w.flush(ctx, b.ID) // a failed write stays queued for the next read of it
	})
}

// flush writes the queued booking id, or every queued booking (oldest first) when id is "";
// one that fails stays queued.
func (w *writeBehind) flush(ctx context.Context, id string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i := 0; i < len(w.pending); {
		if id != "" && w.pending[i].ID != id {
			i++
			continue
		}
		if err := insertBooking(ctx, sqldb.OnPool(w.db, tagCheckout), w.pending[i]); err != nil {
			return fmt.Errorf("write-behind: %w", err)
		}
		w.pending = slices.Delete(w.pending, i, i+1)
	}
	return nil
}

// BookingStore is the Store a server built on st reads bookings from: st's own when st keeps
// bookings in memory before writing them (so that the server reads its own writes), otherwise
// a new Store over db.
func BookingStore(st Strategy, db sqldb.DB, now func() time.Time) *Store {
	if s, ok := st.(*statusExpiry); ok && s.behind != nil {
		return s.store
	}
	return NewStore(db, now)
}
