//! Orders as the operator looks for them: counts by status, a search listing only the
//! columns a list shows, and an order's shipments and refunds.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{order_lines, orders, refunds, shipment_lines, shipments};
use crate::db::{in_id_order, DbConnection, DbError};
use crate::shop::codes::TradeStatus;
use crate::shop::ShopError;

/// Orders of a shop placed since `since`, per status code, from the counts the database
/// keeps: a sale's million orders today cost the overview what ten do.
pub fn placed_since(
    conn: &mut DbConnection,
    shop_id: i64,
    since: NaiveDateTime,
) -> Result<Vec<(String, i64)>, ShopError> {
    let mut counts = Vec::new();
    for status in TradeStatus::ALL {
        let n = crate::shop::orders::placed_since(conn, shop_id, *status, since)?;
        counts.push((status.code().to_owned(), n));
    }
    Ok(counts)
}

/// What the order search asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderSearch {
    /// The shop.
    pub shop_id: i64,
    /// Exact order number.
    pub plat_order_no: Option<String>,
    /// Only this status.
    pub status: Option<TradeStatus>,
    /// Placed at or after (UTC).
    pub from: Option<NaiveDateTime>,
    /// Placed before (UTC).
    pub until: Option<NaiveDateTime>,
    /// Rows to skip.
    pub offset: i64,
    /// Rows to answer.
    pub limit: i64,
}

/// An order in a list.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct OrderSummary {
    /// Order number.
    pub plat_order_no: String,
    /// Status code.
    pub trade_status: String,
    /// Placed.
    pub created_at: NaiveDateTime,
    /// Last change.
    pub modified_at: NaiveDateTime,
    /// Paid, fen.
    pub real_money: i64,
}

/// The orders matching `search`, latest placed first.
pub fn search(conn: &mut DbConnection, search: &OrderSearch) -> Result<Vec<OrderSummary>, DbError> {
    let mut query = orders::table
        .filter(orders::shop_id.eq(search.shop_id))
        .into_boxed();
    if let Some(no) = &search.plat_order_no {
        query = query.filter(orders::plat_order_no.eq(no.clone()));
    }
    if let Some(status) = search.status {
        query = query.filter(orders::trade_status.eq(status.code()));
    }
    if let Some(from) = search.from {
        query = query.filter(orders::created_at.ge(from));
    }
    if let Some(until) = search.until {
        query = query.filter(orders::created_at.lt(until));
    }
    Ok(query
        .order((orders::created_at.desc(), orders::id.desc()))
        .offset(search.offset)
        .limit(search.limit)
        .select((
            orders::plat_order_no,
            orders::trade_status,
            orders::created_at,
            orders::modified_at,
            orders::real_money,
        ))
        .load(conn)?)
}

/// A recorded shipment with what it carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShipmentView {
    /// Carrier code.
    pub logistic_type: String,
    /// Carrier name.
    pub logistic_name: String,
    /// Tracking number.
    pub logistic_no: String,
    /// Who reported it: `polyapi`, `jushuitan` or `wms`.
    pub source: String,
    /// When it was recorded.
    pub created_at: NaiveDateTime,
    /// (sub-order number, count) shipped.
    pub lines: Vec<(String, i64)>,
}

/// The shipments of an order, first first.
pub fn shipments_of(
    conn: &mut DbConnection,
    shop_id: i64,
    order_id: i64,
) -> Result<Vec<ShipmentView>, DbError> {
    type Row = (i64, String, String, String, String, NaiveDateTime);
    // In id order after reading, not by ORDER BY (see [`in_id_order`]).
    let mut heads: Vec<Row> = shipments::table
        .filter(shipments::shop_id.eq(shop_id))
        .filter(shipments::order_id.eq(order_id))
        .select((
            shipments::id,
            shipments::logistic_type,
            shipments::logistic_name,
            shipments::logistic_no,
            shipments::source,
            shipments::created_at,
        ))
        .load(conn)?;
    heads.sort_unstable_by_key(|head| head.0);
    let ids: Vec<i64> = heads.iter().map(|head| head.0).collect();
    let lines: Vec<(i64, String, i64)> = in_id_order(
        shipment_lines::table
            .inner_join(order_lines::table)
            .filter(shipment_lines::shop_id.eq(shop_id))
            .filter(shipment_lines::shipment_id.eq_any(&ids))
            .select((
                shipment_lines::id,
                (
                    shipment_lines::shipment_id,
                    order_lines::sub_order_no,
                    shipment_lines::goods_count,
                ),
            ))
            .load(conn)?,
    );
    Ok(heads
        .into_iter()
        .map(
            |(id, logistic_type, logistic_name, logistic_no, source, created_at)| ShipmentView {
                logistic_type,
                logistic_name,
                logistic_no,
                source,
                created_at,
                lines: lines
                    .iter()
                    .filter(|line| line.0 == id)
                    .map(|(_, sub, count)| (sub.clone(), *count))
                    .collect(),
            },
        )
        .collect())
}

/// A refund of an order.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct RefundView {
    /// Refund number.
    pub refund_no: String,
    /// Refund status code.
    pub refund_status: String,
    /// Sub-order refunded (empty: the whole order).
    pub sub_plat_order_no: String,
    /// Amount, fen.
    pub total_amount: i64,
    /// Reason.
    pub reason: String,
    /// Last change.
    pub modified_at: NaiveDateTime,
}

/// The refunds of an order (over `refunds_shop_order`).
pub fn refunds_of(
    conn: &mut DbConnection,
    shop_id: i64,
    order_id: i64,
) -> Result<Vec<RefundView>, DbError> {
    let rows: Vec<(i64, RefundView)> = refunds::table
        .filter(refunds::shop_id.eq(shop_id))
        .filter(refunds::order_id.eq(order_id))
        .select((
            refunds::id,
            (
                refunds::refund_no,
                refunds::refund_status,
                refunds::sub_plat_order_no,
                refunds::total_amount,
                refunds::reason,
                refunds::modified_at,
            ),
        ))
        .load(conn)?;
    Ok(in_id_order(rows))
}
