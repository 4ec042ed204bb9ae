package overload

import (
	"container/list"
	"context"
	"fmt"
	"sync"
	"time"

	"stampede/server/api"
)

// Class is a class of request, ranked by what its answer is worth to a buyer: a higher class is
// let in while a lower one is refused.
type Class uint8

// The classes, lowest first.
const (
	// Browse: reads anyone may make (event pages, search, the seat map).
	Browse Class = iota
	// Join: the waiting room (joining, a ticket's status and stream).
	Join
	// Hold: taking, reading and releasing holds.
	Hold
	// Checkout: paying for a hold and reading the booking.
	Checkout

	numClasses = int(Checkout) + 1
)

// Classes lists every class, lowest first.
var Classes = []Class{Browse, Join, Hold, Checkout}

var classNames = [numClasses]string{"browse", "join", "hold", "checkout"}

// String is the class's name, the label of its metrics.
func (c Class) String() string {
	if int(c) < numClasses {
		return classNames[c]
	}
	return fmt.Sprintf("class(%d)", uint8(c))
}

// shares are the fractions of MaxInFlight that the requests in flight may reach, all classes
// together, for a request of each class to be let in.
var shares = [numClasses]float64{0.5, 0.7, 0.9, 1}

// Ceiling returns how many requests may be in flight, all classes together, for a request of
// class c to be let in under a budget of maxInFlight: its share of the budget, at least 1.
func Ceiling(c Class, maxInFlight int) int {
	return max(1, int(shares[c]*float64(maxInFlight)))
}

// DefaultQueueWait is how long a request over its class's ceiling waits for room when
// Config.QueueWait is 0.
const DefaultQueueWait = 50 * time.Millisecond

// Config is what a Budget is built from.
type Config struct {
	// Deps are the server's error table (Errors are this package's rows of it), the registry
	// of the budget's metrics, and the clock waits are measured with. Required.
	api.Deps
	// MaxInFlight is the budget: requests in flight, every class together. 0 means no bound:
	// nothing is refused (requests in flight are still counted).
	MaxInFlight int
	// QueueWait is the longest a request over its class's ceiling waits for room before it is
	// refused; 0 means DefaultQueueWait.
	QueueWait time.Duration
}

// Budget is the in-flight budget of one server process. It is safe for concurrent use.
type Budget struct {
	max   int
	ceil  [numClasses]int
	wait  time.Duration
	table api.Table
	now   func() time.Time
	m     *metrics

	mu       sync.Mutex
	total    int
	inFlight [numClasses]int
	// queues hold the *waiter of each class in arrival order.
	queues [numClasses]list.List
}

// waiter is a request waiting for room. ready is closed when a release hands it a slot
// (granted, set under Budget.mu).
type waiter struct {
	ready   chan struct{}
	granted bool
	elem    *list.Element
}

// New builds a Budget from cfg and registers its metrics. A negative MaxInFlight or QueueWait
// is an error.
func New(cfg Config) (*Budget, error) {
	if err := cfg.Check(); err != nil {
		return nil, fmt.Errorf("new overload budget: %w", err)
	}
	if cfg.MaxInFlight < 0 {
		return nil, fmt.Errorf("new overload budget: max in flight must not be negative, got %d", cfg.MaxInFlight)
	}
	if cfg.QueueWait < 0 {
		return nil, fmt.Errorf("new overload budget: queue wait must not be negative, got %s", cfg.QueueWait)
	}
	m, err := newMetrics(cfg.Registry)
	if err != nil {
		return nil, fmt.Errorf("new overload budget: register metrics: %w", err)
	}
	b := &Budget{max: cfg.MaxInFlight, wait: cfg.QueueWait, table: cfg.Table, now: cfg.Now, m: m}
	if b.wait == 0 {
		b.wait = DefaultQueueWait
	}
	for _, c := range Classes {
		b.ceil[c] = Ceiling(c, b.max)
	}
	return b, nil
}

// Acquire lets a request of class c in, waiting up to the queue wait for room, and returns the
// function that gives its slot back, which the caller must call exactly once when the request
// is done. It returns an error wrapping ErrOverloaded when there was no room in time, or ctx's
// error when ctx ended first; then nothing is to be given back.
func (b *Budget) Acquire(ctx context.Context, c Class) (release func(), err error) {
	release = func() { b.release(c) }
	b.mu.Lock()
	if b.max == 0 || b.total < b.ceil[c] {
		b.admitLocked(c)
		b.mu.Unlock()
		return release, nil
	}
	if b.queues[c].Len() >= b.max {
		b.mu.Unlock()
		return nil, b.refused(c)
	}
	w := &waiter{ready: make(chan struct{})}
	w.elem = b.queues[c].PushBack(w)
	b.mu.Unlock()

	start := b.now()
	timer := time.NewTimer(b.wait)
	defer timer.Stop()
	select {
	case <-w.ready:
	case <-timer.C:
	case <-ctx.Done():
	}
	b.m.wait.WithLabelValues(c.String()).Observe(b.now().Sub(start).Seconds())
	b.mu.Lock()
	if !w.granted {
		b.queues[c].Remove(w.elem)
	}
	b.mu.Unlock()
	switch {
	case w.granted && ctx.Err() != nil:
		release()
		return nil, ctx.Err()
	case w.granted:
		return release, nil
	case ctx.Err() != nil:
		return nil, ctx.Err()
	}
	return nil, b.refused(c)
}

// refused counts a refusal of class c and returns its error.
func (b *Budget) refused(c Class) error {
	b.m.shed.WithLabelValues(c.String()).Inc()
	return fmt.Errorf("%w: %s requests are over their share (%d of %d) of the requests in flight; retry later",
		ErrOverloaded, c, b.ceil[c], b.max)
}

// admitLocked counts a request of class c in; b.mu is held.
func (b *Budget) admitLocked(c Class) {
	b.total++
	b.inFlight[c]++
	b.m.inFlight.WithLabelValues(c.String()).Inc()
}

// release gives a slot of class c back and hands the free room to the waiters, highest class
// first, as far as their ceilings allow.
func (b *Budget) release(c Class) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.total--
	b.inFlight[c]--
	b.m.inFlight.WithLabelValues(c.String()).Dec()
	for k := numClasses - 1; k >= 0; k-- {
		q := &b.queues[k]
		for q.Len() > 0 && b.total < b.ceil[k] {
			w := q.Remove(q.Front()).(*waiter)
			w.granted = true
			b.admitLocked(Class(k))
			close(w.ready)
		}
	}
}

// InFlight returns the requests of class c in flight now.
func (b *Budget) InFlight(c Class) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.inFlight[c]
}

// Waiting returns the requests of class c waiting for room now.
func (b *Budget) Waiting(c Class) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.queues[c].Len()
}
