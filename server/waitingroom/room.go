package waitingroom

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/singleflight"

	"stampede/server/api"
	"stampede/strategies"
)

// Config is what a Room is built from.
type Config struct {
	// Deps are the server's error table (Errors are this package's rows of it), the registry
	// of the waiting room's metrics, the logger of its background failures, and the clock
	// admission tokens are checked with. Required.
	api.Deps
	// Redis holds the queues, shared by every server process; nil answers every queue request
	// 503 unavailable (admission checks need no Redis).
	Redis *redis.Client
	// KeyPrefix namespaces the Redis keys.
	KeyPrefix string
	// Secret signs admission tokens and queue tickets; empty means a secret generated for this
	// process, whose tokens no other process accepts (New logs a warning).
	Secret []byte
	// Events reads an event's waiting-room settings; nil answers every event unknown.
	Events Events
	// MaxQueueLength bounds the sessions waiting in one event's queue, across every server
	// sharing the Redis: a join beyond it is refused 503 queue_full with Retry-After, and
	// counted (stampede_waiting_room_joins_total{result="full"}). 0 means no bound.
	MaxQueueLength int
	// MaxStreamsPerSession bounds the queue streams one session (X-Session-Id) has open in
	// this process: one more is refused 429 too_many_streams. 0 means no bound.
	MaxStreamsPerSession int
	// Pace, when set, is the share of every event's configured admission rate this process's
	// admitter uses now, read at each step: adaptive admission. The server gives the overload
	// budget's headroom (overload.Budget.Headroom), so admission slows while the admitted
	// buyers' holds are slow and returns to the configured rate when they are fast. It is kept
	// within [minPace, 1]: the queue never stops, since a limit learns only from the holds of
	// buyers it admits. nil means 1: the configured rate.
	Pace func() float64
}

// minPace is the least share of its configured rate an event's queue is admitted at (Pace).
const minPace = 0.1

// Events reads events; a *strategies.Store is one.
type Events interface {
	GetEvent(ctx context.Context, id string) (strategies.Event, error)
}

// EventsFunc is a function seen as Events.
type EventsFunc func(ctx context.Context, id string) (strategies.Event, error)

// GetEvent implements Events.
func (f EventsFunc) GetEvent(ctx context.Context, id string) (strategies.Event, error) {
	return f(ctx, id)
}

var (
	_ Events = (*strategies.Store)(nil)
	_ Events = EventsFunc(nil)
)

// Room is the waiting room of one server process: the Redis queues it shares with every other
// process (queue.go), the token signer (admission.go), the admitter run by Run, and the
// per-event broadcasters of the SSE streams (stream.go). It is safe for concurrent use.
type Room struct {
	rdb    *redis.Client
	prefix string
	sign   *signer
	now    func() time.Time
	log    *slog.Logger
	store  Events
	table  api.Table

	// tokenTTL is how long an admission lasts (default 10 minutes).
	tokenTTL time.Duration
	// tick is the admitter's period (default 20 ms): admission happens in steps this far apart.
	tick time.Duration
	// burstSeconds caps the admission budget saved up while sessions wait at this many seconds
	// of the rate (default 5): admission catches up after a stall of up to that long.
	burstSeconds float64
	// maxBatch bounds the sessions one admission step moves (default 10,000).
	maxBatch int
	// streamTick is how often a broadcaster reads its queue's head (default 250 ms).
	streamTick time.Duration
	// streamMinInterval is the least time between two position events on one stream
	// (default 1 s); an admission is sent at the next tick regardless.
	streamMinInterval time.Duration
	// heartbeat resends an unchanged position this often (default 15 s), which also keeps
	// proxies from closing an idle stream.
	heartbeat time.Duration
	// eventTTL is how long an event's waiting-room settings are reused in this process
	// before they are read from the store again (default 1 s).
	eventTTL time.Duration

	metrics *metrics

	// maxQueue and maxStreams are Config.MaxQueueLength and Config.MaxStreamsPerSession.
	maxQueue, maxStreams int
	// pace is Config.Pace; nil means 1.
	pace func() float64

	evMu    sync.Mutex
	events  map[string]cachedEvent
	evGroup singleflight.Group

	// mu guards rooms, every broadcaster's subscribers and streamsOf.
	mu    sync.Mutex
	rooms map[string]*broadcaster
	// streamsOf counts each session's streams from their admission (reserveStream) to their
	// end; sessions with none are not kept.
	streamsOf map[string]int
	// stopping is closed when Run ends, which ends every open stream.
	stopping chan struct{}
	stopOnce sync.Once

	errLogMu   sync.Mutex
	errLogLast time.Time
}

type cachedEvent struct {
	ev      strategies.Event
	fetched time.Time
}

// New builds a Room from cfg; Run does its background work.
func New(cfg Config) (*Room, error) {
	if err := cfg.Deps.Check(); err != nil {
		return nil, fmt.Errorf("new waiting room: %w", err)
	}
	if cfg.MaxQueueLength < 0 || cfg.MaxStreamsPerSession < 0 {
		return nil, fmt.Errorf("new waiting room: negative limit (queue %d, streams per session %d)", cfg.MaxQueueLength, cfg.MaxStreamsPerSession)
	}
	sign, generated, err := newSigner(cfg.Secret)
	if err != nil {
		return nil, err
	}
	if generated {
		cfg.Logger.Warn("no admission secret configured: generated one for this process; " +
			"admission tokens will not be accepted by other server processes or after a restart")
	}
	m, err := newMetrics(cfg.Registry)
	if err != nil {
		return nil, fmt.Errorf("new waiting room: register metrics: %w", err)
	}
	return &Room{
		rdb:               cfg.Redis,
		prefix:            cfg.KeyPrefix,
		sign:              sign,
		now:               cfg.Now,
		log:               cfg.Logger,
		store:             cfg.Events,
		table:             cfg.Table,
		tokenTTL:          10 * time.Minute,
		tick:              20 * time.Millisecond,
		burstSeconds:      5,
		maxBatch:          10000,
		streamTick:        250 * time.Millisecond,
		streamMinInterval: time.Second,
		heartbeat:         15 * time.Second,
		eventTTL:          time.Second,
		metrics:           m,
		maxQueue:          cfg.MaxQueueLength,
		maxStreams:        cfg.MaxStreamsPerSession,
		pace:              cfg.Pace,
		streamsOf:         map[string]int{},
		events:            map[string]cachedEvent{},
		rooms:             map[string]*broadcaster{},
		stopping:          make(chan struct{}),
	}, nil
}

// CloseStreams ends every open stream with a final `shutdown` event (an Error with code
// unavailable: the ticket stays valid, reconnect) and makes new streams end at once; a
// server shutting down calls it before it waits for the requests in flight. Run ending does
// the same. It is safe to call more than once.
func (q *Room) CloseStreams() { q.stopOnce.Do(func() { close(q.stopping) }) }

// Run admits sessions from every event's queue, one step per tick, until ctx is done; then it
// ends every open stream. Redis errors are logged and retried at the next tick: a Redis restart
// pauses admission, it does not stop the server. It returns nil.
func (q *Room) Run(ctx context.Context) error {
	defer q.CloseStreams()
	if q.rdb == nil {
		<-ctx.Done()
		return nil
	}
	t := time.NewTicker(q.tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if err := q.admitAll(ctx); err != nil && ctx.Err() == nil {
			q.logError("waiting-room admission step", err)
		}
	}
}

// admitAll runs one admission step for every event with sessions waiting.
func (q *Room) admitAll(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	events, err := q.activeEvents(ctx)
	if err != nil {
		return err
	}
	var first error
	for _, ev := range events {
		st, err := q.admitEvent(ctx, ev)
		if err != nil {
			if first == nil {
				first = err
			}
			continue
		}
		q.metrics.observeStep(ev, st)
	}
	return first
}

// currentPace is the share of the configured rates admitted at now (Config.Pace), within
// [minPace, 1].
func (q *Room) currentPace() float64 {
	if q.pace == nil {
		return 1
	}
	return min(1, max(minPace, q.pace()))
}

// logError logs a background error at most once a second, so a Redis outage does not flood
// the log at the admitter's tick rate.
func (q *Room) logError(msg string, err error) {
	q.errLogMu.Lock()
	defer q.errLogMu.Unlock()
	if now := time.Now(); now.Sub(q.errLogLast) >= time.Second {
		q.errLogLast = now
		q.log.Warn(msg, "err", err)
	}
}

// event returns an event's settings, reusing a copy read in the last eventTTL; concurrent misses
// for one event share a single store read.
func (q *Room) event(ctx context.Context, id string) (strategies.Event, error) {
	q.evMu.Lock()
	c, ok := q.events[id]
	q.evMu.Unlock()
	if ok && time.Since(c.fetched) < q.eventTTL {
		return c.ev, nil
	}
	if q.store == nil {
		return strategies.Event{}, fmt.Errorf("event %s: %w", id, strategies.ErrEventNotFound)
	}
	v, err, _ := q.evGroup.Do(id, func() (any, error) {
		// Shared by every concurrent join for the event: not cancelled with the first of them.
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		ev, err := q.store.GetEvent(lctx, id)
		if err != nil {
			return nil, err
		}
		q.evMu.Lock()
		q.events[id] = cachedEvent{ev: ev, fetched: time.Now()}
		q.evMu.Unlock()
		return ev, nil
	})
	if err != nil {
		return strategies.Event{}, err
	}
	return v.(strategies.Event), nil
}

// ForgetEvent drops this process's copy of an event's settings, so that a changed event is read
// again at once (the server calls it when it invalidates an event).
func (q *Room) ForgetEvent(id string) {
	q.evMu.Lock()
	delete(q.events, id)
	q.evMu.Unlock()
}

// CheckAdmission refuses a hold for an event whose waiting room is on unless token is a valid
// admission token for this session and event. The error wraps ErrNotAdmitted (403
// not_admitted) and says why: missing, forged, expired, for another event or another session.
// It needs no Redis: tokens are self-contained.
func (q *Room) CheckAdmission(ctx context.Context, ev strategies.Event, session, token string) error {
	if ev.WaitingRoom == nil || !ev.WaitingRoom.Enabled {
		return nil
	}
	_, err := q.sign.verifyAdmission(token, ev.ID, session, q.now())
	q.metrics.checked(err)
	return err
}
