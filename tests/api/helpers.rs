//! Test databases, a running server, and a client for it.

use std::sync::atomic::{AtomicU64, Ordering};

use polymall::config::{Config, PolyapiShopConfig, Secret, ShopConfig};
use polymall::Application;
use serde_json::Value;

/// Admin token of every test server.
pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database of the test's own: a SQLite file in a temporary directory, or a
/// PostgreSQL schema created for it and dropped after.
pub struct TestDb {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    schema: Option<(String, String)>,
}

fn unique_name() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "t{}_{}_{}",
        std::process::id(),
        nanos,
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

impl TestDb {
    /// A fresh database, or `None` when the backend is not available here.
    pub fn new(backend: Backend) -> Option<Self> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = dir.path().join("shop.db").display().to_string();
                Some(Self {
                    url,
                    _dir: Some(dir),
                    schema: None,
                })
            }
            Backend::Postgres => {
                let base = postgres_url()?;
                let schema = unique_name();
                run_psql(&base, &format!("CREATE SCHEMA {schema}"));
                let url = with_parameter(&base, &format!("options=-csearch_path%3D{schema}"));
                Some(Self {
                    url,
                    _dir: None,
                    schema: Some((base, schema)),
                })
            }
        }
    }
}

impl TestDb {
    /// The same database under another handle that leaves it in place when dropped (for a
    /// second server beside the first).
    pub fn alias(&self) -> Self {
        Self {
            url: self.url.clone(),
            _dir: None,
            schema: None,
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((base, schema)) = &self.schema {
            run_psql(base, &format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
        }
    }
}

/// Runs one SQL statement against PostgreSQL through diesel (no psql binary needed).
fn run_psql(url: &str, sql: &str) {
    use diesel::connection::SimpleConnection;
    use diesel::Connection;
    let mut conn =
        diesel::pg::PgConnection::establish(url).expect("connect to POLYMALL_TEST_POSTGRES_URL");
    conn.batch_execute(sql).expect("schema statement");
}

/// Runs raw SQL on the test server's database (to break it on purpose).
pub fn execute_sql(app: &TestApp, sql: &str) {
    use diesel::connection::SimpleConnection;
    use diesel::Connection;
    if app.db.url.starts_with("postgres") {
        let mut conn = diesel::pg::PgConnection::establish(&app.db.url).expect("connect");
        conn.batch_execute(sql).expect("statement");
    } else {
        let mut conn = diesel::sqlite::SqliteConnection::establish(&app.db.url).expect("connect");
        // The server's jobs (the count fold every second, the outbox) write meanwhile: wait
        // for the lock as the server's own connections do instead of failing at once.
        conn.batch_execute(&format!(
            "PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = OFF; {sql}"
        ))
        .expect("statement");
    }
}

/// The configuration of a test server on `db`: one shop `demo`, admin token set.
pub fn test_config(db: &TestDb) -> Config {
    let mut config = Config::default();
    config.server.listen = "127.0.0.1:0".to_owned();
    config.server.workers = 2;
    config.database.url = Secret::new(db.url.clone());
    config.database.pool_size = 4;
    config.admin.token = Some(Secret::new(ADMIN_TOKEN));
    config.shops = vec![ShopConfig {
        code: "demo".to_owned(),
        name: "Demo".to_owned(),
        utc_offset: "+08:00".parse().expect("offset"),
        polyapi: Some(PolyapiShopConfig {
            appkey: "k".to_owned(),
            appsecret: Secret::new("secret"),
            token: Secret::new("T"),
            disabled_methods: Vec::new(),
        }),
        jushuitan: None,
        wms: None,
        kingdee: None,
    }];
    config
}

/// A running server and a client for it.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    /// Kept so the database outlives the server.
    pub db: TestDb,
    handle: actix_web::dev::ServerHandle,
}

impl TestApp {
    /// Starts a server on a fresh database, or `None` when the backend is unavailable.
    pub async fn spawn(backend: Backend) -> Option<Self> {
        let db = TestDb::new(backend)?;
        Some(Self::spawn_with(db, |_| {}).await)
    }

    /// Starts a server on `db` with the test configuration adjusted by `adjust`.
    pub async fn spawn_with(db: TestDb, adjust: impl FnOnce(&mut Config)) -> Self {
        let mut config = test_config(&db);
        adjust(&mut config);
        let app = Application::build(config).await.expect("server builds");
        let address = format!("http://127.0.0.1:{}", app.port());
        let handle = app.spawn();
        Self {
            address,
            client: reqwest::Client::new(),
            db,
            handle,
        }
    }

    /// Another server on this server's database, remembering nothing of earlier requests.
    pub async fn beside(&self) -> Self {
        Self::spawn_with(self.db.alias(), |_| {}).await
    }

    /// POSTs a JSON body to an admin path of shop `demo`; answers status and body.
    pub async fn admin_post(&self, what: &str, body: &Value) -> (u16, Value) {
        let response = self
            .client
            .post(format!("{}/admin/v1/shops/demo/{what}", self.address))
            .bearer_auth(ADMIN_TOKEN)
            .json(body)
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        (status, response.json().await.expect("json body"))
    }

    /// POSTs raw bytes to an admin path of shop `demo`.
    pub async fn admin_post_raw(&self, what: &str, body: impl Into<String>) -> (u16, Value) {
        let response = self
            .client
            .post(format!("{}/admin/v1/shops/demo/{what}", self.address))
            .bearer_auth(ADMIN_TOKEN)
            .body(body.into())
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        (status, response.json().await.expect("json body"))
    }

    /// GETs an admin path of shop `demo` (with query) and answers the JSON body.
    pub async fn admin_get(&self, what_and_query: &str) -> (u16, Value) {
        let response = self
            .client
            .get(format!(
                "{}/admin/v1/shops/demo/{what_and_query}",
                self.address
            ))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        (status, response.json().await.expect("json body"))
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Stop the workers so the database can be dropped cleanly.
        drop(self.handle.stop(false));
    }
}

/// Declares one test per backend running `$body(Backend)`; the PostgreSQL one passes
/// trivially (with a note) when no PostgreSQL is configured.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident => $body:path;)+) => {
        $(
            mod $name {
                use super::*;

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    $body($crate::helpers::Backend::Sqlite).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if $crate::helpers::postgres_url().is_none() {
                        $crate::helpers::note_postgres_skipped();
                        return;
                    }
                    $body($crate::helpers::Backend::Postgres).await;
                }
            }
        )+
    };
}

/// `url` with one more query parameter (`name=value`).
pub fn with_parameter(url: &str, parameter: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}{parameter}")
}

/// The PostgreSQL the tests may use: `POLYMALL_TEST_POSTGRES_URL`, unless unset or empty
/// (an empty URL would otherwise name a SQLite file in the working directory).
pub fn postgres_url() -> Option<String> {
    std::env::var("POLYMALL_TEST_POSTGRES_URL")
        .ok()
        .filter(|url| !url.trim().is_empty())
}

/// Says once per run, past the test harness's output capture, that the PostgreSQL
/// variants pass without running.
pub fn note_postgres_skipped() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        use std::io::Write;
        // Written to the stream itself: `eprintln!` would be captured with the test's output.
        let _ = writeln!(
            std::io::stderr(),
            "\nNOTE: POLYMALL_TEST_POSTGRES_URL is not set, so the PostgreSQL variant of every \
             database test is SKIPPED (it passes without running). Set it, for example to \
             postgres://postgres@127.0.0.1:5432/test, to run them.\n"
        );
    });
}

/// Runs a `SELECT COUNT(*) …` on the test server's database and answers the count.
pub fn count_sql(app: &TestApp, sql: &str) -> i64 {
    count_sql_at(&app.db.url, sql)
}

/// Counts the rows `sql` selects on the database at `url`.
pub fn count_sql_at(url: &str, sql: &str) -> i64 {
    use diesel::sql_types::BigInt;
    use diesel::{QueryableByName, RunQueryDsl};
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let counted: Count = diesel::sql_query(format!(
        "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM ({sql}) AS counted"
    ))
    .get_result(&mut connect(url))
    .expect("count");
    counted.n
}

/// Runs a `SELECT … AS s` of text values on the test server's database.
pub fn strings_sql(app: &TestApp, sql: &str) -> Vec<String> {
    use diesel::sql_types::Text;
    use diesel::{QueryableByName, RunQueryDsl};
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Text)]
        s: String,
    }
    diesel::sql_query(sql)
        .load::<Row>(&mut connect(&app.db.url))
        .expect("select")
        .into_iter()
        .map(|row| row.s)
        .collect()
}

/// Inside a transaction on PostgreSQL, leaves the planner only index paths in order (no
/// table walk, bitmap or sort), so a plan check on a small test table shows the plan a
/// large one gets; nothing on SQLite.
pub fn only_index_paths(conn: &mut polymall::db::DbConnection) -> diesel::QueryResult<()> {
    use diesel::connection::SimpleConnection;
    match conn {
        polymall::db::DbConnection::Pg(_) => conn.batch_execute(
            "SET LOCAL enable_seqscan = off; SET LOCAL enable_sort = off; \
             SET LOCAL enable_bitmapscan = off",
        ),
        polymall::db::DbConnection::Sqlite(_) => Ok(()),
    }
}

/// Asserts that a plan (either database's) neither sorts nor walks the whole of `table`.
pub fn assert_no_sort_nor_walk(plan: &str, table: &str) {
    assert!(
        !plan.contains("Sort") && !plan.contains("TEMP B-TREE"),
        "{plan}"
    );
    assert!(
        !plan.contains(&format!("SCAN {table}")) && !plan.contains("Seq Scan"),
        "{plan}"
    );
}

/// Folds pending order count changes, as the server's background job does.
pub fn fold_order_counts(app: &TestApp) -> usize {
    polymall::shop::orders::fold_order_counts(&mut connect(&app.db.url)).expect("fold")
}

/// polymall's own pool of the database at `url`, with the default settings.
pub fn database(url: &str) -> polymall::db::Database {
    polymall::db::Database::connect(&polymall::config::DatabaseConfig {
        url: Secret::new(url),
        ..polymall::config::DatabaseConfig::default()
    })
    .expect("connect")
}

/// A connection of polymall's own kind to the database at `url`.
pub fn connect(url: &str) -> polymall::db::PooledConnection {
    database(url).get().expect("connection")
}

/// A port nothing listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("free port")
}

/// Starts the real `polymall serve` binary with this configuration file.
pub fn start_server(config_path: &std::path::Path) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_polymall"))
        .arg("--config")
        .arg(config_path)
        .arg("serve")
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start polymall")
}

/// Waits until the server at `base` answers `/readyz`.
pub async fn wait_ready(client: &reqwest::Client, base: &str) {
    for _ in 0..200 {
        if let Ok(response) = client.get(format!("{base}/readyz")).send().await {
            if response.status().is_success() {
                return;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("server did not become ready");
}

/// A connection to the database at `url` and its stored shop `demo`, for checking what a
/// server process left behind.
pub fn demo_shop(url: &str) -> (polymall::db::PooledConnection, polymall::shop::shops::Shop) {
    let mut conn = connect(url);
    let shop = polymall::shop::shops::find_by_code(&mut conn, "demo").expect("shop");
    (conn, shop)
}
