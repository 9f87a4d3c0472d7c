DROP TABLE sync_cursors;
DROP TABLE jushuitan_tokens;
DROP TABLE outbox;
ALTER TABLE shops DROP COLUMN wms_enabled;
ALTER TABLE shops DROP COLUMN jushuitan_enabled;
