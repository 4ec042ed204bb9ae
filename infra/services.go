package infra

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// ErrUnsupported is returned when a target cannot do what a fault asks (killing an external
// Redis, pausing a database reached only over SQL). Callers match it with errors.Is.
var ErrUnsupported = errors.New("not supported by this target")

// Target is one backing service of a run as faults see it. What else it can do is found by
// type assertion on the capability interfaces below (Killer, Pauser, Restarter); the helper
// functions Kill, Pause, Resume and Restart do that and return ErrUnsupported when it cannot.
// The targets of the local provider are *local.Process values.
type Target interface {
	// Name is the service: postgres, mysql (mariadb for a local MariaDB) or redis.
	Name() string
	// Addr is host:port, or a socket path for a unix-socket DSN.
	Addr() string
}

// Killer is a target that can be killed at once (SIGKILL), without a clean shutdown.
type Killer interface {
	Kill() error
}

// Pauser is a target that can be frozen (SIGSTOP: connections hang) and thawed.
type Pauser interface {
	Pause() error
	Resume() error
}

// Restarter is a target that can be killed and started again at the same address. Databases
// keep their data; a local Redis comes back empty.
type Restarter interface {
	Restart(ctx context.Context) error
}

// KillerFunc adapts a function to Killer.
type KillerFunc func() error

// Kill calls f.
func (f KillerFunc) Kill() error { return f() }

// RestarterFunc adapts a function to Restarter.
type RestarterFunc func(ctx context.Context) error

// Restart calls f.
func (f RestarterFunc) Restart(ctx context.Context) error { return f(ctx) }

var (
	_ Killer    = KillerFunc(nil)
	_ Restarter = RestarterFunc(nil)
)

// Kill kills t, or returns an error wrapping ErrUnsupported when t cannot be killed or is nil
// (the service is not part of the run).
func Kill(t Target) error {
	k, ok := t.(Killer)
	if !ok {
		return unsupported("kill", t)
	}
	if err := k.Kill(); err != nil {
		return fmt.Errorf("kill %s: %w", t.Name(), err)
	}
	return nil
}

// Pause freezes t, or returns an error wrapping ErrUnsupported.
func Pause(t Target) error {
	p, ok := t.(Pauser)
	if !ok {
		return unsupported("pause", t)
	}
	if err := p.Pause(); err != nil {
		return fmt.Errorf("pause %s: %w", t.Name(), err)
	}
	return nil
}

// Resume thaws t, or returns an error wrapping ErrUnsupported.
func Resume(t Target) error {
	p, ok := t.(Pauser)
	if !ok {
		return unsupported("resume", t)
	}
	if err := p.Resume(); err != nil {
		return fmt.Errorf("resume %s: %w", t.Name(), err)
	}
	return nil
}

// Restart kills t and starts it again, or returns an error wrapping ErrUnsupported.
func Restart(ctx context.Context, t Target) error {
	r, ok := t.(Restarter)
	if !ok {
		return unsupported("restart", t)
	}
	if err := r.Restart(ctx); err != nil {
		return fmt.Errorf("restart %s: %w", t.Name(), err)
	}
	return nil
}

func unsupported(verb string, t Target) error {
	if t == nil {
		return fmt.Errorf("%s: the service is not part of this run: %w", verb, ErrUnsupported)
	}
	return fmt.Errorf("%s %s at %s: %w", verb, t.Name(), t.Addr(), ErrUnsupported)
}

// services builds the Services of a provider that started processes or containers: their
// URLs, their handles as targets (a handle that is nil, a service not started, becomes a nil
// Target: a nil pointer in an interface would not compare equal to nil, and faults test for
// nil) and what tears them down.
func services[P interface {
	Target
	comparable
}](postgresURL string, postgres P, mysqlDSN string, mysql P, redisURL string, redis P, closeFn func() error) *Services {
	target := func(p P) Target {
		var none P
		if p == none {
			return nil
		}
		return p
	}
	return &Services{
		PostgresURL: postgresURL, Postgres: target(postgres),
		MySQLDSN: mysqlDSN, MySQL: target(mysql),
		RedisURL: redisURL, Redis: target(redis),
		closeFn: closeFn,
	}
}

// Services are the backing services of one run: where to reach them, and a Target for each
// one in use (nil when the run does not use it), through which faults act on them. TargetURL
// is set when the system under test is not the reference server but a booking system given by
// --target or STAMPEDE_TARGET.
//
// Services from Local own processes and a directory: Close tears them down. Close is safe to
// call more than once; it does nothing for external services.
type Services struct {
	PostgresURL string // postgres://user@host:port/db
	MySQLDSN    string // mysql://user:pass@tcp(host:port)/db
	RedisURL    string // redis://host:port/db
	TargetURL   string // http(s)://host:port of a system under test that is not ours

	Postgres Target
	MySQL    Target
	Redis    Target

	closeOnce sync.Once
	closeFn   func() error
	closeErr  error
}

// DB returns the DSN of a database by dialect name, postgres or mysql, or an error saying that
// the run has no such database.
func (s *Services) DB(dialect string) (string, error) {
	var dsn string
	switch dialect {
	case "postgres":
		dsn = s.PostgresURL
	case "mysql":
		dsn = s.MySQLDSN
	default:
		return "", fmt.Errorf("database %q: want postgres or mysql", dialect)
	}
	if dsn == "" {
		return "", fmt.Errorf("database %s: not part of this run", dialect)
	}
	return dsn, nil
}

// Close stops what the provider started and removes its files. Later calls return the first
// call's result.
func (s *Services) Close() error {
	s.closeOnce.Do(func() {
		if s.closeFn != nil {
			s.closeErr = s.closeFn()
		}
	})
	return s.closeErr
}
