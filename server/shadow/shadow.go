package shadow

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"stampede/server/api"
	"stampede/strategies"
)

// Defaults of Config.
const (
	DefaultQueue    = 8192
	DefaultWorkers  = 8
	DefaultTimeout  = 10 * time.Second
	DefaultExamples = 5
)

// Config is what a Shadow is built from.
type Config struct {
	api.Deps
	// Strategy is the shadow strategy (B), built over its own copy of the inventory.
	Strategy strategies.Strategy
	// Store is B's inventory: events created on the server are created there too.
	Store *strategies.Store
	// Queue bounds the operations that have ended on the primary and wait to be replayed; an
	// operation that finds it full is dropped and counted. 0 means DefaultQueue.
	Queue int
	// Workers is how many operations are replayed against B at once; 0 means DefaultWorkers.
	Workers int
	// Timeout bounds one replayed operation; one that runs longer is abandoned and counted as a
	// shadow error. 0 means DefaultTimeout.
	Timeout time.Duration
	// Examples is how many divergences of each kind the report keeps; 0 means DefaultExamples.
	Examples int
}

// Shadow replays the primary's decisions against the shadow strategy. Build it with New, wrap
// the primary with Wrap, and run Run for as long as the server runs. Safe for concurrent use.
type Shadow struct {
	cfg     Config
	metrics *metrics
	// primary is the wrapped strategy's name (set by Wrap).
	primary string

	// mu guards the stamps, the operations in flight on the primary and the queue.
	mu sync.Mutex
	// clock stamps every start and end of a primary operation.
	clock uint64
	// inflight holds the start stamps of the primary operations still running; low is the
	// smallest of them (clock when none runs).
	inflight map[uint64]struct{}
	low      uint64
	// queue holds the ended operations in the order they ended.
	queue   []*op
	dropped int64
	wake    chan struct{}
	// replaying counts the operations taken from the queue and not yet finished (replayed or
	// skipped); takenQueued those of them still in the queue (taken ahead of their turn).
	replaying, takenQueued int64

	// Owned by Run: the model of A's seats, A's holds as the shadow knows them, the replay
	// calls per seat, and what was found.
	model *model
	holds map[string]*holdState
	busy  map[string]*call
	// scheduled counts the calls scheduled, to sweep busy now and then.
	scheduled int
	results   *results
}

// New returns a Shadow over cfg, with its metrics registered on cfg.Registry.
func New(cfg Config) (*Shadow, error) {
	if err := cfg.Deps.Check(); err != nil {
		return nil, fmt.Errorf("new shadow: %w", err)
	}
	if cfg.Strategy == nil {
		return nil, errors.New("new shadow: no shadow strategy")
	}
	if cfg.Store == nil {
		return nil, errors.New("new shadow: no inventory store for the shadow")
	}
	switch {
	case cfg.Queue < 0:
		return nil, fmt.Errorf("new shadow: queue must not be negative, got %d", cfg.Queue)
	case cfg.Workers < 0:
		return nil, fmt.Errorf("new shadow: workers must not be negative, got %d", cfg.Workers)
	case cfg.Timeout < 0:
		return nil, fmt.Errorf("new shadow: timeout must not be negative, got %s", cfg.Timeout)
	}
	if cfg.Queue == 0 {
		cfg.Queue = DefaultQueue
	}
	if cfg.Workers == 0 {
		cfg.Workers = DefaultWorkers
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Examples <= 0 {
		cfg.Examples = DefaultExamples
	}
	m, err := newMetrics(cfg.Registry)
	if err != nil {
		return nil, fmt.Errorf("new shadow: register metrics: %w", err)
	}
	return &Shadow{
		cfg: cfg, metrics: m,
		inflight: map[uint64]struct{}{},
		wake:     make(chan struct{}, 1),
		model:    newModel(),
		holds:    map[string]*holdState{},
		busy:     map[string]*call{},
		results:  newResults(cfg.Examples),
	}, nil
}

// Name is the shadow strategy's registry name.
func (s *Shadow) Name() string { return s.cfg.Strategy.Name() }

// Strategy is the shadow strategy, for its optional capabilities (Runner, Closer).
func (s *Shadow) Strategy() strategies.Strategy { return s.cfg.Strategy }

// CreateEvent creates e (as the primary's store returned it) in the shadow's inventory and
// prepares it for the shadow strategy. The primary's answer does not depend on it: the server
// logs a failure, and the shadow's operations on the event then end in shadow errors.
func (s *Shadow) CreateEvent(ctx context.Context, e strategies.Event) error {
	s.model.setCapacity(e)
	ev, _, err := s.cfg.Store.CreateEvent(ctx, e)
	if err != nil {
		return fmt.Errorf("shadow %s: create event %s: %w", s.Name(), e.ID, err)
	}
	if p, ok := s.cfg.Strategy.(strategies.Preparer); ok {
		if err := p.PrepareEvent(ctx, ev); err != nil {
			return fmt.Errorf("shadow %s: prepare event %s: %w", s.Name(), e.ID, err)
		}
	}
	return nil
}

// begin stamps the start of a primary operation.
func (s *Shadow) begin() uint64 {
	s.mu.Lock()
	seq := s.clock
	s.clock++
	s.inflight[seq] = struct{}{}
	s.mu.Unlock()
	return seq
}

// end stamps the end of the primary operation begun at o.start and queues it, or drops it when
// the queue is full. It never waits for the shadow.
func (s *Shadow) end(o *op) {
	s.mu.Lock()
	o.end = s.clock
	s.clock++
	delete(s.inflight, o.start)
	for s.low < s.clock {
		if _, running := s.inflight[s.low]; running {
			break
		}
		s.low++
	}
	full := len(s.queue) >= s.cfg.Queue
	if full {
		s.dropped++
	} else {
		s.queue = append(s.queue, o)
	}
	depth := len(s.queue)
	s.mu.Unlock()
	if full {
		s.metrics.dropped.Inc()
	}
	s.metrics.queue.Set(float64(depth))
	// Wake Run even after a drop: this end may have made queued operations ready.
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Wrap returns primary with every Hold, Release and Confirm also queued for the shadow. The
// answers are primary's own, unchanged.
func (s *Shadow) Wrap(primary strategies.Strategy) strategies.Strategy {
	s.primary = primary.Name()
	return wrapped{Strategy: primary, s: s}
}

// wrapped is the primary strategy with its decisions queued for the shadow.
type wrapped struct {
	strategies.Strategy
	s *Shadow
}

var _ strategies.Strategy = wrapped{}

// Hold implements strategies.Strategy.
func (w wrapped) Hold(ctx context.Context, r strategies.HoldRequest) (strategies.Hold, error) {
	o := &op{kind: opHold, req: r, start: w.s.begin()}
	t := time.Now()
	h, err := w.Strategy.Hold(ctx, r)
	o.took, o.at, o.hold, o.err = time.Since(t), w.s.cfg.Now(), h, err
	w.s.end(o)
	return h, err
}

// Release implements strategies.Strategy.
func (w wrapped) Release(ctx context.Context, holdID string) error {
	o := &op{kind: opRelease, holdID: holdID, start: w.s.begin()}
	t := time.Now()
	err := w.Strategy.Release(ctx, holdID)
	o.took, o.at, o.err = time.Since(t), w.s.cfg.Now(), err
	w.s.end(o)
	return err
}

// Confirm implements strategies.Strategy.
func (w wrapped) Confirm(ctx context.Context, r strategies.ConfirmRequest) (strategies.Booking, error) {
	o := &op{kind: opConfirm, holdID: r.HoldID, session: r.Session, start: w.s.begin()}
	t := time.Now()
	b, err := w.Strategy.Confirm(ctx, r)
	o.took, o.at, o.err = time.Since(t), w.s.cfg.Now(), err
	w.s.end(o)
	return b, err
}

// Run replays the queued operations against the shadow until ctx is done, then waits for the
// replays in flight. It returns nil: the shadow's failures are findings, not the server's.
func (s *Shadow) Run(ctx context.Context) error {
	sem := make(chan struct{}, s.cfg.Workers)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.wake:
		}
		for {
			batch, ahead := s.ready()
			if len(batch) == 0 {
				break
			}
			for _, o := range s.order(batch, ahead) {
				c := s.schedule(o)
				if c == nil {
					s.finish()
					continue
				}
				select {
				case sem <- struct{}{}:
				case <-ctx.Done():
					close(c.done)
					return nil
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					defer s.finish()
					defer func() { <-sem }()
					s.replay(ctx, c)
				}()
			}
		}
	}
}

// ready takes from the queue the operations that may be replayed: those that ended before the
// oldest operation still running on the primary started (so that everything the primary may
// have decided before them has ended). ahead are the ended operations behind them that started
// before the last of them ended: the model may need one of those first.
func (s *Shadow) ready() (batch, ahead []*op) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for n < len(s.queue) && s.queue[n].end < s.low {
		n++
	}
	if n == 0 {
		return nil, nil
	}
	last := s.queue[n-1].end
	for _, o := range s.queue[:n] {
		if o.taken {
			s.takenQueued--
		} else {
			batch = append(batch, o)
		}
	}
	s.replaying += int64(len(batch))
	for i, o := range s.queue[n:] {
		if i == aheadLimit {
			break
		}
		if !o.taken && o.start < last {
			ahead = append(ahead, o)
		}
	}
	clear(s.queue[:n]) // let the replayed operations go
	s.queue = s.queue[n:]
	s.metrics.queue.Set(float64(len(s.queue)))
	return batch, ahead
}

// aheadLimit bounds how many of the operations behind a batch ready looks at for ones that
// started before the batch ended; those are near the front, as the queue is in end order.
const aheadLimit = 256

// take marks an operation of ahead as replayed early, so that ready skips it later.
func (s *Shadow) take(o *op) {
	s.mu.Lock()
	o.taken = true
	s.takenQueued++
	s.replaying++
	s.mu.Unlock()
}

// finish counts an operation taken from the queue as replayed or skipped.
func (s *Shadow) finish() {
	s.mu.Lock()
	s.replaying--
	s.mu.Unlock()
}

// pending is how many operations wait for the shadow: queued or being replayed.
func (s *Shadow) pending() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return int64(len(s.queue)) - s.takenQueued + s.replaying
}
