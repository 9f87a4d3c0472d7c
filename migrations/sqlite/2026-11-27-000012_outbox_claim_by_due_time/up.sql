-- A drain claims the rows of one (shop, target, kind) that are due, earliest due first:
-- this index holds them in that order, so a claim reads the rows it takes (and those
-- leased to another drain) and never walks the rows waiting out a backoff, however many
-- a sale left behind. It replaces outbox_due, which lacked the kind: the counts per
-- state read it one kind at a time, and every order written keeps one outbox index.
CREATE INDEX outbox_claim ON outbox (shop_id, target, kind, state, next_attempt_at, id);
DROP INDEX outbox_due;
