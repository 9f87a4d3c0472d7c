//! The shop database: one connection type over SQLite and PostgreSQL, a pool, the
//! embedded migrations, and the bridge that runs diesel work off the async executor.

mod connection;
mod deadline;
mod explain;
mod id_order;
mod ids_in;
mod loopback;
mod migrations;
pub mod schema;
mod statement;
mod turns;

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::Connection;

pub(crate) use connection::load_directly;
pub use connection::{Backend, ConnectionManager, DbConnection};
pub use explain::{explain, forget_statistics};
pub use id_order::in_id_order;
pub use ids_in::{ids_in, IdsIn};
pub use migrations::{migration_names, MigrationBackend};
pub use statement::{runs, Row, Statement, Value, ROW_RUNS};
pub use turns::{Taken, Turns};

use crate::config::DatabaseConfig;

/// The diesel backend of [`DbConnection`], for boxed queries written once for both databases.
pub type DbBackend = <DbConnection as Connection>::Backend;

/// A pooled connection.
pub type PooledConnection = r2d2::PooledConnection<ConnectionManager>;

/// A text from outside as a row can keep it: without NUL, which PostgreSQL text cannot
/// hold (a partner's message may carry one), and at most `max` characters.
pub fn kept_text(text: &str, max: usize) -> String {
    text.chars().filter(|c| *c != '\0').take(max).collect()
}

/// Failures of the database layer.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// No connection could be had within the pool timeout.
    #[error("database unavailable: {0}")]
    Pool(#[from] r2d2::Error),
    /// A statement failed.
    #[error("database query failed: {0}")]
    Query(diesel::result::Error),
    /// The SQLite file's directory does not exist (SQLite would only say it cannot open
    /// the file).
    #[error("database file `{file}`: the directory `{directory}` does not exist")]
    MissingDirectory {
        /// The configured file.
        file: String,
        /// Its directory.
        directory: String,
    },
    /// A command that does not create the database found no SQLite file (only `serve`
    /// and `migrate` create one, so a mistyped or relative path is not silently a new,
    /// empty database).
    #[error("database file `{0}` does not exist; `polymall migrate` or `polymall serve` creates it (a relative path is taken from the working directory)")]
    NoSuchFile(String),
    /// The work's deadline passed before it could finish; nothing of it was written.
    #[error("the deadline passed before the work finished; nothing was written")]
    DeadlinePassed,
    /// Work taking turns ([`Turns`]) was not committed because an earlier turn failed.
    #[error("not committed: an earlier batch failed")]
    EarlierTurnFailed,
    /// Migrations could not be applied.
    #[error("database migration failed: {0}")]
    Migration(String),
    /// The blocking task running the work panicked or was cancelled.
    #[error("database task did not finish: {0}")]
    Task(String),
}

/// A failing statement of work whose deadline has passed is reported as the deadline:
/// the statement failed because its time ran out (a lock wait cut short, a statement
/// timeout), and the caller must learn that nothing was written, not that the database
/// is down.
impl From<diesel::result::Error> for DbError {
    fn from(error: diesel::result::Error) -> Self {
        if deadline::passed() {
            tracing::debug!(%error, "statement failed after the deadline");
            Self::DeadlinePassed
        } else {
            Self::Query(error)
        }
    }
}

/// State kept beside one database for as long as it is open, one value per type.
type Shared = Mutex<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>;

/// The shop database: a connection pool plus the backend it talks to, state kept beside
/// it, and optionally the deadline that bounds the work run through it.
#[derive(Clone)]
pub struct Database {
    pool: r2d2::Pool<ConnectionManager>,
    backend: Backend,
    pool_timeout: Duration,
    deadline: Option<Instant>,
    shared: Arc<Shared>,
    rendered_orders_bytes: u64,
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
        let new_file = connection::sqlite_file(config.url.expose()).filter(|file| !file.exists());
        let db = Self::open(config)?;
        if new_file.is_some() {
            tracing::warn!(file = %config.location(), "created a new, empty SQLite database");
        }
        Ok(db)
    }

    /// Opens the pool like [`Database::connect`], but refuses a SQLite file that does not
    /// exist instead of creating it (every command but `serve` and `migrate`).
    pub fn connect_existing(config: &DatabaseConfig) -> Result<Self, DbError> {
        if connection::sqlite_file(config.url.expose()).is_some_and(|file| !file.exists()) {
            return Err(DbError::NoSuchFile(config.location()));
        }
        Self::open(config)
    }

    fn open(config: &DatabaseConfig) -> Result<Self, DbError> {
        if let Some(file) = connection::sqlite_file(config.url.expose()) {
            let directory = file.parent().filter(|dir| !dir.as_os_str().is_empty());
            if let Some(directory) = directory.filter(|dir| !dir.is_dir()) {
                return Err(DbError::MissingDirectory {
                    file: file.display().to_string(),
                    directory: directory.display().to_string(),
                });
            }
        }
        let manager = ConnectionManager::new(
            config.url.expose(),
            Duration::from_millis(config.statement_timeout_ms),
        );
        let backend = manager.backend();
        // No idle connections are kept up in the background: a pool refilling itself
        // while the process exits leaves a thread inside libpq's TLS code as its exit
        // handlers tear that down, which crashes the process. Connections are made when
        // asked for and then kept.
        let pool = r2d2::Pool::builder()
            .max_size(config.pool_size)
            .min_idle(Some(0))
            .idle_timeout(None)
            .connection_timeout(Duration::from_millis(config.pool_timeout_ms))
            .test_on_check_out(false)
            .event_handler(Box::new(crate::metrics::PoolEvents))
            .build(manager)?;
        // The first connection is made now, so a wrong URL fails at start.
        drop(pool.get()?);
        Ok(Self {
            pool,
            backend,
            pool_timeout: Duration::from_millis(config.pool_timeout_ms),
            deadline: None,
            shared: Arc::default(),
            rendered_orders_bytes: config.rendered_orders_mib.saturating_mul(1024 * 1024),
        })
    }

    /// The same database, with every piece of work run through it bounded by
    /// `deadline`: waits end there, and a write transaction still open then is rolled
    /// back, so work either commits before the deadline or writes nothing.
    pub fn with_deadline(&self, deadline: Instant) -> Self {
        Self {
            deadline: Some(deadline),
            ..self.clone()
        }
    }

    /// Which backend this database is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Connections open and idle in the pool, and its largest size.
    pub fn pool_state(&self) -> (u32, u32, u32) {
        let state = self.pool.state();
        (
            state.connections,
            state.idle_connections,
            self.pool.max_size(),
        )
    }

    /// Bytes of rendered orders to keep beside this database (`rendered_orders_mib`).
    pub fn rendered_orders_bytes(&self) -> u64 {
        self.rendered_orders_bytes
    }

    /// The value of type `T` kept beside this database (created on first use): memory of
    /// what the database holds, such as where recently served pages begin, shared by every
    /// request on it and by no other database.
    pub fn shared<T: Default + Send + Sync + 'static>(&self) -> Arc<T> {
        self.shared_with(T::default)
    }

    /// Like [`Database::shared`], made by `make` on first use.
    pub fn shared_with<T: Send + Sync + 'static>(&self, make: impl FnOnce() -> T) -> Arc<T> {
        // A panic while holding the lock cannot leave the map half-changed.
        let mut shared = self
            .shared
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let value = shared
            .entry(TypeId::of::<T>())
            .or_insert_with(|| Arc::new(make()));
        // The map is keyed by the type it holds, so the value is a `T`.
        Arc::clone(value)
            .downcast::<T>()
            .unwrap_or_else(|_| unreachable!("the value kept for a type is of that type"))
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

    /// The migrations not yet applied.
    pub fn pending_migrations(&self) -> Result<Vec<String>, DbError> {
        let mut conn = self.get()?;
        migrations::pending(&mut conn)
    }

    /// Runs blocking diesel work on the blocking thread pool, inside the caller's span.
    pub async fn run<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let pool = self.pool.clone();
        let pool_timeout = self.pool_timeout;
        let deadline = self.deadline;
        let span = tracing::Span::current();
        let task = tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            let _deadline = deadline::enter(deadline);
            let mut conn = match deadline {
                None => pool.get().map_err(DbError::from)?,
                Some(at) => {
                    if Instant::now() >= at {
                        return Err(DbError::DeadlinePassed.into());
                    }
                    let wait = deadline::remaining(at).min(pool_timeout);
                    pool.get_timeout(wait).map_err(|error| {
                        if deadline::passed() {
                            DbError::DeadlinePassed
                        } else {
                            DbError::Pool(error)
                        }
                    })?
                }
            };
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

/// What [`refresh_statistics`] brings up to date on PostgreSQL (on SQLite both are
/// `PRAGMA optimize`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refresh {
    /// The planner's statistics of tables that grew only, from a small sample: between
    /// the batches of a large write, where a vacuum would compete with the writes it
    /// follows and the next batch needs only plans made for the tables' size (an analyse
    /// of a table also makes every connection plan its statements on that table anew).
    Statistics,
    /// The statistics and the visibility map: on a schedule, at start and after an
    /// import.
    StatisticsAndVisibility,
}

/// The statistics target of PostgreSQL's analyses between the batches of a large write
/// ([`Refresh::Statistics`]): the next batches' plans need the tables' size, which a small
/// sample tells as well, and a tenth of the default target reads and sorts a tenth of the
/// rows (at 100,000 orders 0.09 s instead of 0.84 s for the four largest tables). The
/// analyses at the end of an import, on the schedule and by autovacuum keep the server's
/// target.
const BETWEEN_BATCHES_STATISTICS_TARGET: u32 = 10;

/// Brings the query planner's statistics (and, on PostgreSQL, the visibility map) up to
/// date where the database has not.
///
/// SQLite keeps no statistics by itself: `PRAGMA optimize` analyses the tables that changed
/// much since they were last analysed, sampling at most a thousand rows of each index so it
/// stays quick on a large database. PostgreSQL's autovacuum analyses a table after a tenth
/// of it changed and vacuums it after inserts or dead rows of a fifth of it; where it is
/// off or behind, a table that holds rows and was never analysed (told by its size on disk,
/// as the activity counters arrive late), or grown to twice the size PostgreSQL last
/// counted, is analysed here, and (with
/// [`Refresh::StatisticsAndVisibility`]) one whose changes since its last analyse exceed
/// that size (the queue of count changes, which churns without growing, among them) is
/// analysed and one whose inserts or dead rows since its last vacuum pass the thresholds
/// autovacuum would vacuum it at — the table's own settings, else the server's (by default
/// 1,000 inserts or 50 dead rows, plus a fifth of the table) — is vacuumed. That matters
/// beyond plain plans: a connection keeps the plans it made of a statement (foreign-key
/// checks included) until the table's statistics change, and plans made while a table was
/// nearly empty scan it once it is large; and index-only scans read the table itself for
/// pages no vacuum has marked all-visible — a table vacuumed only when it doubled keeps up
/// to half of a sale's orders unmarked, and a page's count of the orders sharing its
/// anchor's time fetched each of them from the table. Run it on a schedule and between the
/// batches of a large write.
pub fn refresh_statistics(conn: &mut DbConnection, refresh: Refresh) -> Result<(), DbError> {
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
            // A table holding rows that no analyse or vacuum has counted (`reltuples` is
            // -1 until one does) is found by its size on disk, not by the activity
            // counters, which a writing session reports only every second or so: an import
            // used to store its first seconds of orders before they showed, the
            // foreign-key checks meanwhile walking a time index of `orders` (their plan,
            // made while the table was nearly empty, ties every index that starts with
            // `shop_id`). Autovacuum's thresholds, each the table's own setting where it
            // has one, else the server's.
            let thresholds = [
                "insert_threshold",
                "insert_scale_factor",
                "threshold",
                "scale_factor",
            ]
            .map(|name| {
                format!(
                    "COALESCE(MAX(option_value) FILTER (WHERE option_name = \
                     'autovacuum_vacuum_{name}'), \
                     current_setting('autovacuum_vacuum_{name}'))::float8 AS {name}"
                )
            })
            .join(", ");
            let stale: Vec<Stale> = Statement::new()
                .sql(
                    "SELECT name, vacuum FROM (SELECT quote_ident(s.relname) AS name, \
                         ((c.reltuples < 0 AND pg_relation_size(c.oid) > 0) \
                          OR (s.n_mod_since_analyze > 0 AND s.last_analyze IS NULL \
                               AND s.last_autoanalyze IS NULL) \
                          OR s.n_live_tup > 2 * GREATEST(500, c.reltuples)) AS grown, \
                         s.n_mod_since_analyze > GREATEST(1000, c.reltuples) AS changed, \
                         ((t.insert_threshold >= 0 AND s.n_ins_since_vacuum \
                               > t.insert_threshold + t.insert_scale_factor * s.n_live_tup) \
                          OR s.n_dead_tup > t.threshold + t.scale_factor * s.n_live_tup) \
                             AS vacuum \
                     FROM pg_stat_user_tables AS s \
                     JOIN pg_class AS c ON c.oid = s.relid \
                     CROSS JOIN LATERAL (SELECT ",
                )
                .sql(&thresholds)
                .sql(
                    " FROM pg_options_to_table(c.reloptions)) AS t \
                     WHERE s.schemaname = current_schema()) AS tables \
                     WHERE grown OR ((changed OR vacuum) AND ",
                )
                .bind(refresh == Refresh::StatisticsAndVisibility)
                .sql(")")
                .rows(conn)?;
            // Never wait: a table another connection is vacuuming or analysing is
            // skipped (it is being refreshed), and no trailing pages are truncated — that
            // needs the table to itself, and the queue of count changes, emptied every
            // second, always has trailing empty pages and always has writers, so a
            // refresh waited seconds for it while a sale's writes queued behind it.
            let sampled = refresh == Refresh::Statistics && !stale.is_empty();
            if sampled {
                conn.batch_execute(&format!(
                    "SET default_statistics_target = {BETWEEN_BATCHES_STATISTICS_TARGET}"
                ))?;
            }
            let refreshed = stale.iter().try_for_each(|table| {
                let command = if table.vacuum && refresh == Refresh::StatisticsAndVisibility {
                    "VACUUM (ANALYZE, SKIP_LOCKED, TRUNCATE false)"
                } else {
                    "ANALYZE (SKIP_LOCKED)"
                };
                conn.batch_execute(&format!("{command} {}", table.name))
            });
            // Reset whatever the analyses did: the connection goes back to the pool.
            if sampled {
                conn.batch_execute("RESET default_statistics_target")?;
            }
            refreshed?;
        }
    }
    Ok(())
}

/// Analyses `tables` now, for a caller that knows it has just filled them; on PostgreSQL
/// also vacuums them (`VACUUM (ANALYZE)`), marking the pages just written all-visible and
/// freeing the rows a queue emptied meanwhile.
///
/// By name rather than by the activity counters [`refresh_statistics`] goes by: those
/// reach the statistics views only seconds after the writes, so a refresh at the end of an
/// import missed its last batches, and the server's next scheduled refresh vacuumed them —
/// the count queue of a million-order import among them — while it served.
pub fn refresh_filled(conn: &mut DbConnection, tables: &[&str]) -> Result<(), DbError> {
    use diesel::connection::SimpleConnection;
    if tables.is_empty() {
        return Ok(());
    }
    let statements = match conn {
        DbConnection::Sqlite(_) => tables
            .iter()
            .map(|table| format!("ANALYZE {table};"))
            .collect(),
        // As the scheduled refresh does: no wait for a table being vacuumed elsewhere, no
        // truncation (which needs the table to itself).
        DbConnection::Pg(_) => format!(
            "VACUUM (ANALYZE, SKIP_LOCKED, TRUNCATE false) {}",
            tables.join(", ")
        ),
    };
    conn.batch_execute(&statements)?;
    Ok(())
}

/// Runs `work` in one read-only transaction, so several reads see the same data.
///
/// On PostgreSQL that is `REPEATABLE READ, READ ONLY` with generic plans, begun in one
/// statement (a snapshot for the whole transaction, not one per statement); on SQLite a deferred
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
        // Generic plans: a page's statements are kept prepared and would otherwise be
        // planned anew on every execution (PostgreSQL keeps making custom plans for range
        // bounds): 0.14 ms of a page's 0.49 ms in the server at one client. Each is an
        // index range in the index's order or a key lookup, whose plan does not depend on
        // the values.
        "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY; \
         SET LOCAL plan_cache_mode = force_generic_plan",
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
/// process serves one database, and write transactions never nest. A timed mutex, so a
/// writer with a deadline stops queueing when it passes.
static SQLITE_WRITERS: parking_lot::Mutex<()> = parking_lot::Mutex::new(());

/// Runs `work` in a transaction that takes the write lock up front.
///
/// On SQLite a deferred transaction that reads first and writes later fails with
/// `SQLITE_BUSY` when another writer got in between; `BEGIN IMMEDIATE` queues it behind
/// `busy_timeout` instead, after the writers of this process ahead of it
/// ([`SQLITE_WRITERS`]). On PostgreSQL this is a plain transaction.
///
/// Under a deadline ([`Database::with_deadline`]) every wait ends at the deadline (the
/// writer queue, `busy_timeout`, `statement_timeout`), and work that returns after it
/// is rolled back and answered with [`DbError::DeadlinePassed`] instead of committed.
pub fn write_transaction<T, E, F>(conn: &mut DbConnection, work: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<DbError>,
{
    let deadline = deadline::current();
    let _turn = match (&*conn, deadline) {
        (DbConnection::Pg(_), _) => None,
        (DbConnection::Sqlite(_), None) => Some(SQLITE_WRITERS.lock()),
        (DbConnection::Sqlite(_), Some(at)) => Some(
            SQLITE_WRITERS
                .try_lock_until(at)
                .ok_or(DbError::DeadlinePassed)?,
        ),
    };
    let restore = begin(conn, deadline).map_err(DbError::from)?;
    let result = work(conn);
    let outcome = match result {
        Ok(_) if deadline::passed() => {
            rollback(conn);
            Err(DbError::DeadlinePassed.into())
        }
        Ok(_) if !turns::wait_for_mine() => {
            rollback(conn);
            Err(DbError::EarlierTurnFailed.into())
        }
        Ok(value) => match commit(conn) {
            Ok(()) => Ok(value),
            Err(error) => {
                // A failed COMMIT leaves the transaction open on SQLite; close it so
                // the pooled connection is clean.
                rollback(conn);
                Err(DbError::from(error).into())
            }
        },
        Err(error) => {
            rollback(conn);
            Err(error)
        }
    };
    if let Some(busy_timeout) = restore {
        if let Err(error) = conn.batch_execute(&format!("PRAGMA busy_timeout = {busy_timeout}")) {
            tracing::warn!(%error, "could not restore SQLite's busy_timeout");
        }
    }
    outcome
}

/// Opens the write transaction; under a deadline its waits end there. Answers the
/// `busy_timeout` to restore afterwards on SQLite.
fn begin(
    conn: &mut DbConnection,
    deadline: Option<Instant>,
) -> Result<Option<i64>, diesel::result::Error> {
    match conn {
        DbConnection::Pg(pg) => {
            let sql = match deadline {
                None => "BEGIN".to_owned(),
                // One round trip; SET LOCAL ends with the transaction.
                Some(at) => format!(
                    "BEGIN; SET LOCAL statement_timeout = {}",
                    deadline::remaining_millis(at)
                ),
            };
            AnsiTransactionManager::begin_transaction_sql(pg, &sql)?;
            Ok(None)
        }
        DbConnection::Sqlite(sqlite) => {
            let restore = match deadline {
                None => None,
                Some(at) => {
                    let before = busy_timeout(sqlite)?;
                    sqlite.batch_execute(&format!(
                        "PRAGMA busy_timeout = {}",
                        deadline::remaining_millis(at)
                    ))?;
                    Some(before)
                }
            };
            if let Err(error) =
                AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE")
            {
                if let Some(before) = restore {
                    let _ = sqlite.batch_execute(&format!("PRAGMA busy_timeout = {before}"));
                }
                return Err(error);
            }
            Ok(restore)
        }
    }
}

fn commit(conn: &mut DbConnection) -> Result<(), diesel::result::Error> {
    match conn {
        DbConnection::Pg(pg) => AnsiTransactionManager::commit_transaction(pg),
        DbConnection::Sqlite(sqlite) => AnsiTransactionManager::commit_transaction(sqlite),
    }
}

fn rollback(conn: &mut DbConnection) {
    let result = match conn {
        DbConnection::Pg(pg) => AnsiTransactionManager::rollback_transaction(pg),
        DbConnection::Sqlite(sqlite) => AnsiTransactionManager::rollback_transaction(sqlite),
    };
    if let Err(error) = result {
        tracing::warn!(%error, "rollback failed");
    }
}

/// SQLite's current `busy_timeout` in milliseconds.
fn busy_timeout(conn: &mut diesel::sqlite::SqliteConnection) -> Result<i64, diesel::result::Error> {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct BusyTimeout {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        timeout: i64,
    }
    diesel::sql_query("PRAGMA busy_timeout")
        .get_result::<BusyTimeout>(conn)
        .map(|row| row.timeout)
}
