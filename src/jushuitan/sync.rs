//! What the jobs of one Jushuitan shop share: the database, the shop, its settings and
//! its session.

use serde_json::Value;

use super::after_sales::shop_of;
use crate::config::JushuitanShopConfig;
use crate::db::Database;
use crate::shop::shops::Shop;

use super::{JstError, JushuitanClient, Session};

/// Everything a Jushuitan job of one shop needs.
#[derive(Debug)]
pub struct JstSync {
    /// The shop database.
    pub db: Database,
    /// The shop.
    pub shop: Shop,
    /// Its Jushuitan settings.
    pub config: JushuitanShopConfig,
    /// Its session.
    pub session: Session,
    /// Who claims outbox rows (host and process).
    pub owner: String,
}

impl JstSync {
    /// Everything the jobs of `shop` need.
    pub fn new(db: Database, shop: Shop, config: JushuitanShopConfig) -> Result<Self, JstError> {
        let client = JushuitanClient::new(&config)?;
        let session = Session::new(client, db.clone(), shop.id);
        Ok(Self {
            db,
            shop,
            config,
            session,
            owner: crate::schedule::worker_name(),
        })
    }

    /// Whether a record Jushuitan answered belongs to this shop: its `shop_id`, when it
    /// says one. Two shops of one company may hold the same online order number.
    pub fn holds(&self, record: &Value) -> bool {
        shop_of(record).is_none_or(|shop| shop.trim() == self.config.shop_id.to_string())
    }
}
