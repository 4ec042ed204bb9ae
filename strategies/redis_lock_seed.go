package strategies

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"stampede/internal/sqldb"
)

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
