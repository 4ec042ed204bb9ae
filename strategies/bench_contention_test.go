package strategies

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"stampede/internal/sqldb"
	"stampede/internal/testsvc"
)

// The contended cases of make bench-strategies, beside BenchmarkHold (uncontended): every safe
// strategy on each database, 16 goroutines per CPU over a pool of 32 connections, as
// BenchmarkHold. bench/strategies.sh runs the database's own tools with the same statements
// and concurrency next to them.
//
//	go test -run '^$' -bench 'BenchmarkHotHold|BenchmarkGAHold' -benchtime 2000x ./strategies/

// hotSeats is the size of the hot set.
const hotSeats = 10

// BenchmarkHotHold: every operation tries to hold one seat of a hot set of ten, chosen at
// random, and releases it when it got it, so the ten seats are fought over all the time. It
// reports attempts/s, the share of attempts that won the seat, and the statements and round
// trips per attempt (the release of a won seat included).
func BenchmarkHotHold(b *testing.B) {
	forEachBenchStrategy(b, func(b *testing.B, s Strategy, db sqldb.DB, ev Event) {
		ctx := context.Background()
		rng := rand.New(rand.NewPCG(7, uint64(b.N)))
		seats := make([]string, b.N)
		for i := range seats {
			seats[i] = SeatID("S0", 1, rng.IntN(hotSeats)+1)
		}
		var won atomic.Int64
		runParallelAs(b, "attempts/s", db, seats, func(seat string) error {
			h, err := s.Hold(ctx, HoldRequest{EventID: ev.ID, Session: "bench", Seats: []string{seat}})
			if errors.Is(err, ErrUnavailable) {
				return nil
			}
			if err != nil {
				return err
			}
			won.Add(1)
			return s.Release(ctx, h.ID)
		})
		b.ReportMetric(float64(won.Load())/float64(b.N), "won")
	})
}

// BenchmarkGAHold: every operation holds one unit of one general-admission tier with room for
// all of them, so every hold meets the others on the same tier (the counter row, or the unit
// rows skip-locked claims with SKIP LOCKED). Nothing is released. It reports holds/s and the
// statements and round trips per hold.
func BenchmarkGAHold(b *testing.B) {
	forEachBenchStrategy(b, func(b *testing.B, s Strategy, db sqldb.DB, ev Event) {
		ctx := context.Background()
		runParallel(b, db, make([]string, b.N), func(string) error {
			_, err := s.Hold(ctx, HoldRequest{EventID: ev.ID, Session: "bench", Tier: "floor", Quantity: 1})
			return err
		})
	})
}

// forEachBenchStrategy runs fn for every safe strategy on each database, with an event of one
// row of 40 seats in section S0 and a tier floor with room for b.N units, prepared and with the
// strategy's background work (sweeper, unit minting) running.
func forEachBenchStrategy(b *testing.B, fn func(b *testing.B, s Strategy, db sqldb.DB, ev Event)) {
	_, rdb := testsvc.RedisClient(b)
	dbs := map[string]sqldb.DB{}
	for _, dialect := range testsvc.Dialects {
		dbs[dialect] = openBenchDB(b, dialect)
	}
	for _, name := range Safe() {
		b.Run(name, func(b *testing.B) {
			for _, dialect := range testsvc.Dialects {
				b.Run(dialect, func(b *testing.B) {
					s, ev := benchStrategy(b, name, dbs[dialect], rdb)
					fn(b, s, dbs[dialect], ev)
				})
			}
		})
	}
}

func benchStrategy(b *testing.B, name string, db sqldb.DB, rdb *redis.Client) (Strategy, Event) {
	s := newBenchStrategy(b, name, db, rdb)
	ev := Event{ID: newID("bench_"), Name: "Bench", Sections: []Section{{Name: "S0", Rows: 1, SeatsPerRow: 40}},
		Tiers: []Tier{{Name: "floor", Quantity: int64(b.N) + 1000}}}
	ev, _, err := NewStore(db, nil).CreateEvent(context.Background(), ev)
	if err != nil {
		b.Fatalf("CreateEvent: %v", err)
	}
	prepareBench(b, s, ev)
	if r, ok := s.(Runner); ok {
		rctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); _ = r.Run(rctx) }()
		b.Cleanup(func() { cancel(); <-done })
	}
	return s, ev
}

// newBenchStrategy builds the named strategy for a benchmark (hour-long holds, a Redis prefix of
// its own), closed when the benchmark ends; one not implemented yet skips it.
func newBenchStrategy(b *testing.B, name string, db sqldb.DB, rdb *redis.Client) Strategy {
	return newBenchStrategyWith(b, name, Deps{DB: db, Redis: rdb})
}

// newBenchStrategyWith is newBenchStrategy from d, with the benchmarks' key prefix and hold
// lifetime.
func newBenchStrategyWith(b *testing.B, name string, d Deps) Strategy {
	d.KeyPrefix, d.HoldTTL = "bench:"+newID("")+":", time.Hour
	s, err := New(name, d, false)
	if err != nil && strings.Contains(err.Error(), notYet) {
		b.Skipf("%s: %v", name, err)
	}
	if err != nil {
		b.Fatalf("New(%s): %v", name, err)
	}
	if c, ok := s.(Closer); ok {
		b.Cleanup(func() { _ = c.Close() })
	}
	return s
}

// prepareBench prepares ev for s when the strategy prepares events.
func prepareBench(b *testing.B, s Strategy, ev Event) {
	if p, ok := s.(Preparer); ok {
		if err := p.PrepareEvent(context.Background(), ev); err != nil {
			b.Fatalf("PrepareEvent: %v", err)
		}
	}
}
