package strategies

import (
	"context"
	"fmt"

	"stampede/internal/sqldb"
)

// release gives a hold's seats or units back (the shared Release of the SQL strategies that
// count GA units on the tier row): the tier row is locked first, and a GA hold's units return
// from held to available once the hold is marked released.
func (b *sqlBase) release(ctx context.Context, holdID string) error {
	return releaseHold(ctx, b.db, holdID,
		func(ctx context.Context, tx sqldb.Tx, h Hold) error {
			_, err := lockTier(ctx, tx, h.EventID, h.Tier)
			return err
		},
		func(ctx context.Context, tx sqldb.Tx, h Hold) error {
			if _, err := tx.Exec(ctx, "UPDATE ga_tiers SET available = available + ?, held = held - ? WHERE event_id = ? AND tier = ?",
				h.Quantity, h.Quantity, h.EventID, h.Tier); err != nil {
				return fmt.Errorf("return units: %w", err)
			}
			return nil
		})
}

// releaseHold is Release for every SQL strategy: in one transaction, the seats a held hold
// still holds become available and the hold becomes released. The seats keep hold_id, the last
// holder: only that hold may still book them (seatRow.ownedBy), and an available seat's hold_id
// is never reported as a holder. A GA hold's units belong to the strategy: freeUnits runs first,
// before the holds row changes (the fixed table order: seats or units, holds), and unitsFreed,
// when not nil, runs only when this call is the one that marked the hold released. An expired
// or released hold is not an error; a sold one is ErrHoldSold.
func releaseHold(ctx context.Context, db sqldb.DB, holdID string, freeUnits, unitsFreed func(context.Context, sqldb.Tx, Hold) error) error {
	if done, err := releaseSeatsOneStatement(ctx, db, holdID); done {
		return err
	}
	h, err := loadHold(ctx, sqldb.OnPool(db, tagHold), holdID, false)
	if err != nil {
		return err
	}
	switch h.Status {
	case StatusSold:
		return fmt.Errorf("release %s: %w", holdID, ErrHoldSold)
	case StatusReleased, StatusExpired:
		return nil
	}
	err = db.Tx(ctx, tagHold, func(tx sqldb.Tx) error {
		if h.Tier != "" {
			if err := freeUnits(ctx, tx, h); err != nil {
				return err
			}
		} else {
			_, err := tx.Exec(ctx, "UPDATE seats SET status = ?, expires_at = NULL WHERE event_id = ? AND seat_id IN ("+inList(len(h.Seats))+") AND hold_id = ? AND status = ?",
				append(appendArgs([]any{SeatAvailable, h.EventID}, h.Seats), h.ID, SeatHeld)...)
			if err != nil {
				return fmt.Errorf("free seats: %w", err)
			}
		}
		n, err := tx.Exec(ctx, "UPDATE holds SET status = ? WHERE id = ? AND status = ?", StatusReleased, h.ID, StatusHeld)
		if err != nil {
			return fmt.Errorf("mark released: %w", err)
		}
		if n == 0 {
			cur, err := loadHold(ctx, tx, h.ID, false)
			if err != nil {
				return err
			}
			if cur.Status == StatusSold {
				return ErrHoldSold
			}
			return nil
		}
		if h.Tier != "" && unitsFreed != nil {
			return unitsFreed(ctx, tx, h)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("release %s: %w", holdID, err)
	}
	return nil
}

// releaseSeatsStatement releases a held hold of reserved seats in one PostgreSQL statement, in
// the fixed table order: the seats it still holds first (the hold's update waits for theirs,
// through the scalar subquery), then the hold. It returns whether the hold was released, and
// the hold's status and tier as they were when the statement began (empty when there is none).
const releaseSeatsStatement = `WITH h0 AS (SELECT event_id, seats FROM holds WHERE id = ? AND status = 'held' AND tier = ''),
s AS (
	UPDATE seats SET status = 'available', expires_at = NULL FROM h0
	WHERE seats.event_id = h0.event_id AND seats.seat_id = ANY(string_to_array(h0.seats, ',')) AND seats.hold_id = ? AND seats.status = 'held'
	RETURNING 1),
h AS (UPDATE holds SET status = 'released' WHERE id = ? AND status = 'held' AND tier = '' AND (SELECT COUNT(*) FROM s) >= 0 RETURNING 1)
SELECT (SELECT COUNT(*) FROM h), COALESCE((SELECT status FROM holds WHERE id = ?), ''), COALESCE((SELECT tier FROM holds WHERE id = ?), '')`

// releaseSeatsBatch is releaseSeatsStatement for MySQL, a batch (sqldb.Querier.Batch) in the
// same table order: the seats the hold still holds, then the hold when it is a held hold of
// seats, then what it was. A seat held with the hold's id is one the hold still holds: only a
// held hold of seats leaves its id on held seats (a sold hold's are sold, a released or swept
// one's available, and a GA hold's id is on no seat). The seats are found by primary key, from
// the event and the seat list of the hold row (seats has no index on hold_id): a plain read
// of the row, which takes no lock and cannot miss (the list never changes), into session
// variables that the aggregates set on every run, to NULL when there is no such hold; JSON_TABLE
// turns the comma-separated list (seat ids are letters, digits and dashes) into rows.
var releaseSeatsBatch = []string{
	"SELECT MAX(event_id), MAX(seats) INTO @stampede_release_event, @stampede_release_seats FROM holds WHERE id = ?",
	`UPDATE seats s JOIN JSON_TABLE(CONCAT('["', REPLACE(@stampede_release_seats, ',', '","'), '"]'), '$[*]' COLUMNS (seat_id VARCHAR(32) PATH '$')) j
	ON s.event_id = @stampede_release_event AND s.seat_id = j.seat_id
	SET s.status = 'available', s.expires_at = NULL WHERE s.hold_id = ? AND s.status = 'held'`,
	"UPDATE holds SET status = 'released' WHERE id = ? AND status = 'held' AND tier = ''",
	"SET @stampede_released = ROW_COUNT()",
	"SELECT @stampede_released, COALESCE((SELECT status FROM holds WHERE id = ?), ''), COALESCE((SELECT tier FROM holds WHERE id = ?), '')",
}

// releaseSeatsOneStatement is Release of a hold of seats in one round trip: one statement on
// PostgreSQL, a batch on MySQL. done is false when that cannot decide alone (a GA hold, or a
// held hold that changed while it waited): then nothing changed and the transaction decides.
func releaseSeatsOneStatement(ctx context.Context, db sqldb.DB, holdID string) (done bool, err error) {
	var n int64
	var status, tier string
	dest := []any{&n, &status, &tier}
	if db.Dialect() == sqldb.Postgres {
		err = db.QueryRow(ctx, tagHold, releaseSeatsStatement, dest, holdID, holdID, holdID, holdID, holdID)
	} else {
		args := [][]any{{holdID}, {holdID}, {holdID}, nil, {holdID, holdID}}
		stmts := make([]sqldb.Stmt, len(releaseSeatsBatch))
		for i, q := range releaseSeatsBatch {
			stmts[i] = sqldb.Stmt{SQL: q, Args: args[i]}
		}
		err = sqldb.OnPool(db, tagHold).Batch(ctx, stmts, sqldb.Row(dest...))
	}
	switch {
	case sqldb.Retryable(err):
		return false, nil // a deadlock undid it: the transaction decides
	case err != nil:
		return true, fmt.Errorf("release %s: %w", holdID, err)
	case n == 1:
		return true, nil
	case status == "":
		return true, fmt.Errorf("hold %s: %w", holdID, ErrHoldNotFound)
	case tier != "" || status == StatusHeld:
		return false, nil
	case status == StatusSold:
		return true, fmt.Errorf("release %s: %w", holdID, ErrHoldSold)
	}
	return true, nil // released or expired already
}
