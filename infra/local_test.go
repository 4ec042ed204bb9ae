package infra_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"stampede/infra"
	"stampede/infra/local"
	"stampede/internal/testsvc"
	"stampede/sut"
)

// TestLocalRedis drives a local Redis through the provider's services. The databases are
// covered in package local; Redis starts in milliseconds.
func TestLocalRedis(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	parent := t.TempDir()
	s, err := infra.Local(ctx, parent, infra.Want{Redis: true})
	if err != nil {
		var mb *local.MissingBinaryError
		if errors.As(err, &mb) {
			testsvc.Unavailable(t, err.Error())
		}
		t.Fatalf("Local: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if s.Postgres != nil || s.MySQL != nil || s.PostgresURL != "" || s.MySQLDSN != "" {
		t.Errorf("Local with Redis only gave databases: %v %v %q %q", s.Postgres, s.MySQL, s.PostgresURL, s.MySQLDSN)
	}
	if s.Redis == nil || s.RedisURL == "" {
		t.Fatalf("Local with Redis gave target %v, URL %q", s.Redis, s.RedisURL)
	}
	proc, ok := s.Redis.(*local.Process)
	if !ok {
		t.Fatalf("local Redis target is %T, want *local.Process", s.Redis)
	}
	opts, err := redis.ParseURL(s.RedisURL)
	if err != nil {
		t.Fatalf("parse %s: %v", s.RedisURL, err)
	}
	opts.ReadTimeout = -1 // a paused Redis must make requests hang, not time out
	opts.MaxRetries = -1
	c := redis.NewClient(opts)
	defer c.Close()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("SET: %v", err)
	}

	if err := sut.Pause(s.Redis); err != nil {
		t.Fatalf("Pause: %v", err)
	}
	pinged := make(chan error, 1)
	go func() { pinged <- c.Ping(ctx).Err() }()
	select {
	case err := <-pinged:
		_ = sut.Resume(s.Redis)
		t.Fatalf("PING on a paused Redis returned (%v), want it to hang", err)
	case <-time.After(300 * time.Millisecond):
	}
	if err := sut.Resume(s.Redis); err != nil {
		t.Fatalf("Resume: %v", err)
	}
	if err := <-pinged; err != nil {
		t.Fatalf("PING after Resume: %v", err)
	}

	oldPid := proc.Pid()
	if err := sut.Restart(ctx, s.Redis); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	if proc.Pid() == oldPid {
		t.Errorf("pid after Restart = %d, the same as before", proc.Pid())
	}
	if n, err := c.Exists(ctx, "k").Result(); err != nil || n != 0 {
		t.Errorf("EXISTS k after Restart = %d, %v; want 0: Redis comes back empty", n, err)
	}

	if err := sut.Kill(s.Redis); err != nil {
		t.Fatalf("Kill: %v", err)
	}
	if err := c.Ping(ctx).Err(); err == nil {
		t.Errorf("PING after Kill succeeded")
	}
	if err := sut.Kill(s.Postgres); !errors.Is(err, sut.ErrUnsupported) {
		t.Errorf("Kill of PostgreSQL, not in the run = %v, want ErrUnsupported", err)
	}

	entries, _ := os.ReadDir(parent)
	if len(entries) != 1 {
		t.Fatalf("%s holds %d entries, want the run's directory", parent, len(entries))
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if entries, _ := os.ReadDir(parent); len(entries) != 0 {
		t.Errorf("after Close %s still holds %v", parent, entries)
	}
}
