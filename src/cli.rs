//! What each CLI command does; `main.rs` only parses arguments.

use std::io::Read;
use std::path::Path;

use anyhow::Context;

use crate::config::Config;
use crate::db::Database;
use crate::intake::{self, DocumentKind};
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
    let mut body = Vec::new();
    if file == Path::new("-") {
        std::io::stdin()
            .read_to_end(&mut body)
            .context("cannot read standard input")?;
    } else {
        body = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let counts = runtime
        .block_on(intake::ingest(&db, &shop, kind, &body, None))
        .with_context(|| format!("nothing imported from {}", file.display()))?;
    println!(
        "{}: {} created, {} updated",
        shop.code, counts.created, counts.updated
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
