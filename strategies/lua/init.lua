-- Seed an event's keys from the database after they were lost (a Redis restart or flush) or
-- before first use.
-- KEYS: fence counter, then n tier state keys, then one key per sold seat.
-- ARGV: fence seed, n, then capacity and sold of each tier, then the booking id of each sold
--       seat.
-- Tier states are created where missing. The fence counter and the sold seats are written only
-- when the counter is missing, in this one atomic step, so no hold can slip in between.
-- Returns 1 when it seeded the counter, 0 when it was already there.
local n = tonumber(ARGV[2])
for i = 1, n do
  if redis.call('EXISTS', KEYS[1 + i]) == 0 then
    redis.call('HSET', KEYS[1 + i], 'capacity', ARGV[1 + 2 * i], 'sold', ARGV[2 + 2 * i], 'held', 0)
  end
end
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
for i = n + 2, #KEYS do
  redis.call('SET', KEYS[i], 'sold|' .. ARGV[n + 1 + i])
end
redis.call('SET', KEYS[1], ARGV[1])
return 1
