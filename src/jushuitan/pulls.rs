//! What the shop pulls from Jushuitan: available stock, real shipments, after-sales.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use serde_json::{json, Value};

use super::after_sales::{after_sale_from, shop_of};
use super::client::{value_text, Operation};
use super::sync::JstSync;
use super::JstSyncError;
use crate::db::DbConnection;
use crate::outbox::Target;
use crate::shop::after_sales::{self, AfterSale};
use crate::shop::parcels::{ship_parcels, Parcel, ParcelItem};
use crate::shop::shipments::ShipmentSource;
use crate::shop::{carriers, cursors, orders as shop_orders, stock, ShopError};
use crate::time::now_utc;

/// Orders per orders.single.query call.
const QUERY_BATCH: usize = 50;
/// Orders awaiting shipment asked about per run.
const MAX_AWAITING: usize = 1_000;
/// Orders awaiting shipment looked at per run at most, to find those to ask about (the
/// ones Jushuitan has not taken yet are passed over).
const MAX_LOOKED_AT: usize = 20_000;
/// The shipping pull's place in its turn through the orders awaiting shipment.
const SHIPPING_TURN: &str = "jushuitan.shipping";
/// Records per page of a query.
const PAGE_SIZE: i64 = 50;
/// Pages read of one query at most (a split order answers one record per parcel).
const MAX_PAGES: i64 = 20;
/// Jushuitan's order status once the goods have left (已发货).
const SHIPPED: &str = "Sent";
/// SKUs per inventory.query call.
const SKU_BATCH: usize = 100;
/// Longest window Jushuitan accepts.
const MAX_WINDOW_DAYS: i64 = 7;

/// Reads available stock (`qty - order_lock`, at least 0) for every merchant code of the
/// shop and writes it to the matching SKUs and SKU-less products. Answers how many
/// changed.
pub async fn pull_stock(sync: &JstSync) -> Result<usize, JstSyncError> {
    let (db, from) = (&sync.db, stock::StockSource::Jushuitan);
    stock::pull_levels(db, sync.shop.id, SKU_BATCH, from, |codes| async move {
        let data = sync
            .session
            .call(
                Operation::QueryInventory,
                &json!({"sku_ids": codes.join(",")}),
            )
            .await?;
        let rows = data
            .get("inventorys")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        Ok(rows
            .iter()
            .filter_map(|row| {
                let sku = row.get("sku_id").map(value_text)?;
                let qty = row.get("qty").and_then(Value::as_i64).unwrap_or(0);
                let locked = row.get("order_lock").and_then(Value::as_i64).unwrap_or(0);
                Some((sku, (qty - locked).max(0)))
            })
            .collect())
    })
    .await
}

/// For orders pushed to Jushuitan and still awaiting shipment, records what Jushuitan
/// has really shipped (as a split Polyapi Send would): each order or split-off parcel in
/// the shipped state `Sent` is a parcel with its own items and waybill; any other
/// state (WaitConfirm, Delivering, Question…) changes nothing, waybill or not. Only
/// this shop's orders are asked for and taken. Answers the parcels recorded.
///
/// A run asks about the next [`MAX_AWAITING`] of those orders in turn (by placing time,
/// from where the last run stopped, round to the first again), so every one comes round
/// however many wait: a thousand pre-orders that ship next week do not hide today's.
pub async fn pull_shipping(sync: &JstSync) -> Result<usize, JstSyncError> {
    let shop_id = sync.shop.id;
    let TurnPart { waiting, next } = sync.db.run(move |conn| next_in_turn(conn, shop_id)).await?;
    let mut shipped = 0;
    for chunk in waiting.chunks(QUERY_BATCH) {
        let mut parcels: BTreeMap<String, Vec<Parcel>> = BTreeMap::new();
        for record in query_orders(sync, chunk).await? {
            if let Some((so_id, parcel)) = shipped_parcel(&record, sync) {
                parcels.entry(so_id).or_default().push(parcel);
            }
        }
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
    for page in 1..=MAX_PAGES {
        let biz = json!({"shop_id": sync.config.shop_id, "so_ids": so_ids,
                         "page_index": page, "page_size": PAGE_SIZE});
        let data = sync.session.call(Operation::QueryOrders, &biz).await?;
        let found = data
            .get("orders")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let more = data
            .get("has_next")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let empty = found.is_empty();
        records.extend(found);
        if !more || empty {
            break;
        }
    }
    Ok(records)
}

/// Whether a record belongs to this shop: Jushuitan's `shop_id` when it says one.
fn of_this_shop(record: &Value, sync: &JstSync) -> bool {
    shop_of(record).is_none_or(|shop| shop.trim() == sync.config.shop_id.to_string())
}

/// The parcel an order record stands for, when it is this shop's and shipped.
fn shipped_parcel(record: &Value, sync: &JstSync) -> Option<(String, Parcel)> {
    let text = |name: &str| record.get(name).map(value_text).unwrap_or_default();
    let so_id = text("so_id");
    if !of_this_shop(record, sync) {
        tracing::warn!(shop = %sync.shop.code, %so_id, other = %text("shop_id"), "jushuitan answered another shop's order; ignored");
        return None;
    }
    if text("status") != SHIPPED {
        return None;
    }
    let tracking = text("l_id").trim().to_owned();
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
    let items = record
        .get("items")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .map(|item| {
                    let field = |name: &str| item.get(name).map(value_text).unwrap_or_default();
                    ParcelItem {
                        sub_order_no: Some(field("outer_oi_id")).filter(|sub| !sub.is_empty()),
                        outer_id: field("sku_id"),
                        quantity: item.get("qty").and_then(Value::as_i64).unwrap_or(0),
                    }
                })
                .filter(|item| item.quantity > 0)
                .collect()
        })
        .unwrap_or_default();
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

/// Reads this shop's after-sale records changed since the stored cursor, in windows of
/// at most 7 days, into the shop's after-sales (returns and refunds also into its
/// refunds); the cursor moves only after a window is stored.
pub async fn pull_refunds(sync: &JstSync) -> Result<usize, JstSyncError> {
    const JOB: &str = "jushuitan.refunds";
    let shop_id = sync.shop.id;
    let offset = sync.shop.offset();
    let stored = sync
        .db
        .run(move |conn| cursors::position(conn, shop_id, JOB))
        .await?;
    let now = now_utc();
    let mut start = stored.unwrap_or(now - chrono::Duration::days(MAX_WINDOW_DAYS));
    let mut total = 0;
    while start < now {
        let end = (start + chrono::Duration::days(MAX_WINDOW_DAYS)).min(now);
        let mut page = 1;
        loop {
            let biz = json!({
                "shop_id": sync.config.shop_id,
                "modified_begin": crate::time::format_shop_time(start, offset),
                "modified_end": crate::time::format_shop_time(end, offset),
                "page_index": page,
                "page_size": 50,
            });
            let data = sync.session.call(Operation::QueryRefunds, &biz).await?;
            let records = data
                .get("datas")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let items: Vec<AfterSale> = records
                .iter()
                .filter(|record| {
                    let ours = of_this_shop(record, sync);
                    if !ours {
                        tracing::warn!(shop = %sync.shop.code, other = %shop_of(record).unwrap_or_default(), "jushuitan answered another shop's after-sale; ignored");
                    }
                    ours
                })
                .filter_map(|record| after_sale_from(record, offset))
                .collect();
            total += items.len();
            if !items.is_empty() {
                sync.db
                    .run(move |conn| after_sales::record(conn, shop_id, &items))
                    .await?;
            }
            if !data
                .get("has_next")
                .and_then(Value::as_bool)
                .unwrap_or(false)
                || records.is_empty()
            {
                break;
            }
            page += 1;
        }
        sync.db
            .run(move |conn| cursors::advance(conn, shop_id, JOB, end))
            .await?;
        start = end;
    }
    Ok(total)
}
