//! The query plan the database chooses for a statement, with its values bound as they
//! would be when it runs (for the bench and for checking that hot queries use an index).

use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{Text, Untyped};
use diesel::{QueryResult, QueryableByName, RunQueryDsl};

use super::{DbBackend, DbConnection};

/// `EXPLAIN` (PostgreSQL) or `EXPLAIN QUERY PLAN` (SQLite) in front of a query.
struct Explain<'q, Q> {
    query: &'q Q,
    prefix: &'static str,
}

impl<Q: QueryFragment<DbBackend>> QueryFragment<DbBackend> for Explain<'_, Q> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DbBackend>) -> QueryResult<()> {
        out.push_sql(self.prefix);
        self.query.walk_ast(out.reborrow())
    }
}

impl<Q> QueryId for Explain<'_, Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q> Query for Explain<'_, Q> {
    type SqlType = Untyped;
}

impl<Q, Conn> RunQueryDsl<Conn> for Explain<'_, Q> {}

#[derive(QueryableByName)]
struct SqlitePlanRow {
    #[diesel(sql_type = Text)]
    detail: String,
}

#[derive(QueryableByName)]
struct PostgresPlanRow {
    #[diesel(sql_type = Text)]
    #[diesel(column_name = "QUERY PLAN")]
    plan: String,
}

/// The plan of `query`, one line per step (SQLite's details, PostgreSQL's text lines).
pub fn explain<Q>(conn: &mut DbConnection, query: &Q) -> QueryResult<Vec<String>>
where
    Q: QueryFragment<DbBackend>,
{
    match conn {
        DbConnection::Sqlite(_) => Ok(Explain {
            query,
            prefix: "EXPLAIN QUERY PLAN ",
        }
        .load::<SqlitePlanRow>(conn)?
        .into_iter()
        .map(|row| row.detail)
        .collect()),
        DbConnection::Pg(_) => Ok(Explain {
            query,
            prefix: "EXPLAIN ",
        }
        .load::<PostgresPlanRow>(conn)?
        .into_iter()
        .map(|row| row.plan)
        .collect()),
    }
}

/// Removes the planner's statistics of the tables in the connection's schema (SQLite's
/// `sqlite_stat1`; PostgreSQL's `pg_statistic` and the sizes in `pg_class`, which needs a
/// superuser), so plans are chosen as on a database nothing has analysed yet. For showing
/// and checking such plans: run it inside a transaction that is rolled back.
pub fn forget_statistics(conn: &mut DbConnection) -> QueryResult<()> {
    use diesel::connection::SimpleConnection;
    match conn {
        DbConnection::Pg(_) => conn.batch_execute(
            "DELETE FROM pg_statistic WHERE starelid IN (SELECT oid FROM pg_class \
                 WHERE relnamespace = current_schema()::regnamespace); \
             UPDATE pg_class SET reltuples = -1, relpages = 0 \
                 WHERE relnamespace = current_schema()::regnamespace",
        ),
        // The first ANALYZE creates sqlite_stat1 where nothing did yet; the last makes the
        // connection read the emptied table.
        DbConnection::Sqlite(_) => conn.batch_execute(
            "ANALYZE sqlite_schema; DELETE FROM sqlite_stat1; ANALYZE sqlite_schema;",
        ),
    }
}
