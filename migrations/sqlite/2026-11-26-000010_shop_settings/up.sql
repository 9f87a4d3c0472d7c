-- Each shop's settings, kept in the database so they change at runtime (the console's
-- shop editor): the shop's whole `[[shops]]` entry as JSON, integration keys and
-- secrets included (the database already holds partner tokens). The configuration
-- file seeds it: a shop whose origin is still 'file' follows the file at every start;
-- one changed in the console ('console') keeps the console's settings.
CREATE TABLE shop_settings (
    shop_id BIGINT PRIMARY KEY REFERENCES shops (id),
    settings TEXT NOT NULL,
    enabled BOOLEAN NOT NULL,
    origin TEXT NOT NULL CHECK (origin IN ('file', 'console')),
    -- Goes up by one with every change; the jobs of a shop are restarted when it does.
    version BIGINT NOT NULL CHECK (version > 0),
    -- The Polyapi appsecret before the last rotation, which still verifies until
    -- previous_appsecret_until.
    previous_appsecret TEXT,
    previous_appsecret_until TIMESTAMP,
    changed_by TEXT NOT NULL,
    changed_at TIMESTAMP NOT NULL
);

-- One row whose revision goes up in the transaction of every settings change: each
-- process reads it every few seconds and reloads the shops only when it moved.
CREATE TABLE shop_settings_revision (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    revision BIGINT NOT NULL,
    changed_at TIMESTAMP NOT NULL
);
INSERT INTO shop_settings_revision (id, revision, changed_at) VALUES (1, 0, CURRENT_TIMESTAMP);
