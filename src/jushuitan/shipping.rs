//! What Jushuitan has really shipped, recorded as the shop's shipments (as a split
//! Polyapi Send would): each order or split-off parcel in the shipped state `Sent` is a
//! parcel with its own items and waybill; any other state (WaitConfirm, Delivering,
//! Question…) changes nothing, waybill or not.
//!
//! A run finds shipments two ways. First it asks what Jushuitan changed to `Sent` since
//! the last run, in windows of its modified times from a cursor: that costs what shipped,
//! so on a sale's shipping day every parcel is recorded within a run or two however many
//! orders wait. Then it asks about the next of the orders still awaiting shipment by
//! number, in turn: that finds what a window cannot (a parcel shipped before the first
//! run's window, the rest of a minute holding more than a window reads, a clock that
//! drifted), at the pace of a thousand orders a run.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use serde_json::{json, Value};

use super::client::{value_text, Operation};
use super::fields::{count, field};
use super::sync::JstSync;
use super::windows::{ChangedSince, Changes, Page, PAGE_SIZE};
use super::JstSyncError;
use crate::db::DbConnection;
use crate::outbox::Target;
use crate::shop::parcels::{ship_parcels, Parcel, ParcelItem};
use crate::shop::shipments::ShipmentSource;
use crate::shop::{carriers, cursors, orders as shop_orders, ShopError};

/// Jushuitan's order status once the goods have left (已发货).
const SHIPPED: &str = "Sent";
/// The orders Jushuitan changed to `Sent`, by window.
const SHIPPED_SINCE: Changes = Changes {
    operation: Operation::QueryOrders,
    cursor: "jushuitan.shipped",
    list: "orders",
    also: &[("status", SHIPPED)],
};

/// Orders per orders.single.query call by number.
const QUERY_BATCH: usize = 50;
/// Orders awaiting shipment asked about per run.
const MAX_AWAITING: usize = 1_000;
/// Orders awaiting shipment looked at per run at most, to find those to ask about (the
/// ones Jushuitan has not taken yet are passed over).
const MAX_LOOKED_AT: usize = 20_000;
/// The turn's place among the orders awaiting shipment.
const SHIPPING_TURN: &str = "jushuitan.shipping";
/// Pages read of one query by number at most (a split order answers one record per
/// parcel).
const MAX_PAGES: i64 = 20;

/// Records what Jushuitan has shipped of this shop's orders awaiting shipment: what it
/// changed to `Sent` since the last run, then the next orders in turn. Both parts run
/// even when the first fails. Only this shop's orders are asked for and taken. Answers
/// the parcels recorded.
pub async fn pull_shipping(sync: &JstSync) -> Result<usize, JstSyncError> {
    let since = pull_shipped_since(sync).await;
    let in_turn = pull_awaiting_in_turn(sync).await;
    Ok(since? + in_turn?)
}

/// Records the parcels Jushuitan changed to `Sent` since the last run (windows of its
/// modified times, see [`super::windows`]), a page at a time. Parcels of orders that are
/// not this shop's or no longer await shipment are passed over.
pub async fn pull_shipped_since(sync: &JstSync) -> Result<usize, JstSyncError> {
    let mut changed = ChangedSince::start(sync, &SHIPPED_SINCE).await?;
    let mut recorded = 0;
    while let Some(records) = changed.next_page().await? {
        recorded += record_shipped(sync, &records).await?;
    }
    Ok(recorded)
}

/// Records the shipped parcels among `records` of the shop's orders still awaiting
/// shipment. Answers the parcels that were new.
async fn record_shipped(sync: &JstSync, records: &[Value]) -> Result<usize, JstSyncError> {
    let shop_id = sync.shop.id;
    let mut parcels = parcels_of(sync, records);
    if parcels.is_empty() {
        return Ok(0);
    }
    let numbers: Vec<String> = parcels.keys().cloned().collect();
    let awaiting = sync
        .db
        .run(move |conn| shop_orders::awaiting_shipment_among(conn, shop_id, &numbers))
        .await?;
    parcels.retain(|so_id, _| awaiting.contains(so_id));
    record(sync, parcels).await
}

/// Records the next orders awaiting shipment in turn, up to [`MAX_AWAITING`] asked about
/// by number (by placing time, from where the last run stopped, round to the first
/// again), so every one comes round however many wait: a thousand pre-orders that ship
/// next week do not hide today's.
pub async fn pull_awaiting_in_turn(sync: &JstSync) -> Result<usize, JstSyncError> {
    let shop_id = sync.shop.id;
    let TurnPart { waiting, next } = sync.db.run(move |conn| next_in_turn(conn, shop_id)).await?;
    let mut shipped = 0;
    for chunk in waiting.chunks(QUERY_BATCH) {
        let records = query_orders(sync, chunk).await?;
        shipped += record(sync, parcels_of(sync, &records)).await?;
    }
    // The turn moves on once what was asked is recorded: a run that fails asks again.
    sync.db
        .run(move |conn| match next {
            Some(position) => cursors::advance_to_order(conn, shop_id, SHIPPING_TURN, position),
            None => cursors::reset(conn, shop_id, SHIPPING_TURN),
        })
        .await?;
    Ok(shipped)
}

/// Records each order's parcels, one transaction an order; an order a shop rule refuses
/// (a parcel of more than is left to ship, a refunded line) is told in the log and the
/// rest are recorded. Answers the parcels that were new.
async fn record(
    sync: &JstSync,
    parcels: BTreeMap<String, Vec<Parcel>>,
) -> Result<usize, JstSyncError> {
    let shop_id = sync.shop.id;
    let mut shipped = 0;
    for (so_id, parcels) in parcels {
        let order = so_id.clone();
        let outcome = sync
            .db
            .run(move |conn| {
                ship_parcels(
                    conn,
                    shop_id,
                    &so_id,
                    &parcels,
                    ShipmentSource::Jushuitan,
                    "items",
                )
            })
            .await;
        match outcome {
            Ok(count) => shipped += count,
            Err(ShopError::Rejected { field, message }) => {
                tracing::warn!(shop = %sync.shop.code, %order, %field, %message, "shipment from jushuitan not recorded");
            }
            Err(other) => return Err(other.into()),
        }
    }
    Ok(shipped)
}

/// The shipped parcels among `records`, by online order number.
fn parcels_of(sync: &JstSync, records: &[Value]) -> BTreeMap<String, Vec<Parcel>> {
    let mut parcels: BTreeMap<String, Vec<Parcel>> = BTreeMap::new();
    for record in records {
        if let Some((so_id, parcel)) = shipped_parcel(record, sync) {
            parcels.entry(so_id).or_default().push(parcel);
        }
    }
    parcels
}

/// One run's part of the turn through the orders awaiting shipment.
struct TurnPart {
    /// The numbers of the orders Jushuitan can be asked about (it has taken their latest
    /// state).
    waiting: Vec<String>,
    /// The place of the last order looked at; `None`: the turn is over, the next starts
    /// from the first.
    next: Option<(NaiveDateTime, i64)>,
}

/// The next orders in turn, up to [`MAX_AWAITING`] to ask about.
fn next_in_turn(conn: &mut DbConnection, shop_id: i64) -> Result<TurnPart, ShopError> {
    let start = cursors::order_position(conn, shop_id, SHIPPING_TURN)?;
    let (mut after, mut wrapped) = (start, false);
    let (mut waiting, mut looked) = (Vec::new(), 0);
    loop {
        let batch = shop_orders::awaiting_shipment_after(
            conn,
            shop_id,
            Target::Jushuitan,
            after,
            i64::try_from(MAX_AWAITING).unwrap_or(i64::MAX),
        )?;
        let ended = batch.len() < MAX_AWAITING;
        for order in batch {
            // Round to where this run began: every order was looked at.
            if wrapped && start.is_some_and(|start| order.position() >= start) {
                return Ok(TurnPart {
                    waiting,
                    next: after,
                });
            }
            looked += 1;
            after = Some(order.position());
            if order.taken {
                waiting.push(order.plat_order_no);
                if waiting.len() == MAX_AWAITING {
                    return Ok(TurnPart {
                        waiting,
                        next: after,
                    });
                }
            }
        }
        if ended {
            // The end: on from the first, unless this run began there.
            if wrapped || start.is_none() {
                return Ok(TurnPart {
                    waiting,
                    next: None,
                });
            }
            (after, wrapped) = (None, true);
        } else if looked >= MAX_LOOKED_AT {
            return Ok(TurnPart {
                waiting,
                next: after,
            });
        }
    }
}

/// Every order record Jushuitan holds for these online numbers in this shop, page by page.
async fn query_orders(sync: &JstSync, so_ids: &[String]) -> Result<Vec<Value>, JstSyncError> {
    let mut records = Vec::new();
    for index in 1..=MAX_PAGES {
        let biz = json!({"shop_id": sync.config.shop_id, "so_ids": so_ids,
                         "page_index": index, "page_size": PAGE_SIZE});
        let data = sync.session.call(Operation::QueryOrders, &biz).await?;
        let page = Page::read(data, "orders");
        let last = !page.has_next || page.records.is_empty();
        records.extend(page.records);
        if last {
            break;
        }
    }
    Ok(records)
}

/// The items of a parcel's record: an order record without items stands for everything
/// its order has left to ship (an empty list); `None` when it lists items of which none
/// names its line (sub-order number or SKU) with a quantity, which must not be taken for
/// the whole order.
fn parcel_items(record: &Value) -> Option<Vec<ParcelItem>> {
    let listed = record
        .get("items")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let items: Vec<ParcelItem> = listed
        .iter()
        .map(|item| ParcelItem {
            sub_order_no: Some(field(item, "outer_oi_id")).filter(|sub| !sub.is_empty()),
            outer_id: field(item, "sku_id"),
            quantity: count(item.get("qty")),
        })
        .filter(|item| {
            item.quantity > 0 && (item.sub_order_no.is_some() || !item.outer_id.is_empty())
        })
        .collect();
    (listed.is_empty() || !items.is_empty()).then_some(items)
}

/// The parcel an order record stands for, when it is this shop's and shipped.
fn shipped_parcel(record: &Value, sync: &JstSync) -> Option<(String, Parcel)> {
    let text = |name: &str| record.get(name).map(value_text).unwrap_or_default();
    let so_id = text("so_id");
    if !sync.holds(record) {
        tracing::warn!(shop = %sync.shop.code, %so_id, other = %text("shop_id"), "jushuitan answered another shop's order; ignored");
        return None;
    }
    if text("status") != SHIPPED {
        return None;
    }
    let tracking = field(record, "l_id");
    if tracking.is_empty() {
        tracing::warn!(shop = %sync.shop.code, %so_id, o_id = %text("o_id"), "jushuitan reports the order sent without a waybill number; not recorded");
        return None;
    }
    let company = text("logistics_company");
    let code = carriers::code_for_partner(&text("lc_id"), &company).unwrap_or_default();
    let name = if company.trim().is_empty() {
        carriers::carrier_name(&code).unwrap_or_default().to_owned()
    } else {
        company.trim().to_owned()
    };
    let Some(items) = parcel_items(record) else {
        tracing::warn!(shop = %sync.shop.code, %so_id, o_id = %text("o_id"), "jushuitan lists the parcel's items without a usable SKU and quantity; not recorded");
        return None;
    };
    Some((
        so_id,
        Parcel {
            logistic_type: code,
            logistic_name: name,
            logistic_no: tracking,
            items,
        },
    ))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::parcel_items;
    use crate::shop::parcels::ParcelItem;

    fn item(sub: Option<&str>, sku: &str, quantity: i64) -> ParcelItem {
        ParcelItem {
            sub_order_no: sub.map(str::to_owned),
            outer_id: sku.to_owned(),
            quantity,
        }
    }

    #[test]
    fn items_are_read_as_the_after_sales_are_trimmed_and_counted() {
        let record = json!({"items": [
            {"outer_oi_id": " SP-B-1 ", "sku_id": " sd0001 ", "qty": "2"},
            {"outer_oi_id": "", "sku_id": "sd0002", "qty": 1},
            {"outer_oi_id": "SP-B-3", "sku_id": "", "qty": 1.0},
            {"outer_oi_id": "", "sku_id": "sd0004", "qty": 0},
        ]});
        assert_eq!(
            parcel_items(&record),
            Some(vec![
                item(Some("SP-B-1"), "sd0001", 2),
                item(None, "sd0002", 1),
                item(Some("SP-B-3"), "", 1),
            ])
        );
    }

    #[test]
    fn listed_items_none_of_them_usable_are_not_the_whole_order() {
        // No items: the record stands for everything its order has left to ship.
        assert_eq!(parcel_items(&json!({"so_id": "A"})), Some(Vec::new()));
        assert_eq!(parcel_items(&json!({"items": []})), Some(Vec::new()));
        // Items listed but none usable: refused rather than read as the whole order.
        for items in [
            json!([{"sku_id": "sd0001", "qty": "two"}]),
            json!([{"sku_id": "", "outer_oi_id": "", "qty": 1}]),
            json!([{"sku_id": "sd0001"}]),
        ] {
            assert_eq!(parcel_items(&json!({ "items": items })), None, "{items}");
        }
    }
}
