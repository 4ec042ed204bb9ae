-- Indexes no query needs, dropped because every hold would maintain them.
--
-- seats_hold (hold_id) and seats_status_expiry (status, expires_at) are on exactly the columns
-- a hold changes: with them every hold of a seat updated two more indexes, and on PostgreSQL
-- could never be a HOT update. Every query on seats names the event and the seats (the
-- primary key): release, confirm and the sweeps find a hold's seats through the seat list of
-- its holds row, and the sweeps find expired holds through holds_expiry. ga_units_hold went the
-- same way: the sweep finds a GA hold's units through the unit list of its holds row.
DROP INDEX IF EXISTS seats_hold;
DROP INDEX IF EXISTS seats_status_expiry;
DROP INDEX IF EXISTS ga_units_hold;

-- With no index on the columns a hold changes, a hold's UPDATE can be HOT (the new row version
-- on the same page, no index entry), when the page has room for it: seats pages are filled to
-- 90% so that it has. Measured with pgbench, 32 clients, the one-statement hold on a fresh
-- 200,000-seat table: every update HOT instead of about 57%, and about 6% more holds/s.
-- (It applies to pages written from now on: the seats of events created later.)
ALTER TABLE seats SET (fillfactor = 90);
