DROP TABLE order_count_folds;

CREATE OR REPLACE FUNCTION orders_count_update() RETURNS trigger AS $$
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
