//! `polymall check`: is this configuration good to serve, and does its database
//! answer? Reads and starts nothing else, and creates no database.

use crate::config::Config;
use crate::db::{Backend, Database};

/// `polymall check`: prints one line per finding; fails when `serve` would not start.
pub fn check(config: &Config) -> anyhow::Result<()> {
    let file = config.source.as_deref().map_or_else(
        || "(no file: built-in defaults)".to_owned(),
        |path| path.display().to_string(),
    );
    println!("config       {file}: valid");
    let mut problems = Vec::new();
    if let Err(error) = config.check_for_serving() {
        problems.push(format!("serve would refuse it: {error}"));
    }
    println!("listen       {}", config.server.listen);
    for shop in &config.shops {
        let integrations = shop.integrations();
        println!("shop         {} ({})", shop.code, integrations.join(", "));
    }
    let on_off = |on: bool| if on { "on" } else { "off" };
    println!("admin API    {}", on_off(config.admin.token.is_some()));
    println!(
        "/metrics     {}",
        if config.metrics.token.is_some() {
            "bearer token"
        } else {
            "open"
        }
    );
    let location = config.database.location();
    let backend = Backend::of_url(config.database.url.expose());
    let file = config.database.url.expose();
    let file = std::path::Path::new(file.strip_prefix("sqlite://").unwrap_or(file));
    if backend == Backend::Sqlite && !file.exists() {
        let directory = file.parent().filter(|dir| !dir.as_os_str().is_empty());
        if directory.is_some_and(|dir| !dir.is_dir()) {
            problems.push(format!("database {location}: its directory does not exist"));
        } else {
            println!("database     sqlite {location}: does not exist yet; `serve` or `migrate` creates it");
        }
    } else {
        match Database::connect_existing(&config.database).and_then(|db| {
            let pending = db.pending_migrations()?;
            Ok((db, pending))
        }) {
            Ok((_, pending)) => {
                let kind = if backend == Backend::Sqlite {
                    "sqlite"
                } else {
                    "postgres"
                };
                println!(
                    "database     {kind} {location}: answers; {} migration(s) pending{}",
                    pending.len(),
                    if pending.is_empty() {
                        ""
                    } else {
                        " (serve or migrate applies them)"
                    }
                );
            }
            Err(error) => problems.push(format!("database {location}: {error}")),
        }
    }
    if problems.is_empty() {
        println!("ok");
        return Ok(());
    }
    for problem in &problems {
        println!("PROBLEM      {problem}");
    }
    anyhow::bail!("{} problem(s) found", problems.len())
}
