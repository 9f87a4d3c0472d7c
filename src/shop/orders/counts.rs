//! How many orders a listing matches, without counting every one of them.
//!
//! The database keeps orders per (shop, time, status, UTC day) in `order_counts`, moved by
//! triggers through `order_count_changes` (see the `order_counts` migration). A window's
//! total is the day counts of the whole days inside it plus an exact count of the orders
//! in its partial first and last day, so its cost follows the window's length in days,
//! not the number of orders in the shop.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime, TimeDelta};
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::BigInt;

use super::read::{filtered, OrderFilter, OrderTime, TimeWindow};
use crate::db::schema::{order_count_changes, order_counts};
use crate::db::{write_transaction, DbConnection};
use crate::shop::ShopError;

/// Orders matching `filter` (exact).
pub fn total(
    conn: &mut DbConnection,
    shop_id: i64,
    filter: &OrderFilter,
) -> Result<i64, ShopError> {
    if filter.plat_order_no.is_some() {
        return exact(conn, shop_id, filter);
    }
    let Some(window) = filter.window else {
        return days(conn, shop_id, filter, OrderTime::Modified, None);
    };
    let Some((first, last)) = whole_days(window.start, window.end) else {
        return exact(conn, shop_id, filter);
    };
    let edge = |start: NaiveDateTime, end: NaiveDateTime| OrderFilter {
        window: Some(TimeWindow {
            start,
            end,
            ..window
        }),
        ..filter.clone()
    };
    let head = edge(window.start, midnight(first) - TimeDelta::microseconds(1));
    let tail = edge(midnight(last + TimeDelta::days(1)), window.end);
    Ok(
        days(conn, shop_id, filter, window.time, Some((first, last)))?
            + exact(conn, shop_id, &head)?
            + exact(conn, shop_id, &tail)?,
    )
}

/// Orders matching `filter`, counted one by one over the index.
fn exact(conn: &mut DbConnection, shop_id: i64, filter: &OrderFilter) -> Result<i64, ShopError> {
    Ok(filtered(shop_id, filter).count().get_result(conn)?)
}

/// The first and last UTC day lying wholly inside `[start, end]`, if any.
fn whole_days(start: NaiveDateTime, end: NaiveDateTime) -> Option<(NaiveDate, NaiveDate)> {
    let first = if start.time() == NaiveTime::MIN {
        start.date()
    } else {
        start.date().succ_opt()?
    };
    // The end is inclusive to the microsecond the database keeps.
    let last = if end.time() >= NaiveTime::from_hms_micro_opt(23, 59, 59, 999_999)? {
        end.date()
    } else {
        end.date().pred_opt()?
    };
    (first <= last).then_some((first, last))
}

fn midnight(day: NaiveDate) -> NaiveDateTime {
    day.and_time(NaiveTime::MIN)
}

fn kind(time: OrderTime) -> &'static str {
    match time {
        OrderTime::Modified => "modified",
        OrderTime::Created => "created",
    }
}

/// Orders of whole days from the day counts and the changes not folded in yet; all days
/// when `range` is `None`.
fn days(
    conn: &mut DbConnection,
    shop_id: i64,
    filter: &OrderFilter,
    time: OrderTime,
    range: Option<(NaiveDate, NaiveDate)>,
) -> Result<i64, ShopError> {
    let mut folded = order_counts::table
        .filter(order_counts::shop_id.eq(shop_id))
        .filter(order_counts::time_kind.eq(kind(time)))
        .into_boxed();
    let mut pending = order_count_changes::table
        .filter(order_count_changes::shop_id.eq(shop_id))
        .filter(order_count_changes::time_kind.eq(kind(time)))
        .into_boxed();
    if let Some(status) = filter.status {
        folded = folded.filter(order_counts::trade_status.eq(status.code()));
        pending = pending.filter(order_count_changes::trade_status.eq(status.code()));
    }
    if let Some((first, last)) = range {
        folded = folded
            .filter(order_counts::day.ge(first))
            .filter(order_counts::day.le(last));
        pending = pending
            .filter(order_count_changes::day.ge(first))
            .filter(order_count_changes::day.le(last));
    }
    let folded: i64 = folded
        .select(sql::<BigInt>("COALESCE(CAST(SUM(n) AS BIGINT), 0)"))
        .get_result(conn)?;
    let pending: i64 = pending
        .select(sql::<BigInt>("COALESCE(CAST(SUM(delta) AS BIGINT), 0)"))
        .get_result(conn)?;
    Ok(folded + pending)
}

/// Adds the pending changes into the day counts and removes them; answers how many
/// changes were folded. Safe to run from several processes at once.
pub fn fold(conn: &mut DbConnection) -> Result<usize, ShopError> {
    write_transaction(conn, |conn| {
        let folded = match conn {
            DbConnection::Sqlite(_) => {
                // BEGIN IMMEDIATE holds every other writer off: the rows summed are the
                // rows deleted.
                diesel::sql_query(
                    "INSERT INTO order_counts (shop_id, time_kind, trade_status, day, n) \
                     SELECT shop_id, time_kind, trade_status, day, SUM(delta) \
                     FROM order_count_changes WHERE TRUE \
                     GROUP BY shop_id, time_kind, trade_status, day \
                     ON CONFLICT (shop_id, time_kind, trade_status, day) \
                     DO UPDATE SET n = order_counts.n + excluded.n",
                )
                .execute(conn)?;
                diesel::delete(order_count_changes::table).execute(conn)?
            }
            DbConnection::Pg(_) => {
                // One statement adds exactly the rows it deletes, whatever commits
                // meanwhile; the lock keeps two folds from upserting in opposite orders.
                diesel::sql_query("SELECT pg_advisory_xact_lock(7305182)").execute(conn)?;
                diesel::sql_query(
                    "WITH moved AS (DELETE FROM order_count_changes \
                         RETURNING shop_id, time_kind, trade_status, day, delta), \
                     summed AS (SELECT shop_id, time_kind, trade_status, day, SUM(delta) AS n \
                         FROM moved GROUP BY shop_id, time_kind, trade_status, day) \
                     INSERT INTO order_counts (shop_id, time_kind, trade_status, day, n) \
                     SELECT shop_id, time_kind, trade_status, day, n FROM summed \
                     ORDER BY shop_id, time_kind, trade_status, day \
                     ON CONFLICT (shop_id, time_kind, trade_status, day) \
                     DO UPDATE SET n = order_counts.n + EXCLUDED.n",
                )
                .execute(conn)?
            }
        };
        if folded > 0 {
            diesel::delete(order_counts::table.filter(order_counts::n.eq(0))).execute(conn)?;
        }
        Ok(folded)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f").expect("time")
    }

    fn day(text: &str) -> NaiveDate {
        text.parse().expect("day")
    }

    #[test]
    fn whole_days_leave_partial_edges_out() {
        assert_eq!(
            whole_days(at("2026-01-01 10:00:00"), at("2026-01-04 09:00:00")),
            Some((day("2026-01-02"), day("2026-01-03")))
        );
        assert_eq!(
            whole_days(at("2026-01-01 00:00:00"), at("2026-01-01 23:59:59.999999")),
            Some((day("2026-01-01"), day("2026-01-01")))
        );
        assert_eq!(
            whole_days(at("2026-01-01 00:00:00"), at("2026-01-01 23:59:59")),
            None
        );
        assert_eq!(
            whole_days(at("2026-01-01 00:00:01"), at("2026-01-02 23:59:59")),
            None
        );
    }
}
