ALTER TABLE skus DROP COLUMN stock_changed_at;
ALTER TABLE skus DROP COLUMN stock_source;
ALTER TABLE products DROP COLUMN stock_changed_at;
ALTER TABLE products DROP COLUMN stock_source;
DROP TABLE polyapi_calls;
DROP TABLE audit_log;
DROP TABLE operator_sessions;
DROP TABLE operators;
