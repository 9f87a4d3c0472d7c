ALTER TABLE sync_cursors DROP COLUMN position_id;
