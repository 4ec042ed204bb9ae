// Package testsvc gives tests real services: a fresh PostgreSQL or MySQL database on the
// machine's server (dropped afterwards), migrated and opened when asked (MigratedDB), and an
// ephemeral Redis process of the test's own (Redis, RedisClient); the test clock the server's and
// the strategies' tests share (Clock), and background work that ends with the test (Go).
//
// The servers default to the ones every development and CI machine runs (127.0.0.1:5432 trust
// auth, 127.0.0.1:3306 root without password); STAMPEDE_TEST_PG and STAMPEDE_TEST_MYSQL
// override them. When a service is unreachable the test is skipped with the reason, except
// under CI=true, where it fails.
package testsvc

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"stampede/internal/proc"
	"stampede/internal/sqldb"
)

// Unavailable skips the test with reason, or fails it under CI.
func Unavailable(tb testing.TB, reason string) {
	tb.Helper()
	if os.Getenv("CI") == "true" {
		tb.Fatalf("service unavailable in CI: %s", reason)
	}
	tb.Skipf("service unavailable: %s", reason)
}

func randomName(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// PGAdminURL is the PostgreSQL server tests create their databases on.
func PGAdminURL() string {
	if v := os.Getenv("STAMPEDE_TEST_PG"); v != "" {
		return v
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// MySQLAdminDSN is the MySQL server tests create their databases on, in mysql:// form.
func MySQLAdminDSN() string {
	if v := os.Getenv("STAMPEDE_TEST_MYSQL"); v != "" {
		return v
	}
	return "mysql://root@tcp(127.0.0.1:3306)/test"
}

// PG creates an empty database and returns its URL; the database is dropped at cleanup.
func PG(tb testing.TB) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin := PGAdminURL()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		Unavailable(tb, fmt.Sprintf("postgres at %s: %v", admin, err))
	}
	name := randomName("st_")
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		conn.Close(ctx)
		tb.Fatalf("create database %s: %v", name, err)
	}
	conn.Close(ctx)
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			tb.Logf("drop database %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			tb.Logf("drop database %s: %v", name, err)
		}
	})
	cfg, _ := pgx.ParseConfig(admin)
	return fmt.Sprintf("postgres://%s@%s:%d/%s?sslmode=disable", cfg.User, cfg.Host, cfg.Port, name)
}

// MySQL creates an empty database and returns its mysql:// DSN; it is dropped at cleanup.
func MySQL(tb testing.TB) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin := MySQLAdminDSN()
	cfg, err := mysql.ParseDSN(strings.TrimPrefix(admin, "mysql://"))
	if err != nil {
		tb.Fatalf("parse %s: %v", admin, err)
	}
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		tb.Fatalf("open mysql: %v", err)
	}
	defer db.Close()
	if err := db.PingContext(ctx); err != nil {
		Unavailable(tb, fmt.Sprintf("mysql at %s: %v", admin, err))
	}
	name := randomName("st_")
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name+" CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
		tb.Fatalf("create database %s: %v", name, err)
	}
	tb.Cleanup(func() {
		db, err := sql.Open("mysql", cfg.FormatDSN())
		if err != nil {
			return
		}
		defer db.Close()
		if _, err := db.Exec("DROP DATABASE IF EXISTS " + name); err != nil {
			tb.Logf("drop database %s: %v", name, err)
		}
	})
	cfg.DBName = name
	return "mysql://" + cfg.FormatDSN()
}

// DB returns a fresh database DSN of the named dialect ("postgres" or "mysql").
func DB(tb testing.TB, dialect string) string {
	tb.Helper()
	switch dialect {
	case "postgres":
		return PG(tb)
	case "mysql":
		return MySQL(tb)
	}
	tb.Fatalf("unknown dialect %q", dialect)
	return ""
}

// Dialects are the databases every strategy test runs on.
var Dialects = []string{"postgres", "mysql"}

// MigratedDB opens a fresh database of the dialect (see DB) with opts, applies migrate to it and
// closes it at cleanup. migrate is strategies.Migrate; it is passed in because the strategies'
// own tests use this package too.
func MigratedDB(tb testing.TB, dialect string, opts sqldb.Options, migrate func(context.Context, sqldb.DB) error) sqldb.DB {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := sqldb.Open(ctx, DB(tb, dialect), opts)
	if err != nil {
		tb.Fatalf("open %s: %v", dialect, err)
	}
	tb.Cleanup(db.Close)
	if err := migrate(ctx, db); err != nil {
		tb.Fatalf("migrate %s: %v", dialect, err)
	}
	return db
}

// Redis starts a Redis process of the test's own and returns it (for restarts and pauses) and
// its redis:// URL. It is killed at cleanup.
func Redis(tb testing.TB) (*proc.Process, string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := proc.StartRedis(ctx, tb.TempDir())
	if err != nil {
		Unavailable(tb, fmt.Sprintf("redis: %v", err))
	}
	tb.Cleanup(func() { _ = p.Kill() })
	return p, proc.RedisURL(p)
}

// BuildStampede builds the stampede command into dir and returns the executable's path: the
// reference server that tests start as a child process, as a run does.
func BuildStampede(dir string) (string, error) {
	bin := filepath.Join(dir, "stampede")
	out, err := exec.Command("go", "build", "-o", bin, "stampede/cmd/stampede").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("build stampede: %v\n%s", err, out)
	}
	return bin, nil
}

// MainWithStampede is a TestMain for packages whose tests start the reference server: it
// builds stampede into a temporary directory, sets *bin to the executable, runs the tests,
// removes the directory and exits with the tests' status.
func MainWithStampede(m *testing.M, bin *string) {
	dir, err := os.MkdirTemp("", "stampede-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if *bin, err = BuildStampede(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// RedisClient starts a Redis of the test's own (see Redis) and returns it with a client of it;
// the client is closed at cleanup.
func RedisClient(tb testing.TB) (*proc.Process, *redis.Client) {
	tb.Helper()
	p, url := Redis(tb)
	opts, err := redis.ParseURL(url)
	if err != nil {
		tb.Fatalf("parse redis url %s: %v", url, err)
	}
	rdb := redis.NewClient(opts)
	tb.Cleanup(func() { _ = rdb.Close() })
	return p, rdb
}

// Go runs run in a goroutine until tb ends (a server's or a component's background work): at
// cleanup its context is cancelled and it is waited for, and an error it returns fails tb.
func Go(tb testing.TB, run func(context.Context) error) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("background run: %v", err)
		}
	})
}

// Clock is real time plus an offset a test advances, so that holds, leases and admissions
// expire without sleeping. Give its Now to the code under test as its clock; parts that rely on
// real time (Redis TTLs) see the real part. The zero Clock is real time; it is safe for
// concurrent use.
type Clock struct{ off atomic.Int64 }

// Now returns the clock's time.
func (c *Clock) Now() time.Time { return time.Now().Add(time.Duration(c.off.Load())) }

// Advance moves the clock d ahead.
func (c *Clock) Advance(d time.Duration) { c.off.Add(int64(d)) }
