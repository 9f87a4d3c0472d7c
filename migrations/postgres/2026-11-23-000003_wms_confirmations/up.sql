-- Shipment confirmations received from the warehouse, one per outBizCode, so a
-- repeated confirmation changes nothing.
CREATE TABLE wms_confirmations (
    shop_id BIGINT NOT NULL REFERENCES shops (id),
    out_biz_code TEXT NOT NULL,
    plat_order_no TEXT NOT NULL,
    status TEXT NOT NULL,
    received_at TIMESTAMP NOT NULL,
    PRIMARY KEY (shop_id, out_biz_code)
);
