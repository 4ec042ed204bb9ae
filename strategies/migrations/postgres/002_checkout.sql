-- Checkout: Stripe-style idempotency keys with recovery points, and the server's own record of
-- the charges and refunds it made through the processor. Times are UTC, written from the
-- server's clock (never the database's now()), so both dialects compare with one clock.
--
-- One row per (session, Idempotency-Key). phase moves started -> charge_requested -> charged ->
-- booked | refunded -> finished; every move is a recovery point a retry or the completer resumes
-- from. locked_at is the lease of the execution in progress (NULL when none runs) and
-- lease_token its owner: every write after the lease is taken is conditioned on the token, so an
-- execution that lost its lease cannot write; version grows with every write, so a fenced
-- UPDATE always changes its row and MySQL's affected-rows count (changed rows) is exact.
-- attempts counts executions (the first run and every resume). refund_reason set means a refund
-- was decided (a resume goes straight to the refund). response_status/response_body are the
-- stored answer, replayed once phase is finished (and already kept at booked and refunded).
CREATE TABLE IF NOT EXISTS idempotency_keys (
    session         VARCHAR(128) NOT NULL,
    idem_key        VARCHAR(128) NOT NULL,
    request_hash    VARCHAR(64)  NOT NULL,
    hold_id         VARCHAR(64)  NOT NULL,
    payment_method  VARCHAR(64)  NOT NULL,
    event_id        VARCHAR(64)  NOT NULL DEFAULT '',
    phase           VARCHAR(24)  NOT NULL,
    locked_at       TIMESTAMPTZ  NULL,
    lease_token     VARCHAR(32)  NOT NULL DEFAULT '',
    attempts        INT          NOT NULL DEFAULT 0,
    version         BIGINT       NOT NULL DEFAULT 0,
    processor_key   VARCHAR(80)  NOT NULL,
    refund_key      VARCHAR(80)  NOT NULL,
    booking_id      VARCHAR(64)  NOT NULL,
    charge_id       VARCHAR(64)  NOT NULL DEFAULT '',
    amount_cents    BIGINT       NOT NULL DEFAULT 0,
    refund_reason   VARCHAR(32)  NOT NULL DEFAULT '',
    refund_id       VARCHAR(64)  NOT NULL DEFAULT '',
    response_status INT          NOT NULL DEFAULT 0,
    response_body   TEXT         NOT NULL DEFAULT '',
    created_at      TIMESTAMPTZ  NOT NULL,
    updated_at      TIMESTAMPTZ  NOT NULL,
    PRIMARY KEY (session, idem_key)
);
CREATE INDEX IF NOT EXISTS idempotency_keys_open ON idempotency_keys (phase, updated_at);
CREATE INDEX IF NOT EXISTS idempotency_keys_hold ON idempotency_keys (hold_id);

-- Every charge and refund the server made, keyed by the processor's id: what /admin/ledger
-- reports as the server's view of money, to be reconciled with the processor's own ledger.
CREATE TABLE IF NOT EXISTS checkout_payments (
    id           VARCHAR(64)  PRIMARY KEY,
    kind         VARCHAR(8)   NOT NULL,
    charge_id    VARCHAR(64)  NOT NULL,
    event_id     VARCHAR(64)  NOT NULL,
    hold_id      VARCHAR(64)  NOT NULL,
    session      VARCHAR(128) NOT NULL,
    idem_key     VARCHAR(128) NOT NULL,
    amount_cents BIGINT       NOT NULL,
    reason       VARCHAR(32)  NOT NULL DEFAULT '',
    created_at   TIMESTAMPTZ  NOT NULL
);
CREATE INDEX IF NOT EXISTS checkout_payments_event ON checkout_payments (event_id, kind);
