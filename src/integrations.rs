//! Every periodic job: the database's housekeeping and each shop's integrations, made
//! from the shop's settings. `serve` schedules them all; `polymall sync` runs one now.

use std::sync::Arc;
use std::time::Duration;

use crate::config::ShopConfig;
use crate::db::Database;
use crate::schedule::{Job, HOUSEKEEPING};
use crate::shop::shops::Shop;
use crate::{jushuitan, kingdee, qimen};

/// How often pending order count changes are folded into the counts: readers sum what
/// is pending, so it is kept to about a second of writes.
const ORDER_COUNT_FOLD_INTERVAL: Duration = Duration::from_secs(1);
/// How often the query planner's statistics are checked and refreshed where stale (a
/// check that finds nothing to do costs one small query).
const STATISTICS_INTERVAL: Duration = Duration::from_secs(60);
/// How long a housekeeping job may hold its claim before another process may take it over.
const HOUSEKEEPING_LEASE: Duration = Duration::from_secs(60);

/// An integration's client could not be set up.
#[derive(Debug, thiserror::Error)]
#[error("shop `{shop}`: {integration} client: {message}")]
pub struct IntegrationError {
    /// The shop.
    pub shop: String,
    /// Which integration.
    pub integration: &'static str,
    /// Why.
    pub message: String,
}

/// The database's own jobs, which every process schedules whatever its shops.
pub fn housekeeping(db: &Database) -> Vec<Job> {
    vec![fold_order_counts(db), refresh_statistics(db)]
}

/// The jobs of `shop`'s integrations, made from its settings of `version` (their
/// tasks are restarted when the version changes).
pub fn shop_jobs(
    db: &Database,
    shop: &Shop,
    settings: &ShopConfig,
    version: i64,
) -> Result<Vec<Job>, IntegrationError> {
    let failed = |integration, message: String| IntegrationError {
        shop: shop.code.clone(),
        integration,
        message,
    };
    let mut jobs = Vec::new();
    if let Some(jushuitan) = &settings.jushuitan {
        let sync = jushuitan::JstSync::new(db.clone(), shop.clone(), jushuitan.clone())
            .map_err(|e| failed("jushuitan", e.to_string()))?;
        jobs.extend(jushuitan::jobs(Arc::new(sync)));
    }
    if let Some(wms) = &settings.wms {
        let sync = qimen::WmsSync::new(db.clone(), shop.clone(), wms.clone())
            .map_err(|e| failed("warehouse", e.to_string()))?;
        jobs.extend(qimen::jobs(Arc::new(sync)));
    }
    if let Some(kingdee) = &settings.kingdee {
        let keys = kingdee::BookingKeys::of(settings);
        let sync = kingdee::KingdeeSync::new(db.clone(), shop.clone(), kingdee.clone(), keys)
            .map_err(|e| failed("kingdee", e.to_string()))?;
        jobs.extend(kingdee::jobs(Arc::new(sync)));
    }
    for job in &mut jobs {
        job.version = version;
    }
    Ok(jobs)
}

/// Folds the order count changes every process writes into the per-day counts.
fn fold_order_counts(db: &Database) -> Job {
    Job::new(
        (HOUSEKEEPING, "*"),
        "fold-order-counts",
        ORDER_COUNT_FOLD_INTERVAL,
        HOUSEKEEPING_LEASE,
        Arc::new(db.clone()),
        |db: Arc<Database>| async move {
            let folded = db.run(crate::shop::orders::fold_order_counts).await?;
            // Housekeeping with nothing to report stays out of the log.
            Ok::<_, crate::shop::ShopError>(if folded == 0 {
                String::new()
            } else {
                format!("{folded} order count changes folded")
            })
        },
    )
}

/// Keeps the query planner's statistics and PostgreSQL's visibility map fresh where the
/// database does not (SQLite's `PRAGMA optimize`; PostgreSQL tables autovacuum has not
/// analysed or vacuumed).
fn refresh_statistics(db: &Database) -> Job {
    Job::new(
        (HOUSEKEEPING, "*"),
        "refresh-statistics",
        STATISTICS_INTERVAL,
        HOUSEKEEPING_LEASE,
        Arc::new(db.clone()),
        |db: Arc<Database>| async move {
            db.run(|conn| {
                crate::db::refresh_statistics(conn, crate::db::Refresh::StatisticsAndVisibility)
                    .map(|()| String::new())
            })
            .await
        },
    )
}
