package strategies

import (
	"context"
	"errors"
	"fmt"
	"sync"
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
	// flaw is FlawExpiredResold in the broken variant skip-locked-resold (broken.go).
	flaw Flaw

	mu    sync.Mutex
	tiers map[[2]string]*slTier // (event, tier) -> facts that never change, plus a minting hint
}

var (
	_ Strategy = (*SkipLocked)(nil)
	_ Preparer = (*SkipLocked)(nil)
	_ Runner   = (*SkipLocked)(nil)
)

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
	found, err := findExpiredHolds(ctx, s.db, now, s.sweepBatch)
	if err != nil || len(found) == 0 {
		return 0, err
	}
	var n int64
	err = s.db.Tx(ctx, tagSweeper, func(tx sqldb.Tx) error {
		// Seats keep hold_id (the last holder), so an expired hold can still be booked only if
		// nobody held its seats since; GA units are interchangeable and forget it.
		if where, args, ok := expiredRows(found, false); ok {
			if _, err := tx.Exec(ctx, "UPDATE seats SET status = 'available', expires_at = NULL WHERE "+where+" AND status = 'held' AND expires_at <= ?", append(args, now)...); err != nil {
				return fmt.Errorf("free seats: %w", err)
			}
		}
		if where, args, ok := expiredRows(found, true); ok {
			if _, err := tx.Exec(ctx, "UPDATE ga_units SET status = 'available', hold_id = NULL, expires_at = NULL WHERE "+where+" AND status = 'held' AND expires_at <= ?", append(args, now)...); err != nil {
				return fmt.Errorf("free ga_units: %w", err)
			}
		}
		ids := holdIDs(found)
		var err error
		n, err = tx.Exec(ctx, "UPDATE holds SET status = 'expired' WHERE id IN ("+inList(len(ids))+") AND status = 'held' AND expires_at <= ?", append(appendArgs(nil, ids), now)...)
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
