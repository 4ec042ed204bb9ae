package strategies

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

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
	// takeSeatsLocked is pessimistic's idea in one statement: lock every requested seat in
	// seat order (waiting for other holds), decide on what the locks show, and take them only
	// when all of them are free.
	takeSeatsLocked = `WITH locked AS (
	SELECT seat_id, ` + seatFreeSQL + ` AS free FROM seats WHERE event_id = ? AND seat_id IN (%[1]s)
	ORDER BY seat_id FOR UPDATE),
taken AS (
	UPDATE seats s SET status = 'held', hold_id = ?, expires_at = ?
	FROM locked WHERE s.event_id = ? AND s.seat_id = locked.seat_id AND (SELECT COUNT(*) FROM locked WHERE free) = ?
	RETURNING s.price_cents)`
	// holdInsertTail counts what was taken, inserts the hold when it is all of it, and returns
	// the count, the amount and how many of the requested seats exist. That last count is a
	// subquery PostgreSQL runs only when the CASE needs it (an InitPlan is evaluated at its
	// first use): a hold that took every seat does not look the seats up again.
	holdInsertTail = `,
agg AS (SELECT COUNT(*) AS n, COALESCE(SUM(price_cents), 0) AS amount FROM taken),
ins AS (
	INSERT INTO holds (id, event_id, session, seats, tier, quantity, units, amount_cents, status, expires_at, ttl_ms, token, created_at)
	SELECT CAST(? AS VARCHAR), CAST(? AS VARCHAR), CAST(? AS VARCHAR), CAST(? AS TEXT), '', 0, '', agg.amount, 'held',
		CAST(? AS TIMESTAMPTZ), CAST(? AS BIGINT), 0, CAST(? AS TIMESTAMPTZ)
	FROM agg WHERE agg.n = CAST(? AS BIGINT)
	RETURNING 1)
SELECT agg.n, agg.amount, CASE WHEN agg.n = CAST(? AS BIGINT) THEN agg.n ELSE (SELECT COUNT(*) FROM seats WHERE event_id = ? AND seat_id IN (%[1]s)) END,
	CASE WHEN agg.n = CAST(? AS BIGINT) THEN '' ELSE %[2]s END,
	CASE WHEN agg.n = 0 OR agg.n = CAST(? AS BIGINT) THEN 0 ELSE 1 / (agg.n - agg.n) END
FROM agg`
	// The busy seats a hold that took nothing returns (holdInsertTail's fourth column, seat ids
	// in order, comma-separated), so that its caller may refuse without another look: none for
	// status-expiry, whose refusal names every requested seat; for skip-locked, those held or
	// sold in the committed state the statement reads (its snapshot), which is the look at the
	// committed state that decides a short claim (SkipLocked.holdSeats); for pessimistic, those
	// its locks found busy.
	busyNone       = "''"
	busySkipLocked = "(SELECT COALESCE(string_agg(seat_id, ',' ORDER BY seat_id), '') FROM seats WHERE event_id = ? AND seat_id IN (%[1]s) AND NOT " + seatFreeSQL + ")"
	busyLocked     = "(SELECT COALESCE(string_agg(seat_id, ',' ORDER BY seat_id), '') FROM locked WHERE NOT free)"
)

// shortError is errShort (errors.Is matches it) from a hold of seats that took none of them,
// with what the hold read of its seats in the same exchange: how many of them exist, and which
// are busy (held by a live hold, or sold). A caller may decide from it without another look.
type shortError struct {
	found int64
	busy  []string
}

func (e *shortError) Error() string        { return errShort.Error() }
func (e *shortError) Is(target error) bool { return target == errShort }

// shortOf returns what err says of a hold's seats when it is a shortError, and whether it is.
func shortOf(err error) (*shortError, bool) {
	var se *shortError
	ok := errors.As(err, &se)
	return se, ok
}

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

// batchHold reports whether a hold of reserved seats may run as one batch (holdSeatsBatch): on
// MySQL, under the same condition as oneStatementHold.
func batchHold(db sqldb.DB, fp *failpoint.Set) bool {
	return db.Dialect() == sqldb.MySQL && !fp.Armed(failpoint.InHoldTx)
}

// MySQL has no data-modifying CTE, so a hold there is a batch (sqldb.Querier.Batch): statements
// sent in one round trip, each deciding from what the one before it left. The conditional
// UPDATE takes the free seats; the INSERT ... SELECT writes the hold row only when the seats
// now carrying the new hold's id are all of those requested; the last statement reads the hold
// back, so a hold row (and its amount) means the hold was taken. Skip-locked and pessimistic
// first lock the seats they may take (lockSeatsSkipLocked, lockSeatsAll) and count and price
// them into session variables: the UPDATE requires the count to be all of them, so it takes
// every seat or none, and the hold row is written from those variables (batchInsertLocked).
// Status-expiry's lone UPDATE can take some seats of a multi-seat hold and not
// others: its batch is all-or-nothing only for one seat, or inside a transaction that rolls
// back when no hold row came back.
const (
	lockSeatsSkipLocked = "SELECT COUNT(*), COALESCE(SUM(price_cents), 0) INTO @stampede_locked, @stampede_amount FROM seats WHERE event_id = ? AND seat_id IN (%[1]s) AND " +
		seatFreeSQL + " FOR UPDATE SKIP LOCKED"
	// lockSeatsAll locks every requested seat, in the primary key's (seat-id) order, and counts
	// the free ones.
	lockSeatsAll = "SELECT COALESCE(SUM(" + seatFreeSQL + "), 0), COALESCE(SUM(price_cents), 0) INTO @stampede_locked, @stampede_amount FROM seats WHERE event_id = ? AND seat_id IN (%[1]s) FOR UPDATE"
	// lockedAll is the UPDATE's extra condition after a lock statement.
	lockedAll      = " AND @stampede_locked = ?"
	batchTakeSeats = "UPDATE seats SET status = 'held', hold_id = ?, expires_at = ? WHERE event_id = ? AND seat_id IN (%[1]s) AND " + seatFreeSQL
	// batchInsertHold writes the hold row after status-expiry's lone UPDATE: only when every
	// requested seat now carries the new hold's id.
	batchInsertHold = `INSERT INTO holds (id, event_id, session, seats, tier, quantity, units, amount_cents, status, expires_at, ttl_ms, token, created_at)
	SELECT ?, ?, ?, ?, '', 0, '', COALESCE(SUM(price_cents), 0), 'held', ?, ?, 0, ?
	FROM seats WHERE event_id = ? AND seat_id IN (%[1]s) AND hold_id = ? HAVING COUNT(*) = ?`
	// batchInsertLocked writes the hold row after a lock statement, from what that statement
	// counted and priced: every requested seat locked and free means the UPDATE took them all,
	// so it reads no seat row again.
	batchInsertLocked = `INSERT INTO holds (id, event_id, session, seats, tier, quantity, units, amount_cents, status, expires_at, ttl_ms, token, created_at)
	SELECT ?, ?, ?, ?, '', 0, '', @stampede_amount, 'held', ?, ?, 0, ? FROM DUAL WHERE @stampede_locked = ?`
	// batchReadHold reads the hold back (NULL when the batch took nothing), with how many of
	// the requested seats exist and those busy (shortError). Outside a transaction it runs after
	// the batch's COMMIT, so the seats are read as committed, without a lock.
	batchReadHold = `SELECT (SELECT amount_cents FROM holds WHERE id = ?), COUNT(*),
	COALESCE(GROUP_CONCAT(IF(NOT ` + seatFreeSQL + `, seat_id, NULL) ORDER BY seat_id SEPARATOR ','), '')
	FROM seats WHERE event_id = ? AND seat_id IN (%[1]s)`
)

// holdSeatsAlone runs holdSeatsBatch as a transaction of its own, on a connection held for the
// hold, with the clock read once it is held. A hold of one seat shares its batch with
// concurrent ones when it may (holdGroups.hold). A deadlock or lock wait timeout left nothing
// behind: it is errShort too, and the caller's transaction decides again.
func holdSeatsAlone(ctx context.Context, b *sqlBase, lock string, r HoldRequest) (Hold, error) {
	var h Hold
	var err error
	if len(r.Seats) == 1 && b.groups != nil && groupable(r) {
		h, err = b.groups.hold(ctx, lock, r)
	} else {
		err = b.db.Conn(ctx, tagHold, func(q sqldb.Querier) (err error) {
			h, err = holdSeatsBatch(ctx, q, lock, r, b.now())
			return err
		})
	}
	if sqldb.Retryable(err) {
		err = errShort
	}
	return h, err
}

// holdSeatsBatch takes r's seats and inserts the hold in one round trip on q: DB.Conn's
// querier, where the batch is a transaction of its own, or a transaction's. lock is
// lockSeatsSkipLocked, lockSeatsAll or "" (status-expiry: then q must be a transaction's when
// r has more than one seat). It returns the hold when every seat was taken, and a shortError
// when the batch took none (or, inside a transaction, some: its rollback gives them back).
func holdSeatsBatch(ctx context.Context, q sqldb.Querier, lock string, r HoldRequest, now time.Time) (Hold, error) {
	h := newHold(r, now)
	want := int64(len(h.Seats))
	list := inList(len(h.Seats))
	var stmts []sqldb.Stmt
	take := sqldb.Stmt{SQL: fmt.Sprintf(batchTakeSeats, list), Args: appendArgs([]any{h.ID, h.Expires, h.EventID}, h.Seats)}
	take.Args = append(take.Args, now)
	ins := sqldb.Stmt{Args: []any{h.ID, h.EventID, h.Session, encodeList(h.Seats), h.Expires, h.TTL.Milliseconds(), now}}
	if lock == "" {
		ins.SQL = fmt.Sprintf(batchInsertHold, list)
		ins.Args = appendArgs(append(ins.Args, h.EventID), h.Seats)
		ins.Args = append(ins.Args, h.ID, want)
	} else {
		args := appendArgs([]any{h.EventID}, h.Seats)
		if lock == lockSeatsAll {
			args = appendArgs([]any{now, h.EventID}, h.Seats)
		} else {
			args = append(args, now)
		}
		stmts = append(stmts, sqldb.Stmt{SQL: fmt.Sprintf(lock, list), Args: args})
		take.SQL += lockedAll
		take.Args = append(take.Args, want)
		ins.SQL = batchInsertLocked
		ins.Args = append(ins.Args, want)
	}
	read := sqldb.Stmt{SQL: fmt.Sprintf(batchReadHold, list), Args: appendArgs([]any{h.ID, now, h.EventID}, h.Seats)}
	stmts = append(stmts, take, ins, read)
	var amount *int64
	var found int64
	var busy string
	if err := q.Batch(ctx, stmts, sqldb.Row(&amount, &found, &busy)); err != nil {
		return Hold{}, fmt.Errorf("take seats: %w", err)
	}
	if amount == nil {
		return h, &shortError{found: found, busy: decodeList(busy)}
	}
	h.AmountCents = *amount
	return h, nil
}

// holdSeatsOneStatement takes r's seats and inserts the hold in one PostgreSQL statement, with
// take (takeSeatsUpdate, takeSeatsSkipLocked or takeSeatsLocked) choosing the seats. It returns
// the hold when every seat was taken; otherwise nothing changed and the error is a shortError
// (no seat taken, all of them exist; with the busy seats of skip-locked's and pessimistic's
// statements) or errExplain.
func holdSeatsOneStatement(ctx context.Context, b *sqlBase, take string, r HoldRequest) (Hold, error) {
	var h Hold
	err := b.db.Conn(ctx, tagHold, func(q sqldb.Querier) error {
		now := b.now()
		h = newHold(r, now)
		want := int64(len(h.Seats))
		list := inList(len(h.Seats))
		// args are take's, then the tail's; busy is the tail's busy-seats column, with busyArgs.
		var args, busyArgs []any
		busy := busyNone
		switch take {
		case takeSeatsSkipLocked:
			args = appendArgs([]any{h.EventID}, h.Seats)
			args = append(args, now, h.ID, h.Expires, h.EventID, want)
			busy = strings.ReplaceAll(busySkipLocked, "%[1]s", list)
			busyArgs = append(appendArgs([]any{h.EventID}, h.Seats), now)
		case takeSeatsLocked:
			args = appendArgs([]any{now, h.EventID}, h.Seats)
			args = append(args, h.ID, h.Expires, h.EventID, want)
			busy = busyLocked
		default:
			args = appendArgs([]any{h.ID, h.Expires, h.EventID}, h.Seats)
			args = append(args, now)
		}
		args = append(args, h.ID, h.EventID, h.Session, encodeList(h.Seats), h.Expires, h.TTL.Milliseconds(), now, want, want, h.EventID)
		args = appendArgs(args, h.Seats)
		args = append(append(append(args, want), busyArgs...), want)
		var n, amount, exist, guard int64
		var busyList string
		err := q.QueryRow(ctx, fmt.Sprintf(take+holdInsertTail, list, busy), []any{&n, &amount, &exist, &busyList, &guard}, args...)
		var pe *pgconn.PgError
		switch {
		case errors.As(err, &pe) && pe.Code == "22012", // division_by_zero: the guard
			sqldb.Retryable(err): // a deadlock: the statement changed nothing
			return errExplain
		case err != nil:
			return fmt.Errorf("take seats: %w", err)
		case n == want:
			h.AmountCents = amount
			return nil
		case exist < want:
			return errExplain
		}
		return &shortError{found: exist, busy: decodeList(busyList)}
	})
	return h, err
}
