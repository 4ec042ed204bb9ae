package containers

import (
	"context"
	"database/sql"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

// listen serves nothing on a fresh unix socket or loopback TCP port, enough to look like an
// engine that answers; it returns the address.
func listen(t *testing.T, network string) string {
	t.Helper()
	addr := "127.0.0.1:0"
	if network == "unix" {
		addr = filepath.Join(t.TempDir(), "docker.sock")
	}
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().String()
}

// closedPort is a loopback TCP address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestAvailable(t *testing.T) {
	sock, tcp := listen(t, "unix"), listen(t, "tcp")
	missing := filepath.Join(t.TempDir(), "none.sock")
	closed := closedPort(t)
	tests := []struct {
		name       string
		dockerHost string
		sockets    []string
		wantErr    string // "" for nil; the error must then also wrap ErrNoDocker
	}{
		{"DOCKER_HOST socket answers", "unix://" + sock, nil, ""},
		{"DOCKER_HOST tcp answers", "tcp://" + tcp, nil, ""},
		{"DOCKER_HOST socket missing", "unix://" + missing, nil, missing + ": no socket"},
		{"DOCKER_HOST tcp refused", "tcp://" + closed, nil, "DOCKER_HOST=tcp://" + closed},
		{"DOCKER_HOST of another scheme", "http://" + tcp, nil, `scheme "http"`},
		{"DOCKER_HOST over ssh is left to testcontainers", "ssh://docker@example.invalid", nil, ""},
		{"default socket answers", "", []string{missing, sock}, ""},
		{"no socket at all", "", []string{missing}, "DOCKER_HOST is not set and no engine answers on " + missing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := func(k string) string {
				if k == "DOCKER_HOST" {
					return tt.dockerHost
				}
				return ""
			}
			err := available(env, tt.sockets)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("available(DOCKER_HOST=%q, %v) = %v, want nil", tt.dockerHost, tt.sockets, err)
			case tt.wantErr != "" && (!errors.Is(err, ErrNoDocker) || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("available(DOCKER_HOST=%q, %v) = %v, want ErrNoDocker saying %q", tt.dockerHost, tt.sockets, err, tt.wantErr)
			}
		})
	}
}

// TestStartEnvWithoutDocker: with no engine, StartEnv fails at once with ErrNoDocker and a
// reason, instead of a testcontainers-go failure from deep inside.
func TestStartEnvWithoutDocker(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(t.TempDir(), "docker.sock"))
	env, err := StartEnv(context.Background(), Want{Postgres: true, Redis: true})
	if env != nil || !errors.Is(err, ErrNoDocker) || !strings.Contains(err.Error(), "DOCKER_HOST=unix://") {
		t.Fatalf("StartEnv without an engine = %v, %v; want ErrNoDocker naming DOCKER_HOST", env, err)
	}
	if _, err := StartEnv(context.Background(), Want{}); err == nil {
		t.Error("StartEnv wanting nothing succeeded")
	}
}

// needDocker skips the test when no Docker engine is reachable. Docker is not among the
// services the test machines and CI provide, so this skips under CI too, with the reason.
func needDocker(t *testing.T) {
	t.Helper()
	if err := Available(); err != nil {
		t.Skipf("service containers need Docker: %v", err)
	}
}

func pingSQL(ctx context.Context, driver, dsn string) error {
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	return db.PingContext(ctx)
}

// TestServiceContainers starts the three services, reaches each with its DSN, and pauses,
// resumes and restarts Redis through the Docker API.
func TestServiceContainers(t *testing.T) {
	needDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	env, err := StartEnv(ctx, Want{Postgres: true, MySQL: true, Redis: true})
	if err != nil {
		t.Fatalf("StartEnv: %v", err)
	}
	t.Cleanup(func() {
		if err := env.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	conn, err := pgx.Connect(ctx, env.PostgresURL)
	if err != nil {
		t.Fatalf("connect %s: %v", env.PostgresURL, err)
	}
	conn.Close(ctx)
	cfg, err := mysql.ParseDSN(strings.TrimPrefix(env.MySQLDSN, "mysql://"))
	if err != nil {
		t.Fatalf("MySQLDSN %s: %v", env.MySQLDSN, err)
	}
	if err := pingSQL(ctx, "mysql", cfg.FormatDSN()); err != nil {
		t.Fatalf("ping %s: %v", env.MySQLDSN, err)
	}
	opts, err := redis.ParseURL(env.RedisURL)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	ping := func(d time.Duration) error {
		pctx, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		return rdb.Ping(pctx).Err()
	}
	if err := ping(5 * time.Second); err != nil {
		t.Fatalf("ping redis: %v", err)
	}
	if err := rdb.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}

	if err := env.Redis.Pause(); err != nil {
		t.Fatal(err)
	}
	if err := ping(500 * time.Millisecond); err == nil {
		t.Error("a paused Redis answered")
	}
	if err := env.Redis.Resume(); err != nil {
		t.Fatal(err)
	}
	if err := ping(5 * time.Second); err != nil {
		t.Errorf("resumed Redis: %v", err)
	}

	addr := env.Redis.Addr()
	if err := env.Redis.Restart(ctx); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	if env.Redis.Addr() != addr {
		t.Errorf("restarted Redis at %s, was at %s", env.Redis.Addr(), addr)
	}
	if err := ping(5 * time.Second); err != nil {
		t.Fatalf("restarted Redis: %v", err)
	}
	if n, err := rdb.Exists(ctx, "k").Result(); err != nil || n != 0 {
		t.Errorf("restarted Redis has k: %d, %v; want it empty", n, err)
	}
}
