//! The jobs of every Jushuitan shop, run inside `polymall serve` at their intervals.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::jobs::{pull_refunds, pull_shipping, pull_stock, push_orders, ShopSync};
use super::{JushuitanClient, Session};
use crate::config::JushuitanShopConfig;
use crate::db::Database;
use crate::shop::shops::Shop;

/// A name for this process when it claims outbox rows.
pub fn worker_name() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "polymall".to_owned());
    format!("{host}:{}", std::process::id())
}

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
            owner: worker_name(),
        })
    }
}

/// Starts the four jobs of a shop; they stop when `stop` turns true (a running job
/// finishes its step first).
pub fn spawn_shop_jobs(sync: ShopSync, stop: watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
    let sync = Arc::new(sync);
    let every = |secs: u64| Duration::from_secs(secs);
    vec![
        spawn_loop(
            "jushuitan push-orders",
            every(sync.config.push_interval_secs),
            stop.clone(),
            sync.clone(),
            |s| async move { push_orders(&s).await.map(|r| format!("{r:?}")) },
        ),
        spawn_loop(
            "jushuitan pull-stock",
            every(sync.config.stock_interval_secs),
            stop.clone(),
            sync.clone(),
            |s| async move { pull_stock(&s).await.map(|n| format!("{n} codes updated")) },
        ),
        spawn_loop(
            "jushuitan pull-shipping",
            every(sync.config.shipping_interval_secs),
            stop.clone(),
            sync.clone(),
            |s| async move {
                pull_shipping(&s)
                    .await
                    .map(|n| format!("{n} orders shipped"))
            },
        ),
        spawn_loop(
            "jushuitan pull-refunds",
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

fn spawn_loop<F, Fut>(
    name: &'static str,
    interval: Duration,
    mut stop: watch::Receiver<bool>,
    sync: Arc<ShopSync>,
    step: F,
) -> JoinHandle<()>
where
    F: Fn(Arc<ShopSync>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<String, super::SyncError>> + Send,
{
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = stop.changed() => return,
            }
            if *stop.borrow() {
                return;
            }
            match step(sync.clone()).await {
                Ok(summary) => {
                    tracing::info!(job = name, shop = %sync.shop.code, %summary, "job done")
                }
                Err(error) => {
                    tracing::warn!(job = name, shop = %sync.shop.code, %error, "job failed; next run retries")
                }
            }
        }
    })
}
