DROP TABLE after_sale_batches;
DROP TABLE after_sale_lines;
DROP TABLE after_sales;
ALTER TABLE refund_goods DROP COLUMN sub_order_no;
ALTER TABLE shipments DROP COLUMN is_hwg_flag;
ALTER TABLE shipments DROP COLUMN order_type;
