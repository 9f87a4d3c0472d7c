//! Shops: created and updated from the configuration at start.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::time::now_utc;
use super::ShopError;
use crate::config::ShopConfig;
use crate::db::schema::shops;
use crate::db::{write_transaction, DbConnection};

/// Arbitrary constant naming the lock that serialises shop declarations among
/// PostgreSQL advisory locks.
const DECLARE_LOCK: i64 = 0x706f_6c79_7368_6f70;

/// A shop as stored.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = shops)]
pub struct Shop {
    /// Internal id; every shop-owned row carries it.
    pub id: i64,
    /// The code from the configuration.
    pub code: String,
    /// Display name.
    pub name: String,
    /// The shop's time zone, minutes east of UTC.
    pub utc_offset_minutes: i32,
    /// When the shop was first declared.
    pub created_at: NaiveDateTime,
    /// When its settings last changed.
    pub modified_at: NaiveDateTime,
}

/// Creates the declared shops that do not exist and updates the name and time zone of
/// those that do, in one transaction. Shops no longer declared are kept (their data stays).
pub fn sync_declared(
    conn: &mut DbConnection,
    declared: &[ShopConfig],
) -> Result<Vec<Shop>, ShopError> {
    write_transaction(conn, |conn| {
        // Several servers starting at once on one PostgreSQL declare the same shops:
        // one at a time, so none trips over another's insert.
        if let DbConnection::Pg(pg) = conn {
            diesel::sql_query(format!("SELECT pg_advisory_xact_lock({DECLARE_LOCK})"))
                .execute(pg)?;
        }
        let now = now_utc();
        for shop in declared {
            let existing: Option<Shop> = shops::table
                .filter(shops::code.eq(&shop.code))
                .select(Shop::as_select())
                .first(conn)
                .optional()?;
            let offset = shop.utc_offset.minutes();
            // Which integrations the shop uses decides which changes enter the outbox.
            diesel::update(shops::table.filter(shops::code.eq(&shop.code)))
                .set((
                    shops::jushuitan_enabled.eq(shop.jushuitan.is_some()),
                    shops::wms_enabled.eq(shop.wms.is_some()),
                    shops::kingdee_enabled.eq(shop.kingdee.is_some()),
                ))
                .execute(conn)?;
            match existing {
                None => {
                    diesel::insert_into(shops::table)
                        .values((
                            shops::code.eq(&shop.code),
                            shops::name.eq(&shop.name),
                            shops::utc_offset_minutes.eq(offset),
                            shops::created_at.eq(now),
                            shops::modified_at.eq(now),
                        ))
                        .execute(conn)?;
                    diesel::update(shops::table.filter(shops::code.eq(&shop.code)))
                        .set((
                            shops::jushuitan_enabled.eq(shop.jushuitan.is_some()),
                            shops::wms_enabled.eq(shop.wms.is_some()),
                            shops::kingdee_enabled.eq(shop.kingdee.is_some()),
                        ))
                        .execute(conn)?;
                }
                Some(row) if row.name != shop.name || row.utc_offset_minutes != offset => {
                    diesel::update(shops::table.find(row.id))
                        .set((
                            shops::name.eq(&shop.name),
                            shops::utc_offset_minutes.eq(offset),
                            shops::modified_at.eq(now),
                        ))
                        .execute(conn)?;
                }
                Some(_) => {}
            }
        }
        list(conn)
    })
}

/// Every shop, by code.
pub fn list(conn: &mut DbConnection) -> Result<Vec<Shop>, ShopError> {
    Ok(shops::table
        .order(shops::code.asc())
        .select(Shop::as_select())
        .load(conn)?)
}

/// The shop with `code`.
pub fn find_by_code(conn: &mut DbConnection, code: &str) -> Result<Shop, ShopError> {
    shops::table
        .filter(shops::code.eq(code))
        .select(Shop::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| ShopError::UnknownShop(code.to_owned()))
}
