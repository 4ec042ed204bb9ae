-- Hold reserved seats, all or nothing.
-- KEYS: fence counter, hold hash, the event's hold index, then one key per seat.
-- ARGV: hold id, now ms, expires ms, lock px ms, hash px ms, index score ms, then the hash's
--       field/value pairs.
-- Returns {1, token}; {0, i, j, ...} naming the seats (1-based) that are not free; {-1} when
-- the event's keys are not initialised (the caller seeds them from the database and retries).
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {-1}
end
local hold, now = ARGV[1], tonumber(ARGV[2])
local taken = {0}
for i = 4, #KEYS do
  if seat_state(redis.call('GET', KEYS[i]), now, hold) ~= 'free' then
    taken[#taken + 1] = i - 3
  end
end
if #taken > 1 then
  return taken
end
local token = redis.call('INCR', KEYS[1])
local value = hold .. '|' .. ARGV[3]
for i = 4, #KEYS do
  redis.call('SET', KEYS[i], value, 'PX', ARGV[4])
  -- The seat's last holder outlives the lock, so a confirm can tell "free because nobody came"
  -- from "free because someone else held it after me and let go".
  redis.call('HSET', last_holders(KEYS[1]), KEYS[i], token)
end
set_hold(KEYS[2], KEYS[3], hold, token, ARGV[5], ARGV[6], 7)
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', '(' .. ARGV[2])
return {1, token}
