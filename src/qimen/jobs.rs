//! The warehouse jobs: push items, delivery orders and cancellations through the
//! outbox, and pull stock.

use std::sync::Arc;
use std::time::Duration;

use chrono::FixedOffset;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::client::{WmsClient, WmsError};
use super::requests::{
    to_document, Criteria, CriteriaList, DeliveryOrder, DeliveryOrderCreate, InventoryQuery, Item,
    ItemSynchronize, OrderCancel, OrderLine, OrderLines, Party,
};
use crate::config::{WmsShopConfig, WMS_MAX_ADDRESS as MAX_ADDRESS, WMS_MAX_REGION as MAX_REGION};
use crate::db::Database;
use crate::outbox::{self, Claimed, Kind, Target};
use crate::shop::amounts::{own_amounts, paid_amounts};
use crate::shop::codes::RefundStatus;
use crate::shop::orders::{self, OrderRecord};
use crate::shop::products::{self, ProductRecord};
use crate::shop::shops::Shop;
use crate::shop::time::format_shop_time;
use crate::shop::time::now_utc;
use crate::shop::time::shop_offset;
use crate::shop::{stock, ShopError};

/// Rows claimed per step.
const BATCH: i64 = 20;
/// Item codes per inventory.query.
const STOCK_BATCH: usize = 50;

/// Failures of a warehouse job step.
#[derive(Debug, thiserror::Error)]
pub enum WmsSyncError {
    /// The warehouse failed or refused.
    #[error("warehouse: {0}")]
    Remote(#[from] WmsError),
    /// The shop database failed.
    #[error(transparent)]
    Shop(#[from] ShopError),
    /// The outbox failed.
    #[error(transparent)]
    Outbox(#[from] outbox::OutboxError),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] crate::db::DbError),
}

/// Everything a warehouse job of one shop needs.
#[derive(Debug)]
pub struct WmsSync {
    /// The shop database.
    pub db: Database,
    /// The shop.
    pub shop: Shop,
    /// Its warehouse settings.
    pub config: WmsShopConfig,
    /// The client.
    pub client: WmsClient,
    /// Who claims outbox rows.
    pub owner: String,
}

/// What a push did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WmsReport {
    /// Documents the warehouse took.
    pub sent: usize,
    /// Refused by the warehouse (dead, with its message).
    pub refused: usize,
    /// Held locally: the document would break the warehouse's rules.
    pub held: usize,
    /// Failed in transport (retried later).
    pub deferred: usize,
}

impl WmsSync {
    /// Everything the jobs of `shop` need.
    pub fn new(db: Database, shop: Shop, config: WmsShopConfig) -> Result<Self, WmsError> {
        let client = WmsClient::new(&config)?;
        Ok(Self {
            db,
            shop,
            config,
            client,
            owner: crate::schedule::worker_name(),
        })
    }

    fn offset(&self) -> FixedOffset {
        shop_offset(&self.shop)
    }

    fn timestamp(&self) -> String {
        format_shop_time(now_utc(), self.offset())
    }
}

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

/// Settles one row by the outcome of its calls.
async fn settle(
    sync: &WmsSync,
    row: Claimed,
    outcome: Result<(), Result<WmsError, String>>,
    report: &mut WmsReport,
) -> Result<(), WmsSyncError> {
    let max = sync.config.max_attempts;
    match &outcome {
        Ok(()) => report.sent += 1,
        Err(Err(_)) => report.held += 1,
        Err(Ok(error)) if error.is_transient() => report.deferred += 1,
        Err(Ok(_)) => report.refused += 1,
    }
    sync.db
        .run(move |conn| match outcome {
            Ok(()) => outbox::complete(conn, &row),
            Err(Err(reason)) => outbox::hold(conn, &row, &reason),
            Err(Ok(error)) => {
                outbox::fail(conn, &row, &error.to_string(), error.is_transient(), max)
            }
        })
        .await?;
    Ok(())
}

async fn claim(sync: &WmsSync, kind: Kind) -> Result<Vec<Claimed>, WmsSyncError> {
    let (shop_id, owner) = (sync.shop.id, sync.owner.clone());
    let lease = Duration::from_secs(sync.config.timeout_secs.saturating_mul(3).max(1));
    Ok(sync
        .db
        .run(move |conn| outbox::claim(conn, shop_id, Target::Wms, kind, &owner, BATCH, lease))
        .await?)
}

/// Sends changed products as singleitem.synchronize.
pub async fn push_items(sync: &WmsSync) -> Result<WmsReport, WmsSyncError> {
    let mut report = WmsReport::default();
    loop {
        let rows = claim(sync, Kind::Item).await?;
        if rows.is_empty() {
            return Ok(report);
        }
        for row in rows {
            let (shop_id, id) = (sync.shop.id, row.subject.clone());
            let product = sync
                .db
                .run(move |conn| products::find(conn, shop_id, &id))
                .await?;
            let outcome = match product {
                None => Err(Err("the product no longer exists".to_owned())),
                Some(product) => match item_documents(
                    &product,
                    &sync.config,
                    if row.version == 1 { "add" } else { "update" },
                ) {
                    Err(reason) => Err(Err(reason)),
                    Ok(documents) => {
                        let mut result = Ok(());
                        for document in documents {
                            if let Err(error) = sync
                                .client
                                .call("singleitem.synchronize", &document, &sync.timestamp())
                                .await
                            {
                                result = Err(Ok(error));
                                break;
                            }
                        }
                        result
                    }
                },
            };
            settle(sync, row, outcome, &mut report).await?;
        }
    }
}

/// Sends paid orders as deliveryorder.create and closed or refunded ones as order.cancel.
pub async fn push_orders(sync: &WmsSync) -> Result<WmsReport, WmsSyncError> {
    let mut report = WmsReport::default();
    for kind in [Kind::DeliveryOrder, Kind::Cancel] {
        loop {
            let rows = claim(sync, kind).await?;
            if rows.is_empty() {
                break;
            }
            for row in rows {
                let (shop_id, no) = (sync.shop.id, row.subject.clone());
                let order = sync
                    .db
                    .run(move |conn| orders::find(conn, shop_id, &no))
                    .await?;
                let (method, document) = match (kind, order) {
                    (_, None) => ("", Err("the order no longer exists".to_owned())),
                    (Kind::Cancel, Some(order)) => (
                        "order.cancel",
                        to_document(&OrderCancel {
                            warehouse_code: sync.config.warehouse_code.clone(),
                            owner_code: sync.config.owner_code.clone(),
                            order_code: order.header.plat_order_no.clone(),
                            order_type: "JYCK".to_owned(),
                            cancel_reason: "订单已关闭或已全额退款".to_owned(),
                        }),
                    ),
                    (_, Some(order)) => (
                        "deliveryorder.create",
                        delivery_order(&order, &sync.shop, &sync.config, sync.offset()),
                    ),
                };
                let outcome = match document {
                    Err(reason) => Err(Err(reason)),
                    Ok(document) => sync
                        .client
                        .call(method, &document, &sync.timestamp())
                        .await
                        .map(|_| ())
                        .map_err(Ok),
                };
                settle(sync, row, outcome, &mut report).await?;
            }
        }
    }
    Ok(report)
}

/// Reads stock (quantity − locked, at least 0) for every merchant code of the shop.
pub async fn pull_stock(sync: &WmsSync) -> Result<usize, WmsSyncError> {
    let shop_id = sync.shop.id;
    let codes = sync
        .db
        .run(move |conn| stock::outer_codes(conn, shop_id))
        .await?;
    let mut updated = 0;
    for chunk in codes.chunks(STOCK_BATCH) {
        let query = InventoryQuery {
            criteria_list: CriteriaList {
                criteria: chunk
                    .iter()
                    .map(|code| Criteria {
                        warehouse_code: sync.config.warehouse_code.clone(),
                        owner_code: sync.config.owner_code.clone(),
                        item_code: code.clone(),
                        inventory_type: "ZP".to_owned(),
                    })
                    .collect(),
            },
        };
        let document = to_document(&query).map_err(WmsError::Garbage)?;
        let answer = sync
            .client
            .call("inventory.query", &document, &sync.timestamp())
            .await?;
        let levels: Vec<(String, i64)> = answer
            .items
            .map(|items| items.item)
            .unwrap_or_default()
            .into_iter()
            .filter(|item| !item.item_code.trim().is_empty())
            .map(|item| {
                let number = |text: &str| text.trim().parse::<i64>().unwrap_or(0);
                (
                    item.item_code.trim().to_owned(),
                    (number(&item.quantity) - number(&item.lock_quantity)).max(0),
                )
            })
            .collect();
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

/// Starts the warehouse jobs of a shop inside `polymall serve`.
pub fn spawn_shop_jobs(sync: WmsSync, stop: watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
    let sync = Arc::new(sync);
    let push = Duration::from_secs(sync.config.push_interval_secs);
    let stock_every = Duration::from_secs(sync.config.stock_interval_secs);
    vec![
        crate::schedule::every(
            "wms push",
            sync.shop.code.clone(),
            push,
            stop.clone(),
            sync.clone(),
            |s: Arc<WmsSync>| async move {
                let items = push_items(&s).await?;
                let orders = push_orders(&s).await?;
                Ok::<_, WmsSyncError>(format!("items {items:?}, orders {orders:?}"))
            },
        ),
        crate::schedule::every(
            "wms pull-stock",
            sync.shop.code.clone(),
            stock_every,
            stop,
            sync.clone(),
            |s: Arc<WmsSync>| async move { pull_stock(&s).await.map(|n| format!("{n} codes updated")) },
        ),
    ]
}
