package strategies

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"stampede/internal/sqldb"
)

// tierRow is a general-admission tier's counter row. Available + Held + Sold == Capacity, where
// Held still counts expired holds until they are reclaimed (lazily by the next hold that finds
// the tier short, or by a sweep).
type tierRow struct {
	Capacity, PriceCents, Available, Held, Sold int64
}

// lockTier reads a tier's counters and locks the row for tx (ErrTierNotFound, ErrEventNotFound).
func lockTier(ctx context.Context, tx sqldb.Querier, eventID, tier string) (tierRow, error) {
	var t tierRow
	err := tx.QueryRow(ctx, "SELECT capacity, price_cents, available, held, sold FROM ga_tiers WHERE event_id = ? AND tier = ? FOR UPDATE",
		[]any{&t.Capacity, &t.PriceCents, &t.Available, &t.Held, &t.Sold}, eventID, tier)
	if errors.Is(err, sqldb.ErrNoRows) {
		return t, missingTier(ctx, tx, eventID, tier)
	}
	if err != nil {
		return t, fmt.Errorf("lock tier %s: %w", tier, err)
	}
	return t, nil
}

// reclaimBatch bounds the expired holds one reclaim returns to a tier.
const reclaimBatch = 1000

// reclaimExpiredGA marks up to reclaimBatch of the tier's expired, still-counted holds expired
// and moves their units from held to available. tx must hold the tier row's lock (lockTier),
// which is taken before the holds rows, in the fixed table order. It returns the units moved
// and the number of holds they came from.
func reclaimExpiredGA(ctx context.Context, tx sqldb.Querier, eventID, tier string, now time.Time) (int64, int, error) {
	var ids []string
	var sum int64
	err := tx.Query(ctx, "SELECT id, quantity FROM holds WHERE event_id = ? AND tier = ? AND status = ? AND expires_at <= ? ORDER BY id LIMIT "+strconv.Itoa(reclaimBatch)+" FOR UPDATE",
		func(rows sqldb.Rows) error {
			for rows.Next() {
				var id string
				var q int64
				if err := rows.Scan(&id, &q); err != nil {
					return err
				}
				ids = append(ids, id)
				sum += q
			}
			return nil
		}, eventID, tier, StatusHeld, now)
	if err != nil {
		return 0, 0, fmt.Errorf("find expired holds of tier %s: %w", tier, err)
	}
	if len(ids) == 0 {
		return 0, 0, nil
	}
	if _, err := tx.Exec(ctx, "UPDATE holds SET status = ? WHERE id IN ("+inList(len(ids))+")", appendArgs([]any{StatusExpired}, ids)...); err != nil {
		return 0, 0, fmt.Errorf("expire holds of tier %s: %w", tier, err)
	}
	if _, err := tx.Exec(ctx, "UPDATE ga_tiers SET available = available + ?, held = held - ? WHERE event_id = ? AND tier = ?",
		sum, sum, eventID, tier); err != nil {
		return 0, 0, fmt.Errorf("return expired units of tier %s: %w", tier, err)
	}
	return sum, len(ids), nil
}

// takeGAFromLocked takes q units of a locked tier for a hold: from the available count,
// reclaiming expired holds first when it is short. ErrSoldOut when even then too few are left.
func takeGAFromLocked(ctx context.Context, tx sqldb.Querier, eventID, tier string, t tierRow, q int64, now time.Time) error {
	if t.Available < q {
		n, _, err := reclaimExpiredGA(ctx, tx, eventID, tier, now)
		if err != nil {
			return err
		}
		if t.Available+n < q {
			return fmt.Errorf("tier %s: %d left, %d asked: %w", tier, t.Available+n, q, ErrSoldOut)
		}
	}
	if _, err := tx.Exec(ctx, "UPDATE ga_tiers SET available = available - ?, held = held + ? WHERE event_id = ? AND tier = ?",
		q, q, eventID, tier); err != nil {
		return fmt.Errorf("hold units of tier %s: %w", tier, err)
	}
	return nil
}

// ensureUnits makes sure a GA hold whose units are no longer counted as held (reclaimed after
// expiry, or released) can still be sold from the available count, reclaiming other expired
// holds when the tier is short. t is the locked tier row; its Available is updated. A hold still
// counted as held needs nothing.
func ensureUnits(ctx context.Context, tx sqldb.Querier, h Hold, t *tierRow, now time.Time) (bool, error) {
	q := int64(h.Quantity)
	if h.Status == StatusHeld || t.Available >= q {
		return true, nil
	}
	n, _, err := reclaimExpiredGA(ctx, tx, h.EventID, h.Tier, now)
	if err != nil {
		return false, err
	}
	t.Available += n
	t.Held -= n
	return t.Available >= q, nil
}

// sellGA moves a GA hold's units to sold in a transaction that holds the tier row's lock and the
// hold row's: from held when the hold still counts them (status held, expired or not), from
// available when it was reclaimed or released. It reports false, changing nothing, when the
// units are no longer there to sell.
func sellGA(ctx context.Context, tx sqldb.Querier, h Hold, t tierRow, now time.Time) (bool, error) {
	ok, err := ensureUnits(ctx, tx, h, &t, now)
	if err != nil || !ok {
		return false, err
	}
	q := int64(h.Quantity)
	query := "UPDATE ga_tiers SET held = held - ?, sold = sold + ? WHERE event_id = ? AND tier = ?"
	if h.Status != StatusHeld {
		query = "UPDATE ga_tiers SET available = available - ?, sold = sold + ? WHERE event_id = ? AND tier = ?"
	}
	if _, err := tx.Exec(ctx, query, q, q, h.EventID, h.Tier); err != nil {
		return false, fmt.Errorf("sell units of tier %s: %w", h.Tier, err)
	}
	return true, nil
}

// tierFree is how many units of a tier can be held at now by the implicit-status rule:
// capacity, minus sold, minus the units of unexpired holds.
func tierFree(ctx context.Context, q sqldb.Querier, eventID, tier string, now time.Time) (int64, error) {
	var capacity, sold, held int64
	err := q.QueryRow(ctx, "SELECT capacity, sold FROM ga_tiers WHERE event_id = ? AND tier = ?", []any{&capacity, &sold}, eventID, tier)
	if errors.Is(err, sqldb.ErrNoRows) {
		return 0, missingTier(ctx, q, eventID, tier)
	}
	if err != nil {
		return 0, fmt.Errorf("read tier %s: %w", tier, err)
	}
	err = q.QueryRow(ctx, "SELECT COALESCE(SUM(quantity), 0) FROM holds WHERE event_id = ? AND tier = ? AND status = ? AND expires_at > ?",
		[]any{&held}, eventID, tier, StatusHeld, now)
	if err != nil {
		return 0, fmt.Errorf("read holds of tier %s: %w", tier, err)
	}
	return capacity - sold - held, nil
}
