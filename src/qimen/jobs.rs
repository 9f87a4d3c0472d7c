//! The jobs of one warehouse shop, started through [`jobs`]: push items, push orders
//! and cancellations (the outbox drain), pull stock.

use std::sync::Arc;
use std::time::Duration;

use super::sync::WmsSync;
use super::{pulls, push};
use crate::outbox;
use crate::schedule::Job;

/// The shop's warehouse jobs with their intervals. A job's lease is three call
/// timeouts, renewed while it runs.
pub fn jobs(sync: Arc<WmsSync>) -> Vec<Job> {
    let shop = (sync.shop.id, sync.shop.code.as_str());
    let push_every = Duration::from_secs(sync.config.push_interval_secs);
    let lease = outbox::lease(Duration::from_secs(sync.config.timeout_secs));
    vec![
        Job::new(
            shop,
            "wms.push-items",
            push_every,
            lease,
            sync.clone(),
            |s| async move { push::push_items(&s).await },
        ),
        Job::new(
            shop,
            "wms.push-orders",
            push_every,
            lease,
            sync.clone(),
            |s| async move { push::push_orders(&s).await },
        ),
        // Once a day by default: the warehouse refuses to be asked more often.
        Job::new(
            shop,
            "wms.pull-stock",
            Duration::from_secs(sync.config.stock_interval_secs),
            lease,
            sync.clone(),
            |s| async move {
                pulls::pull_stock(&s)
                    .await
                    .map(|n| format!("{n} SKUs and products changed"))
            },
        ),
    ]
}
