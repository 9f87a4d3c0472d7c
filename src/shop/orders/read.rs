//! Finding and listing orders with all their parts.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::{
    Customs, Invoice, OrderHeader, OrderLineFields, OrderLineRecord, OrderRecord, PickupCode,
    Receiver,
};
use crate::db::schema::{
    order_customs, order_invoices, order_lines, order_receivers, orders, pickup_codes,
};
use crate::db::{DbBackend, DbConnection};
use crate::shop::codes::TradeStatus;
use crate::shop::{Page, PageOf, ShopError};

/// Which of an order's times a window applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderTime {
    /// Last modification (GetOrder's default, `JH_01`).
    Modified,
    /// Placement (`JH_02`).
    Created,
}

/// An inclusive time window, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeWindow {
    /// Which time.
    pub time: OrderTime,
    /// From, inclusive.
    pub start: NaiveDateTime,
    /// To, inclusive.
    pub end: NaiveDateTime,
}

/// Which orders a listing wants. Results are ordered by the window's time (modified
/// time when there is no window), then id: stable across repeated requests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderFilter {
    /// Only this status.
    pub status: Option<TradeStatus>,
    /// Only inside this window.
    pub window: Option<TimeWindow>,
    /// Only the order with this exact number.
    pub plat_order_no: Option<String>,
}

/// One page of orders with the total across pages.
pub fn page(
    conn: &mut DbConnection,
    shop_id: i64,
    filter: &OrderFilter,
    page: Page,
) -> Result<PageOf<OrderRecord>, ShopError> {
    // One read transaction so the total and the page see the same data; on PostgreSQL
    // that takes a snapshot for the whole transaction, not one per statement.
    conn.transaction(|conn| {
        if matches!(conn, DbConnection::Pg(_)) {
            diesel::sql_query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .execute(conn)?;
        }
        let total = super::counts::total(conn, shop_id, filter)?;
        let by_created = matches!(
            filter.window,
            Some(TimeWindow {
                time: OrderTime::Created,
                ..
            })
        );
        let query = filtered(shop_id, filter);
        let query = if by_created {
            query.order((orders::created_at.asc(), orders::id.asc()))
        } else {
            query.order((orders::modified_at.asc(), orders::id.asc()))
        };
        // Ids first: the offset walks the index alone (an index-only scan), and only the
        // page's rows are read from the table.
        let ids: Vec<i64> = query
            .limit(page.size)
            .offset(page.offset())
            .select(orders::id)
            .load(conn)?;
        let items = assemble(conn, shop_id, &ids)?;
        Ok(PageOf { total, items })
    })
}

/// The order with this number, if stored.
pub fn find(
    conn: &mut DbConnection,
    shop_id: i64,
    plat_order_no: &str,
) -> Result<Option<OrderRecord>, ShopError> {
    let filter = OrderFilter {
        plat_order_no: Some(plat_order_no.to_owned()),
        ..OrderFilter::default()
    };
    let ids: Vec<i64> = filtered(shop_id, &filter).select(orders::id).load(conn)?;
    Ok(assemble(conn, shop_id, &ids)?.into_iter().next())
}

/// The orders of the shop matching `filter`, as a query to refine.
pub(super) fn filtered<'a>(
    shop_id: i64,
    filter: &'a OrderFilter,
) -> orders::BoxedQuery<'a, DbBackend> {
    let mut query = orders::table
        .filter(orders::shop_id.eq(shop_id))
        .into_boxed();
    if let Some(no) = &filter.plat_order_no {
        query = query.filter(orders::plat_order_no.eq(no));
    }
    if let Some(status) = filter.status {
        query = query.filter(orders::trade_status.eq(status.code()));
    }
    if let Some(window) = filter.window {
        query = match window.time {
            OrderTime::Modified => query
                .filter(orders::modified_at.ge(window.start))
                .filter(orders::modified_at.le(window.end)),
            OrderTime::Created => query
                .filter(orders::created_at.ge(window.start))
                .filter(orders::created_at.le(window.end)),
        };
    }
    query
}

/// An order row with its one-to-one parts, which are written with it.
type Head = (i64, OrderHeader, NaiveDateTime, Receiver, Invoice, Customs);

/// Loads the orders `ids` with all their parts, in the order of `ids`: one joined query
/// for the order and its one-to-one parts, one for the lines, one for pickup codes.
fn assemble(
    conn: &mut DbConnection,
    shop_id: i64,
    ids: &[i64],
) -> Result<Vec<OrderRecord>, ShopError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut heads: Vec<Head> = orders::table
        .inner_join(order_receivers::table)
        .inner_join(order_invoices::table)
        .inner_join(order_customs::table)
        .filter(orders::id.eq_any(ids))
        .select((
            orders::id,
            OrderHeader::as_select(),
            orders::modified_at,
            Receiver::as_select(),
            Invoice::as_select(),
            Customs::as_select(),
        ))
        .load(conn)?;
    let position: HashMap<i64, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    heads.sort_by_key(|head| position.get(&head.0).copied().unwrap_or(usize::MAX));
    let mut pickups: HashMap<i64, PickupCode> = pickup_codes::table
        .filter(pickup_codes::order_id.eq_any(ids))
        .select((pickup_codes::order_id, PickupCode::as_select()))
        .load::<(i64, PickupCode)>(conn)?
        .into_iter()
        .collect();
    let line_rows: Vec<(i64, i64, OrderLineFields, i64)> = order_lines::table
        .filter(order_lines::shop_id.eq(shop_id))
        .filter(order_lines::order_id.eq_any(ids))
        .order(order_lines::id.asc())
        .select((
            order_lines::order_id,
            order_lines::id,
            OrderLineFields::as_select(),
            order_lines::shipped_count,
        ))
        .load(conn)?;
    let mut lines: HashMap<i64, Vec<OrderLineRecord>> = HashMap::new();
    for (order_id, id, fields, shipped_count) in line_rows {
        lines.entry(order_id).or_default().push(OrderLineRecord {
            id,
            fields,
            shipped_count,
        });
    }
    Ok(heads
        .into_iter()
        .map(
            |(id, header, modified_at, receiver, invoice, customs)| OrderRecord {
                id,
                header,
                modified_at,
                receiver,
                invoice,
                customs,
                lines: lines.remove(&id).unwrap_or_default(),
                pickup_code: pickups.remove(&id),
            },
        )
        .collect())
}
