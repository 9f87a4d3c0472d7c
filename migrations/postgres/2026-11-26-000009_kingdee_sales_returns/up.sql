-- 金蝶云星空 (Kingdee K/3 Cloud): confirmed returns booked as sales returns.
--
-- Whether the shop books its returns in Kingdee decides whether a confirmed return
-- enters the outbox (target 'kingdee', kind 'sales_return').
ALTER TABLE shops ADD COLUMN kingdee_enabled BOOLEAN NOT NULL DEFAULT FALSE;

-- What Kingdee answered for each return booked: the bill number sent (FBillNo: the
-- after-sale's as_id or the storefront refund's number) and the bill it made. A bill
-- Kingdee already held ('already_booked', a resend) keeps the number only.
CREATE TABLE kingdee_bookings (
    shop_id BIGINT NOT NULL REFERENCES shops (id),
    bill_no TEXT NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('after_sale', 'storefront_refund')),
    outcome TEXT NOT NULL CHECK (outcome IN ('saved', 'already_booked')),
    kingdee_id TEXT NOT NULL,
    kingdee_number TEXT NOT NULL,
    booked_at TIMESTAMP NOT NULL,
    PRIMARY KEY (shop_id, bill_no)
);
