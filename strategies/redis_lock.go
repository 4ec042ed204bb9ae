package strategies

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"stampede/internal/failpoint"
	"stampede/internal/sqldb"
)

// RedisLock holds seats in Redis and writes only sales to the database.
//
// Hold runs one Lua script (lua/hold_seats.lua) that checks every requested seat key
// {prefix}seat:{event}:{seat} and, only when all are free, sets each to the hold id with
// PX = the hold's TTL, takes a fencing token from INCR {prefix}fence:{event}, and writes the
// hold's metadata to the hash {prefix}hold:{id}. The database is not touched: seat ids are
// validated and priced from an in-memory copy of the event's seats, read once per event.
//
// Expiry has two clocks that agree in production: Redis drops a seat key after its PX, and the
// key's value also carries the hold's expiry on the application clock (Deps.Now), after which
// the scripts treat the seat as free. The hold hash outlives the hold by a retention period
// (15 minutes by default), so that an expired hold is still reported as expired, and can still
// be confirmed when nobody took its seats.
//
// General admission (lua/hold_ga.lua): a tier is a state hash {prefix}ga:{event}:{tier}
// (capacity, sold, held) and a sorted set {prefix}gaholds:{event}:{tier} of entries
// "HOLDID|QUANTITY" scored by the hold's expiry. Every script that touches the tier first purges
// expired entries, returning their units to it; ZREM succeeds once per entry, so units come back
// exactly once. A hold is admitted only while capacity - sold - held >= quantity. That is the
// choice over per-hold keys with their own TTL, whose expiry Redis reports to nobody: the tier's
// count would have to be recomputed by scanning. Redis's admission is not what prevents
// overselling, though: the sale's database write is guarded (ga_tiers.available >= quantity),
// so a tier never sells beyond its capacity even if Redis forgot everything.
//
// Confirm (the order of events is what makes it safe):
//  1. Before the charge (lua/confirm.lua, mode check): every seat must still be the hold's, or
//     free (it expired and nobody took it). Otherwise ErrHoldExpired, nothing charged.
//  2. The charge, outside any transaction.
//  3. After the charge (mode claim): the same check, and the seats are taken again for the
//     database write (confirm grace, 30s). If someone else has them now, ErrHoldLost.
//  4. The database write, in one transaction, in table order: UPDATE seats SET status='sold',
//     booking_id, fence=token WHERE ... AND status <> 'sold' AND fence < token (all rows, or
//     roll back: ErrHoldLost); for GA, the guarded ga_tiers update; then a holds row for the
//     sold hold (its primary key makes a second confirm of the same hold fail), then the
//     booking.
//  5. Redis records the sale (lua/finalize.lua): the seat keys become "sold|BOOKINGID" with no
//     expiry. The brief version of this step deletes the keys; marking them sold instead makes
//     a later hold of a sold seat fail at once instead of after its buyer was charged.
//
// Redis restarts. An empty Redis has lost every hold and the fencing counter. The first script
// to find {prefix}fence:{event} missing makes the strategy seed the event from the database
// (lua/init.lua, one atomic step): the counter starts at max(the largest fence on the event's
// seats, the wall clock in microseconds), the sold seats get their sold markers back,
// and each tier's state is rebuilt with sold from ga_tiers and nothing held. So tokens stay
// monotonic across restarts: every token written to the database is below the new start, and so
// is every token handed out before the restart (fewer than a million holds a second were
// issued since the previous seed, so the counter never caught up with the clock). A holder from
// before the restart is refused before its charge (its hold hash is gone: ErrHoldNotFound) or,
// mid-payment, after it (its seats are someone else's in Redis, or sold in the database). Two
// confirms can never both sell a seat: status <> 'sold' and the holds row's primary key are
// checked by the database inside the sale's transaction. The fence condition adds that a
// writer whose token is older than the seat's last sale is refused even if the seat were ever
// put back on sale.
//
// A Redis restart between a sale's commit and step 5 can leave a GA tier counting that sale
// twice (once seeded from the database, once by step 5): Redis then admits fewer units than are
// left, never more. RedisLock is safe for concurrent use.
type RedisLock struct {
	db        sqldb.DB
	store     *Store
	rdb       *redis.Client
	prefix    string
	clock     func() time.Time
	ttl       time.Duration
	log       *slog.Logger
	fp        *failpoint.Set
	retention time.Duration
	grace     time.Duration
	// unfenced switches on the broken variant redis-lock-unfenced (broken.go): a seat confirm
	// skips both lock checks and writes the sale with no fence or status condition.
	unfenced bool

	holdSeatsScript, holdGAScript, confirmScript, finalizeScript, releaseScript, initScript *redis.Script

	mu      sync.Mutex
	events  map[string]*rlLoad
	seeding map[string]chan struct{} // events being seeded; closed when done
}

var (
	_ Strategy = (*RedisLock)(nil)
	_ Preparer = (*RedisLock)(nil)
)

// Lua scripts, kept as files an editor can highlight.
//
//go:embed lua/*.lua
var luaFiles embed.FS

// Defaults of RedisLock.
const (
	defaultHoldRetention = 15 * time.Minute
	defaultConfirmGrace  = 30 * time.Second
	// mgetChunk bounds the keys of one MGET when availability reads a large seat map.
	mgetChunk = 1000
)

// RedisLockOption configures NewRedisLock.
type RedisLockOption func(*RedisLock) error

// WithHoldRetention sets how long a hold's metadata outlives its expiry (default 15m): within it
// an expired hold is reported as expired and may still be confirmed if nobody took its seats;
// after it the hold is unknown.
func WithHoldRetention(d time.Duration) RedisLockOption {
	return func(s *RedisLock) error {
		if d < time.Second {
			return fmt.Errorf("hold retention %s: must be at least 1s", d)
		}
		s.retention = d
		return nil
	}
}

// WithConfirmGrace sets how long a confirm keeps the seats in Redis for its database write
// after the charge (default 30s).
func WithConfirmGrace(d time.Duration) RedisLockOption {
	return func(s *RedisLock) error {
		if d < 100*time.Millisecond {
			return fmt.Errorf("confirm grace %s: must be at least 100ms", d)
		}
		s.grace = d
		return nil
	}
}

// NewRedisLock builds the redis-lock strategy over d.DB (migrated with Migrate) and d.Redis.
func NewRedisLock(d Deps, opts ...RedisLockOption) (*RedisLock, error) {
	if d.DB == nil {
		return nil, errors.New("redis-lock: no database")
	}
	if d.Redis == nil {
		return nil, errors.New("redis-lock: no Redis client (give --redis)")
	}
	d.defaults()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := applySafetyNet(ctx, d.DB, d.SafetyNet); err != nil {
		return nil, fmt.Errorf("redis-lock: %w", err)
	}
	s := &RedisLock{
		db: d.DB, store: NewStore(d.DB, d.Now), rdb: d.Redis, prefix: d.KeyPrefix, clock: d.Now,
		ttl: d.HoldTTL, log: d.Logger, fp: d.Failpoints, retention: defaultHoldRetention,
		grace: defaultConfirmGrace, events: map[string]*rlLoad{}, seeding: map[string]chan struct{}{},
	}
	for _, o := range opts {
		if err := o(s); err != nil {
			return nil, fmt.Errorf("redis-lock: %w", err)
		}
	}
	common, err := luaFiles.ReadFile("lua/common.lua")
	if err != nil {
		return nil, fmt.Errorf("redis-lock: %w", err)
	}
	for name, dst := range map[string]**redis.Script{
		"hold_seats": &s.holdSeatsScript, "hold_ga": &s.holdGAScript, "confirm": &s.confirmScript,
		"finalize": &s.finalizeScript, "release": &s.releaseScript, "init": &s.initScript,
	} {
		body, err := luaFiles.ReadFile("lua/" + name + ".lua")
		if err != nil {
			return nil, fmt.Errorf("redis-lock: %w", err)
		}
		*dst = redis.NewScript(string(common) + "\n" + string(body))
	}
	return s, nil
}

func newRedisLock(d Deps) (Strategy, error) { return NewRedisLock(d) }

// Name is the strategy's registry name.
func (s *RedisLock) Name() string {
	if s.unfenced {
		return "redis-lock-unfenced"
	}
	return "redis-lock"
}

// Keys.
func (s *RedisLock) seatKey(event, seat string) string {
	return s.prefix + "seat:" + event + ":" + seat
}
func (s *RedisLock) fenceKey(event string) string      { return s.prefix + "fence:" + event }
func (s *RedisLock) holdKey(id string) string          { return s.prefix + "hold:" + id }
func (s *RedisLock) holdsKey(event string) string      { return s.prefix + "holds:" + event }
func (s *RedisLock) tierKey(event, tier string) string { return s.prefix + "ga:" + event + ":" + tier }
func (s *RedisLock) tierHoldsKey(event, tier string) string {
	return s.prefix + "gaholds:" + event + ":" + tier
}
