package strategies

import (
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"stampede/internal/failpoint"
	"stampede/internal/sqldb"
)

// Deps is what a strategy is built from.
type Deps struct {
	// DB is the strategy's database (PostgreSQL or MySQL).
	DB sqldb.DB
	// Redis is required by redis-lock; others ignore it.
	Redis *redis.Client
	// KeyPrefix namespaces every Redis key the strategy writes.
	KeyPrefix string
	// HoldTTL is the lifetime of holds whose request gives none; 0 means DefaultHoldTTL.
	HoldTTL time.Duration
	// SafetyNet adds UNIQUE (event_id, seat_id) on booked seats: off in verification runs, so
	// the checker sees what the strategy itself does.
	SafetyNet bool
	// SweepInterval is how often strategies with a sweeper release expired holds; 0 means 1s.
	SweepInterval time.Duration
	// SweepBatch bounds the holds one sweep releases; 0 means 500.
	SweepBatch int
	// Now is the clock; nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
	// Failpoints are evaluated at the strategy's critical points (failpoint.InHoldTx,
	// InConfirmTx, AfterRedisLock); nil disables them at no cost.
	Failpoints *failpoint.Set
}

// DefaultHoldTTL is the lifetime of a hold when neither its request nor Deps.HoldTTL gives one.
const DefaultHoldTTL = 10 * time.Minute

// HoldTTLOrDefault is the hold lifetime a strategy built with Deps.HoldTTL = ttl gives holds
// whose request names none: ttl, or DefaultHoldTTL when ttl is not positive. The server, which
// puts that lifetime in its hold requests and views, uses it to agree with the strategy.
func HoldTTLOrDefault(ttl time.Duration) time.Duration {
	if ttl <= 0 {
		return DefaultHoldTTL
	}
	return ttl
}

func (d *Deps) defaults() {
	d.HoldTTL = HoldTTLOrDefault(d.HoldTTL)
	if d.SweepInterval <= 0 {
		d.SweepInterval = time.Second
	}
	if d.SweepBatch <= 0 {
		d.SweepBatch = 500
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
}

type constructor struct {
	new        func(Deps) (Strategy, error)
	unsafe     bool
	needsRedis bool
	about      string
}

// registry is every strategy by name, built here in one place.
var registry = map[string]constructor{
	"pessimistic":         {new: newPessimistic, about: "SELECT ... FOR UPDATE in seat order; the charge runs inside the transaction"},
	"status-expiry":       {new: newStatusExpiry, about: "one conditional UPDATE with the implicit-status rule, plus a sweeper"},
	"redis-lock":          {new: newRedisLock, needsRedis: true, about: "SET NX PX locks in one Lua script, fencing tokens checked on confirm"},
	"skip-locked":         {new: newSkipLocked, about: "one row per unit, FOR UPDATE SKIP LOCKED; GA from a bounded unit pool"},
	"naive":               {new: newNaive, unsafe: true, about: "read then write without lock or condition: sells seats twice on purpose"},
	"redis-lock-unfenced": {new: newRedisLockUnfenced, unsafe: true, needsRedis: true, about: "redis-lock whose confirm skips the lock checks and the fencing token: broken on purpose"},
	"status-expiry-blind": {new: newStatusExpiryBlind, unsafe: true, about: "status-expiry whose confirm sells the seats whoever holds them: broken on purpose"},
}

// Names lists the strategies; Safe lists those that are not unsafe on purpose.
func Names() []string { return names(false) }

// Safe lists the strategies that claim to be correct.
func Safe() []string { return names(true) }

func names(safeOnly bool) []string {
	var out []string
	for n, c := range registry {
		if safeOnly && c.unsafe {
			continue
		}
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// About is a one-line description of a strategy.
func About(name string) string { return registry[name].about }

// Unsafe reports whether the strategy sells seats twice on purpose.
func Unsafe(name string) bool { return registry[name].unsafe }

// NeedsRedis reports whether the strategy keeps its holds in Redis (Deps.Redis is required).
func NeedsRedis(name string) bool { return registry[name].needsRedis }

// New builds the named strategy. Unsafe strategies are refused unless allowUnsafe is set.
func New(name string, d Deps, allowUnsafe bool) (Strategy, error) {
	c, ok := registry[name]
	if !ok {
		return nil, fmt.Errorf("strategy %q: unknown; choose one of %s", name, strings.Join(Names(), ", "))
	}
	if c.unsafe && !allowUnsafe {
		return nil, fmt.Errorf("strategy %q sells seats twice on purpose; pass --allow-unsafe to run it", name)
	}
	if d.DB == nil {
		return nil, fmt.Errorf("strategy %q: no database", name)
	}
	d.defaults()
	return c.new(d)
}
