-- Orders per (shop, which time, span, start, status) for spans of a day, an hour, a minute,
-- a second and a millisecond, so the number of orders before any time sums a few hundred
-- counts — whole days, then the whole hours, minutes, seconds and milliseconds at the
-- edges — however many orders a sale put into one hour or one second. A window with
-- whole-second bounds (what the wire names) needs no milliseconds; the position of an
-- order inside a busy second does. Day counts alone left a window's partial first and
-- last day to be counted order by order.
--
-- Statement triggers on `orders` add each statement's moves, summed per (shop, time,
-- millisecond, status), to `order_count_changes` as new rows: they never update a shared row,
-- so concurrent writers do not queue behind each other, and a statement that writes a
-- thousand orders adds a few rows, not a thousand. A fold adds the changes into every
-- span of `order_counts` and deletes them.
DROP TRIGGER orders_count_change ON orders;
DROP FUNCTION orders_count_change();
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
);

CREATE TABLE order_count_changes (
    id BIGSERIAL PRIMARY KEY,
    shop_id BIGINT NOT NULL,
    time_kind TEXT NOT NULL,
    at TIMESTAMP NOT NULL,
    trade_status TEXT NOT NULL,
    delta BIGINT NOT NULL
);
CREATE INDEX order_count_changes_shop_at ON order_count_changes (shop_id, time_kind, at);
-- A queue: rows live until the next fold (about a second). Vacuum it after a thousand
-- dead rows rather than after a fifth of the table, so readers do not walk dead entries.
ALTER TABLE order_count_changes SET (
    autovacuum_vacuum_scale_factor = 0,
    autovacuum_vacuum_threshold = 1000,
    autovacuum_analyze_scale_factor = 0,
    autovacuum_analyze_threshold = 1000
);

INSERT INTO order_counts (shop_id, time_kind, span, starts_at, trade_status, n)
SELECT shop_id, time_kind, span, starts_at, trade_status, COUNT(*) FROM (
    SELECT shop_id, 'modified' AS time_kind, span, date_trunc(span, modified_at) AS starts_at, trade_status
    FROM orders CROSS JOIN (VALUES ('day'), ('hour'), ('minute'), ('second'), ('millisecond')) AS spans (span)
    UNION ALL
    SELECT shop_id, 'created', span, date_trunc(span, created_at), trade_status
    FROM orders CROSS JOIN (VALUES ('day'), ('hour'), ('minute'), ('second'), ('millisecond')) AS spans (span)
) moved
GROUP BY shop_id, time_kind, span, starts_at, trade_status;

CREATE FUNCTION orders_count_insert() RETURNS trigger AS $$
BEGIN
    INSERT INTO order_count_changes (shop_id, time_kind, at, trade_status, delta)
    SELECT shop_id, 'modified', date_trunc('millisecond', modified_at), trade_status, COUNT(*)
    FROM inserted GROUP BY shop_id, date_trunc('millisecond', modified_at), trade_status
    UNION ALL
    SELECT shop_id, 'created', date_trunc('millisecond', created_at), trade_status, COUNT(*)
    FROM inserted GROUP BY shop_id, date_trunc('millisecond', created_at), trade_status;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE FUNCTION orders_count_update() RETURNS trigger AS $$
BEGIN
    WITH pairs AS (
        SELECT o.shop_id, o.trade_status AS old_status, n.trade_status AS new_status,
            date_trunc('millisecond', o.modified_at) AS old_modified,
            date_trunc('millisecond', n.modified_at) AS new_modified,
            date_trunc('millisecond', o.created_at) AS old_created,
            date_trunc('millisecond', n.created_at) AS new_created
        FROM old_rows o JOIN new_rows n ON n.id = o.id
    ), moved AS (
        SELECT shop_id, 'modified' AS time_kind, old_modified AS at, old_status AS trade_status,
            -1 AS delta
        FROM pairs WHERE old_status <> new_status OR old_modified <> new_modified
        UNION ALL
        SELECT shop_id, 'modified', new_modified, new_status, 1
        FROM pairs WHERE old_status <> new_status OR old_modified <> new_modified
        UNION ALL
        SELECT shop_id, 'created', old_created, old_status, -1
        FROM pairs WHERE old_status <> new_status OR old_created <> new_created
        UNION ALL
        SELECT shop_id, 'created', new_created, new_status, 1
        FROM pairs WHERE old_status <> new_status OR old_created <> new_created
    )
    INSERT INTO order_count_changes (shop_id, time_kind, at, trade_status, delta)
    SELECT shop_id, time_kind, at, trade_status, SUM(delta) FROM moved
    GROUP BY shop_id, time_kind, at, trade_status HAVING SUM(delta) <> 0;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE FUNCTION orders_count_delete() RETURNS trigger AS $$
BEGIN
    INSERT INTO order_count_changes (shop_id, time_kind, at, trade_status, delta)
    SELECT shop_id, 'modified', date_trunc('millisecond', modified_at), trade_status, -COUNT(*)
    FROM deleted GROUP BY shop_id, date_trunc('millisecond', modified_at), trade_status
    UNION ALL
    SELECT shop_id, 'created', date_trunc('millisecond', created_at), trade_status, -COUNT(*)
    FROM deleted GROUP BY shop_id, date_trunc('millisecond', created_at), trade_status;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER orders_count_insert AFTER INSERT ON orders
    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION orders_count_insert();
CREATE TRIGGER orders_count_update AFTER UPDATE ON orders
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION orders_count_update();
CREATE TRIGGER orders_count_delete AFTER DELETE ON orders
    REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION orders_count_delete();
