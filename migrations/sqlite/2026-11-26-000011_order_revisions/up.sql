-- Every change to an order or to any of its parts (lines, receiver, invoice, customs,
-- pickup code) adds one to its revision, in the statement that changes the order's row,
-- so a rendering of the order made at one revision is known to be current while the
-- revision stays.
ALTER TABLE orders ADD COLUMN revision BIGINT NOT NULL DEFAULT 0;
