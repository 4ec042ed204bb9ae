-- Record in Redis a sale the database has committed.
-- KEYS: hold hash, tier state, tier entries, then one key per seat.
-- ARGV: hold id, booking id, quantity (0 for seats).
-- Seat keys become "sold|BOOKINGID" without expiry, whoever holds them now: the database sold
-- the seat, so a later hold must be refused at once rather than charged and then lost. A GA
-- hold's entry is removed and its units counted sold (when the tier state exists; a missing one
-- is seeded from the database, sale included).
local q = tonumber(ARGV[3])
if q > 0 and redis.call('EXISTS', KEYS[2]) == 1 then
  if redis.call('ZREM', KEYS[3], ARGV[1] .. '|' .. ARGV[3]) == 1 then
    redis.call('HINCRBY', KEYS[2], 'held', -q)
  end
  redis.call('HINCRBY', KEYS[2], 'sold', q)
end
for i = 4, #KEYS do
  redis.call('SET', KEYS[i], 'sold|' .. ARGV[2])
end
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HSET', KEYS[1], 'status', 'sold', 'booking_id', ARGV[2])
end
return 1
