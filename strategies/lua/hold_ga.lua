-- Hold a quantity of a general-admission tier.
-- KEYS: fence counter, hold hash, the event's hold index, tier state, tier entries.
-- ARGV: hold id, now ms, expires ms, quantity, hash px ms, index score ms, then the hash's
--       field/value pairs.
-- Returns {1, token}; {0, free} when fewer than quantity units are free; {-1} when the event's
-- keys are not initialised.
if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('EXISTS', KEYS[4]) == 0 then
  return {-1}
end
ga_purge(KEYS[4], KEYS[5], ARGV[2])
local q = tonumber(ARGV[4])
local free = ga_free(KEYS[4])
if free < q then
  return {0, free}
end
local token = redis.call('INCR', KEYS[1])
redis.call('ZADD', KEYS[5], ARGV[3], ARGV[1] .. '|' .. ARGV[4])
redis.call('HINCRBY', KEYS[4], 'held', q)
set_hold(KEYS[2], KEYS[3], ARGV[1], token, ARGV[5], ARGV[6], 7)
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', '(' .. ARGV[2])
return {1, token}
