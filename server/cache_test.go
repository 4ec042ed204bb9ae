package server

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"stampede/strategies"
)

// cacheCount reads the cache counter of one result.
func cacheCount(s *Server, kind, result string) float64 {
	var m dto.Metric
	if err := s.cache.requests.WithLabelValues(kind, result).Write(&m); err != nil {
		panic(err)
	}
	return m.GetCounter().GetValue()
}

// eventLoader loads an event from the store, counting loads.
func eventLoader(e *storeEnv, id string, loads *atomic.Int64) func(context.Context) (any, error) {
	return func(ctx context.Context) (any, error) {
		loads.Add(1)
		return e.store.GetEvent(ctx, id)
	}
}

func cachedEvent(tb testing.TB, s *Server, key string, load func(context.Context) (any, error)) strategies.Event {
	tb.Helper()
	b, err := s.cached(context.Background(), key, load)
	if err != nil {
		tb.Fatalf("cached(%s): %v", key, err)
	}
	var ev strategies.Event
	if err := json.Unmarshal(b, &ev); err != nil {
		tb.Fatalf("cached(%s) = %q: %v", key, b, err)
	}
	return ev
}

func TestCacheInvalidationOnEventChange(t *testing.T) {
	t.Parallel()
	e := newStoreEnv(t, "postgres")
	a, b := e.server(t, nil), e.server(t, nil) // two processes sharing the cache
	e.event(t, "ev1", nil)
	e.event(t, "ev2", nil)
	var loads1, loads2, listLoads atomic.Int64
	list := func(ctx context.Context) (any, error) {
		listLoads.Add(1)
		return e.store.ListEvents(ctx)
	}

	if ev := cachedEvent(t, a, eventCacheKey("ev1"), eventLoader(e, "ev1", &loads1)); ev.Name != "Show ev1" {
		t.Fatalf("first read: %+v", ev)
	}
	cachedEvent(t, b, eventCacheKey("ev1"), eventLoader(e, "ev1", &loads1))
	cachedEvent(t, a, eventCacheKey("ev2"), eventLoader(e, "ev2", &loads2))
	if _, err := a.cached(t.Context(), listCacheKey, list); err != nil {
		t.Fatalf("list: %v", err)
	}
	if loads1.Load() != 1 || cacheCount(b, "event", cacheHit) != 1 {
		t.Fatalf("ev1 loaded %d times, %v hits on the second server; want 1 load and 1 hit", loads1.Load(), cacheCount(b, "event", cacheHit))
	}

	// The event changes in the database, and its writer invalidates.
	if _, err := e.db.Exec(t.Context(), "test", "UPDATE events SET spec = REPLACE(spec, 'Show ev1', 'Renamed') WHERE id = ?", "ev1"); err != nil {
		t.Fatalf("update: %v", err)
	}
	if err := a.invalidateEvent(t.Context(), "ev1"); err != nil {
		t.Fatalf("invalidateEvent: %v", err)
	}
	if ev := cachedEvent(t, b, eventCacheKey("ev1"), eventLoader(e, "ev1", &loads1)); ev.Name != "Renamed" {
		t.Fatalf("read after invalidation on the other server: name %q, want Renamed", ev.Name)
	}
	if loads1.Load() != 2 {
		t.Fatalf("ev1 loaded %d times, want 2", loads1.Load())
	}
	// The list is dropped with any event; another event's page is not.
	if _, err := b.cached(t.Context(), listCacheKey, list); err != nil {
		t.Fatalf("list: %v", err)
	}
	if listLoads.Load() != 2 {
		t.Fatalf("list loaded %d times, want 2 (invalidated with ev1)", listLoads.Load())
	}
	cachedEvent(t, b, eventCacheKey("ev2"), eventLoader(e, "ev2", &loads2))
	if loads2.Load() != 1 {
		t.Fatalf("ev2 loaded %d times, want 1 (not invalidated by ev1)", loads2.Load())
	}
}

func TestCacheSlowLoadDoesNotOutliveInvalidation(t *testing.T) {
	t.Parallel()
	e := newStoreEnv(t, "postgres")
	s := e.server(t, nil)
	started, release := make(chan struct{}), make(chan struct{})
	var n atomic.Int64
	slow := func(ctx context.Context) (any, error) {
		v := n.Add(1)
		if v == 1 {
			close(started)
			<-release
		}
		return map[string]int64{"version": v}, nil
	}
	done := make(chan []byte)
	go func() {
		b, err := s.cached(context.Background(), eventCacheKey("ev"), slow)
		if err != nil {
			t.Errorf("cached: %v", err)
		}
		done <- b
	}()
	<-started
	// The event changes while the first load (which read the old version) is running.
	if err := s.invalidateEvent(t.Context(), "ev"); err != nil {
		t.Fatalf("invalidateEvent: %v", err)
	}
	close(release)
	if b := <-done; string(b) != `{"version":1}` {
		t.Fatalf("first read = %s", b)
	}
	b, err := s.cached(t.Context(), eventCacheKey("ev"), slow)
	if err != nil || string(b) != `{"version":2}` {
		t.Fatalf("read after invalidation = %s, %v; want version 2 (the old load must not be served)", b, err)
	}
}

func TestCacheStampedeOnColdKey(t *testing.T) {
	t.Parallel()
	e := newStoreEnv(t, "postgres")
	tune := func(s *Server) { s.cache.missWait = 5 * time.Second }
	servers := []*Server{e.server(t, tune), e.server(t, tune)}
	var loads atomic.Int64
	gate := make(chan struct{})
	load := func(ctx context.Context) (any, error) {
		loads.Add(1)
		time.Sleep(50 * time.Millisecond) // a slow database read
		return "page", nil
	}
	var wg sync.WaitGroup
	for i := range 100 {
		s := servers[i%2]
		wg.Go(func() {
			<-gate
			b, err := s.cached(context.Background(), "search:hot", load)
			if err != nil || string(b) != `"page"` {
				t.Errorf("cached = %s, %v", b, err)
			}
		})
	}
	close(gate)
	wg.Wait()
	if got := loads.Load(); got != 1 {
		t.Fatalf("100 concurrent readers on two servers loaded %d times, want 1", got)
	}
	var coalesced, hits float64
	for _, s := range servers {
		coalesced += cacheCount(s, "search", cacheCoalesced)
		hits += cacheCount(s, "search", cacheHit)
	}
	if coalesced+hits != 99 {
		t.Fatalf("coalesced %v + hits %v, want 99", coalesced, hits)
	}
}

func TestCacheServesStaleWhileOneReloads(t *testing.T) {
	t.Parallel()
	e := newStoreEnv(t, "postgres")
	var clock atomic.Int64
	clock.Store(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()) }
	a := e.server(t, func(s *Server) { s.cache.now = now })
	var version atomic.Int64
	load := func(context.Context) (any, error) { return version.Add(1), nil }
	ctx := t.Context()

	if b, _ := a.cached(ctx, "events", load); string(b) != "1" {
		t.Fatalf("first read = %s", b)
	}
	if b, _ := a.cached(ctx, "events", load); string(b) != "1" || version.Load() != 1 {
		t.Fatalf("fresh read = %s after %d loads", b, version.Load())
	}
	clock.Add(int64(3 * time.Second)) // past the 2 s soft expiry, within the stale window
	// Another process holds the reload lock: this reader serves the stale value.
	lock := a.cache.prefix + "cache:lock:events:0"
	if err := e.rdb.Set(ctx, lock, 1, time.Minute).Err(); err != nil {
		t.Fatalf("set lock: %v", err)
	}
	if b, _ := a.cached(ctx, "events", load); string(b) != "1" || version.Load() != 1 {
		t.Fatalf("stale read = %s after %d loads, want 1 without loading", b, version.Load())
	}
	if cacheCount(a, "events", cacheStale) != 1 {
		t.Fatalf("stale count %v, want 1", cacheCount(a, "events", cacheStale))
	}
	// The lock is free: this reader reloads.
	if err := e.rdb.Del(ctx, lock).Err(); err != nil {
		t.Fatalf("del lock: %v", err)
	}
	if b, _ := a.cached(ctx, "events", load); string(b) != "2" {
		t.Fatalf("reload = %s, want 2", b)
	}
	if b, _ := a.cached(ctx, "events", load); string(b) != "2" || version.Load() != 2 {
		t.Fatalf("read after reload = %s after %d loads", b, version.Load())
	}
}

func TestCacheWithoutRedis(t *testing.T) {
	t.Parallel()
	e := newStoreEnv(t, "postgres")
	s := e.server(t, nil)
	var loads atomic.Int64
	load := func(context.Context) (any, error) { loads.Add(1); return "v", nil }
	if err := e.redis.Kill(); err != nil {
		t.Fatalf("kill redis: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	b, err := s.cached(ctx, "events", load)
	if err != nil || string(b) != `"v"` || loads.Load() != 1 {
		t.Fatalf("cached with Redis down = %s, %v after %d loads; want the loaded value", b, err, loads.Load())
	}
	if cacheCount(s, "events", cacheError) != 1 {
		t.Fatalf("error count %v, want 1", cacheCount(s, "events", cacheError))
	}
	ictx, icancel := context.WithTimeout(ctx, time.Second)
	defer icancel()
	if err := s.invalidateEvent(ictx, "ev"); !errors.Is(err, errCacheInvalidate) {
		t.Fatalf("invalidateEvent with Redis down = %v, want errCacheInvalidate", err)
	}
}

func TestCacheDoesNotKeepErrors(t *testing.T) {
	t.Parallel()
	e := newStoreEnv(t, "postgres")
	s := e.server(t, nil)
	boom := errors.New("boom")
	calls := 0
	load := func(context.Context) (any, error) {
		calls++
		if calls == 1 {
			return nil, boom
		}
		return calls, nil
	}
	if _, err := s.cached(t.Context(), eventCacheKey("x"), load); !errors.Is(err, boom) {
		t.Fatalf("first read = %v, want the load's error", err)
	}
	if b, err := s.cached(t.Context(), eventCacheKey("x"), load); err != nil || string(b) != "2" {
		t.Fatalf("second read = %s, %v; want a fresh load", b, err)
	}
}

func TestCacheKeys(t *testing.T) {
	c := &cacheState{prefix: "p:"}
	for _, tc := range []struct{ key, gen string }{
		{eventCacheKey("a.b"), "p:cache:gen:event:a.b"},
		{eventCacheKey("a") + ":seats", "p:cache:gen:event:a"},
		{listCacheKey, "p:cache:gen:list"},
		{"search:taylor swift", "p:cache:gen:list"},
		{"events:page:2", "p:cache:gen:list"},
	} {
		if got := c.genKey(tc.key); got != tc.gen {
			t.Errorf("genKey(%q) = %q, want %q", tc.key, got, tc.gen)
		}
	}
	soft := time.UnixMilli(1_750_000_000_000)
	gotSoft, body, ok := decodeEntry(string(encodeEntry(soft, []byte(`{"a":1}`))))
	if !ok || !gotSoft.Equal(soft) || string(body) != `{"a":1}` {
		t.Fatalf("entry round trip = %v %s %v", gotSoft, body, ok)
	}
	if _, _, ok := decodeEntry("short"); ok {
		t.Fatalf("decodeEntry accepted a short value")
	}
}
