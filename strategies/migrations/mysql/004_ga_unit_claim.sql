-- skip-locked claims GA units with
--   WHERE event_id = ? AND tier = ? AND status = 'available' AND unit_id >= ? ORDER BY unit_id LIMIT n
--   FOR UPDATE SKIP LOCKED
-- starting at a random unit. InnoDB secondary indexes end with the primary key, so
-- ga_units_status (event_id, tier, status) is already (event_id, tier, status, unit_id) and serves
-- that range in unit order; a second index would only slow every status change. This migration
-- exists so both dialects share the version and says why MySQL needs nothing here.
DO 1;
