DROP TRIGGER orders_count_delete;
DROP TRIGGER orders_count_update;
DROP TRIGGER orders_count_insert;
DROP TABLE order_count_changes;
DROP TABLE order_counts;
