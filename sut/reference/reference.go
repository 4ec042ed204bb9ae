// Package reference is stampede's reference booking server as a system under test: `stampede
// serve` started as a child process (so faults can kill it and it can crash itself at a
// failpoint), with stampede's payment processor in this process, on backing services from
// package infra. Each System gets a database and a Redis key namespace of its own, and, when
// the fault schedule acts on the network, toxiproxy proxies between the server and its
// database, Redis and processor.
package reference

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"stampede/chaos"
	"stampede/infra"
	"stampede/internal/admintoken"
	"stampede/internal/proc"
	"stampede/internal/sqldb"
	"stampede/server"
	"stampede/server/payments"
	"stampede/sut"
	"stampede/sut/processor"
)

// Defaults of the server a System starts, chosen for runs rather than for production.
const (
	// CheckoutLease outlasts any payment a scenario slows down, and is short enough that a
	// crashed server's checkouts are resumed soon after the herd.
	CheckoutLease = 10 * time.Second
	// CheckoutIdle is how long an unfinished checkout waits before the server resumes it.
	CheckoutIdle = 3 * time.Second
	// SweepInterval is how often a sweeping strategy releases expired holds.
	SweepInterval = 500 * time.Millisecond
	// LogLevel keeps server.log to what went wrong.
	LogLevel = "warn"
	// settleMargin is how much longer than the checkout lease Settle waits.
	settleMargin = 15 * time.Second
	// stopGrace is how long Stop lets the server shut down before killing it.
	stopGrace = 5 * time.Second
)

// System is the reference server on one strategy and one database. It is not safe for
// concurrent use, except Handles, URL and PSP once Start has returned.
type System struct {
	binary   string
	services *infra.Services
	strategy string
	db       string

	logPath string
	fresh   bool
	proxies bool
	pspAddr string
	pspSeed int64
	tune    []func(*server.Options)

	opts    server.Options // the server's options, set by Start
	token   string         // the admin token of this run's server and processor, set by Start
	url     string
	psp     *processor.Processor
	proc    *proc.Process
	handles sut.Handles
	stops   []func() error // what Start started, undone in reverse order
}

var (
	_ sut.System    = (*System)(nil)
	_ sut.Restarter = (*System)(nil)
)

// Option configures a System.
type Option func(*System)

// WithLog writes the server's output to path (server.log of a run directory); the default
// discards it.
func WithLog(path string) Option { return func(s *System) { s.logPath = path } }

// WithFreshState gives the server a new, empty database (dropped and created again, named
// after the strategy and the database) and an empty Redis. Use it on services the run owns;
// without it the server uses the services' database and Redis as they are.
func WithFreshState() Option { return func(s *System) { s.fresh = true } }

// WithProxies puts toxiproxy proxies between the server and its database, its Redis and the
// processor, as the handles "db", "redis" and "psp" of the net-* faults.
func WithProxies() Option { return func(s *System) { s.proxies = true } }

// WithPSPAddr is where the processor listens (host:port); the default is a free loopback port.
func WithPSPAddr(addr string) Option { return func(s *System) { s.pspAddr = addr } }

// WithPSPSeed seeds the processor's failure decisions; the default is 1.
func WithPSPSeed(seed int64) Option { return func(s *System) { s.pspSeed = seed } }

// WithServer adjusts the server's options (hold TTL, unsafe strategies, admission secret, ...)
// over this package's defaults. Where the server listens and what it uses (Addr, Strategy,
// DB, Redis, PSP) are the System's to set and are overwritten.
func WithServer(tune func(o *server.Options)) Option {
	return func(s *System) { s.tune = append(s.tune, tune) }
}

// New describes the reference server running strategy on the database db (postgres or
// mysql) of services, started from the stampede executable binary. Nothing runs until Start.
func New(binary string, services *infra.Services, strategy, db string, opts ...Option) *System {
	s := &System{binary: binary, services: services, strategy: strategy, db: db, logPath: os.DevNull, pspSeed: 1}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Start starts the processor, prepares the database and Redis, puts the proxies in the path
// when asked, and starts the server, returning once it answers /healthz. A Start that fails
// has stopped what it had started.
func (s *System) Start(ctx context.Context) (err error) {
	if s.url != "" {
		return errors.New("reference server: already started")
	}
	defer func() {
		if err != nil {
			_ = s.Stop(context.WithoutCancel(ctx))
		}
	}()
	addr := s.pspAddr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	// One admin token per run locks the server's and the processor's /admin endpoints; every
	// admin client of the run gets it through the handles.
	if s.token, err = admintoken.New(); err != nil {
		return err
	}
	if s.psp, err = processor.Start(ctx, addr, s.pspSeed, payments.WithAdminToken(s.token)); err != nil {
		return err
	}
	s.stops = append(s.stops, func() error { s.psp.Close(); return nil })

	dsn, redisURL, err := s.prepare(ctx)
	if err != nil {
		return err
	}
	// The server's connections go by a name of this run's own (PostgreSQL's application_name),
	// which db-conn-kill ends and no other client of the database goes by.
	if dsn, err = sqldb.WithApplication(dsn, "stampede_server_"+strings.ToLower(rand.Text()[:12])); err != nil {
		return err
	}
	s.handles = sut.Handles{PSP: s.psp.URL(), DB: dsn, Redis: s.services.Redis, RedisURL: redisURL, AdminToken: s.token}

	o := server.DefaultOptions()
	o.KeyPrefix = "stampede:" + s.strategy + ":" + s.db + ":" // the run's own Redis key namespace
	o.SweepInterval, o.LogLevel, o.CheckoutLease, o.CheckoutIdle = SweepInterval, LogLevel, CheckoutLease, CheckoutIdle
	for _, tune := range s.tune {
		tune(&o)
	}
	o.Strategy, o.DB, o.Redis, o.PSP, o.AdminToken = s.strategy, dsn, redisURL, s.psp.URL(), s.token
	if s.proxies {
		if err := s.proxy(&o); err != nil {
			return err
		}
	}
	port, err := proc.FreePort()
	if err != nil {
		return err
	}
	o.Addr = "127.0.0.1:" + strconv.Itoa(port)
	base := "http://" + o.Addr
	// The server reads STAMPEDE_* variables too; give it none but its command line, and the
	// admin token, which a command line would show to every user of the machine.
	env := append(proc.EnvWithout(server.EnvPrefix), server.EnvName("admin-token")+"="+s.token)
	child, err := proc.NewProcess("server", s.binary, append([]string{"serve"}, o.Args()...),
		env, port, s.logPath, proc.ServerAnswers(base+"/healthz"))
	if err != nil {
		return err
	}
	if err := child.Start(ctx); err != nil {
		return fmt.Errorf("start the reference server: %w", err)
	}
	s.stops = append(s.stops, func() error { return child.Stop(stopGrace) })
	s.opts, s.url, s.proc = o, base, child
	s.handles.Server, s.handles.ServerProcess = base, child
	return nil
}

// prepare returns the database and Redis the server uses, made fresh when asked.
func (s *System) prepare(ctx context.Context) (dsn, redisURL string, err error) {
	admin, err := s.services.DB(s.db)
	if err != nil {
		return "", "", err
	}
	dsn, redisURL = admin, s.services.RedisURL
	if !s.fresh {
		return dsn, redisURL, nil
	}
	name := "run_" + strings.NewReplacer("-", "_").Replace(s.strategy) + "_" + s.db
	if dsn, err = freshDatabase(ctx, admin, name); err != nil {
		return "", "", err
	}
	if redisURL != "" {
		if err := flushRedis(ctx, redisURL); err != nil {
			return "", "", err
		}
	}
	return dsn, redisURL, nil
}

// proxy puts a proxy in front of the database, Redis (when there is one) and the processor,
// points o at them and gives them to the handles.
func (s *System) proxy(o *server.Options) error {
	ps := chaos.NewProxies()
	s.stops = append(s.stops, func() error { ps.Close(); return nil })
	s.handles.Proxies = map[string]sut.Proxy{}
	links := []struct {
		name string
		dsn  *string
	}{{"db", &o.DB}, {"redis", &o.Redis}, {"psp", &o.PSP}}
	for _, l := range links {
		if *l.dsn == "" {
			continue
		}
		host := hostPort(*l.dsn)
		if host == "" {
			return fmt.Errorf("proxy %s: no host:port in %q", l.name, *l.dsn)
		}
		px, err := ps.Start(l.name, host)
		if err != nil {
			return err
		}
		s.handles.Proxies[l.name] = px
		*l.dsn = strings.Replace(*l.dsn, host, px.Addr(), 1)
	}
	return nil
}

// Stop stops the server (letting it shut down for 5 s), the proxies and the processor. It is
// safe to call more than once.
func (s *System) Stop(context.Context) error {
	var errs []error
	for i := len(s.stops) - 1; i >= 0; i-- {
		errs = append(errs, s.stops[i]())
	}
	s.stops = nil
	return errors.Join(errs...)
}

// Restart kills the server (SIGKILL) and starts it again on the same port with the same
// options; it resumes its unfinished checkouts.
func (s *System) Restart(ctx context.Context) error {
	if s.proc == nil {
		return errors.New("restart the reference server: not started")
	}
	return s.proc.Restart(ctx)
}

// URL is the server's base URL.
func (s *System) URL() string { return s.url }

// PSP is the processor's base URL.
func (s *System) PSP() string {
	if s.psp == nil {
		return ""
	}
	return s.psp.URL()
}

// Handles are the server, its process, the processor, the database, Redis and the proxies.
func (s *System) Handles() sut.Handles { return s.handles }

// Options are the options the server was started with (valid after Start).
func (s *System) Options() server.Options { return s.opts }

// Settle first makes sure the server did not die during the run (a server that died and was
// not started again is a finding in itself: nothing after could reach it), then asks it to
// finish every checkout left open until none is, waiting at most the checkout lease and a
// margin.
func (s *System) Settle(ctx context.Context) error {
	if s.proc == nil {
		return errors.New("settle the reference server: not started")
	}
	if err := s.proc.Exited(); err != nil {
		return fmt.Errorf("the reference server died during the run: %w", err)
	}
	c := s.client()
	deadline := time.Now().Add(s.opts.CheckoutLease + settleMargin)
	for {
		st, err := c.Settle(ctx)
		if err == nil && st.Open == 0 {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			if err != nil {
				return fmt.Errorf("%d checkouts still open after waiting to settle (%v): %w", st.Open, err, sut.ErrUnsettled)
			}
			return fmt.Errorf("%d checkouts still open after waiting to settle: %w", st.Open, sut.ErrUnsettled)
		}
		select {
		case <-ctx.Done():
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// Ledgers reads the server's ledger of each event and the processor's.
func (s *System) Ledgers(ctx context.Context, events []string) (sut.Ledgers, error) {
	return sut.ReadLedgers(ctx, s.client(), sut.Processor{URL: s.PSP(), Token: s.token}, events)
}

// client is the admin client of the server, with the run's admin token.
func (s *System) client() sut.Server { return sut.Server{URL: s.url, Token: s.token} }
