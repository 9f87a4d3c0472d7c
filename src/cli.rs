//! What each CLI command does; `main.rs` only parses arguments.
//!
//! Only `serve` and `migrate` create a SQLite database; every other command refuses a
//! file that does not exist, so a wrong or relative path is never a new, empty database.

mod backup;
mod check;
mod operator;
mod progress;

pub use backup::backup;
pub use check::check;
pub use operator::{operator_add, operator_password};

use std::io::IsTerminal;
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

/// Opens the database ready for use: migrated, the configured shops the database does
/// not have yet stored (the settings of stored shops are `serve`'s and the console's).
fn open(config: &Config) -> anyhow::Result<Database> {
    use crate::shop::settings::{self, Seeding};
    let db = Database::connect_existing(&config.database)?;
    db.migrate()?;
    let mut conn = db.get()?;
    settings::seed(&mut conn, &config.shops, Seeding::MissingOnly)?;
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
    let imported = if std::io::stderr().is_terminal() {
        let shown = progress::OnTerminal::new(started);
        let imported = intake::import(&db, &shop, kind, &source, &shown);
        shown.finish();
        imported
    } else {
        intake::import(&db, &shop, kind, &source, &intake::Quiet)
    }?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{}: {} created, {} updated ({} documents in {:.1} s, {:.0} a second)",
        shop.code,
        imported.counts.created,
        imported.counts.updated,
        imported.documents,
        seconds,
        imported.documents as f64 / seconds.max(0.001)
    );
    Ok(())
}

/// `polymall shop list`: every shop in the database, whether it is served and where
/// its settings come from.
pub fn shop_list(config: &Config) -> anyhow::Result<()> {
    let db = open(config)?;
    let mut conn = db.get()?;
    let all = shops::list(&mut conn)?;
    let stored = crate::shop::settings::load(&mut conn)?;
    println!(
        "{:<20} {:<8} {:<9} {:<9} NAME",
        "CODE", "OFFSET", "STATE", "SETTINGS"
    );
    for shop in all {
        let offset =
            crate::config::UtcOffset::from_minutes(shop.utc_offset_minutes).unwrap_or_default();
        let settings = stored.shops.iter().find(|s| s.shop.id == shop.id);
        let (state, origin) = match settings {
            Some(settings) if settings.enabled => ("enabled", settings.origin.code()),
            Some(settings) => ("disabled", settings.origin.code()),
            None => ("unserved", "none"),
        };
        println!(
            "{:<20} {:<8} {:<9} {:<9} {}",
            shop.code,
            offset.to_string(),
            state,
            origin,
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

/// The 金蝶云星空 (Kingdee) jobs runnable from the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum KingdeeJob {
    /// Book confirmed returns as sales returns (drains the outbox).
    PushReturns,
}

/// The scheduled name of a job picked on the command line, e.g. `jushuitan.pull-stock`.
pub fn job_name(integration: &str, job: impl clap::ValueEnum) -> String {
    let name = job
        .to_possible_value()
        .map(|value| value.get_name().to_owned())
        .unwrap_or_default();
    format!("{integration}.{name}")
}

/// `polymall sync INTEGRATION JOB --shop CODE`: runs one of the shop's periodic jobs
/// now with its stored settings, as `serve` would (unless a server is running it this
/// moment); it is next due one interval later.
pub fn sync(config: &Config, shop_code: &str, job: &str) -> anyhow::Result<()> {
    let db = open(config)?;
    let stored = {
        let mut conn = db.get()?;
        crate::shop::settings::find(&mut conn, shop_code)?
    };
    anyhow::ensure!(
        stored.enabled,
        "shop `{shop_code}` is disabled; it runs no jobs until it is enabled in the console"
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let jobs =
            crate::integrations::shop_jobs(&db, &stored.shop, &stored.settings, stored.version)?;
        let found = jobs.iter().find(|candidate| candidate.name == job);
        let Some(found) = found else {
            let configured: Vec<&str> = jobs.iter().map(|candidate| candidate.name).collect();
            anyhow::bail!(
                "shop `{shop_code}` has no job `{job}`; its jobs are: {}",
                if configured.is_empty() {
                    "none (no integration is configured)".to_owned()
                } else {
                    configured.join(", ")
                }
            );
        };
        let summary = crate::schedule::run_now(&db, found).await?;
        println!(
            "{shop_code}: {job}: {}",
            if summary.is_empty() { "done" } else { &summary }
        );
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
    let state = state
        .map(|text| text.parse::<outbox::State>())
        .transpose()
        .map_err(|why| anyhow::anyhow!("--state {why}"))?;
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
