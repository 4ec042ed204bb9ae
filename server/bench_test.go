package server

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"stampede/internal/testsvc"
	"stampede/strategies"
)

// BenchmarkHoldHTTP measures POST /events/{id}/holds end to end over loopback HTTP: request
// decoding, the event lookup, the strategy's hold on a real database, and the answer. Every
// operation holds one distinct free seat (no contention: that is the strategies' conformance
// tests' job), from 16 concurrent clients. It reports holds/s and the p50 and p99 latency of one
// hold as the client saw it.
//
//	go test -run '^$' -bench BenchmarkHoldHTTP -benchtime 2000x ./server/
func BenchmarkHoldHTTP(b *testing.B) {
	for _, dialect := range testsvc.Dialects {
		b.Run(dialect, func(b *testing.B) {
			tdb := newTestDB(b, dialect)
			for _, name := range strategies.Safe() {
				b.Run(name, func(b *testing.B) {
					benchHolds(b, newEnv(b, name, tdb, withHoldTTL(10*time.Minute)))
				})
			}
		})
	}
}

// benchSeatsPerSection is the size of one section of the benchmark's event (50 rows of 50).
const benchSeatsPerSection = 2500

func benchHolds(b *testing.B, e *testEnv) {
	// An event with at least b.N seats, so that every hold takes a free seat.
	sections := (b.N + benchSeatsPerSection - 1) / benchSeatsPerSection
	spec := map[string]any{"id": "bench-" + randomID(), "name": "Bench"}
	var secs []map[string]any
	for i := range sections {
		secs = append(secs, map[string]any{"name": "S" + strconv.Itoa(i), "rows": 50, "seats_per_row": 50})
	}
	spec["sections"] = secs
	e.must(http.StatusCreated, http.MethodPost, "/admin/events", "", spec)
	path := e.url + "/events/" + spec["id"].(string) + "/holds"

	tr := &http.Transport{MaxIdleConns: 64, MaxIdleConnsPerHost: 64}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}

	var next atomic.Int64
	var failed atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration

	b.SetParallelism(8) // 8 x GOMAXPROCS clients
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		mine := make([]time.Duration, 0, 256)
		for pb.Next() {
			n := int(next.Add(1) - 1)
			seat := fmt.Sprintf("S%d-%d-%d", n/benchSeatsPerSection, n%benchSeatsPerSection/50+1, n%50+1)
			body := `{"seats":["` + seat + `"]}`
			req, _ := http.NewRequest(http.MethodPost, path, bytes.NewReader([]byte(body)))
			req.Header.Set("X-Session-Id", "bench-"+strconv.Itoa(n))
			t0 := time.Now()
			resp, err := client.Do(req)
			if err != nil {
				failed.Add(1)
				continue
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			mine = append(mine, time.Since(t0))
			if resp.StatusCode != http.StatusCreated {
				failed.Add(1)
			}
		}
		mu.Lock()
		lat = append(lat, mine...)
		mu.Unlock()
	})
	elapsed := time.Since(start)
	b.StopTimer()
	if f := failed.Load(); f > 0 {
		b.Fatalf("%d of %d holds of free seats failed", f, b.N)
	}
	slices.Sort(lat)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "holds/s")
	b.ReportMetric(float64(percentile(lat, 0.50).Microseconds())/1000, "p50_ms")
	b.ReportMetric(float64(percentile(lat, 0.99).Microseconds())/1000, "p99_ms")
}

// percentile returns the q-quantile of sorted durations (nearest rank).
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}
