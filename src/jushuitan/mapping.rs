//! A shop order as Jushuitan's orders.upload wants it, by the rules the seed FAQ gives:
//! items plus freight equal the paid amount (an order-level discount is spread over the
//! items' amounts, `base_price` stays the list price), a paid order carries a `pay` node
//! for that same amount, and field lengths fit.

use chrono::FixedOffset;
use serde_json::{json, Value};

use crate::shop::amounts::paid_amounts;
use crate::shop::codes::TradeStatus;
use crate::shop::orders::OrderRecord;
use crate::time::format_shop_time;

/// Jushuitan's `shop_status` for a trade status.
pub fn shop_status(status: TradeStatus) -> &'static str {
    match status {
        TradeStatus::AwaitingPayment => "WAIT_BUYER_PAY",
        TradeStatus::AwaitingShipment => "WAIT_SELLER_SEND_GOODS",
        TradeStatus::Shipped => "WAIT_BUYER_CONFIRM_GOODS",
        TradeStatus::Completed => "TRADE_FINISHED",
        TradeStatus::Closed => "TRADE_CLOSED",
    }
}

/// Fen as a yuan JSON number (exact: at most two decimals).
pub fn yuan(fen: i64) -> Value {
    if fen % 100 == 0 {
        json!(fen / 100)
    } else {
        json!(fen as f64 / 100.0)
    }
}

fn check_len(field: &str, value: &str, max: usize) -> Result<(), String> {
    let count = value.chars().count();
    if count > max {
        return Err(format!(
            "{field} is {count} characters; Jushuitan takes at most {max}"
        ));
    }
    Ok(())
}

/// The upload document of `order` for the Jushuitan shop `jst_shop_id`, or why the
/// order cannot be sent as it is.
pub fn upload_order(
    order: &OrderRecord,
    jst_shop_id: i64,
    offset: FixedOffset,
) -> Result<Value, String> {
    let header = &order.header;
    let status = TradeStatus::from_code(&header.trade_status)
        .ok_or_else(|| format!("unknown trade status `{}`", header.trade_status))?;
    let receiver = &order.receiver;
    check_len("PlatOrderNo (so_id)", &header.plat_order_no, 50)?;
    check_len("receivername", &receiver.receiver_name, 50)?;
    check_len("address", &receiver.address, 200)?;
    check_len("mobile", &receiver.mobile, 50)?;
    check_len("phone", &receiver.phone, 50)?;
    check_len("customerremark", &header.customer_remark, 400)?;
    check_len("sellerremark", &header.seller_remark, 400)?;
    if order.lines.is_empty() {
        return Err("the order has no lines".to_owned());
    }
    let paid = paid_amounts(order).map_err(|why| {
        format!("{why}; Jushuitan requires sum(items.amount) + freight = pay_amount")
    })?;
    let mut items = Vec::with_capacity(order.lines.len());
    for (line, amount) in order.lines.iter().zip(&paid.lines) {
        let fields = &line.fields;
        check_len("tradegoodsno (sku_id)", &fields.outer_id, 40)?;
        if fields.outer_id.trim().is_empty() {
            return Err(format!(
                "line `{}` has no tradegoodsno: Jushuitan matches items by the merchant's SKU code",
                fields.sub_order_no
            ));
        }
        items.push(json!({
            "sku_id": fields.outer_id,
            "shop_sku_id": fields.product_id,
            "amount": yuan(*amount),
            "base_price": yuan(fields.price),
            "qty": fields.goods_count,
            "name": fields.name,
            "outer_oi_id": fields.sub_order_no,
            "properties_value": fields.spec,
        }));
    }
    let pay_amount = header.real_money;
    let receiver_name = [
        &receiver.receiver_name,
        &receiver.id_card_true_name,
        &header.nick,
    ]
    .into_iter()
    .find(|name| !name.trim().is_empty())
    .cloned()
    .unwrap_or_default();
    let mut document = json!({
        "shop_id": jst_shop_id,
        "so_id": header.plat_order_no,
        "order_date": format_shop_time(header.created_at, offset),
        "shop_status": shop_status(status),
        "shop_buyer_id": if header.nick.is_empty() { receiver.mobile.clone() } else { header.nick.clone() },
        "receiver_state": receiver.province,
        "receiver_city": receiver.city,
        "receiver_district": receiver.area,
        "receiver_address": receiver.address,
        "receiver_name": receiver_name,
        "receiver_phone": receiver.phone,
        "receiver_mobile": receiver.mobile,
        "pay_amount": yuan(pay_amount),
        "freight": yuan(header.post_fee),
        "shop_modified": format_shop_time(order.modified_at, offset),
        "buyer_message": header.customer_remark,
        "remark": header.seller_remark,
        "items": items,
    });
    let paid = !matches!(status, TradeStatus::AwaitingPayment | TradeStatus::Closed)
        || header.pay_time.is_some();
    if paid {
        let pay_time = header.pay_time.ok_or_else(|| {
            format!(
                "status {} means paid but the order has no paytime: without a pay node Jushuitan would take it as unpaid",
                status.code()
            )
        })?;
        document["pay"] = json!({
            "outer_pay_id": if header.pay_order_no.is_empty() { header.plat_order_no.clone() } else { header.pay_order_no.clone() },
            "pay_date": format_shop_time(pay_time, offset),
            "payment": if header.should_pay_type.is_empty() { "在线支付".to_owned() } else { header.should_pay_type.clone() },
            "seller_account": "",
            "buyer_account": header.nick,
            "amount": yuan(pay_amount),
        });
    }
    Ok(document)
}
