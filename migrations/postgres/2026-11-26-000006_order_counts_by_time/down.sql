DROP TRIGGER orders_count_delete ON orders;
DROP TRIGGER orders_count_update ON orders;
DROP TRIGGER orders_count_insert ON orders;
DROP FUNCTION orders_count_delete();
DROP FUNCTION orders_count_update();
DROP FUNCTION orders_count_insert();
DROP TABLE order_count_changes;
DROP TABLE order_counts;

CREATE TABLE order_counts (
    shop_id BIGINT NOT NULL REFERENCES shops (id),
    time_kind TEXT NOT NULL CHECK (time_kind IN ('modified', 'created')),
    trade_status TEXT NOT NULL,
    day DATE NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (shop_id, time_kind, trade_status, day)
);

CREATE TABLE order_count_changes (
    id BIGSERIAL PRIMARY KEY,
    shop_id BIGINT NOT NULL,
    time_kind TEXT NOT NULL,
    trade_status TEXT NOT NULL,
    day DATE NOT NULL,
    delta INTEGER NOT NULL
);
CREATE INDEX order_count_changes_shop_day ON order_count_changes (shop_id, time_kind, day);

INSERT INTO order_counts (shop_id, time_kind, trade_status, day, n)
SELECT shop_id, 'modified', trade_status, modified_at::date, COUNT(*)
FROM orders GROUP BY shop_id, trade_status, modified_at::date;

INSERT INTO order_counts (shop_id, time_kind, trade_status, day, n)
SELECT shop_id, 'created', trade_status, created_at::date, COUNT(*)
FROM orders GROUP BY shop_id, trade_status, created_at::date;

CREATE FUNCTION orders_count_change() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO order_count_changes (shop_id, time_kind, trade_status, day, delta)
        SELECT OLD.shop_id, 'modified', OLD.trade_status, OLD.modified_at::date, -1
        WHERE TG_OP = 'DELETE' OR OLD.trade_status <> NEW.trade_status
            OR OLD.modified_at::date <> NEW.modified_at::date
        UNION ALL
        SELECT OLD.shop_id, 'created', OLD.trade_status, OLD.created_at::date, -1
        WHERE TG_OP = 'DELETE' OR OLD.trade_status <> NEW.trade_status
            OR OLD.created_at::date <> NEW.created_at::date;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO order_count_changes (shop_id, time_kind, trade_status, day, delta)
        SELECT NEW.shop_id, 'modified', NEW.trade_status, NEW.modified_at::date, 1
        WHERE TG_OP = 'INSERT' OR OLD.trade_status <> NEW.trade_status
            OR OLD.modified_at::date <> NEW.modified_at::date
        UNION ALL
        SELECT NEW.shop_id, 'created', NEW.trade_status, NEW.created_at::date, 1
        WHERE TG_OP = 'INSERT' OR OLD.trade_status <> NEW.trade_status
            OR OLD.created_at::date <> NEW.created_at::date;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER orders_count_change AFTER INSERT OR UPDATE OF trade_status, modified_at, created_at
    OR DELETE ON orders FOR EACH ROW EXECUTE FUNCTION orders_count_change();
