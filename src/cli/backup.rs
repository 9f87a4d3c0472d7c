//! `polymall backup FILE`: a consistent copy of a SQLite database, taken while servers
//! keep using it (SQLite's `VACUUM INTO` reads one snapshot and writes a compact file).

use std::path::Path;

use anyhow::Context;
use diesel::sql_types::Text;
use diesel::RunQueryDsl;

use crate::config::Config;
use crate::db::{Backend, Database, DbConnection};

/// `polymall backup FILE`
pub fn backup(config: &Config, file: &Path) -> anyhow::Result<()> {
    anyhow::ensure!(
        Backend::of_url(config.database.url.expose()) == Backend::Sqlite,
        "the database is PostgreSQL: back it up with pg_dump (see README, Backups)"
    );
    anyhow::ensure!(
        !file.exists(),
        "{} exists; name a new file (a backup never overwrites one)",
        file.display()
    );
    if let Some(directory) = file.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        anyhow::ensure!(
            directory.is_dir(),
            "the directory {} does not exist",
            directory.display()
        );
    }
    let db = Database::connect_existing(&config.database)?;
    let mut conn = db.get()?;
    let DbConnection::Sqlite(sqlite) = &mut *conn else {
        anyhow::bail!("the database is not SQLite");
    };
    diesel::sql_query("VACUUM INTO ?")
        .bind::<Text, _>(file.to_string_lossy().into_owned())
        .execute(sqlite)
        .with_context(|| format!("cannot copy the database to {}", file.display()))?;
    let size = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
    println!(
        "copied {} to {} ({size} bytes)",
        config.database.location(),
        file.display()
    );
    Ok(())
}
