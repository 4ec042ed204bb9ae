package server

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/singleflight"

	"stampede/internal/luareply"
	"stampede/internal/promreg"
)

// The read path. Event pages, the event list and search results are cached in Redis,
// cache-aside: a reader looks in Redis, and on a miss loads from the database and stores the
// JSON for a short time (ttl, 2 s by default). Seat availability is not cached here: it is
// served from in-process snapshots of bounded freshness (server/seatmap).
//
// Keys. A cached value lives at KeyPrefix + "cache:" + key + ":" + generation. Keys that start
// with "event:<id>" (eventCacheKey) belong to that event and use its generation; every other key
// (the list, searches) uses the list generation. invalidateEvent increments both, so after it
// returns no reader sees a value computed before it: readers look under the new generation, and a
// slow load that read the old data stores its result under the old generation, where nobody
// looks.
//
// Stampede protection. Within a process, concurrent readers of one key share one Redis read and
// at most one load (singleflight). Across processes, each entry carries a soft expiry (ttl) and
// lives in Redis for ttl + stale: after the soft expiry one reader (the one that wins a short
// Redis lock) reloads while the others keep serving the stale value, and on a cold miss the
// losers of the lock wait up to missWait for the winner's value before loading themselves. So a
// burst of misses on a hot key costs about one database read per process per ttl, not one per
// request.
//
// Redis failures never fail a read: the value is then loaded from the database directly.

// eventCacheKey is the cache key of an event's page; invalidateEvent(id) drops it.
func eventCacheKey(id string) string { return "event:" + id }

// listCacheKey is the cache key of the event list; every invalidateEvent drops it.
const listCacheKey = "events"

type cacheState struct {
	rdb    *redis.Client
	prefix string
	// ttl is how long a value is fresh (default 2 s).
	ttl time.Duration
	// stale is how long after ttl a value may still be served while one reader reloads it
	// (default 10 s). It bounds how stale a page can get when loads keep failing.
	stale time.Duration
	// lockTTL bounds how long one reader holds the right to reload a key (default 2 s).
	lockTTL time.Duration
	// missWait is how long a cold miss waits for another process's load (default 300 ms).
	missWait time.Duration
	// loadTimeout bounds one load shared by several readers (default 10 s).
	loadTimeout time.Duration
	// redisTimeout bounds each cache round trip to Redis (default 250 ms): when Redis is slow
	// or down, readers fall back to the database quickly instead of waiting on it.
	redisTimeout time.Duration

	// now is the clock of soft expiries; tests replace it.
	now func() time.Time

	group    singleflight.Group
	requests *prometheus.CounterVec
}

func (s *Server) initCache() error {
	var err error
	s.cache = &cacheState{
		rdb:          s.cfg.Redis,
		prefix:       s.cfg.KeyPrefix,
		ttl:          2 * time.Second,
		stale:        10 * time.Second,
		lockTTL:      2 * time.Second,
		missWait:     300 * time.Millisecond,
		loadTimeout:  10 * time.Second,
		redisTimeout: 250 * time.Millisecond,
		now:          time.Now,
		requests: promreg.Register(s.cfg.Registry, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stampede_cache_requests_total",
			Help: "Read-path cache lookups by key kind and result: hit, stale (served while another reader reloads), " +
				"coalesced (shared another request's lookup in this process), miss (loaded), error (Redis failed; loaded).",
		}, []string{"kind", "result"}), &err),
	}
	if err != nil {
		return fmt.Errorf("new server: register cache metrics: %w", err)
	}
	return nil
}

// Cache results, the metric's result label.
const (
	cacheHit       = "hit"
	cacheStale     = "stale"
	cacheCoalesced = "coalesced"
	cacheMiss      = "miss"
	cacheError     = "error"
)

// cached returns the JSON of what load returns, through the read-path cache under key. load is
// called at most once per process for concurrent readers of one key, with a context that is not
// cancelled when the first reader goes away (it is bounded by loadTimeout instead). An error
// from load is returned as it is and nothing is cached.
func (s *Server) cached(ctx context.Context, key string, load func(context.Context) (any, error)) ([]byte, error) {
	c := s.cache
	ran := false
	var result string
	v, err, _ := c.group.Do(key, func() (any, error) {
		ran = true
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.loadTimeout)
		defer cancel()
		b, r, err := c.lookup(lctx, key, load)
		result = r
		return b, err
	})
	if !ran {
		result = cacheCoalesced
	}
	c.requests.WithLabelValues(cacheKind(key), result).Inc()
	if err != nil {
		return nil, err
	}
	return v.([]byte), nil
}

// cacheKind is the metric label of a key: its first colon-separated part.
func cacheKind(key string) string {
	kind, _, _ := strings.Cut(key, ":")
	return kind
}

// cacheGetScript reads a key's generation and the entry under it in one round trip.
// KEYS: generation key. ARGV: entry key without its generation.
var cacheGetScript = redis.NewScript(`
local g = redis.call('GET', KEYS[1]) or '0'
return {g, redis.call('GET', ARGV[1] .. g) or false}
`)

// lookup is one process's lookup of key: Redis first, then load.
func (c *cacheState) lookup(ctx context.Context, key string, load func(context.Context) (any, error)) ([]byte, string, error) {
	if c.rdb == nil {
		b, err := loadJSON(ctx, load)
		return b, cacheMiss, err
	}
	base := c.prefix + "cache:" + key + ":"
	rctx, cancel := context.WithTimeout(ctx, c.redisTimeout)
	res, err := cacheGetScript.Run(rctx, c.rdb, []string{c.genKey(key)}, base).Slice()
	cancel()
	if err != nil || len(res) != 2 {
		b, lerr := loadJSON(ctx, load)
		return b, cacheError, lerr
	}
	gen := luareply.String(res[0])
	entry, lock := base+gen, c.prefix+"cache:lock:"+key+":"+gen
	if luareply.Present(res[1]) {
		soft, body, ok := decodeEntry(luareply.String(res[1]))
		if ok {
			if c.now().Before(soft) {
				return body, cacheHit, nil
			}
			if !c.tryLock(ctx, lock) {
				return body, cacheStale, nil
			}
			b, err := c.fill(ctx, entry, lock, load)
			return b, cacheMiss, err
		}
	}
	if c.tryLock(ctx, lock) {
		b, err := c.fill(ctx, entry, lock, load)
		return b, cacheMiss, err
	}
	// Another process is loading this key: wait a little for its value.
	deadline := time.Now().Add(c.missWait)
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return nil, cacheMiss, ctx.Err()
		case <-t.C:
		}
		rctx, cancel := context.WithTimeout(ctx, c.redisTimeout)
		raw, err := c.rdb.Get(rctx, entry).Result()
		cancel()
		if err != nil {
			continue
		}
		if _, body, ok := decodeEntry(raw); ok {
			return body, cacheHit, nil
		}
	}
	b, err := loadJSON(ctx, load)
	return b, cacheMiss, err
}

// tryLock takes the right to load a key; a Redis error counts as taking it (the reader loads).
func (c *cacheState) tryLock(ctx context.Context, lock string) bool {
	rctx, cancel := context.WithTimeout(ctx, c.redisTimeout)
	defer cancel()
	ok, err := c.rdb.SetNX(rctx, lock, 1, c.lockTTL).Result()
	return ok || err != nil
}

// fill loads a value and stores it under entry. A failure to store is not the reader's
// problem: the value is returned anyway.
func (c *cacheState) fill(ctx context.Context, entry, lock string, load func(context.Context) (any, error)) ([]byte, error) {
	b, err := loadJSON(ctx, load)
	rctx, cancel := context.WithTimeout(ctx, c.redisTimeout)
	defer cancel()
	if err != nil {
		_ = c.rdb.Del(rctx, lock).Err()
		return nil, err
	}
	pipe := c.rdb.Pipeline()
	pipe.Set(rctx, entry, encodeEntry(c.now().Add(c.ttl), b), c.ttl+c.stale)
	pipe.Del(rctx, lock)
	_, _ = pipe.Exec(rctx)
	return b, nil
}

func loadJSON(ctx context.Context, load func(context.Context) (any, error)) ([]byte, error) {
	v, err := load(ctx)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode cached value: %w", err)
	}
	return b, nil
}

// An entry is its soft expiry (unix ms, 8 bytes big-endian) followed by the JSON.
func encodeEntry(soft time.Time, body []byte) []byte {
	out := make([]byte, 8+len(body))
	binary.BigEndian.PutUint64(out, uint64(soft.UnixMilli()))
	copy(out[8:], body)
	return out
}

func decodeEntry(raw string) (time.Time, []byte, bool) {
	if len(raw) < 8 {
		return time.Time{}, nil, false
	}
	soft := time.UnixMilli(int64(binary.BigEndian.Uint64([]byte(raw[:8]))))
	return soft, []byte(raw[8:]), true
}

// genKey is the generation counter a key is cached under: its event's for "event:<id>..." keys,
// the list generation for all others.
func (c *cacheState) genKey(key string) string {
	if rest, ok := strings.CutPrefix(key, "event:"); ok {
		id, _, _ := strings.Cut(rest, ":")
		return c.eventGenKey(id)
	}
	return c.prefix + "cache:gen:list"
}

func (c *cacheState) eventGenKey(id string) string { return c.prefix + "cache:gen:event:" + id }

// errCacheInvalidate wraps a failure to invalidate: the stale entries then expire within
// ttl + stale.
var errCacheInvalidate = errors.New("invalidate read-path cache")

// invalidateEvent drops the cached pages of an event (and the lists that show it), in every
// process sharing the Redis, and this process's copy of the event's waiting-room settings.
func (s *Server) invalidateEvent(ctx context.Context, eventID string) error {
	s.room.ForgetEvent(eventID)
	c := s.cache
	if c.rdb == nil {
		return nil
	}
	pipe := c.rdb.TxPipeline()
	pipe.Incr(ctx, c.eventGenKey(eventID))
	pipe.Incr(ctx, c.genKey(listCacheKey))
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("%w of event %s: %w", errCacheInvalidate, eventID, err)
	}
	return nil
}
