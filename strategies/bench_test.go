package strategies

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"stampede/internal/sqldb"
	"stampede/internal/testsvc"
)

// BenchmarkHold measures single-seat holds of distinct random seats on a large event, in
// parallel (16 goroutines per CPU over a pool of 32 connections), for every safe strategy that
// builds, on each database. Nothing is released: every hold takes a fresh seat, so the figure
// is the uncontended hold path under concurrency. It reports holds/s and the p99 latency in
// milliseconds. Compare with BenchmarkHoldPeer from the same run:
//
//	go test -run '^$' -bench 'BenchmarkHold' -benchtime 3000x ./strategies/
func BenchmarkHold(b *testing.B) {
	_, rdb := testsvc.RedisClient(b)
	dbs := map[string]sqldb.DB{}
	for _, dialect := range testsvc.Dialects {
		dbs[dialect] = openBenchDB(b, dialect)
	}
	for _, name := range Safe() {
		b.Run(name, func(b *testing.B) {
			for _, dialect := range testsvc.Dialects {
				b.Run(dialect, func(b *testing.B) { benchHold(b, name, Deps{DB: dbs[dialect], Redis: rdb}) })
			}
		})
	}
	// The same holds on MySQL with every hold in a batch of its own (Deps.HoldGroups < 0):
	// what sharing batches gives, in the same run.
	for _, name := range groupedStrategies {
		b.Run(name+"-alone", func(b *testing.B) {
			b.Run("mysql", func(b *testing.B) { benchHold(b, name, Deps{DB: dbs["mysql"], HoldGroups: -1}) })
		})
	}
}

func benchHold(b *testing.B, name string, d Deps) {
	ctx := context.Background()
	db := d.DB
	s := newBenchStrategyWith(b, name, d)
	ev, seats := benchEvent(b, db)
	prepareBench(b, s, ev)
	runParallel(b, db, seats, func(seat string) error {
		_, err := s.Hold(ctx, HoldRequest{EventID: ev.ID, Session: "bench", Seats: []string{seat}})
		return err
	})
}

// BenchmarkHoldPeer is the database's own ceiling for the core of a hold, measured the same
// way: one autocommitted conditional UPDATE of a distinct random seat per operation, through
// sqldb, at the same parallelism, over a pool as warm as the strategies' (openBenchDB).
func BenchmarkHoldPeer(b *testing.B) {
	const update = "UPDATE seats SET status = 'held', hold_id = 'peer', expires_at = ? WHERE event_id = ? AND seat_id = ? AND status = 'available'"
	for _, dialect := range testsvc.Dialects {
		b.Run(dialect, func(b *testing.B) {
			db := openBenchDB(b, dialect)
			ctx := context.Background()
			ev, seats := benchEvent(b, db)
			exp := time.Now().Add(time.Hour).UTC().Truncate(time.Microsecond)
			// Every connection has run the statement once (on no row): PostgreSQL's prepared
			// statement is cached per connection, and a strategy's is warm after its first holds.
			warmPool(b, db, func(q sqldb.Querier) error {
				_, err := q.Exec(ctx, update, exp, "", "")
				return err
			})
			runParallel(b, db, seats, func(seat string) error {
				n, err := db.Exec(ctx, tagHold, update, exp, ev.ID, seat)
				if err == nil && n != 1 {
					return ErrUnavailable
				}
				return err
			})
		})
	}
}

// benchConns is the pool size of the hold benchmarks.
const benchConns = 32

// openBenchDB opens a pool of benchConns connections to dialect and opens every one of them
// (warmPool), so that no benchmark's timed part pays for connecting: 32 connections opened
// during a thousand holds were a third of the peer's time on PostgreSQL.
func openBenchDB(b *testing.B, dialect string) sqldb.DB {
	db := openDB(b, dialect, benchConns)
	warmPool(b, db, func(q sqldb.Querier) error {
		var one int64
		return q.QueryRow(context.Background(), "SELECT 1", []any{&one})
	})
	return db
}

// warmPool runs fn on every connection of db's pool, holding all of them at once so that each
// call gets a connection of its own.
func warmPool(b *testing.B, db sqldb.DB, fn func(sqldb.Querier) error) {
	b.Helper()
	var held, wg sync.WaitGroup
	held.Add(benchConns)
	errs := make(chan error, benchConns)
	for range benchConns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- db.Conn(context.Background(), tagHold, func(q sqldb.Querier) error {
				err := fn(q)
				held.Done()
				held.Wait()
				return err
			})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			b.Fatalf("warm the pool: %v", err)
		}
	}
}

// benchEvent creates an event with at least b.N seats (30x40 sections) and returns its seat
// ids in a seeded random order.
func benchEvent(b *testing.B, db sqldb.DB) (Event, []string) {
	b.Helper()
	ev := Event{ID: newID("bench_"), Name: "Bench"}
	for i := 0; i*1200 < b.N; i++ {
		ev.Sections = append(ev.Sections, Section{Name: "S" + strconv.Itoa(i), Rows: 30, SeatsPerRow: 40})
	}
	ev, _, err := NewStore(db, nil).CreateEvent(context.Background(), ev)
	if err != nil {
		b.Fatalf("CreateEvent: %v", err)
	}
	var seats []string
	for _, sec := range ev.Sections {
		for r := 1; r <= sec.Rows; r++ {
			for n := 1; n <= sec.SeatsPerRow; n++ {
				seats = append(seats, SeatID(sec.Name, r, n))
			}
		}
	}
	rng := rand.New(rand.NewPCG(42, uint64(b.N)))
	rng.Shuffle(len(seats), func(i, j int) { seats[i], seats[j] = seats[j], seats[i] })
	return ev, seats
}

// runParallel runs op on b.N distinct seats from 16 goroutines per CPU, fails the benchmark
// when any op fails, and reports holds/s, the p99 latency in milliseconds, and the statements
// and round trips per hold that db counted (reportTrips).
func runParallel(b *testing.B, db sqldb.DB, seats []string, op func(seat string) error) {
	runParallelAs(b, "holds/s", db, seats, op)
}

// runParallelAs is runParallel reporting the rate in unit.
func runParallelAs(b *testing.B, unit string, db sqldb.DB, seats []string, op func(seat string) error) {
	before := totalTrips(db)
	var next, failed atomic.Int64
	var firstErr atomic.Value
	var mu sync.Mutex
	var lat []time.Duration
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		mine := make([]time.Duration, 0, 256)
		for pb.Next() {
			seat := seats[next.Add(1)-1]
			t0 := time.Now()
			err := op(seat)
			mine = append(mine, time.Since(t0))
			if err != nil && failed.Add(1) == 1 {
				firstErr.Store(err)
			}
		}
		mu.Lock()
		lat = append(lat, mine...)
		mu.Unlock()
	})
	b.StopTimer()
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d of %d holds of distinct free seats failed, first: %v", n, b.N, firstErr.Load())
	}
	slices.Sort(lat)
	p99 := lat[min(len(lat)-1, len(lat)*99/100)]
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), unit)
	b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
	b.ReportMetric(0, "ns/op")
	reportTrips(b, db, before)
}

// reportTrips reports the statements and round trips per operation that db counted since
// before (a totalTrips of it).
func reportTrips(b *testing.B, db sqldb.DB, before sqldb.Trips) {
	after := totalTrips(db)
	b.ReportMetric(float64(after.Statements-before.Statements)/float64(b.N), "stmts/op")
	b.ReportMetric(float64(after.RoundTrips-before.RoundTrips)/float64(b.N), "trips/op")
}

// BenchmarkHoldParts takes a MySQL hold of one seat apart, measured like BenchmarkHold on one
// pool: the conditional UPDATE autocommitted (update); the same UPDATE in a batch's START
// TRANSACTION and COMMIT, with a read-back of the seat by its key (update-in-tx); that batch
// with the hold row's INSERT ... SELECT and a read-back of the hold by its key instead
// (update-insert-in-tx: status-expiry's batch); and skip-locked's, which first counts the
// seat locked with SKIP LOCKED (lock-update-insert-in-tx). Each step's rate against the one
// before it is what that step costs:
//
//	go test -run '^$' -bench 'BenchmarkHoldParts' -benchtime 3000x ./strategies/
func BenchmarkHoldParts(b *testing.B) {
	db := openBenchDB(b, "mysql")
	ctx := context.Background()
	parts := []struct {
		name         string
		lock, insert bool
	}{{"update-in-tx", false, false}, {"update-insert-in-tx", false, true}, {"lock-update-insert-in-tx", true, true}}
	b.Run("update", func(b *testing.B) {
		ev, seats := benchEvent(b, db)
		runParallel(b, db, seats, func(seat string) error {
			now := time.Now()
			n, err := db.Exec(ctx, tagHold, fmt.Sprintf(batchTakeSeats, "?"), newID("h_"), dbTime(now.Add(time.Hour)), ev.ID, seat, dbTime(now))
			if err == nil && n != 1 {
				return ErrUnavailable
			}
			return err
		})
	})
	for _, p := range parts {
		b.Run(p.name, func(b *testing.B) {
			ev, seats := benchEvent(b, db)
			runParallel(b, db, seats, func(seat string) error {
				return db.Conn(ctx, tagHold, func(q sqldb.Querier) error {
					if p.insert {
						lock := ""
						if p.lock {
							lock = lockSeatsSkipLocked
						}
						_, err := holdSeatsBatch(ctx, q, lock, HoldRequest{EventID: ev.ID, Session: "bench", Seats: []string{seat}, TTL: time.Hour}, dbTime(time.Now()))
						return err
					}
					now, id := time.Now(), newID("h_")
					var seatID string
					return q.Batch(ctx, []sqldb.Stmt{
						{SQL: fmt.Sprintf(batchTakeSeats, "?"), Args: []any{id, dbTime(now.Add(time.Hour)), ev.ID, seat, dbTime(now)}},
						{SQL: "SELECT seat_id FROM seats WHERE event_id = ? AND seat_id = ? AND hold_id = ?", Args: []any{ev.ID, seat, id}}}, sqldb.Row(&seatID))
				})
			})
		})
	}
}
