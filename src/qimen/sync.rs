//! What the jobs of one warehouse shop share, and how they fail.

use chrono::FixedOffset;

use super::client::{WmsClient, WmsError};
use crate::config::WmsShopConfig;
use crate::db::Database;
use crate::outbox;
use crate::shop::shops::Shop;
use crate::shop::ShopError;
use crate::time::{format_shop_time, now_utc};

/// Failures of a warehouse job step.
#[derive(Debug, thiserror::Error)]
pub enum WmsSyncError {
    /// The warehouse failed or refused.
    #[error("warehouse: {0}")]
    Remote(#[from] WmsError),
    /// The shop database failed.
    #[error(transparent)]
    Shop(#[from] ShopError),
    /// The outbox failed.
    #[error(transparent)]
    Outbox(#[from] outbox::OutboxError),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] crate::db::DbError),
}

/// Everything a warehouse job of one shop needs.
#[derive(Debug)]
pub struct WmsSync {
    /// The shop database.
    pub db: Database,
    /// The shop.
    pub shop: Shop,
    /// Its warehouse settings.
    pub config: WmsShopConfig,
    /// The client.
    pub client: WmsClient,
    /// Who claims outbox rows.
    pub owner: String,
}

impl WmsSync {
    /// Everything the jobs of `shop` need.
    pub fn new(db: Database, shop: Shop, config: WmsShopConfig) -> Result<Self, WmsError> {
        let client = WmsClient::new(&config)?;
        Ok(Self {
            db,
            shop,
            config,
            client,
            owner: crate::schedule::worker_name(),
        })
    }

    /// The shop's time zone.
    pub fn offset(&self) -> FixedOffset {
        self.shop.offset()
    }

    /// Now, as the warehouse's requests carry it.
    pub fn timestamp(&self) -> String {
        format_shop_time(now_utc(), self.offset())
    }
}
