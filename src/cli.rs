//! What each CLI command does; `main.rs` only parses arguments.

use std::path::Path;

use anyhow::Context;

use crate::config::Config;
use crate::db::Database;
use crate::intake::{self, DocumentKind, ImportSource};
use crate::shop::shops;
use crate::Application;

/// `polymall serve`
pub fn serve(config: Config) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let app = Application::build(config).await?;
        app.run_until_stopped().await?;
        Ok(())
    })
}

/// `polymall migrate`
pub fn migrate(config: &Config) -> anyhow::Result<()> {
    let db = Database::connect(&config.database)?;
    let applied = db.migrate()?;
    if applied.is_empty() {
        println!("database is up to date");
    }
    for name in applied {
        println!("applied {name}");
    }
    Ok(())
}

/// Opens the database ready for use: migrated, configured shops stored.
fn open(config: &Config) -> anyhow::Result<Database> {
    let db = Database::connect(&config.database)?;
    db.migrate()?;
    let mut conn = db.get()?;
    shops::sync_declared(&mut conn, &config.shops)?;
    Ok(db)
}

/// `polymall import --shop CODE KIND FILE`
pub fn import(
    config: &Config,
    shop_code: &str,
    kind: DocumentKind,
    file: &Path,
) -> anyhow::Result<()> {
    let db = open(config)?;
    let shop = {
        let mut conn = db.get()?;
        shops::find_by_code(&mut conn, shop_code)?
    };
    let source = if file == Path::new("-") {
        ImportSource::Stdin
    } else {
        ImportSource::File(file.to_owned())
    };
    let started = std::time::Instant::now();
    let imported = intake::import(&db, &shop, kind, &source)?;
    println!(
        "{}: {} created, {} updated ({} documents in {:.1} s)",
        shop.code,
        imported.counts.created,
        imported.counts.updated,
        imported.documents,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `polymall shop list`
pub fn shop_list(config: &Config) -> anyhow::Result<()> {
    let db = open(config)?;
    let mut conn = db.get()?;
    let all = shops::list(&mut conn)?;
    println!("{:<20} {:<8} {:<10} NAME", "CODE", "OFFSET", "CONFIGURED");
    for shop in all {
        let offset =
            crate::config::UtcOffset::from_minutes(shop.utc_offset_minutes).unwrap_or_default();
        let configured = if config.shop(&shop.code).is_some() {
            "yes"
        } else {
            "no"
        };
        println!(
            "{:<20} {:<8} {:<10} {}",
            shop.code,
            offset.to_string(),
            configured,
            shop.name
        );
    }
    Ok(())
}

/// The Jushuitan jobs runnable from the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum JushuitanJob {
    /// Push changed orders (drains the outbox).
    PushOrders,
    /// Pull available stock into the SKUs.
    PullStock,
    /// Pull shipments of pushed orders.
    PullShipping,
    /// Pull after-sale records into refunds.
    PullRefunds,
}

/// `polymall sync jushuitan JOB --shop CODE`
pub fn sync_jushuitan(config: &Config, shop_code: &str, job: JushuitanJob) -> anyhow::Result<()> {
    use crate::jushuitan::jobs::{self, ShopSync};
    let shop_config = config
        .shop(shop_code)
        .with_context(|| format!("shop `{shop_code}` is not in the configuration"))?;
    let jushuitan = shop_config
        .jushuitan
        .clone()
        .with_context(|| format!("shop `{shop_code}` has no [shops.jushuitan] section"))?;
    let db = open(config)?;
    let shop = {
        let mut conn = db.get()?;
        shops::find_by_code(&mut conn, shop_code)?
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let sync = ShopSync::new(db, shop, jushuitan)?;
        let summary = match job {
            JushuitanJob::PushOrders => {
                let report = jobs::push_orders(&sync).await?;
                format!(
                    "{} sent, {} refused, {} held, {} deferred",
                    report.sent, report.refused, report.held, report.deferred
                )
            }
            JushuitanJob::PullStock => {
                format!("{} stock codes updated", jobs::pull_stock(&sync).await?)
            }
            JushuitanJob::PullShipping => {
                format!("{} orders shipped", jobs::pull_shipping(&sync).await?)
            }
            JushuitanJob::PullRefunds => {
                format!("{} refunds stored", jobs::pull_refunds(&sync).await?)
            }
        };
        println!("{shop_code}: {summary}");
        Ok(())
    })
}

fn shop_id_of(db: &Database, code: Option<&str>) -> anyhow::Result<Option<i64>> {
    match code {
        None => Ok(None),
        Some(code) => {
            let mut conn = db.get()?;
            Ok(Some(shops::find_by_code(&mut conn, code)?.id))
        }
    }
}

/// `polymall outbox list`
pub fn outbox_list(
    config: &Config,
    shop: Option<&str>,
    state: Option<String>,
    limit: i64,
) -> anyhow::Result<()> {
    use crate::outbox::{self, OutboxFilter};
    if let Some(state) = &state {
        anyhow::ensure!(
            ["pending", "held", "dead", "done"].contains(&state.as_str()),
            "--state `{state}` is not one of pending, held, dead, done"
        );
    }
    let db = open(config)?;
    let filter = OutboxFilter {
        shop_id: shop_id_of(&db, shop)?,
        state,
        limit,
    };
    let mut conn = db.get()?;
    let rows = outbox::list(&mut conn, &filter)?;
    println!(
        "{:<8} {:<10} {:<15} {:<24} {:<8} {:>8}  {:<19}  LAST ERROR",
        "ID", "TARGET", "KIND", "SUBJECT", "STATE", "ATTEMPTS", "NEXT ATTEMPT (UTC)"
    );
    for row in rows {
        println!(
            "{:<8} {:<10} {:<15} {:<24} {:<8} {:>8}  {:<19}  {}",
            row.id,
            row.target,
            row.kind,
            row.subject,
            row.state,
            row.attempts,
            row.next_attempt_at.format("%Y-%m-%d %H:%M:%S"),
            row.last_error.unwrap_or_default()
        );
    }
    Ok(())
}

/// `polymall outbox retry`
pub fn outbox_retry(
    config: &Config,
    ids: Vec<i64>,
    all_dead: bool,
    shop: Option<&str>,
) -> anyhow::Result<()> {
    use crate::outbox::{self, RetryWhich};
    anyhow::ensure!(
        all_dead == ids.is_empty(),
        "give either --id N (repeatable) or --all-dead"
    );
    let db = open(config)?;
    let which = if all_dead {
        RetryWhich::AllDead(shop_id_of(&db, shop)?)
    } else {
        RetryWhich::Ids(ids)
    };
    let mut conn = db.get()?;
    let count = outbox::retry(&mut conn, &which)?;
    println!("{count} rows re-armed");
    Ok(())
}

/// The warehouse jobs runnable from the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum WmsJob {
    /// Send changed products (singleitem.synchronize).
    PushItems,
    /// Send paid orders and cancellations (deliveryorder.create, order.cancel).
    PushOrders,
    /// Pull stock (inventory.query).
    PullStock,
}

/// `polymall sync wms JOB --shop CODE`
pub fn sync_wms(config: &Config, shop_code: &str, job: WmsJob) -> anyhow::Result<()> {
    use crate::qimen::jobs::{self, WmsSync};
    let wms = config
        .shop(shop_code)
        .with_context(|| format!("shop `{shop_code}` is not in the configuration"))?
        .wms
        .clone()
        .with_context(|| format!("shop `{shop_code}` has no [shops.wms] section"))?;
    let db = open(config)?;
    let shop = {
        let mut conn = db.get()?;
        shops::find_by_code(&mut conn, shop_code)?
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let sync = WmsSync::new(db, shop, wms)?;
        let summary = match job {
            WmsJob::PushItems => format!("{:?}", jobs::push_items(&sync).await?),
            WmsJob::PushOrders => format!("{:?}", jobs::push_orders(&sync).await?),
            WmsJob::PullStock => format!("{} stock codes updated", jobs::pull_stock(&sync).await?),
        };
        println!("{shop_code}: {summary}");
        Ok(())
    })
}
