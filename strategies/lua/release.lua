-- Release a hold: delete the seat keys it still holds, return its GA units, mark it released.
-- KEYS: hold hash, tier state, tier entries, then one key per seat.
-- ARGV: hold id, quantity (0 for seats).
-- Returns 1 (released), 2 (already released), 3 (sold), -1 (no such hold in Redis).
local st = redis.call('HGET', KEYS[1], 'status')
if not st then
  return -1
end
if st == 'sold' then
  return 3
end
if st == 'released' then
  return 2
end
local q = tonumber(ARGV[2])
if q > 0 and redis.call('ZREM', KEYS[3], ARGV[1] .. '|' .. ARGV[2]) == 1 then
  redis.call('HINCRBY', KEYS[2], 'held', -q)
end
for i = 4, #KEYS do
  local v = redis.call('GET', KEYS[i])
  if v and string.sub(v, 1, #ARGV[1] + 1) == ARGV[1] .. '|' then
    redis.call('DEL', KEYS[i])
  end
end
redis.call('HSET', KEYS[1], 'status', 'released')
return 1
