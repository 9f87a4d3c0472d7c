//! Where a pull from a partner has got to, per shop and job: the end of the last window
//! stored, so the next pull starts there and a restart loses nothing; or, for a job that
//! goes through the shop's orders in turn, the (time, id) of the last order it took.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::ShopError;
use crate::db::schema::sync_cursors;
use crate::db::DbConnection;
use crate::time::now_utc;

/// The stored position of `job`, if it has one.
pub fn position(
    conn: &mut DbConnection,
    shop_id: i64,
    job: &str,
) -> Result<Option<NaiveDateTime>, ShopError> {
    Ok(sync_cursors::table
        .find((shop_id, job))
        .select(sync_cursors::position)
        .first(conn)
        .optional()?)
}

/// Moves `job`'s position to `to`.
pub fn advance(
    conn: &mut DbConnection,
    shop_id: i64,
    job: &str,
    to: NaiveDateTime,
) -> Result<(), ShopError> {
    store(conn, shop_id, job, to, 0)
}

/// The stored order position of `job`: the time and id of the last order it took.
pub fn order_position(
    conn: &mut DbConnection,
    shop_id: i64,
    job: &str,
) -> Result<Option<(NaiveDateTime, i64)>, ShopError> {
    Ok(sync_cursors::table
        .find((shop_id, job))
        .select((sync_cursors::position, sync_cursors::position_id))
        .first(conn)
        .optional()?)
}

/// Moves `job`'s order position to the order at `(at, id)`.
pub fn advance_to_order(
    conn: &mut DbConnection,
    shop_id: i64,
    job: &str,
    (at, id): (NaiveDateTime, i64),
) -> Result<(), ShopError> {
    store(conn, shop_id, job, at, id)
}

/// Forgets `job`'s position: it starts again from the beginning.
pub fn reset(conn: &mut DbConnection, shop_id: i64, job: &str) -> Result<(), ShopError> {
    diesel::delete(sync_cursors::table.find((shop_id, job))).execute(conn)?;
    Ok(())
}

fn store(
    conn: &mut DbConnection,
    shop_id: i64,
    job: &str,
    at: NaiveDateTime,
    id: i64,
) -> Result<(), ShopError> {
    let moved = diesel::update(sync_cursors::table.find((shop_id, job)))
        .set((
            sync_cursors::position.eq(at),
            sync_cursors::position_id.eq(id),
            sync_cursors::modified_at.eq(now_utc()),
        ))
        .execute(conn)?;
    if moved == 0 {
        diesel::insert_into(sync_cursors::table)
            .values((
                sync_cursors::shop_id.eq(shop_id),
                sync_cursors::job.eq(job),
                sync_cursors::position.eq(at),
                sync_cursors::position_id.eq(id),
                sync_cursors::modified_at.eq(now_utc()),
            ))
            .execute(conn)?;
    }
    Ok(())
}
