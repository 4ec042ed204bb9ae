package strategies

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"time"

	"stampede/internal/sqldb"
)

// slTier is what SkipLocked remembers of a tier: its price and capacity, which never change,
// and how many units have been minted, a hint for where a claim starts (refreshed whenever the
// counter is read, so a stale value only makes claims start less evenly).
type slTier struct {
	price    int64
	capacity int64
	minted   atomic.Int64
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

// claimUnits locks up to q free units of a tier in tx and returns their ids: first free units
// from a random start in the minted range onwards, then those before it, then units of expired
// holds. With wait it scans from the first unit and waits for locked rows instead of skipping
// them, so that waiting claimers lock in one order and cannot deadlock one another; units of
// expired holds are always skipped when locked.
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
		// Units of expired holds are always claimed with SKIP LOCKED, even by a waiting claim:
		// they lie anywhere in unit order, so waiting for them after the ordered scan above
		// could close a cycle with another claim (MariaDB reported it as a deadlock). A locked
		// one is being taken by a claim in flight, and afterShort still counts it as free.
		if err := tx.Query(ctx, base+"status = 'held' AND expires_at <= ?"+limit()+" FOR UPDATE SKIP LOCKED", scan, eventID, tier, now); err != nil {
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
