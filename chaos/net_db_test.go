package chaos

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"stampede/internal/sqldb"
	"stampede/internal/testsvc"
	"stampede/sut"
)

// throughProxy rewrites a postgres:// URL or mysql:// DSN to reach its database through a new
// proxy, returning the DSN and the proxy.
func throughProxy(t *testing.T, ps *Proxies, dsn string) (string, *NetProxy) {
	t.Helper()
	var host string
	if i := strings.Index(dsn, "tcp("); i >= 0 {
		host = dsn[i+4 : i+strings.Index(dsn[i:], ")")]
	} else if u, err := url.Parse(dsn); err == nil {
		host = u.Host
	}
	if host == "" {
		t.Fatalf("no host:port in %q", dsn)
	}
	px, err := ps.Start("db", host)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Replace(dsn, host, px.Addr(), 1), px
}

// TestNetFaultsThroughDBProxy: the net-* faults on the link to PostgreSQL and to MySQL, as a run
// puts them between the server and its database: latency slows every query, a partition hangs
// them, a reset breaks them; after each recovery the pool serves queries again.
func TestNetFaultsThroughDBProxy(t *testing.T) {
	t.Parallel()
	for _, dialect := range testsvc.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			ps := NewProxies()
			defer ps.Close()
			dsn, px := throughProxy(t, ps, testsvc.DB(t, dialect))
			ctx := context.Background()
			db, err := sqldb.Open(ctx, dsn, sqldb.Options{MaxConns: 2})
			if err != nil {
				t.Fatalf("open %s through the proxy: %v", dialect, err)
			}
			defer db.Close()
			tg := &Target{Handles: sut.Handles{Proxies: map[string]sut.Proxy{"db": px}}}
			query := func(ctx context.Context) error {
				var n int
				return db.QueryRow(ctx, "test", "SELECT 1", []any{&n})
			}
			// recovered waits for the pool to answer again: connections cut by a fault are
			// replaced on the next attempts.
			recovered := func(t *testing.T) {
				t.Helper()
				var err error
				for range 10 {
					qctx, cancel := context.WithTimeout(ctx, 2*time.Second)
					err = query(qctx)
					cancel()
					if err == nil {
						return
					}
				}
				t.Fatalf("the pool did not recover after the fault: %v", err)
			}
			if err := query(ctx); err != nil {
				t.Fatalf("query through the proxy: %v", err)
			}

			t.Run("latency", func(t *testing.T) {
				rec := inject(t, "net-latency", tg, map[string]any{"target": "db", "latency": "100ms"})
				start := time.Now()
				if err := query(ctx); err != nil {
					t.Fatal(err)
				}
				if d := time.Since(start); d < 200*time.Millisecond {
					t.Errorf("query took %s with 100ms each way, want >= 200ms", d)
				}
				if err := rec(ctx); err != nil {
					t.Fatal(err)
				}
				recovered(t)
			})
			t.Run("partition", func(t *testing.T) {
				rec := inject(t, "net-partition", tg, map[string]any{"target": "db"})
				pctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
				err := query(pctx)
				cancel()
				if err == nil {
					t.Fatal("query answered through a partition")
				}
				if err := rec(ctx); err != nil {
					t.Fatal(err)
				}
				recovered(t)
			})
			t.Run("reset", func(t *testing.T) {
				rec := inject(t, "net-reset", tg, map[string]any{"target": "db"})
				// Every connection, open or new, is reset: the pooled ones fail at their next use.
				for i := range 3 {
					qctx, cancel := context.WithTimeout(ctx, 2*time.Second)
					err := query(qctx)
					cancel()
					if err == nil {
						t.Fatalf("query %d answered while every connection is reset", i)
					}
				}
				if err := rec(ctx); err != nil {
					t.Fatal(err)
				}
				recovered(t)
			})
		})
	}
}
