//! The periodic jobs follow the shops' settings in another process: the real `polymall
//! serve` binary runs the jobs, a second server on the same database serves the console.
//! Jushuitan added to a shop in the console starts its jobs in the binary within seconds
//! (an order posted then reaches the fake Jushuitan); removed, they stop (the binary
//! logs it, their leases are given back, and no call reaches Jushuitan any more).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use polymall::operators::Role;
use serde_json::json;

use crate::admin::full_order;
use crate::console_client::{add_operator, Console};
use crate::fake_jst::{FakeApi, FakeJushuitan};
use crate::helpers::{count_sql, free_port, test_config, wait_ready, Backend, TestApp, TestDb};
use crate::on_both_backends;

on_both_backends! {
    jobs_start_and_stop_in_another_process_when_an_integration_is_added_and_removed => follow;
}

/// The binary, killed when the test ends however it ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits for `check` for at most 30 seconds, saying what did not happen and the
/// server's log.
async fn eventually(what: &str, log: &std::path::Path, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(30) {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!(
        "{what}: not within 30 seconds; the server said:\n{}",
        std::fs::read_to_string(log).unwrap_or_default()
    );
}

async fn follow(backend: Backend) {
    let Some(db) = TestDb::new(backend) else {
        return;
    };
    let jst = FakeJushuitan::start(FakeApi::Open).await;
    let dir = tempfile::tempdir().expect("dir");
    let config_path = dir.path().join("polymall.toml");
    let mut config = test_config(&db);
    let port = free_port();
    config.server.listen = format!("127.0.0.1:{port}");
    std::fs::write(&config_path, toml::to_string(&config).expect("toml")).expect("write");
    let console = TestApp::spawn_with(db, |_| {}).await;
    let log = dir.path().join("serve.log");
    let _server = Server(
        Command::new(env!("CARGO_BIN_EXE_polymall"))
            .arg("--config")
            .arg(&config_path)
            .arg("serve")
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("start polymall"),
    );
    let base = format!("http://127.0.0.1:{port}");
    wait_ready(&console.client, &base).await;
    let jobs = |condition: &str| {
        count_sql(
            &console,
            &format!("SELECT job FROM scheduled_jobs WHERE job LIKE 'jushuitan.%' AND {condition}"),
        )
    };
    assert_eq!(jobs("1 = 1"), 0, "no Jushuitan, no jobs");

    add_operator(&console, "boss", Role::Admin);
    let admin = Console::sign_in(&console, "boss").await;
    let added = admin
        .post(
            "/console/shops/demo/integrations/jushuitan",
            &[
                ("api", "open"),
                ("base_url", &jst.base_url),
                ("shop_id", "10001"),
                ("app_key", "app"),
                ("app_secret", "secret"),
                ("access_token", "at-1"),
                ("refresh_token", "rt-1"),
                ("push_interval_secs", "1"),
                ("stock_interval_secs", "1"),
                ("shipping_interval_secs", "1"),
                ("refund_interval_secs", "1"),
                ("timeout_secs", "5"),
            ],
        )
        .await;
    assert_eq!(added.status, 303, "{}", added.body);
    // An order for Jushuitan (items 95.50 + freight 10 = paid) reaches it: the binary
    // started the shop's push job with the new settings.
    let mut order = full_order("JOBS-1");
    order["realMoney"] = json!(105.5);
    assert_eq!(console.admin_post("orders", &json!([order])).await.0, 200);
    eventually("the order reaches Jushuitan", &log, || {
        jst.state()
            .uploaded
            .iter()
            .any(|uploaded| uploaded["so_id"] == "JOBS-1")
    })
    .await;
    eventually("all four Jushuitan jobs ran", &log, || {
        jobs("runs > 0") == 4
    })
    .await;

    let removed = admin
        .post("/console/shops/demo/integrations/jushuitan/remove", &[])
        .await;
    assert_eq!(removed.status, 303, "{}", removed.body);
    eventually("the binary stops the four jobs", &log, || {
        let said = std::fs::read_to_string(&log).unwrap_or_default();
        said.matches("job stopped").count() >= 4
    })
    .await;
    eventually("the stopped jobs give their leases back", &log, || {
        jobs("lease_owner IS NULL") == 4
    })
    .await;
    let calls = jst.state().calls.len();
    // Three of the jobs' intervals: a job still running would have called again.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        jst.state().calls.len(),
        calls,
        "no call after the jobs stopped"
    );
    let mut later = full_order("JOBS-2");
    later["realMoney"] = json!(105.5);
    assert_eq!(console.admin_post("orders", &json!([later])).await.0, 200);
    assert_eq!(
        count_sql(&console, "SELECT id FROM outbox WHERE subject = 'JOBS-2'"),
        0,
        "a shop without Jushuitan queues nothing for it"
    );
}
