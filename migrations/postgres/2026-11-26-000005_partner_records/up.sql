-- What the partners report that the shop keeps as they report it.
--
-- A Polyapi Send's order type and overseas flag, on the shipment.
ALTER TABLE shipments ADD COLUMN order_type TEXT NOT NULL DEFAULT '';
ALTER TABLE shipments ADD COLUMN is_hwg_flag BOOLEAN NOT NULL DEFAULT FALSE;

-- The order line a refunded item belongs to, when the refund names it per item.
ALTER TABLE refund_goods ADD COLUMN sub_order_no TEXT NOT NULL DEFAULT '';

-- Jushuitan's after-sale records (refund.single.query), one per as_id, as they come:
-- returns and refunds also become a refund (refund_id); exchanges and resends are kept
-- here for the operator only. Money in fen, times UTC.
CREATE TABLE after_sales (
    id BIGSERIAL PRIMARY KEY,
    shop_id BIGINT NOT NULL REFERENCES shops (id),
    as_id TEXT NOT NULL,
    so_id TEXT NOT NULL,
    o_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('return', 'exchange', 'resend', 'other')),
    as_type TEXT NOT NULL,
    status TEXT NOT NULL,
    shop_status TEXT NOT NULL,
    good_status TEXT NOT NULL,
    refund BIGINT NOT NULL CHECK (refund >= 0),
    payment BIGINT NOT NULL CHECK (payment >= 0),
    freight BIGINT NOT NULL CHECK (freight >= 0),
    wms_co_id TEXT NOT NULL,
    warehouse TEXT NOT NULL,
    l_id TEXT NOT NULL,
    logistics_company TEXT NOT NULL,
    question_type TEXT NOT NULL,
    remark TEXT NOT NULL,
    confirm_date TIMESTAMP,
    as_date TIMESTAMP,
    order_id BIGINT,
    refund_id BIGINT,
    created_at TIMESTAMP NOT NULL,
    modified_at TIMESTAMP NOT NULL,
    received_at TIMESTAMP NOT NULL,
    UNIQUE (shop_id, as_id),
    UNIQUE (shop_id, id),
    FOREIGN KEY (shop_id, order_id) REFERENCES orders (shop_id, id),
    FOREIGN KEY (shop_id, refund_id) REFERENCES refunds (shop_id, id)
);
CREATE INDEX after_sales_shop_modified ON after_sales (shop_id, modified_at, id);

-- Each item of an after-sale: its type (退货 return, 换货 exchange, 补发 resend), the
-- quantity applied for and really received back (r_qty), and the order line it matched.
CREATE TABLE after_sale_lines (
    id BIGSERIAL PRIMARY KEY,
    shop_id BIGINT NOT NULL,
    after_sale_id BIGINT NOT NULL,
    asi_id TEXT NOT NULL,
    line_type TEXT NOT NULL,
    sku_id TEXT NOT NULL,
    outer_oi_id TEXT NOT NULL,
    sub_order_no TEXT NOT NULL,
    name TEXT NOT NULL,
    properties_value TEXT NOT NULL,
    qty BIGINT NOT NULL CHECK (qty >= 0),
    r_qty BIGINT NOT NULL CHECK (r_qty >= 0),
    price BIGINT NOT NULL CHECK (price >= 0),
    amount BIGINT NOT NULL CHECK (amount >= 0),
    UNIQUE (shop_id, id),
    FOREIGN KEY (shop_id, after_sale_id) REFERENCES after_sales (shop_id, id) ON DELETE CASCADE
);
CREATE INDEX after_sale_lines_shop_after_sale ON after_sale_lines (shop_id, after_sale_id);

-- The batches an after-sale item came back in (batchs), as Jushuitan gives them.
CREATE TABLE after_sale_batches (
    id BIGSERIAL PRIMARY KEY,
    shop_id BIGINT NOT NULL,
    line_id BIGINT NOT NULL,
    sku_id TEXT NOT NULL,
    qty BIGINT NOT NULL CHECK (qty >= 0),
    batch_no TEXT NOT NULL,
    product_date TEXT NOT NULL,
    supplier_id TEXT NOT NULL,
    supplier_name TEXT NOT NULL,
    FOREIGN KEY (shop_id, line_id) REFERENCES after_sale_lines (shop_id, id) ON DELETE CASCADE
);
CREATE INDEX after_sale_batches_shop_line ON after_sale_batches (shop_id, line_id);
