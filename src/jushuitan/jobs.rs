//! The jobs of one Jushuitan shop, started through [`jobs`]: push orders (the outbox
//! drain), pull stock, pull shipping, pull after-sales.

use std::sync::Arc;
use std::time::Duration;

use super::sync::JstSync;
use super::{pulls, push, shipping};
use crate::outbox;
use crate::schedule::Job;

/// The shop's Jushuitan jobs with their intervals. A job's lease is three call
/// timeouts, renewed while it runs.
pub fn jobs(sync: Arc<JstSync>) -> Vec<Job> {
    let shop = (sync.shop.id, sync.shop.code.as_str());
    let every = |secs: u64| Duration::from_secs(secs);
    let lease = outbox::lease(Duration::from_secs(sync.config.timeout_secs));
    vec![
        Job::new(
            shop,
            "jushuitan.push-orders",
            every(sync.config.push_interval_secs),
            lease,
            sync.clone(),
            |s| async move { push::push_orders(&s).await },
        ),
        Job::new(
            shop,
            "jushuitan.pull-stock",
            every(sync.config.stock_interval_secs),
            lease,
            sync.clone(),
            |s| async move {
                pulls::pull_stock(&s)
                    .await
                    .map(|n| format!("{n} SKUs and products changed"))
            },
        ),
        Job::new(
            shop,
            "jushuitan.pull-shipping",
            every(sync.config.shipping_interval_secs),
            lease,
            sync.clone(),
            |s| async move {
                shipping::pull_shipping(&s)
                    .await
                    .map(|n| format!("{n} parcels recorded"))
            },
        ),
        Job::new(
            shop,
            "jushuitan.pull-refunds",
            every(sync.config.refund_interval_secs),
            lease,
            sync.clone(),
            |s| async move {
                pulls::pull_refunds(&s)
                    .await
                    .map(|n| format!("{n} after-sales stored"))
            },
        ),
    ]
}
