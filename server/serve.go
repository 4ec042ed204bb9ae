package server

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"stampede/internal/admintoken"
	"stampede/internal/envflag"
	"stampede/internal/failpoint"
	"stampede/internal/sqldb"
	"stampede/server/overload"
	"stampede/server/tickets"
	"stampede/strategies"
)

// Options configure Serve: a whole reference server process.
type Options struct {
	// Addr is the listen address; port 0 picks a free port (Ready and the log say which).
	// Empty means 127.0.0.1:8080.
	Addr string
	// Strategy is the registry name of the concurrency strategy (strategies.Names).
	Strategy string
	// DB is a postgres:// URL or a mysql:// DSN (mysql://user:pass@host:port/db, or the driver's
	// mysql://user:pass@tcp(host:port)/db).
	DB string
	// Redis is a redis:// URL; empty runs without Redis (no waiting room, no read cache, and
	// no redis-lock).
	Redis string
	// PSP is the payment processor's base URL; empty runs without one (checkout cannot charge).
	PSP string
	// HoldTTL is the hold lifetime; 0 means 10 minutes.
	HoldTTL time.Duration
	// AllowUnsafe lets the strategies broken on purpose run (naive, redis-lock-unfenced,
	// status-expiry-blind).
	AllowUnsafe bool
	// Gate names the gate that admits scanned tickets (tickets.GateNames); empty means
	// tickets.DefaultGate. The gates broken on purpose need AllowUnsafe too.
	Gate string
	// SafetyNet adds the UNIQUE constraint on booked seats (off in verification runs).
	SafetyNet bool
	// PoolSize is the database pool size; 0 means sqldb's default (20).
	PoolSize int
	// KeyPrefix namespaces every Redis key the server and the strategy write.
	KeyPrefix string
	// AdmissionSecret signs waiting-room admission tokens; empty lets the waiting room pick
	// one (tokens then do not survive a restart, nor work across several servers).
	AdmissionSecret []byte
	// SweepInterval is how often a sweeping strategy releases expired holds; 0 means 1 s.
	SweepInterval time.Duration
	// HoldBatches is strategies.Deps.HoldGroups: how many shared batches of single-seat holds
	// run at once on MySQL; 0 means strategies.DefaultHoldGroups, negative a batch per hold.
	HoldBatches int
	// CheckoutLease and CheckoutIdle tune checkout recovery (see Config); 0 means the defaults.
	CheckoutLease time.Duration
	CheckoutIdle  time.Duration
	// SeatMapFreshness is how long one snapshot of an event's seat map is shared by all its
	// readers; 0 reads the database for every request. DefaultOptions (and so the serve command) has
	// DefaultSeatMapFreshness.
	SeatMapFreshness time.Duration
	// MaxInFlight bounds the requests in flight, shared by class of request (browse, join,
	// hold, checkout: see server/overload); 0 means no bound. DefaultOptions has
	// DefaultMaxInFlight.
	MaxInFlight int
	// OverloadWait is how long a request over its class's share of MaxInFlight waits for room
	// before it is refused 503 overloaded; 0 means 50 ms.
	OverloadWait time.Duration
	// OverloadTarget makes the in-flight limit adaptive: it follows the holds' service time
	// against this target (p90 per window) between MinInFlight and MaxInFlight, shedding the
	// rest 503 (server/overload); 0 keeps it fixed at MaxInFlight. DefaultOptions has
	// DefaultOverloadTarget. MinInFlight is the least it goes down to; 0 means
	// overload.DefaultMinInFlight.
	OverloadTarget time.Duration
	MinInFlight    int
	// ShutdownGrace (--shutdown-timeout) is how long a shutdown (SIGTERM, Ctrl-C) lets the
	// holds and checkouts in flight finish before cutting the rest; 0 means
	// DefaultShutdownTimeout. Open waiting-room streams get a final `shutdown` event at once.
	ShutdownGrace time.Duration
	// Registry receives every metric; nil means a new one.
	Registry *prometheus.Registry
	// Ready, when set, is called once the server listens, with the address it listens on.
	Ready func(addr string)
	// Shadow is the registry name of a strategy that replays every hold, release and confirm
	// the primary decides, on its own copy of the inventory, without changing any answer
	// (server/shadow); empty runs none. Any strategy may be a shadow, an unsafe one too: nobody
	// is sold what it decides.
	Shadow string
	// ShadowQueue bounds the primary's operations waiting for the shadow; beyond it they are
	// dropped and counted. 0 means shadow.DefaultQueue.
	ShadowQueue int
	// MaxSeatsPerHold bounds the seat ids of one hold (400 too_many_seats); 0 means
	// DefaultMaxSeatsPerHold. MaxHeaderBytes bounds a request's headers (431
	// headers_too_large); 0 means DefaultMaxHeaderBytes.
	MaxSeatsPerHold int
	MaxHeaderBytes  int
	// MaxQueueLength bounds the sessions waiting in one event's queue (503 queue_full with
	// Retry-After beyond it); MaxStreamsPerSession bounds the queue streams one session has
	// open in this process (429 too_many_streams beyond it). 0 means no bound; DefaultOptions
	// has DefaultMaxQueueLength and DefaultMaxStreamsPerSession.
	MaxQueueLength       int
	MaxStreamsPerSession int
	// AdminToken, when set, locks every /admin/* endpoint: a request must carry it as
	// "Authorization: Bearer TOKEN" (internal/admintoken) or is refused 401 unauthorized.
	// Empty leaves them open, which Validate allows only on a loopback Addr. It is a secret:
	// Args never carries it (give it with Env) and nothing logs it.
	AdminToken string
	// LogLevel is the level of the logger that `stampede serve` builds (Logger): debug, info,
	// warn or error; empty means info. Serve logs to the logger it is given.
	LogLevel string
	// Failpoints are armed from the start (failpoint.ParseSpec): `after-hold=delay:20ms`
	// answers every hold 20 ms late, as a regression to gate on; empty arms none (a chaos
	// schedule arms its own through the admin endpoint).
	Failpoints string
}

// DefaultOptions are the options of `stampede serve` given no flag: the documented defaults
// (the zero value of each other field).
func DefaultOptions() Options {
	return Options{Addr: DefaultAddr, PSP: DefaultPSP, KeyPrefix: DefaultKeyPrefix, LogLevel: "info",
		SeatMapFreshness: DefaultSeatMapFreshness, MaxInFlight: DefaultMaxInFlight, OverloadTarget: DefaultOverloadTarget, ShutdownGrace: DefaultShutdownTimeout,
		MaxSeatsPerHold: DefaultMaxSeatsPerHold, MaxHeaderBytes: DefaultMaxHeaderBytes,
		MaxQueueLength: DefaultMaxQueueLength, MaxStreamsPerSession: DefaultMaxStreamsPerSession}
}

// RegisterFlags defines the flags of `stampede serve` on fs, writing into o, each defaulting
// to o's value: start from DefaultOptions() for the documented defaults. The flags are the one
// spelling of the options on a command line (Args) and in the environment (Env).
func (o *Options) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.Addr, "addr", o.Addr, "listen address (port 0 picks a free one; the real address is printed)")
	fs.StringVar(&o.Strategy, "strategy", o.Strategy, "concurrency strategy: "+strings.Join(strategies.Names(), ", "))
	fs.StringVar(&o.DB, "db", o.DB, "database: postgres://user@host:port/db URL or mysql://user:pass@host:port/db DSN")
	fs.StringVar(&o.Redis, "redis", o.Redis, "Redis URL (redis://host:port/db); needed by redis-lock, the waiting room and the read cache")
	fs.StringVar(&o.PSP, "psp", o.PSP, "payment processor base URL")
	fs.DurationVar(&o.HoldTTL, "hold-ttl", o.HoldTTL, "hold lifetime (default 10m)")
	fs.BoolVar(&o.AllowUnsafe, "allow-unsafe", o.AllowUnsafe, "allow the strategies broken on purpose (naive, redis-lock-unfenced, status-expiry-blind), which sell seats twice, and the gates broken on purpose (per-gate-cache), which admit tickets twice")
	fs.StringVar(&o.Gate, "gate", o.Gate, "gate that admits scanned tickets: "+strings.Join(tickets.GateNames(), ", ")+" (default "+tickets.DefaultGate+")")
	fs.BoolVar(&o.SafetyNet, "safety-net", o.SafetyNet, "add a UNIQUE constraint on booked seats (off in verification runs)")
	fs.IntVar(&o.PoolSize, "pool-size", o.PoolSize, "database connection pool size (default 20)")
	fs.StringVar(&o.KeyPrefix, "key-prefix", o.KeyPrefix, "prefix of every Redis key")
	fs.Var((*secretFlag)(&o.AdmissionSecret), "admission-secret", "secret that signs waiting-room admission tokens (default: random per process)")
	fs.DurationVar(&o.SweepInterval, "sweep-interval", o.SweepInterval, "how often a sweeping strategy releases expired holds (default 1s)")
	fs.IntVar(&o.HoldBatches, "hold-batches", o.HoldBatches, fmt.Sprintf("shared batches of concurrent single-seat holds in flight at once on MySQL (default %d; -1: every hold in a batch of its own)", strategies.DefaultHoldGroups))
	fs.StringVar(&o.LogLevel, "log-level", o.LogLevel, "log level: debug, info, warn or error")
	fs.DurationVar(&o.SeatMapFreshness, "seatmap-freshness", o.SeatMapFreshness, "how long one seat-map snapshot is shared by all readers (0: every read is live)")
	fs.IntVar(&o.MaxInFlight, "max-in-flight", o.MaxInFlight, "requests in flight beyond which browse, join and hold are refused 503 overloaded, in that order (0: no bound)")
	fs.DurationVar(&o.OverloadWait, "overload-wait", o.OverloadWait, "how long a request over its class's share of max-in-flight waits for room (default 50ms)")
	fs.DurationVar(&o.OverloadTarget, "overload-target", o.OverloadTarget, "holds' service time (p90) the adaptive in-flight limit keeps to, shedding the rest 503 (0: the limit stays max-in-flight)")
	fs.IntVar(&o.MinInFlight, "min-in-flight", o.MinInFlight, fmt.Sprintf("least the adaptive in-flight limit goes down to (default %d)", overload.DefaultMinInFlight))
	fs.DurationVar(&o.CheckoutLease, "checkout-lease", o.CheckoutLease, "how long a checkout owns its idempotency key; must outlast the slowest payment (default 45s)")
	fs.StringVar(&o.Shadow, "shadow", o.Shadow, "a strategy to replay every hold, release and confirm against, on its own copy of the inventory, reporting where it decides differently (GET /admin/shadow); answers stay the primary's")
	fs.IntVar(&o.ShadowQueue, "shadow-queue", o.ShadowQueue, "operations waiting for the shadow beyond which they are dropped and counted (default 8192)")
	fs.IntVar(&o.MaxSeatsPerHold, "max-seats-per-hold", o.MaxSeatsPerHold, "most seat ids one hold may name (more: 400 too_many_seats)")
	fs.IntVar(&o.MaxHeaderBytes, "max-header-bytes", o.MaxHeaderBytes, "largest request headers accepted (larger: 431 headers_too_large)")
	fs.IntVar(&o.MaxQueueLength, "max-queue-length", o.MaxQueueLength, "most sessions waiting in one event's queue (more: 503 queue_full with Retry-After; 0: no bound)")
	fs.IntVar(&o.MaxStreamsPerSession, "max-streams-per-session", o.MaxStreamsPerSession, "most queue streams one session may have open (more: 429 too_many_streams; 0: no bound)")
	fs.DurationVar(&o.ShutdownGrace, "shutdown-timeout", o.ShutdownGrace, "on SIGTERM, how long requests in flight (holds, checkouts) may take to finish before the rest are cut")
	fs.StringVar(&o.AdminToken, "admin-token", o.AdminToken, "bearer token every /admin/* request must carry (required unless --addr is loopback; at least 16 characters)")
	fs.DurationVar(&o.CheckoutIdle, "checkout-idle", o.CheckoutIdle, "how long an unfinished checkout waits before the completer resumes it (default 1m)")
	fs.StringVar(&o.Failpoints, "failpoints", o.Failpoints, "failpoints armed from the start, NAME=ACTION,... with ACTION count, error, crash or delay:D (after-hold=delay:20ms: every hold answered 20ms late)")
}

// Args returns the flags that give `stampede serve` the options o, as --name=value, in the
// order of their names: every flag whose value differs from DefaultOptions(). Fields that are
// not flags (Registry, Ready) are not carried, nor is the admin token, a secret that a command
// line would show to every user of the machine: give it with Env.
func (o Options) Args() []string {
	var out []string
	for _, f := range o.changed() {
		if f[0] == adminTokenFlag {
			continue
		}
		out = append(out, "--"+f[0]+"="+f[1])
	}
	return out
}

// Env returns the environment that gives `stampede serve` the options o, as NAME=value
// entries: the flags of Args, each named by EnvName. An empty variable counts as unset
// (envflag.Apply), so a flag whose value in o is empty where its default is not (PSP,
// KeyPrefix) is left out: give those with Args.
func (o Options) Env() []string {
	var out []string
	for _, f := range o.changed() {
		if f[1] != "" {
			out = append(out, EnvName(f[0])+"="+f[1])
		}
	}
	return out
}

// changed lists the flags, name and value, whose value in o differs from its default.
func (o Options) changed() [][2]string {
	def := flag.NewFlagSet("defaults", flag.ContinueOnError)
	d := DefaultOptions()
	d.RegisterFlags(def)
	cur := flag.NewFlagSet("options", flag.ContinueOnError)
	o.RegisterFlags(cur) // o is a copy: each flag's default is o's own value
	var out [][2]string
	cur.VisitAll(func(f *flag.Flag) {
		if f.DefValue != def.Lookup(f.Name).DefValue {
			out = append(out, [2]string{f.Name, f.DefValue})
		}
	})
	return out
}

// adminTokenFlag is the flag of Options.AdminToken.
const adminTokenFlag = "admin-token"

// DefaultKeyPrefix is the Redis key prefix of `stampede serve` given no --key-prefix.
const DefaultKeyPrefix = "stampede:"

// EnvPrefix starts the name of every environment variable `stampede serve` reads.
const EnvPrefix = envflag.Prefix

// EnvName is the environment variable every subcommand with the flag reads (envflag.Name, the
// one rule of stampede's subcommands): hold-ttl is STAMPEDE_HOLD_TTL. `stampede serve` reads
// STAMPEDE_SERVE_HOLD_TTL first.
func EnvName(flagName string) string { return envflag.Name(flagName) }

// Logger returns a text logger writing to w at o.LogLevel, or an error naming the flag when
// the level is not one of debug, info, warn and error.
func (o Options) Logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if o.LogLevel != "" {
		if err := level.UnmarshalText([]byte(o.LogLevel)); err != nil {
			return nil, fmt.Errorf("log-level %q: want debug, info, warn or error", o.LogLevel)
		}
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level})), nil
}

// secretFlag is the admission secret as a flag: its text is the secret's bytes.
type secretFlag []byte

func (s *secretFlag) String() string {
	if s == nil {
		return ""
	}
	return string(*s)
}

func (s *secretFlag) Set(v string) error { *s = []byte(v); return nil }

// Defaults of Options.
const (
	DefaultAddr   = "127.0.0.1:8080"
	DefaultPSP    = "http://127.0.0.1:8081"
	cutGrace      = time.Second
	connectLimit  = 30 * time.Second
	readHeaderMax = 10 * time.Second
	idleMax       = 2 * time.Minute
)

// What the serve command runs with unless told otherwise (like DefaultPSP): an Options left at
// zero reads seat maps live and sheds nothing, as the server did before snapshots and the
// overload budget.
const (
	DefaultSeatMapFreshness = time.Second
	DefaultMaxInFlight      = 256
	// DefaultOverloadTarget is 0: the in-flight limit stays fixed at max-in-flight unless an
	// adaptive one is asked for. On two cores shared by the herd, the server and the database
	// the adaptive limit (100ms is a sensible target: well inside the 250 ms hold p99 of the
	// scenarios' SLOs) has not yet been shown to serve admitted buyers better: it halved their
	// hold p99 at eras-tour --scale 0.05 but halved the bookings too, and it slows admission,
	// which changes the hazards a run reaches. Opt in with --overload-target.
	DefaultOverloadTarget = 0
	// DefaultShutdownTimeout is how long a shutdown lets requests in flight finish: longer
	// than a checkout takes with a healthy processor.
	DefaultShutdownTimeout = 10 * time.Second
	// DefaultMaxHeaderBytes bounds a request's headers: far more than any client of the
	// contract sends.
	DefaultMaxHeaderBytes = 16 << 10
	// DefaultMaxQueueLength bounds one event's queue: five times the largest on-sale of the
	// scenarios (eras-tour's 200,000), about 100 MB of Redis.
	DefaultMaxQueueLength = 1_000_000
	// DefaultMaxStreamsPerSession bounds one session's open queue streams: a buyer with a few
	// tabs open; a client that reconnects in a loop without closing is stopped at once.
	DefaultMaxStreamsPerSession = 4
)

// Validate reports what is wrong with o before anything is started, so a mistyped strategy
// fails at once with a clear message rather than after a database connection. Serve calls it
// first.
func (o Options) Validate() error {
	switch {
	case o.Strategy == "":
		return fmt.Errorf("strategy: required; choose one of %s", strings.Join(strategies.Names(), ", "))
	case !slices.Contains(strategies.Names(), o.Strategy):
		return fmt.Errorf("strategy %q: unknown; choose one of %s", o.Strategy, strings.Join(strategies.Names(), ", "))
	case strategies.Unsafe(o.Strategy) && !o.AllowUnsafe:
		return fmt.Errorf("strategy %q is broken on purpose; pass --allow-unsafe to run it", o.Strategy)
	case o.Gate != "" && !slices.Contains(tickets.GateNames(), o.Gate):
		return fmt.Errorf("gate %q: unknown; choose one of %s", o.Gate, strings.Join(tickets.GateNames(), ", "))
	case tickets.UnsafeGate(o.Gate) && !o.AllowUnsafe:
		return fmt.Errorf("gate %q admits tickets twice on purpose; pass --allow-unsafe to run it", o.Gate)
	case o.DB == "":
		return errors.New("db: required (a postgres:// URL or a mysql://user:pass@host:port/db DSN)")
	case o.HoldTTL < 0:
		return fmt.Errorf("hold-ttl: must not be negative, got %s", o.HoldTTL)
	case o.PoolSize < 0:
		return fmt.Errorf("pool-size: must not be negative, got %d", o.PoolSize)
	case o.SeatMapFreshness < 0:
		return fmt.Errorf("seatmap-freshness: must not be negative (0 reads live), got %s", o.SeatMapFreshness)
	case o.MaxInFlight < 0:
		return fmt.Errorf("max-in-flight: must not be negative (0 means no bound), got %d", o.MaxInFlight)
	case o.MaxSeatsPerHold < 0:
		return fmt.Errorf("max-seats-per-hold: must not be negative, got %d", o.MaxSeatsPerHold)
	case o.MaxHeaderBytes < 0:
		return fmt.Errorf("max-header-bytes: must not be negative, got %d", o.MaxHeaderBytes)
	case o.MaxQueueLength < 0:
		return fmt.Errorf("max-queue-length: must not be negative (0 means no bound), got %d", o.MaxQueueLength)
	case o.MaxStreamsPerSession < 0:
		return fmt.Errorf("max-streams-per-session: must not be negative (0 means no bound), got %d", o.MaxStreamsPerSession)
	case o.ShutdownGrace < 0:
		return fmt.Errorf("shutdown-timeout: must not be negative, got %s", o.ShutdownGrace)
	case o.OverloadWait < 0:
		return fmt.Errorf("overload-wait: must not be negative, got %s", o.OverloadWait)
	case o.OverloadTarget < 0:
		return fmt.Errorf("overload-target: must not be negative (0 keeps the limit fixed), got %s", o.OverloadTarget)
	case o.MinInFlight < 0:
		return fmt.Errorf("min-in-flight: must not be negative, got %d", o.MinInFlight)
	case o.OverloadTarget > 0 && o.MaxInFlight == 0:
		return errors.New("overload-target: an adaptive limit needs a max-in-flight (it is 0: no bound)")
	case strategies.NeedsRedis(o.Strategy) && o.Redis == "":
		return fmt.Errorf("strategy %q keeps its holds in Redis: give --redis redis://host:port/db", o.Strategy)
	case o.Shadow != "" && !slices.Contains(strategies.Names(), o.Shadow):
		return fmt.Errorf("shadow %q: unknown strategy; choose one of %s", o.Shadow, strings.Join(strategies.Names(), ", "))
	case strategies.NeedsRedis(o.Shadow) && o.Redis == "":
		return fmt.Errorf("shadow %q keeps its holds in Redis: give --redis redis://host:port/db", o.Shadow)
	case o.ShadowQueue < 0:
		return fmt.Errorf("shadow-queue: must not be negative (0 means the default), got %d", o.ShadowQueue)
	case o.ShadowQueue > 0 && o.Shadow == "":
		return errors.New("shadow-queue: given without --shadow")
	}
	if _, err := sqldb.DialectOf(o.DB); err != nil {
		return fmt.Errorf("db: %w", err)
	}
	if _, err := failpoint.ParseSpec(o.Failpoints); err != nil {
		return fmt.Errorf("failpoints: %w", err)
	}
	if err := admintoken.Validate(o.AdminToken); err != nil {
		return err
	}
	addr := o.Addr
	if addr == "" {
		addr = DefaultAddr
	}
	return admintoken.RequireForAddr(addr, o.AdminToken)
}

// Serve runs the reference booking server until ctx is done: it connects to the database and
// applies the migrations, connects to Redis when asked, builds the strategy and the Server, runs
// their background work, and serves HTTP on o.Addr. When ctx ends it stops accepting, lets
// requests in flight finish for o.ShutdownGrace, then closes everything. It returns nil after a
// shutdown asked for by ctx, and an error naming the step when a step fails (including the
// background work failing while serving).
func Serve(ctx context.Context, o Options, logger *slog.Logger) error {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := o.Validate(); err != nil {
		return err
	}
	if o.Addr == "" {
		o.Addr = DefaultAddr
	}
	if o.ShutdownGrace <= 0 {
		o.ShutdownGrace = DefaultShutdownTimeout
	}
	reg := o.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
	}

	cctx, cancel := context.WithTimeout(ctx, connectLimit)
	defer cancel()
	db, err := sqldb.Open(cctx, o.DB, sqldb.Options{MaxConns: o.PoolSize, Metrics: sqldb.NewMetrics(reg)})
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	defer db.Close()
	if err := strategies.Migrate(cctx, db); err != nil {
		return fmt.Errorf("migrate database: %w", err)
	}

	var rdb *redis.Client
	if o.Redis != "" {
		ropts, err := redis.ParseURL(o.Redis)
		if err != nil {
			return fmt.Errorf("redis %q: %w", redactURL(o.Redis), err)
		}
		rdb = redis.NewClient(ropts)
		defer rdb.Close()
		if err := rdb.Ping(cctx).Err(); err != nil {
			return fmt.Errorf("redis at %s: %w", ropts.Addr, err)
		}
	}

	fps := failpoint.New()
	arms, err := failpoint.ParseSpec(o.Failpoints)
	if err != nil {
		return fmt.Errorf("failpoints: %w", err)
	}
	for name, a := range arms {
		if err := fps.Arm(name, a); err != nil {
			return err
		}
		logger.Warn("failpoint armed from the start", "failpoint", name, "action", a.Kind, "delay", a.Delay)
	}
	st, err := strategies.New(o.Strategy, strategies.Deps{
		DB: db, Redis: rdb, KeyPrefix: o.KeyPrefix, HoldTTL: o.HoldTTL, SafetyNet: o.SafetyNet,
		SweepInterval: o.SweepInterval, HoldGroups: o.HoldBatches, Logger: logger, Failpoints: fps,
	}, o.AllowUnsafe)
	if err != nil {
		return err
	}
	if c, ok := st.(strategies.Closer); ok {
		defer func() {
			if err := c.Close(); err != nil {
				logger.Warn("close strategy", "err", err)
			}
		}()
	}
	var shadowSt strategies.Strategy
	var shadowStore *strategies.Store
	if o.Shadow != "" {
		var closeShadow func()
		shadowSt, shadowStore, closeShadow, err = openShadow(cctx, o, db, rdb, logger)
		if err != nil {
			return err
		}
		defer closeShadow()
	}
	seed, err := strategies.NewStore(db, nil).TicketSeed(cctx)
	if err != nil {
		return err
	}
	holdTTL := strategies.HoldTTLOrDefault(o.HoldTTL)
	srv, err := New(Config{
		TicketSeed: seed, Gate: o.Gate, AllowUnsafeGate: o.AllowUnsafe,
		DB: db, Strategy: st, Redis: rdb, KeyPrefix: o.KeyPrefix, PSPURL: o.PSP, HoldTTL: holdTTL,
		Registry: reg, AdmissionSecret: o.AdmissionSecret, Failpoints: fps, Logger: logger,
		CheckoutLease: o.CheckoutLease, CheckoutIdle: o.CheckoutIdle,
		SeatMapFreshness: o.SeatMapFreshness, MaxInFlight: o.MaxInFlight, OverloadWait: o.OverloadWait,
		OverloadTarget: o.OverloadTarget, MinInFlight: o.MinInFlight,
		Shadow: shadowSt, ShadowStore: shadowStore, ShadowQueue: o.ShadowQueue,
		AdminToken: o.AdminToken, MaxSeatsPerHold: o.MaxSeatsPerHold, MaxHeaderBytes: o.MaxHeaderBytes,
		MaxQueueLength: o.MaxQueueLength, MaxStreamsPerSession: o.MaxStreamsPerSession,
	})
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", o.Addr, err)
	}
	addr := ln.Addr().String()

	// Requests' contexts derive from base, which outlives ctx by the shutdown grace: requests
	// in flight finish, and open streams are cut when the grace is over.
	base, cutRequests := context.WithCancel(context.WithoutCancel(ctx))
	defer cutRequests()
	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: readHeaderMax,
		// No ReadTimeout or WriteTimeout: either would cut the waiting room's server-sent event
		// streams. Bodies are bounded by size (decodeJSON), headers by ReadHeaderTimeout.
		IdleTimeout: idleMax,
		// net/http's own bound is the hard stop (it answers a bare 431); the Server answers
		// headers over MaxHeaderBytes with the contract's error first.
		MaxHeaderBytes: max(o.MaxHeaderBytes, DefaultMaxHeaderBytes) * 2,
		BaseContext:    func(net.Listener) context.Context { return base },
		ErrorLog:       slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}

	bg, stopBG := context.WithCancel(ctx)
	defer stopBG()
	runErr := make(chan error, 1)
	go func() { runErr <- srv.Run(bg) }()
	serveErr := make(chan error, 1)
	go func() { serveErr <- hs.Serve(ln) }()

	logger.Info("listening", "addr", addr, "strategy", st.Name(), "shadow", o.Shadow, "dialect", db.Dialect().String(), "hold_ttl", holdTTL.String(),
		"max_in_flight", o.MaxInFlight, "overload_target", o.OverloadTarget.String())
	if o.Ready != nil {
		o.Ready(addr)
	}

	var failure error
	runDone := runErr
wait:
	for {
		select {
		case <-ctx.Done():
			break wait
		case err := <-serveErr:
			failure = fmt.Errorf("serve http: %w", err)
			serveErr <- nil
			break wait
		case err := <-runDone:
			runErr <- nil
			if err != nil {
				failure = fmt.Errorf("background work: %w", err)
				break wait
			}
			runDone = nil // finished early without error: keep serving
		}
	}

	// Stop accepting; open waiting-room streams get their final event now (they are not
	// requests Shutdown waits for), and the holds and checkouts in flight finish within the
	// grace. A checkout cut after it gives up is left at a recovery point the completer
	// resumes on the next start.
	logger.Info("shutting down", "grace", o.ShutdownGrace.String())
	srv.CloseStreams()
	sctx, cancelShutdown := context.WithTimeout(context.WithoutCancel(ctx), o.ShutdownGrace)
	defer cancelShutdown()
	if err := hs.Shutdown(sctx); err != nil {
		// Cancel what is still running (open streams, requests parked at a failpoint) and give
		// the handlers a moment to answer before the connections are closed under them.
		logger.Warn("shutdown: cutting requests still open after the grace period", "grace", o.ShutdownGrace.String())
		cutRequests()
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cutGrace)
		if err := hs.Shutdown(cctx); err != nil {
			_ = hs.Close()
		}
		cancel()
	}
	if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) && failure == nil {
		failure = fmt.Errorf("serve http: %w", err)
	}
	stopBG()
	if err := <-runErr; err != nil && failure == nil {
		failure = fmt.Errorf("background work: %w", err)
	}
	logger.Info("stopped", "addr", addr)
	return failure
}

// redactURL hides a password in a URL for messages.
func redactURL(s string) string {
	if i := strings.Index(s, "@"); i > 0 {
		if j := strings.Index(s, "://"); j >= 0 && j+3 < i {
			if k := strings.LastIndex(s[:i], ":"); k > j+3 {
				return s[:k+1] + "xxx" + s[i:]
			}
		}
	}
	return s
}

// RunOwnedFlags are the flags of `stampede serve` that `stampede run` sets itself for the
// reference server it starts (from its own flags, the scenario or the services it starts), so
// ApplyFlags refuses them.
var RunOwnedFlags = []string{"addr", "strategy", "db", "redis", "psp", "hold-ttl", "allow-unsafe", "gate",
	"key-prefix", adminTokenFlag, "admission-secret", "failpoints", "shadow", "log-level"}

// ApplyFlags sets o from args, flags of `stampede serve` (--overload-target=100ms, or the flag
// and its value as two arguments), as the serve command would read them. A flag named in owned
// is refused, naming who sets it; so are an unknown flag, a bad value and a bare argument.
// Nothing of o changes unless every flag is good.
func (o *Options) ApplyFlags(args []string, owned []string) error {
	next := *o
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	next.RegisterFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%q: not a flag of stampede serve", fs.Arg(0))
	}
	var err error
	fs.Visit(func(f *flag.Flag) {
		if err == nil && slices.Contains(owned, f.Name) {
			err = fmt.Errorf("--%s: set by the run itself, not by a serve flag", f.Name)
		}
	})
	if err != nil {
		return err
	}
	*o = next
	return nil
}
