package infra

import (
	"fmt"
	"sync"

	"stampede/sut"
)

// services builds the Services of a provider that started processes or containers: their
// URLs, their handles as sut.Services (a handle that is nil, a service not started, becomes a nil
// sut.Service: a nil pointer in an interface would not compare equal to nil, and faults test for
// nil) and what tears them down.
func services[P interface {
	sut.Service
	comparable
}](postgresURL string, postgres P, mysqlDSN string, mysql P, redisURL string, redis P, closeFn func() error) *Services {
	target := func(p P) sut.Service {
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

// Services are the backing services of one run: where to reach them, and a sut.Service for
// each one in use (nil when the run does not use it), through which faults act on them (a
// process the run started is a sut.Killer, sut.Pauser and sut.Restarter). TargetURL
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

	Postgres sut.Service
	MySQL    sut.Service
	Redis    sut.Service

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

// WithDB returns services like s whose database of dialect (postgres or mysql) is reached at
// dsn instead, as a run that keeps its data in a schema or database of its own gives its
// servers. The copy shares s's handles and owns nothing: its Close does nothing, and closing s
// still tears down what s started.
func (s *Services) WithDB(dialect, dsn string) (*Services, error) {
	if _, err := s.DB(dialect); err != nil {
		return nil, err
	}
	c := &Services{PostgresURL: s.PostgresURL, MySQLDSN: s.MySQLDSN, RedisURL: s.RedisURL, TargetURL: s.TargetURL,
		Postgres: s.Postgres, MySQL: s.MySQL, Redis: s.Redis}
	if dialect == "postgres" {
		c.PostgresURL = dsn
	} else {
		c.MySQLDSN = dsn
	}
	return c, nil
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
