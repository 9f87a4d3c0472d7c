-- Orders per (shop, which time, span, start, status) for spans of a day, an hour, a minute,
-- a second and a millisecond, so the number of orders before any time sums a few hundred
-- counts — whole days, then the whole hours, minutes, seconds and milliseconds at the
-- edges — however many orders a sale put into one hour or one second. A window with
-- whole-second bounds (what the wire names) needs no milliseconds; the position of an
-- order inside a busy second does. Day counts alone left a window's partial first and
-- last day to be counted order by order.
--
-- Triggers on `orders` add each move of an order into `order_count_changes`, one row per
-- (shop, time, millisecond, status): SQLite has one writer at a time, so the row of the
-- current millisecond is updated in place and a batch of orders leaves a row or two, not
-- one per order. A fold adds the changes into every span of `order_counts` and deletes
-- them.
DROP TRIGGER orders_count_delete;
DROP TRIGGER orders_count_update;
DROP TRIGGER orders_count_insert;
DROP TABLE order_count_changes;
DROP TABLE order_counts;

-- Keyed by start before status: a total over every status reads one range per span.
CREATE TABLE order_counts (
    shop_id BIGINT NOT NULL REFERENCES shops (id),
    time_kind TEXT NOT NULL CHECK (time_kind IN ('modified', 'created')),
    span TEXT NOT NULL CHECK (span IN ('day', 'hour', 'minute', 'second', 'millisecond')),
    starts_at TIMESTAMP NOT NULL,
    trade_status TEXT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (shop_id, time_kind, span, starts_at, trade_status)
) WITHOUT ROWID;

CREATE TABLE order_count_changes (
    shop_id BIGINT NOT NULL,
    time_kind TEXT NOT NULL,
    at TIMESTAMP NOT NULL,
    trade_status TEXT NOT NULL,
    delta BIGINT NOT NULL,
    PRIMARY KEY (shop_id, time_kind, at, trade_status)
) WITHOUT ROWID;

INSERT INTO order_counts (shop_id, time_kind, span, starts_at, trade_status, n)
SELECT shop_id, time_kind, span, starts_at, trade_status, COUNT(*) FROM (
    SELECT shop_id, 'modified' AS time_kind, 'day' AS span,
        strftime('%Y-%m-%d 00:00:00', modified_at) AS starts_at, trade_status FROM orders
    UNION ALL SELECT shop_id, 'modified', 'hour', strftime('%Y-%m-%d %H:00:00', modified_at), trade_status FROM orders
    UNION ALL SELECT shop_id, 'modified', 'minute', strftime('%Y-%m-%d %H:%M:00', modified_at), trade_status FROM orders
    UNION ALL SELECT shop_id, 'modified', 'second', strftime('%Y-%m-%d %H:%M:%S', modified_at), trade_status FROM orders
    UNION ALL SELECT shop_id, 'modified', 'millisecond', strftime('%Y-%m-%d %H:%M:%f', modified_at), trade_status FROM orders
    UNION ALL SELECT shop_id, 'created', 'day', strftime('%Y-%m-%d 00:00:00', created_at), trade_status FROM orders
    UNION ALL SELECT shop_id, 'created', 'hour', strftime('%Y-%m-%d %H:00:00', created_at), trade_status FROM orders
    UNION ALL SELECT shop_id, 'created', 'minute', strftime('%Y-%m-%d %H:%M:00', created_at), trade_status FROM orders
    UNION ALL SELECT shop_id, 'created', 'second', strftime('%Y-%m-%d %H:%M:%S', created_at), trade_status FROM orders
    UNION ALL SELECT shop_id, 'created', 'millisecond', strftime('%Y-%m-%d %H:%M:%f', created_at), trade_status FROM orders
) spans
GROUP BY shop_id, time_kind, span, starts_at, trade_status;

CREATE TRIGGER orders_count_insert AFTER INSERT ON orders
BEGIN
    INSERT INTO order_count_changes (shop_id, time_kind, at, trade_status, delta) VALUES
        (NEW.shop_id, 'modified', strftime('%Y-%m-%d %H:%M:%f', NEW.modified_at), NEW.trade_status, 1),
        (NEW.shop_id, 'created', strftime('%Y-%m-%d %H:%M:%f', NEW.created_at), NEW.trade_status, 1)
    ON CONFLICT (shop_id, time_kind, at, trade_status) DO UPDATE SET delta = delta + excluded.delta;
END;

CREATE TRIGGER orders_count_update AFTER UPDATE OF trade_status, modified_at, created_at ON orders
BEGIN
    INSERT INTO order_count_changes (shop_id, time_kind, at, trade_status, delta)
    SELECT OLD.shop_id, 'modified', strftime('%Y-%m-%d %H:%M:%f', OLD.modified_at), OLD.trade_status, -1
    WHERE OLD.trade_status <> NEW.trade_status
        OR strftime('%Y-%m-%d %H:%M:%f', OLD.modified_at) <> strftime('%Y-%m-%d %H:%M:%f', NEW.modified_at)
    UNION ALL
    SELECT NEW.shop_id, 'modified', strftime('%Y-%m-%d %H:%M:%f', NEW.modified_at), NEW.trade_status, 1
    WHERE OLD.trade_status <> NEW.trade_status
        OR strftime('%Y-%m-%d %H:%M:%f', OLD.modified_at) <> strftime('%Y-%m-%d %H:%M:%f', NEW.modified_at)
    UNION ALL
    SELECT OLD.shop_id, 'created', strftime('%Y-%m-%d %H:%M:%f', OLD.created_at), OLD.trade_status, -1
    WHERE OLD.trade_status <> NEW.trade_status
        OR strftime('%Y-%m-%d %H:%M:%f', OLD.created_at) <> strftime('%Y-%m-%d %H:%M:%f', NEW.created_at)
    UNION ALL
    SELECT NEW.shop_id, 'created', strftime('%Y-%m-%d %H:%M:%f', NEW.created_at), NEW.trade_status, 1
    WHERE OLD.trade_status <> NEW.trade_status
        OR strftime('%Y-%m-%d %H:%M:%f', OLD.created_at) <> strftime('%Y-%m-%d %H:%M:%f', NEW.created_at)
    ON CONFLICT (shop_id, time_kind, at, trade_status) DO UPDATE SET delta = delta + excluded.delta;
END;

CREATE TRIGGER orders_count_delete AFTER DELETE ON orders
BEGIN
    INSERT INTO order_count_changes (shop_id, time_kind, at, trade_status, delta) VALUES
        (OLD.shop_id, 'modified', strftime('%Y-%m-%d %H:%M:%f', OLD.modified_at), OLD.trade_status, -1),
        (OLD.shop_id, 'created', strftime('%Y-%m-%d %H:%M:%f', OLD.created_at), OLD.trade_status, -1)
    ON CONFLICT (shop_id, time_kind, at, trade_status) DO UPDATE SET delta = delta + excluded.delta;
END;
