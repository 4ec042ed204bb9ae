package strategies

import (
	"context"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
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
// is the uncontended hold path under concurrency. It reports holds/s and the p99 latency.
//
//	go test -run '^$' -bench BenchmarkHold -benchtime 3000x ./strategies/
func BenchmarkHold(b *testing.B) {
	_, redisURL := testsvc.Redis(b)
	opts, err := redis.ParseURL(redisURL)
	if err != nil {
		b.Fatalf("parse redis url: %v", err)
	}
	dbs := map[string]sqldb.DB{}
	for _, dialect := range testsvc.Dialects {
		dbs[dialect] = openDB(b, dialect, 32)
	}
	rdb := redis.NewClient(opts)
	b.Cleanup(func() { _ = rdb.Close() })
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
	s, err := New(name, Deps{DB: db, Redis: rdb, KeyPrefix: "bench:" + newID("") + ":", HoldTTL: time.Hour}, false)
	if err != nil && strings.Contains(err.Error(), notYet) {
		b.Skipf("%s: %v", name, err)
	}
	if err != nil {
		b.Fatalf("New(%s): %v", name, err)
	}
	if c, ok := s.(Closer); ok {
		b.Cleanup(func() { _ = c.Close() })
	}
	// Enough 30x40 sections for b.N distinct seats.
	ev := Event{ID: newID("bench_"), Name: "Bench"}
	for i := 0; i*1200 < b.N; i++ {
		ev.Sections = append(ev.Sections, Section{Name: "S" + strconv.Itoa(i), Rows: 30, SeatsPerRow: 40})
	}
	ev, _, err = NewStore(db, nil).CreateEvent(ctx, ev)
	if err != nil {
		b.Fatalf("CreateEvent: %v", err)
	}
	if p, ok := s.(Preparer); ok {
		if err := p.PrepareEvent(ctx, ev); err != nil {
			b.Fatalf("PrepareEvent: %v", err)
		}
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

	var next atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	var failed atomic.Int64
	var firstErr atomic.Value
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		mine := make([]time.Duration, 0, 256)
		for pb.Next() {
			seat := seats[next.Add(1)-1]
			t0 := time.Now()
			_, err := s.Hold(ctx, HoldRequest{EventID: ev.ID, Session: "bench", Seats: []string{seat}})
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
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "holds/s")
	b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
	b.ReportMetric(0, "ns/op")
}
