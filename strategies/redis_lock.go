package strategies

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
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

// rlEvent is what redis-lock keeps of an event in memory: seat prices and tiers, which never
// change once the event exists.
type rlEvent struct {
	id    string
	seats map[string]int64
	tiers map[string]rlTier
	names []string // tier names, sorted
}

type rlTier struct{ capacity, price int64 }

// rlLoad is one event's load, shared by the requests that need it at the same time.
type rlLoad struct {
	done chan struct{}
	ev   *rlEvent
	err  error
}

// event returns the event's seats and tiers, reading them from the database once (concurrent
// first requests wait for one read). A failed read is not remembered.
func (s *RedisLock) event(ctx context.Context, id string) (*rlEvent, error) {
	s.mu.Lock()
	l := s.events[id]
	if l == nil {
		l = &rlLoad{done: make(chan struct{})}
		s.events[id] = l
		s.mu.Unlock()
		// The load serves every waiter: it must not end with the first caller's context.
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		l.ev, l.err = s.loadEvent(lctx, id)
		cancel()
		if l.err != nil {
			s.mu.Lock()
			delete(s.events, id)
			s.mu.Unlock()
		}
		close(l.done)
	} else {
		s.mu.Unlock()
	}
	select {
	case <-l.done:
		return l.ev, l.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (s *RedisLock) loadEvent(ctx context.Context, id string) (*rlEvent, error) {
	q := sqldb.OnPool(s.db, tagRead)
	if err := eventExists(ctx, q, id); err != nil {
		return nil, err
	}
	ev := &rlEvent{id: id, seats: map[string]int64{}, tiers: map[string]rlTier{}}
	err := q.Query(ctx, "SELECT seat_id, price_cents FROM seats WHERE event_id = ?", func(rows sqldb.Rows) error {
		for rows.Next() {
			var seat string
			var price int64
			if err := rows.Scan(&seat, &price); err != nil {
				return err
			}
			ev.seats[seat] = price
		}
		return nil
	}, id)
	if err != nil {
		return nil, fmt.Errorf("read seats of %s: %w", id, err)
	}
	err = q.Query(ctx, "SELECT tier, capacity, price_cents FROM ga_tiers WHERE event_id = ? ORDER BY tier", func(rows sqldb.Rows) error {
		for rows.Next() {
			var name string
			var t rlTier
			if err := rows.Scan(&name, &t.capacity, &t.price); err != nil {
				return err
			}
			ev.tiers[name] = t
			ev.names = append(ev.names, name)
		}
		return nil
	}, id)
	if err != nil {
		return nil, fmt.Errorf("read tiers of %s: %w", id, err)
	}
	return ev, nil
}

// PrepareEvent reads the event into memory and seeds its Redis keys (fencing counter, tier
// states). It is idempotent.
func (s *RedisLock) PrepareEvent(ctx context.Context, e Event) error {
	if _, err := s.event(ctx, e.ID); err != nil {
		return fmt.Errorf("prepare event %s: %w", e.ID, err)
	}
	if err := s.seed(ctx, e.ID); err != nil {
		return fmt.Errorf("prepare event %s: %w", e.ID, err)
	}
	return nil
}

// seed writes the event's keys from the database where they are missing (lua/init.lua). After
// a Redis restart every request of an event finds its keys missing at once: one of them seeds,
// the others wait for it and then try their script again.
func (s *RedisLock) seed(ctx context.Context, eventID string) error {
	s.mu.Lock()
	if ch, busy := s.seeding[eventID]; busy {
		s.mu.Unlock()
		select {
		case <-ch:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	ch := make(chan struct{})
	s.seeding[eventID] = ch
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.seeding, eventID)
		s.mu.Unlock()
		close(ch)
	}()
	return s.seedOnce(ctx, eventID)
}

func (s *RedisLock) seedOnce(ctx context.Context, eventID string) error {
	ev, err := s.event(ctx, eventID)
	if err != nil {
		return err
	}
	q := sqldb.OnPool(s.db, tagRead)
	var maxFence int64
	if err := q.QueryRow(ctx, "SELECT COALESCE(MAX(fence), 0) FROM seats WHERE event_id = ?", []any{&maxFence}, eventID); err != nil {
		return fmt.Errorf("read fences of %s: %w", eventID, err)
	}
	keys := []string{s.fenceKey(eventID)}
	// The seed is the wall clock, not Deps.Now: it must move forward in real time between two
	// seeds even when the application clock is a test's, which may stand still.
	args := []any{max(maxFence, time.Now().UnixMicro()), len(ev.names)}
	err = q.Query(ctx, "SELECT tier, capacity, sold FROM ga_tiers WHERE event_id = ? ORDER BY tier", func(rows sqldb.Rows) error {
		for rows.Next() {
			var tier string
			var capacity, sold int64
			if err := rows.Scan(&tier, &capacity, &sold); err != nil {
				return err
			}
			keys = append(keys, s.tierKey(eventID, tier))
			args = append(args, capacity, sold)
		}
		return nil
	}, eventID)
	if err != nil {
		return fmt.Errorf("read tiers of %s: %w", eventID, err)
	}
	if len(keys)-1 != len(ev.names) {
		return fmt.Errorf("seed %s: tiers changed under the strategy", eventID)
	}
	err = q.Query(ctx, "SELECT seat_id, COALESCE(booking_id, '') FROM seats WHERE event_id = ? AND status = 'sold'", func(rows sqldb.Rows) error {
		for rows.Next() {
			var seat, booking string
			if err := rows.Scan(&seat, &booking); err != nil {
				return err
			}
			keys = append(keys, s.seatKey(eventID, seat))
			args = append(args, booking)
		}
		return nil
	}, eventID)
	if err != nil {
		return fmt.Errorf("read sold seats of %s: %w", eventID, err)
	}
	seeded, err := s.initScript.Run(ctx, s.rdb, keys, args...).Int()
	if err != nil {
		return fmt.Errorf("seed redis keys of %s: %w", eventID, err)
	}
	if seeded == 1 {
		s.log.Info("redis-lock: seeded event keys from the database", "event", eventID, "fence", args[0])
	}
	return nil
}

// run runs a script that answers -1 (as a number or as the first element of a list) when the
// event's keys are missing; then it seeds them (or waits for the seeding in flight) and runs
// the script again, at most twice more.
func (s *RedisLock) run(ctx context.Context, eventID string, sc *redis.Script, keys []string, args ...any) (any, error) {
	for attempt := 0; ; attempt++ {
		res, err := sc.Run(ctx, s.rdb, keys, args...).Result()
		if err != nil {
			return nil, fmt.Errorf("redis: %w", err)
		}
		if !uninitialised(res) {
			return res, nil
		}
		if attempt >= 2 {
			return nil, fmt.Errorf("redis keys of event %s are missing after seeding them", eventID)
		}
		if err := s.seed(ctx, eventID); err != nil {
			return nil, err
		}
	}
}

func uninitialised(res any) bool {
	switch v := res.(type) {
	case int64:
		return v == -1
	case []any:
		return len(v) > 0 && v[0] == int64(-1)
	}
	return false
}

// ms is t in Unix milliseconds, the unit of every time in Redis.
func ms(t time.Time) int64 { return t.UnixMilli() }

// Hold takes the seats, or Quantity units of a tier, in Redis; see the type's documentation.
func (s *RedisLock) Hold(ctx context.Context, r HoldRequest) (Hold, error) {
	r, err := checkHoldRequest(r, s.ttl)
	if err != nil {
		return Hold{}, err
	}
	ev, err := s.event(ctx, r.EventID)
	if err != nil {
		return Hold{}, err
	}
	now := s.clock()
	ttlMS := max(1, r.TTL.Milliseconds())
	expMS := ms(now) + ttlMS
	h := Hold{
		ID: newID("h_"), EventID: r.EventID, Session: r.Session, Seats: r.Seats, Tier: r.Tier, Quantity: r.Quantity,
		Expires: time.UnixMilli(expMS).UTC(), TTL: r.TTL, Status: StatusHeld,
	}
	var keys []string
	var script *redis.Script
	arg4 := ttlMS // the seat keys' PX, or the GA quantity
	if len(r.Seats) > 0 {
		for _, seat := range r.Seats {
			price, ok := ev.seats[seat]
			if !ok {
				return Hold{}, fmt.Errorf("seat %s of event %s: %w", seat, r.EventID, ErrSeatNotFound)
			}
			h.AmountCents += price
		}
		script = s.holdSeatsScript
		keys = []string{s.fenceKey(r.EventID), s.holdKey(h.ID), s.holdsKey(r.EventID)}
		for _, seat := range r.Seats {
			keys = append(keys, s.seatKey(r.EventID, seat))
		}
	} else {
		t, ok := ev.tiers[r.Tier]
		if !ok {
			return Hold{}, fmt.Errorf("tier %s of event %s: %w", r.Tier, r.EventID, ErrTierNotFound)
		}
		h.AmountCents = int64(r.Quantity) * t.price
		script = s.holdGAScript
		keys = []string{s.fenceKey(r.EventID), s.holdKey(h.ID), s.holdsKey(r.EventID), s.tierKey(r.EventID, r.Tier), s.tierHoldsKey(r.EventID, r.Tier)}
		arg4 = int64(r.Quantity)
	}
	retMS := s.retention.Milliseconds()
	args := []any{h.ID, ms(now), expMS, arg4, ttlMS + retMS, expMS + retMS,
		"event", h.EventID, "session", h.Session, "seats", encodeList(h.Seats), "tier", h.Tier,
		"quantity", h.Quantity, "amount", h.AmountCents, "expires", expMS, "ttl", ttlMS,
		"status", StatusHeld, "created", ms(now)}
	res, err := s.run(ctx, r.EventID, script, keys, args...)
	if err != nil {
		return Hold{}, fmt.Errorf("hold on %s: %w", r.EventID, err)
	}
	out, ok := res.([]any)
	if !ok || len(out) < 2 {
		return Hold{}, fmt.Errorf("hold on %s: unexpected script answer %v", r.EventID, res)
	}
	switch out[0] {
	case int64(1):
		h.Token, _ = out[1].(int64)
		return h, nil
	case int64(0):
		if len(r.Seats) == 0 {
			return Hold{}, fmt.Errorf("tier %s of %s: %v left, %d asked: %w", r.Tier, r.EventID, out[1], r.Quantity, ErrSoldOut)
		}
		var taken []string
		for _, i := range out[1:] {
			if n, ok := i.(int64); ok && n >= 1 && int(n) <= len(r.Seats) {
				taken = append(taken, r.Seats[n-1])
			}
		}
		return Hold{}, &UnavailableError{Seats: taken}
	}
	return Hold{}, fmt.Errorf("hold on %s: unexpected script answer %v", r.EventID, res)
}

// redisHold reads a hold's hash; found is false when Redis has no such hold (never made, past
// its retention, or lost in a restart). Status is the stored one (held, released or sold).
func (s *RedisLock) redisHold(ctx context.Context, id string) (Hold, bool, error) {
	m, err := s.rdb.HGetAll(ctx, s.holdKey(id)).Result()
	if err != nil {
		return Hold{}, false, fmt.Errorf("read hold %s: %w", id, err)
	}
	if len(m) == 0 || m["event"] == "" {
		return Hold{}, false, nil
	}
	return holdFromHash(id, m), true, nil
}

func holdFromHash(id string, m map[string]string) Hold {
	num := func(k string) int64 { n, _ := strconv.ParseInt(m[k], 10, 64); return n }
	return Hold{
		ID: id, EventID: m["event"], Session: m["session"], Seats: decodeList(m["seats"]), Tier: m["tier"],
		Quantity: int(num("quantity")), Expires: time.UnixMilli(num("expires")).UTC(),
		TTL: time.Duration(num("ttl")) * time.Millisecond, Status: m["status"], AmountCents: num("amount"),
		Token: num("token"), BookingID: m["booking_id"],
	}
}

// soldHold reads the holds row that a confirm writes for a sold hold (ErrHoldNotFound when
// there is none).
func (s *RedisLock) soldHold(ctx context.Context, id string) (Hold, error) {
	return loadHold(ctx, sqldb.OnPool(s.db, tagRead), id, false)
}

// GetHold returns a hold with its current status: from Redis while it keeps the hold, from the
// database once it is sold.
func (s *RedisLock) GetHold(ctx context.Context, holdID string) (Hold, error) {
	h, found, err := s.redisHold(ctx, holdID)
	if err != nil {
		return Hold{}, err
	}
	if !found {
		return s.soldHold(ctx, holdID)
	}
	if h.Status == StatusHeld && expired(h.Expires, s.clock()) {
		h.Status = StatusExpired
	}
	return h, nil
}

// Holds lists the event's holds that Redis still keeps and that are not sold, soonest expiry
// first, with their current statuses.
func (s *RedisLock) Holds(ctx context.Context, eventID string) ([]Hold, error) {
	if _, err := s.event(ctx, eventID); err != nil {
		return nil, err
	}
	now := s.clock()
	ids, err := s.rdb.ZRangeByScore(ctx, s.holdsKey(eventID), &redis.ZRangeBy{Min: strconv.FormatInt(ms(now), 10), Max: "+inf"}).Result()
	if err != nil {
		return nil, fmt.Errorf("list holds of %s: %w", eventID, err)
	}
	cmds := make([]*redis.MapStringStringCmd, len(ids))
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.HGetAll(ctx, s.holdKey(id))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read holds of %s: %w", eventID, err)
	}
	out := []Hold{}
	for i, c := range cmds {
		m := c.Val()
		if len(m) == 0 || m["status"] == StatusSold {
			continue
		}
		h := holdFromHash(ids[i], m)
		if h.Status == StatusHeld && expired(h.Expires, now) {
			h.Status = StatusExpired
		}
		out = append(out, h)
	}
	slices.SortFunc(out, func(a, b Hold) int {
		if c := a.Expires.Compare(b.Expires); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// confirmKeys are the keys of lua/confirm.lua and lua/finalize.lua (after their first one).
func (s *RedisLock) confirmKeys(h Hold) []string {
	tier := h.Tier
	if tier == "" {
		tier = "-" // a key the seat path never touches
	}
	keys := []string{s.tierKey(h.EventID, tier), s.tierHoldsKey(h.EventID, tier)}
	for _, seat := range h.Seats {
		keys = append(keys, s.seatKey(h.EventID, seat))
	}
	return keys
}

// checkLock runs lua/confirm.lua: 1 ours, 0 someone else's, -2 released.
func (s *RedisLock) checkLock(ctx context.Context, h Hold, mode string) (int64, error) {
	now := s.clock()
	keys := append([]string{s.fenceKey(h.EventID), s.holdKey(h.ID)}, s.confirmKeys(h)...)
	res, err := s.run(ctx, h.EventID, s.confirmScript, keys,
		h.ID, ms(now), mode, ms(now.Add(s.grace)), s.grace.Milliseconds(), h.Quantity)
	if err != nil {
		return 0, fmt.Errorf("%s lock of hold %s: %w", mode, h.ID, err)
	}
	n, _ := res.(int64)
	return n, nil
}

// Confirm charges and books a hold; see the type's documentation for the order of events.
func (s *RedisLock) Confirm(ctx context.Context, r ConfirmRequest) (Booking, error) {
	h, found, err := s.redisHold(ctx, r.HoldID)
	if err != nil {
		return Booking{}, err
	}
	if !found {
		sold, err := s.soldHold(ctx, r.HoldID)
		if err != nil {
			return Booking{}, err
		}
		return alreadySold(ctx, s.store, sold, r.BookingID)
	}
	switch h.Status {
	case StatusSold:
		return alreadySold(ctx, s.store, h, r.BookingID)
	case StatusReleased:
		return Booking{}, fmt.Errorf("confirm %s: released: %w", h.ID, ErrHoldExpired)
	}
	// The broken variant (unfenced, seat holds only) trusts the lock it once had: no check.
	trustLock := s.unfenced && h.Tier == ""
	switch n, err := s.lockCheck(ctx, h, "check", trustLock); {
	case err != nil:
		return Booking{}, fmt.Errorf("confirm %s: %w", h.ID, err)
	case n == -2:
		return Booking{}, fmt.Errorf("confirm %s: released: %w", h.ID, ErrHoldExpired)
	case n != 1:
		// A concurrent confirm of this very hold may have sold the seats since the hold was
		// read: then the answer is the sale, not an expiry.
		if now, found, err := s.redisHold(ctx, h.ID); err == nil && found && now.Status == StatusSold {
			return alreadySold(ctx, s.store, now, r.BookingID)
		}
		return Booking{}, fmt.Errorf("confirm %s: expired and taken: %w", h.ID, ErrHoldExpired)
	}
	if expired(h.Expires, s.clock()) {
		h.Status = StatusExpired
	}
	var charge Charge
	if r.Charge != nil {
		if charge, err = r.Charge(ctx, h); err != nil {
			return Booking{}, fmt.Errorf("charge hold %s: %w", h.ID, err)
		}
	}
	b := Booking{
		ID: newBookingID(r.BookingID), HoldID: h.ID, EventID: h.EventID, Session: h.Session,
		Seats: h.Seats, Tier: h.Tier, Quantity: h.Quantity, ChargeID: charge.ID,
		AmountCents: h.AmountCents, Created: dbTime(s.clock()),
	}
	// From here on the buyer has paid: every failure is ErrHoldLost (the caller refunds) unless
	// the booking turns out to exist.
	switch n, err := s.lockCheck(ctx, h, "claim", trustLock); {
	case err != nil:
		return s.lost(ctx, h, b, err)
	case n != 1:
		return s.lost(ctx, h, b, errors.New("the lock is someone else's now"))
	}
	if err := s.fp.Eval(ctx, failpoint.AfterRedisLock); err != nil {
		return s.lost(ctx, h, b, err)
	}
	err = s.db.Tx(ctx, tagCheckout, func(tx sqldb.Tx) error {
		if h.Tier != "" {
			n, err := tx.Exec(ctx, "UPDATE ga_tiers SET available = available - ?, sold = sold + ? WHERE event_id = ? AND tier = ? AND available >= ?",
				h.Quantity, h.Quantity, h.EventID, h.Tier, h.Quantity)
			if err != nil {
				return fmt.Errorf("sell units: %w", err)
			}
			if n != 1 {
				return fmt.Errorf("tier %s has fewer than %d units left: %w", h.Tier, h.Quantity, errLostRows)
			}
		} else {
			args := appendArgs([]any{h.ID, b.ID, h.Token, h.EventID}, h.Seats)
			guard := " AND status <> 'sold' AND fence < ?"
			if trustLock {
				guard = "" // the broken variant: neither the fence nor the seat's status is checked
			} else {
				args = append(args, h.Token)
			}
			n, err := tx.Exec(ctx, "UPDATE seats SET status = 'sold', hold_id = ?, booking_id = ?, expires_at = NULL, fence = ? WHERE event_id = ? AND seat_id IN ("+
				inList(len(h.Seats))+")"+guard, args...)
			if err != nil {
				return fmt.Errorf("sell seats: %w", err)
			}
			if n != int64(len(h.Seats)) {
				return fmt.Errorf("%d of %d seats could be sold with token %d: %w", n, len(h.Seats), h.Token, errLostRows)
			}
		}
		if err := s.fp.Eval(ctx, failpoint.InConfirmTx); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO holds (id, event_id, session, seats, tier, quantity, units, amount_cents, status, expires_at, ttl_ms, token, booking_id, created_at)
			VALUES (?, ?, ?, ?, ?, ?, '', ?, ?, ?, ?, ?, ?, ?)`,
			h.ID, h.EventID, h.Session, encodeList(h.Seats), h.Tier, h.Quantity, h.AmountCents, StatusSold,
			dbTime(h.Expires), h.TTL.Milliseconds(), h.Token, b.ID, b.Created)
		if uniqueViolation(err) {
			return fmt.Errorf("hold %s was sold by another confirm: %w", h.ID, errLostRows)
		}
		if err != nil {
			return fmt.Errorf("record sold hold: %w", err)
		}
		return insertBooking(ctx, tx, b)
	})
	if err != nil {
		return s.lost(ctx, h, b, err)
	}
	s.finalize(ctx, h, b.ID)
	return b, nil
}

// lost answers a confirm whose sale failed after the charge. If the booking exists after all
// (a concurrent confirm with the same booking id, or a commit whose answer was lost), it is
// the answer; if it certainly does not, ErrHoldLost; if the database cannot tell, the error
// without ErrHoldLost, since a refund could then take money for a booking that exists.
func (s *RedisLock) lost(ctx context.Context, h Hold, b Booking, cause error) (Booking, error) {
	dctx := context.WithoutCancel(ctx)
	got, err := s.store.GetBooking(dctx, b.ID)
	switch {
	case err == nil && got.HoldID == h.ID:
		s.finalize(dctx, h, got.ID)
		return got, nil
	case err == nil:
		return Booking{}, fmt.Errorf("confirm %s: booking id %s belongs to hold %s: %w", h.ID, b.ID, got.HoldID, ErrInvalid)
	case errors.Is(err, ErrBookingNotFound):
		// The sale certainly did not happen and the buyer will be refunded: give back what the
		// confirm's claim took now, rather than keeping the seats from others for its grace.
		keys := append([]string{s.holdKey(h.ID)}, s.confirmKeys(h)...)
		if rerr := s.releaseScript.Run(dctx, s.rdb, keys, h.ID, h.Quantity).Err(); rerr != nil {
			s.log.Warn("redis-lock: release the claim of a lost confirm", "hold", h.ID, "err", rerr)
		}
		return Booking{}, fmt.Errorf("confirm %s after the charge: %v: %w", h.ID, cause, ErrHoldLost)
	}
	return Booking{}, fmt.Errorf("confirm %s after the charge: %w (and reading the booking back: %v)", h.ID, cause, err)
}

// finalize records a committed sale in Redis. Failing to is logged, not returned: the database
// has the sale, and Redis is rebuilt from it after a restart.
func (s *RedisLock) finalize(ctx context.Context, h Hold, bookingID string) {
	keys := append([]string{s.holdKey(h.ID)}, s.confirmKeys(h)...)
	if err := s.finalizeScript.Run(context.WithoutCancel(ctx), s.rdb, keys, h.ID, bookingID, h.Quantity).Err(); err != nil {
		s.log.Warn("redis-lock: record sale in redis", "hold", h.ID, "booking", bookingID, "err", err)
	}
}

// Release deletes the seat keys the hold still has, returns its GA units and marks it
// released. Expired and released holds are not an error; a sold hold is ErrHoldSold.
func (s *RedisLock) Release(ctx context.Context, holdID string) error {
	h, found, err := s.redisHold(ctx, holdID)
	if err != nil {
		return err
	}
	if found {
		keys := append([]string{s.holdKey(h.ID)}, s.confirmKeys(h)...)
		n, err := s.releaseScript.Run(ctx, s.rdb, keys, h.ID, h.Quantity).Int64()
		if err != nil {
			return fmt.Errorf("release %s: %w", holdID, err)
		}
		switch n {
		case 1, 2:
			return nil
		case 3:
			return fmt.Errorf("release %s: %w", holdID, ErrHoldSold)
		}
	}
	if _, err := s.soldHold(ctx, holdID); err != nil {
		return fmt.Errorf("release: %w", err)
	}
	return fmt.Errorf("release %s: %w", holdID, ErrHoldSold)
}

// Availability reads sold seats and tier sales from the database and overlays the holds that
// Redis has: a seat is held while its key names an unexpired hold; a tier's held count is the
// units of its unexpired entries.
func (s *RedisLock) Availability(ctx context.Context, eventID string) (Availability, error) {
	ev, err := s.event(ctx, eventID)
	if err != nil {
		return Availability{}, err
	}
	now := s.clock()
	a, err := availability(ctx, s.db, eventID, dbTime(now))
	if err != nil {
		return a, err
	}
	var open []int
	for i, seat := range a.Seats {
		if seat.Status == SeatAvailable {
			open = append(open, i)
		}
	}
	nowMS := ms(now)
	for start := 0; start < len(open); start += mgetChunk {
		part := open[start:min(start+mgetChunk, len(open))]
		keys := make([]string, len(part))
		for j, i := range part {
			keys[j] = s.seatKey(eventID, a.Seats[i].ID)
		}
		vals, err := s.rdb.MGet(ctx, keys...).Result()
		if err != nil {
			return a, fmt.Errorf("read seat locks of %s: %w", eventID, err)
		}
		for j, v := range vals {
			str, ok := v.(string)
			if !ok {
				continue
			}
			who, rest, _ := strings.Cut(str, "|")
			exp, _ := strconv.ParseInt(rest, 10, 64)
			if who != "sold" && exp > nowMS {
				a.Seats[part[j]].Status = SeatHeld
				a.Seats[part[j]].HoldID = who
			}
		}
	}
	for i, t := range a.Tiers {
		if _, ok := ev.tiers[t.Name]; !ok {
			continue
		}
		entries, err := s.rdb.ZRangeByScore(ctx, s.tierHoldsKey(eventID, t.Name), &redis.ZRangeBy{Min: "(" + strconv.FormatInt(nowMS, 10), Max: "+inf"}).Result()
		if err != nil {
			return a, fmt.Errorf("read holds of tier %s: %w", t.Name, err)
		}
		var held int64
		for _, e := range entries {
			_, q, _ := strings.Cut(e, "|")
			n, _ := strconv.ParseInt(q, 10, 64)
			held += n
		}
		t.Held = held
		t.Available = max(0, t.Capacity-t.Sold-t.Held)
		a.Tiers[i] = t
	}
	return a, nil
}
