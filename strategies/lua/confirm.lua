-- Check, or claim for the database write, a hold's seats or units during Confirm.
-- KEYS: fence counter, hold hash, tier state, tier entries (both ignored for seats), then one
--       key per seat (none for a GA hold).
-- ARGV: hold id, now ms, mode ('check' before the charge, 'claim' after it), claim expires ms,
--       claim px ms, quantity (0 for seats).
-- A seat or unit still ours counts, expired or not; so does one that is free (the hold expired
-- and nobody took it). 'claim' then takes them again until the claim expires, long enough for
-- the database write. Returns 1 (ours), 0 (someone else has them, or they are sold),
-- -2 (the hold was released), -1 (not initialised).
if redis.call('EXISTS', KEYS[1]) == 0 then
  return -1
end
if redis.call('HGET', KEYS[2], 'status') == 'released' then
  return -2
end
local hold, now, claim = ARGV[1], tonumber(ARGV[2]), ARGV[3] == 'claim'
local q = tonumber(ARGV[6])
if q > 0 then
  if redis.call('EXISTS', KEYS[3]) == 0 then
    return -1
  end
  ga_purge(KEYS[3], KEYS[4], ARGV[2])
  local member = hold .. '|' .. ARGV[6]
  local mine = redis.call('ZSCORE', KEYS[4], member)
  if not mine and ga_free(KEYS[3]) < q then
    return 0
  end
  if claim then
    redis.call('ZADD', KEYS[4], ARGV[4], member)
    if not mine then
      redis.call('HINCRBY', KEYS[3], 'held', q)
    end
  end
  return 1
end
-- A free seat is still ours only if no later hold took it in between (the contract: an expired
-- hold may be booked when none of its seats was taken by anyone else).
local mine = tonumber(redis.call('HGET', KEYS[2], 'token') or '0')
for i = 5, #KEYS do
  local st = seat_state(redis.call('GET', KEYS[i]), now, hold)
  if st == 'taken' or st == 'sold' then
    return 0
  end
  if st == 'free' and tonumber(redis.call('HGET', last_holders(KEYS[1]), KEYS[i]) or '0') > mine then
    return 0
  end
end
if claim then
  local value = hold .. '|' .. ARGV[4]
  for i = 5, #KEYS do
    redis.call('SET', KEYS[i], value, 'PX', ARGV[5])
  end
end
return 1
