package overload

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"stampede/server/api"
)

// newAdaptive builds a budget of maxInFlight whose limit follows holds against target.
func newAdaptive(tb testing.TB, maxInFlight, least int, target time.Duration) (*Budget, *prometheus.Registry) {
	tb.Helper()
	reg := prometheus.NewRegistry()
	b, err := New(Config{
		Deps:        api.Deps{Table: Errors, Registry: reg, Logger: slog.New(slog.DiscardHandler), Now: time.Now},
		MaxInFlight: maxInFlight, QueueWait: time.Millisecond, Target: target, MinInFlight: least,
	})
	if err != nil {
		tb.Fatalf("New(max %d, target %s): %v", maxInFlight, target, err)
	}
	return b, reg
}

// herd runs n goroutines sending requests of class c through h until stop is closed, and
// returns how many were answered 503 and the latencies of the others (from their start, the
// budget's queue wait included).
func herd(b *Budget, c Class, n int, h http.Handler, stop <-chan struct{}, wg *sync.WaitGroup) (shed *atomic.Int64, lat func() []time.Duration) {
	shed = new(atomic.Int64)
	var mu sync.Mutex
	var took []time.Duration
	wrapped := b.Wrap(c, h)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				w := httptest.NewRecorder()
				start := time.Now()
				wrapped.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/x", nil))
				if w.Code == http.StatusServiceUnavailable {
					shed.Add(1)
					time.Sleep(5 * time.Millisecond) // a client's short back-off
					continue
				}
				mu.Lock()
				took = append(took, time.Since(start))
				mu.Unlock()
			}
		}()
	}
	return shed, func() []time.Duration {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(took)
	}
}

// p90 of d.
func p90(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)*9/10]
}

// waitFor polls cond every 10 ms until it holds or a generous deadline passes.
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("waited 20s for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestAdaptiveLimitShrinksAndRecovers makes the hold path slow under a herd of holds: the limit
// falls to its least and the excess is shed 503; when holds are fast again, the limit grows
// back towards MaxInFlight.
func TestAdaptiveLimitShrinksAndRecovers(t *testing.T) {
	b, reg := newAdaptive(t, 64, 4, 20*time.Millisecond)
	var slow atomic.Int64
	slow.Store(int64(40 * time.Millisecond))
	hold := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { time.Sleep(time.Duration(slow.Load())) })
	stop := make(chan struct{})
	var wg sync.WaitGroup
	shed, _ := herd(b, Hold, 48, hold, stop, &wg)
	defer func() { close(stop); wg.Wait() }()

	waitFor(t, "the limit to fall to its least (4) with every hold taking 40ms over a 20ms target", func() bool { return b.Limit() == 4 })
	if shed.Load() == 0 {
		t.Errorf("holds shed with the limit at %d and 48 senders = 0, want some refused 503", b.Limit())
	}
	if got := b.Headroom(); got != 4.0/64 {
		t.Errorf("Headroom() with the limit at 4 of 64 = %v, want %v", got, 4.0/64)
	}
	if got := value(t, b.m.limit); got != 4 {
		t.Errorf("stampede_http_concurrency_limit = %v, want 4 (Limit)", got)
	}
	if n := testutilCount(t, reg, "stampede_http_concurrency_limit"); n != 1 {
		t.Errorf("registry has %d stampede_http_concurrency_limit series, want 1", n)
	}

	slow.Store(int64(time.Millisecond))
	waitFor(t, "the limit to grow back above 32 with holds taking 1ms", func() bool { return b.Limit() > 32 })
	if in := b.InFlight(Hold); in > 64 {
		t.Errorf("holds in flight = %d, want at most MaxInFlight 64", in)
	}
}

// testutilCount counts the series of the metric name on reg.
func testutilCount(tb testing.TB, reg *prometheus.Registry, name string) int {
	tb.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		tb.Fatalf("gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return len(mf.GetMetric())
		}
	}
	return 0
}

// TestAdaptiveLimitProtectsHolds sends a herd of browsing and a herd of holds at a server
// whose every request slows the others (like a database: each takes 2ms per request in flight),
// once under a fixed budget and once under the adaptive one. The adaptive budget keeps the
// holds' work short by shedding the browsing; under the fixed one each hold shares the server
// with the whole herd. The holds' work is judged by the requests in flight each hold met (its
// time is 2ms each), which scheduler noise on a loaded machine does not blur.
func TestAdaptiveLimitProtectsHolds(t *testing.T) {
	run := func(target time.Duration) (crowdP90 int, browseShed, holds int64) {
		b, _ := newAdaptive(t, 128, 4, target)
		var inFlight atomic.Int64
		var settled atomic.Bool
		var mu sync.Mutex
		var crowds []int
		work := func(hold bool) http.Handler {
			return http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
				n := inFlight.Add(1)
				defer inFlight.Add(-1)
				if hold && settled.Load() {
					mu.Lock()
					crowds = append(crowds, int(n))
					mu.Unlock()
				}
				time.Sleep(time.Duration(n) * 2 * time.Millisecond)
			})
		}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		bshed, _ := herd(b, Browse, 40, work(false), stop, &wg)
		herd(b, Hold, 16, work(true), stop, &wg)
		time.Sleep(2 * time.Second) // the limit settles
		settled.Store(true)
		time.Sleep(2 * time.Second)
		close(stop)
		wg.Wait()
		slices.Sort(crowds)
		if len(crowds) == 0 {
			return 0, bshed.Load(), 0
		}
		return crowds[len(crowds)*9/10], bshed.Load(), int64(len(crowds))
	}
	fixed, fixedShed, _ := run(0)
	adapt, adaptShed, holds := run(30 * time.Millisecond)
	t.Logf("requests in flight met by a hold, p90: fixed %d (browse shed %d), adaptive %d (browse shed %d, %d holds)", fixed, fixedShed, adapt, adaptShed, holds)
	if holds == 0 {
		t.Fatalf("adaptive budget served no hold")
	}
	if adaptShed == 0 {
		t.Errorf("adaptive budget shed no browsing, want the herd shed")
	}
	if adapt*2 > fixed {
		t.Errorf("p90 of the requests in flight a hold met under the adaptive limit = %d, want under half the fixed budget's %d", adapt, fixed)
	}
}
