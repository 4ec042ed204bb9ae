package strategies

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"stampede/internal/failpoint"
	"stampede/internal/sqldb"
)

// SkipLocked is Shopify's model: one row per sellable unit, claimed with
// SELECT ... FOR UPDATE SKIP LOCKED, so that concurrent buyers take different rows instead of
// queueing behind one counter or one hot row.
//
// Reserved seats are the seats rows themselves: a hold selects the requested seats that are
// available (or held by an expired hold: the implicit-status rule) with SKIP LOCKED, marks them
// held and inserts the hold, in one short transaction. If fewer rows come back than were asked
// for, nothing is held.
//
// General admission keeps a bounded pool of unit rows per tier in ga_units, minted from the
// ga_tiers counter (there, available is what has not been minted into the pool yet) by
// PrepareEvent, by Run, and on demand when a claim comes back short. A unit row is never
// deleted: it moves available -> held -> sold, and the units of an expired or released hold are
// claimed again, so the pool is reused and the part of the (event_id, tier, status) index that
// claims scan stays the size of the pool. Sold rows stay as the record of which units were sold.
//
// Why not claim-and-delete, and why the random start: on MariaDB 10.11 claim-and-delete with
// SKIP LOCKED collapses past 8 workers in the reference sysbench runs (921 TPS at 8, under 300
// at 32, under 80 at 64), because every claimer scans from the first row of the range and walks
// the delete-marked index entries that purge has not removed yet, plus every row the other
// claimers have locked. Changing a status column does not avoid that by itself: it
// delete-marks the unit's entry in the 'available' part of the index just as a delete would.
// What avoids it is where the scan starts: each claim starts at a random unit among the last
// minted ones and wraps around, so claimers spread over the pool and walk only the few dead or
// locked entries near their own starting point. Units of expired holds are reached through
// ga_units_expiry, so a claim never walks the live holds.
//
// Measured with BenchmarkSkipLockedGAHold (3,000 one-unit holds per run, each worker with its
// own connection, MariaDB 10.11 and PostgreSQL 15 on a 2-core machine whose load average other
// jobs kept at 15-35, so figures move by 40% between runs; paired figures are from one run):
//   - MariaDB, random start (this design): 220-700 holds/s at 8 workers, 180-470 at 32, 180-360
//     at 64: no fall from 8 to 64 workers.
//   - MariaDB, every claim from the first free unit: 100-270 at 8, 160-310 at 32, 120-210 at
//     64, slower than the random start in every paired run (1.15x to 2.5x), p99 1.2-2.0 s at 64.
//   - MariaDB, claim-and-delete holds (SELECT ... LIMIT 1 FOR UPDATE SKIP LOCKED, DELETE, the
//     hold row) in the same runs: 390-700 at 8, 270-490 at 32, 180-430 at 64. It did not
//     collapse in runs of 3,000 holds (nor in 10,000 without the hold row) on this busy
//     machine, nor did it gain anything past 8 workers; the reference collapse builds up over
//     longer runs on an idle server.
//     Updating a status keeps what deleting loses: which unit was sold to which booking, and
//     released units go back to buyers without new rows.
//   - PostgreSQL, 8 and 32 workers: 250-620 holds/s for all three ways, within the noise.
//
// Confirm checks the hold before charging (an expired hold whose seats were taken, or a
// released one, is ErrHoldExpired with nothing charged), calls the charge outside any
// transaction, then in one ACID transaction claims the seats or units (status sold, booking id,
// only while they are still this hold's), marks the hold sold and inserts the booking, always
// in that table order. Seats that are no longer the hold's after the charge give ErrHoldLost.
//
// SkipLocked is safe for concurrent use.
type SkipLocked struct {
	sqlBase
	fp          *failpoint.Set
	poolSize    int
	refillEvery time.Duration
	sweepEvery  time.Duration
	sweepBatch  int
	// spread starts GA claims at a random unit; off, every claim starts at the first free unit
	// (kept for the benchmark that compares both).
	spread bool

	mu    sync.Mutex
	tiers map[[2]string]*slTier // (event, tier) -> facts that never change, plus a minting hint
}

var (
	_ Strategy = (*SkipLocked)(nil)
	_ Preparer = (*SkipLocked)(nil)
	_ Runner   = (*SkipLocked)(nil)
)

// slTier is what SkipLocked remembers of a tier: its price and capacity, which never change,
// and how many units have been minted, a hint for where a claim starts (refreshed whenever the
// counter is read, so a stale value only makes claims start less evenly).
type slTier struct {
	price    int64
	capacity int64
	minted   atomic.Int64
}

// SkipLockedOption configures NewSkipLocked.
type SkipLockedOption func(*SkipLocked) error

// WithPoolSize sets how many free unit rows each GA tier keeps in its pool (default 1,000,
// 1..100,000). Smaller pools mint more often; larger ones cost more rows per tier.
func WithPoolSize(n int) SkipLockedOption {
	return func(s *SkipLocked) error {
		if n < 1 || n > 100_000 {
			return fmt.Errorf("pool size %d: must be 1..100000", n)
		}
		s.poolSize = n
		return nil
	}
}

// WithRefillInterval sets how often Run tops up the pools of every tier (default 1s, at least
// 10ms).
func WithRefillInterval(d time.Duration) SkipLockedOption {
	return func(s *SkipLocked) error {
		if d < 10*time.Millisecond {
			return fmt.Errorf("refill interval %s: must be at least 10ms", d)
		}
		s.refillEvery = d
		return nil
	}
}

// Defaults of SkipLocked.
const (
	defaultPoolSize    = 1000
	defaultRefillEvery = time.Second
	// unitMintBatch is how many unit rows one INSERT mints (4 parameters each).
	unitMintBatch = 1000
	// maxClaimAttempts bounds the claims one GA hold makes; skipAttempts of them use SKIP
	// LOCKED, the rest wait for locked rows (in unit order, so waiters cannot deadlock).
	maxClaimAttempts = 12
	skipAttempts     = 2
)

// errShort is an internal signal: SKIP LOCKED returned fewer rows than the hold needs.
var errShort = errors.New("fewer free rows than asked")

// NewSkipLocked builds the skip-locked strategy over d.DB (migrated with Migrate).
func NewSkipLocked(d Deps, opts ...SkipLockedOption) (*SkipLocked, error) {
	if d.DB == nil {
		return nil, errors.New("skip-locked: no database")
	}
	d.defaults()
	base, err := newSQLBase("skip-locked", d)
	if err != nil {
		return nil, err
	}
	s := &SkipLocked{
		sqlBase: base, fp: d.Failpoints, poolSize: defaultPoolSize, refillEvery: defaultRefillEvery,
		sweepEvery: d.SweepInterval, sweepBatch: d.SweepBatch, spread: true, tiers: map[[2]string]*slTier{},
	}
	for _, o := range opts {
		if err := o(s); err != nil {
			return nil, fmt.Errorf("skip-locked: %w", err)
		}
	}
	return s, nil
}

func newSkipLocked(d Deps) (Strategy, error) { return NewSkipLocked(d) }

// Hold claims the requested seats, or Quantity units of a tier, all or nothing.
func (s *SkipLocked) Hold(ctx context.Context, r HoldRequest) (Hold, error) {
	r, err := checkHoldRequest(r, s.ttl)
	if err != nil {
		return Hold{}, err
	}
	if len(r.Seats) > 0 {
		return s.holdSeats(ctx, r)
	}
	return s.holdUnits(ctx, r)
}

// seatFreeSQL is the implicit-status rule for a seat or unit row, with the time as parameter.
const seatFreeSQL = "(status = 'available' OR (status = 'held' AND expires_at <= ?))"

// holdSeats takes reserved seats. The first attempt uses SKIP LOCKED. When it comes back short,
// a plain read of the committed state decides: a seat that is held or sold makes the hold fail
// at once (the common case under contention); if every seat is free and only locked by a
// transaction in flight, a second attempt waits for those locks, in seat order, and then
// decides on what it finds. Without that second attempt, two holds of {1, 2} could each lock
// one seat, skip the other, and both fail although the seats were free.
func (s *SkipLocked) holdSeats(ctx context.Context, r HoldRequest) (Hold, error) {
	h, err := s.tryHoldSeats(ctx, r, false)
	if !errors.Is(err, errShort) {
		return h, err
	}
	// The look at the committed state runs in a transaction of its own only so that the clock
	// is read once its connection is held (see statusExpiry.Hold).
	err = s.db.Tx(ctx, tagHold, func(tx sqldb.Tx) error {
		states, err := seatStates(ctx, tx, r.EventID, r.Seats, s.now())
		if err != nil {
			return err
		}
		if len(states) < len(r.Seats) {
			return missingSeat(ctx, tx, r.EventID, r.Seats, states)
		}
		if taken := takenSeats(r.Seats, states); len(taken) > 0 {
			return &UnavailableError{Seats: taken}
		}
		return nil
	})
	if err != nil {
		return Hold{}, err
	}
	return s.tryHoldSeats(ctx, r, true)
}

// seatStates reads the committed state of seats without locking: seat id -> free.
func seatStates(ctx context.Context, q sqldb.Querier, eventID string, seats []string, now time.Time) (map[string]bool, error) {
	out := make(map[string]bool, len(seats))
	err := q.Query(ctx, "SELECT seat_id, status, expires_at FROM seats WHERE event_id = ? AND seat_id IN ("+inList(len(seats))+")",
		func(rows sqldb.Rows) error {
			for rows.Next() {
				var id, status string
				var exp *time.Time
				if err := rows.Scan(&id, &status, &exp); err != nil {
					return err
				}
				out[id] = status == SeatAvailable || (status == SeatHeld && (exp == nil || expired(*exp, now)))
			}
			return nil
		}, appendArgs([]any{eventID}, seats)...)
	if err != nil {
		return nil, fmt.Errorf("read seats: %w", err)
	}
	return out, nil
}

func takenSeats(seats []string, free map[string]bool) []string {
	var out []string
	for _, id := range seats {
		if !free[id] {
			out = append(out, id)
		}
	}
	return out
}

// tryHoldSeats is one hold transaction. Without wait it selects the free seats with SKIP
// LOCKED and returns errShort when any is missing; with wait it locks all requested seats in
// seat order, waiting for other transactions, and checks them itself. The clock is read once
// the transaction's connection is held (see statusExpiry.Hold).
func (s *SkipLocked) tryHoldSeats(ctx context.Context, r HoldRequest, wait bool) (Hold, error) {
	var h Hold
	err := s.db.Tx(ctx, tagHold, func(tx sqldb.Tx) error {
		now := s.now()
		h = newHold(r, now)
		free := make(map[string]bool, len(r.Seats))
		query := "SELECT seat_id, price_cents, status, expires_at FROM seats WHERE event_id = ? AND seat_id IN (" + inList(len(r.Seats)) + ")"
		args := appendArgs([]any{r.EventID}, r.Seats)
		if wait {
			query += " ORDER BY seat_id FOR UPDATE"
		} else {
			query += " AND " + seatFreeSQL + " ORDER BY seat_id FOR UPDATE SKIP LOCKED"
			args = append(args, now)
		}
		err := tx.Query(ctx, query, func(rows sqldb.Rows) error {
			for rows.Next() {
				var id, status string
				var price int64
				var exp *time.Time
				if err := rows.Scan(&id, &price, &status, &exp); err != nil {
					return err
				}
				free[id] = status == SeatAvailable || (status == SeatHeld && (exp == nil || expired(*exp, now)))
				h.AmountCents += price
			}
			return nil
		}, args...)
		if err != nil {
			return fmt.Errorf("claim seats: %w", err)
		}
		if !wait && len(free) < len(r.Seats) {
			return errShort
		}
		if len(free) < len(r.Seats) {
			return missingSeat(ctx, tx, r.EventID, r.Seats, free)
		}
		if taken := takenSeats(r.Seats, free); len(taken) > 0 {
			return &UnavailableError{Seats: taken}
		}
		if err := s.fp.Eval(ctx, failpoint.InHoldTx); err != nil {
			return err
		}
		n, err := tx.Exec(ctx, "UPDATE seats SET status = 'held', hold_id = ?, expires_at = ? WHERE event_id = ? AND seat_id IN ("+inList(len(r.Seats))+")",
			appendArgs([]any{h.ID, h.Expires, r.EventID}, r.Seats)...)
		if err != nil {
			return fmt.Errorf("mark seats held: %w", err)
		}
		if n != int64(len(r.Seats)) {
			return fmt.Errorf("mark seats held: %d of %d rows changed", n, len(r.Seats))
		}
		return insertHold(ctx, tx, h, now)
	})
	if err != nil {
		if errors.Is(err, errShort) {
			return Hold{}, err
		}
		return Hold{}, fmt.Errorf("hold seats of %s: %w", r.EventID, err)
	}
	return h, nil
}

// tier returns the tier's facts, reading them once (ErrTierNotFound, ErrEventNotFound).
func (s *SkipLocked) tier(ctx context.Context, eventID, tier string) (*slTier, error) {
	key := [2]string{eventID, tier}
	s.mu.Lock()
	t := s.tiers[key]
	s.mu.Unlock()
	if t != nil {
		return t, nil
	}
	var capacity, price, avail int64
	err := s.db.QueryRow(ctx, tagHold, "SELECT capacity, price_cents, available FROM ga_tiers WHERE event_id = ? AND tier = ?",
		[]any{&capacity, &price, &avail}, eventID, tier)
	if errors.Is(err, sqldb.ErrNoRows) {
		return nil, missingTier(ctx, sqldb.OnPool(s.db, tagHold), eventID, tier)
	}
	if err != nil {
		return nil, fmt.Errorf("read tier %s: %w", tier, err)
	}
	t = &slTier{price: price, capacity: capacity}
	t.minted.Store(capacity - avail)
	s.mu.Lock()
	if old := s.tiers[key]; old != nil {
		t = old
	} else {
		s.tiers[key] = t
	}
	s.mu.Unlock()
	return t, nil
}

// unitID names the n-th unit of a tier. Zero padding makes byte order the numeric order, so a
// claim can start at any unit and scan the index in order (tiers hold at most 10,000,000).
func unitID(tier string, n int64) string { return fmt.Sprintf("%s-%08d", tier, n) }

// holdUnits claims Quantity units of a tier. A short claim is followed by a look at the
// committed state (afterShort): mint more units while the counter has some and the pool runs
// low; try again while enough free units exist (they were only locked by claims in flight), the
// first attempts with SKIP LOCKED and the later ones waiting for the locks; and answer
// ErrSoldOut only when nothing is left to mint and fewer than Quantity free units remain. So no claim gives up while committed free units could still
// satisfy it, and a tier sells exactly its capacity.
func (s *SkipLocked) holdUnits(ctx context.Context, r HoldRequest) (Hold, error) {
	t, err := s.tier(ctx, r.EventID, r.Tier)
	if err != nil {
		return Hold{}, err
	}
	for attempt := 0; attempt < maxClaimAttempts; attempt++ {
		h, err := s.tryHoldUnits(ctx, r, t, attempt >= skipAttempts)
		if !errors.Is(err, errShort) {
			return h, err
		}
		if err := s.afterShort(ctx, tagHold, r.EventID, r.Tier, int64(r.Quantity)); err != nil {
			return Hold{}, err
		}
	}
	return Hold{}, fmt.Errorf("tier %s of %s: no %d units claimed in %d attempts under contention: %w",
		r.Tier, r.EventID, r.Quantity, maxClaimAttempts, ErrUnavailable)
}

// afterShort decides what follows a short claim: nil to try again (units were minted, or free
// units exist but were locked), ErrSoldOut when the pool and the counter together have fewer
// than q. The count is of committed state, read after the claim: units locked by claims in
// flight still count as free (those claims can only take them away, or give them back), so a
// count below q with nothing left to mint proves the tier cannot serve q now.
//
// Both reads run in one transaction only so that the clock is read once its connection is
// held: counted with the time before a long wait for the pool, units whose holds expired during
// the wait would not count as free, and a tier with enough of them would be sold out.
func (s *SkipLocked) afterShort(ctx context.Context, tag, eventID, tier string, q int64) error {
	var avail, free int64
	err := s.db.Tx(ctx, tag, func(tx sqldb.Tx) error {
		if err := tx.QueryRow(ctx, "SELECT available FROM ga_tiers WHERE event_id = ? AND tier = ?", []any{&avail}, eventID, tier); err != nil {
			return fmt.Errorf("read tier %s: %w", tier, err)
		}
		var err error
		free, err = countFreeUnits(ctx, tx, eventID, tier, s.now())
		return err
	})
	if err != nil {
		return err
	}
	s.noteUnminted(eventID, tier, avail)
	switch {
	case avail > 0 && free < max(q, int64(s.poolSize)/2):
		_, err := s.refill(ctx, tag, eventID, tier, q)
		return err
	case avail == 0 && free < q:
		return fmt.Errorf("tier %s of %s: %d left, %d asked: %w", tier, eventID, free, q, ErrSoldOut)
	}
	return nil
}

// countFreeUnits counts a tier's free pool units at now: available ones, and held ones whose
// hold has expired. Two counts, each a range of one index (ga_units_status, ga_units_expiry),
// rather than one OR that MySQL answers by reading every unit row of the tier.
func countFreeUnits(ctx context.Context, q sqldb.Querier, eventID, tier string, now time.Time) (int64, error) {
	var free int64
	err := q.QueryRow(ctx, "SELECT (SELECT COUNT(*) FROM ga_units WHERE event_id = ? AND tier = ? AND status = 'available') + "+
		"(SELECT COUNT(*) FROM ga_units WHERE event_id = ? AND tier = ? AND status = 'held' AND expires_at <= ?)",
		[]any{&free}, eventID, tier, eventID, tier, now)
	if err != nil {
		return 0, fmt.Errorf("count free units of tier %s: %w", tier, err)
	}
	return free, nil
}

// tryHoldUnits is one GA hold transaction: claim q units, mark them held, insert the hold. The
// clock is read once the transaction's connection is held (see statusExpiry.Hold).
func (s *SkipLocked) tryHoldUnits(ctx context.Context, r HoldRequest, t *slTier, wait bool) (Hold, error) {
	q := r.Quantity
	var h Hold
	err := s.db.Tx(ctx, tagHold, func(tx sqldb.Tx) error {
		now := s.now()
		h = newHold(r, now)
		h.AmountCents = int64(q) * t.price
		units, err := s.claimUnits(ctx, tx, r.EventID, r.Tier, t, q, now, wait)
		if err != nil {
			return err
		}
		if len(units) < q {
			return errShort
		}
		if err := s.fp.Eval(ctx, failpoint.InHoldTx); err != nil {
			return err
		}
		slices.Sort(units)
		h.Units = units
		n, err := tx.Exec(ctx, "UPDATE ga_units SET status = 'held', hold_id = ?, expires_at = ? WHERE event_id = ? AND tier = ? AND unit_id IN ("+inList(q)+")",
			appendArgs([]any{h.ID, h.Expires, r.EventID, r.Tier}, units)...)
		if err != nil {
			return fmt.Errorf("mark units held: %w", err)
		}
		if n != int64(q) {
			return fmt.Errorf("mark units held: %d of %d rows changed", n, q)
		}
		return insertHold(ctx, tx, h, now)
	})
	if err != nil {
		if errors.Is(err, errShort) {
			return Hold{}, err
		}
		return Hold{}, fmt.Errorf("hold %d of tier %s of %s: %w", q, r.Tier, r.EventID, err)
	}
	return h, nil
}

// claimUnits locks up to q free units of a tier in tx and returns their ids: first free units
// from a random start in the minted range onwards, then those before it, then units of expired
// holds. With wait it scans from the first unit and waits for locked rows instead of skipping
// them, so that waiting claimers lock in one order and cannot deadlock one another.
func (s *SkipLocked) claimUnits(ctx context.Context, tx sqldb.Querier, eventID, tier string, t *slTier, q int, now time.Time, wait bool) ([]string, error) {
	units := make([]string, 0, q)
	scan := func(rows sqldb.Rows) error {
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			units = append(units, id)
		}
		return nil
	}
	lock := " FOR UPDATE SKIP LOCKED"
	if wait {
		lock = " FOR UPDATE"
	}
	base := "SELECT unit_id FROM ga_units WHERE event_id = ? AND tier = ? AND "
	limit := func() string { return fmt.Sprintf(" ORDER BY unit_id LIMIT %d", q-len(units)) }

	if s.spread && !wait {
		start := unitID(tier, s.claimStart(t))
		if err := tx.Query(ctx, base+"status = 'available' AND unit_id >= ?"+limit()+lock, scan, eventID, tier, start); err != nil {
			return nil, fmt.Errorf("claim units: %w", err)
		}
		if len(units) < q {
			if err := tx.Query(ctx, base+"status = 'available' AND unit_id < ?"+limit()+lock, scan, eventID, tier, start); err != nil {
				return nil, fmt.Errorf("claim units: %w", err)
			}
		}
	} else if err := tx.Query(ctx, base+"status = 'available'"+limit()+lock, scan, eventID, tier); err != nil {
		return nil, fmt.Errorf("claim units: %w", err)
	}
	if len(units) < q {
		if err := tx.Query(ctx, base+"status = 'held' AND expires_at <= ?"+limit()+lock, scan, eventID, tier, now); err != nil {
			return nil, fmt.Errorf("claim expired units: %w", err)
		}
	}
	return units, nil
}

// claimStart picks the unit a claim starts at: uniformly among the last 2 x pool size minted
// units, where the free ones are (older units are mostly sold; those freed again by expiry are
// reached by the wrap-around scan).
func (s *SkipLocked) claimStart(t *slTier) int64 {
	minted := t.minted.Load()
	if minted < 1 {
		return 1
	}
	lo := max(1, minted-2*int64(s.poolSize)+1)
	return lo + rand.Int64N(minted-lo+1)
}

// refill tops the tier's pool up to max(pool size, need) free units from the counter, in one
// transaction that locks the tier row first (the only transaction that does, so it never
// deadlocks with claims). It returns the units minted.
func (s *SkipLocked) refill(ctx context.Context, tag, eventID, tier string, need int64) (int64, error) {
	var added, left int64
	err := s.db.Tx(ctx, tag, func(tx sqldb.Tx) error {
		added = 0
		var capacity, avail int64
		err := tx.QueryRow(ctx, "SELECT capacity, available FROM ga_tiers WHERE event_id = ? AND tier = ? FOR UPDATE",
			[]any{&capacity, &avail}, eventID, tier)
		if errors.Is(err, sqldb.ErrNoRows) {
			return missingTier(ctx, tx, eventID, tier)
		}
		if err != nil {
			return fmt.Errorf("lock tier: %w", err)
		}
		left = avail
		minted := capacity - avail
		if avail == 0 {
			return nil
		}
		free, err := countFreeUnits(ctx, tx, eventID, tier, s.now())
		if err != nil {
			return err
		}
		target := max(int64(s.poolSize), need)
		if free >= target {
			return nil
		}
		k := min(avail, target-free)
		for done := int64(0); done < k; {
			n := min(k-done, unitMintBatch)
			args := make([]any, 0, 3*n)
			for i := int64(1); i <= n; i++ {
				args = append(args, eventID, tier, unitID(tier, minted+done+i))
			}
			query := "INSERT INTO ga_units (event_id, tier, unit_id, status) VALUES " +
				strings.Repeat("(?, ?, ?, 'available'), ", int(n)-1) + "(?, ?, ?, 'available')"
			if _, err := tx.Exec(ctx, query, args...); err != nil {
				return fmt.Errorf("mint units: %w", err)
			}
			done += n
		}
		if _, err := tx.Exec(ctx, "UPDATE ga_tiers SET available = available - ? WHERE event_id = ? AND tier = ?", k, eventID, tier); err != nil {
			return fmt.Errorf("count minted units: %w", err)
		}
		added, left = k, avail-k
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("refill tier %s of %s: %w", tier, eventID, err)
	}
	s.noteUnminted(eventID, tier, left)
	return added, nil
}

// noteUnminted refreshes the minting hint of a tier from its counter (units not minted yet).
func (s *SkipLocked) noteUnminted(eventID, tier string, avail int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.tiers[[2]string{eventID, tier}]; t != nil {
		t.minted.Store(t.capacity - avail)
	}
}

// PrepareEvent mints the initial pool of every GA tier of e. It is idempotent.
func (s *SkipLocked) PrepareEvent(ctx context.Context, e Event) error {
	for _, t := range e.Tiers {
		if _, err := s.refill(ctx, tagSweeper, e.ID, t.Name, 0); err != nil {
			return fmt.Errorf("prepare event %s: %w", e.ID, err)
		}
	}
	return nil
}

// Run tops up the pools of every tier that still has units to mint, every refill interval,
// and sweeps expired holds every Deps.SweepInterval, until ctx is done; then it returns nil.
// Errors of one pass are logged and the next pass tries again: neither is needed for
// correctness (claims mint on demand and take expired rows by the implicit-status rule), both
// keep claims on the short path.
func (s *SkipLocked) Run(ctx context.Context) error {
	refill := time.NewTicker(s.refillEvery)
	defer refill.Stop()
	sweep := time.NewTicker(s.sweepEvery)
	defer sweep.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-refill.C:
			if err := s.RefillAll(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("skip-locked: refill pools", "err", err)
			}
		case <-sweep.C:
			if _, err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("skip-locked: sweep expired holds", "err", err)
			}
		}
	}
}

// Sweep releases up to Deps.SweepBatch expired holds once: their seats and units that they
// still hold become available again (so claims find them on the 'available' side of the index)
// and the holds become expired. It returns how many holds it expired. It is safe beside holds
// and confirms: every change is conditional on the row still being held by an expired hold.
func (s *SkipLocked) Sweep(ctx context.Context) (int, error) {
	now := s.now()
	var ids []string
	err := s.db.Query(ctx, tagSweeper, fmt.Sprintf("SELECT id FROM holds WHERE status = 'held' AND expires_at <= ? ORDER BY expires_at LIMIT %d", s.sweepBatch),
		func(rows sqldb.Rows) error {
			for rows.Next() {
				var id string
				if err := rows.Scan(&id); err != nil {
					return err
				}
				ids = append(ids, id)
			}
			return nil
		}, now)
	if err != nil || len(ids) == 0 {
		if err != nil {
			err = fmt.Errorf("sweep: find expired holds: %w", err)
		}
		return 0, err
	}
	slices.Sort(ids)
	var n int64
	err = s.db.Tx(ctx, tagSweeper, func(tx sqldb.Tx) error {
		args := append(appendArgs(nil, ids), now)
		// Seats keep hold_id (the last holder), so an expired hold can still be booked only if
		// nobody held its seats since; GA units are interchangeable and forget it.
		if _, err := tx.Exec(ctx, "UPDATE seats SET status = 'available', expires_at = NULL WHERE hold_id IN ("+inList(len(ids))+") AND status = 'held' AND expires_at <= ?", args...); err != nil {
			return fmt.Errorf("free seats: %w", err)
		}
		if _, err := tx.Exec(ctx, "UPDATE ga_units SET status = 'available', hold_id = NULL, expires_at = NULL WHERE hold_id IN ("+inList(len(ids))+") AND status = 'held' AND expires_at <= ?", args...); err != nil {
			return fmt.Errorf("free ga_units: %w", err)
		}
		var err error
		n, err = tx.Exec(ctx, "UPDATE holds SET status = 'expired' WHERE id IN ("+inList(len(ids))+") AND status = 'held' AND expires_at <= ?", args...)
		if err != nil {
			return fmt.Errorf("expire holds: %w", err)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("sweep: %w", err)
	}
	return int(n), nil
}

// RefillAll tops up, once, the pool of every tier with units left to mint whose free units
// have fallen below half the pool size.
func (s *SkipLocked) RefillAll(ctx context.Context) error {
	var tiers [][2]string
	err := s.db.Query(ctx, tagSweeper, "SELECT event_id, tier FROM ga_tiers WHERE available > 0 ORDER BY event_id, tier", func(rows sqldb.Rows) error {
		for rows.Next() {
			var k [2]string
			if err := rows.Scan(&k[0], &k[1]); err != nil {
				return err
			}
			tiers = append(tiers, k)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("list tiers to refill: %w", err)
	}
	var errs []error
	for _, k := range tiers {
		free, err := countFreeUnits(ctx, sqldb.OnPool(s.db, tagSweeper), k[0], k[1], s.now())
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if free >= int64(s.poolSize)/2 {
			continue
		}
		if _, err := s.refill(ctx, tagSweeper, k[0], k[1], 0); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Confirm charges and books a hold; see the type's documentation for the order of events.
func (s *SkipLocked) Confirm(ctx context.Context, r ConfirmRequest) (Booking, error) {
	h, err := loadHold(ctx, sqldb.OnPool(s.db, tagCheckout), r.HoldID, false)
	if err != nil {
		return Booking{}, err
	}
	switch h.Status {
	case StatusSold:
		return alreadySold(ctx, s.store, h, r.BookingID)
	case StatusReleased:
		return Booking{}, fmt.Errorf("confirm %s: %s: %w", h.ID, h.Status, ErrHoldExpired)
	case StatusExpired:
		// A swept seat hold may still be booked while it is its seats' last holder; swept GA
		// units went back to the pool.
		if h.Tier != "" {
			return Booking{}, fmt.Errorf("confirm %s: %s: %w", h.ID, h.Status, ErrHoldExpired)
		}
	}
	if h.Status == StatusExpired || expired(h.Expires, s.now()) {
		ours, err := s.stillOurs(ctx, h)
		if err != nil {
			return Booking{}, err
		}
		if !ours {
			return Booking{}, fmt.Errorf("confirm %s: expired and taken: %w", h.ID, ErrHoldExpired)
		}
		h.Status = StatusExpired
	}
	var charge Charge
	if r.Charge != nil {
		if charge, err = r.Charge(ctx, h); err != nil {
			return Booking{}, fmt.Errorf("charge hold %s: %w", h.ID, err)
		}
	}
	b := Booking{
		ID: newBookingID(r.BookingID), HoldID: h.ID, EventID: h.EventID, Session: h.Session,
		Seats: h.Seats, Tier: h.Tier, Quantity: h.Quantity, Units: h.Units,
		ChargeID: charge.ID, AmountCents: h.AmountCents, Created: s.now(),
	}
	err = s.db.Tx(ctx, tagCheckout, func(tx sqldb.Tx) error {
		var n int64
		var err error
		if h.Tier != "" {
			n, err = tx.Exec(ctx, "UPDATE ga_units SET status = 'sold', booking_id = ? WHERE event_id = ? AND tier = ? AND unit_id IN ("+inList(len(h.Units))+") AND hold_id = ? AND status = 'held'",
				append(appendArgs([]any{b.ID, h.EventID, h.Tier}, h.Units), h.ID)...)
		} else {
			n, err = tx.Exec(ctx, "UPDATE seats SET status = 'sold', booking_id = ?, expires_at = NULL WHERE event_id = ? AND seat_id IN ("+inList(len(h.Seats))+") AND "+seatOursSQL,
				append(appendArgs([]any{b.ID, h.EventID}, h.Seats), h.ID)...)
		}
		if err != nil {
			return fmt.Errorf("claim sold rows: %w", err)
		}
		if n != int64(len(h.Seats)+len(h.Units)) {
			return errLostRows
		}
		if err := s.fp.Eval(ctx, failpoint.InConfirmTx); err != nil {
			return err
		}
		if err := markHoldSold(ctx, tx, h.ID, b.ID); err != nil {
			return err
		}
		return insertBooking(ctx, tx, b)
	})
	if err == nil {
		return b, nil
	}
	// The charge ran. Whatever failed, look at what the database holds now: a concurrent
	// confirm with the same booking id (or this one, if only the commit's answer was lost) may
	// have booked the hold.
	cur, lerr := loadHold(context.WithoutCancel(ctx), sqldb.OnPool(s.db, tagCheckout), h.ID, false)
	if lerr != nil {
		return Booking{}, fmt.Errorf("confirm %s: %w (and reading the hold back: %v)", h.ID, err, lerr)
	}
	if cur.Status == StatusSold && cur.BookingID == b.ID {
		return s.store.GetBooking(context.WithoutCancel(ctx), b.ID)
	}
	return Booking{}, fmt.Errorf("confirm %s after the charge: %v: %w", h.ID, err, ErrHoldLost)
}

// seatOursSQL selects seats a confirm of the hold given as its parameter may sell: the hold is
// the seat's last holder (held, expired or not, or given back by release or sweep with nobody
// holding it since) and the seat is not sold.
const seatOursSQL = "hold_id = ? AND status IN ('held', 'available')"

// errLostRows is an internal signal: the hold's seats or units are no longer all its own.
var errLostRows = errors.New("seats or units no longer held by the hold")

// stillOurs reports whether every seat or unit of an expired hold is still its own (nobody
// held them since it expired: seatOursSQL for seats, still held by it for units), so that it
// may still be booked.
func (s *SkipLocked) stillOurs(ctx context.Context, h Hold) (bool, error) {
	var n int
	var err error
	if h.Tier != "" {
		err = s.db.QueryRow(ctx, tagCheckout, "SELECT COUNT(*) FROM ga_units WHERE event_id = ? AND tier = ? AND unit_id IN ("+inList(len(h.Units))+") AND hold_id = ? AND status = 'held'",
			[]any{&n}, append(appendArgs([]any{h.EventID, h.Tier}, h.Units), h.ID)...)
	} else {
		err = s.db.QueryRow(ctx, tagCheckout, "SELECT COUNT(*) FROM seats WHERE event_id = ? AND seat_id IN ("+inList(len(h.Seats))+") AND "+seatOursSQL,
			[]any{&n}, append(appendArgs([]any{h.EventID}, h.Seats), h.ID)...)
	}
	if err != nil {
		return false, fmt.Errorf("check hold %s: %w", h.ID, err)
	}
	return n == len(h.Seats)+len(h.Units), nil
}

// Release gives the hold's seats or units back to the pool (only those it still holds) and
// marks it released. Releasing an expired or released hold is not an error; a sold hold is
// ErrHoldSold.
func (s *SkipLocked) Release(ctx context.Context, holdID string) error {
	return releaseHold(ctx, s.db, holdID, func(ctx context.Context, tx sqldb.Tx, h Hold) error {
		_, err := tx.Exec(ctx, "UPDATE ga_units SET status = 'available', hold_id = NULL, expires_at = NULL WHERE event_id = ? AND tier = ? AND unit_id IN ("+inList(len(h.Units))+") AND hold_id = ? AND status = 'held'",
			append(appendArgs([]any{h.EventID, h.Tier}, h.Units), h.ID)...)
		if err != nil {
			return fmt.Errorf("free units: %w", err)
		}
		return nil
	}, nil)
}

// Availability computes the seat map with the implicit-status rule and each tier's counts from
// its unit rows: sold units, units of unexpired holds, and the rest (free pool units plus what
// is not minted yet) available.
func (s *SkipLocked) Availability(ctx context.Context, eventID string) (Availability, error) {
	now := s.now()
	a, err := availability(ctx, s.db, eventID, now)
	if err != nil {
		return a, err
	}
	counts := map[string][2]int64{}
	err = s.db.Query(ctx, tagRead, `SELECT tier,
			SUM(CASE WHEN status = 'sold' THEN 1 ELSE 0 END),
			SUM(CASE WHEN status = 'held' AND expires_at > ? THEN 1 ELSE 0 END)
		FROM ga_units WHERE event_id = ? AND status <> 'available' GROUP BY tier`,
		func(rows sqldb.Rows) error {
			for rows.Next() {
				var tier string
				var sold, held int64
				if err := rows.Scan(&tier, &sold, &held); err != nil {
					return err
				}
				counts[tier] = [2]int64{sold, held}
			}
			return nil
		}, now, eventID)
	if err != nil {
		return a, fmt.Errorf("count units of %s: %w", eventID, err)
	}
	for i, t := range a.Tiers {
		c := counts[t.Name]
		t.Sold, t.Held = c[0], c[1]
		t.Available = t.Capacity - t.Sold - t.Held
		a.Tiers[i] = t
	}
	return a, nil
}
