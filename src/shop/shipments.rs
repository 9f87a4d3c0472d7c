//! Shipping an order, whole or split: never more than ordered, never a refunded line,
//! the same shipment twice is recorded once, and a fully shipped order moves to JH_03.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::codes::{RefundStatus, TradeStatus};
use super::ShopError;
use crate::db::schema::{order_lines, orders, shipment_lines, shipments};
use diesel::sql_types::{BigInt, Text};

use crate::db::{write_transaction, DbBackend, DbConnection};
use crate::outbox::{self, Kind, Target};
use crate::time::now_utc;

/// Where a shipment was reported from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShipmentSource {
    /// The ERP, through Polyapi Send.
    Polyapi,
    /// Pulled from Jushuitan.
    Jushuitan,
    /// Confirmed by the warehouse.
    Warehouse,
}

impl ShipmentSource {
    fn code(self) -> &'static str {
        match self {
            Self::Polyapi => "polyapi",
            Self::Jushuitan => "jushuitan",
            Self::Warehouse => "wms",
        }
    }
}

/// A shipment to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShipmentRequest {
    /// The order shipped.
    pub plat_order_no: String,
    /// Carrier code (`JH_001`…, `JHI_001`…).
    pub logistic_type: String,
    /// Carrier name.
    pub logistic_name: String,
    /// Tracking number.
    pub logistic_no: String,
    /// Shipping kind code (`JH_01`…).
    pub send_type: String,
    /// Sender's name.
    pub sender_name: String,
    /// Sender's telephone.
    pub sender_tel: String,
    /// Sender's address.
    pub sender_address: String,
    /// Lines and quantities (sub-order number, count); `None` ships everything left.
    pub lines: Option<Vec<(String, i64)>>,
    /// The order type the ERP sends with a Send (`OrderType`, e.g. `JH_01`).
    pub order_type: String,
    /// Whether the ERP flags the shipment as overseas purchase (`IsHwgFlag` = 1).
    pub is_hwg_flag: bool,
    /// Who reported it.
    pub source: ShipmentSource,
}

/// What a shipment request did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShipOutcome {
    /// A new shipment was recorded.
    Shipped {
        /// Its id.
        shipment_id: i64,
        /// The order's status afterwards.
        status: TradeStatus,
    },
    /// The same shipment was already recorded; nothing changed.
    AlreadyRecorded {
        /// The order's status.
        status: TradeStatus,
    },
}

/// An order line as shipping sees it.
pub(super) struct Line {
    pub(super) id: i64,
    pub(super) sub_order_no: String,
    pub(super) outer_id: String,
    pub(super) goods_count: i64,
    pub(super) shipped_count: i64,
    pub(super) refunded: bool,
}

/// Records a shipment in one transaction (see the module rules).
pub fn ship(
    conn: &mut DbConnection,
    shop_id: i64,
    request: &ShipmentRequest,
) -> Result<ShipOutcome, ShopError> {
    write_transaction(conn, |conn| ship_within(conn, shop_id, request))
}

/// Records a shipment inside the caller's transaction.
pub(super) fn ship_within(
    conn: &mut DbConnection,
    shop_id: i64,
    request: &ShipmentRequest,
) -> Result<ShipOutcome, ShopError> {
    let now = now_utc();
    let (order_id, status) = lock_order(conn, shop_id, &request.plat_order_no, now)?;
    let lines = load_lines(conn, shop_id, order_id)?;
    let wanted = resolve(request, &lines)?;
    if let Some(status) =
        already_recorded(conn, shop_id, order_id, request, &wanted, &lines, status)?
    {
        return Ok(ShipOutcome::AlreadyRecorded { status });
    }
    match status {
        TradeStatus::AwaitingShipment => {}
        TradeStatus::AwaitingPayment => {
            return Err(ShopError::rejected(
                "PlatOrderNo",
                "the order is not paid yet (JH_01)",
            ))
        }
        TradeStatus::Closed => {
            return Err(ShopError::rejected(
                "PlatOrderNo",
                "the order is closed (JH_05)",
            ))
        }
        TradeStatus::Shipped | TradeStatus::Completed => {
            return Err(ShopError::rejected(
                "PlatOrderNo",
                format!("the order is already fully shipped ({})", status.code()),
            ))
        }
    }
    if wanted.is_empty() {
        return Err(ShopError::rejected(
            "PlatOrderNo",
            "nothing is left to ship on this order",
        ));
    }
    for (line_id, count) in &wanted {
        // Conditional update: the database, not this process, decides the last unit.
        let updated = diesel::update(order_lines::table.find(*line_id))
            .filter(order_lines::shipped_count.le(order_lines::goods_count - *count))
            .set(order_lines::shipped_count.eq(order_lines::shipped_count + *count))
            .execute(conn)?;
        if updated != 1 {
            return Err(ShopError::rejected(
                "SubPlatOrderNo",
                "shipping this would exceed the ordered quantity",
            ));
        }
    }
    diesel::insert_into(shipments::table)
        .values((
            shipments::shop_id.eq(shop_id),
            shipments::order_id.eq(order_id),
            shipments::logistic_type.eq(&request.logistic_type),
            shipments::logistic_name.eq(&request.logistic_name),
            shipments::logistic_no.eq(&request.logistic_no),
            shipments::send_type.eq(&request.send_type),
            shipments::sender_name.eq(&request.sender_name),
            shipments::sender_tel.eq(&request.sender_tel),
            shipments::sender_address.eq(&request.sender_address),
            shipments::source.eq(request.source.code()),
            shipments::created_at.eq(now),
            shipments::order_type.eq(&request.order_type),
            shipments::is_hwg_flag.eq(request.is_hwg_flag),
        ))
        .execute(conn)?;
    // The order row is locked by this transaction, so the newest shipment is ours.
    let shipment_id: i64 = shipments::table
        .filter(shipments::shop_id.eq(shop_id))
        .filter(shipments::order_id.eq(order_id))
        .order(shipments::id.desc())
        .select(shipments::id)
        .first(conn)?;
    for (line_id, count) in &wanted {
        diesel::insert_into(shipment_lines::table)
            .values((
                shipment_lines::shop_id.eq(shop_id),
                shipment_lines::shipment_id.eq(shipment_id),
                shipment_lines::order_line_id.eq(*line_id),
                shipment_lines::goods_count.eq(*count),
            ))
            .execute(conn)?;
    }
    let status = settle_status(conn, shop_id, order_id, now)?;
    // Jushuitan learns of shipments made elsewhere (the ERP, the warehouse).
    if request.source != ShipmentSource::Jushuitan {
        outbox::enqueue(
            conn,
            shop_id,
            Target::Jushuitan,
            Kind::Order,
            &request.plat_order_no,
        )?;
    }
    Ok(ShipOutcome::Shipped {
        shipment_id,
        status,
    })
}

/// Finds the order and takes its row lock (an UPDATE), so concurrent shipments of one
/// order run one after the other on PostgreSQL as they do on SQLite.
pub(super) fn lock_order(
    conn: &mut DbConnection,
    shop_id: i64,
    plat_order_no: &str,
    now: NaiveDateTime,
) -> Result<(i64, TradeStatus), ShopError> {
    let locked = diesel::update(
        orders::table
            .filter(orders::shop_id.eq(shop_id))
            .filter(orders::plat_order_no.eq(plat_order_no)),
    )
    .set((
        orders::modified_at.eq(now),
        orders::revision.eq(orders::revision + 1),
    ))
    .execute(conn)?;
    if locked == 0 {
        return Err(ShopError::rejected(
            "PlatOrderNo",
            format!("no order `{plat_order_no}` in this shop"),
        ));
    }
    let (id, status): (i64, String) = orders::table
        .filter(orders::shop_id.eq(shop_id))
        .filter(orders::plat_order_no.eq(plat_order_no))
        .select((orders::id, orders::trade_status))
        .first(conn)?;
    let status = TradeStatus::from_code(&status).unwrap_or(TradeStatus::AwaitingShipment);
    Ok((id, status))
}

/// The columns of a line a shipment needs.
type LineColumns = (BigInt, Text, Text, BigInt, BigInt, Text);

/// The lines of one order, in no order: they are put in id order after reading (see
/// [`crate::db::in_id_order`]).
fn lines_query(
    shop_id: i64,
    order_id: i64,
) -> order_lines::BoxedQuery<'static, DbBackend, LineColumns> {
    order_lines::table
        .filter(order_lines::shop_id.eq(shop_id))
        .filter(order_lines::order_id.eq(order_id))
        .select((
            order_lines::id,
            order_lines::sub_order_no,
            order_lines::outer_id,
            order_lines::goods_count,
            order_lines::shipped_count,
            order_lines::refund_status,
        ))
        .into_boxed()
}

pub(super) fn load_lines(
    conn: &mut DbConnection,
    shop_id: i64,
    order_id: i64,
) -> Result<Vec<Line>, ShopError> {
    let mut rows: Vec<(i64, String, String, i64, i64, String)> =
        lines_query(shop_id, order_id).load(conn)?;
    rows.sort_unstable_by_key(|row| row.0);
    Ok(rows
        .into_iter()
        .map(
            |(id, sub_order_no, outer_id, goods_count, shipped_count, refund)| Line {
                id,
                sub_order_no,
                outer_id,
                goods_count,
                shipped_count,
                refunded: RefundStatus::from_code(&refund) == Some(RefundStatus::Succeeded),
            },
        )
        .collect())
}

/// The (line id → count) a request ships, checked against what is left on each line.
fn resolve(request: &ShipmentRequest, lines: &[Line]) -> Result<BTreeMap<i64, i64>, ShopError> {
    let mut wanted = BTreeMap::new();
    match &request.lines {
        None => {
            if !lines.is_empty() && lines.iter().all(|line| line.refunded) {
                return Err(ShopError::rejected(
                    "PlatOrderNo",
                    "every line of the order was refunded (JH_06)",
                ));
            }
            for line in lines.iter().filter(|line| !line.refunded) {
                let left = line.goods_count - line.shipped_count;
                if left > 0 {
                    wanted.insert(line.id, left);
                }
            }
        }
        Some(parts) => {
            for (sub, count) in parts {
                let line = lines
                    .iter()
                    .find(|line| &line.sub_order_no == sub)
                    .ok_or_else(|| {
                        ShopError::rejected(
                            "SubPlatOrderNo",
                            format!("line `{sub}` is not on the order"),
                        )
                    })?;
                if line.refunded {
                    return Err(ShopError::rejected(
                        "SubPlatOrderNo",
                        format!("line `{sub}` was refunded (JH_06) and cannot ship"),
                    ));
                }
                let total = wanted.entry(line.id).or_insert(0);
                *total += count;
                let left = line.goods_count - line.shipped_count;
                if *total > left {
                    return Err(ShopError::rejected(
                        "SubPlatOrderNo",
                        format!(
                            "line `{sub}`: {total} to ship but only {left} of {} left",
                            line.goods_count
                        ),
                    ));
                }
            }
        }
    }
    Ok(wanted)
}

/// Whether this exact shipment (tracking number and lines) is already recorded.
#[allow(clippy::too_many_arguments)]
fn already_recorded(
    conn: &mut DbConnection,
    shop_id: i64,
    order_id: i64,
    request: &ShipmentRequest,
    wanted: &BTreeMap<i64, i64>,
    lines: &[Line],
    status: TradeStatus,
) -> Result<Option<TradeStatus>, ShopError> {
    let earlier: Vec<i64> = shipments::table
        .filter(shipments::shop_id.eq(shop_id))
        .filter(shipments::order_id.eq(order_id))
        .filter(shipments::logistic_no.eq(&request.logistic_no))
        .select(shipments::id)
        .load(conn)?;
    if earlier.is_empty() {
        return Ok(None);
    }
    if request.lines.is_none() {
        // A whole-order shipment repeated: recorded if nothing is left to ship.
        let left = lines
            .iter()
            .filter(|line| !line.refunded)
            .any(|line| line.shipped_count < line.goods_count);
        return Ok((!left).then_some(status));
    }
    for shipment_id in earlier {
        let recorded: BTreeMap<i64, i64> = shipment_lines::table
            .filter(shipment_lines::shop_id.eq(shop_id))
            .filter(shipment_lines::shipment_id.eq(shipment_id))
            .select((shipment_lines::order_line_id, shipment_lines::goods_count))
            .load::<(i64, i64)>(conn)?
            .into_iter()
            .collect();
        if &recorded == wanted {
            return Ok(Some(status));
        }
    }
    Ok(None)
}

/// Moves the order to JH_03 once every line that was not refunded is fully shipped.
fn settle_status(
    conn: &mut DbConnection,
    shop_id: i64,
    order_id: i64,
    now: NaiveDateTime,
) -> Result<TradeStatus, ShopError> {
    let lines = load_lines(conn, shop_id, order_id)?;
    let done = lines
        .iter()
        .filter(|line| !line.refunded)
        .all(|line| line.shipped_count >= line.goods_count);
    if done {
        diesel::update(orders::table.find(order_id))
            .set((
                orders::trade_status.eq(TradeStatus::Shipped.code()),
                orders::modified_at.eq(now),
                orders::revision.eq(orders::revision + 1),
            ))
            .execute(conn)?;
        Ok(TradeStatus::Shipped)
    } else {
        Ok(TradeStatus::AwaitingShipment)
    }
}

#[cfg(test)]
mod tests {
    use diesel::connection::SimpleConnection;

    use super::lines_query;
    use crate::config::{DatabaseConfig, Secret};
    use crate::db::{explain, Database};

    /// Without statistics (a database the storefront filled) and with those of a sale
    /// (two million lines in one shop), the lines of one order are found through the
    /// order's own index entries, never by walking the shop's lines.
    #[test]
    fn an_orders_lines_are_found_by_the_order_with_or_without_statistics() {
        let dir = tempfile::tempdir().expect("dir");
        let config = DatabaseConfig {
            url: Secret::new(dir.path().join("shop.db").to_string_lossy()),
            ..DatabaseConfig::default()
        };
        let db = Database::connect(&config).expect("open");
        db.migrate().expect("migrate");
        let mut conn = db.get().expect("connection");
        let by_the_order = |plan: &[String]| {
            plan.iter()
                .any(|step| step.contains("shop_id=? AND order_id=?"))
        };
        let plan = explain(&mut conn, &lines_query(1, 42)).expect("plan");
        assert!(by_the_order(&plan), "without statistics: {plan:?}");
        conn.batch_execute(
            "ANALYZE; DELETE FROM sqlite_stat1 WHERE tbl = 'order_lines'; \
             INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES \
               ('order_lines', 'sqlite_autoindex_order_lines_1', '2000000 2000000 2 1'), \
               ('order_lines', 'sqlite_autoindex_order_lines_2', '2000000 2000000 1'), \
               ('order_lines', 'order_lines', '2000000'); \
             ANALYZE sqlite_schema;",
        )
        .expect("statistics");
        let plan = explain(&mut conn, &lines_query(1, 42)).expect("plan");
        assert!(by_the_order(&plan), "with a sale's statistics: {plan:?}");
    }
}
