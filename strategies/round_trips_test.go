package strategies

import (
	"context"
	"errors"
	"testing"
	"time"

	"stampede/internal/sqldb"
)

// Operations whose statements and round trips are counted.
const (
	opHold    = "hold"
	opRelease = "release"
	opConfirm = "confirm"
	opSweep   = "sweep"
	// opRefuse is a hold of a seat another session holds: refused.
	opRefuse = "refuse"
)

// tripsOf runs fn and returns the statements and round trips it sent to db, over every tag.
// Nothing else may use db meanwhile.
func tripsOf(db sqldb.DB, fn func()) sqldb.Trips {
	before := totalTrips(db)
	fn()
	after := totalTrips(db)
	return sqldb.Trips{Statements: after.Statements - before.Statements, RoundTrips: after.RoundTrips - before.RoundTrips}
}

func totalTrips(db sqldb.DB) sqldb.Trips {
	var t sqldb.Trips
	for _, s := range db.Metrics().Snapshot() {
		t.Statements += s.Statements
		t.RoundTrips += s.RoundTrips
	}
	return t
}

// roundTrips is the table of round trips per uncontended single-seat operation, per strategy
// and database: what each costs, which TestRoundTrips holds them to, and beside it the least
// its idea needs (docs/performance.md prints both). A sweep is of one expired hold; a refusal
// is a hold of one seat that another hold holds.
//
// The minimum counts BEGIN and COMMIT where the idea needs a transaction of more than one
// exchange. On PostgreSQL every write can be one statement (data-modifying CTEs); a confirm also
// reads the hold before the charge. MySQL has no UPDATE ... RETURNING, but a batch
// (sqldb.Querier.Batch) sends START TRANSACTION, the statements, COMMIT and a read-back in one
// exchange when each statement decides from what the one before left: a hold and a release are
// one round trip there too, and so could a sweep be. Pessimistic's
// lock-and-decide (SELECT ... FOR UPDATE, the UPDATE that requires every locked seat free, the
// INSERT) is one statement or batch, so its hold is one round trip like the others'; its
// confirm with the charge inside the transaction is its idea. A refusal is one round trip
// too: the statement or batch that took nothing also read which seats were busy.
var roundTrips = map[string]map[string]map[string][2]int64{ // strategy -> dialect -> op -> {actual, minimum}
	"pessimistic": {
		"postgres": {opHold: {1, 1}, opRelease: {1, 1}, opConfirm: {9, 8}, opSweep: {5, 1}, opRefuse: {1, 1}},
		"mysql":    {opHold: {1, 1}, opRelease: {1, 1}, opConfirm: {9, 8}, opSweep: {5, 1}, opRefuse: {1, 1}},
	},
	"status-expiry": {
		"postgres": {opHold: {1, 1}, opRelease: {1, 1}, opConfirm: {7, 2}, opSweep: {5, 1}, opRefuse: {1, 1}},
		"mysql":    {opHold: {1, 1}, opRelease: {1, 1}, opConfirm: {7, 2}, opSweep: {5, 1}, opRefuse: {1, 1}},
	},
	"skip-locked": {
		"postgres": {opHold: {1, 1}, opRelease: {1, 1}, opConfirm: {7, 2}, opSweep: {5, 1}, opRefuse: {1, 1}},
		"mysql":    {opHold: {1, 1}, opRelease: {1, 1}, opConfirm: {7, 2}, opSweep: {5, 1}, opRefuse: {1, 1}},
	},
	"redis-lock": {
		"postgres": {opHold: {0, 0}, opRelease: {0, 0}, opConfirm: {6, 2}, opSweep: {0, 0}, opRefuse: {0, 0}},
		"mysql":    {opHold: {0, 0}, opRelease: {0, 0}, opConfirm: {6, 2}, opSweep: {0, 0}, opRefuse: {0, 0}},
	},
}

// TestRoundTrips: each strategy's uncontended single-seat hold, release, confirm and sweep of
// one expired hold cost exactly the round trips of the table, on each database.
func TestRoundTrips(t *testing.T) {
	forEachSafe(t, 4, func(t *testing.T, su *suite, name string) {
		got := measureTrips(t, su, name)
		for _, op := range []string{opHold, opRefuse, opRelease, opConfirm, opSweep} {
			want, ok := roundTrips[name][su.dialect][op]
			// One line per operation for bench/strategies.sh: strategy, database, operation,
			// statements, round trips, the idea's minimum.
			t.Logf("trips\t%s\t%s\t%s\t%d\t%d\t%d", name, su.dialect, op, got[op].Statements, got[op].RoundTrips, want[1])
			if !ok {
				t.Errorf("%s on %s: no round trips for %s in the table", name, su.dialect, op)
				continue
			}
			if got[op].RoundTrips != want[0] {
				t.Errorf("%s on %s: %s took %d round trips, want %d", name, su.dialect, op, got[op].RoundTrips, want[0])
			}
		}
	})
}

// measureTrips runs each operation once, alone on the suite's database, and returns what it sent.
func measureTrips(tb testing.TB, su *suite, name string) map[string]sqldb.Trips {
	f := su.build(tb, name, conformanceEvent(), nil)
	ctx := context.Background()
	out := map[string]sqldb.Trips{}
	var h Hold
	var err error
	out[opHold] = tripsOf(su.db, func() { h, err = f.hold("rt", "A-1-1") })
	if err != nil {
		tb.Fatalf("hold: %v", err)
	}
	out[opRefuse] = tripsOf(su.db, func() { _, err = f.hold("rt2", "A-1-1") })
	if !errors.Is(err, ErrUnavailable) {
		tb.Fatalf("hold of a held seat: %v, want ErrUnavailable", err)
	}
	out[opRelease] = tripsOf(su.db, func() { err = f.s.Release(ctx, h.ID) })
	if err != nil {
		tb.Fatalf("release: %v", err)
	}
	h = f.mustHold("rt", "A-1-2")
	var ch countingCharge
	out[opConfirm] = tripsOf(su.db, func() { _, err = f.s.Confirm(ctx, ConfirmRequest{HoldID: h.ID, Charge: ch.fn}) })
	if err != nil {
		tb.Fatalf("confirm: %v", err)
	}
	if sw, ok := f.s.(sweeper); ok {
		if _, err := f.holdTTL(time.Second, "rt", "A-1-3"); err != nil {
			tb.Fatalf("hold: %v", err)
		}
		f.clock.Advance(2 * time.Second)
		var n int
		out[opSweep] = tripsOf(su.db, func() { n, err = sw.Sweep(ctx) })
		if err != nil || n < 1 {
			tb.Fatalf("sweep = %d, %v; want the expired hold swept", n, err)
		}
	}
	return out
}
