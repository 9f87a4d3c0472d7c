//! What Jushuitan has really shipped, recorded as the shop's shipments (as a split
//! Polyapi Send would): each order or split-off parcel in the shipped state `Sent` is a
//! parcel with its own items and waybill; any other state (WaitConfirm, Delivering,
//! Question…) changes nothing, waybill or not.
//!
//! A run finds shipments two ways. First it asks what Jushuitan changed to `Sent` since
//! the last run, in windows of its modified times from a cursor: that costs what shipped,
//! so on a sale's shipping day every parcel is recorded within a run or two however many
//! orders wait. Then it asks about the next of the orders still awaiting shipment by
//! number, in turn: that finds what a window cannot (a parcel Jushuitan changed again
//! while its window was being paged, one shipped before the first run, a clock that
//! drifted), at the pace of a thousand orders a run.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDateTime, Timelike};
use serde_json::{json, Value};

use super::client::{value_text, Operation, MAX_WINDOW_DAYS};
use super::sync::JstSync;
use super::JstSyncError;
use crate::db::DbConnection;
use crate::outbox::Target;
use crate::shop::parcels::{ship_parcels, Parcel, ParcelItem};
use crate::shop::shipments::ShipmentSource;
use crate::shop::{carriers, cursors, orders as shop_orders, ShopError};
use crate::time::{format_shop_time, now_utc};

/// Records per page of a query (Jushuitan answers at most 50).
const PAGE_SIZE: i64 = 50;
/// Jushuitan's order status once the goods have left (已发货).
const SHIPPED: &str = "Sent";

/// The window pull's place: the end of the last window read.
const SHIPPED_SINCE: &str = "jushuitan.shipped";
/// How far behind now a window ends: Jushuitan keeps whole seconds and shows a change
/// to queries a moment after it is made, so the last minute is read by the next run.
const SETTLE_SECS: i64 = 60;
/// Records one window is read with at most; a window holding more is halved.
const MAX_WINDOW_RECORDS: i64 = 5_000;
/// The shortest window: one holding more than [`MAX_WINDOW_RECORDS`] is read whole.
const MIN_WINDOW_SECS: i64 = 60;
/// Window pages read per run (the rest waits for the next run), unless the first
/// window of the run alone needs more.
const MAX_RUN_PAGES: i64 = 400;
/// Pages of one window read at most, whatever Jushuitan says it holds.
const MAX_WINDOW_PAGES: i64 = 2_000;

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

/// Records the parcels Jushuitan changed to `Sent` since the stored cursor (the last 7
/// days on the first run), in windows of at most 7 days ending a minute ago, each halved
/// while it holds more than [`MAX_WINDOW_RECORDS`] records and recorded a page at a time.
/// The cursor moves after each window is read, so a run that fails reads its window
/// again. Parcels of orders that are not this shop's or no longer await shipment are
/// passed over.
pub async fn pull_shipped_since(sync: &JstSync) -> Result<usize, JstSyncError> {
    let shop_id = sync.shop.id;
    let until = whole_second(now_utc() - Duration::seconds(SETTLE_SECS));
    let stored = sync
        .db
        .run(move |conn| cursors::position(conn, shop_id, SHIPPED_SINCE))
        .await?;
    let mut start = stored.unwrap_or(until - Duration::days(MAX_WINDOW_DAYS));
    let (mut pages_left, mut recorded, mut first_window) = (MAX_RUN_PAGES, 0, true);
    while start < until && pages_left > 0 {
        let mut end = (start + Duration::days(MAX_WINDOW_DAYS)).min(until);
        let first = loop {
            let page = query_page(sync, &window_biz(sync, start, end, 1)).await?;
            pages_left -= 1;
            match narrower(start, end, page.data_count) {
                Some(shorter) => end = shorter,
                None => break page,
            }
        };
        let pages = first.data_count.map(pages_of);
        // A window that does not fit in what is left of the run waits for the next run,
        // unless it is the run's first.
        if !first_window && pages.unwrap_or(1) > pages_left {
            break;
        }
        recorded += record_shipped(sync, &first.orders).await?;
        match pages {
            // From the last page back to the first, the first read again: an order that
            // leaves the window while it is read (changed again, as the upload of its
            // recorded shipment does) moves the ones after it back a place, onto pages
            // still to be read, so none is passed over.
            Some(pages) if pages > 1 => {
                for index in (1..=pages.min(MAX_WINDOW_PAGES)).rev() {
                    let page = query_page(sync, &window_biz(sync, start, end, index)).await?;
                    pages_left -= 1;
                    recorded += record_shipped(sync, &page.orders).await?;
                }
                if pages > MAX_WINDOW_PAGES {
                    tracing::warn!(shop = %sync.shop.code, from = %start, to = %end, pages, "jushuitan holds more shipped orders in this window than are read; the rest are found in turn");
                }
            }
            Some(_) => {}
            // Jushuitan did not say how many: page on while it says more follow.
            None => {
                let (mut more, mut index) = (first.has_next && !first.orders.is_empty(), 1);
                while more && index < MAX_WINDOW_PAGES {
                    index += 1;
                    let page = query_page(sync, &window_biz(sync, start, end, index)).await?;
                    pages_left -= 1;
                    more = page.has_next && !page.orders.is_empty();
                    recorded += record_shipped(sync, &page.orders).await?;
                }
            }
        }
        sync.db
            .run(move |conn| cursors::advance(conn, shop_id, SHIPPED_SINCE, end))
            .await?;
        (start, first_window) = (end, false);
    }
    Ok(recorded)
}

/// Pages of [`PAGE_SIZE`] that `records` take, at least one.
fn pages_of(records: i64) -> i64 {
    ((records + PAGE_SIZE - 1) / PAGE_SIZE).max(1)
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

/// The end of a window narrowed for `records` (what Jushuitan says the window from
/// `start` to `end` holds), or `None` when it is read as it is: it holds few enough, or
/// it is as short as a window gets, or Jushuitan did not say.
fn narrower(
    start: NaiveDateTime,
    end: NaiveDateTime,
    records: Option<i64>,
) -> Option<NaiveDateTime> {
    let span = (end - start).num_seconds();
    let busy = records.is_some_and(|count| count > MAX_WINDOW_RECORDS);
    (busy && span > MIN_WINDOW_SECS)
        .then(|| start + Duration::seconds((span / 2).max(MIN_WINDOW_SECS)))
}

/// `at` without its fraction of a second: Jushuitan's windows are in whole seconds.
fn whole_second(at: NaiveDateTime) -> NaiveDateTime {
    at.with_nanosecond(0).unwrap_or(at)
}

/// The query of page `index` of the orders this shop's Jushuitan changed to `Sent`
/// between `start` and `end`.
fn window_biz(sync: &JstSync, start: NaiveDateTime, end: NaiveDateTime, index: i64) -> Value {
    let offset = sync.shop.offset();
    json!({"shop_id": sync.config.shop_id, "status": SHIPPED,
           "modified_begin": format_shop_time(start, offset),
           "modified_end": format_shop_time(end, offset),
           "page_index": index, "page_size": PAGE_SIZE})
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

/// One page of an orders.single.query answer.
struct Page {
    /// The order records on it.
    orders: Vec<Value>,
    /// Whether a page follows.
    has_next: bool,
    /// How many records the query holds in all, when Jushuitan says.
    data_count: Option<i64>,
}

/// One page of orders.single.query.
async fn query_page(sync: &JstSync, biz: &Value) -> Result<Page, JstSyncError> {
    let data = sync.session.call(Operation::QueryOrders, biz).await?;
    Ok(Page {
        orders: data
            .get("orders")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default(),
        has_next: data
            .get("has_next")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        data_count: data
            .get("data_count")
            .map(value_text)
            .and_then(|count| count.trim().parse().ok()),
    })
}

/// Every order record Jushuitan holds for these online numbers in this shop, page by page.
async fn query_orders(sync: &JstSync, so_ids: &[String]) -> Result<Vec<Value>, JstSyncError> {
    let mut records = Vec::new();
    for index in 1..=MAX_PAGES {
        let biz = json!({"shop_id": sync.config.shop_id, "so_ids": so_ids,
                         "page_index": index, "page_size": PAGE_SIZE});
        let page = query_page(sync, &biz).await?;
        let last = !page.has_next || page.orders.is_empty();
        records.extend(page.orders);
        if last {
            break;
        }
    }
    Ok(records)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").expect("time")
    }

    #[test]
    fn a_busy_window_is_halved_down_to_a_minute() {
        let start = at("2026-11-11 00:00:00");
        let week = at("2026-11-18 00:00:00");
        // Few enough, or not said: read as it is.
        assert_eq!(narrower(start, week, Some(MAX_WINDOW_RECORDS)), None);
        assert_eq!(narrower(start, week, None), None);
        // Too many: half.
        assert_eq!(
            narrower(start, week, Some(MAX_WINDOW_RECORDS + 1)),
            Some(at("2026-11-14 12:00:00"))
        );
        // Never below a minute, and a minute is read whole.
        let odd = at("2026-11-11 00:01:30");
        assert_eq!(
            narrower(start, odd, Some(1_000_000)),
            Some(at("2026-11-11 00:01:00"))
        );
        let minute = at("2026-11-11 00:01:00");
        assert_eq!(narrower(start, minute, Some(1_000_000)), None);
        // Halving a week that stays busy ends at a minute in about fourteen steps.
        let (mut end, mut steps) = (week, 0);
        while let Some(shorter) = narrower(start, end, Some(1_000_000)) {
            end = shorter;
            steps += 1;
        }
        assert_eq!((end - start).num_seconds(), MIN_WINDOW_SECS);
        assert!(steps <= 14, "{steps}");
        assert!(steps < MAX_RUN_PAGES);
    }

    #[test]
    fn windows_are_in_whole_seconds() {
        let precise = at("2026-11-11 10:00:00") + Duration::milliseconds(700);
        assert_eq!(whole_second(precise), at("2026-11-11 10:00:00"));
    }
}
