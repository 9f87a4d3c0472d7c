DROP TABLE kingdee_bookings;
ALTER TABLE shops DROP COLUMN kingdee_enabled;
