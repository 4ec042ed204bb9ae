-- The peers' tables (PostgreSQL and MySQL/MariaDB alike): seats for a conditional UPDATE of one
-- row, the hold rows a hold records beside it (with the indexes of the strategies' holds table),
-- a GA counter row, and GA unit rows claimed with SKIP LOCKED. Filled by strategies.sh.
DROP TABLE IF EXISTS peer_seats;
DROP TABLE IF EXISTS peer_holds;
DROP TABLE IF EXISTS peer_tier;
DROP TABLE IF EXISTS peer_units;
CREATE TABLE peer_seats (id INT PRIMARY KEY, status VARCHAR(16) NOT NULL, hold_id VARCHAR(64) NULL, expires_at TIMESTAMP NULL);
CREATE TABLE peer_holds (id VARCHAR(64) PRIMARY KEY, event_id VARCHAR(64) NOT NULL, session VARCHAR(128) NOT NULL, seats TEXT NOT NULL,
    amount_cents BIGINT NOT NULL, status VARCHAR(16) NOT NULL, expires_at TIMESTAMP NOT NULL, created_at TIMESTAMP NOT NULL);
CREATE INDEX peer_holds_event ON peer_holds (event_id, status);
CREATE INDEX peer_holds_expiry ON peer_holds (status, expires_at);
CREATE TABLE peer_tier (id INT PRIMARY KEY, available BIGINT NOT NULL);
CREATE TABLE peer_units (id INT PRIMARY KEY, status VARCHAR(16) NOT NULL, hold_id VARCHAR(64) NULL);
CREATE INDEX peer_units_status ON peer_units (status);
