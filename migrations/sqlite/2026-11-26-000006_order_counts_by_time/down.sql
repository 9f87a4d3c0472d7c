DROP TRIGGER orders_count_delete;
DROP TRIGGER orders_count_update;
DROP TRIGGER orders_count_insert;
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
    id INTEGER PRIMARY KEY,
    shop_id BIGINT NOT NULL,
    time_kind TEXT NOT NULL,
    trade_status TEXT NOT NULL,
    day DATE NOT NULL,
    delta INTEGER NOT NULL
);
CREATE INDEX order_count_changes_shop_day ON order_count_changes (shop_id, time_kind, day);

INSERT INTO order_counts (shop_id, time_kind, trade_status, day, n)
SELECT shop_id, 'modified', trade_status, date(modified_at), COUNT(*)
FROM orders GROUP BY shop_id, trade_status, date(modified_at);

INSERT INTO order_counts (shop_id, time_kind, trade_status, day, n)
SELECT shop_id, 'created', trade_status, date(created_at), COUNT(*)
FROM orders GROUP BY shop_id, trade_status, date(created_at);

CREATE TRIGGER orders_count_insert AFTER INSERT ON orders
BEGIN
    INSERT INTO order_count_changes (shop_id, time_kind, trade_status, day, delta) VALUES
        (NEW.shop_id, 'modified', NEW.trade_status, date(NEW.modified_at), 1),
        (NEW.shop_id, 'created', NEW.trade_status, date(NEW.created_at), 1);
END;

CREATE TRIGGER orders_count_update AFTER UPDATE OF trade_status, modified_at, created_at ON orders
BEGIN
    INSERT INTO order_count_changes (shop_id, time_kind, trade_status, day, delta)
    SELECT OLD.shop_id, 'modified', OLD.trade_status, date(OLD.modified_at), -1
    WHERE OLD.trade_status <> NEW.trade_status OR date(OLD.modified_at) <> date(NEW.modified_at)
    UNION ALL
    SELECT NEW.shop_id, 'modified', NEW.trade_status, date(NEW.modified_at), 1
    WHERE OLD.trade_status <> NEW.trade_status OR date(OLD.modified_at) <> date(NEW.modified_at)
    UNION ALL
    SELECT OLD.shop_id, 'created', OLD.trade_status, date(OLD.created_at), -1
    WHERE OLD.trade_status <> NEW.trade_status OR date(OLD.created_at) <> date(NEW.created_at)
    UNION ALL
    SELECT NEW.shop_id, 'created', NEW.trade_status, date(NEW.created_at), 1
    WHERE OLD.trade_status <> NEW.trade_status OR date(OLD.created_at) <> date(NEW.created_at);
END;

CREATE TRIGGER orders_count_delete AFTER DELETE ON orders
BEGIN
    INSERT INTO order_count_changes (shop_id, time_kind, trade_status, day, delta) VALUES
        (OLD.shop_id, 'modified', OLD.trade_status, date(OLD.modified_at), -1),
        (OLD.shop_id, 'created', OLD.trade_status, date(OLD.created_at), -1);
END;
