package checkout

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"stampede/internal/failpoint"
	"stampede/internal/promreg"
	"stampede/internal/sqldb"
	"stampede/server/api"
	"stampede/server/payments"
	"stampede/server/tickets"
	"stampede/strategies"
)

// Checkout defaults; tests shorten them on the Service.
const (
	// defaultLease is how long an execution owns its key. It must outlast the slowest execution
	// (pspTimeout plus the database work); budget keeps executions inside it.
	defaultLease = 45 * time.Second
	// defaultPSPTimeout bounds one processor request.
	defaultPSPTimeout = 20 * time.Second
	// defaultIdle: an unfinished key untouched this long is resumed by the completer (a client
	// that got a 503 retries well before that).
	defaultIdle = time.Minute
	// defaultCompleterEvery is the completer's period; completerBatch bounds one pass.
	defaultCompleterEvery = 5 * time.Second
	completerBatch        = 50
)

// Config is what a Service is built from.
type Config struct {
	// Deps are the server's error table (Errors are this package's rows of it), the registry
	// of the checkout metrics, the logger of the completer's and unknown outcomes' reports, and
	// the clock of the idempotency keys' leases and idle times. Required.
	api.Deps
	// DB holds the idempotency keys and the record of payments; without it every checkout
	// answers 503 unavailable.
	DB sqldb.DB
	// Strategy checks and confirms holds; without it every checkout answers 503 unavailable.
	Strategy strategies.Strategy
	// ChargesInTx says that Strategy calls the charge inside its own transaction (see
	// ChargesInTx).
	ChargesInTx bool
	// Bookings finds a booking by id, so that a charge that paid a booking is never refunded.
	Bookings Bookings
	// PSPURL is the payment processor's base URL; empty means none, and every checkout answers
	// 503 unavailable.
	PSPURL string
	// Failpoints are the chaos schedule's points (failpoint.BeforeCharge, AfterCharge,
	// BeforeRefund); nil disables them at no cost.
	Failpoints *failpoint.Set
	// Lease is how long an execution owns its idempotency key; 0 means 45 s. It must outlast
	// the slowest payment. Idle is how long an unfinished key must be untouched before the
	// completer resumes it; 0 means a minute.
	Lease time.Duration
	Idle  time.Duration
	// Tickets, when set, signs the tickets the booking's answer carries (one per seat or
	// general-admission unit); nil answers the booking without tickets.
	Tickets *tickets.Keys
}

// Bookings finds bookings; a *strategies.Store is one.
type Bookings interface {
	GetBooking(ctx context.Context, id string) (strategies.Booking, error)
}

// BookingsFunc is a function seen as Bookings.
type BookingsFunc func(ctx context.Context, id string) (strategies.Booking, error)

// GetBooking implements Bookings.
func (f BookingsFunc) GetBooking(ctx context.Context, id string) (strategies.Booking, error) {
	return f(ctx, id)
}

var (
	_ Bookings = (*strategies.Store)(nil)
	_ Bookings = BookingsFunc(nil)
)

// chargesInTx is implemented by strategies that say where they charge.
type chargesInTx interface{ ChargesInTransaction() bool }

// ChargesInTx reports whether st calls the charge inside its own transaction: what st says when
// it implements ChargesInTransaction, and otherwise true for the pessimistic strategy, which is
// known to. Ask the strategy as built, not a wrapper that hides its methods.
func ChargesInTx(st strategies.Strategy) bool {
	if st == nil {
		return false
	}
	if t, ok := st.(chargesInTx); ok {
		return t.ChargesInTransaction()
	}
	return st.Name() == "pessimistic"
}

// Service runs checkouts: the checkout endpoint, the completer that resumes abandoned keys, and
// settling before a ledger is read. It is safe for concurrent use.
type Service struct {
	keys     *keyStore
	psp      *payments.Client
	strategy strategies.Strategy
	bookings Bookings
	table    api.Table
	log      *slog.Logger
	// inTx reports that the strategy calls the charge inside its own transaction, holding a
	// pooled connection: chargeFunc then writes nothing to the database (a second connection
	// could deadlock a small pool) and the charge is recorded right after Confirm returns.
	inTx bool
	// budget bounds one execution; it is shorter than the lease so that a live execution never
	// outlasts its lease and meets its successor.
	budget         time.Duration
	idle           time.Duration
	completerEvery time.Duration
	// crashAt, set only by tests, makes an execution stop dead at a named point (crashPoints)
	// as if the process died there: nothing more is written, not even the lease release, and
	// the client's connection is dropped.
	crashAt func(point string) bool
	// failpoints are the chaos schedule's points; nil disables them at no cost.
	failpoints *failpoint.Set
	// tickets sign the tickets of the booking's answer; nil answers without them.
	tickets *tickets.Keys
	// flaw is the checkout's part of a broken variant (strategies.FlawChargeEachAttempt,
	// FlawRefundUnmade); "" for every safe strategy.
	flaw strategies.Flaw

	outcomes   *prometheus.CounterVec
	duration   *prometheus.HistogramVec
	pspSeconds *prometheus.HistogramVec
	resumes    *prometheus.CounterVec
}

// flawOf is st's flaw, "" without a strategy.
func flawOf(st strategies.Strategy) strategies.Flaw {
	if st == nil {
		return ""
	}
	return strategies.FlawOf(st.Name())
}

// New builds a Service from cfg; Run is its completer.
func New(cfg Config) (*Service, error) {
	if err := cfg.Deps.Check(); err != nil {
		return nil, fmt.Errorf("new checkout: %w", err)
	}
	lease, idle := defaultLease, defaultIdle
	if cfg.Lease > 0 {
		lease = cfg.Lease
	}
	if cfg.Idle > 0 {
		idle = cfg.Idle
	}
	c := &Service{
		keys:           &keyStore{db: cfg.DB, now: cfg.Now, lease: lease},
		strategy:       cfg.Strategy,
		bookings:       cfg.Bookings,
		table:          cfg.Table,
		log:            cfg.Logger,
		inTx:           cfg.ChargesInTx,
		budget:         lease * 3 / 4,
		idle:           idle,
		completerEvery: defaultCompleterEvery,
		failpoints:     cfg.Failpoints,
		tickets:        cfg.Tickets,
		flaw:           flawOf(cfg.Strategy),
	}
	if cfg.PSPURL != "" {
		psp, err := payments.NewClient(cfg.PSPURL, payments.WithTimeout(defaultPSPTimeout))
		if err != nil {
			return nil, fmt.Errorf("checkout: %w", err)
		}
		c.psp = psp
	}
	var err error
	c.outcomes = promreg.Register(cfg.Registry, prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "stampede", Subsystem: "checkout", Name: "outcomes_total",
		Help: "Checkout answers by strategy and outcome (booked, replayed, or the error code).",
	}, []string{"strategy", "outcome"}), &err)
	c.duration = promreg.Register(cfg.Registry, prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "stampede", Subsystem: "checkout", Name: "duration_seconds",
		Help:    "Checkout request duration by strategy and outcome.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
	}, []string{"strategy", "outcome"}), &err)
	c.pspSeconds = promreg.Register(cfg.Registry, prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "stampede", Subsystem: "checkout", Name: "processor_seconds",
		Help:    "Payment processor request latency by operation (charge, refund) and result (ok, declined, unknown, error).",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
	}, []string{"op", "result"}), &err)
	c.resumes = promreg.Register(cfg.Registry, prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "stampede", Subsystem: "checkout", Name: "resumes_total",
		Help: "Checkout executions resumed from a recovery point, by who resumed them (retry, completer).",
	}, []string{"by"}), &err)
	if err != nil {
		return nil, fmt.Errorf("new checkout: register metrics: %w", err)
	}
	return c, nil
}

// ready reports whether checkouts can run: a database, a strategy and a processor.
func (c *Service) ready() bool { return c.keys.db != nil && c.psp != nil && c.strategy != nil }

// Run is the completer: until ctx is done, it periodically resumes abandoned keys (a crashed
// execution whose lease expired, or an unknown outcome nobody retried) and drives each to a
// booking or a refund. Failures are logged and retried at the next pass; it returns nil.
func (c *Service) Run(ctx context.Context) error {
	if c.keys.db == nil {
		<-ctx.Done()
		return nil
	}
	t := time.NewTicker(c.completerEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if _, err := c.completeAbandoned(ctx); err != nil && ctx.Err() == nil {
			c.log.Warn("checkout completer", "err", err)
		}
	}
}

// completeAbandoned makes one completer pass and returns how many keys it resumed.
func (c *Service) completeAbandoned(ctx context.Context) (int, error) {
	return c.completeIdle(ctx, c.idle)
}

// completeIdle resumes the unfinished keys untouched for idle whose lease is free or expired.
func (c *Service) completeIdle(ctx context.Context, idle time.Duration) (int, error) {
	if c.psp == nil || c.strategy == nil {
		return 0, nil
	}
	keys, err := c.keys.abandoned(ctx, c.keys.clock().Add(-idle), completerBatch)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, sk := range keys {
		if ctx.Err() != nil {
			break
		}
		k, outcome, err := c.keys.takeOver(ctx, sk[0], sk[1], "")
		if err != nil {
			c.log.Warn("checkout completer: take over key", "session", sk[0], "key", sk[1], "err", err)
			continue
		}
		if outcome != beginResume {
			continue // finished or taken meanwhile
		}
		n++
		c.resumes.WithLabelValues("completer").Inc()
		ectx, cancel := context.WithTimeout(ctx, c.budget)
		res := c.execute(ectx, k)
		cancel()
		if res.err != nil {
			c.log.Warn("checkout completer: key still open", "session", sk[0], "key", sk[1], "err", res.err)
		}
	}
	return n, nil
}

// RefundRecord is a refund the server issued, as GET /admin/ledger shows it.
type RefundRecord struct {
	RefundID    string `json:"refund_id"`
	ChargeID    string `json:"charge_id"`
	HoldID      string `json:"hold_id"`
	AmountCents int64  `json:"amount_cents"`
	Reason      string `json:"reason"`
}

// Refunds lists the refunds checkout issued for an event's holds, oldest first; an empty list
// without a database.
func (c *Service) Refunds(ctx context.Context, eventID string) ([]RefundRecord, error) {
	if c.keys.db == nil {
		return []RefundRecord{}, nil
	}
	return c.keys.refundRecords(ctx, eventID)
}

// bookingAnswer is the answer of a checkout that booked (api.yaml Booking): the booking and,
// as a compatible extension, its signed tickets.
type bookingAnswer struct {
	strategies.Booking
	Tickets []tickets.Ticket `json:"tickets,omitempty"`
}

// answer is the booking's answer, with its tickets when the service signs them.
func (c *Service) answer(b strategies.Booking) bookingAnswer {
	a := bookingAnswer{Booking: b}
	if c.tickets != nil {
		a.Tickets = c.tickets.Issue(b)
	}
	return a
}
