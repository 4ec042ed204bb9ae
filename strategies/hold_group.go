package strategies

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"stampede/internal/sqldb"
)

// On MySQL every statement costs the server more than the row it writes: it is parsed,
// planned and run on its own, and a transaction's START TRANSACTION and COMMIT are two more.
// A single-seat hold's batch (holdSeatsBatch) is four or five statements for two rows, so on a
// busy server the statements, not the rows, are the limit. Concurrent single-seat holds of one
// event therefore share a batch: one transaction takes every member's seat with one UPDATE,
// writes every member's hold row with one INSERT ... SELECT, commits, and reads back which
// holds were written, as one round trip. Each member decides by itself, as in a batch of its
// own: the UPDATE takes a member's seat only when it is free (and, for skip-locked, claimed;
// pessimistic first locks every seat of the batch), and a hold row is written only for a
// member whose seat now carries its hold's id. So a member's outcome is the one its own batch
// would have had, taken at the shared COMMIT, which lies within every member's call.
//
// Batches form by themselves, without a timer: a hold that finds fewer than Deps.HoldGroups
// batches in flight starts a runner at once, which takes every queued hold of the same event
// and lock (up to HoldGroupMax) and keeps going while holds are queued. When the runners are
// all busy, holds queue behind them, and the next batch takes them together. Under light load
// a hold runs alone, with the latency of its own batch; under a herd the batches grow, and the
// statements per hold fall.

// HoldGroupMax is the most holds one batch takes, which bounds the length of its statements.
const HoldGroupMax = 16

// DefaultHoldGroups is how many batches of single-seat holds may run at once on MySQL when
// Deps.HoldGroups is 0.
const DefaultHoldGroups = 2

// holdGroups queues single-seat holds of one strategy for shared batches (see above).
type holdGroups struct {
	db  sqldb.DB
	now func() time.Time // the strategy's clock, read once a batch's connection is held
	max int              // batches in flight at once

	mu       sync.Mutex
	queue    []*groupedHold
	inflight int

	// batches and members count the batches run and the holds they took.
	batches, members atomic.Int64
}

// groupedHold is one hold waiting in a holdGroups queue, and where its outcome goes.
type groupedHold struct {
	ctx  context.Context
	lock string
	r    HoldRequest
	done chan groupedResult // buffered: a runner never waits for a caller that gave up
}

type groupedResult struct {
	h   Hold
	err error
}

// newHoldGroups returns the batcher of a strategy on db, or nil when batches are off (n < 0)
// or db is not MySQL (PostgreSQL's single-seat hold is one statement already).
func newHoldGroups(db sqldb.DB, now func() time.Time, n int) *holdGroups {
	if n < 0 || db.Dialect() != sqldb.MySQL {
		return nil
	}
	return &holdGroups{db: db, now: now, max: n}
}

// maxGroupedTTL is the longest hold lifetime a shared batch takes: far inside the years a
// DATETIME holds.
const maxGroupedTTL = 100 * 365 * 24 * time.Hour

// groupable reports whether r, a checked hold of one seat, may share a batch: whether nothing
// in it can make the database refuse a statement (text that is not UTF-8, an expiry past what
// a DATETIME holds), which would fail every hold of the batch. Such a hold runs alone.
func groupable(r HoldRequest) bool {
	return utf8.ValidString(r.Session) && utf8.ValidString(r.Seats[0]) && utf8.ValidString(r.EventID) && r.TTL <= maxGroupedTTL
}

// hold runs r, a hold of one seat, in a shared batch and returns what holdSeatsBatch would:
// the hold, or a shortError when its seat was not taken. lock is as holdSeatsBatch's. A ctx
// that ends while r is queued takes it out of the queue; one that ends while its batch runs
// leaves the outcome unknown to the caller, as a cancelled statement does.
func (g *holdGroups) hold(ctx context.Context, lock string, r HoldRequest) (Hold, error) {
	m := &groupedHold{ctx: ctx, lock: lock, r: r, done: make(chan groupedResult, 1)}
	g.mu.Lock()
	g.queue = append(g.queue, m)
	if g.inflight < g.max {
		g.inflight++
		go g.run()
	}
	g.mu.Unlock()
	select {
	case res := <-m.done:
		return res.h, res.err
	case <-ctx.Done():
		g.mu.Lock()
		if i := slices.Index(g.queue, m); i >= 0 {
			g.queue = slices.Delete(g.queue, i, i+1)
		}
		g.mu.Unlock()
		return Hold{}, ctx.Err()
	}
}

// run takes batches off the queue until it is empty.
func (g *holdGroups) run() {
	for {
		g.mu.Lock()
		batch := g.take()
		if len(batch) == 0 {
			g.inflight--
			g.mu.Unlock()
			return
		}
		g.mu.Unlock()
		g.runBatch(batch)
	}
}

// take removes the next batch from the queue: the first hold whose caller still waits, and
// the queued holds of the same event and lock after it, up to HoldGroupMax. g.mu is held.
func (g *holdGroups) take() []*groupedHold {
	var batch []*groupedHold
	rest := g.queue[:0]
	for _, m := range g.queue {
		switch {
		case m.ctx.Err() != nil:
			m.done <- groupedResult{err: m.ctx.Err()}
		case len(batch) == 0 || (len(batch) < HoldGroupMax && m.lock == batch[0].lock && m.r.EventID == batch[0].r.EventID):
			batch = append(batch, m)
		default:
			rest = append(rest, m)
		}
	}
	clear(g.queue[len(rest):])
	g.queue = rest
	return batch
}

// runBatch runs one batch and hands each member its outcome. The batch's statements run under
// a context of their own, which ends at the latest of the members' deadlines: no member's
// cancellation undoes the others' holds.
func (g *holdGroups) runBatch(batch []*groupedHold) {
	g.batches.Add(1)
	g.members.Add(int64(len(batch)))
	ctx, cancel := batchContext(batch)
	defer cancel()
	var holds []memberHold
	err := g.db.Conn(ctx, tagHold, func(q sqldb.Querier) (err error) {
		holds, err = holdSeatsGroup(ctx, q, batch[0].lock, batch, dbTime(g.now()))
		return err
	})
	for i, m := range batch {
		if err != nil {
			m.done <- groupedResult{err: err}
			continue
		}
		m.done <- groupedResult{h: holds[i].Hold, err: holds[i].err}
	}
}

// batchContext is the context of a batch: without the members' cancellation, with the latest
// of their deadlines when every member has one.
func batchContext(batch []*groupedHold) (context.Context, context.CancelFunc) {
	var last time.Time
	for _, m := range batch {
		d, ok := m.ctx.Deadline()
		if !ok {
			return context.WithCancel(context.WithoutCancel(batch[0].ctx))
		}
		if d.After(last) {
			last = d
		}
	}
	return context.WithDeadline(context.WithoutCancel(batch[0].ctx), last)
}

// The statements of a shared batch, for k members and one event. Seat and hold ids go in
// literal lists, so that the seats' and holds' primary keys find the rows and the columns'
// collation decides every comparison. Where two members ask for the same seat, each CASE
// takes the first: the first member's hold is written and the other finds the seat busy.
const (
	// groupClaimSkipLocked is skip-locked's claim: it locks the batch's free seats that no
	// transaction in flight has locked, and sets @stampede_claim<i> when member i's seat is
	// among them (%[2]s). The UPDATE names a member's seat only under its variable: a user
	// variable is a constant for the statement, so the optimizer drops the seats not claimed
	// before it looks for rows, and the UPDATE never waits for another transaction's lock.
	groupClaimSkipLocked = "SELECT %[2]s FROM seats WHERE event_id = ? AND seat_id IN (%[1]s) AND " +
		seatFreeSQL + " FOR UPDATE SKIP LOCKED"
	// groupLockAll is pessimistic's lock: every seat of the batch, in the primary key's order.
	groupLockAll = "SELECT COUNT(*) INTO @stampede_locked FROM seats WHERE event_id = ? AND seat_id IN (%[1]s) FOR UPDATE"
	// groupTake gives each free seat its member's hold id and expiry (%[2]s and %[3]s are the
	// CASE arms, %[1]s the seats: an IN list, or skip-locked's claimed seats).
	groupTake = "UPDATE seats SET status = 'held', hold_id = CASE seat_id %[2]s END, expires_at = CASE seat_id %[3]s END WHERE event_id = ? AND %[1]s AND " +
		seatFreeSQL
	// groupInsert writes a hold row for every seat that now carries a member's hold id, with
	// that member's session and lifetime (%[2]s and %[3]s, CASE arms over the hold id).
	groupInsert = `INSERT INTO holds (id, event_id, session, seats, tier, quantity, units, amount_cents, status, expires_at, ttl_ms, token, created_at)
	SELECT hold_id, event_id, CASE hold_id %[2]s END, seat_id, '', 0, '', price_cents, 'held', expires_at, CASE hold_id %[3]s END, 0, ?
	FROM seats WHERE event_id = ? AND seat_id IN (%[1]s) AND hold_id IN (%[4]s)`
	// groupRead reads, after the COMMIT, the hold rows written ('h', id, amount) and the state
	// of every seat of the batch ('s', seat, 1 when busy).
	groupRead = `SELECT 'h', id, amount_cents FROM holds WHERE id IN (%[2]s)
	UNION ALL SELECT 's', seat_id, NOT ` + seatFreeSQL + ` FROM seats WHERE event_id = ? AND seat_id IN (%[1]s)`
)

// memberHold is one member's outcome in holdSeatsGroup: its hold, or err.
type memberHold struct {
	Hold
	err error
}

// holdSeatsGroup runs batch, single-seat holds of one event, as one batch on q (DB.Conn's
// querier: the batch is a transaction of its own), with lock as holdSeatsBatch's. It returns
// each member's hold, in batch order, with a shortError for a member whose seat was not taken.
func holdSeatsGroup(ctx context.Context, q sqldb.Querier, lock string, batch []*groupedHold, now time.Time) ([]memberHold, error) {
	k := len(batch)
	out := make([]memberHold, k)
	seats := make([]any, 0, k)
	ids := make([]any, 0, k)
	var takeArgs, expArgs, sessionArgs, ttlArgs []any
	for i, m := range batch {
		h := newHold(m.r, now)
		out[i].Hold = h
		seat := h.Seats[0]
		seats = append(seats, seat)
		ids = append(ids, h.ID)
		takeArgs = append(takeArgs, seat, h.ID)
		expArgs = append(expArgs, seat, h.Expires)
		sessionArgs = append(sessionArgs, h.ID, h.Session)
		ttlArgs = append(ttlArgs, h.ID, h.TTL.Milliseconds())
	}
	// Every CASE has one arm a member; every list one item a member.
	arms, list := strings.Repeat(" WHEN ? THEN ?", k), inList(k)
	eventID := batch[0].r.EventID
	concat := slices.Concat[[]any]
	var stmts []sqldb.Stmt
	where := "seat_id IN (" + list + ")"
	switch lock {
	case lockSeatsSkipLocked:
		var into, cols, claimed []string
		for i := range batch {
			into = append(into, fmt.Sprintf("@stampede_claim%d", i))
			cols = append(cols, "COALESCE(SUM(seat_id = ?), 0)")
			claimed = append(claimed, fmt.Sprintf("(seat_id = ? AND @stampede_claim%d > 0)", i))
		}
		claim := fmt.Sprintf(groupClaimSkipLocked, list, strings.Join(cols, ", ")+" INTO "+strings.Join(into, ", "))
		stmts = append(stmts, sqldb.Stmt{SQL: claim, Args: concat(seats, []any{eventID}, seats, []any{now})})
		where = "(" + strings.Join(claimed, " OR ") + ")"
	case lockSeatsAll:
		stmts = append(stmts, sqldb.Stmt{SQL: fmt.Sprintf(groupLockAll, list), Args: concat([]any{eventID}, seats)})
	}
	take := concat(takeArgs, expArgs, []any{eventID}, seats, []any{now})
	insert := concat(sessionArgs, ttlArgs, []any{now, eventID}, seats, ids)
	read := concat(ids, []any{now, eventID}, seats)
	stmts = append(stmts,
		sqldb.Stmt{SQL: fmt.Sprintf(groupTake, where, arms, arms), Args: take},
		sqldb.Stmt{SQL: fmt.Sprintf(groupInsert, list, arms, arms, list), Args: insert},
		sqldb.Stmt{SQL: fmt.Sprintf(groupRead, list, list), Args: read},
	)
	amounts := make(map[string]int64, k)
	busy := make(map[string]bool, k)
	err := q.Batch(ctx, stmts, func(rows sqldb.Rows) error {
		for rows.Next() {
			var kind, id string
			var n int64
			if err := rows.Scan(&kind, &id, &n); err != nil {
				return err
			}
			if kind == "h" {
				amounts[id] = n
			} else {
				busy[id] = n != 0
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("take seats: %w", err)
	}
	for i := range out {
		if amount, ok := amounts[out[i].ID]; ok {
			out[i].AmountCents = amount
			continue
		}
		seat := out[i].Seats[0]
		b, found := busy[seat]
		se := &shortError{}
		if found {
			se.found = 1
		}
		if b {
			se.busy = []string{seat}
		}
		out[i].err = se
	}
	return out, nil
}
