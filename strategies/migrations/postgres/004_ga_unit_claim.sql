-- Indexes for skip-locked's general-admission claims.
--
-- A claim takes free units with
--   WHERE event_id = ? AND tier = ? AND status = 'available' AND unit_id >= ? ORDER BY unit_id
--   LIMIT n FOR UPDATE SKIP LOCKED
-- starting at a random unit, so that concurrent claimers spread over the pool instead of all
-- skipping the same first locked rows. ga_units_claim serves that range in unit order without a
-- sort; (event_id, tier, status) alone would make PostgreSQL sort every free unit of the tier.
CREATE INDEX IF NOT EXISTS ga_units_claim ON ga_units (event_id, tier, status, unit_id);
-- Units of expired holds are claimed, and counted, with status = 'held' AND expires_at <= ?:
-- this index reaches just the expired ones instead of every held unit of the tier.
CREATE INDEX IF NOT EXISTS ga_units_expiry ON ga_units (event_id, tier, status, expires_at);
