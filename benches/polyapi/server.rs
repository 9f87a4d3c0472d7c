//! The database and the `polymall` processes a bench run uses: a fresh SQLite file or
//! PostgreSQL schema, `polymall serve` on a free port, `polymall import`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::Connection;

/// Bearer token of the admin API of the bench server.
pub const ADMIN_TOKEN: &str = "bench-admin-token-0123456789";
/// Code of the bench shop.
pub const SHOP: &str = "bench";

/// A database of the run's own, dropped after.
pub struct Db {
    pub url: String,
    pub postgres: bool,
    schema: Option<(String, String)>,
    pub dir: tempfile::TempDir,
    /// `[database] rendered_orders_mib` of the server, when not the default.
    pub rendered_orders_mib: Option<u64>,
}

impl Db {
    /// A fresh database: a file in a temporary directory, or a new schema of `postgres`.
    pub fn new(postgres: Option<&str>, label: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        match postgres {
            Some(base) => {
                let schema = format!("bench_{}_{label}", std::process::id());
                let mut conn = diesel::pg::PgConnection::establish(base).expect("connect");
                conn.batch_execute(&format!(
                    "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
                ))
                .expect("schema");
                let separator = if base.contains('?') { '&' } else { '?' };
                Self {
                    url: format!("{base}{separator}options=-csearch_path%3D{schema}"),
                    postgres: true,
                    schema: Some((base.to_owned(), schema)),
                    dir,
                    rendered_orders_mib: None,
                }
            }
            None => Self {
                url: dir.path().join("bench.db").display().to_string(),
                postgres: false,
                schema: None,
                dir,
                rendered_orders_mib: None,
            },
        }
    }

    /// `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        if self.postgres {
            "postgres"
        } else {
            "sqlite"
        }
    }

    /// The configuration file of the bench shop on this database, listening on `port`.
    /// The shop sends orders to Jushuitan, so every order written also writes its
    /// outbox row (the jobs that would send them run once a day, to stay out of the way).
    pub fn config(&self, port: u16) -> PathBuf {
        let path = self.dir.path().join("polymall.toml");
        std::fs::write(
            &path,
            format!(
                r#"[server]
listen = "127.0.0.1:{port}"
[database]
url = {url:?}
pool_size = 8
{rendered}
[admin]
token = "{ADMIN_TOKEN}"
[[shops]]
code = "{SHOP}"
name = "Bench"
utc_offset = "+08:00"
[shops.polyapi]
appkey = "k"
appsecret = "secret"
token = "T"
[shops.jushuitan]
api = "open"
base_url = "http://127.0.0.1:9"
shop_id = 1
app_key = "bench"
app_secret = "bench"
access_token = "bench"
refresh_token = "bench"
push_interval_secs = 86400
stock_interval_secs = 86400
shipping_interval_secs = 86400
refund_interval_secs = 86400
"#,
                url = self.url,
                rendered = self
                    .rendered_orders_mib
                    .map(|mib| format!("rendered_orders_mib = {mib}"))
                    .unwrap_or_default(),
            ),
        )
        .expect("config file");
        path
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Some((base, schema)) = &self.schema {
            if let Ok(mut conn) = diesel::pg::PgConnection::establish(base) {
                let _ = conn.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
            }
        }
    }
}

fn polymall(config: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_polymall"));
    command
        .arg("--config")
        .arg(config)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null());
    command
}

/// `polymall serve` running on the bench database.
pub struct Server {
    child: Child,
    pub base: String,
    pub config: PathBuf,
}

impl Server {
    /// Starts the server and waits until it answers `/readyz`.
    pub async fn start(db: &Db) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .map(|address| address.port())
            .expect("free port");
        let config = db.config(port);
        let log = std::fs::File::create(db.dir.path().join("serve.log")).expect("log file");
        let child = polymall(&config)
            .arg("serve")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start polymall serve");
        let server = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            config,
        };
        let client = reqwest::Client::new();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(600) {
            if let Ok(response) = client.get(format!("{}/readyz", server.base)).send().await {
                if response.status().is_success() {
                    return server;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("polymall serve did not become ready");
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server's peak resident memory so far, in KiB.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // SIGTERM: the server finishes in-flight requests and stops its jobs.
        if let Ok(pid) = i32::try_from(self.child.id()) {
            // SAFETY: sends a signal to a child process this struct started and owns.
            unsafe {
                libc::kill(pid, libc::SIGTERM);
            }
        }
        let _ = self.child.wait();
    }
}

/// Posts orders (JSON documents) to the admin API of the bench shop, as the storefront does.
pub async fn post_orders(
    client: &reqwest::Client,
    base: &str,
    orders: &[String],
) -> reqwest::Result<reqwest::Response> {
    client
        .post(format!("{base}/admin/v1/shops/{SHOP}/orders"))
        .bearer_auth(ADMIN_TOKEN)
        .header("content-type", "application/json")
        .body(format!("[{}]", orders.join(",")))
        .send()
        .await
}

/// What `polymall import` did.
pub struct Imported {
    pub seconds: f64,
    /// Peak resident memory of the import process, KiB.
    pub peak_rss_kib: i64,
    pub said: String,
}

/// Runs `polymall import --shop bench orders FILE` to the end.
pub fn import(config: &Path, file: &Path) -> Imported {
    let started = Instant::now();
    let output = polymall(config)
        .args(["import", "--shop", SHOP, "orders"])
        .arg(file)
        .output()
        .expect("run polymall import");
    let seconds = started.elapsed().as_secs_f64();
    assert!(
        output.status.success(),
        "import failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Imported {
        seconds,
        peak_rss_kib: children_peak_rss_kib(),
        said: String::from_utf8_lossy(&output.stdout).trim().to_owned(),
    }
}

/// The largest peak resident memory of the child processes that have ended, KiB.
fn children_peak_rss_kib() -> i64 {
    // SAFETY: getrusage writes into the zeroed struct it is given and nothing else.
    unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage);
        usage.ru_maxrss
    }
}

/// Runs `polymall shop list`, which migrates the database and stores the configured shop.
pub fn prepare(config: &Path) {
    let output = polymall(config)
        .args(["shop", "list"])
        .output()
        .expect("run polymall shop list");
    assert!(output.status.success(), "shop list failed: {output:?}");
}
