package local_test

import (
	"context"
	"testing"
	"time"

	"stampede/infra/local"
	"stampede/internal/proc"
)

// BenchmarkRestart measures how long a kill -9 and start again takes per service, until the
// service answers: the length of the outage a restart fault causes. One Env serves every
// sub-benchmark.
//
//	go test -run '^$' -bench Restart -benchtime 5x ./infra/local/
func BenchmarkRestart(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	env, err := local.StartEnv(ctx, b.TempDir(), local.Want{Postgres: true, MySQL: true, Redis: true})
	if err != nil {
		b.Skipf("start services: %v", err)
	}
	defer env.Close()
	for _, p := range env.Processes() {
		b.Run(p.Name(), func(b *testing.B) {
			for b.Loop() {
				if err := p.Restart(ctx); err != nil {
					b.Fatalf("Restart: %v", err)
				}
			}
		})
	}
}

// BenchmarkStart measures starting a fresh service from nothing (initdb or mariadb-install-db
// included), as a run does before it begins.
//
//	go test -run '^$' -bench Start -benchtime 3x ./infra/local/
func BenchmarkStart(b *testing.B) {
	starts := []struct {
		name  string
		start func(ctx context.Context, dir string) (*local.Process, error)
	}{
		{"postgres", func(ctx context.Context, dir string) (*local.Process, error) {
			p, _, err := local.StartPostgres(ctx, dir)
			return p, err
		}},
		{"mariadb", func(ctx context.Context, dir string) (*local.Process, error) {
			p, _, err := local.StartMariaDB(ctx, dir)
			return p, err
		}},
		{"redis", proc.StartRedis},
	}
	for _, s := range starts {
		b.Run(s.name, func(b *testing.B) {
			ctx := context.Background()
			for b.Loop() {
				p, err := s.start(ctx, b.TempDir())
				if err != nil {
					b.Fatalf("start: %v", err)
				}
				b.StopTimer()
				if err := p.Kill(); err != nil {
					b.Fatalf("Kill: %v", err)
				}
				b.StartTimer()
			}
		})
	}
}
