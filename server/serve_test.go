package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"stampede/strategies"
	"sync"
	"testing"
	"time"

	"stampede/internal/testsvc"
)

// startServe runs Serve with o in the background and returns its base URL once it listens, and
// a function that stops it and returns Serve's result.
func startServe(t *testing.T, o Options) (string, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	o.Ready = func(addr string) { ready <- addr }
	var logs bytes.Buffer
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, o, slog.New(slog.NewTextHandler(&syncWriter{w: &logs}, nil))) }()
	select {
	case addr := <-ready:
		stop := func() error {
			cancel()
			select {
			case err := <-done:
				return err
			case <-time.After(30 * time.Second):
				t.Fatalf("Serve did not return within 30s of its context ending")
				return nil
			}
		}
		t.Cleanup(func() { cancel() })
		return "http://" + addr, stop
	case err := <-done:
		cancel()
		t.Fatalf("Serve returned before listening: %v", err)
	case <-time.After(60 * time.Second):
		cancel()
		t.Fatalf("Serve did not listen within 60s")
	}
	return "", nil
}

// syncWriter serialises writes from the server's goroutines.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func httpDo(t *testing.T, method, url, session, body string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if session != "" {
		req.Header.Set("X-Session-Id", session)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestServe(t *testing.T) {
	t.Parallel()
	for _, dialect := range testsvc.Dialects {
		t.Run(dialect, func(t *testing.T) {
			_, redisURL := testsvc.Redis(t)
			base, stop := startServe(t, Options{
				Addr: "127.0.0.1:0", Strategy: "status-expiry", DB: testsvc.DB(t, dialect), Redis: redisURL,
				HoldTTL: 30 * time.Second, PoolSize: 4, KeyPrefix: "serve-test:",
			})

			code, body := httpDo(t, http.MethodGet, base+"/healthz", "", "")
			if code != http.StatusOK || !strings.Contains(body, `"database":"ok"`) || !strings.Contains(body, `"redis":"ok"`) {
				t.Fatalf("GET /healthz = %d %s, want 200 with database and redis ok", code, body)
			}
			spec, _ := json.Marshal(testEventSpec("serve-ev"))
			if code, body := httpDo(t, http.MethodPost, base+"/admin/events", "", string(spec)); code != http.StatusCreated {
				t.Fatalf("POST /admin/events = %d %s, want 201", code, body)
			}
			code, body = httpDo(t, http.MethodPost, base+"/events/serve-ev/holds", "alice", `{"seats":["A-1-1"]}`)
			if code != http.StatusCreated || !strings.Contains(body, `"ttl_ms":30000`) {
				t.Fatalf("POST hold = %d %s, want 201 with ttl_ms 30000", code, body)
			}
			code, body = httpDo(t, http.MethodGet, base+"/metrics", "", "")
			if code != http.StatusOK {
				t.Fatalf("GET /metrics = %d", code)
			}
			for _, want := range []string{
				`stampede_db_pool_wait_seconds_bucket{tag="hold",le=`,
				`stampede_db_pool_wait_seconds_count{tag="hold"}`,
				`stampede_db_conn_hold_seconds_count{tag="hold"}`,
				`stampede_db_pool_wait_seconds_count{tag="migrate"} 1`,
				`stampede_strategy_operations_total{op="hold",outcome="ok",strategy="status-expiry"} 1`,
			} {
				if !strings.Contains(body, want) {
					t.Errorf("/metrics lacks %s", want)
				}
			}
			if err := stop(); err != nil {
				t.Errorf("Serve after its context ended = %v, want nil", err)
			}
			if _, err := http.Get(base + "/healthz"); err == nil {
				t.Errorf("GET /healthz after shutdown succeeded, want the listener closed")
			}
		})
	}
}

func TestServeRefusesBadOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		o    Options
		want string
	}{
		{name: "no strategy", o: Options{DB: "postgres://x/y"}, want: "strategy: required"},
		{name: "unknown strategy", o: Options{Strategy: "optimistic", DB: "postgres://x/y"}, want: `strategy "optimistic": unknown; choose one of ` + strings.Join(strategies.Names(), ", ")},
		{name: "unsafe", o: Options{Strategy: "naive", DB: "postgres://x/y"}, want: "--allow-unsafe"},
		{name: "no db", o: Options{Strategy: "pessimistic"}, want: "db: required"},
		{name: "bad db", o: Options{Strategy: "pessimistic", DB: "sqlite://x"}, want: "want a postgres:// URL"},
		{name: "negative ttl", o: Options{Strategy: "pessimistic", DB: "postgres://x/y", HoldTTL: -time.Second}, want: "hold-ttl"},
		{name: "negative freshness", o: Options{Strategy: "pessimistic", DB: "postgres://x/y", SeatMapFreshness: -time.Second}, want: "seatmap-freshness"},
		{name: "negative budget", o: Options{Strategy: "pessimistic", DB: "postgres://x/y", MaxInFlight: -1}, want: "max-in-flight"},
		{name: "negative overload wait", o: Options{Strategy: "pessimistic", DB: "postgres://x/y", OverloadWait: -time.Millisecond}, want: "overload-wait"},
		{name: "redis-lock without redis", o: Options{Strategy: "redis-lock", DB: "postgres://x/y"}, want: `strategy "redis-lock" keeps its holds in Redis: give --redis`},
		{name: "unknown shadow", o: Options{Strategy: "pessimistic", DB: "postgres://x/y", Shadow: "optimistic"}, want: `shadow "optimistic": unknown strategy`},
		{name: "redis shadow without redis", o: Options{Strategy: "pessimistic", DB: "postgres://x/y", Shadow: "redis-lock"}, want: `shadow "redis-lock" keeps its holds in Redis`},
		{name: "negative shadow queue", o: Options{Strategy: "pessimistic", DB: "postgres://x/y", Shadow: "naive", ShadowQueue: -1}, want: "shadow-queue: must not be negative"},
		{name: "shadow queue without shadow", o: Options{Strategy: "pessimistic", DB: "postgres://x/y", ShadowQueue: 5}, want: "shadow-queue: given without --shadow"},
		{name: "unreachable db", o: Options{Strategy: "pessimistic", DB: "postgres://postgres@127.0.0.1:1/none?sslmode=disable&connect_timeout=2"}, want: "open database"},
		{name: "bad redis url", o: Options{Strategy: "pessimistic", DB: testsvc.PG(t), Redis: "http://x"}, want: "redis"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			err := Serve(ctx, tc.o, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Serve(%+v) = %v, want an error containing %q", tc.o, err, tc.want)
			}
		})
	}
}

// TestServeShutdownCutsOpenRequests: a request that would never end on its own (parked at a
// blocking failpoint) does not keep Serve from returning; it is cut after the grace period and
// answered 503, since its outcome is unknown to the client.
func TestServeShutdownCutsOpenRequests(t *testing.T) {
	t.Parallel()
	base, stop := startServe(t, Options{
		Addr: "127.0.0.1:0", Strategy: "pessimistic", DB: testsvc.PG(t), ShutdownGrace: 300 * time.Millisecond,
	})
	spec, _ := json.Marshal(testEventSpec("cut-ev"))
	if code, body := httpDo(t, http.MethodPost, base+"/admin/events", "", string(spec)); code != http.StatusCreated {
		t.Fatalf("POST /admin/events = %d %s", code, body)
	}
	if code, body := httpDo(t, http.MethodPut, base+"/admin/failpoints/after-hold", "", `{"action":"block"}`); code != http.StatusOK {
		t.Fatalf("arm after-hold = %d %s", code, body)
	}
	type result struct {
		code int
		err  error
	}
	parked := make(chan result, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, base+"/events/cut-ev/holds", strings.NewReader(`{"seats":["A-1-1"]}`))
		req.Header.Set("X-Session-Id", "parked")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			parked <- result{err: err}
			return
		}
		resp.Body.Close()
		parked <- result{code: resp.StatusCode}
	}()
	// Wait until the request is parked at the point.
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, body := httpDo(t, http.MethodGet, base+"/admin/failpoints", "", "")
		if strings.Contains(body, `"hits":1`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the hold never reached after-hold: %s", body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := stop(); err != nil {
		t.Errorf("Serve = %v, want nil after a shutdown", err)
	}
	select {
	case r := <-parked:
		if r.err != nil || r.code != http.StatusServiceUnavailable {
			t.Errorf("parked hold answered %d, %v; want 503 (outcome unknown)", r.code, r.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("the parked hold got no answer after Serve returned")
	}
}
