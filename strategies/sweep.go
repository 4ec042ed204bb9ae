package strategies

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"stampede/internal/sqldb"
)

// sweep releases up to batch expired holds in one pass: their seats (still held by them)
// become available and the holds expired; expired GA holds are reclaimed tier by tier. It
// returns how many holds it expired. Concurrent sweeps and holds are safe: every change is
// conditional on the hold still being held and expired.
func sweep(ctx context.Context, db sqldb.DB, now time.Time, batch int) (int, error) {
	var seatHolds []string
	tiers := map[[2]string]bool{}
	err := db.Query(ctx, tagSweeper, "SELECT id, event_id, tier FROM holds WHERE status = ? AND expires_at <= ? ORDER BY expires_at LIMIT "+strconv.Itoa(batch),
		func(rows sqldb.Rows) error {
			for rows.Next() {
				var id, event, tier string
				if err := rows.Scan(&id, &event, &tier); err != nil {
					return err
				}
				if tier == "" {
					seatHolds = append(seatHolds, id)
				} else {
					tiers[[2]string{event, tier}] = true
				}
			}
			return nil
		}, StatusHeld, now)
	if err != nil {
		return 0, fmt.Errorf("sweep: find expired holds: %w", err)
	}
	total := 0
	if len(seatHolds) > 0 {
		slices.Sort(seatHolds)
		err := db.Tx(ctx, tagSweeper, func(tx sqldb.Tx) error {
			// The seats keep hold_id (the last holder), so a hold that expired can be booked
			// later only if nobody held its seats after it.
			args := appendArgs([]any{SeatAvailable}, seatHolds)
			args = append(args, SeatHeld, now)
			if _, err := tx.Exec(ctx, "UPDATE seats SET status = ?, expires_at = NULL WHERE hold_id IN ("+inList(len(seatHolds))+") AND status = ? AND expires_at <= ?", args...); err != nil {
				return fmt.Errorf("free seats: %w", err)
			}
			args = appendArgs([]any{StatusExpired}, seatHolds)
			args = append(args, StatusHeld, now)
			n, err := tx.Exec(ctx, "UPDATE holds SET status = ? WHERE id IN ("+inList(len(seatHolds))+") AND status = ? AND expires_at <= ?", args...)
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
