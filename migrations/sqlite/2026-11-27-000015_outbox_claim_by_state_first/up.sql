-- The claim's index leads with the state, so only a query that names a state can seek it.
-- Led by (shop_id, target, kind) it shared those columns with the unique key
-- (shop_id, target, kind, subject), and without statistics PostgreSQL took either for the
-- shipping pull's lookup of one order's row by its subject: through this one it read every
-- row of the shop's target and kind for each order until the table was analysed. The claim
-- and the counts per state name the state and seek it as before.
DROP INDEX outbox_claim;
CREATE INDEX outbox_claim ON outbox (state, shop_id, target, kind, next_attempt_at, id);
