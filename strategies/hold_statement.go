package strategies

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"

	"stampede/internal/failpoint"
	"stampede/internal/sqldb"
)

// A hold of reserved seats on PostgreSQL is one statement: a data-modifying CTE takes the seats
// and inserts the hold row in the same atomic statement, so the hold costs one round trip
// instead of BEGIN, the statements and COMMIT. It runs outside any transaction (sqldb.DB.Conn),
// with the clock read once the connection is held.
//
// takeSeatsUpdate is status-expiry's idea: one conditional UPDATE takes every requested seat
// that is free by the implicit-status rule. When it takes some but not all of a multi-seat
// hold, the statement divides by zero, which aborts it and so undoes the seats it took; the
// caller then runs its transaction, which explains the refusal from inside (whyShort).
//
// takeSeatsSkipLocked is skip-locked's idea: the free seats are selected FOR UPDATE SKIP
// LOCKED, and the UPDATE changes them only when all of them came back, so a short claim changes
// nothing and the caller goes on to its look at the committed state.
const (
	takeSeatsUpdate = `WITH taken AS (
	UPDATE seats SET status = 'held', hold_id = ?, expires_at = ?
	WHERE event_id = ? AND seat_id IN (%[1]s) AND ` + seatFreeSQL + `
	RETURNING price_cents)`
	takeSeatsSkipLocked = `WITH cand AS (
	SELECT seat_id FROM seats WHERE event_id = ? AND seat_id IN (%[1]s) AND ` + seatFreeSQL + `
	ORDER BY seat_id FOR UPDATE SKIP LOCKED),
taken AS (
	UPDATE seats s SET status = 'held', hold_id = ?, expires_at = ?
	FROM cand WHERE s.event_id = ? AND s.seat_id = cand.seat_id AND (SELECT COUNT(*) FROM cand) = ?
	RETURNING s.price_cents)`
	// holdInsertTail counts what was taken, inserts the hold when it is all of it, and returns
	// the count, the amount and how many of the requested seats exist.
	holdInsertTail = `,
agg AS (SELECT COUNT(*) AS n, COALESCE(SUM(price_cents), 0) AS amount FROM taken),
ins AS (
	INSERT INTO holds (id, event_id, session, seats, tier, quantity, units, amount_cents, status, expires_at, ttl_ms, token, created_at)
	SELECT CAST(? AS VARCHAR), CAST(? AS VARCHAR), CAST(? AS VARCHAR), CAST(? AS TEXT), '', 0, '', agg.amount, 'held',
		CAST(? AS TIMESTAMPTZ), CAST(? AS BIGINT), 0, CAST(? AS TIMESTAMPTZ)
	FROM agg WHERE agg.n = CAST(? AS BIGINT)
	RETURNING 1)
SELECT agg.n, agg.amount, (SELECT COUNT(*) FROM seats WHERE event_id = ? AND seat_id IN (%[1]s)),
	CASE WHEN agg.n = 0 OR agg.n = CAST(? AS BIGINT) THEN 0 ELSE 1 / (agg.n - agg.n) END
FROM agg`
)

// errExplain is a one-statement hold that changed nothing and cannot say why by itself: it took
// some of its seats but not all (the statement was undone), or a seat or the event does not
// exist. The caller's transaction finds out.
var errExplain = errors.New("hold not taken in one statement")

// oneStatementHold reports whether a hold of reserved seats may run as one statement: on
// PostgreSQL, and while no failpoint is armed inside the hold transaction (which only the
// transaction has a place for).
func oneStatementHold(db sqldb.DB, fp *failpoint.Set) bool {
	return db.Dialect() == sqldb.Postgres && !fp.Armed(failpoint.InHoldTx)
}

// holdSeatsOneStatement takes r's seats and inserts the hold in one PostgreSQL statement, with
// take (takeSeatsUpdate or takeSeatsSkipLocked) choosing the seats. It returns the hold when
// every seat was taken; otherwise nothing changed and the error is errShort (no seat taken, all
// of them exist) or errExplain.
func holdSeatsOneStatement(ctx context.Context, b *sqlBase, take string, r HoldRequest) (Hold, error) {
	var h Hold
	err := b.db.Conn(ctx, tagHold, func(q sqldb.Querier) error {
		now := b.now()
		h = newHold(r, now)
		want := int64(len(h.Seats))
		var args []any
		if take == takeSeatsSkipLocked {
			args = appendArgs([]any{h.EventID}, h.Seats)
			args = append(args, now, h.ID, h.Expires, h.EventID, want)
		} else {
			args = appendArgs([]any{h.ID, h.Expires, h.EventID}, h.Seats)
			args = append(args, now)
		}
		args = append(args, h.ID, h.EventID, h.Session, encodeList(h.Seats), h.Expires, h.TTL.Milliseconds(), now, want, h.EventID)
		args = appendArgs(args, h.Seats)
		args = append(args, want)
		list := inList(len(h.Seats))
		var n, amount, exist, guard int64
		err := q.QueryRow(ctx, fmt.Sprintf(take+holdInsertTail, list), []any{&n, &amount, &exist, &guard}, args...)
		var pe *pgconn.PgError
		switch {
		case errors.As(err, &pe) && pe.Code == "22012": // division_by_zero: the guard
			return errExplain
		case err != nil:
			return fmt.Errorf("take seats: %w", err)
		case n == want:
			h.AmountCents = amount
			return nil
		case exist < want:
			return errExplain
		}
		return errShort
	})
	return h, err
}
