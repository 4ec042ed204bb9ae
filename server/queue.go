package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/singleflight"

	"stampede/strategies"
)

// queueState is the waiting room of one server process: the Redis queues it shares with every
// other process (waitingroom.go), the token signer (admission.go), the admitter run by runQueue,
// and the per-event broadcasters of the SSE streams (waitingroom_stream.go).
type queueState struct {
	rdb    *redis.Client
	prefix string
	sign   *wrSigner
	now    func() time.Time
	log    *slog.Logger
	store  *strategies.Store

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

	metrics *wrMetrics

	evMu    sync.Mutex
	events  map[string]cachedEvent
	evGroup singleflight.Group

	// mu guards rooms and every broadcaster's subscribers.
	mu    sync.Mutex
	rooms map[string]*broadcaster
	// stopping is closed when runQueue ends, which ends every open stream.
	stopping chan struct{}
	stopOnce sync.Once

	errLogMu   sync.Mutex
	errLogLast time.Time
}

type cachedEvent struct {
	ev      strategies.Event
	fetched time.Time
}

func (s *Server) initQueue() error {
	sign, generated, err := newSigner(s.cfg.AdmissionSecret)
	if err != nil {
		return err
	}
	if generated {
		s.cfg.Logger.Warn("no admission secret configured: generated one for this process; " +
			"admission tokens will not be accepted by other server processes or after a restart")
	}
	q := &queueState{
		rdb:               s.cfg.Redis,
		prefix:            s.cfg.KeyPrefix,
		sign:              sign,
		now:               s.cfg.Now,
		log:               s.cfg.Logger,
		tokenTTL:          10 * time.Minute,
		tick:              20 * time.Millisecond,
		burstSeconds:      5,
		maxBatch:          10000,
		streamTick:        250 * time.Millisecond,
		streamMinInterval: time.Second,
		heartbeat:         15 * time.Second,
		eventTTL:          time.Second,
		metrics:           newWRMetrics(s.cfg.Registry),
		events:            map[string]cachedEvent{},
		rooms:             map[string]*broadcaster{},
		stopping:          make(chan struct{}),
	}
	switch {
	case s.store != nil:
		q.store = s.store
	case s.cfg.DB != nil:
		q.store = strategies.NewStore(s.cfg.DB, s.cfg.Now)
	}
	s.queue = q
	return nil
}

// runQueue admits sessions from every event's queue, one step per tick, until ctx is done; then
// it ends every open stream. Redis errors are logged and retried at the next tick: a Redis
// restart pauses admission, it does not stop the server.
func (s *Server) runQueue(ctx context.Context) error {
	q := s.queue
	defer q.stopOnce.Do(func() { close(q.stopping) })
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
func (q *queueState) admitAll(ctx context.Context) error {
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

// logError logs a background error at most once a second, so a Redis outage does not flood
// the log at the admitter's tick rate.
func (q *queueState) logError(msg string, err error) {
	q.errLogMu.Lock()
	defer q.errLogMu.Unlock()
	if now := time.Now(); now.Sub(q.errLogLast) >= time.Second {
		q.errLogLast = now
		q.log.Warn(msg, "err", err)
	}
}

// event returns an event's settings, reusing a copy read in the last eventTTL; concurrent misses
// for one event share a single store read.
func (q *queueState) event(ctx context.Context, id string) (strategies.Event, error) {
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

// forgetEvent drops this process's copy of an event's settings (invalidateEvent calls it).
func (q *queueState) forgetEvent(id string) {
	q.evMu.Lock()
	delete(q.events, id)
	q.evMu.Unlock()
}

// checkAdmission refuses a hold for an event whose waiting room is on unless token is a valid
// admission token for this session and event. The error wraps errNotAdmitted (403
// not_admitted) and says why: missing, forged, expired, for another event or another session.
// It needs no Redis: tokens are self-contained.
func (s *Server) checkAdmission(ctx context.Context, ev strategies.Event, session, token string) error {
	if ev.WaitingRoom == nil || !ev.WaitingRoom.Enabled {
		return nil
	}
	_, err := s.queue.sign.verifyAdmission(token, ev.ID, session, s.cfg.Now())
	s.queue.metrics.checked(err)
	return err
}

// queueStatus is api.yaml's QueueStatus.
type queueStatus struct {
	Ticket   string `json:"ticket"`
	EventID  string `json:"event_id"`
	Position int64  `json:"position"`
	Length   int64  `json:"length"`
	// ETASeconds is absent while admission is paused (rate 0).
	ETASeconds *float64 `json:"eta_seconds,omitempty"`
	Admitted   bool     `json:"admitted"`
	// AdmissionToken and AdmissionExpiresAt are present once admitted.
	AdmissionToken     string     `json:"admission_token,omitempty"`
	AdmissionExpiresAt *time.Time `json:"admission_expires_at,omitempty"`
	// AdmitPerSecond is the queue's current admission rate.
	AdmitPerSecond float64 `json:"admit_per_second"`
}

// statusOf builds the QueueStatus of ticket t at standing p.
func (q *queueState) statusOf(tk string, t queueTicket, p queuePlace) queueStatus {
	st := queueStatus{Ticket: tk, EventID: t.Event, Position: p.Position, Length: p.Length, AdmitPerSecond: p.Rate}
	if !p.Admitted.IsZero() {
		st.Admitted = true
		st.Position = 0
		st.AdmissionToken = q.sign.admissionToken(t.Event, t.Session, p.Admitted, q.tokenTTL)
		exp := p.Admitted.Add(q.tokenTTL).UTC()
		st.AdmissionExpiresAt = &exp
		zero := 0.0
		st.ETASeconds = &zero
		return st
	}
	if p.Rate > 0 {
		eta := math.Ceil(float64(p.Position)/p.Rate*10) / 10
		st.ETASeconds = &eta
	}
	return st
}

// unavailable logs a Redis failure and returns what the client is told: 503 unavailable, since
// the operation may or may not have reached Redis.
func (q *queueState) unavailable(r *http.Request, err error) error {
	if errors.Is(err, errNoRedis) {
		return fmt.Errorf("%w: %w", errUnavailable, errNoRedis)
	}
	q.log.Warn("waiting room", "method", r.Method, "path", r.URL.Path, "err", err)
	return fmt.Errorf("waiting room unreachable: %w", errUnavailable)
}

// handleJoinQueue is POST /events/{event_id}/queue: 201 with a new ticket, 200 with the same
// ticket for a session already waiting or admitted, 409 waiting_room_off.
func (s *Server) handleJoinQueue(w http.ResponseWriter, r *http.Request) {
	q := s.queue
	session, err := sessionFrom(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	id, err := eventIDFrom(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	ev, err := q.event(r.Context(), id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if ev.WaitingRoom == nil || !ev.WaitingRoom.Enabled {
		writeError(w, r, fmt.Errorf("event %s: %w", id, errWaitingRoomOff))
		return
	}
	p, state, err := q.join(r.Context(), id, session, ev.WaitingRoom.AdmitPerSecond)
	if err != nil {
		writeError(w, r, q.unavailable(r, err))
		return
	}
	t := queueTicket{Event: id, Session: session, Run: p.Run}
	status := http.StatusOK
	if state == joinNew {
		status = http.StatusCreated
	}
	q.metrics.joined(id, state)
	writeJSON(w, status, q.statusOf(q.sign.ticket(t), t, p))
}

// ticketFrom reads and checks the {ticket} path value against the request's session. Another
// session's ticket is answered like an unknown one (404), so tickets cannot be probed.
func (q *queueState) ticketFrom(r *http.Request) (string, queueTicket, error) {
	session, err := sessionFrom(r)
	if err != nil {
		return "", queueTicket{}, err
	}
	tk := r.PathValue("ticket")
	t, err := q.sign.parseTicket(tk)
	if err != nil {
		return "", queueTicket{}, err
	}
	if t.Session != session {
		return "", queueTicket{}, fmt.Errorf("%w: the ticket belongs to another session", errTicketNotFound)
	}
	return tk, t, nil
}

// lookup reads a ticket's standing, counting answers about reset queues.
func (q *queueState) lookup(r *http.Request, t queueTicket) (queuePlace, error) {
	p, err := q.status(r.Context(), t)
	switch {
	case errors.Is(err, errQueueReset):
		q.metrics.staleTickets.Inc()
		return p, err
	case errors.Is(err, errTicketNotFound):
		return p, err
	case err != nil:
		return p, q.unavailable(r, err)
	}
	return p, nil
}

// handleQueueStatus is GET /queue/{ticket}.
func (s *Server) handleQueueStatus(w http.ResponseWriter, r *http.Request) {
	q := s.queue
	tk, t, err := q.ticketFrom(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	p, err := q.lookup(r, t)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, q.statusOf(tk, t, p))
}

// waitingRoomUpdate is the body of PUT /admin/events/{event_id}/waiting-room.
type waitingRoomUpdate struct {
	AdmitPerSecond *float64 `json:"admit_per_second"`
}

// maxAdmitPerSecond bounds the admission rate an admin can set.
const maxAdmitPerSecond = 1e6

// handleSetWaitingRoom is PUT /admin/events/{event_id}/waiting-room: it changes the event's
// admission rate for every server process sharing the Redis, from the admitters' next tick.
func (s *Server) handleSetWaitingRoom(w http.ResponseWriter, r *http.Request) {
	q := s.queue
	id, err := eventIDFrom(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	var body waitingRoomUpdate
	if err := decodeJSON(r, &body); err != nil {
		writeError(w, r, err)
		return
	}
	if body.AdmitPerSecond == nil {
		writeError(w, r, invalid("admit_per_second", "admit_per_second: required"))
		return
	}
	rate := *body.AdmitPerSecond
	if math.IsNaN(rate) || rate < 0 || rate > maxAdmitPerSecond {
		writeError(w, r, invalid("admit_per_second", "admit_per_second: must be 0..%g, got %g", float64(maxAdmitPerSecond), rate))
		return
	}
	ev, err := q.event(r.Context(), id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if ev.WaitingRoom == nil || !ev.WaitingRoom.Enabled {
		writeError(w, r, fmt.Errorf("event %s: %w", id, errWaitingRoomOff))
		return
	}
	if err := q.setRate(r.Context(), id, rate); err != nil {
		writeError(w, r, q.unavailable(r, err))
		return
	}
	writeJSON(w, http.StatusOK, strategies.WaitingRoom{Enabled: true, AdmitPerSecond: rate})
}

// wrMetrics are the waiting room's metrics.
type wrMetrics struct {
	length       *prometheus.GaugeVec
	rate         *prometheus.GaugeVec
	admitted     *prometheus.CounterVec
	wait         *prometheus.HistogramVec
	joins        *prometheus.CounterVec
	checks       *prometheus.CounterVec
	streams      prometheus.Gauge
	staleTickets prometheus.Counter
}

func newWRMetrics(reg prometheus.Registerer) *wrMetrics {
	return &wrMetrics{
		length: wrRegister(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "stampede_waiting_room_length", Help: "Sessions waiting in an event's queue, as of the last admission step.",
		}, []string{"event"})),
		rate: wrRegister(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "stampede_waiting_room_admit_rate", Help: "Configured admission rate of an event's queue, in sessions per second.",
		}, []string{"event"})),
		admitted: wrRegister(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stampede_waiting_room_admitted_total", Help: "Sessions admitted by this process's admitter; rate() of it is the actual admission rate.",
		}, []string{"event"})),
		wait: wrRegister(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "stampede_waiting_room_wait_seconds", Help: "Time from joining the queue to admission (Redis clock).",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 18), // 50 ms .. about 3.6 hours
		}, []string{"event"})),
		joins: wrRegister(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stampede_waiting_room_joins_total", Help: "Queue joins by outcome: new, waiting (joined again), admitted (already admitted).",
		}, []string{"event", "result"})),
		checks: wrRegister(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stampede_admission_checks_total", Help: "Admission token checks on holds by result.",
		}, []string{"result"})),
		streams: wrRegister(reg, prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "stampede_waiting_room_streams", Help: "Open queue SSE streams in this process.",
		})),
		staleTickets: wrRegister(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "stampede_waiting_room_stale_tickets_total", Help: "Tickets refused because their queue was reset (Redis lost it).",
		})),
	}
}

func (m *wrMetrics) observeStep(event string, st admitStep) {
	m.length.WithLabelValues(event).Set(float64(st.Length))
	m.rate.WithLabelValues(event).Set(st.Rate)
	if len(st.Sessions) == 0 {
		return
	}
	m.admitted.WithLabelValues(event).Add(float64(len(st.Sessions)))
	h := m.wait.WithLabelValues(event)
	for _, w := range st.Waits {
		h.Observe(w.Seconds())
	}
}

func (m *wrMetrics) joined(event, state string) { m.joins.WithLabelValues(event, state).Inc() }

func (m *wrMetrics) checked(err error) {
	result := "ok"
	switch {
	case err == nil:
	case errors.Is(err, errTokenMissing):
		result = "missing"
	case errors.Is(err, errTokenForged):
		result = "forged"
	case errors.Is(err, errTokenOtherEvent):
		result = "other_event"
	case errors.Is(err, errTokenOtherSession):
		result = "other_session"
	case errors.Is(err, errTokenExpired):
		result = "expired"
	default:
		result = "error"
	}
	m.checks.WithLabelValues(result).Inc()
}

// wrRegister registers c on reg, or returns the collector already registered under the same
// name (several Servers built on one registry share their metrics).
func wrRegister[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
	}
	return c
}
