DROP TABLE order_count_folds;
