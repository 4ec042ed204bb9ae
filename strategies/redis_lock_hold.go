package strategies

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"stampede/internal/sqldb"
)

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
			if who == "sold" {
				// The database sold the seat after the read above (Redis records a sale only
				// once it is committed): the map must not show a sold seat as available.
				a.Seats[part[j]].Status = SeatSold
				a.Seats[part[j]].BookingID = rest
				continue
			}
			if exp, _ := strconv.ParseInt(rest, 10, 64); exp > nowMS {
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
