package strategies

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"stampede/internal/sqldb"
)

// sweep releases up to batch expired holds in one pass: their seats (still held by them)
// become available and the holds expired; expired GA holds are reclaimed tier by tier. It
// returns how many holds it expired. Concurrent sweeps and holds are safe: every change is
// conditional on the hold still being held and expired.
func sweep(ctx context.Context, db sqldb.DB, now time.Time, batch int) (int, error) {
	found, err := findExpiredHolds(ctx, db, now, batch)
	if err != nil {
		return 0, err
	}
	var seatHolds []expiredHold
	tiers := map[[2]string]bool{}
	for _, h := range found {
		if h.tier == "" {
			seatHolds = append(seatHolds, h)
		} else {
			tiers[[2]string{h.event, h.tier}] = true
		}
	}
	total := 0
	if len(seatHolds) > 0 {
		err := db.Tx(ctx, tagSweeper, func(tx sqldb.Tx) error {
			// The seats keep hold_id (the last holder), so a hold that expired can be booked
			// later only if nobody held its seats after it.
			if where, args, ok := expiredRows(seatHolds, false); ok {
				args = append([]any{SeatAvailable}, args...)
				args = append(args, SeatHeld, now)
				if _, err := tx.Exec(ctx, "UPDATE seats SET status = ?, expires_at = NULL WHERE "+where+" AND status = ? AND expires_at <= ?", args...); err != nil {
					return fmt.Errorf("free seats: %w", err)
				}
			}
			ids := holdIDs(seatHolds)
			args := appendArgs([]any{StatusExpired}, ids)
			args = append(args, StatusHeld, now)
			n, err := tx.Exec(ctx, "UPDATE holds SET status = ? WHERE id IN ("+inList(len(ids))+") AND status = ? AND expires_at <= ?", args...)
			total = int(n)
			return err
		})
		if err != nil {
			return 0, fmt.Errorf("sweep: %w", err)
		}
	}
	for key := range tiers {
		var n int
		err := db.Tx(ctx, tagSweeper, func(tx sqldb.Tx) error {
			if _, err := lockTier(ctx, tx, key[0], key[1]); err != nil {
				return err
			}
			var err error
			_, n, err = reclaimExpiredGA(ctx, tx, key[0], key[1], now)
			return err
		})
		if err != nil {
			return total, fmt.Errorf("sweep tier %s of %s: %w", key[1], key[0], err)
		}
		total += n
	}
	return total, nil
}

// expiredHold is a hold a sweep found held and expired, with the seats or units it holds.
type expiredHold struct {
	id, event, tier string
	seats, units    []string
}

// findExpiredHolds returns up to batch held holds expired by now, the longest expired first,
// through the holds table's own index on (status, expires_at).
func findExpiredHolds(ctx context.Context, db sqldb.DB, now time.Time, batch int) ([]expiredHold, error) {
	var found []expiredHold
	err := db.Query(ctx, tagSweeper, "SELECT id, event_id, tier, seats, units FROM holds WHERE status = ? AND expires_at <= ? ORDER BY expires_at LIMIT "+strconv.Itoa(batch),
		func(rows sqldb.Rows) error {
			for rows.Next() {
				var h expiredHold
				var seats, units string
				if err := rows.Scan(&h.id, &h.event, &h.tier, &seats, &units); err != nil {
					return err
				}
				h.seats, h.units = decodeList(seats), decodeList(units)
				found = append(found, h)
			}
			return nil
		}, StatusHeld, now)
	if err != nil {
		return nil, fmt.Errorf("sweep: find expired holds: %w", err)
	}
	return found, nil
}

// holdIDs returns the ids of holds, sorted.
func holdIDs(holds []expiredHold) []string {
	ids := make([]string, len(holds))
	for i, h := range holds {
		ids[i] = h.id
	}
	slices.Sort(ids)
	return ids
}

// expiredRows returns the condition, and its arguments, that picks the rows that holds still
// hold: their seats (or, with units, their GA units) by primary key, event by event (and tier
// by tier), and among those the rows whose hold_id is one of the holds. Neither seats nor
// ga_units has an index on hold_id: a hold's rows are always found through the list its hold
// row keeps, since a row only ever carries the id of a hold that listed it. ok is false when
// the holds list no such row.
func expiredRows(holds []expiredHold, units bool) (where string, args []any, ok bool) {
	groups := map[[2]string][]string{}
	for _, h := range holds {
		key, ids := [2]string{h.event}, h.seats
		if units {
			key[1], ids = h.tier, h.units
		}
		groups[key] = append(groups[key], ids...)
	}
	keys := slices.Collect(maps.Keys(groups))
	slices.SortFunc(keys, func(a, b [2]string) int { return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1])) })
	var b strings.Builder
	b.WriteString("(")
	n := 0
	for _, k := range keys {
		ids := groups[k]
		if len(ids) == 0 {
			continue
		}
		slices.Sort(ids)
		ids = slices.Compact(ids)
		if n > 0 {
			b.WriteString(" OR ")
		}
		n++
		args = append(args, k[0])
		if units {
			b.WriteString("(event_id = ? AND tier = ? AND unit_id IN (" + inList(len(ids)) + "))")
			args = append(args, k[1])
		} else {
			b.WriteString("(event_id = ? AND seat_id IN (" + inList(len(ids)) + "))")
		}
		args = appendArgs(args, ids)
	}
	ids := holdIDs(holds)
	b.WriteString(") AND hold_id IN (" + inList(len(ids)) + ")")
	return b.String(), appendArgs(args, ids), n > 0
}

// Sweep releases up to the configured batch of expired holds once, with the strategy's clock,
// and returns how many it expired. Run calls it periodically; tests call it directly.
func (b *sqlBase) Sweep(ctx context.Context) (int, error) {
	return sweep(ctx, b.db, b.now(), b.sweepBatch)
}

// Run sweeps every Deps.SweepInterval until ctx is done, then returns nil. A failed sweep is
// logged and retried at the next tick: a lagging sweeper never makes a seat unsellable, since
// holds and availability apply the implicit-status rule.
func (b *sqlBase) Run(ctx context.Context) error {
	t := time.NewTicker(b.sweepEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		// A full batch means more may be waiting: sweep again at once, a bounded number of
		// times per tick, so a backlog drains without starving the pool.
		for range 10 {
			n, err := b.Sweep(ctx)
			if err != nil {
				if ctx.Err() == nil {
					b.log.Warn("sweep expired holds", "strategy", b.name, "err", err)
				}
				break
			}
			if n > 0 {
				b.log.Debug("swept expired holds", "strategy", b.name, "holds", n)
			}
			if n < b.sweepBatch {
				break
			}
		}
	}
}
