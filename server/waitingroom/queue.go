package waitingroom

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"stampede/internal/luareply"
)

// The waiting room keeps one queue per event in Redis. Every key of event E starts with
// KeyPrefix + "wr:" + E:
//
//	:meta    hash {run, seq}: the queue's run id and its join counter
//	:q       sorted set session -> seq: the sessions still waiting, in join order
//	:joined  hash session -> join time (Redis clock, unix ms) of those waiting
//	:adm     hash session -> admission time (Redis clock, unix ms) of those admitted
//	:bucket  hash {tokens, ts}: the admission budget shared by every admitter
//	:rate    string: admissions per second (the event's configured rate, or an admin override)
//
// and KeyPrefix + "wr:active" is the set of events that have sessions waiting.
//
// Order. A join takes the next value of the event's own counter (HINCRBY meta seq) as its score,
// never a wall-clock time, so the order of the queue is the order in which Redis executed the
// joins, the same for every server process. Admission pops the lowest scores (ZPOPMIN), so
// sessions are admitted in join order, and since sessions leave the queue only from its head the
// waiting scores are always the contiguous range head..seq: a session's position is
// score - head + 1. That is what lets one broadcaster per event compute the positions of
// thousands of open streams from a single read of the head each tick.
//
// Rate. Admission runs a Lua script per event each tick that refills a token bucket from the
// Redis server's clock (TIME) at the event's rate, pops as many sessions as whole tokens allow
// and records them in :adm, all in one atomic step. Any number of admitters (one per server
// process) can run it at once: they share the bucket, so together they never admit more than
// rate x elapsed + the burst. The budget saved up while sessions wait is capped at
// burstSeconds of the rate: enough for admission to catch up after the admitters stalled (a busy
// machine, a Redis pause) so that the rate holds over a window, while an outage of every
// admitter does not end in a flood. An empty queue saves up nothing (at most one session), so a
// queue that fills again after being idle starts at the rate, and a paused queue (rate 0) saves
// up nothing either.
//
// Redis restarts. The join counter, the queue and the admitted set live in the same Redis and
// are lost together. Each queue carries a run id, stored in :meta and signed into every ticket.
// The first join after the loss finds no run id, starts a new run (deleting any leftovers, so
// scores of two runs never mix) and puts that session at the head of a new queue; the old
// order is not reconstructed or silently reshuffled. A ticket of the old run is answered with 404
// ticket_not_found saying the queue was reset and the session must join again; open streams
// receive an `error` event saying the same and end. Sessions that were admitted before the loss
// keep their admission tokens: tokens are self-contained and checked without Redis, so they
// stay valid until they expire. A rate set at run time through the admin endpoint is lost with
// the rest; the event's configured rate applies again from the next join.

// keyTTL is how long an event's queue keys live after its last join (or rate change), so a
// shared Redis does not keep abandoned queues forever.
const keyTTL = 48 * time.Hour

// queueKeys are the Redis keys of one event's waiting room.
type queueKeys struct {
	meta, q, joined, adm, bucket, rate string
}

func (q *Room) keys(event string) queueKeys {
	b := q.prefix + "wr:" + event
	return queueKeys{meta: b + ":meta", q: b + ":q", joined: b + ":joined", adm: b + ":adm", bucket: b + ":bucket", rate: b + ":rate"}
}

func (k queueKeys) list() []string { return []string{k.meta, k.q, k.joined, k.adm, k.bucket, k.rate} }

// joinScript adds a session to the queue unless it is already waiting or holds a live
// admission, or the queue already has the most sessions allowed waiting. KEYS: meta q joined
// adm bucket rate active. ARGV: session, new run id, configured rate, event id, key TTL
// seconds, admission lifetime ms, most sessions waiting (0: no bound).
// Returns {run, state, seq, rank, length, admitted_ms, rate} where state is new, waiting,
// admitted or full. The admission budget of a queue that was empty starts filling at this join.
var joinScript = redis.NewScript(`
local meta, q, joined, adm, bucket, rate, active = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local session = ARGV[1]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local run = redis.call('HGET', meta, 'run')
if not run then
  redis.call('DEL', q, joined, adm)
  redis.call('HSET', meta, 'run', ARGV[2], 'seq', 0)
  run = ARGV[2]
end
redis.call('SET', rate, ARGV[3], 'NX')
local ttl = tonumber(ARGV[5])
for _, k in ipairs({meta, q, joined, adm, bucket, rate}) do redis.call('EXPIRE', k, ttl) end
local a = redis.call('HGET', adm, session)
if a then
  if tonumber(a) + tonumber(ARGV[6]) > now then
    return {run, 'admitted', 0, 0, redis.call('ZCARD', q), a, redis.call('GET', rate)}
  end
  redis.call('HDEL', adm, session)
end
local sc = redis.call('ZSCORE', q, session)
if sc then
  return {run, 'waiting', sc, redis.call('ZRANK', q, session), redis.call('ZCARD', q), false, redis.call('GET', rate)}
end
local most = tonumber(ARGV[7]) or 0
if most > 0 then
  local card = redis.call('ZCARD', q)
  if card >= most then
    return {run, 'full', 0, 0, card, false, redis.call('GET', rate)}
  end
end
local seq = redis.call('HINCRBY', meta, 'seq', 1)
redis.call('ZADD', q, seq, session)
redis.call('HSET', joined, session, now)
if redis.call('SADD', active, ARGV[4]) == 1 then
  -- The queue was empty: its admission budget starts filling now, not when it last emptied.
  local tk = tonumber(redis.call('HGET', bucket, 'tokens') or '0') or 0
  if tk > 1 then tk = 1 end
  redis.call('HSET', bucket, 'tokens', tk, 'ts', now)
end
return {run, 'new', seq, redis.call('ZRANK', q, session), redis.call('ZCARD', q), false, redis.call('GET', rate)}
`)

// statusScript reads one session's queuePlace. KEYS: meta q adm rate. ARGV: session.
// Returns {run|false, seq|false, rank|false, length, admitted_ms|false, rate|false}.
var statusScript = redis.NewScript(`
local meta, q, adm, rate = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local session = ARGV[1]
local sc = redis.call('ZSCORE', q, session)
local rk = false
if sc then rk = redis.call('ZRANK', q, session) end
return {redis.call('HGET', meta, 'run'), sc, rk, redis.call('ZCARD', q), redis.call('HGET', adm, session), redis.call('GET', rate)}
`)

// headScript reads what a broadcaster needs each tick. KEYS: meta q rate.
// Returns {run|false, head seq|false, length, rate|false}.
var headScript = redis.NewScript(`
local h = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
return {redis.call('HGET', KEYS[1], 'run'), h[2] or false, redis.call('ZCARD', KEYS[2]), redis.call('GET', KEYS[3])}
`)

// admitScript is one admission step for one event (see the notes above). KEYS: q joined adm
// bucket rate active. ARGV: event id, burst seconds, most sessions to admit in one step, the
// pace (the share of the configured rate admitted at, Config.Pace). Returns {length, rate
// admitted at, now_ms, session1, wait1_ms, session2, wait2_ms, ...}.
var admitScript = redis.NewScript(`
local q, joined, adm, bucket, ratek, active = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local rate = tonumber(redis.call('GET', ratek) or '0') or 0
if rate < 0 then rate = 0 end
rate = rate * (tonumber(ARGV[4]) or 1)
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local b = redis.call('HMGET', bucket, 'tokens', 'ts')
local tokens = tonumber(b[1]) or 0
local ts = tonumber(b[2]) or now
if now > ts then tokens = tokens + (now - ts) * rate / 1000 end
local burst = rate * tonumber(ARGV[2])
if burst < 1 then burst = 1 end
if tokens > burst then tokens = burst end
local n = math.floor(tokens)
local most = tonumber(ARGV[3])
if n > most then n = most end
local out = {0, tostring(rate), math.floor(now)}
if n > 0 then
  local popped = redis.call('ZPOPMIN', q, n)
  local at = math.floor(now)
  for i = 1, #popped, 2 do
    local s = popped[i]
    redis.call('HSET', adm, s, at)
    local j = tonumber(redis.call('HGET', joined, s) or at) or at
    redis.call('HDEL', joined, s)
    out[#out + 1] = s
    out[#out + 1] = at - j
    tokens = tokens - 1
  end
end
local card = redis.call('ZCARD', q)
if card == 0 then
  redis.call('SREM', active, ARGV[1])
  if tokens > 1 then tokens = 1 end
end
redis.call('HSET', bucket, 'tokens', string.format('%.6f', tokens), 'ts', string.format('%.3f', now))
redis.call('EXPIRE', bucket, 172800)
out[1] = card
return out
`)

// Join states a join reports.
const (
	joinNew      = "new"
	joinWaiting  = "waiting"
	joinAdmitted = "admitted"
	// joinFull: refused, the queue has Config.MaxQueueLength sessions waiting.
	joinFull = "full"
)

// queuePlace is one session's standing in an event's queue.
type queuePlace struct {
	Run string
	// Seq is the session's join number (its score); 0 once admitted.
	Seq int64
	// Position is 1-based; 0 once admitted.
	Position int64
	// Length is the number of sessions waiting.
	Length int64
	// Admitted is when the session was admitted (Redis clock); zero while waiting.
	Admitted time.Time
	// Rate is the admission rate in sessions per second.
	Rate float64
}

// errQueueReset: the ticket's queue run is gone (Redis lost the queue); the session must join
// again. It maps to 404 ticket_not_found with this message.
var errQueueReset = fmt.Errorf("%w: the waiting room was reset (its Redis data was lost) after this ticket was issued; join the queue again", ErrTicketNotFound)

// errAdmissionExpired: the session was admitted, but its admission has run out.
var errAdmissionExpired = fmt.Errorf("%w: the admission of this ticket has expired; join the queue again", ErrTicketNotFound)

// errNoRedis: a waiting-room operation on a server configured without Redis.
var errNoRedis = errors.New("the waiting room needs Redis, and the server has none configured")

// join puts session into event's queue (see joinScript). The state is joinNew, joinWaiting,
// joinAdmitted, or joinFull when the queue had q.maxQueue sessions waiting and the session was
// not put in it (Length then says how many wait).
func (q *Room) join(ctx context.Context, event, session string, rate float64) (queuePlace, string, error) {
	if q.rdb == nil {
		return queuePlace{}, "", errNoRedis
	}
	k := q.keys(event)
	run, err := newRunID()
	if err != nil {
		return queuePlace{}, "", err
	}
	res, err := joinScript.Run(ctx, q.rdb, []string{k.meta, k.q, k.joined, k.adm, k.bucket, k.rate, q.activeKey()},
		session, run, formatRate(rate), event, int64(keyTTL/time.Second), q.tokenTTL.Milliseconds(), q.maxQueue).Slice()
	if err != nil {
		return queuePlace{}, "", fmt.Errorf("join queue of %s: %w", event, err)
	}
	if len(res) != 7 {
		return queuePlace{}, "", fmt.Errorf("join queue of %s: unexpected reply %v", event, res)
	}
	p := queuePlace{Run: luareply.String(res[0]), Seq: luareply.Int(res[2]), Length: luareply.Int(res[4]), Rate: parseRate(res[6])}
	state := luareply.String(res[1])
	switch state {
	case joinAdmitted:
		p.Admitted = time.UnixMilli(luareply.Int(res[5]))
	case joinFull:
	default:
		p.Position = luareply.Int(res[3]) + 1
	}
	return p, state, nil
}

// status reads the standing of t's session. It returns errQueueReset when the queue's run is not
// t's, errAdmissionExpired when the admission ran out, and ErrTicketNotFound when the session is
// neither waiting nor admitted.
func (q *Room) status(ctx context.Context, t queueTicket) (queuePlace, error) {
	if q.rdb == nil {
		return queuePlace{}, errNoRedis
	}
	k := q.keys(t.Event)
	res, err := statusScript.Run(ctx, q.rdb, []string{k.meta, k.q, k.adm, k.rate}, t.Session).Slice()
	if err != nil {
		return queuePlace{}, fmt.Errorf("read queue of %s: %w", t.Event, err)
	}
	if len(res) != 6 {
		return queuePlace{}, fmt.Errorf("read queue of %s: unexpected reply %v", t.Event, res)
	}
	if run := luareply.String(res[0]); run != t.Run {
		return queuePlace{}, errQueueReset
	}
	p := queuePlace{Run: t.Run, Length: luareply.Int(res[3]), Rate: parseRate(res[5])}
	switch {
	case luareply.Present(res[1]):
		p.Seq = luareply.Int(res[1])
		p.Position = luareply.Int(res[2]) + 1
	case luareply.Present(res[4]):
		p.Admitted = time.UnixMilli(luareply.Int(res[4]))
		if !q.now().Before(p.Admitted.Add(q.tokenTTL)) {
			return queuePlace{}, errAdmissionExpired
		}
	default:
		return queuePlace{}, fmt.Errorf("%w: the session is not in the queue of event %s", ErrTicketNotFound, t.Event)
	}
	return p, nil
}

// head is a broadcaster's view of a queue at one tick.
type queueHead struct {
	Run    string
	Seq    int64 // lowest waiting seq; 0 when nobody waits
	Length int64
	Rate   float64
}

func (q *Room) head(ctx context.Context, event string) (queueHead, error) {
	k := q.keys(event)
	res, err := headScript.Run(ctx, q.rdb, []string{k.meta, k.q, k.rate}).Slice()
	if err != nil {
		return queueHead{}, fmt.Errorf("read head of queue %s: %w", event, err)
	}
	if len(res) != 4 {
		return queueHead{}, fmt.Errorf("read head of queue %s: unexpected reply %v", event, res)
	}
	h := queueHead{Run: luareply.String(res[0]), Length: luareply.Int(res[2]), Rate: parseRate(res[3])}
	if luareply.Present(res[1]) {
		h.Seq = luareply.Int(res[1])
	}
	return h, nil
}

// admittedAt reads the admission times of sessions of event; a session that is not admitted has
// the zero time.
func (q *Room) admittedAt(ctx context.Context, event string, sessions []string) ([]time.Time, error) {
	vals, err := q.rdb.HMGet(ctx, q.keys(event).adm, sessions...).Result()
	if err != nil {
		return nil, fmt.Errorf("read admissions of %s: %w", event, err)
	}
	out := make([]time.Time, len(sessions))
	for i, v := range vals {
		if luareply.Present(v) {
			out[i] = time.UnixMilli(luareply.Int(v))
		}
	}
	return out, nil
}

// admitStep is the result of one admission step for one event.
type admitStep struct {
	Length   int64
	Rate     float64
	Sessions []string
	Waits    []time.Duration
}

// admitEvent runs one admission step for event at the current pace (see admitScript).
func (q *Room) admitEvent(ctx context.Context, event string) (admitStep, error) {
	k := q.keys(event)
	pace := q.currentPace()
	q.metrics.pace.Set(pace)
	res, err := admitScript.Run(ctx, q.rdb, []string{k.q, k.joined, k.adm, k.bucket, k.rate, q.activeKey()},
		event, q.burstSeconds, q.maxBatch, pace).Slice()
	if err != nil {
		return admitStep{}, fmt.Errorf("admit from queue of %s: %w", event, err)
	}
	if len(res) < 3 || (len(res)-3)%2 != 0 {
		return admitStep{}, fmt.Errorf("admit from queue of %s: unexpected reply of %d values", event, len(res))
	}
	st := admitStep{Length: luareply.Int(res[0]), Rate: parseRate(res[1])}
	for i := 3; i < len(res); i += 2 {
		st.Sessions = append(st.Sessions, luareply.String(res[i]))
		st.Waits = append(st.Waits, time.Duration(luareply.Int(res[i+1]))*time.Millisecond)
	}
	return st, nil
}

// setRate changes event's admission rate for every server sharing the Redis, from the next tick.
func (q *Room) setRate(ctx context.Context, event string, rate float64) error {
	if q.rdb == nil {
		return errNoRedis
	}
	if err := q.rdb.Set(ctx, q.keys(event).rate, formatRate(rate), keyTTL).Err(); err != nil {
		return fmt.Errorf("set admission rate of %s: %w", event, err)
	}
	return nil
}

// activeEvents lists the events that have sessions waiting.
func (q *Room) activeEvents(ctx context.Context) ([]string, error) {
	evs, err := q.rdb.SMembers(ctx, q.activeKey()).Result()
	if err != nil {
		return nil, fmt.Errorf("list waiting rooms: %w", err)
	}
	return evs, nil
}

func (q *Room) activeKey() string { return q.prefix + "wr:active" }

// randomHex returns n random bytes in hex.
func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// newRunID returns a fresh random queue run id.
func newRunID() (string, error) {
	id, err := randomHex(8)
	if err != nil {
		return "", fmt.Errorf("queue run id: %w", err)
	}
	return id, nil
}

func formatRate(r float64) string { return strconv.FormatFloat(r, 'g', -1, 64) }

func parseRate(v any) float64 {
	if !luareply.Present(v) {
		return 0
	}
	f, err := strconv.ParseFloat(luareply.String(v), 64)
	if err != nil || f < 0 {
		return 0
	}
	return f
}
