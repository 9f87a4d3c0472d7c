//! Statements written as SQL text with bound values, for what diesel's query builder
//! cannot say for both backends at once: multi-row upserts, row-value comparisons,
//! unions of index ranges.
//!
//! Unlike `diesel::sql_query`, a [`Statement`] may be kept by the connection's prepared
//! statement cache, keyed by its text: a 256-row insert is parsed and planned once per
//! connection and then only bound and run. Callers keep the number of distinct texts
//! small (fixed row counts, a few shapes), so the cache stays small too.
//!
//! A statement runs on the backend's own connection, not through [`DbConnection`]'s
//! wrapper: the wrapper renders a query's text afresh for every pass diesel makes over it
//! (the cache key, the cache check, the binds), and a 256-row upsert's text is some
//! 13 KB and 6,000 values, so an import spent a good share of its time writing it.

use chrono::NaiveDateTime;
use diesel::backend::Backend;
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, Bool, HasSqlType, Integer, Nullable, Text, Timestamp, Untyped};
use diesel::sqlite::Sqlite;
use diesel::{QueryResult, QueryableByName, RunQueryDsl};

use super::DbConnection;

/// One bound value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    /// `BIGINT`
    BigInt(i64),
    /// `INTEGER`
    Integer(i32),
    /// `TEXT`
    Text(&'a str),
    /// `TEXT`, possibly `NULL`
    NullableText(Option<&'a str>),
    /// `TIMESTAMP`
    Timestamp(NaiveDateTime),
    /// `TIMESTAMP`, possibly `NULL`
    NullableTimestamp(Option<NaiveDateTime>),
    /// `BOOLEAN`
    Bool(bool),
}

impl From<i64> for Value<'_> {
    fn from(value: i64) -> Self {
        Self::BigInt(value)
    }
}

impl From<i32> for Value<'_> {
    fn from(value: i32) -> Self {
        Self::Integer(value)
    }
}

impl<'a> From<&'a str> for Value<'a> {
    fn from(value: &'a str) -> Self {
        Self::Text(value)
    }
}

impl<'a> From<&'a String> for Value<'a> {
    fn from(value: &'a String) -> Self {
        Self::Text(value)
    }
}

impl<'a> From<Option<&'a str>> for Value<'a> {
    fn from(value: Option<&'a str>) -> Self {
        Self::NullableText(value)
    }
}

impl<'a> From<&'a Option<String>> for Value<'a> {
    fn from(value: &'a Option<String>) -> Self {
        Self::NullableText(value.as_deref())
    }
}

impl From<NaiveDateTime> for Value<'_> {
    fn from(value: NaiveDateTime) -> Self {
        Self::Timestamp(value)
    }
}

impl From<Option<NaiveDateTime>> for Value<'_> {
    fn from(value: Option<NaiveDateTime>) -> Self {
        Self::NullableTimestamp(value)
    }
}

impl From<bool> for Value<'_> {
    fn from(value: bool) -> Self {
        Self::Bool(value)
    }
}

/// SQL text with values bound in place (each becomes `?` on SQLite, `$n` on PostgreSQL).
#[derive(Debug, Clone, Default)]
pub struct Statement<'a> {
    sql: String,
    /// Each value with the length of `sql` where it goes.
    binds: Vec<(usize, Value<'a>)>,
}

impl<'a> Statement<'a> {
    /// An empty statement.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends SQL text.
    pub fn sql(&mut self, text: &str) -> &mut Self {
        self.sql.push_str(text);
        self
    }

    /// Appends a bound value.
    pub fn bind(&mut self, value: impl Into<Value<'a>>) -> &mut Self {
        self.binds.push((self.sql.len(), value.into()));
        self
    }

    /// Appends another statement, its values bound where it binds them.
    pub fn append(&mut self, other: Statement<'a>) -> &mut Self {
        let at = self.sql.len();
        self.sql.push_str(&other.sql);
        self.binds.extend(
            other
                .binds
                .into_iter()
                .map(|(pos, value)| (at + pos, value)),
        );
        self
    }

    /// Appends `(v1, v2, …)` binding each of `values`.
    pub fn tuple<I>(&mut self, values: I) -> &mut Self
    where
        I: IntoIterator,
        I::Item: Into<Value<'a>>,
    {
        self.sql("(");
        for (i, value) in values.into_iter().enumerate() {
            if i > 0 {
                self.sql(", ");
            }
            self.bind(value);
        }
        self.sql(")")
    }

    /// Appends `(…), (…), …`, one tuple per row, each filled by `values`.
    pub fn tuples<R>(
        &mut self,
        rows: impl IntoIterator<Item = R>,
        mut values: impl FnMut(&mut Row<'_, 'a>, R),
    ) -> &mut Self {
        for (i, item) in rows.into_iter().enumerate() {
            self.sql(if i == 0 { "(" } else { ", (" });
            values(
                &mut Row {
                    statement: self,
                    first: true,
                },
                item,
            );
            self.sql(")");
        }
        self
    }

    /// Appends `a = excluded.a, b = excluded.b, …` for an upsert's `DO UPDATE SET`.
    pub fn set_excluded(&mut self, columns: &[&str]) -> &mut Self {
        for (i, column) in columns.iter().enumerate() {
            if i > 0 {
                self.sql(", ");
            }
            self.sql(column).sql(" = excluded.").sql(column);
        }
        self
    }

    /// The text with `?` where values go, for logs and plans.
    pub fn text(&self) -> String {
        let mut text = String::with_capacity(self.sql.len() + self.binds.len());
        let mut from = 0;
        for (at, _) in &self.binds {
            text.push_str(&self.sql[from..*at]);
            text.push('?');
            from = *at;
        }
        text.push_str(&self.sql[from..]);
        text
    }

    /// The values bound, in order.
    pub fn values(&self) -> impl Iterator<Item = &Value<'a>> {
        self.binds.iter().map(|(_, value)| value)
    }

    /// Runs the statement; answers the rows it changed.
    pub fn run(&self, conn: &mut DbConnection) -> QueryResult<usize> {
        match conn {
            DbConnection::Pg(conn) => self.execute(conn),
            DbConnection::Sqlite(conn) => self.execute(conn),
        }
    }

    /// Runs the statement and reads its rows by column name.
    pub fn rows<T>(&self, conn: &mut DbConnection) -> QueryResult<Vec<T>>
    where
        T: QueryableByName<Pg> + QueryableByName<Sqlite> + 'static,
    {
        super::load_directly!(conn, self)
    }
}

/// One row's values of a multi-row statement, separated by commas.
pub struct Row<'s, 'a> {
    statement: &'s mut Statement<'a>,
    first: bool,
}

impl<'a> Row<'_, 'a> {
    /// Binds the next value.
    pub fn value(&mut self, value: impl Into<Value<'a>>) -> &mut Self {
        if !std::mem::take(&mut self.first) {
            self.statement.sql(", ");
        }
        self.statement.bind(value);
        self
    }
}

/// Rows per multi-row statement: runs of 256, then 64, 16, 4 and 1 for the rest. A
/// statement of each size is prepared once per connection, so a batch of any size uses
/// at most five texts per statement shape. 256 rows of the widest table (orders, 24
/// values a row) stay far below either database's limit of bound values.
pub const ROW_RUNS: [usize; 5] = [256, 64, 16, 4, 1];

/// `items` split into runs of the sizes in [`ROW_RUNS`], in order.
pub fn runs<T>(items: &[T]) -> impl Iterator<Item = &[T]> {
    let mut rest = items;
    std::iter::from_fn(move || {
        let size = ROW_RUNS.into_iter().find(|size| rest.len() >= *size)?;
        let (run, after) = rest.split_at(size);
        rest = after;
        Some(run)
    })
}

impl<DB> QueryFragment<DB> for Statement<'_>
where
    DB: Backend
        + HasSqlType<BigInt>
        + HasSqlType<Integer>
        + HasSqlType<Text>
        + HasSqlType<Timestamp>
        + HasSqlType<Bool>,
    i64: ToSql<BigInt, DB>,
    i32: ToSql<Integer, DB>,
    str: ToSql<Text, DB>,
    NaiveDateTime: ToSql<Timestamp, DB>,
    bool: ToSql<Bool, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        let mut from = 0;
        for (at, value) in &self.binds {
            out.push_sql(&self.sql[from..*at]);
            from = *at;
            match value {
                Value::BigInt(v) => out.push_bind_param::<BigInt, _>(v)?,
                Value::Integer(v) => out.push_bind_param::<Integer, _>(v)?,
                Value::Text(v) => out.push_bind_param::<Text, _>(*v)?,
                Value::NullableText(v) => out.push_bind_param::<Nullable<Text>, _>(v)?,
                Value::Timestamp(v) => out.push_bind_param::<Timestamp, _>(v)?,
                Value::NullableTimestamp(v) => out.push_bind_param::<Nullable<Timestamp>, _>(v)?,
                Value::Bool(v) => out.push_bind_param::<Bool, _>(v)?,
            }
        }
        out.push_sql(&self.sql[from..]);
        Ok(())
    }
}

/// The text is the cache key; a `Statement` has no static identity.
impl QueryId for Statement<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for Statement<'_> {
    type SqlType = Untyped;
}

impl<Conn> RunQueryDsl<Conn> for &Statement<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_marks_each_value() {
        let mut statement = Statement::new();
        statement
            .sql("SELECT id FROM orders WHERE shop_id = ")
            .bind(1_i64)
            .sql(" AND plat_order_no IN ")
            .tuple(["a", "b"]);
        assert_eq!(
            statement.text(),
            "SELECT id FROM orders WHERE shop_id = ? AND plat_order_no IN (?, ?)"
        );
        assert_eq!(statement.values().count(), 3);
    }

    #[test]
    fn rows_and_runs() {
        let mut statement = Statement::new();
        statement
            .sql("INSERT INTO t (a, b) VALUES ")
            .tuples([(1_i64, "x"), (2, "y")], |row, (a, b)| {
                row.value(a).value(b);
            })
            .sql(" ON CONFLICT (a) DO UPDATE SET ")
            .set_excluded(&["b"]);
        assert_eq!(
            statement.text(),
            "INSERT INTO t (a, b) VALUES (?, ?), (?, ?) ON CONFLICT (a) DO UPDATE SET b = excluded.b"
        );
        let items: Vec<usize> = (0..346).collect();
        let sizes: Vec<usize> = runs(&items).map(<[usize]>::len).collect();
        assert_eq!(sizes, vec![256, 64, 16, 4, 4, 1, 1]);
        assert_eq!(runs(&items).flatten().count(), 346);
        assert_eq!(runs::<usize>(&[]).count(), 0);
    }
}
