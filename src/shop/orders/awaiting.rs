//! Orders a partner was told of and whose shipment it has not reported yet, taken in
//! turn: a job asks for the next ones after the last it took, so every order awaiting
//! shipment comes round however many wait (a sale's pre-orders can wait for days), and
//! each call reads the orders it answers, never the ones before them.

use std::collections::HashSet;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};
use diesel::QueryableByName;

use super::filter::OrderTime;
use super::listing::{Key, Listing};
use crate::db::schema::orders;
use crate::db::{DbConnection, Statement};
use crate::outbox::{Kind, State, Target};
use crate::shop::codes::TradeStatus;
use crate::shop::ShopError;

/// An order awaiting shipment, at its place in the turn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Awaiting {
    /// When it was placed: the turn goes by placing time, then id.
    pub created_at: NaiveDateTime,
    /// Internal id.
    pub id: i64,
    /// The platform order number.
    pub plat_order_no: String,
    /// Whether the target has taken the order's latest state (its order row is done),
    /// so it can be asked about the order.
    pub taken: bool,
}

impl Awaiting {
    /// Its place in the turn.
    pub fn position(&self) -> (NaiveDateTime, i64) {
        (self.created_at, self.id)
    }
}

#[derive(QueryableByName)]
struct Candidate {
    #[diesel(sql_type = Timestamp)]
    created_at: NaiveDateTime,
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    plat_order_no: String,
    #[diesel(sql_type = Nullable<Text>)]
    state: Option<String>,
}

/// Up to `limit` orders awaiting shipment placed after `after` (a place in the turn; the
/// first ones when `None`), in turn order, each saying whether `target` has taken its
/// latest state. Bounded by the answer whatever the statistics: one index range of
/// `(shop, status, placed time, id)` — the orders before `after` are never read — and for
/// each order its outbox row by the outbox's unique key. (The row's state is read as a
/// value, not tested with EXISTS or IN: PostgreSQL may answer those by hashing the whole
/// outbox, and SQLite, given the state, by walking every done row.)
pub fn awaiting_shipment_after(
    conn: &mut DbConnection,
    shop_id: i64,
    target: Target,
    after: Option<(NaiveDateTime, i64)>,
    limit: i64,
) -> Result<Vec<Awaiting>, ShopError> {
    Ok(statement(shop_id, target, after, limit)
        .rows::<Candidate>(conn)?
        .into_iter()
        .map(|order| Awaiting {
            taken: order.state.as_deref() == Some(State::Done.code()),
            created_at: order.created_at,
            id: order.id,
            plat_order_no: order.plat_order_no,
        })
        .collect())
}

/// Numbers looked up per statement by [`awaiting_shipment_among`].
const NUMBERS_PER_LOOKUP: usize = 500;

/// Which of `numbers` are this shop's orders still awaiting shipment (a line or more
/// left to ship). A partner that reports what it shipped in a window also reports orders
/// that are not the shop's to record: made by hand in the partner's system, or shipped
/// already through another way.
pub fn awaiting_shipment_among(
    conn: &mut DbConnection,
    shop_id: i64,
    numbers: &[String],
) -> Result<HashSet<String>, ShopError> {
    let mut awaiting = HashSet::new();
    for chunk in numbers.chunks(NUMBERS_PER_LOOKUP) {
        let found: Vec<String> = orders::table
            .filter(orders::shop_id.eq(shop_id))
            .filter(orders::plat_order_no.eq_any(chunk))
            .filter(orders::trade_status.eq(TradeStatus::AwaitingShipment.code()))
            .select(orders::plat_order_no)
            .load(conn)?;
        awaiting.extend(found);
    }
    Ok(awaiting)
}

/// The plan the database chooses now for [`awaiting_shipment_after`] from a place in the
/// turn (for the bench and for checking it reads one index range and the unique key).
pub fn explain_awaiting_shipment(
    conn: &mut DbConnection,
    shop_id: i64,
    target: Target,
) -> Result<Vec<String>, ShopError> {
    let after = Some((NaiveDateTime::default(), 0));
    Ok(crate::db::explain(
        conn,
        &statement(shop_id, target, after, 1_000),
    )?)
}

/// The statement [`awaiting_shipment_after`] runs: the listing of the orders awaiting
/// shipment by placing time, walked forward from `after`.
fn statement(
    shop_id: i64,
    target: Target,
    after: Option<(NaiveDateTime, i64)>,
    limit: i64,
) -> Statement<'static> {
    let listing = Listing {
        time: OrderTime::Created,
        status: Some(TradeStatus::AwaitingShipment),
        from: None,
        until: None,
    };
    let mut walk = Statement::new();
    walk.sql(
        "SELECT o.created_at, o.id, o.plat_order_no, (SELECT x.state FROM outbox x \
         WHERE x.shop_id = o.shop_id AND x.target = ",
    )
    .bind(target.code())
    .sql(" AND x.kind = ")
    .bind(Kind::Order.code())
    .sql(" AND x.subject = o.plat_order_no) AS state FROM orders o");
    listing.shop_and_status(&mut walk, shop_id);
    if let Some((at, id)) = after {
        listing.key_bound(&mut walk, ">", Key { at, id });
    }
    walk.sql(&format!(" ORDER BY {}, id LIMIT ", listing.column()))
        .bind(limit);
    walk
}
