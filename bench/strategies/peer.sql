-- The peers' tables (PostgreSQL and MySQL/MariaDB alike): seats for a conditional UPDATE of one
-- row, a GA counter row, and GA unit rows claimed with SKIP LOCKED. Filled by strategies.sh.
DROP TABLE IF EXISTS peer_seats;
DROP TABLE IF EXISTS peer_tier;
DROP TABLE IF EXISTS peer_units;
CREATE TABLE peer_seats (id INT PRIMARY KEY, status VARCHAR(16) NOT NULL, hold_id VARCHAR(64) NULL, expires_at TIMESTAMP NULL);
CREATE TABLE peer_tier (id INT PRIMARY KEY, available BIGINT NOT NULL);
CREATE TABLE peer_units (id INT PRIMARY KEY, status VARCHAR(16) NOT NULL, hold_id VARCHAR(64) NULL);
CREATE INDEX peer_units_status ON peer_units (status);
