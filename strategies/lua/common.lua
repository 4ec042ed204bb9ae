-- Helpers shared by the redis-lock scripts: each script is this file followed by its own body.
--
-- A seat key holds "HOLDID|EXPIRES" while a hold has the seat, EXPIRES being the hold's expiry
-- in milliseconds on the application clock (the key's PX is the same lifetime on Redis's clock,
-- so Redis drops it as well), and "sold|BOOKINGID" once the seat is sold. A seat is free when
-- its key is missing or its hold has expired on the application clock. The two clocks agree in
-- production; tests move the application clock.

-- last_holders is the hash, beside the event's fence counter, of each seat's latest hold token.
local function last_holders(fence)
  return fence .. ':last'
end

-- seat_state classifies a seat key's value v for hold at now: 'free', 'ours', 'taken' or 'sold'.
local function seat_state(v, now, hold)
  if not v then
    return 'free'
  end
  local who, rest = string.match(v, '^([^|]*)|(.*)$')
  if who == nil then
    return 'taken' -- a value we did not write: never overwrite it
  end
  if who == 'sold' then
    return 'sold'
  end
  if who == hold then
    return 'ours'
  end
  if tonumber(rest) <= now then
    return 'free'
  end
  return 'taken'
end

-- A general-admission tier is a state hash (capacity, sold, held: the units of holds not yet
-- purged) and a sorted set of entries "HOLDID|QUANTITY" scored by the hold's expiry.
-- ga_purge returns the units of expired entries (score <= now) to the tier. ZREM succeeds once
-- per entry, so each expired hold's units come back exactly once, whichever script purges it.
local function ga_purge(state, entries, now)
  local gone = redis.call('ZRANGEBYSCORE', entries, '-inf', now, 'LIMIT', 0, 500)
  local units = 0
  for _, m in ipairs(gone) do
    if redis.call('ZREM', entries, m) == 1 then
      units = units + tonumber(string.match(m, '|(%d+)$'))
    end
  end
  if units > 0 then
    redis.call('HINCRBY', state, 'held', -units)
  end
end

-- ga_free is the number of units a new hold may take: capacity - sold - held.
local function ga_free(state)
  local v = redis.call('HMGET', state, 'capacity', 'sold', 'held')
  return tonumber(v[1]) - tonumber(v[2]) - tonumber(v[3])
end

-- set_hold writes a hold's metadata hash (fields from ARGV[from..]) with its token, keeps it for
-- px milliseconds, and indexes it under the event until score (milliseconds).
local function set_hold(hash, index, id, token, px, score, from)
  local fields = {}
  for i = from, #ARGV do
    fields[#fields + 1] = ARGV[i]
  end
  redis.call('HSET', hash, 'token', token, unpack(fields))
  redis.call('PEXPIRE', hash, px)
  redis.call('ZADD', index, score, id)
end

