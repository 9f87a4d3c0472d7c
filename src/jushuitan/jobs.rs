//! The four jobs a shop runs against Jushuitan: push orders (outbox), pull stock, pull
//! shipping, pull refunds.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::{json, Value};

use super::after_sales::{after_sale_from, shop_of};
use super::client::{value_text, Operation};
use super::mapping::upload_order;
use super::session::{Session, SyncError};
use crate::config::JushuitanShopConfig;
use crate::db::schema::{orders, outbox as outbox_rows, sync_cursors};
use crate::db::{Database, DbError};
use crate::outbox::{self, Claimed, Kind, Target};
use crate::shop::after_sales::{self, AfterSale};
use crate::shop::codes::TradeStatus;
use crate::shop::parcels::{ship_parcels, Parcel, ParcelItem};
use crate::shop::shipments::ShipmentSource;
use crate::shop::shops::Shop;
use crate::shop::time::now_utc;
use crate::shop::time::shop_offset;
use crate::shop::{carriers, orders as shop_orders, stock, ShopError};

/// Orders per orders.upload call.
const UPLOAD_BATCH: i64 = 50;
/// How long a claimed batch is ours before another worker may take it: three call
/// timeouts, so a live worker always settles first and a killed one is taken over soon.
fn lease(config: &JushuitanShopConfig) -> Duration {
    Duration::from_secs(config.timeout_secs.saturating_mul(3).max(1))
}
/// Orders per orders.single.query call.
const QUERY_BATCH: usize = 50;
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

/// Everything a job of one shop needs.
#[derive(Debug)]
pub struct ShopSync {
    /// The shop database.
    pub db: Database,
    /// The shop.
    pub shop: Shop,
    /// Its Jushuitan settings.
    pub config: JushuitanShopConfig,
    /// Its session.
    pub session: Session,
    /// Who claims outbox rows (host and process).
    pub owner: String,
}

/// What a push did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PushReport {
    /// Orders Jushuitan took.
    pub sent: usize,
    /// Orders Jushuitan refused (retried later, dead after the configured attempts).
    pub refused: usize,
    /// Orders held because they break Jushuitan's rules.
    pub held: usize,
    /// Orders whose batch failed in transport or by rate limit (retried later).
    pub deferred: usize,
}

/// Drains the shop's due order rows in batches; each order's own result settles its row.
pub async fn push_orders(sync: &ShopSync) -> Result<PushReport, SyncError> {
    let mut report = PushReport::default();
    let offset = shop_offset(&sync.shop);
    let shop_id = sync.shop.id;
    let max_attempts = sync.config.max_attempts;
    let lease = lease(&sync.config);
    loop {
        let owner = sync.owner.clone();
        let claimed = sync
            .db
            .run(move |conn| {
                outbox::claim(
                    conn,
                    shop_id,
                    Target::Jushuitan,
                    Kind::Order,
                    &owner,
                    UPLOAD_BATCH,
                    lease,
                )
            })
            .await?;
        if claimed.is_empty() {
            return Ok(report);
        }
        let numbers: Vec<String> = claimed.iter().map(|c| c.subject.clone()).collect();
        let records = sync
            .db
            .run(move |conn| {
                numbers
                    .iter()
                    .map(|no| shop_orders::find(conn, shop_id, no).map(|found| (no.clone(), found)))
                    .collect::<Result<HashMap<_, _>, _>>()
            })
            .await?;
        let mut batch = Vec::new();
        let mut waiting: HashMap<String, Claimed> = HashMap::new();
        let mut held: Vec<(Claimed, String)> = Vec::new();
        for row in claimed {
            match records.get(&row.subject).and_then(Option::as_ref) {
                None => held.push((row, "the order no longer exists".to_owned())),
                Some(record) => match upload_order(record, sync.config.shop_id, offset) {
                    Ok(document) => {
                        batch.push(document);
                        waiting.insert(row.subject.clone(), row);
                    }
                    Err(reason) => held.push((row, reason)),
                },
            }
        }
        report.held += held.len();
        for (row, reason) in &held {
            tracing::warn!(shop = %sync.shop.code, order = %row.subject, %reason, "order held: not sent to jushuitan");
        }
        sync.db
            .run(move |conn| {
                for (row, reason) in &held {
                    outbox::hold(conn, row, reason)?;
                }
                Ok::<_, SyncError>(())
            })
            .await?;
        if batch.is_empty() {
            continue;
        }
        let answer = sync
            .session
            .call(Operation::UploadOrders, &Value::Array(batch))
            .await;
        // Each row with `None` (taken) or the error of its attempt (retried with backoff).
        let mut settle: Vec<(Claimed, Option<String>)> = Vec::new();
        let mut stop = false;
        match answer {
            Ok(data) => {
                let results = data
                    .get("datas")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                for result in results {
                    let so_id = result.get("so_id").map(value_text).unwrap_or_default();
                    let Some(row) = waiting.remove(&so_id) else {
                        continue;
                    };
                    if result
                        .get("issuccess")
                        .and_then(Value::as_bool)
                        .unwrap_or(false)
                    {
                        report.sent += 1;
                        settle.push((row, None));
                    } else {
                        report.refused += 1;
                        let msg = result.get("msg").map(value_text).unwrap_or_default();
                        settle.push((row, Some(format!("jushuitan refused the order: {msg}"))));
                    }
                }
                for (_, row) in waiting.drain() {
                    report.deferred += 1;
                    settle.push((
                        row,
                        Some("jushuitan answered no result for this order".to_owned()),
                    ));
                }
            }
            Err(SyncError::Remote(error)) => {
                tracing::warn!(shop = %sync.shop.code, %error, "order push failed; will retry");
                report.deferred += waiting.len();
                for (_, row) in waiting.drain() {
                    settle.push((row, Some(error.to_string())));
                }
                stop = true;
            }
            Err(other) => return Err(other),
        }
        sync.db
            .run(move |conn| {
                for (row, outcome) in &settle {
                    match outcome {
                        None => outbox::complete(conn, row)?,
                        Some(error) => outbox::fail(conn, row, error, true, max_attempts)?,
                    }
                }
                Ok::<_, SyncError>(())
            })
            .await?;
        if stop {
            return Ok(report);
        }
    }
}

/// Reads available stock (`qty - order_lock`, at least 0) for every merchant code of the
/// shop and writes it to the matching SKUs and SKU-less products. Answers the codes updated.
pub async fn pull_stock(sync: &ShopSync) -> Result<usize, SyncError> {
    let shop_id = sync.shop.id;
    let codes = sync
        .db
        .run(move |conn| stock::outer_codes(conn, shop_id))
        .await?;
    let mut updated = 0;
    for chunk in codes.chunks(SKU_BATCH) {
        let data = sync
            .session
            .call(
                Operation::QueryInventory,
                &json!({"sku_ids": chunk.join(",")}),
            )
            .await?;
        let levels: Vec<(String, i64)> = data
            .get("inventorys")
            .and_then(Value::as_array)
            .map(|rows| {
                rows.iter()
                    .filter_map(|row| {
                        let sku = row.get("sku_id").map(value_text)?;
                        let qty = row.get("qty").and_then(Value::as_i64).unwrap_or(0);
                        let locked = row.get("order_lock").and_then(Value::as_i64).unwrap_or(0);
                        Some((sku, (qty - locked).max(0)))
                    })
                    .collect()
            })
            .unwrap_or_default();
        updated += sync
            .db
            .run(move |conn| {
                let mut count = 0;
                for (code, available) in &levels {
                    count += stock::set_by_outer_code(conn, shop_id, code, *available)?;
                }
                Ok::<_, ShopError>(count)
            })
            .await?;
    }
    Ok(updated)
}

/// For orders pushed to Jushuitan and still awaiting shipment, records what Jushuitan
/// has really shipped (as a split Polyapi Send would): each order or split-off parcel in
/// the shipped state `Sent` is a parcel with its own items and waybill; any other
/// state (WaitConfirm, Delivering, Question…) changes nothing, waybill or not. Only
/// this shop's orders are asked for and taken. Answers the parcels recorded.
pub async fn pull_shipping(sync: &ShopSync) -> Result<usize, SyncError> {
    let shop_id = sync.shop.id;
    let waiting: Vec<String> = sync
        .db
        .run(move |conn| {
            let pushed = outbox_rows::table
                .filter(outbox_rows::shop_id.eq(shop_id))
                .filter(outbox_rows::target.eq(Target::Jushuitan.code()))
                .filter(outbox_rows::kind.eq(Kind::Order.code()))
                .filter(outbox_rows::state.eq(outbox::State::Done.code()))
                .select(outbox_rows::subject);
            orders::table
                .filter(orders::shop_id.eq(shop_id))
                .filter(orders::trade_status.eq(TradeStatus::AwaitingShipment.code()))
                .filter(orders::plat_order_no.eq_any(pushed))
                .order(orders::id.asc())
                .select(orders::plat_order_no)
                .limit(1_000)
                .load(conn)
                .map_err(DbError::from)
        })
        .await?;
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
    Ok(shipped)
}

/// Every order record Jushuitan holds for these online numbers in this shop, page by page.
async fn query_orders(sync: &ShopSync, so_ids: &[String]) -> Result<Vec<Value>, SyncError> {
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
fn of_this_shop(record: &Value, sync: &ShopSync) -> bool {
    shop_of(record).is_none_or(|shop| shop.trim() == sync.config.shop_id.to_string())
}

/// The parcel an order record stands for, when it is this shop's and shipped.
fn shipped_parcel(record: &Value, sync: &ShopSync) -> Option<(String, Parcel)> {
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
pub async fn pull_refunds(sync: &ShopSync) -> Result<usize, SyncError> {
    const JOB: &str = "jushuitan.refunds";
    let shop_id = sync.shop.id;
    let offset = shop_offset(&sync.shop);
    let stored: Option<NaiveDateTime> = sync
        .db
        .run(move |conn| {
            sync_cursors::table
                .find((shop_id, JOB))
                .select(sync_cursors::position)
                .first(conn)
                .optional()
                .map_err(DbError::from)
        })
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
                "modified_begin": crate::shop::time::format_shop_time(start, offset),
                "modified_end": crate::shop::time::format_shop_time(end, offset),
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
                        tracing::warn!(shop = %sync.shop.code, other = ?shop_of(record), "jushuitan answered another shop's after-sale; ignored");
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
            .run(move |conn| {
                let moved = diesel::update(sync_cursors::table.find((shop_id, JOB)))
                    .set((
                        sync_cursors::position.eq(end),
                        sync_cursors::modified_at.eq(now_utc()),
                    ))
                    .execute(conn)?;
                if moved == 0 {
                    diesel::insert_into(sync_cursors::table)
                        .values((
                            sync_cursors::shop_id.eq(shop_id),
                            sync_cursors::job.eq(JOB),
                            sync_cursors::position.eq(end),
                            sync_cursors::modified_at.eq(now_utc()),
                        ))
                        .execute(conn)?;
                }
                Ok::<_, DbError>(())
            })
            .await?;
        start = end;
    }
    Ok(total)
}
