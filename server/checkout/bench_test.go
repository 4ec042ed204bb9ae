package checkout

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"stampede/internal/sqldb"
	"stampede/internal/testsvc"
	"stampede/server/payments"
	"stampede/strategies"
)

// Checkout benchmarks: every safe strategy on both databases, through the HTTP handler, against
// a real processor on loopback. Each iteration is one checkout of a hold taken beforehand (the
// hold is not timed). They report latency percentiles of the checkout request and, per
// connection tag, the mean and longest wait for a pooled database connection.
//
//	go test -run XXX -bench 'BenchmarkCheckout$' -benchtime 400x ./server/checkout
//	go test -run XXX -bench 'BenchmarkCheckoutSlowProcessor' -benchtime 100x ./server/checkout

// ckBenchOpts shape one benchmark.
type ckBenchOpts struct {
	pool    int   // database pool size
	workers int   // concurrent clients
	latency int64 // processor latency, ms
}

// BenchmarkCheckout measures checkout latency with a healthy processor: 4 clients, a pool of 16.
func BenchmarkCheckout(b *testing.B) {
	ckBenchAll(b, ckBenchOpts{pool: 16, workers: 4})
}

// BenchmarkCheckoutSlowProcessor: the processor answers in 200 ms, 16 clients share a pool of 4
// connections. The strategy that charges inside its transaction (pessimistic) keeps a pooled
// connection for the whole charge, so the pool, not the processor, sets its pace: watch
// wait-checkout-ms against the others.
func BenchmarkCheckoutSlowProcessor(b *testing.B) {
	ckBenchAll(b, ckBenchOpts{pool: 4, workers: 16, latency: 200})
}

func ckBenchAll(b *testing.B, o ckBenchOpts) {
	_, rdb := testsvc.RedisClient(b)
	for _, dialect := range testsvc.Dialects {
		dsn := testsvc.DB(b, dialect)
		migrated := false
		for _, name := range strategies.Safe() {
			b.Run(name+"/"+dialect, func(b *testing.B) {
				ctx := context.Background()
				// A pool of its own per run, so that its wait metrics are this run's.
				db, err := sqldb.Open(ctx, dsn, sqldb.Options{MaxConns: o.pool})
				if err != nil {
					b.Fatal(err)
				}
				defer db.Close()
				if !migrated {
					if err := strategies.Migrate(ctx, db); err != nil {
						b.Fatal(err)
					}
					migrated = true
				}
				ckBench(b, newCkEnv(b, name, db, rdb, b.N), o)
			})
		}
	}
}

func ckBench(b *testing.B, e *ckEnv, o ckBenchOpts) {
	s := e.server(b, nil)
	// Long enough for the slowest checkout of a starved pool.
	s.keys.lease, s.budget = 2*time.Minute, 90*time.Second
	session := e.sess("bench")
	holds := make([]string, b.N)
	for i := range holds {
		holds[i] = e.hold(b, s, session, 0, e.seat()).ID
	}
	if err := e.psp.SetFaults(payments.Faults{LatencyMS: o.latency}); err != nil {
		b.Fatal(err)
	}
	before := e.db.Metrics().Snapshot()
	client := &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: o.workers}}
	var next atomic.Int64
	lat := make([][]time.Duration, o.workers)
	var failed atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for w := range o.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(holds) {
					return
				}
				t0 := time.Now()
				status, err := ckBenchCheckout(client, s.url, holds[i], session, fmt.Sprintf("bench-key-%08d", i))
				lat[w] = append(lat[w], time.Since(t0))
				if err != nil || status != http.StatusCreated {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d of %d checkouts did not book", n, b.N)
	}
	all := slices.Concat(lat...)
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	pct := func(p float64) float64 {
		return float64(all[min(len(all)-1, int(p*float64(len(all))))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "checkouts/s")
	after := e.db.Metrics().Snapshot()
	for _, tag := range []string{"checkout", "idempotency", "read"} {
		a, bf := after[tag], before[tag]
		if n := a.Count - bf.Count; n > 0 {
			b.ReportMetric(float64((a.WaitTotal-bf.WaitTotal).Microseconds())/1000/float64(n), "wait-"+tag+"-ms")
			b.ReportMetric(float64(a.WaitMax.Microseconds())/1000, "waitmax-"+tag+"-ms")
		}
	}
	e.reconcile(b)
}

func ckBenchCheckout(c *http.Client, base, holdID, session, key string) (int, error) {
	req, err := http.NewRequest(http.MethodPost, base+"/holds/"+holdID+"/checkout", strings.NewReader(`{"payment_method":"card_ok"}`))
	if err != nil {
		return 0, err
	}
	req.Header.Set("X-Session-Id", session)
	req.Header.Set("Idempotency-Key", key)
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return resp.StatusCode, err
	}
	return resp.StatusCode, nil
}
