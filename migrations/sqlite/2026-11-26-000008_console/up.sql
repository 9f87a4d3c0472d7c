-- The operators' console: accounts, sessions and the audit log of what operators did;
-- Polyapi calls counted per minute (the ERP's polling, seen by every process); and
-- where each stock level last came from.

CREATE TABLE operators (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    -- PHC string of an argon2id hash.
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL,
    modified_at TIMESTAMP NOT NULL,
    last_sign_in_at TIMESTAMP
);

-- A session is known by the SHA-256 of its cookie value only, so reading this table
-- does not let one sign in.
CREATE TABLE operator_sessions (
    id_hash TEXT PRIMARY KEY,
    operator_id BIGINT NOT NULL REFERENCES operators (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX operator_sessions_operator ON operator_sessions (operator_id);
CREATE INDEX operator_sessions_expires ON operator_sessions (expires_at);

-- Every operator action; actor is the operator's name, or "cli" for the command line.
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at TIMESTAMP NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    shop_id BIGINT,
    subject TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at, id);

-- Polyapi calls per shop, UTC minute, method and outcome (10000 or the GSE sub-code),
-- added to by every process. shop_id 0: the call was refused before its shop was known.
CREATE TABLE polyapi_calls (
    shop_id BIGINT NOT NULL,
    minute TIMESTAMP NOT NULL,
    method TEXT NOT NULL,
    outcome TEXT NOT NULL,
    calls BIGINT NOT NULL CHECK (calls >= 0),
    last_call_at TIMESTAMP NOT NULL,
    PRIMARY KEY (shop_id, minute, method, outcome)
);
CREATE INDEX polyapi_calls_minute ON polyapi_calls (minute);

-- polyapi (SyncStock), jushuitan, wms (warehouse pull), admin (admin API or import),
-- console (an operator); empty before this migration.
ALTER TABLE products ADD COLUMN stock_source TEXT NOT NULL DEFAULT '';
ALTER TABLE products ADD COLUMN stock_changed_at TIMESTAMP;
ALTER TABLE skus ADD COLUMN stock_source TEXT NOT NULL DEFAULT '';
ALTER TABLE skus ADD COLUMN stock_changed_at TIMESTAMP;
