package local_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"stampede/infra/local"
	"stampede/internal/proc"
	"stampede/internal/sqldb"
	"stampede/internal/testsvc"
	"stampede/strategies"
)

func TestMissingBinary(t *testing.T) {
	empty := t.TempDir()
	t.Setenv("PATH", empty)
	nowhere := []string{empty, empty + "/*/bin"}
	tests := []struct {
		name    string
		start   func(ctx context.Context, dir string) error
		binary  string
		pkg     string
		advices string
	}{
		{"postgres", func(ctx context.Context, dir string) error {
			_, _, err := local.StartPostgresIn(ctx, dir, nowhere)
			return err
		}, "initdb", "postgresql", "apt-get install postgresql"},
		{"mariadb", func(ctx context.Context, dir string) error {
			_, _, err := local.StartMariaDBIn(ctx, dir, nowhere)
			return err
		}, "mariadbd", "mariadb-server", "apt-get install mariadb-server"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.start(context.Background(), t.TempDir())
			var mb *local.MissingBinaryError
			if !errors.As(err, &mb) {
				t.Fatalf("start with an empty PATH returned %v, want a *MissingBinaryError", err)
			}
			if mb.Binary != tt.binary || mb.Package != tt.pkg {
				t.Errorf("MissingBinaryError = {%s %s}, want {%s %s}", mb.Binary, mb.Package, tt.binary, tt.pkg)
			}
			if !strings.Contains(err.Error(), tt.advices) {
				t.Errorf("error %q does not say %q", err, tt.advices)
			}
		})
	}
}

func TestStartEnvWantsSomething(t *testing.T) {
	if _, err := local.StartEnv(context.Background(), t.TempDir(), local.Want{}); err == nil {
		t.Fatal("StartEnv with nothing wanted returned no error")
	}
}

// service is one started service as the tests below drive it.
type service struct {
	name string
	proc *local.Process
	// conn opens one connection and returns a request made on it.
	conn func(t *testing.T) func(ctx context.Context) error
	// put stores a marker and has reports whether it is still there, each over a fresh connection.
	put func(t *testing.T, key string)
	has func(t *testing.T, key string) bool
	// keeps says whether data survives a restart.
	keeps bool
}

// TestEnv starts PostgreSQL, MariaDB and Redis once and shares them between the subtests.
func TestEnv(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	parent := t.TempDir()
	env, err := local.StartEnv(ctx, parent, local.Want{Postgres: true, MySQL: true, Redis: true})
	if err != nil {
		var mb *local.MissingBinaryError
		if errors.As(err, &mb) {
			testsvc.Unavailable(t, err.Error())
		}
		t.Fatalf("StartEnv: %v", err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			_ = env.Close()
		}
	})
	if !strings.HasPrefix(env.Dir, parent) {
		t.Errorf("Env.Dir = %s, want it under %s", env.Dir, parent)
	}

	services := []service{pgService(env), mysqlService(env), redisService(env)}

	t.Run("sql", func(t *testing.T) {
		for _, dsn := range []string{env.PostgresURL, env.MySQLDSN} {
			db := openDB(t, dsn)
			for i := 0; i < 2; i++ {
				if err := strategies.Migrate(ctx, db); err != nil {
					t.Fatalf("Migrate on %s (run %d): %v", dsn, i+1, err)
				}
			}
			var n int
			if err := db.QueryRow(ctx, "test", "SELECT COUNT(*) FROM events", []any{&n}); err != nil || n != 0 {
				t.Fatalf("count events on %s = %d, %v; want 0, nil", dsn, n, err)
			}
		}
	})

	t.Run("privileges", func(t *testing.T) {
		// Faults kill connections: root must see others' sessions and kill them.
		victim := openDB(t, env.MySQLDSN)
		var id int64
		if err := victim.QueryRow(ctx, "test", "SELECT CONNECTION_ID()", []any{&id}); err != nil {
			t.Fatalf("CONNECTION_ID: %v", err)
		}
		admin := openDB(t, env.MySQLDSN)
		if _, err := admin.Exec(ctx, "test", fmt.Sprintf("KILL %d", id)); err != nil {
			t.Fatalf("KILL %d as root: %v", id, err)
		}
		pg := openDB(t, env.PostgresURL)
		var pid int
		if err := pg.QueryRow(ctx, "test", "SELECT pg_backend_pid()", []any{&pid}); err != nil {
			t.Fatalf("pg_backend_pid: %v", err)
		}
		var ok bool
		if err := openDB(t, env.PostgresURL).QueryRow(ctx, "test", "SELECT pg_terminate_backend(?)", []any{&ok}, pid); err != nil || !ok {
			t.Fatalf("pg_terminate_backend(%d) = %v, %v; want true", pid, ok, err)
		}
	})

	for _, s := range services {
		t.Run("pause/"+s.name, func(t *testing.T) {
			request := s.conn(t)
			if err := request(ctx); err != nil {
				t.Fatalf("request before pause: %v", err)
			}
			if err := s.proc.Pause(); err != nil {
				t.Fatalf("Pause: %v", err)
			}
			resumed := false
			defer func() {
				if !resumed {
					_ = s.proc.Resume()
				}
			}()
			result := make(chan error, 1)
			go func() { result <- request(ctx) }()
			select {
			case err := <-result:
				t.Fatalf("request on a paused %s returned (%v), want it to hang", s.name, err)
			case <-time.After(300 * time.Millisecond):
			}
			if err := s.proc.Resume(); err != nil {
				t.Fatalf("Resume: %v", err)
			}
			resumed = true
			select {
			case err := <-result:
				if err != nil {
					t.Fatalf("request after resume: %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Fatalf("request still hangs 30s after Resume")
			}
		})
	}

	for _, s := range services {
		t.Run("restart/"+s.name, func(t *testing.T) {
			s.put(t, "before-kill")
			oldPid, all := family(t, s.proc)
			if s.name == "postgres" && len(all) < 3 {
				t.Errorf("postgres family %v, want the postmaster and its background processes", all)
			}
			port := s.proc.Port()
			if err := s.proc.Kill(); err != nil {
				t.Fatalf("Kill: %v", err)
			}
			if s.proc.Pid() != 0 {
				t.Errorf("Pid after Kill = %d, want 0", s.proc.Pid())
			}
			assertGone(t, oldPid, all)
			if err := s.proc.Pause(); err == nil {
				t.Errorf("Pause of a killed %s returned no error", s.name)
			}
			if err := s.proc.Start(ctx); err != nil {
				t.Fatalf("Start after Kill: %v", err)
			}
			if s.proc.Port() != port || s.proc.Pid() == oldPid || s.proc.Pid() == 0 {
				t.Errorf("after Start: port %d pid %d, want port %d and a new pid (old %d)", s.proc.Port(), s.proc.Pid(), port, oldPid)
			}
			if got := s.has(t, "before-kill"); got != s.keeps {
				t.Errorf("marker present after kill -9 and start = %v, want %v", got, s.keeps)
			}

			s.put(t, "before-restart")
			oldPid, all = family(t, s.proc)
			if err := s.proc.Restart(ctx); err != nil {
				t.Fatalf("Restart: %v", err)
			}
			assertGone(t, oldPid, all)
			if got := s.has(t, "before-restart"); got != s.keeps {
				t.Errorf("marker present after Restart = %v, want %v", got, s.keeps)
			}

			s.put(t, "before-stop")
			oldPid, all = family(t, s.proc)
			if err := s.proc.Stop(20 * time.Second); err != nil {
				t.Fatalf("Stop: %v", err)
			}
			assertGone(t, oldPid, all)
			if err := s.proc.Start(ctx); err != nil {
				t.Fatalf("Start after Stop: %v", err)
			}
			if got := s.has(t, "before-stop"); got != s.keeps {
				t.Errorf("marker present after Stop and Start = %v, want %v", got, s.keeps)
			}
		})
	}

	if n := len(env.Processes()); n != 3 {
		t.Fatalf("Env has %d processes, want 3", n)
	}
	leaders := map[int][]int{}
	for _, p := range env.Processes() {
		leader, all := family(t, p)
		leaders[leader] = all
	}
	closed = true
	if err := env.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := os.Stat(env.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Env.Dir after Close: stat = %v, want it gone", err)
	}
	for leader, all := range leaders {
		assertGone(t, leader, all)
	}
	if err := env.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// family lists a process and every process it started, for assertGone after a kill.
func family(t *testing.T, p *local.Process) (leader int, all []int) {
	t.Helper()
	leader = p.Pid()
	if leader <= 0 {
		t.Fatalf("%s has pid %d, want a running process", p.Name(), leader)
	}
	return leader, proc.Family(leader)
}

// assertGone fails unless leader has exited and been reaped and none of the others runs.
func assertGone(t *testing.T, leader int, all []int) {
	t.Helper()
	if err := syscall.Kill(leader, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("kill(%d, 0) = %v, want ESRCH: the process is still there", leader, err)
	}
	if r := proc.Alive(all); len(r) > 0 {
		t.Errorf("processes %v of %v still running", r, all)
	}
}

func openDB(t *testing.T, dsn string) sqldb.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := sqldb.Open(ctx, dsn, sqldb.Options{MaxConns: 2})
	if err != nil {
		t.Fatalf("sqldb.Open(%s): %v", dsn, err)
	}
	t.Cleanup(db.Close)
	return db
}

// sqlMarkers stores markers in a table of its own through sqldb.
func sqlMarkers(dsn func() string) (put func(*testing.T, string), has func(*testing.T, string) bool) {
	put = func(t *testing.T, key string) {
		t.Helper()
		ctx := context.Background()
		db := openDB(t, dsn())
		if _, err := db.Exec(ctx, "test", "CREATE TABLE IF NOT EXISTS infra_marker (k VARCHAR(64) PRIMARY KEY)"); err != nil {
			t.Fatalf("create infra_marker: %v", err)
		}
		if _, err := db.Exec(ctx, "test", "INSERT INTO infra_marker (k) VALUES (?)", key); err != nil {
			t.Fatalf("insert marker %s: %v", key, err)
		}
		db.Close()
	}
	has = func(t *testing.T, key string) bool {
		t.Helper()
		ctx := context.Background()
		db := openDB(t, dsn())
		var n int
		if err := db.QueryRow(ctx, "test", "SELECT COUNT(*) FROM infra_marker WHERE k = ?", []any{&n}, key); err != nil {
			t.Fatalf("read marker %s: %v", key, err)
		}
		db.Close()
		return n == 1
	}
	return put, has
}

func pgService(env *local.Env) service {
	put, has := sqlMarkers(func() string { return env.PostgresURL })
	return service{
		name: "postgres", proc: env.Postgres, put: put, has: has, keeps: true,
		conn: func(t *testing.T) func(context.Context) error {
			conn, err := pgx.Connect(context.Background(), env.PostgresURL)
			if err != nil {
				t.Fatalf("connect: %v", err)
			}
			t.Cleanup(func() { conn.Close(context.Background()) })
			return func(ctx context.Context) error {
				var one int
				return conn.QueryRow(ctx, "SELECT 1").Scan(&one)
			}
		},
	}
}

func mysqlService(env *local.Env) service {
	put, has := sqlMarkers(func() string { return env.MySQLDSN })
	return service{
		name: "mariadb", proc: env.MySQL, put: put, has: has, keeps: true,
		conn: func(t *testing.T) func(context.Context) error {
			cfg, err := mysql.ParseDSN(strings.TrimPrefix(env.MySQLDSN, "mysql://"))
			if err != nil {
				t.Fatalf("parse %s: %v", env.MySQLDSN, err)
			}
			db, err := sql.Open("mysql", cfg.FormatDSN())
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			t.Cleanup(func() { db.Close() })
			conn, err := db.Conn(context.Background())
			if err != nil {
				t.Fatalf("connect: %v", err)
			}
			t.Cleanup(func() { conn.Close() })
			return func(ctx context.Context) error {
				var one int
				return conn.QueryRowContext(ctx, "SELECT 1").Scan(&one)
			}
		},
	}
}

func redisService(env *local.Env) service {
	client := func(t *testing.T) *redis.Client {
		opts, err := redis.ParseURL(env.RedisURL)
		if err != nil {
			t.Fatalf("parse %s: %v", env.RedisURL, err)
		}
		opts.PoolSize = 1
		opts.ReadTimeout = -1 // block: a paused server must make the request hang, not time out
		opts.MaxRetries = -1
		c := redis.NewClient(opts)
		t.Cleanup(func() { c.Close() })
		return c
	}
	return service{
		name: "redis", proc: env.Redis, keeps: false,
		put: func(t *testing.T, key string) {
			if err := client(t).Set(context.Background(), key, "1", 0).Err(); err != nil {
				t.Fatalf("SET %s: %v", key, err)
			}
		},
		has: func(t *testing.T, key string) bool {
			n, err := client(t).Exists(context.Background(), key).Result()
			if err != nil {
				t.Fatalf("EXISTS %s: %v", key, err)
			}
			return n == 1
		},
		conn: func(t *testing.T) func(context.Context) error {
			c := client(t)
			return func(ctx context.Context) error { return c.Ping(ctx).Err() }
		},
	}
}
