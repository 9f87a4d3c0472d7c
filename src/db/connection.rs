//! The connection type over both backends and the pool manager that opens it.

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, ConnectionError};

/// A connection to either backend; shared queries are written once against it.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    /// PostgreSQL, for production.
    Pg(PgConnection),
    /// SQLite, the zero set-up default.
    Sqlite(SqliteConnection),
}

impl DbConnection {
    /// The database product this connection talks to.
    pub fn backend(&self) -> Backend {
        match self {
            Self::Pg(_) => Backend::Postgres,
            Self::Sqlite(_) => Backend::Sqlite,
        }
    }
}

/// Loads the rows of a query written with diesel's DSL on the backend's own connection:
/// `load_directly!(conn, query)`. The query is written once and built for each backend
/// (a select of `as_select()` names its backend).
///
/// For the hot reads: through [`DbConnection`], diesel renders a query's whole text again
/// for each pass it makes over it (the cache key, the cache check, the binds), which for
/// a page's wide joined read of 30 orders costs about what running it costs on SQLite.
macro_rules! load_directly {
    ($conn:expr, $query:expr) => {
        match $conn {
            $crate::db::DbConnection::Pg(conn) => diesel::RunQueryDsl::load($query, conn),
            $crate::db::DbConnection::Sqlite(conn) => diesel::RunQueryDsl::load($query, conn),
        }
    };
}
pub(crate) use load_directly;

/// Which database product a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// `postgres://` or `postgresql://`.
    Postgres,
    /// Anything else: a file path, optionally prefixed with `sqlite://`.
    Sqlite,
}

impl Backend {
    /// The backend a database URL names.
    pub fn of_url(url: &str) -> Self {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Self::Postgres
        } else {
            Self::Sqlite
        }
    }
}

/// The file a SQLite URL names (`None` for PostgreSQL).
pub(super) fn sqlite_file(url: &str) -> Option<&std::path::Path> {
    match Backend::of_url(url) {
        Backend::Postgres => None,
        Backend::Sqlite => Some(std::path::Path::new(
            url.strip_prefix("sqlite://").unwrap_or(url),
        )),
    }
}

/// r2d2 manager that opens the right backend and applies the per-connection settings.
#[derive(Debug)]
pub struct ConnectionManager {
    url: String,
    backend: Backend,
    statement_timeout: Duration,
}

impl ConnectionManager {
    /// A manager for `url`.
    pub fn new(url: &str, statement_timeout: Duration) -> Self {
        let backend = Backend::of_url(url);
        let url = match sqlite_file(url) {
            Some(file) => file.to_string_lossy().into_owned(),
            None => super::loopback::without_loopback_tls(url, super::loopback::tls_environment())
                .into_owned(),
        };
        Self {
            url,
            backend,
            statement_timeout,
        }
    }

    /// The backend this manager connects to.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    fn open(&self) -> Result<DbConnection, ConnectionError> {
        let millis = self.statement_timeout.as_millis();
        match self.backend {
            Backend::Postgres => {
                let mut conn = PgConnection::establish(&self.url)?;
                // The shop's pages are in memory or on SSD: at the default cost of a
                // random page (4, for spinning disks) PostgreSQL reads a small table whole
                // rather than look up a page's 30 orders by key.
                conn.batch_execute(&format!(
                    "SET statement_timeout = {millis}; SET TIME ZONE 'UTC'; \
                     SET random_page_cost = 1.1;"
                ))
                .map_err(ConnectionError::CouldntSetupConfiguration)?;
                Ok(DbConnection::Pg(conn))
            }
            Backend::Sqlite => {
                let mut conn = SqliteConnection::establish(&self.url)?;
                // WAL lets readers run beside the writer; NORMAL is durable across
                // process crashes in WAL mode; busy_timeout queues writers instead of failing.
                conn.batch_execute(&format!(
                    "PRAGMA busy_timeout = {millis}; PRAGMA journal_mode = WAL; \
                     PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;"
                ))
                .map_err(ConnectionError::CouldntSetupConfiguration)?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }
}

impl r2d2::ManageConnection for ConnectionManager {
    type Connection = DbConnection;
    type Error = ConnectionError;

    fn connect(&self) -> Result<DbConnection, ConnectionError> {
        self.open()
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), ConnectionError> {
        use diesel::r2d2::R2D2Connection;
        conn.ping()
            .map_err(ConnectionError::CouldntSetupConfiguration)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        use diesel::r2d2::R2D2Connection;
        conn.is_broken()
    }
}

#[cfg(test)]
mod tests {
    /// `.cargo/config.toml` builds the bundled SQLite in multi-thread mode; the pool never
    /// shares a connection between threads, so serialized mode's mutexes are not needed.
    #[test]
    fn sqlite_is_built_multi_threaded() {
        // SAFETY: reads a compile-time constant; no connection or state is involved.
        let mode = unsafe { libsqlite3_sys::sqlite3_threadsafe() };
        assert_eq!(mode, 2, "SQLITE_THREADSAFE should be 2 (multi-thread)");
    }

    /// `.cargo/config.toml` builds the bundled SQLite without STAT4, so a kept statement is
    /// not prepared again each time its bound values change.
    #[test]
    fn sqlite_is_built_without_histograms() {
        let name = std::ffi::CString::new("ENABLE_STAT4").expect("no NUL");
        // SAFETY: reads the library's compile-time options; `name` outlives the call.
        let used = unsafe { libsqlite3_sys::sqlite3_compileoption_used(name.as_ptr()) };
        assert_eq!(used, 0, "the bundled SQLite should be built without STAT4");
    }
}
