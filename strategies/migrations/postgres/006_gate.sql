-- Gate scans: the entries through the gates, the bookings cancelled after their sale, and the
-- key that signs tickets. Times are UTC, written from the server's clock.
--
-- One row per ticket admitted: the PRIMARY KEY on ticket_id is what admits a ticket exactly
-- once across every gate (the second INSERT of a ticket is a unique violation, answered with
-- the first entry's gate and time).
CREATE TABLE IF NOT EXISTS gate_entries (
    ticket_id   VARCHAR(64)  PRIMARY KEY,
    event_id    VARCHAR(64)  NOT NULL,
    booking_id  VARCHAR(64)  NOT NULL,
    item        VARCHAR(64)  NOT NULL,
    gate        VARCHAR(64)  NOT NULL,
    admitted_at TIMESTAMPTZ  NOT NULL
);
CREATE INDEX IF NOT EXISTS gate_entries_event ON gate_entries (event_id, admitted_at);

-- A booking cancelled (or refunded) after its sale: its tickets are refused at the gates.
CREATE TABLE IF NOT EXISTS booking_cancellations (
    booking_id   VARCHAR(64)  PRIMARY KEY,
    event_id     VARCHAR(64)  NOT NULL,
    reason       VARCHAR(32)  NOT NULL,
    cancelled_at TIMESTAMPTZ  NOT NULL
);
CREATE INDEX IF NOT EXISTS booking_cancellations_event ON booking_cancellations (event_id);

-- The Ed25519 seed that signs tickets, shared by every server of the database so that a ticket
-- outlives a restart (one row, id 1, written by the first server that needs it).
CREATE TABLE IF NOT EXISTS ticket_keys (
    id   INT         PRIMARY KEY,
    seed VARCHAR(64) NOT NULL
);
