//! The jobs of every Jushuitan shop, run inside `polymall serve` at their intervals.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::jobs::{pull_refunds, pull_shipping, pull_stock, push_orders, ShopSync};
use super::{JushuitanClient, Session};
use crate::config::JushuitanShopConfig;
use crate::db::Database;
use crate::shop::shops::Shop;

impl ShopSync {
    /// Everything the jobs of `shop` need.
    pub fn new(
        db: Database,
        shop: Shop,
        config: JushuitanShopConfig,
    ) -> Result<Self, super::JstError> {
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

/// Starts the four jobs of a shop; they stop when `stop` turns true (a running job
/// finishes its step first).
pub fn spawn_shop_jobs(sync: ShopSync, stop: watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
    let sync = Arc::new(sync);
    let every = |secs: u64| Duration::from_secs(secs);
    vec![
        crate::schedule::every(
            "jushuitan push-orders",
            sync.shop.code.clone(),
            every(sync.config.push_interval_secs),
            stop.clone(),
            sync.clone(),
            |s| async move { push_orders(&s).await.map(|r| format!("{r:?}")) },
        ),
        crate::schedule::every(
            "jushuitan pull-stock",
            sync.shop.code.clone(),
            every(sync.config.stock_interval_secs),
            stop.clone(),
            sync.clone(),
            |s| async move { pull_stock(&s).await.map(|n| format!("{n} codes updated")) },
        ),
        crate::schedule::every(
            "jushuitan pull-shipping",
            sync.shop.code.clone(),
            every(sync.config.shipping_interval_secs),
            stop.clone(),
            sync.clone(),
            |s| async move {
                pull_shipping(&s)
                    .await
                    .map(|n| format!("{n} orders shipped"))
            },
        ),
        crate::schedule::every(
            "jushuitan pull-refunds",
            sync.shop.code.clone(),
            every(sync.config.refund_interval_secs),
            stop,
            sync,
            |s| async move {
                pull_refunds(&s)
                    .await
                    .map(|n| format!("{n} refunds stored"))
            },
        ),
    ]
}
