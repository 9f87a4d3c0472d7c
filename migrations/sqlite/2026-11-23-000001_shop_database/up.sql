-- The shop database: shops, catalogue, orders, shipments, refunds, pickup codes.
-- Every shop-owned table carries shop_id and every key of shop data starts with it,
-- so the schema can be distributed by shop_id without a rewrite.
-- Money is integer fen; times are UTC.

CREATE TABLE shops (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    utc_offset_minutes INTEGER NOT NULL CHECK (utc_offset_minutes BETWEEN -840 AND 840),
    created_at TIMESTAMP NOT NULL,
    modified_at TIMESTAMP NOT NULL
);

CREATE TABLE products (
    id INTEGER PRIMARY KEY,
    shop_id BIGINT NOT NULL REFERENCES shops (id),
    plat_product_id TEXT NOT NULL,
    name TEXT NOT NULL,
    outer_id TEXT NOT NULL,
    price BIGINT NOT NULL CHECK (price >= 0),
    quantity BIGINT NOT NULL CHECK (quantity >= 0),
    picture_url TEXT NOT NULL,
    whse_code TEXT NOT NULL,
    on_sale BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL,
    modified_at TIMESTAMP NOT NULL,
    UNIQUE (shop_id, plat_product_id),
    UNIQUE (shop_id, id)
);
CREATE INDEX products_shop_on_sale ON products (shop_id, on_sale, id);
CREATE INDEX products_shop_outer_id ON products (shop_id, outer_id);

CREATE TABLE skus (
    id INTEGER PRIMARY KEY,
    shop_id BIGINT NOT NULL,
    product_id BIGINT NOT NULL,
    sku_id TEXT NOT NULL,
    outer_id TEXT NOT NULL,
    price BIGINT NOT NULL CHECK (price >= 0),
    quantity BIGINT NOT NULL CHECK (quantity >= 0),
    name TEXT NOT NULL,
    property TEXT NOT NULL,
    picture_url TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    modified_at TIMESTAMP NOT NULL,
    UNIQUE (shop_id, product_id, sku_id),
    FOREIGN KEY (shop_id, product_id) REFERENCES products (shop_id, id) ON DELETE CASCADE
);
CREATE INDEX skus_shop_sku_id ON skus (shop_id, sku_id);
CREATE INDEX skus_shop_outer_id ON skus (shop_id, outer_id);

CREATE TABLE orders (
    id INTEGER PRIMARY KEY,
    shop_id BIGINT NOT NULL REFERENCES shops (id),
    plat_order_no TEXT NOT NULL,
    trade_status TEXT NOT NULL CHECK (trade_status IN ('JH_01', 'JH_02', 'JH_03', 'JH_04', 'JH_05')),
    pay_time TIMESTAMP,
    pay_order_no TEXT NOT NULL,
    nick TEXT NOT NULL,
    should_pay_type TEXT NOT NULL,
    order_type TEXT NOT NULL,
    send_date TEXT NOT NULL,
    send_style TEXT NOT NULL,
    currency_code TEXT NOT NULL,
    whse_code TEXT NOT NULL,
    customer_remark TEXT NOT NULL,
    seller_remark TEXT NOT NULL,
    seller_flag TEXT NOT NULL,
    post_fee BIGINT NOT NULL CHECK (post_fee >= 0),
    goods_fee BIGINT NOT NULL CHECK (goods_fee >= 0),
    total_money BIGINT NOT NULL CHECK (total_money >= 0),
    real_money BIGINT NOT NULL CHECK (real_money >= 0),
    favourable_money BIGINT NOT NULL CHECK (favourable_money >= 0),
    commission_value BIGINT NOT NULL CHECK (commission_value >= 0),
    cod_service_fee BIGINT NOT NULL CHECK (cod_service_fee >= 0),
    created_at TIMESTAMP NOT NULL,
    modified_at TIMESTAMP NOT NULL,
    UNIQUE (shop_id, plat_order_no),
    UNIQUE (shop_id, id)
);
CREATE INDEX orders_shop_modified ON orders (shop_id, modified_at, id);
CREATE INDEX orders_shop_created ON orders (shop_id, created_at, id);
CREATE INDEX orders_shop_status_modified ON orders (shop_id, trade_status, modified_at, id);
CREATE INDEX orders_shop_status_created ON orders (shop_id, trade_status, created_at, id);

CREATE TABLE order_receivers (
    order_id BIGINT PRIMARY KEY,
    shop_id BIGINT NOT NULL,
    country TEXT NOT NULL,
    province TEXT NOT NULL,
    city TEXT NOT NULL,
    area TEXT NOT NULL,
    town TEXT NOT NULL,
    address TEXT NOT NULL,
    zip TEXT NOT NULL,
    phone TEXT NOT NULL,
    mobile TEXT NOT NULL,
    email TEXT NOT NULL,
    qq TEXT NOT NULL,
    receiver_name TEXT NOT NULL,
    card_type TEXT NOT NULL,
    id_card TEXT NOT NULL,
    id_card_true_name TEXT NOT NULL,
    FOREIGN KEY (shop_id, order_id) REFERENCES orders (shop_id, id) ON DELETE CASCADE
);

CREATE TABLE order_invoices (
    order_id BIGINT PRIMARY KEY,
    shop_id BIGINT NOT NULL,
    invoice_type TEXT NOT NULL,
    invoice_title TEXT NOT NULL,
    taxpayer_ident TEXT NOT NULL,
    invoice_content TEXT NOT NULL,
    registered_address TEXT NOT NULL,
    registered_phone TEXT NOT NULL,
    deposit_bank TEXT NOT NULL,
    bank_account TEXT NOT NULL,
    FOREIGN KEY (shop_id, order_id) REFERENCES orders (shop_id, id) ON DELETE CASCADE
);

CREATE TABLE order_customs (
    order_id BIGINT PRIMARY KEY,
    shop_id BIGINT NOT NULL,
    is_overseas BOOLEAN NOT NULL,
    tax_amount BIGINT NOT NULL CHECK (tax_amount >= 0),
    tariff_amount BIGINT NOT NULL CHECK (tariff_amount >= 0),
    added_value_amount BIGINT NOT NULL CHECK (added_value_amount >= 0),
    consumption_duty_amount BIGINT NOT NULL CHECK (consumption_duty_amount >= 0),
    pay_id TEXT NOT NULL,
    pay_name TEXT NOT NULL,
    business_plat_code TEXT NOT NULL,
    business_plat_name TEXT NOT NULL,
    FOREIGN KEY (shop_id, order_id) REFERENCES orders (shop_id, id) ON DELETE CASCADE
);

CREATE TABLE order_lines (
    id INTEGER PRIMARY KEY,
    shop_id BIGINT NOT NULL,
    order_id BIGINT NOT NULL,
    sub_order_no TEXT NOT NULL,
    product_id TEXT NOT NULL,
    outer_id TEXT NOT NULL,
    name TEXT NOT NULL,
    spec TEXT NOT NULL,
    goods_count BIGINT NOT NULL CHECK (goods_count > 0),
    shipped_count BIGINT NOT NULL DEFAULT 0 CHECK (shipped_count >= 0 AND shipped_count <= goods_count),
    price BIGINT NOT NULL CHECK (price >= 0),
    discount_money BIGINT NOT NULL CHECK (discount_money >= 0),
    tax_amount BIGINT NOT NULL CHECK (tax_amount >= 0),
    refund_status TEXT NOT NULL,
    status TEXT,
    remark TEXT NOT NULL,
    UNIQUE (shop_id, order_id, sub_order_no),
    UNIQUE (shop_id, id),
    FOREIGN KEY (shop_id, order_id) REFERENCES orders (shop_id, id) ON DELETE CASCADE
);

CREATE TABLE pickup_codes (
    order_id BIGINT PRIMARY KEY,
    shop_id BIGINT NOT NULL,
    code TEXT NOT NULL,
    redeemed_at TIMESTAMP,
    store_id TEXT,
    verify_way TEXT,
    FOREIGN KEY (shop_id, order_id) REFERENCES orders (shop_id, id) ON DELETE CASCADE
);

CREATE TABLE shipments (
    id INTEGER PRIMARY KEY,
    shop_id BIGINT NOT NULL,
    order_id BIGINT NOT NULL,
    logistic_type TEXT NOT NULL,
    logistic_name TEXT NOT NULL,
    logistic_no TEXT NOT NULL,
    send_type TEXT NOT NULL,
    sender_name TEXT NOT NULL,
    sender_tel TEXT NOT NULL,
    sender_address TEXT NOT NULL,
    source TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (shop_id, id),
    FOREIGN KEY (shop_id, order_id) REFERENCES orders (shop_id, id)
);
CREATE INDEX shipments_shop_order ON shipments (shop_id, order_id);

CREATE TABLE shipment_lines (
    id INTEGER PRIMARY KEY,
    shop_id BIGINT NOT NULL,
    shipment_id BIGINT NOT NULL,
    order_line_id BIGINT NOT NULL,
    goods_count BIGINT NOT NULL CHECK (goods_count > 0),
    UNIQUE (shop_id, shipment_id, order_line_id),
    FOREIGN KEY (shop_id, shipment_id) REFERENCES shipments (shop_id, id),
    FOREIGN KEY (shop_id, order_line_id) REFERENCES order_lines (shop_id, id)
);
CREATE INDEX shipment_lines_shop_line ON shipment_lines (shop_id, order_line_id);

CREATE TABLE refunds (
    id INTEGER PRIMARY KEY,
    shop_id BIGINT NOT NULL REFERENCES shops (id),
    refund_no TEXT NOT NULL,
    plat_order_no TEXT NOT NULL,
    sub_plat_order_no TEXT NOT NULL,
    order_id BIGINT,
    total_amount BIGINT NOT NULL CHECK (total_amount >= 0),
    pay_amount BIGINT NOT NULL CHECK (pay_amount >= 0),
    buyer_nick TEXT NOT NULL,
    seller_nick TEXT NOT NULL,
    order_status TEXT NOT NULL,
    refund_status TEXT NOT NULL,
    goods_status TEXT NOT NULL,
    has_goods_return BOOLEAN NOT NULL,
    reason TEXT NOT NULL,
    description TEXT NOT NULL,
    product_num BIGINT NOT NULL CHECK (product_num >= 0),
    logistic_name TEXT NOT NULL,
    logistic_no TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    modified_at TIMESTAMP NOT NULL,
    UNIQUE (shop_id, refund_no),
    UNIQUE (shop_id, id),
    FOREIGN KEY (shop_id, order_id) REFERENCES orders (shop_id, id)
);
CREATE INDEX refunds_shop_modified ON refunds (shop_id, modified_at, id);
CREATE INDEX refunds_shop_order ON refunds (shop_id, order_id);

CREATE TABLE refund_goods (
    id INTEGER PRIMARY KEY,
    shop_id BIGINT NOT NULL,
    refund_id BIGINT NOT NULL,
    plat_product_id TEXT NOT NULL,
    outer_id TEXT NOT NULL,
    sku TEXT NOT NULL,
    product_name TEXT NOT NULL,
    refund_amount BIGINT NOT NULL CHECK (refund_amount >= 0),
    reason TEXT NOT NULL,
    product_num BIGINT NOT NULL CHECK (product_num >= 0),
    po_no TEXT NOT NULL,
    FOREIGN KEY (shop_id, refund_id) REFERENCES refunds (shop_id, id) ON DELETE CASCADE
);
CREATE INDEX refund_goods_shop_refund ON refund_goods (shop_id, refund_id);
