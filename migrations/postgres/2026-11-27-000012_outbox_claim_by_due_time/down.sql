CREATE INDEX outbox_due ON outbox (shop_id, target, state, next_attempt_at, id);
DROP INDEX outbox_claim;
