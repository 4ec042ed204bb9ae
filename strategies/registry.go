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
	// HoldGroups is how many shared batches of concurrent single-seat holds may run at once on
	// MySQL (hold_group.go); 0 means DefaultHoldGroups, and a negative value gives every hold
	// a batch of its own.
	HoldGroups int
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
	if d.HoldGroups == 0 {
		d.HoldGroups = DefaultHoldGroups
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
	// base is the safe strategy a broken variant is built on, flaw its named defect (broken.go).
	base string
	flaw Flaw
}

// registry is every strategy by name, built here in one place.
var registry = map[string]constructor{
	"pessimistic":         {new: newPessimistic, about: "SELECT ... FOR UPDATE in seat order; the charge runs inside the transaction"},
	"status-expiry":       {new: newStatusExpiry, about: "one conditional UPDATE with the implicit-status rule, plus a sweeper"},
	"redis-lock":          {new: newRedisLock, needsRedis: true, about: "SET NX PX locks in one Lua script, fencing tokens checked on confirm"},
	"skip-locked":         {new: newSkipLocked, about: "one row per unit, FOR UPDATE SKIP LOCKED; GA from a bounded unit pool"},
	"naive":               {new: newNaive, unsafe: true, about: "read then write without lock or condition: sells seats twice on purpose"},
	"redis-lock-unfenced": {new: newRedisLockUnfenced, unsafe: true, needsRedis: true, base: "redis-lock", about: "redis-lock whose confirm skips the lock checks and the fencing token: broken on purpose"},
	"status-expiry-blind": {new: newStatusExpiryBlind, unsafe: true, base: "status-expiry", about: "status-expiry whose confirm sells the seats whoever holds them: broken on purpose"},
	"double-charge": {new: newStatusExpiryFlawed("double-charge", FlawChargeEachAttempt), unsafe: true, base: "status-expiry", flaw: FlawChargeEachAttempt,
		about: "status-expiry whose checkout, retried after the processor's answer was lost, charges again: broken on purpose"},
	"phantom-refund": {new: newStatusExpiryFlawed("phantom-refund", FlawRefundUnmade), unsafe: true, base: "status-expiry", flaw: FlawRefundUnmade,
		about: "status-expiry whose checkout announces refunds it never makes: broken on purpose"},
	"unstored-booking": {new: newStatusExpiryFlawed("unstored-booking", FlawBookingUnstored), unsafe: true, base: "status-expiry", flaw: FlawBookingUnstored,
		about: "status-expiry that answers a booking it never stores when the hold was lost during payment: broken on purpose"},
	"skip-locked-resold": {new: newSkipLockedResold, unsafe: true, base: "skip-locked", flaw: FlawExpiredResold,
		about: "skip-locked whose confirm sells an expired hold's seats to its old holder after another buyer took them: broken on purpose"},
	"no-admission": {new: newStatusExpiryFlawed("no-admission", FlawAdmissionUnchecked), unsafe: true, base: "status-expiry", flaw: FlawAdmissionUnchecked,
		about: "status-expiry served with a waiting room that lets holds without a token through: broken on purpose"},
	"ga-oversell": {new: newStatusExpiryFlawed("ga-oversell", FlawGAUnlocked), unsafe: true, base: "status-expiry", flaw: FlawGAUnlocked,
		about: "status-expiry whose general-admission holds read and write the tier count without a lock: broken on purpose"},
	"write-behind": {new: newStatusExpiryFlawed("write-behind", FlawWriteBehind), unsafe: true, base: "status-expiry", flaw: FlawWriteBehind,
		about: "status-expiry that answers a booking before it is written, so a crash loses it: broken on purpose"},
	"hold-leak": {new: newStatusExpiryFlawed("hold-leak", FlawHoldNeverExpires), unsafe: true, base: "status-expiry", flaw: FlawHoldNeverExpires,
		about: "status-expiry whose holds stay held long after the expiry they announce: broken on purpose"},
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

// Unsafe reports whether the strategy is broken on purpose (naive and the broken variants).
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
		return nil, fmt.Errorf("strategy %q is broken on purpose; pass --allow-unsafe to run it", name)
	}
	if d.DB == nil {
		return nil, fmt.Errorf("strategy %q: no database", name)
	}
	d.defaults()
	return c.new(d)
}
