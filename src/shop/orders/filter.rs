//! Which orders a listing or a count wants: a status, a time window on one of the
//! order's times, an exact number; and the query that selects them.

use chrono::{NaiveDateTime, TimeDelta, Timelike};
use diesel::prelude::*;

use crate::db::schema::orders;
use crate::db::DbBackend;
use crate::shop::codes::TradeStatus;

/// Which of an order's times a window applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderTime {
    /// Last modification (GetOrder's default, `JH_01`).
    Modified,
    /// Placement (`JH_02`).
    Created,
}

/// A time window `[from, until)`, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimeWindow {
    /// Which time.
    pub time: OrderTime,
    /// From, inclusive.
    pub from: NaiveDateTime,
    /// Until, exclusive.
    pub until: NaiveDateTime,
}

impl TimeWindow {
    /// From `start` to the end of the second `end` names, both inclusive: the wire names
    /// times to the second and shows an order changed at 10:00:00.5 as 10:00:00, so a
    /// window ending at 10:00:00 holds it (and one starting at 10:00:01 does not).
    pub fn through_second(time: OrderTime, start: NaiveDateTime, end: NaiveDateTime) -> Self {
        let whole = end.with_nanosecond(0).unwrap_or(end);
        Self {
            time,
            from: start,
            until: whole + TimeDelta::seconds(1),
        }
    }
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
                .filter(orders::modified_at.ge(window.from))
                .filter(orders::modified_at.lt(window.until)),
            OrderTime::Created => query
                .filter(orders::created_at.ge(window.from))
                .filter(orders::created_at.lt(window.until)),
        };
    }
    query
}
