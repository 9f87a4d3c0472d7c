-- A cursor over orders (the shipping pull's turn through the orders awaiting shipment)
-- needs the order's id beside its time: a sale places hundreds of orders in one second.
-- Cursors over partners' windows keep 0.
ALTER TABLE sync_cursors ADD COLUMN position_id BIGINT NOT NULL DEFAULT 0;
