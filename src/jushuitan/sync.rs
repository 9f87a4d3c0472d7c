//! What the jobs of one Jushuitan shop share: the database, the shop, its settings and
//! its session.

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
}
