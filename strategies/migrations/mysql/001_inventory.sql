-- Inventory shared by every strategy: events, seats (one row per reserved seat), general-admission
-- tiers (a counter) and their unit rows, holds and bookings. Times are UTC; statuses are
-- available | held | sold for seats and units, held | released | expired | sold for holds.
CREATE TABLE IF NOT EXISTS events (
    id          VARCHAR(64)  PRIMARY KEY,
    name        VARCHAR(200) NOT NULL,
    performer   VARCHAR(200) NOT NULL DEFAULT '',
    venue       VARCHAR(200) NOT NULL DEFAULT '',
    city        VARCHAR(100) NOT NULL DEFAULT '',
    starts_at   DATETIME(6)  NULL,
    spec        TEXT         NOT NULL,
    seat_count  BIGINT       NOT NULL DEFAULT 0,
    ga_capacity BIGINT       NOT NULL DEFAULT 0,
    created_at  DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS seats (
    event_id    VARCHAR(64) NOT NULL,
    seat_id     VARCHAR(32) NOT NULL,
    section     VARCHAR(8)  NOT NULL,
    row_no      INT         NOT NULL,
    seat_no     INT         NOT NULL,
    price_cents BIGINT      NOT NULL,
    status      VARCHAR(16) NOT NULL DEFAULT 'available',
    hold_id     VARCHAR(64) NULL,
    expires_at  DATETIME(6) NULL,
    booking_id  VARCHAR(64) NULL,
    fence       BIGINT      NOT NULL DEFAULT 0,
    PRIMARY KEY (event_id, seat_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX IF NOT EXISTS seats_hold ON seats (hold_id);
CREATE INDEX IF NOT EXISTS seats_status_expiry ON seats (status, expires_at);

CREATE TABLE IF NOT EXISTS ga_tiers (
    event_id    VARCHAR(64) NOT NULL,
    tier        VARCHAR(32) NOT NULL,
    capacity    BIGINT      NOT NULL,
    price_cents BIGINT      NOT NULL,
    available   BIGINT      NOT NULL,
    held        BIGINT      NOT NULL DEFAULT 0,
    sold        BIGINT      NOT NULL DEFAULT 0,
    PRIMARY KEY (event_id, tier)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS ga_units (
    event_id   VARCHAR(64) NOT NULL,
    tier       VARCHAR(32) NOT NULL,
    unit_id    VARCHAR(48) NOT NULL,
    status     VARCHAR(16) NOT NULL DEFAULT 'available',
    hold_id    VARCHAR(64) NULL,
    expires_at DATETIME(6) NULL,
    booking_id VARCHAR(64) NULL,
    PRIMARY KEY (event_id, tier, unit_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX IF NOT EXISTS ga_units_status ON ga_units (event_id, tier, status);
CREATE INDEX IF NOT EXISTS ga_units_hold ON ga_units (hold_id);

CREATE TABLE IF NOT EXISTS holds (
    id           VARCHAR(64) PRIMARY KEY,
    event_id     VARCHAR(64) NOT NULL,
    session      VARCHAR(128) NOT NULL,
    seats        TEXT        NOT NULL DEFAULT '',
    tier         VARCHAR(32) NOT NULL DEFAULT '',
    quantity     INT         NOT NULL DEFAULT 0,
    units        TEXT        NOT NULL DEFAULT '',
    amount_cents BIGINT      NOT NULL DEFAULT 0,
    status       VARCHAR(16) NOT NULL,
    expires_at   DATETIME(6) NOT NULL,
    ttl_ms       BIGINT      NOT NULL DEFAULT 0,
    token        BIGINT      NOT NULL DEFAULT 0,
    booking_id   VARCHAR(64) NULL,
    created_at   DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX IF NOT EXISTS holds_event ON holds (event_id, status);
CREATE INDEX IF NOT EXISTS holds_expiry ON holds (status, expires_at);

CREATE TABLE IF NOT EXISTS bookings (
    id           VARCHAR(64) PRIMARY KEY,
    event_id     VARCHAR(64) NOT NULL,
    hold_id      VARCHAR(64) NOT NULL,
    session      VARCHAR(128) NOT NULL,
    seats        TEXT        NOT NULL DEFAULT '',
    tier         VARCHAR(32) NOT NULL DEFAULT '',
    quantity     INT         NOT NULL DEFAULT 0,
    units        TEXT        NOT NULL DEFAULT '',
    charge_id    VARCHAR(64) NOT NULL DEFAULT '',
    amount_cents BIGINT      NOT NULL DEFAULT 0,
    created_at   DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX IF NOT EXISTS bookings_event ON bookings (event_id);
CREATE INDEX IF NOT EXISTS bookings_hold ON bookings (hold_id);

-- One row per booked seat. UNIQUE (event_id, seat_id) is the optional safety net
-- (--safety-net), added at start when asked for and absent in verification runs.
CREATE TABLE IF NOT EXISTS booking_seats (
    event_id   VARCHAR(64) NOT NULL,
    seat_id    VARCHAR(48) NOT NULL,
    booking_id VARCHAR(64) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX IF NOT EXISTS booking_seats_seat ON booking_seats (event_id, seat_id);
