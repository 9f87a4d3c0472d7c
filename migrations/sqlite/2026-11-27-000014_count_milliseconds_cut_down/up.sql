-- An order's millisecond is its time cut down to the millisecond, as polymall reckons it
-- (and PostgreSQL's date_trunc): strftime('%f') rounds to the nearest one instead
-- (10:00:00.2059 is 10:00:00.206), so an order in the second half of a millisecond was
-- counted in the next, and a count up to a millisecond's start could miss it while the
-- order-by-order count beside it, by the time itself, skipped it too. Times are stored as
-- polymall writes them ('YYYY-MM-DD HH:MM:SS' and up to nine digits of fraction); the
-- millisecond is cut from that text. Seconds and longer spans were already cut down.

DROP TRIGGER orders_count_insert;
DROP TRIGGER orders_count_update;
DROP TRIGGER orders_count_delete;

CREATE TRIGGER orders_count_insert AFTER INSERT ON orders
BEGIN
    INSERT INTO order_count_changes (shop_id, time_kind, at, trade_status, delta) VALUES
        (NEW.shop_id, 'modified', strftime('%Y-%m-%d %H:%M:%S', NEW.modified_at) || CASE WHEN substr(NEW.modified_at, 20, 1) = '.' THEN substr(substr(NEW.modified_at, 20) || '000', 1, 4) ELSE '.000' END, NEW.trade_status, 1),
        (NEW.shop_id, 'created', strftime('%Y-%m-%d %H:%M:%S', NEW.created_at) || CASE WHEN substr(NEW.created_at, 20, 1) = '.' THEN substr(substr(NEW.created_at, 20) || '000', 1, 4) ELSE '.000' END, NEW.trade_status, 1)
    ON CONFLICT (shop_id, time_kind, at, trade_status) DO UPDATE SET delta = delta + excluded.delta;
END;

CREATE TRIGGER orders_count_update AFTER UPDATE OF trade_status, modified_at, created_at ON orders
BEGIN
    INSERT INTO order_count_changes (shop_id, time_kind, at, trade_status, delta)
    SELECT OLD.shop_id, 'modified', strftime('%Y-%m-%d %H:%M:%S', OLD.modified_at) || CASE WHEN substr(OLD.modified_at, 20, 1) = '.' THEN substr(substr(OLD.modified_at, 20) || '000', 1, 4) ELSE '.000' END, OLD.trade_status, -1
    WHERE OLD.trade_status <> NEW.trade_status
        OR strftime('%Y-%m-%d %H:%M:%S', OLD.modified_at) || CASE WHEN substr(OLD.modified_at, 20, 1) = '.' THEN substr(substr(OLD.modified_at, 20) || '000', 1, 4) ELSE '.000' END <> strftime('%Y-%m-%d %H:%M:%S', NEW.modified_at) || CASE WHEN substr(NEW.modified_at, 20, 1) = '.' THEN substr(substr(NEW.modified_at, 20) || '000', 1, 4) ELSE '.000' END
    UNION ALL
    SELECT NEW.shop_id, 'modified', strftime('%Y-%m-%d %H:%M:%S', NEW.modified_at) || CASE WHEN substr(NEW.modified_at, 20, 1) = '.' THEN substr(substr(NEW.modified_at, 20) || '000', 1, 4) ELSE '.000' END, NEW.trade_status, 1
    WHERE OLD.trade_status <> NEW.trade_status
        OR strftime('%Y-%m-%d %H:%M:%S', OLD.modified_at) || CASE WHEN substr(OLD.modified_at, 20, 1) = '.' THEN substr(substr(OLD.modified_at, 20) || '000', 1, 4) ELSE '.000' END <> strftime('%Y-%m-%d %H:%M:%S', NEW.modified_at) || CASE WHEN substr(NEW.modified_at, 20, 1) = '.' THEN substr(substr(NEW.modified_at, 20) || '000', 1, 4) ELSE '.000' END
    UNION ALL
    SELECT OLD.shop_id, 'created', strftime('%Y-%m-%d %H:%M:%S', OLD.created_at) || CASE WHEN substr(OLD.created_at, 20, 1) = '.' THEN substr(substr(OLD.created_at, 20) || '000', 1, 4) ELSE '.000' END, OLD.trade_status, -1
    WHERE OLD.trade_status <> NEW.trade_status
        OR strftime('%Y-%m-%d %H:%M:%S', OLD.created_at) || CASE WHEN substr(OLD.created_at, 20, 1) = '.' THEN substr(substr(OLD.created_at, 20) || '000', 1, 4) ELSE '.000' END <> strftime('%Y-%m-%d %H:%M:%S', NEW.created_at) || CASE WHEN substr(NEW.created_at, 20, 1) = '.' THEN substr(substr(NEW.created_at, 20) || '000', 1, 4) ELSE '.000' END
    UNION ALL
    SELECT NEW.shop_id, 'created', strftime('%Y-%m-%d %H:%M:%S', NEW.created_at) || CASE WHEN substr(NEW.created_at, 20, 1) = '.' THEN substr(substr(NEW.created_at, 20) || '000', 1, 4) ELSE '.000' END, NEW.trade_status, 1
    WHERE OLD.trade_status <> NEW.trade_status
        OR strftime('%Y-%m-%d %H:%M:%S', OLD.created_at) || CASE WHEN substr(OLD.created_at, 20, 1) = '.' THEN substr(substr(OLD.created_at, 20) || '000', 1, 4) ELSE '.000' END <> strftime('%Y-%m-%d %H:%M:%S', NEW.created_at) || CASE WHEN substr(NEW.created_at, 20, 1) = '.' THEN substr(substr(NEW.created_at, 20) || '000', 1, 4) ELSE '.000' END
    ON CONFLICT (shop_id, time_kind, at, trade_status) DO UPDATE SET delta = delta + excluded.delta;
END;

CREATE TRIGGER orders_count_delete AFTER DELETE ON orders
BEGIN
    INSERT INTO order_count_changes (shop_id, time_kind, at, trade_status, delta) VALUES
        (OLD.shop_id, 'modified', strftime('%Y-%m-%d %H:%M:%S', OLD.modified_at) || CASE WHEN substr(OLD.modified_at, 20, 1) = '.' THEN substr(substr(OLD.modified_at, 20) || '000', 1, 4) ELSE '.000' END, OLD.trade_status, -1),
        (OLD.shop_id, 'created', strftime('%Y-%m-%d %H:%M:%S', OLD.created_at) || CASE WHEN substr(OLD.created_at, 20, 1) = '.' THEN substr(substr(OLD.created_at, 20) || '000', 1, 4) ELSE '.000' END, OLD.trade_status, -1)
    ON CONFLICT (shop_id, time_kind, at, trade_status) DO UPDATE SET delta = delta + excluded.delta;
END;

-- The counts kept so far, millisecond rows and pending changes, keyed by the other
-- millisecond: counted again from the orders.
DELETE FROM order_count_changes;
DELETE FROM order_counts;
INSERT INTO order_counts (shop_id, time_kind, span, starts_at, trade_status, n)
SELECT shop_id, time_kind, span, starts_at, trade_status, COUNT(*) FROM (
    SELECT shop_id, 'modified' AS time_kind, 'day' AS span,
        strftime('%Y-%m-%d 00:00:00', modified_at) AS starts_at, trade_status FROM orders
    UNION ALL SELECT shop_id, 'modified', 'hour', strftime('%Y-%m-%d %H:00:00', modified_at), trade_status FROM orders
    UNION ALL SELECT shop_id, 'modified', 'minute', strftime('%Y-%m-%d %H:%M:00', modified_at), trade_status FROM orders
    UNION ALL SELECT shop_id, 'modified', 'second', strftime('%Y-%m-%d %H:%M:%S', modified_at), trade_status FROM orders
    UNION ALL SELECT shop_id, 'modified', 'millisecond', strftime('%Y-%m-%d %H:%M:%S', modified_at) || CASE WHEN substr(modified_at, 20, 1) = '.' THEN substr(substr(modified_at, 20) || '000', 1, 4) ELSE '.000' END, trade_status FROM orders
    UNION ALL SELECT shop_id, 'created', 'day', strftime('%Y-%m-%d 00:00:00', created_at), trade_status FROM orders
    UNION ALL SELECT shop_id, 'created', 'hour', strftime('%Y-%m-%d %H:00:00', created_at), trade_status FROM orders
    UNION ALL SELECT shop_id, 'created', 'minute', strftime('%Y-%m-%d %H:%M:00', created_at), trade_status FROM orders
    UNION ALL SELECT shop_id, 'created', 'second', strftime('%Y-%m-%d %H:%M:%S', created_at), trade_status FROM orders
    UNION ALL SELECT shop_id, 'created', 'millisecond', strftime('%Y-%m-%d %H:%M:%S', created_at) || CASE WHEN substr(created_at, 20, 1) = '.' THEN substr(substr(created_at, 20) || '000', 1, 4) ELSE '.000' END, trade_status FROM orders
) spans
GROUP BY shop_id, time_kind, span, starts_at, trade_status;
