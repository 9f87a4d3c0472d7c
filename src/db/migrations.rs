//! Embedded migrations, one folder per backend with the same names.

use diesel::connection::SimpleConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use super::{DbConnection, DbError};

const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Arbitrary constant naming polymall's migration lock among PostgreSQL advisory locks.
const POSTGRES_MIGRATION_LOCK: i64 = 0x706f_6c79_6d61_6c6c;

/// The migration set of one backend.
#[derive(Debug, Clone, Copy)]
pub enum MigrationBackend {
    /// `migrations/sqlite`
    Sqlite,
    /// `migrations/postgres`
    Postgres,
}

/// Names of the embedded migrations of one backend, in order.
pub fn migration_names(backend: MigrationBackend) -> Vec<String> {
    use diesel::migration::MigrationSource;
    let source = match backend {
        MigrationBackend::Sqlite => SQLITE,
        MigrationBackend::Postgres => POSTGRES,
    };
    let migrations = match backend {
        MigrationBackend::Sqlite => MigrationSource::<diesel::sqlite::Sqlite>::migrations(&source)
            .map(|all| all.iter().map(|m| m.name().to_string()).collect()),
        MigrationBackend::Postgres => MigrationSource::<diesel::pg::Pg>::migrations(&source)
            .map(|all| all.iter().map(|m| m.name().to_string()).collect()),
    };
    migrations.unwrap_or_default()
}

/// Names of the migrations not yet applied.
pub(super) fn pending(conn: &mut DbConnection) -> Result<Vec<String>, DbError> {
    let failed = |e: Box<dyn std::error::Error + Send + Sync>| DbError::Migration(e.to_string());
    match conn {
        DbConnection::Sqlite(conn) => conn
            .pending_migrations(SQLITE)
            .map(|all| all.iter().map(|m| m.name().to_string()).collect())
            .map_err(failed),
        DbConnection::Pg(conn) => conn
            .pending_migrations(POSTGRES)
            .map(|all| all.iter().map(|m| m.name().to_string()).collect())
            .map_err(failed),
    }
}

/// Applies what is pending and answers the names applied.
pub(super) fn run_pending(conn: &mut DbConnection) -> Result<Vec<String>, DbError> {
    let failed = |e: Box<dyn std::error::Error + Send + Sync>| DbError::Migration(e.to_string());
    match conn {
        DbConnection::Sqlite(conn) => {
            let applied = conn.run_pending_migrations(SQLITE).map_err(failed)?;
            Ok(applied.iter().map(ToString::to_string).collect())
        }
        DbConnection::Pg(conn) => {
            // Several servers may start at once against one database: one migrates,
            // the others wait and then find nothing pending.
            conn.batch_execute(&format!(
                "SELECT pg_advisory_lock({POSTGRES_MIGRATION_LOCK})"
            ))?;
            let result = conn
                .run_pending_migrations(POSTGRES)
                .map(|applied| applied.iter().map(ToString::to_string).collect())
                .map_err(failed);
            conn.batch_execute(&format!(
                "SELECT pg_advisory_unlock({POSTGRES_MIGRATION_LOCK})"
            ))?;
            result
        }
    }
}
