//! Both migration folders hold the same migrations, and both apply cleanly twice.

use polymall::db::{migration_names, MigrationBackend};

use crate::helpers::{database, Backend, TestDb};
use crate::on_both_backends;

fn folder_names(backend: &str) -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(backend);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("migration folder")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    for name in &names {
        for file in ["up.sql", "down.sql"] {
            assert!(
                dir.join(name).join(file).exists(),
                "{backend}/{name}/{file} is missing"
            );
        }
    }
    names
}

#[test]
fn both_folders_hold_the_same_migrations() {
    let sqlite = folder_names("sqlite");
    let postgres = folder_names("postgres");
    assert!(!sqlite.is_empty());
    assert_eq!(
        sqlite, postgres,
        "migrations/sqlite and migrations/postgres differ"
    );
    let embedded_sqlite = migration_names(MigrationBackend::Sqlite);
    let embedded_postgres = migration_names(MigrationBackend::Postgres);
    assert_eq!(embedded_sqlite, embedded_postgres);
    assert_eq!(embedded_sqlite.len(), sqlite.len());
}

on_both_backends! {
    migrations_apply_once => apply_twice;
}

async fn apply_twice(backend: Backend) {
    let Some(db) = TestDb::new(backend) else {
        return;
    };
    let database = database(&db.url);
    let first = database.migrate().expect("first migration");
    assert_eq!(first.len(), migration_names(MigrationBackend::Sqlite).len());
    let second = database.migrate().expect("second migration");
    assert!(second.is_empty(), "{second:?}");
}
