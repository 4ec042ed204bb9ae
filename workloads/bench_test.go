package workloads

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"stampede/history"
)

// BenchmarkRequest measures one driver request end to end against a trivial local endpoint:
// the HTTP exchange, the history line and both latency histograms, from 64 goroutines.
func BenchmarkRequest(b *testing.B) {
	srv, _ := okServer(b)
	clock := NewClock()
	tr := NewTransport(64)
	b.Cleanup(tr.CloseIdleConnections)
	c := &client{base: srv.URL, hc: &http.Client{Transport: tr}, timeout: 5 * time.Second, clock: clock}
	rec := newRecorder(clock, history.NewWriter(io.Discard), io.Discard, nil, c.inFlight.Load, c.streams.Load)
	pg := Page{Kind: PageEvent}
	b.SetParallelism(32) // 32 x GOMAXPROCS goroutines
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		who := &caller{index: 1, session: "s"}
		for pb.Next() {
			r := c.page(context.Background(), who, "e-1", pg)
			rec.record(&r, r.Call, who.last)
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
}

// BenchmarkPlanUser measures planning one eras-tour user (done once per arrival).
func BenchmarkPlanUser(b *testing.B) {
	sc, err := Load(filepath.Join("..", "scenarios", "eras-tour.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	p, err := NewPlan(sc, 1)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_ = p.User(i % p.Users())
	}
}

// BenchmarkPace measures the arrival schedule of a spike profile.
func BenchmarkPace(b *testing.B) {
	p, err := NewProfile(Arrivals{Profile: ProfileSpike, PeakRate: 5000, Ramp: 5 * time.Second, Hold: 60 * time.Second, Users: 200000})
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; b.Loop(); i++ {
		_, _ = p.Pace(uint64(i % 200000))
	}
}
