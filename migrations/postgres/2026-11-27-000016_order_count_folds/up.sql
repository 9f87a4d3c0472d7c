-- How many folds have moved pending order count changes into the counts. A page remembers
-- how many orders of an anchor's millisecond lie before the anchor (the orders a batch
-- wrote with one time, counted one by one otherwise) together with this number, and uses
-- what it remembers only while the number is the same and no change is pending in that
-- millisecond: every change to which orders lie in a millisecond adds a pending change
-- there (a row, even when a statement's moves in and out of it sum to nothing), and only
-- a fold removes one. Whatever removes pending changes moves this number too.
CREATE TABLE order_count_folds (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    folds BIGINT NOT NULL
);
INSERT INTO order_count_folds (id, folds) VALUES (1, 0);

-- A statement that moves one order out of a millisecond and another into it (a batch that
-- swaps two statuses) left no pending change there: its moves summed to nothing. They are
-- kept as a change of nothing, which a fold adds and deletes like any other.
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
    GROUP BY shop_id, time_kind, at, trade_status;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
