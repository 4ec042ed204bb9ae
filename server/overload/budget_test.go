package overload

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"stampede/server/api"
)

// newBudget builds a Budget of maxInFlight with queue wait wait on a registry of its own.
func newBudget(tb testing.TB, maxInFlight int, wait time.Duration) (*Budget, *prometheus.Registry) {
	tb.Helper()
	reg := prometheus.NewRegistry()
	b, err := New(Config{
		Deps:        api.Deps{Table: Errors, Registry: reg, Logger: slog.New(slog.DiscardHandler), Now: time.Now},
		MaxInFlight: maxInFlight, QueueWait: wait,
	})
	if err != nil {
		tb.Fatalf("New(max %d, wait %s): %v", maxInFlight, wait, err)
	}
	return b, reg
}

// mustAcquire lets a request of class c in at once or fails the test.
func mustAcquire(tb testing.TB, b *Budget, c Class) func() {
	tb.Helper()
	release, err := b.Acquire(context.Background(), c)
	if err != nil {
		tb.Fatalf("Acquire(%s) with %d in flight = %v, want it let in", c, b.total, err)
	}
	return release
}

// value reads a counter or a gauge.
func value(tb testing.TB, c prometheus.Metric) float64 {
	tb.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		tb.Fatalf("read metric: %v", err)
	}
	if m.Counter != nil {
		return m.GetCounter().GetValue()
	}
	return m.GetGauge().GetValue()
}

func TestCeiling(t *testing.T) {
	tests := []struct {
		name string
		max  int
		want [numClasses]int // browse, join, hold, checkout
	}{
		{name: "ten", max: 10, want: [numClasses]int{5, 7, 9, 10}},
		{name: "default server budget", max: 256, want: [numClasses]int{128, 179, 230, 256}},
		{name: "one", max: 1, want: [numClasses]int{1, 1, 1, 1}},
		{name: "three", max: 3, want: [numClasses]int{1, 2, 2, 3}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, c := range Classes {
				if got := Ceiling(c, tc.max); got != tc.want[c] {
					t.Errorf("Ceiling(%s, %d) = %d, want %d", c, tc.max, got, tc.want[c])
				}
			}
		})
	}
}

// TestBudgetCeilings fills a budget of 10 class by class: each class is let in up to its
// ceiling and refused beyond it, while the classes above it still get in.
func TestBudgetCeilings(t *testing.T) {
	b, _ := newBudget(t, 10, time.Millisecond)
	steps := []struct {
		class Class
		admit int // let in before the next one is refused
	}{
		{Browse, 5}, // total 5
		{Join, 2},   // total 7
		{Hold, 2},   // total 9
		{Checkout, 1},
	}
	var releases []func()
	for _, st := range steps {
		for range st.admit {
			releases = append(releases, mustAcquire(t, b, st.class))
		}
		_, err := b.Acquire(context.Background(), st.class)
		if !errors.Is(err, ErrOverloaded) {
			t.Fatalf("Acquire(%s) with %d in flight = %v, want ErrOverloaded", st.class, b.total, err)
		}
	}
	// Once full, every class is refused; each refusal is counted for its class.
	for _, c := range Classes {
		if _, err := b.Acquire(context.Background(), c); !errors.Is(err, ErrOverloaded) {
			t.Errorf("Acquire(%s) on a full budget = %v, want ErrOverloaded", c, err)
		}
		if got := value(t, b.m.shed.WithLabelValues(c.String())); got != 2 {
			t.Errorf("stampede_http_shed_total{class=%q} = %v, want 2", c, got)
		}
	}
	want := map[Class]int{Browse: 5, Join: 2, Hold: 2, Checkout: 1}
	for c, n := range want {
		if got := b.InFlight(c); got != n {
			t.Errorf("InFlight(%s) = %d, want %d", c, got, n)
		}
		if got := value(t, b.m.inFlight.WithLabelValues(c.String())); got != float64(n) {
			t.Errorf("stampede_http_class_requests_in_flight{class=%q} = %v, want %d", c, got, n)
		}
	}
	for _, r := range releases {
		r()
	}
	if b.total != 0 {
		t.Errorf("after every release %d in flight, want 0", b.total)
	}
	for _, c := range Classes {
		var m dto.Metric
		if err := b.m.wait.WithLabelValues(c.String()).(prometheus.Histogram).Write(&m); err != nil || m.GetHistogram().GetSampleCount() != 2 {
			t.Errorf("stampede_http_queue_wait_seconds{class=%q} count = %d (%v), want 2 (the requests that waited)", c, m.GetHistogram().GetSampleCount(), err)
		}
	}
}

// TestBudgetPriority: the room that frees on a full budget goes to the waiters highest class
// first, whatever order they arrived in.
func TestBudgetPriority(t *testing.T) {
	b, _ := newBudget(t, 10, time.Minute)
	var held []func()
	for range 5 {
		held = append(held, mustAcquire(t, b, Browse))
	}
	for range 5 {
		held = append(held, mustAcquire(t, b, Checkout))
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	type result struct {
		class   Class
		release func()
		err     error
	}
	got := make(chan result, numClasses)
	for _, c := range Classes { // lowest class first: arrival order is the reverse of priority
		go func() {
			release, err := b.Acquire(ctx, c)
			got <- result{c, release, err}
		}()
		for b.Waiting(c) == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	// Freeing slots one at a time from 10 in flight: 9 lets checkout in (ceiling 10), back to
	// 10; 8 lets hold in (ceiling 9), back to 9; 6 lets join in (ceiling 7), back to 7; and 4
	// lets browse in (ceiling 5).
	wantOrder := []struct {
		frees int
		class Class
	}{{1, Checkout}, {2, Hold}, {3, Join}, {3, Browse}}
	for _, w := range wantOrder {
		for range w.frees {
			held[0]()
			held = held[1:]
		}
		r := <-got
		if r.err != nil || r.class != w.class {
			t.Fatalf("after freeing %d more slots the waiter let in was %s (%v), want %s", w.frees, r.class, r.err, w.class)
		}
		// Grants happen in the release, so the others are still waiting now.
		for _, c := range Classes {
			if want := btoi(c < w.class); b.Waiting(c) != want {
				t.Fatalf("after %s was let in, Waiting(%s) = %d, want %d", w.class, c, b.Waiting(c), want)
			}
		}
		held = append(held, r.release)
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestBudgetOff(t *testing.T) {
	b, _ := newBudget(t, 0, 0)
	var releases []func()
	for range 1000 {
		releases = append(releases, mustAcquire(t, b, Browse))
	}
	if got := b.InFlight(Browse); got != 1000 {
		t.Errorf("InFlight(browse) without a budget = %d, want 1000 counted", got)
	}
	for _, r := range releases {
		r()
	}
}

// TestBudgetQueueBound: a class with MaxInFlight waiters refuses the next request at once
// instead of queueing it (the queue wait here is a minute).
func TestBudgetQueueBound(t *testing.T) {
	b, _ := newBudget(t, 1, time.Minute)
	release := mustAcquire(t, b, Browse)
	ctx, cancel := context.WithCancel(context.Background())
	waited := make(chan error, 1)
	go func() {
		r, err := b.Acquire(ctx, Browse)
		if err == nil {
			r()
		}
		waited <- err
	}()
	for b.Waiting(Browse) == 0 {
		time.Sleep(time.Millisecond)
	}
	if _, err := b.Acquire(context.Background(), Browse); !errors.Is(err, ErrOverloaded) {
		t.Errorf("Acquire(browse) with a full queue = %v, want ErrOverloaded at once", err)
	}
	// A waiter whose client goes away leaves the queue with its context's error, not shed.
	cancel()
	if err := <-waited; !errors.Is(err, context.Canceled) {
		t.Errorf("Acquire(browse) cancelled while waiting = %v, want context.Canceled", err)
	}
	if b.Waiting(Browse) != 0 {
		t.Errorf("Waiting(browse) after the waiter left = %d, want 0", b.Waiting(Browse))
	}
	if got := value(t, b.m.shed.WithLabelValues("browse")); got != 1 {
		t.Errorf("stampede_http_shed_total{class=browse} = %v, want 1 (the cancelled waiter is not shed)", got)
	}
	release()
	if b.total != 0 {
		t.Errorf("after the release %d in flight, want 0", b.total)
	}
}

// TestBudgetWaitThenAdmit: a request over its ceiling gets in when room frees within the queue
// wait.
func TestBudgetWaitThenAdmit(t *testing.T) {
	b, _ := newBudget(t, 2, time.Minute)
	release := mustAcquire(t, b, Browse)
	done := make(chan error, 1)
	go func() {
		r, err := b.Acquire(context.Background(), Browse)
		if err == nil {
			r()
		}
		done <- err
	}()
	for b.Waiting(Browse) == 0 {
		time.Sleep(time.Millisecond)
	}
	release()
	if err := <-done; err != nil {
		t.Fatalf("Acquire(browse) waiting when a slot freed = %v, want it let in", err)
	}
}

func TestNewRefuses(t *testing.T) {
	deps := api.Deps{Table: Errors, Registry: prometheus.NewRegistry(), Logger: slog.New(slog.DiscardHandler), Now: time.Now}
	tests := []struct {
		name string
		cfg  Config
	}{
		{name: "negative budget", cfg: Config{Deps: deps, MaxInFlight: -1}},
		{name: "negative wait", cfg: Config{Deps: deps, QueueWait: -time.Second}},
		{name: "no deps", cfg: Config{MaxInFlight: 10}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.cfg); err == nil {
				t.Errorf("New(%+v) = nil error, want one", tc.cfg)
			}
		})
	}
}
