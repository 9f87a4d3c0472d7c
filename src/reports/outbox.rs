//! The outbox as the operator sees it: rows per shop, target and state, and the rows
//! of one subject.

use chrono::NaiveDateTime;
use diesel::dsl::{count_star, min};
use diesel::prelude::*;

use crate::db::schema::outbox;
use crate::db::{DbConnection, DbError};
use crate::outbox::{Kind, OutboxRow, State, Target};

/// The targets, in the order pages show them.
pub const TARGETS: [Target; 3] = Target::ALL;

/// The states that need watching (done rows are history).
pub const OPEN_STATES: [&str; 3] = [
    State::Pending.code(),
    State::Held.code(),
    State::Dead.code(),
];

/// Every state a row can be in.
pub const STATES: [&str; 4] = [
    State::Pending.code(),
    State::Held.code(),
    State::Dead.code(),
    State::Done.code(),
];

/// Rows of one shop, target and state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateCount {
    /// The shop.
    pub shop_id: i64,
    /// The target's code.
    pub target: &'static str,
    /// The state.
    pub state: &'static str,
    /// How many rows.
    pub rows: i64,
    /// The earliest time a row of them was queued or last tried.
    pub oldest: Option<NaiveDateTime>,
}

/// Rows per target and open state of each shop: one count per (shop, target, state) over
/// the target's kinds, each an index range of `outbox_claim` (state, shop, target, kind), so
/// a count reads the rows it counts and never the done ones.
pub fn state_counts(conn: &mut DbConnection, shop_ids: &[i64]) -> Result<Vec<StateCount>, DbError> {
    let mut counts = Vec::new();
    for &shop_id in shop_ids {
        for target in TARGETS {
            let kinds: Vec<&str> = target.kinds().map(Kind::code).collect();
            for state in OPEN_STATES {
                let (rows, oldest): (i64, Option<NaiveDateTime>) = outbox::table
                    .filter(outbox::shop_id.eq(shop_id))
                    .filter(outbox::target.eq(target.code()))
                    .filter(outbox::kind.eq_any(&kinds))
                    .filter(outbox::state.eq(state))
                    .select((count_star(), min(outbox::modified_at)))
                    .first(conn)?;
                counts.push(StateCount {
                    shop_id,
                    target: target.code(),
                    state,
                    rows,
                    oldest,
                });
            }
        }
    }
    Ok(counts)
}

/// The rows about one order of a shop (its upload, delivery order and cancellation),
/// read through the unique (shop, target, kind, subject) key.
pub fn rows_of_order(
    conn: &mut DbConnection,
    shop_id: i64,
    plat_order_no: &str,
) -> Result<Vec<OutboxRow>, DbError> {
    let targets: Vec<&str> = TARGETS.iter().map(|t| t.code()).collect();
    let kinds = [Kind::Order, Kind::DeliveryOrder, Kind::Cancel].map(Kind::code);
    Ok(outbox::table
        .filter(outbox::shop_id.eq(shop_id))
        .filter(outbox::target.eq_any(targets))
        .filter(outbox::kind.eq_any(kinds))
        .filter(outbox::subject.eq(plat_order_no))
        .order(outbox::id.asc())
        .select(OutboxRow::as_select())
        .load(conn)?)
}

/// Which rows the outbox page lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RowFilter {
    /// Only this shop.
    pub shop_id: Option<i64>,
    /// Only this target's code.
    pub target: Option<&'static str>,
    /// Only this state.
    pub state: Option<&'static str>,
}

/// The latest `limit` rows matching `filter`, newest first (walking the primary key).
pub fn rows(
    conn: &mut DbConnection,
    filter: &RowFilter,
    limit: i64,
) -> Result<Vec<OutboxRow>, DbError> {
    let mut query = outbox::table.into_boxed();
    if let Some(shop_id) = filter.shop_id {
        query = query.filter(outbox::shop_id.eq(shop_id));
    }
    if let Some(target) = filter.target {
        query = query.filter(outbox::target.eq(target));
    }
    if let Some(state) = filter.state {
        query = query.filter(outbox::state.eq(state));
    }
    Ok(query
        .order(outbox::id.desc())
        .limit(limit)
        .select(OutboxRow::as_select())
        .load(conn)?)
}

/// The shop and state of each of the rows `ids` that exists.
pub fn shops_and_states(
    conn: &mut DbConnection,
    ids: &[i64],
) -> Result<Vec<(i64, i64, String)>, DbError> {
    Ok(outbox::table
        .filter(outbox::id.eq_any(ids))
        .select((outbox::id, outbox::shop_id, outbox::state))
        .load(conn)?)
}
