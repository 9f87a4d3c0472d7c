//! A listing of orders in its order (time, then id) and the walks over it that a page
//! needs: forward from a position, backward from one, so a page's ids cost the page and
//! the distance walked to it, never the orders before it in the window.

use chrono::NaiveDateTime;
use diesel::sql_types::{BigInt, Timestamp};
use diesel::QueryableByName;

use crate::db::{Backend, DbBackend, DbConnection, Statement};
use crate::shop::codes::TradeStatus;
use crate::shop::ShopError;

use super::filter::{OrderFilter, OrderTime};

/// The orders a filter without an order number selects, as the ordered range it walks:
/// one time, optionally one status, between two bounds (`[from, until)`, either open).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Listing {
    /// The time the listing is ordered by and bounded on.
    pub time: OrderTime,
    /// Only this status.
    pub status: Option<TradeStatus>,
    /// From, inclusive.
    pub from: Option<NaiveDateTime>,
    /// Until, exclusive.
    pub until: Option<NaiveDateTime>,
}

/// A position in a listing's order: the order's time, then its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, QueryableByName)]
pub struct Key {
    /// The listing's time of the order.
    #[diesel(sql_type = Timestamp)]
    pub at: NaiveDateTime,
    /// The order's id.
    #[diesel(sql_type = BigInt)]
    pub id: i64,
}

/// The connection a page reads through, noting the plan of each statement it runs
/// when asked to (for the bench and for checking plans).
pub(super) struct Reading<'c> {
    /// The connection.
    pub conn: &'c mut DbConnection,
    /// The plans noted so far, when noting.
    pub plans: Option<Vec<(String, Vec<String>)>>,
}

impl<'c> Reading<'c> {
    /// Reads without noting plans.
    pub fn new(conn: &'c mut DbConnection) -> Self {
        Self { conn, plans: None }
    }

    /// Reads noting the plan of each statement before it runs.
    pub fn explained(conn: &'c mut DbConnection) -> Self {
        Self {
            conn,
            plans: Some(Vec::new()),
        }
    }

    /// The plans noted, each with what its statement is for.
    pub fn into_plans(self) -> Vec<(String, Vec<String>)> {
        self.plans.unwrap_or_default()
    }

    /// Notes the plan of `query` (when noting) under `label`, once per label: a far page
    /// runs the same count a score of times.
    pub fn note<Q: diesel::query_builder::QueryFragment<DbBackend>>(
        &mut self,
        label: &str,
        query: &Q,
    ) -> Result<(), ShopError> {
        if let Some(plans) = &mut self.plans {
            if !plans.iter().any(|(noted, _)| noted == label) {
                plans.push((label.to_owned(), crate::db::explain(self.conn, query)?));
            }
        }
        Ok(())
    }

    /// Runs `statement` and reads its rows.
    pub fn rows<T>(&mut self, label: &str, statement: &Statement<'_>) -> Result<Vec<T>, ShopError>
    where
        T: QueryableByName<diesel::pg::Pg> + QueryableByName<diesel::sqlite::Sqlite> + 'static,
    {
        self.note(label, statement)?;
        Ok(statement.rows(self.conn)?)
    }
}

/// Which way a walk goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Direction {
    /// Ascending, from `at` (inclusive) when given.
    Forward,
    /// Descending, from just before `at` when given.
    Backward,
}

impl Direction {
    /// ` ORDER BY time, id` in this direction, the time named `column`.
    fn order_by(self, column: &str) -> String {
        let way = match self {
            Self::Forward => "",
            Self::Backward => " DESC",
        };
        format!(" ORDER BY {column}{way}, id{way}")
    }
}

impl Listing {
    /// The listing of `filter`; `None` for an exact order-number lookup.
    pub fn of(filter: &OrderFilter) -> Option<Self> {
        if filter.plat_order_no.is_some() {
            return None;
        }
        Some(match filter.window {
            Some(window) => Self {
                time: window.time,
                status: filter.status,
                from: Some(window.from),
                until: Some(window.until),
            },
            None => Self {
                time: OrderTime::Modified,
                status: filter.status,
                from: None,
                until: None,
            },
        })
    }

    /// The column of `orders` holding the listing's time.
    pub(super) fn column(&self) -> &'static str {
        match self.time {
            OrderTime::Modified => "modified_at",
            OrderTime::Created => "created_at",
        }
    }

    /// Appends the conditions on `orders` of the listing's shop and status.
    pub(super) fn shop_and_status<'a>(&self, statement: &mut Statement<'a>, shop_id: i64) {
        statement.sql(" WHERE shop_id = ").bind(shop_id);
        if let Some(status) = self.status {
            statement.sql(" AND trade_status = ").bind(status.code());
        }
    }

    /// Appends ` AND time OP value`.
    pub(super) fn time_bound(&self, statement: &mut Statement<'_>, op: &str, value: NaiveDateTime) {
        statement
            .sql(&format!(" AND {} {op} ", self.column()))
            .bind(value);
    }

    /// Appends ` AND (time, id) OP (key)`: a row-value comparison both databases walk
    /// an index (time, id) from.
    pub(super) fn key_bound(&self, statement: &mut Statement<'_>, op: &str, key: Key) {
        statement
            .sql(&format!(" AND ({}, id) {op} (", self.column()))
            .bind(key.at)
            .sql(", ")
            .bind(key.id)
            .sql(")");
    }

    /// Appends ` AND time = key's time AND id OP key's id`: the orders sharing the key's
    /// time (written with it by one statement) on one side of it. SQLite seeks an index on
    /// (time, id) by the time alone for a row-value bound when the id is the row id, and
    /// then reads every order of that time; this bound it seeks by both.
    pub(super) fn tied_bound(&self, statement: &mut Statement<'_>, op: &str, key: Key) {
        self.time_bound(statement, "=", key.at);
        statement.sql(&format!(" AND id {op} ")).bind(key.id);
    }

    /// Up to `limit` keys of the listing, walking in `direction` from `at` and skipping
    /// the first `skip` (see [`Listing::walk_statement`]).
    pub(super) fn walk(
        &self,
        reading: &mut Reading<'_>,
        shop_id: i64,
        direction: Direction,
        at: Option<Key>,
        skip: i64,
        limit: i64,
    ) -> Result<Vec<Key>, ShopError> {
        let label = match (direction, at) {
            (Direction::Forward, None) => "ids of the page, walking from the first order",
            (Direction::Backward, None) => "ids of the page, walking back from the last order",
            (Direction::Forward, Some(_)) => "ids of the page, walking from a key",
            (Direction::Backward, Some(_)) => {
                "key of the page's first order, walking back from an anchor"
            }
        };
        let statement =
            self.walk_statement(reading.conn.backend(), shop_id, direction, at, skip, limit);
        reading.rows(label, &statement)
    }

    /// The statement of a walk: up to `limit` keys (`at`, `id`) of the listing in
    /// `direction` from `at`, skipping the first `skip`, in that order. The key bound
    /// replaces the window bound on its side, so the index range starts at the key (a
    /// database uses one lower bound for the seek).
    pub(super) fn walk_statement(
        &self,
        backend: Backend,
        shop_id: i64,
        direction: Direction,
        at: Option<Key>,
        skip: i64,
        limit: i64,
    ) -> Statement<'static> {
        let mut statement = match (backend, at) {
            (Backend::Sqlite, Some(key)) => self.walk_from_tied(shop_id, direction, key),
            _ => self.walk_in_one_range(shop_id, direction, at),
        };
        statement
            .sql(" LIMIT ")
            .bind(limit)
            .sql(" OFFSET ")
            .bind(skip);
        statement
    }

    /// The listing's first key (`Forward`) or its last (`Backward`).
    pub(super) fn end(
        &self,
        reading: &mut Reading<'_>,
        shop_id: i64,
        direction: Direction,
    ) -> Result<Option<Key>, ShopError> {
        let label = match direction {
            Direction::Forward => "first order of the listing",
            Direction::Backward => "last order of the listing",
        };
        let mut statement = self.walk_in_one_range(shop_id, direction, None);
        statement.sql(" LIMIT 1");
        Ok(reading.rows::<Key>(label, &statement)?.into_iter().next())
    }

    /// The walk as one index range, from a key by a row-value bound (which PostgreSQL
    /// seeks to exactly).
    fn walk_in_one_range(
        &self,
        shop_id: i64,
        direction: Direction,
        at: Option<Key>,
    ) -> Statement<'static> {
        let column = self.column();
        let mut statement = Statement::new();
        statement.sql(&format!("SELECT {column} AS at, id FROM orders"));
        self.shop_and_status(&mut statement, shop_id);
        let (lower, upper) = match direction {
            Direction::Forward => (at, None),
            Direction::Backward => (None, at),
        };
        match (lower, self.from) {
            (Some(key), _) => self.key_bound(&mut statement, ">=", key),
            (None, Some(from)) => self.time_bound(&mut statement, ">=", from),
            (None, None) => {}
        }
        match (upper, self.until) {
            (Some(key), _) => self.key_bound(&mut statement, "<", key),
            (None, Some(until)) => self.time_bound(&mut statement, "<", until),
            (None, None) => {}
        }
        statement.sql(&direction.order_by(column));
        statement
    }

    /// The walk from a key as two index ranges merged in order: the orders of the key's
    /// own time on its side of its id (see [`Listing::tied_bound`]), then the later (or
    /// earlier) times. With a row-value bound SQLite would read every order sharing the
    /// key's time first: a whole import batch, a thousand orders, on every page after an
    /// anchor inside one.
    fn walk_from_tied(&self, shop_id: i64, direction: Direction, key: Key) -> Statement<'static> {
        let (id_op, time_op) = match direction {
            Direction::Forward => (">=", ">"),
            Direction::Backward => ("<", "<"),
        };
        let mut statement = Statement::new();
        for tied in [true, false] {
            if !tied {
                statement.sql(" UNION ALL ");
            }
            statement.sql(&format!("SELECT {} AS at, id FROM orders", self.column()));
            self.shop_and_status(&mut statement, shop_id);
            if tied {
                self.tied_bound(&mut statement, id_op, key);
            } else {
                self.time_bound(&mut statement, time_op, key.at);
            }
            match (direction, self.from, self.until) {
                (Direction::Forward, _, Some(until)) => {
                    self.time_bound(&mut statement, "<", until);
                }
                (Direction::Backward, Some(from), _) => {
                    self.time_bound(&mut statement, ">=", from);
                }
                _ => {}
            }
        }
        statement.sql(&direction.order_by("at"));
        statement
    }
}
