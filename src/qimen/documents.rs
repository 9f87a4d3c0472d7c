//! The documents the warehouse receives, built from the shop's orders and products:
//! deliveryorder.create and singleitem.synchronize.

use chrono::FixedOffset;

use super::requests::{
    to_document, DeliveryOrder, DeliveryOrderCreate, Item, ItemSynchronize, OrderLine, OrderLines,
    Party,
};
use crate::config::{WmsShopConfig, WMS_MAX_ADDRESS as MAX_ADDRESS, WMS_MAX_REGION as MAX_REGION};
use crate::shop::amounts::{own_amounts, paid_amounts};
use crate::shop::codes::RefundStatus;
use crate::shop::orders::OrderRecord;
use crate::shop::products::ProductRecord;
use crate::shop::shops::Shop;
use crate::time::{format_shop_time, now_utc};

fn region(name: &str, value: &str, max: usize) -> Result<String, String> {
    let value = value.trim();
    if value.is_empty() {
        return Err(format!("receiver {name} is empty"));
    }
    let count = value.chars().count();
    if count > max {
        return Err(format!(
            "receiver {name} is {count} characters; the warehouse takes at most {max}"
        ));
    }
    Ok(value.to_owned())
}

fn yuan_text(fen: i64) -> String {
    format!("{}.{:02}", fen / 100, fen % 100)
}

/// A line's amount as (orderLineNo suffix, quantity, unit price in fen) parts whose
/// prices times quantities add up to the amount exactly: one part when the amount
/// divides evenly, else the units at the rounded-down price and the rest one fen dearer.
fn unit_prices(amount: i64, quantity: i64) -> Vec<(&'static str, i64, i64)> {
    let quantity = quantity.max(1);
    let (unit, rest) = (amount / quantity, amount % quantity);
    if rest == 0 {
        vec![("", quantity, unit)]
    } else {
        vec![("", quantity - rest, unit), ("#2", rest, unit + 1)]
    }
}

/// The deliveryorder.create document of `order`, or why it cannot be sent.
pub fn delivery_order(
    order: &OrderRecord,
    shop: &Shop,
    config: &WmsShopConfig,
    offset: FixedOffset,
) -> Result<String, String> {
    let header = &order.header;
    let receiver = &order.receiver;
    let name = [
        &receiver.receiver_name,
        &receiver.id_card_true_name,
        &header.nick,
    ]
    .into_iter()
    .find(|n| !n.trim().is_empty())
    .ok_or("receiver name is empty")?;
    if receiver.mobile.trim().is_empty() && receiver.phone.trim().is_empty() {
        return Err("receiver mobile and phone are both empty".to_owned());
    }
    // What each line was paid, the order's discount included; money never holds a
    // shipment, so figures that do not add up fall back to the lines' own amounts.
    let paid = paid_amounts(order)
        .map(|paid| paid.lines)
        .unwrap_or_else(|_| own_amounts(order));
    let mut lines: Vec<OrderLine> = Vec::new();
    for (line, amount) in order.lines.iter().zip(paid) {
        let f = &line.fields;
        if f.refund_status == RefundStatus::Succeeded.code() {
            continue;
        }
        if f.outer_id.trim().is_empty() {
            return Err(format!(
                "line `{}` has no tradegoodsno (the warehouse's item code)",
                f.sub_order_no
            ));
        }
        for (suffix, quantity, unit) in unit_prices(amount, f.goods_count) {
            lines.push(OrderLine {
                order_line_no: format!("{}{suffix}", f.sub_order_no),
                owner_code: config.owner_code.clone(),
                item_code: f.outer_id.clone(),
                item_name: f.name.clone(),
                plan_qty: quantity,
                actual_price: yuan_text(unit),
            });
        }
    }
    if lines.is_empty() {
        return Err("no line is left to ship (all refunded)".to_owned());
    }
    let now = format_shop_time(now_utc(), offset);
    let pay_time = header
        .pay_time
        .map(|at| format_shop_time(at, offset))
        .unwrap_or_default();
    let sender = &config.sender;
    let document = DeliveryOrderCreate {
        delivery_order: DeliveryOrder {
            delivery_order_code: header.plat_order_no.clone(),
            order_type: "JYCK".to_owned(),
            warehouse_code: config.warehouse_code.clone(),
            source_platform_code: "API".to_owned(),
            // The seed: createTime is the time of sending, placeOrderTime the payment.
            create_time: now.clone(),
            place_order_time: if pay_time.is_empty() {
                format_shop_time(header.created_at, offset)
            } else {
                pay_time.clone()
            },
            pay_time,
            operate_time: now,
            shop_nick: shop.name.clone(),
            logistics_code: config.logistics_code.clone(),
            buyer_message: header.customer_remark.clone(),
            seller_message: header.seller_remark.clone(),
            sender_info: Party {
                name: sender.name.clone(),
                mobile: sender.mobile.clone(),
                tel: String::new(),
                province: sender.province.clone(),
                city: sender.city.clone(),
                area: sender.area.clone(),
                detail_address: sender.address.clone(),
            },
            receiver_info: Party {
                name: name.trim().to_owned(),
                mobile: if receiver.mobile.trim().is_empty() {
                    receiver.phone.clone()
                } else {
                    receiver.mobile.clone()
                },
                tel: receiver.phone.clone(),
                province: region("province", &receiver.province, MAX_REGION)?,
                city: region("city", &receiver.city, MAX_REGION)?,
                area: region("area", &receiver.area, MAX_REGION)?,
                detail_address: region("address", &receiver.address, MAX_ADDRESS)?,
            },
        },
        order_lines: OrderLines { order_line: lines },
    };
    to_document(&document)
}

/// The singleitem.synchronize documents of a product: one per SKU, or one for a product without SKUs.
pub fn item_documents(
    product: &ProductRecord,
    config: &WmsShopConfig,
    action: &str,
) -> Result<Vec<String>, String> {
    let mut items = Vec::new();
    if product.skus.is_empty() {
        items.push((
            product.fields.outer_id.clone(),
            product.fields.name.clone(),
            String::new(),
            product.fields.price,
        ));
    }
    for sku in &product.skus {
        let name = if sku.fields.name.is_empty() {
            product.fields.name.clone()
        } else {
            format!("{} {}", product.fields.name, sku.fields.name)
        };
        items.push((
            sku.fields.outer_id.clone(),
            name,
            sku.fields.property.clone(),
            sku.fields.price,
        ));
    }
    items
        .into_iter()
        .map(|(code, name, property, price)| {
            if code.trim().is_empty() {
                return Err(format!(
                    "product `{}` has an item without a merchant code",
                    product.fields.plat_product_id
                ));
            }
            to_document(&ItemSynchronize {
                action_type: action.to_owned(),
                warehouse_code: config.warehouse_code.clone(),
                owner_code: config.owner_code.clone(),
                item: Item {
                    item_code: code,
                    item_name: name,
                    sku_property: property,
                    item_type: "ZC".to_owned(),
                    retail_price: yuan_text(price),
                },
            })
        })
        .collect()
}
