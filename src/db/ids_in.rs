//! `column IN (?, ?, …)` over ids that the connection's statement cache keeps.
//!
//! diesel's `eq_any` marks a query with an `IN` list as never to be cached on SQLite (the
//! text changes with the number of ids), so every page re-parsed and re-planned its
//! three reads of orders, lines and pickup codes. Here the list is padded to a power of
//! two by repeating its last id (which changes nothing of the answer), so a page of 30
//! always runs the same text for 32 ids and each text is prepared once per connection.

use diesel::backend::Backend;
use diesel::expression::{AppearsOnTable, Expression, ValidGrouping};
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, Bool, HasSqlType};
use diesel::QueryResult;

/// `column IN (ids…)`, padded; see the module documentation.
#[derive(Debug, Clone)]
pub struct IdsIn<C> {
    column: C,
    ids: Vec<i64>,
}

/// `column IN (ids…)`; an empty `ids` matches nothing.
pub fn ids_in<C>(column: C, ids: &[i64]) -> IdsIn<C> {
    let mut padded = ids.to_vec();
    // `IN ()` is not SQL; an id no row has (ids are positive) matches nothing.
    let last = ids.last().copied().unwrap_or(0);
    padded.resize(ids.len().max(1).next_power_of_two(), last);
    IdsIn {
        column,
        ids: padded,
    }
}

impl<C: Expression<SqlType = BigInt>> Expression for IdsIn<C> {
    type SqlType = Bool;
}

impl<C: AppearsOnTable<QS>, QS> AppearsOnTable<QS> for IdsIn<C> where IdsIn<C>: Expression {}

impl<C: ValidGrouping<GB>, GB> ValidGrouping<GB> for IdsIn<C> {
    type IsAggregate = C::IsAggregate;
}

impl<C, DB> QueryFragment<DB> for IdsIn<C>
where
    C: QueryFragment<DB>,
    DB: Backend + HasSqlType<BigInt>,
    i64: ToSql<BigInt, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        self.column.walk_ast(out.reborrow())?;
        out.push_sql(" IN (");
        for (i, id) in self.ids.iter().enumerate() {
            if i > 0 {
                out.push_sql(", ");
            }
            out.push_bind_param::<BigInt, i64>(id)?;
        }
        out.push_sql(")");
        Ok(())
    }
}

/// No static identity: the cache keys the statement by its text.
impl<C> QueryId for IdsIn<C> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_padded_to_a_power_of_two() {
        assert_eq!(ids_in((), &[5, 6, 7]).ids, vec![5, 6, 7, 7]);
        assert_eq!(ids_in((), &[]).ids, vec![0]);
        assert_eq!(ids_in((), &(1..=30).collect::<Vec<_>>()).ids.len(), 32);
    }
}
