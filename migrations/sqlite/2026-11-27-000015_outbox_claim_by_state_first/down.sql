DROP INDEX outbox_claim;
CREATE INDEX outbox_claim ON outbox (shop_id, target, kind, state, next_attempt_at, id);
