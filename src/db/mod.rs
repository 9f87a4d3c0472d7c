//! The shop database: one connection type over SQLite and PostgreSQL, a pool, the
//! embedded migrations, and the bridge that runs diesel work off the async executor.

mod connection;
mod explain;
mod ids_in;
mod migrations;
pub mod schema;
mod statement;

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::Connection;

pub use connection::{Backend, ConnectionManager, DbConnection};
pub use explain::explain;
pub use ids_in::{ids_in, IdsIn};
pub use migrations::{migration_names, MigrationBackend};
pub use statement::{runs, Row, Statement, Value, ROW_RUNS};

use crate::config::DatabaseConfig;

/// The diesel backend of [`DbConnection`], for boxed queries written once for both databases.
pub type DbBackend = <DbConnection as Connection>::Backend;

/// A pooled connection.
pub type PooledConnection = r2d2::PooledConnection<ConnectionManager>;

/// Failures of the database layer.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// No connection could be had within the pool timeout.
    #[error("database unavailable: {0}")]
    Pool(#[from] r2d2::Error),
    /// A statement failed.
    #[error("database query failed: {0}")]
    Query(#[from] diesel::result::Error),
    /// Migrations could not be applied.
    #[error("database migration failed: {0}")]
    Migration(String),
    /// The blocking task running the work panicked or was cancelled.
    #[error("database task did not finish: {0}")]
    Task(String),
}

/// State kept beside one database for as long as it is open, one value per type.
type Shared = Mutex<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>;

/// The shop database: a connection pool plus the backend it talks to.
#[derive(Clone)]
pub struct Database {
    pool: r2d2::Pool<ConnectionManager>,
    backend: Backend,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("backend", &self.backend)
            .field("state", &self.pool.state())
            .finish()
    }
}

impl Database {
    /// Opens the pool for `config.url` (a file path => SQLite, `postgres://` => PostgreSQL).
    /// The first connection is made here, so a wrong URL fails at start, not at the first request.
    pub fn connect(config: &DatabaseConfig) -> Result<Self, DbError> {
        let manager = ConnectionManager::new(
            config.url.expose(),
            Duration::from_millis(config.statement_timeout_ms),
        );
        let backend = manager.backend();
        let pool = r2d2::Pool::builder()
            .max_size(config.pool_size)
            .min_idle(Some(1))
            .connection_timeout(Duration::from_millis(config.pool_timeout_ms))
            .test_on_check_out(false)
            .build(manager)?;
        Ok(Self {
            pool,
            backend,
            shared: Arc::default(),
        })
    }

    /// Which backend this database is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The value of type `T` kept beside this database (created on first use): memory of
    /// what the database holds, such as where recently served pages begin, shared by every
    /// request on it and by no other database.
    pub fn shared<T: Default + Send + Sync + 'static>(&self) -> Arc<T> {
        // A panic while holding the lock cannot leave the map half-changed.
        let mut shared = self
            .shared
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let value = shared
            .entry(TypeId::of::<T>())
            .or_insert_with(|| Arc::new(T::default()));
        match Arc::clone(value).downcast::<T>() {
            Ok(value) => value,
            // The map is keyed by the type it holds; this arm only satisfies the types.
            Err(_) => Arc::new(T::default()),
        }
    }

    /// A connection for blocking code (CLI, workers already on a blocking thread).
    pub fn get(&self) -> Result<PooledConnection, DbError> {
        Ok(self.pool.get()?)
    }

    /// Applies pending migrations and answers the names of those it applied.
    pub fn migrate(&self) -> Result<Vec<String>, DbError> {
        let mut conn = self.get()?;
        migrations::run_pending(&mut conn)
    }

    /// Runs blocking diesel work on the blocking thread pool, inside the caller's span.
    pub async fn run<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let pool = self.pool.clone();
        let span = tracing::Span::current();
        let task = tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            let mut conn = pool.get().map_err(DbError::from)?;
            work(&mut conn)
        });
        match task.await {
            Ok(result) => result,
            Err(join) => Err(DbError::Task(join.to_string()).into()),
        }
    }

    /// Answers whether the database takes a trivial query (for `/readyz`).
    pub async fn ping(&self) -> Result<(), DbError> {
        self.run(|conn| {
            use diesel::RunQueryDsl;
            diesel::sql_query("SELECT 1").execute(conn)?;
            Ok::<_, DbError>(())
        })
        .await
    }
}

/// Brings the query planner's statistics (and, on PostgreSQL, the visibility map) up to
/// date where the database has not.
///
/// SQLite keeps no statistics by itself: `PRAGMA optimize` analyses the tables that
/// changed much since they were last analysed, sampling at most a thousand rows of each
/// index so it stays quick on a large database. PostgreSQL's autovacuum analyses a table
/// after a tenth of it changed and vacuums it after inserts and deletes; where it is off
/// or behind, a table never analysed since it was written, or whose changes since its
/// last analyse (or inserts and dead rows since its last vacuum) exceed its size, is
/// analysed (or vacuumed and analysed) here. That matters beyond plain plans: a
/// connection keeps the plans it made of a statement (foreign-key checks included) until
/// the table's statistics change, and plans made while a table was nearly empty scan it
/// once it is large; and index-only scans read the table itself for pages no vacuum has
/// marked all-visible. Run it on a schedule and after each batch of a large import.
pub fn refresh_statistics(conn: &mut DbConnection) -> Result<(), DbError> {
    use diesel::connection::SimpleConnection;
    match conn {
        DbConnection::Sqlite(_) => {
            conn.batch_execute("PRAGMA analysis_limit = 1000; PRAGMA optimize = 0x10002")?;
        }
        DbConnection::Pg(_) => {
            #[derive(diesel::QueryableByName)]
            struct Stale {
                #[diesel(sql_type = diesel::sql_types::Text)]
                name: String,
                #[diesel(sql_type = diesel::sql_types::Bool)]
                vacuum: bool,
            }
            let stale: Vec<Stale> = Statement::new()
                .sql(
                    "SELECT quote_ident(relname) AS name, \
                         (n_ins_since_vacuum > GREATEST(1000, n_live_tup) \
                          OR n_dead_tup > GREATEST(1000, n_live_tup)) AS vacuum \
                     FROM pg_stat_user_tables WHERE schemaname = current_schema() \
                     AND ((n_mod_since_analyze > 0 AND last_analyze IS NULL \
                               AND last_autoanalyze IS NULL) \
                          OR n_mod_since_analyze > GREATEST(1000, n_live_tup) \
                          OR n_ins_since_vacuum > GREATEST(1000, n_live_tup) \
                          OR n_dead_tup > GREATEST(1000, n_live_tup))",
                )
                .rows(conn)?;
            for table in stale {
                let command = if table.vacuum {
                    "VACUUM (ANALYZE)"
                } else {
                    "ANALYZE"
                };
                conn.batch_execute(&format!("{command} {}", table.name))?;
            }
        }
    }
    Ok(())
}

/// Runs `work` in one read-only transaction, so several reads see the same data.
///
/// On PostgreSQL that is `REPEATABLE READ, READ ONLY`, begun in one statement (a
/// snapshot for the whole transaction, not one per statement); on SQLite a deferred
/// transaction (WAL gives it one snapshot). Inside a caller's transaction it is a
/// savepoint and the caller's snapshot holds.
pub fn read_transaction<T, E, F>(conn: &mut DbConnection, work: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    type Manager = <DbConnection as Connection>::TransactionManager;
    let outermost = Manager::transaction_manager_status_mut(conn)
        .transaction_depth()
        .map(|depth| depth.is_none())
        .unwrap_or(false);
    let DbConnection::Pg(inner) = conn else {
        return conn.transaction(work);
    };
    if !outermost {
        return conn.transaction(work);
    }
    AnsiTransactionManager::begin_transaction_sql(
        inner,
        "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY",
    )?;
    let result = work(conn);
    let DbConnection::Pg(inner) = conn else {
        return result;
    };
    match result {
        Ok(value) => {
            AnsiTransactionManager::commit_transaction(inner)?;
            Ok(value)
        }
        Err(error) => {
            AnsiTransactionManager::rollback_transaction(inner)?;
            Err(error)
        }
    }
}

/// Writers of this process to SQLite databases, queued in turn.
///
/// SQLite lets one writer in at a time; one that finds the lock taken waits in
/// `busy_timeout`'s sleeps of 1, 2, 5, 10, 15, 20, 25… ms however soon the lock frees,
/// which made a Send wait 30 ms behind three others that took 0.3 ms each. Queueing on
/// a mutex first hands the lock over as soon as it is free; other processes (an import)
/// still meet `busy_timeout`. One mutex for every SQLite database of the process: a
/// process serves one database, and write transactions never nest.
static SQLITE_WRITERS: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Runs `work` in a transaction that takes the write lock up front.
///
/// On SQLite a deferred transaction that reads first and writes later fails with
/// `SQLITE_BUSY` when another writer got in between; `BEGIN IMMEDIATE` queues it behind
/// `busy_timeout` instead, after the writers of this process ahead of it
/// ([`SQLITE_WRITERS`]). On PostgreSQL this is a plain transaction.
pub fn write_transaction<T, E, F>(conn: &mut DbConnection, work: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    if !matches!(conn, DbConnection::Sqlite(_)) {
        return conn.transaction(work);
    }
    // A writer that panicked left nothing behind the mutex to protect: carry on.
    let _turn = SQLITE_WRITERS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let DbConnection::Sqlite(inner) = conn {
        AnsiTransactionManager::begin_transaction_sql(inner, "BEGIN IMMEDIATE")?;
    }
    let result = work(conn);
    let DbConnection::Sqlite(inner) = conn else {
        return result;
    };
    match result {
        Ok(value) => match AnsiTransactionManager::commit_transaction(inner) {
            Ok(()) => Ok(value),
            Err(commit) => {
                // A failed COMMIT leaves the transaction open on SQLite; close it so the
                // pooled connection is clean.
                let _ = AnsiTransactionManager::rollback_transaction(inner);
                Err(commit.into())
            }
        },
        Err(error) => {
            AnsiTransactionManager::rollback_transaction(inner)?;
            Err(error)
        }
    }
}
