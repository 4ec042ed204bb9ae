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
	// Target makes the limit adaptive (limit.go): the requests let in flight follow the
	// service time of holds against this target, between MinInFlight and MaxInFlight. 0 means
	// a fixed limit of MaxInFlight. It needs a MaxInFlight.
	Target time.Duration
	// MinInFlight is the least the adaptive limit goes down to; 0 means DefaultMinInFlight
	// (or MaxInFlight when that is smaller).
	MinInFlight int
}

// Budget is the in-flight budget of one server process. It is safe for concurrent use.
type Budget struct {
	max   int
	ceil  [numClasses]int
	wait  time.Duration
	table api.Table
	now   func() time.Time
	m     *metrics

	mu sync.Mutex
	// lim is the adaptive limit; nil when the limit is fixed.
	lim      *limiter
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
	if cfg.Target < 0 || cfg.MinInFlight < 0 {
		return nil, fmt.Errorf("new overload budget: target (%s) and min in flight (%d) must not be negative", cfg.Target, cfg.MinInFlight)
	}
	if cfg.Target > 0 && cfg.MaxInFlight == 0 {
		return nil, fmt.Errorf("new overload budget: an adaptive limit (target %s) needs a max in flight", cfg.Target)
	}
	m, err := newMetrics(cfg.Registry)
	if err != nil {
		return nil, fmt.Errorf("new overload budget: register metrics: %w", err)
	}
	b := &Budget{max: cfg.MaxInFlight, wait: cfg.QueueWait, table: cfg.Table, now: cfg.Now, m: m}
	if b.wait == 0 {
		b.wait = DefaultQueueWait
	}
	if cfg.Target > 0 {
		least := cfg.MinInFlight
		if least == 0 {
			least = DefaultMinInFlight
		}
		least = min(least, b.max)
		b.lim = &limiter{target: cfg.Target, min: float64(least), max: float64(b.max), limit: float64(b.max)}
	}
	b.setLimitLocked(b.max)
	return b, nil
}

// setLimitLocked makes limit the requests in flight the classes' ceilings are shares of;
// b.mu is held (or b is not shared yet).
func (b *Budget) setLimitLocked(limit int) {
	for _, c := range Classes {
		b.ceil[c] = Ceiling(c, limit)
	}
	b.m.limit.Set(float64(limit))
}

// Headroom returns the adaptive limit's share of MaxInFlight now, in (0, 1]: 1 when the limit
// is fixed (or there is none), less while slow holds keep the limit down. The waiting room
// admits at this pace (waitingroom.Config.Pace).
func (b *Budget) Headroom() float64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.lim == nil {
		return 1
	}
	return float64(int(b.lim.limit)) / b.lim.max
}

// Limit returns the requests in flight the budget allows now: MaxInFlight, or the adaptive
// limit's current value (0: no bound).
func (b *Budget) Limit() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.lim != nil {
		return int(b.lim.limit)
	}
	return b.max
}

// Acquire lets a request of class c in, waiting up to the queue wait for room, and returns the
// function that gives its slot back, which the caller must call exactly once when the request
// is done. It returns an error wrapping ErrOverloaded when there was no room in time, or ctx's
// error when ctx ended first; then nothing is to be given back.
func (b *Budget) Acquire(ctx context.Context, c Class) (release func(), err error) {
	s, err := b.acquire(ctx, c)
	if err != nil {
		return nil, err
	}
	return s.release, nil
}

// A slot is one request's place in the budget, from Acquire to its release.
type slot struct {
	b     *Budget
	c     Class
	start time.Time // when the request was let in
	// away is set while the request waits outside the server (StepOut): it is then not
	// counted in b.total. done is set once the slot is given back. Both under b.mu.
	away, done bool
}

// acquire is Acquire, returning the slot.
func (b *Budget) acquire(ctx context.Context, c Class) (*slot, error) {
	s := &slot{b: b, c: c}
	b.mu.Lock()
	if b.max == 0 || b.total < b.ceil[c] {
		b.admitLocked(c)
		b.mu.Unlock()
		s.start = b.now()
		return s, nil
	}
	if b.lim != nil {
		b.lim.reached = true
	}
	if b.queues[c].Len() >= b.max {
		err := b.refusedLocked(c)
		b.mu.Unlock()
		return nil, err
	}
	w := &waiter{ready: make(chan struct{})}
	w.elem = b.queues[c].PushBack(w)
	b.mu.Unlock()

	queued := b.now()
	timer := time.NewTimer(b.wait)
	defer timer.Stop()
	select {
	case <-w.ready:
	case <-timer.C:
	case <-ctx.Done():
	}
	s.start = b.now()
	b.m.wait.WithLabelValues(c.String()).Observe(s.start.Sub(queued).Seconds())
	b.mu.Lock()
	if !w.granted {
		b.queues[c].Remove(w.elem)
	}
	granted := w.granted
	var refusal error
	if !granted && ctx.Err() == nil {
		refusal = b.refusedLocked(c)
	}
	b.mu.Unlock()
	switch {
	case granted && ctx.Err() != nil:
		s.release()
		return nil, ctx.Err()
	case granted:
		return s, nil
	case ctx.Err() != nil:
		return nil, ctx.Err()
	}
	return nil, refusal
}

// release gives the slot back: a hold's time is a sample of the adaptive limit. It hands the
// free room to the waiters. Only its first call counts.
func (s *slot) release() {
	b := s.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if s.done {
		return
	}
	s.done = true
	if s.away {
		b.m.away.WithLabelValues(s.c.String()).Dec()
	} else {
		b.total--
	}
	b.inFlight[s.c]--
	b.m.inFlight.WithLabelValues(s.c.String()).Dec()
	if b.lim != nil && s.c == Hold && b.lim.observe(b.now().Sub(s.start), b.now()) {
		b.setLimitLocked(int(b.lim.limit))
	}
	b.grantLocked()
}

// slotKey is the context key of the slot of the request a Wrap let in.
type slotKey struct{}

// StepOut takes the request of ctx out of the budget while it waits on something outside the
// server, such as the payment processor, and returns the function that brings it back. While
// out, it does not count toward the requests in flight: a checkout waiting on a slow processor
// does no work of the server's, and must not fill the budget so that the holds and browsing
// that need only the server are shed. back counts it in again at once, whatever the limit
// (the work the request started must finish), and only its first call counts. For a request
// that no Wrap let in (or one already out), StepOut does nothing.
func StepOut(ctx context.Context) (back func()) {
	s, _ := ctx.Value(slotKey{}).(*slot)
	if s == nil {
		return func() {}
	}
	b := s.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if s.away || s.done {
		return func() {}
	}
	s.away = true
	b.total--
	b.m.away.WithLabelValues(s.c.String()).Inc()
	b.grantLocked()
	var once sync.Once
	return func() {
		once.Do(func() {
			b.mu.Lock()
			defer b.mu.Unlock()
			if !s.away || s.done {
				return
			}
			s.away = false
			b.total++
			b.m.away.WithLabelValues(s.c.String()).Dec()
		})
	}
}

// refusedLocked counts a refusal of class c and returns its error; b.mu is held.
func (b *Budget) refusedLocked(c Class) error {
	b.m.shed.WithLabelValues(c.String()).Inc()
	limit := b.max
	if b.lim != nil {
		limit = int(b.lim.limit)
	}
	return fmt.Errorf("%w: %s requests are over their share (%d of %d) of the requests in flight; retry later",
		ErrOverloaded, c, b.ceil[c], limit)
}

// admitLocked counts a request of class c in; b.mu is held.
func (b *Budget) admitLocked(c Class) {
	b.total++
	b.inFlight[c]++
	b.m.inFlight.WithLabelValues(c.String()).Inc()
}

// grantLocked hands the free room to the waiters, highest class first, as far as their
// ceilings allow; b.mu is held.
func (b *Budget) grantLocked() {
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
