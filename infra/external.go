package infra

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"stampede/internal/sqldb"
	"stampede/sut"
)

// Environment variables the external provider reads when the matching flag is empty.
const (
	EnvPostgres = "STAMPEDE_PG"
	EnvMySQL    = "STAMPEDE_MYSQL"
	EnvRedis    = "STAMPEDE_REDIS"
	EnvTarget   = "STAMPEDE_TARGET"
)

// Endpoints are external services named on the command line. An empty field is taken from
// its environment variable (STAMPEDE_PG, STAMPEDE_MYSQL, STAMPEDE_REDIS, STAMPEDE_TARGET); a
// flag wins over the environment.
type Endpoints struct {
	Postgres string // postgres:// or postgresql:// URL
	MySQL    string // mysql://user:pass@host:port/db or mysql://user:pass@tcp(host:port)/db
	Redis    string // redis://, rediss:// or unix:// URL
	Target   string // http(s):// base URL of a booking system under test
}

// RegisterFlags adds --pg, --mysql, --redis and --target to fs, writing into e.
func (e *Endpoints) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&e.Postgres, "pg", "", "external PostgreSQL URL (env "+EnvPostgres+")")
	fs.StringVar(&e.MySQL, "mysql", "", "external MySQL DSN, mysql://user:pass@host:port/db (env "+EnvMySQL+")")
	fs.StringVar(&e.Redis, "redis", "", "external Redis URL (env "+EnvRedis+")")
	fs.StringVar(&e.Target, "target", "", "base URL of a booking system under test that is not the reference server (env "+EnvTarget+")")
}

// External returns services that run elsewhere, reached through the given endpoints or, for
// empty fields, the environment. Each one given is checked without connecting: a malformed
// URL or DSN is an error naming the flag or variable it came from and what is expected. At
// least one endpoint must be given. External services can be neither killed, paused nor
// restarted: sut.Kill, sut.Pause and sut.Restart return sut.ErrUnsupported for them.
func External(given Endpoints) (*Services, error) {
	s := &Services{}
	var errs []error
	// check resolves one endpoint (flag, else environment), validates it and returns it with
	// its service, or "" and nil when it is not given.
	check := func(name, flagName, env, value string, parse func(string) (string, error)) (string, sut.Service) {
		from := "--" + flagName
		if value == "" {
			value, from = os.Getenv(env), env
		}
		if value == "" {
			return "", nil
		}
		addr, err := parse(value)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", from, err))
			return "", nil
		}
		return value, remote{name: name, addr: addr}
	}
	var pg, my, rd sut.Service
	s.PostgresURL, pg = check("postgres", "pg", EnvPostgres, given.Postgres, parsePostgres)
	s.MySQLDSN, my = check("mysql", "mysql", EnvMySQL, given.MySQL, parseMySQL)
	if s.MySQLDSN != "" {
		// The URL form, rewritten to the driver's (parseMySQL accepted it, so this cannot fail).
		s.MySQLDSN, _ = sqldb.MySQLDSN(s.MySQLDSN)
	}
	s.RedisURL, rd = check("redis", "redis", EnvRedis, given.Redis, parseRedis)
	s.TargetURL, _ = check("target", "target", EnvTarget, given.Target, parseTarget)
	if len(errs) > 0 {
		return nil, fmt.Errorf("external services: %w", errors.Join(errs...))
	}
	if s.PostgresURL == "" && s.MySQLDSN == "" && s.RedisURL == "" && s.TargetURL == "" {
		return nil, fmt.Errorf("external services: none given; set --pg, --mysql, --redis or --target, or %s, %s, %s or %s",
			EnvPostgres, EnvMySQL, EnvRedis, EnvTarget)
	}
	// Only services in use go into the interface fields, so a missing one is nil.
	if pg != nil {
		s.Postgres = pg
	}
	if my != nil {
		s.MySQL = my
	}
	if rd != nil {
		s.Redis = rd
	}
	return s, nil
}

// remote is a service stampede did not start: it can only be reached.
type remote struct{ name, addr string }

func (r remote) Name() string { return r.name }
func (r remote) Addr() string { return r.addr }

var _ sut.Service = remote{}

// parsePostgres checks a PostgreSQL URL and returns its host:port.
func parsePostgres(dsn string) (string, error) {
	if !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
		return "", fmt.Errorf("%q is not a PostgreSQL URL: want postgres://user[:password]@host[:port]/database", redact(dsn))
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return "", fmt.Errorf("PostgreSQL URL %q: %w", redact(dsn), unwrapAll(err))
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "", fmt.Errorf("PostgreSQL URL %q: %w", redact(dsn), unwrapAll(err))
	}
	if u.Host == "" && u.Query().Get("host") == "" {
		return "", fmt.Errorf("PostgreSQL URL %q names no host", redact(dsn))
	}
	if strings.Trim(u.Path, "/") == "" {
		return "", fmt.Errorf("PostgreSQL URL %q names no database", redact(dsn))
	}
	return net.JoinHostPort(cfg.Host, fmt.Sprint(cfg.Port)), nil
}

// parseMySQL checks a mysql:// DSN (either form sqldb.MySQLDSN reads) and returns its
// address.
func parseMySQL(dsn string) (string, error) {
	const want = "want mysql://user[:password]@host[:port]/database"
	if !strings.HasPrefix(dsn, "mysql://") {
		if _, err := mysql.ParseDSN(dsn); err == nil && strings.Contains(dsn, "@") {
			return "", fmt.Errorf("%q lacks the mysql:// prefix: %s", redact(dsn), want)
		}
		return "", fmt.Errorf("%q is not a MySQL DSN: %s", redact(dsn), want)
	}
	norm, err := sqldb.MySQLDSN(dsn)
	if err != nil {
		return "", err
	}
	rest := strings.TrimPrefix(norm, "mysql://")
	cfg, err := mysql.ParseDSN(rest)
	if err != nil {
		return "", fmt.Errorf("MySQL DSN %q: %w; %s", redact(dsn), err, want)
	}
	switch cfg.Net {
	case "tcp":
		host, port, err := net.SplitHostPort(cfg.Addr)
		if err == nil {
			if n, perr := strconv.Atoi(port); perr != nil || n < 1 || n > 65535 {
				err = fmt.Errorf("port %q is not a number from 1 to 65535", port)
			} else if host == "" {
				err = errors.New("no host")
			}
		}
		if err != nil {
			return "", fmt.Errorf("MySQL DSN %q: address %q: %w", redact(dsn), cfg.Addr, err)
		}
	case "unix":
	default:
		return "", fmt.Errorf("MySQL DSN %q: network %q is not tcp or unix (write the address as tcp(host:port)); %s", redact(dsn), cfg.Net, want)
	}
	if cfg.DBName == "" {
		return "", fmt.Errorf("MySQL DSN %q names no database; %s", redact(dsn), want)
	}
	return cfg.Addr, nil
}

// parseRedis checks a Redis URL and returns its address.
func parseRedis(raw string) (string, error) {
	opts, err := redis.ParseURL(raw)
	if err != nil {
		return "", fmt.Errorf("Redis URL %q: %w; want redis://[user:password@]host:port[/db]", redact(raw), err)
	}
	return opts.Addr, nil
}

// parseTarget checks the base URL of a booking system and returns its host:port.
func parseTarget(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("target URL %q: %w", raw, unwrapAll(err))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("target URL %q: scheme %q, want http or https", raw, u.Scheme)
	}
	if u.Host == "" {
		return "", fmt.Errorf("target URL %q names no host", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("target URL %q: want a base URL without query or fragment", raw)
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	return net.JoinHostPort(u.Hostname(), port), nil
}

// unwrapAll returns the innermost error: the parsers' own messages repeat the whole DSN,
// password included.
func unwrapAll(err error) error {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err
		}
		err = next
	}
}

// redact hides the password of a URL or DSN for messages.
func redact(dsn string) string {
	at := strings.LastIndex(dsn, "@")
	if at < 0 {
		return dsn
	}
	start := strings.Index(dsn, "://")
	if start < 0 {
		start = 0
	} else {
		start += 3
	}
	if colon := strings.Index(dsn[start:at], ":"); colon >= 0 {
		return dsn[:start+colon+1] + "xxx" + dsn[at:]
	}
	return dsn
}
