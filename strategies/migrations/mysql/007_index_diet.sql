-- Indexes no query needs, dropped because every hold would maintain them.
--
-- seats_hold (hold_id) and seats_status_expiry (status, expires_at) are on exactly the columns
-- a hold changes: with them every hold of a seat updated two more indexes. Every query on seats
-- names the event and the seats (the primary key): release, confirm and the sweeps find a
-- hold's seats through the seat list of its holds row, and the sweeps find expired holds
-- through holds_expiry. ga_units_hold went the same way: the sweep finds a GA hold's units
-- through the unit list of its holds row. (MySQL 8 has no DROP INDEX IF EXISTS: Migrate
-- passes over "can't drop", 1091, for an index already gone.)
DROP INDEX seats_hold ON seats;
DROP INDEX seats_status_expiry ON seats;
DROP INDEX ga_units_hold ON ga_units;
