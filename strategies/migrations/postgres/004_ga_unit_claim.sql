-- skip-locked claims GA units with
--   WHERE event_id = ? AND tier = ? AND status = 'available' AND unit_id >= ? ORDER BY unit_id LIMIT n
--   FOR UPDATE SKIP LOCKED
-- starting at a random unit so that concurrent claimers spread over the pool instead of all
-- skipping the same first locked rows. This index serves that range in unit order without a sort;
-- (event_id, tier, status) alone would make PostgreSQL sort every free unit of the tier.
CREATE INDEX IF NOT EXISTS ga_units_claim ON ga_units (event_id, tier, status, unit_id);
