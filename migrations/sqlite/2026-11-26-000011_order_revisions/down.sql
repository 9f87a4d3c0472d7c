ALTER TABLE orders DROP COLUMN revision;
