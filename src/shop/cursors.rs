//! Where a pull from a partner has got to, per shop and job: the end of the last window
//! stored, so the next pull starts there and a restart loses nothing.

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
    let moved = diesel::update(sync_cursors::table.find((shop_id, job)))
        .set((
            sync_cursors::position.eq(to),
            sync_cursors::modified_at.eq(now_utc()),
        ))
        .execute(conn)?;
    if moved == 0 {
        diesel::insert_into(sync_cursors::table)
            .values((
                sync_cursors::shop_id.eq(shop_id),
                sync_cursors::job.eq(job),
                sync_cursors::position.eq(to),
                sync_cursors::modified_at.eq(now_utc()),
            ))
            .execute(conn)?;
    }
    Ok(())
}
