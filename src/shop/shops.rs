//! Shops: the rows every shop-owned row points to; their settings are in
//! [`super::settings`].

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::ShopError;
use crate::db::schema::shops;
use crate::db::DbConnection;

/// Arbitrary constant naming the lock that serialises changes of shops and their
/// settings among PostgreSQL advisory locks.
pub(super) const DECLARE_LOCK: i64 = 0x706f_6c79_7368_6f70;

/// A shop as stored.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = shops)]
pub struct Shop {
    /// Internal id; every shop-owned row carries it.
    pub id: i64,
    /// Short stable code used in URLs and on the command line.
    pub code: String,
    /// Display name.
    pub name: String,
    /// The shop's time zone, minutes east of UTC.
    pub utc_offset_minutes: i32,
    /// When the shop was first stored.
    pub created_at: NaiveDateTime,
    /// When its settings last changed.
    pub modified_at: NaiveDateTime,
}

impl Shop {
    /// The shop's time zone, in which the wire's times are read and written.
    pub fn offset(&self) -> chrono::FixedOffset {
        crate::config::UtcOffset::from_minutes(self.utc_offset_minutes)
            .unwrap_or_default()
            .fixed()
    }
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
