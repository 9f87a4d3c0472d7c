DROP TRIGGER orders_count_change ON orders;
DROP FUNCTION orders_count_change();
DROP TABLE order_count_changes;
DROP TABLE order_counts;
