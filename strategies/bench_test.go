package strategies

import (
	"context"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

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
		dbs[dialect] = openDB(b, dialect, 32)
	}
	for _, name := range Safe() {
		b.Run(name, func(b *testing.B) {
			for _, dialect := range testsvc.Dialects {
				b.Run(dialect, func(b *testing.B) { benchHold(b, name, dbs[dialect], rdb) })
			}
		})
	}
}

func benchHold(b *testing.B, name string, db sqldb.DB, rdb *redis.Client) {
	ctx := context.Background()
	s := newBenchStrategy(b, name, db, rdb)
	ev, seats := benchEvent(b, db)
	prepareBench(b, s, ev)
	runParallel(b, db, seats, func(seat string) error {
		_, err := s.Hold(ctx, HoldRequest{EventID: ev.ID, Session: "bench", Seats: []string{seat}})
		return err
	})
}

// BenchmarkHoldPeer is the database's own ceiling for the core of a hold, measured the same
// way: one autocommitted conditional UPDATE of a distinct random seat per operation, through
// sqldb, at the same parallelism.
func BenchmarkHoldPeer(b *testing.B) {
	for _, dialect := range testsvc.Dialects {
		b.Run(dialect, func(b *testing.B) {
			db := openDB(b, dialect, 32)
			ctx := context.Background()
			ev, seats := benchEvent(b, db)
			exp := time.Now().Add(time.Hour).UTC().Truncate(time.Microsecond)
			runParallel(b, db, seats, func(seat string) error {
				n, err := db.Exec(ctx, tagHold, "UPDATE seats SET status = 'held', hold_id = 'peer', expires_at = ? WHERE event_id = ? AND seat_id = ? AND status = 'available'",
					exp, ev.ID, seat)
				if err == nil && n != 1 {
					return ErrUnavailable
				}
				return err
			})
		})
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
