//! refund.single.query's after-sale records (seed 002) read into the shop's after-sales:
//! every field a later booking of the return needs, the statuses mapped to the shop's
//! refund and goods codes.

use chrono::{FixedOffset, NaiveDateTime};
use serde_json::Value;

use super::client::value_text;
use super::fields::{count, fen, field};
use crate::shop::after_sales::{AfterSale, AfterSaleBatch, AfterSaleLine};
use crate::shop::codes::{GoodsStatus, RefundStatus};
use crate::time::now_utc;
use crate::time::parse_shop_time;

/// The shop's refund status for an after-sale: the platform-side status when given,
/// else the ERP's own.
fn refund_status(shop_status: &str, status: &str) -> RefundStatus {
    match shop_status {
        "WAIT_SELLER_AGREE" => RefundStatus::Requested,
        "WAIT_BUYER_RETURN_GOODS" => RefundStatus::AwaitingReturn,
        "WAIT_SELLER_CONFIRM_GOODS" => RefundStatus::Returned,
        "SELLER_REFUSE_BUYER" => RefundStatus::Refused,
        "CLOSED" => RefundStatus::Closed,
        "SUCCESS" => RefundStatus::Succeeded,
        _ => match status {
            "WaitConfirm" => RefundStatus::Requested,
            "Confirmed" => RefundStatus::Succeeded,
            "Cancelled" => RefundStatus::Closed,
            _ => RefundStatus::Other,
        },
    }
}

fn goods_status(good_status: &str) -> GoodsStatus {
    match good_status {
        "BUYER_NOT_RECEIVED" => GoodsStatus::NotReceived,
        "BUYER_RECEIVED" => GoodsStatus::Received,
        "BUYER_RETURNED_GOODS" | "SELLER_RECEIVED" => GoodsStatus::SentBack,
        _ => GoodsStatus::Other,
    }
}

/// The record's `shop_id`, when it carries one.
pub fn shop_of(record: &Value) -> Option<String> {
    record
        .get("shop_id")
        .map(value_text)
        .filter(|shop| !shop.trim().is_empty())
}

/// An after-sale record as the shop keeps it; `None` when it lacks its numbers.
pub fn after_sale_from(record: &Value, offset: FixedOffset) -> Option<AfterSale> {
    let text = |name: &str| field(record, name);
    let as_id = text("as_id");
    let so_id = text("so_id");
    if as_id.is_empty() || so_id.is_empty() {
        return None;
    }
    let time = |name: &str| -> Option<NaiveDateTime> { parse_shop_time(&text(name), offset).ok() };
    let modified = time("modified").unwrap_or_else(now_utc);
    let lines = record
        .get("items")
        .and_then(Value::as_array)
        .map(|items| items.iter().map(line_from).collect())
        .unwrap_or_default();
    Some(AfterSale {
        refund_status: refund_status(&text("shop_status"), &text("status")),
        goods_status: goods_status(&text("good_status")),
        as_type: text("type"),
        status: text("status"),
        shop_status: text("shop_status"),
        good_status: text("good_status"),
        o_id: text("o_id"),
        refund: fen(record.get("refund")),
        payment: fen(record.get("payment")),
        freight: fen(record.get("freight")),
        wms_co_id: text("wms_co_id"),
        warehouse: text("warehouse"),
        l_id: text("l_id"),
        logistics_company: text("logistics_company"),
        question_type: text("question_type"),
        remark: text("remark"),
        buyer: text("shop_buyer_id"),
        confirm_date: time("confirm_date"),
        as_date: time("as_date"),
        created_at: time("created").unwrap_or(modified),
        modified_at: modified,
        lines,
        as_id,
        so_id,
    })
}

fn line_from(item: &Value) -> AfterSaleLine {
    let text = |name: &str| field(item, name);
    let batches = item
        .get("batchs")
        .and_then(Value::as_array)
        .map(|batches| {
            batches
                .iter()
                .map(|batch| AfterSaleBatch {
                    sku_id: field(batch, "sku_id"),
                    qty: count(batch.get("qty")),
                    batch_no: field(batch, "batch_no"),
                    product_date: field(batch, "product_date"),
                    supplier_id: field(batch, "supplier_id"),
                    supplier_name: field(batch, "supplier_name"),
                })
                .collect()
        })
        .unwrap_or_default();
    AfterSaleLine {
        asi_id: text("asi_id"),
        line_type: text("type"),
        sku_id: text("sku_id"),
        outer_oi_id: text("outer_oi_id"),
        name: text("name"),
        properties_value: text("properties_value"),
        qty: count(item.get("qty")),
        r_qty: count(item.get("r_qty")),
        price: fen(item.get("price")),
        amount: fen(item.get("amount")),
        batches,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shop::after_sales::AfterSaleKind;
    use serde_json::json;

    fn china() -> FixedOffset {
        FixedOffset::east_opt(8 * 3600).unwrap()
    }

    #[test]
    fn the_seed_fields_are_kept() {
        let record = json!({"as_id": 9001, "so_id": "A-1", "o_id": 77, "status": "Confirmed",
            "shop_status": "SUCCESS", "good_status": "SELLER_RECEIVED", "refund": "12.30", "wms_co_id": 10086,
            "confirm_date": "2024-05-03 10:00:00", "modified": "2024-05-03 10:00:00",
            "items": [{"asi_id": 1, "type": "退货", "sku_id": "S1", "qty": 2, "r_qty": 1, "amount": 12.3,
                       "batchs": [{"sku_id": "S1", "qty": 1, "batch_no": "B7", "product_date": "2024-01-01"}]}]});
        let sale = after_sale_from(&record, china()).expect("record");
        assert_eq!(sale.as_id, "9001");
        assert_eq!(sale.wms_co_id, "10086");
        assert_eq!(sale.refund, 1_230);
        assert_eq!(sale.refund_status, RefundStatus::Succeeded);
        assert_eq!(
            sale.confirm_date.map(|d| d.to_string()).as_deref(),
            Some("2024-05-03 02:00:00")
        );
        assert_eq!((sale.lines[0].qty, sale.lines[0].r_qty), (2, 1));
        assert_eq!(sale.lines[0].batches[0].batch_no, "B7");
        assert_eq!(sale.kind(), AfterSaleKind::Return);
        assert!(after_sale_from(&json!({"so_id": "A-1"}), china()).is_none());
    }
}
