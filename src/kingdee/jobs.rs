//! The job of one Kingdee shop: push confirmed returns (the outbox drain).

use std::sync::Arc;
use std::time::Duration;

use super::push::{self, KingdeeSync};
use crate::outbox;
use crate::schedule::Job;

/// The shop's Kingdee job with its interval; its lease is three push timeouts.
pub fn jobs(sync: Arc<KingdeeSync>) -> Vec<Job> {
    let shop = (sync.shop.id, sync.shop.code.as_str());
    vec![Job::new(
        shop,
        "kingdee.push-returns",
        Duration::from_secs(sync.config.push_interval_secs),
        outbox::lease(Duration::from_secs(sync.config.timeout_secs)),
        sync.clone(),
        |s| async move { push::push_returns(&s).await },
    )]
}
