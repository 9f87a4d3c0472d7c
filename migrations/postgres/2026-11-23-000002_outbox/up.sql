-- The transactional outbox shared by every outbound integration, the integration
-- switches of each shop, persisted Jushuitan tokens and the cursors of pull jobs.

ALTER TABLE shops ADD COLUMN jushuitan_enabled BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE shops ADD COLUMN wms_enabled BOOLEAN NOT NULL DEFAULT FALSE;

-- One row per (shop, target, kind, subject): a change while a row is pending bumps its
-- version, so only the latest state of a subject is ever sent.
CREATE TABLE outbox (
    id BIGSERIAL PRIMARY KEY,
    shop_id BIGINT NOT NULL REFERENCES shops (id),
    target TEXT NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'held', 'dead', 'done')),
    version BIGINT NOT NULL CHECK (version >= 1),
    attempts INTEGER NOT NULL CHECK (attempts >= 0),
    next_attempt_at TIMESTAMP NOT NULL,
    lease_owner TEXT,
    lease_until TIMESTAMP,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL,
    modified_at TIMESTAMP NOT NULL,
    UNIQUE (shop_id, target, kind, subject)
);
CREATE INDEX outbox_due ON outbox (shop_id, target, state, next_attempt_at, id);

CREATE TABLE jushuitan_tokens (
    shop_id BIGINT PRIMARY KEY REFERENCES shops (id),
    access_token TEXT NOT NULL,
    refresh_token TEXT NOT NULL,
    expires_at TIMESTAMP,
    modified_at TIMESTAMP NOT NULL
);

CREATE TABLE sync_cursors (
    shop_id BIGINT NOT NULL REFERENCES shops (id),
    job TEXT NOT NULL,
    position TIMESTAMP NOT NULL,
    modified_at TIMESTAMP NOT NULL,
    PRIMARY KEY (shop_id, job)
);
