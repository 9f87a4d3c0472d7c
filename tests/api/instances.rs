//! Three `polymall serve` processes on one PostgreSQL, with a fake Jushuitan and a fake
//! warehouse and intervals of seconds: each periodic job runs once per interval across
//! all three, the warehouse's stock query at most once per its interval, every order
//! reaches both partners exactly once; then the process pushing to Jushuitan is killed
//! in the middle of its call, and its job and outbox rows are taken over.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use polymall::config::{Config, JushuitanApi, JushuitanShopConfig, Secret};
use serde_json::{json, Value};

use crate::admin::full_order;
use crate::fake_jst::{FakeApi, FakeJushuitan};
use crate::fake_wms::{wms_config, FakeWms};
use crate::helpers::{count_sql_at, free_port, note_postgres_skipped, test_config, wait_ready};
use crate::helpers::{Backend, TestDb, ADMIN_TOKEN};

/// Seconds between runs of the pull jobs.
const PULL_EVERY: u64 = 2;
/// Seconds between the warehouse's stock queries (a day in production).
const WAREHOUSE_STOCK_EVERY: u64 = 4;

fn config(db: &TestDb, jst: &FakeJushuitan, wms: &FakeWms) -> Config {
    let mut config = test_config(db);
    config.shops[0].jushuitan = Some(JushuitanShopConfig {
        api: JushuitanApi::Open,
        base_url: jst.base_url.clone(),
        shop_id: 10_001,
        app_key: Some("app".to_owned()),
        app_secret: Some(Secret::new("secret")),
        access_token: Some(Secret::new("at-1")),
        refresh_token: Some(Secret::new("rt-1")),
        partner_id: None,
        partner_key: None,
        token: None,
        push_interval_secs: 1,
        stock_interval_secs: PULL_EVERY,
        shipping_interval_secs: PULL_EVERY,
        refund_interval_secs: PULL_EVERY,
        max_attempts: 8,
        // A job's and a batch's lease is three of these: 15 s.
        timeout_secs: 5,
    });
    let mut warehouse = wms_config(&wms.url, "C1");
    warehouse.push_interval_secs = 1;
    warehouse.stock_interval_secs = WAREHOUSE_STOCK_EVERY;
    warehouse.timeout_secs = 2;
    config.shops[0].wms = Some(warehouse);
    config
}

/// An order whose amounts satisfy Jushuitan's rule (items 95.50 + freight 10).
fn order(no: &str) -> Value {
    let mut order = full_order(no);
    order["realMoney"] = json!(105.5);
    order
}

struct Instance {
    child: Child,
    base: String,
}

/// A failed assertion must not leave servers running.
impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(config_path: &std::path::Path, log: &std::path::Path) -> Instance {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_polymall"))
        .arg("--config")
        .arg(config_path)
        .arg("serve")
        .env("POLYMALL__SERVER__LISTEN", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).expect("log file"))
        .spawn()
        .expect("start polymall");
    Instance {
        child,
        base: format!("http://127.0.0.1:{port}"),
    }
}

/// How many calls to `what` arrived in `[from, to)`.
fn between(calls: &[(String, Instant)], what: &str, from: Instant, to: Instant) -> usize {
    calls
        .iter()
        .filter(|(name, at)| name.ends_with(what) && *at >= from && *at < to)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_share_the_jobs_and_take_over_a_killed_one() {
    if crate::helpers::postgres_url().is_none() {
        note_postgres_skipped();
        return;
    }
    let db = TestDb::new(Backend::Postgres).expect("postgres");
    let jst = FakeJushuitan::start(FakeApi::Open).await;
    let wms = FakeWms::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let config_path = dir.path().join("polymall.toml");
    let config = config(&db, &jst, &wms);
    std::fs::write(&config_path, toml::to_string(&config).expect("toml")).expect("write");
    jst.state().inventory.insert("88954".to_owned(), (7, 2));
    wms.state().inventory.insert("88954".to_owned(), (9, 0));

    let logs: Vec<_> = (0..3)
        .map(|i| dir.path().join(format!("instance-{i}.log")))
        .collect();
    let mut instances: Vec<Instance> = logs.iter().map(|log| start(&config_path, log)).collect();
    let client = reqwest::Client::new();
    for instance in &instances {
        // Three processes migrate and start at once on a busy machine.
        for _ in 0..4 {
            if client
                .get(format!("{}/readyz", instance.base))
                .send()
                .await
                .is_ok()
            {
                break;
            }
            tokio::time::sleep(Duration::from_secs(5)).await;
        }
        wait_ready(&client, &instance.base).await;
    }
    let post = |base: String, what: &'static str, body: Value| {
        let client = client.clone();
        async move {
            let response = client
                .post(format!("{base}/admin/v1/shops/demo/{what}"))
                .bearer_auth(ADMIN_TOKEN)
                .json(&body)
                .send()
                .await
                .expect("post");
            assert!(response.status().is_success(), "{what}");
        }
    };
    post(
        instances[0].base.clone(),
        "products",
        json!([{"PlatProductID": "P1", "name": "毛巾", "OuterID": "88954", "price": 9.9,
                "num": 1, "pictureurl": "", "whsecode": "", "skus": []}]),
    )
    .await;
    let first: Vec<String> = (0..20).map(|i| format!("MI-{i:02}")).collect();
    // Posted through all three, as a load balancer would spread them.
    for (i, chunk) in first.chunks(5).enumerate() {
        let orders: Vec<Value> = chunk.iter().map(|no| order(no)).collect();
        post(
            instances[i % 3].base.clone(),
            "orders",
            Value::Array(orders),
        )
        .await;
    }

    // Let the jobs settle into their rhythm, then count calls over a window of whole
    // intervals.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let from = Instant::now();
    tokio::time::sleep(Duration::from_secs(12)).await;
    let to = Instant::now();
    let window = (to - from).as_secs_f64();
    {
        let calls = jst.state().calls.clone();
        let expected = window / PULL_EVERY as f64;
        // A shipping run asks by window once (nothing has shipped), then by number.
        let shipping_runs = jst
            .state()
            .order_queries
            .iter()
            .filter(|(biz, at)| biz.get("so_ids").is_none() && *at >= from && *at < to)
            .count();
        for (what, runs) in [
            (
                "/open/inventory/query",
                between(&calls, "/open/inventory/query", from, to),
            ),
            ("orders.single.query by window", shipping_runs),
            (
                "/open/refund/single/query",
                between(&calls, "/open/refund/single/query", from, to),
            ),
        ] {
            let runs = runs as f64;
            assert!(
                (runs - expected).abs() <= 1.5,
                "{what}: {runs} calls in {window:.1} s at one per {PULL_EVERY} s across three processes"
            );
        }
        let stock_queries = between(&wms.state().calls, "inventory.query", from, to) as f64;
        assert!(
            stock_queries <= window / WAREHOUSE_STOCK_EVERY as f64 + 1.0,
            "the warehouse's stock was asked {stock_queries} times in {window:.1} s"
        );
        assert!(stock_queries >= 1.0, "the warehouse's stock was asked");
    }
    // Every order reached each partner exactly once.
    {
        let state = jst.state();
        for no in &first {
            let uploads = state.uploaded.iter().filter(|o| o["so_id"] == *no).count();
            assert_eq!(uploads, 1, "order {no} uploaded {uploads} times");
        }
        assert_eq!(state.bad_signs, 0);
    }
    {
        let state = wms.state();
        for no in &first {
            let creates = state
                .received
                .iter()
                .filter(|(method, body)| {
                    method == "deliveryorder.create"
                        && body.contains(&format!("<deliveryOrderCode>{no}<"))
                })
                .count();
            assert_eq!(creates, 1, "delivery order {no} created {creates} times");
        }
        assert_eq!(state.bad_signs, 0);
    }

    // Kill the process in the middle of its upload: Jushuitan holds the call, the
    // process that made it dies, its batch and its job are taken over after the lease.
    jst.state().stall_next_upload = Some(Duration::from_secs(30));
    let second: Vec<String> = (0..5).map(|i| format!("MI-K{i}")).collect();
    post(
        instances[0].base.clone(),
        "orders",
        Value::Array(second.iter().map(|no| order(no)).collect()),
    )
    .await;
    let started = Instant::now();
    while jst.state().stall_next_upload.is_some() {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "no upload of the new orders"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let owner = wait_for_push_owner(&db.url).await;
    let killed = instances
        .iter()
        .position(|instance| instance.child.id() == owner)
        .expect("the push job's lease is held by one of the three");
    let mut victim = instances.remove(killed);
    victim.child.kill().expect("SIGKILL");
    victim.child.wait().expect("reaped");
    drop(victim);
    let killed_at = Instant::now();

    // Within the lease (15 s) plus a push interval or two, the survivors re-send.
    let deadline = killed_at + Duration::from_secs(30);
    loop {
        let done = count_sql_at(
            &db.url,
            "SELECT id FROM outbox WHERE target = 'jushuitan' AND subject LIKE 'MI-K%' AND state = 'done'",
        );
        if done == 5 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the killed process's rows were not taken over: {done} of 5 done"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    {
        let state = jst.state();
        for no in &second {
            let uploads = state.uploaded.iter().filter(|o| o["so_id"] == *no).count();
            // Once by the killed process (its answer never arrived), once by a survivor.
            assert!(
                (1..=2).contains(&uploads),
                "order {no} uploaded {uploads} times"
            );
        }
    }
    // The killed process's jobs keep running in the others.
    let runs_before = job_runs(&db.url);
    tokio::time::sleep(Duration::from_secs(2 * PULL_EVERY + 1)).await;
    let runs_after = job_runs(&db.url);
    assert!(
        runs_after > runs_before,
        "jobs ran on after the kill: {runs_before} → {runs_after}"
    );
    let owners_alive = count_sql_at(
        &db.url,
        &format!(
            "SELECT job FROM scheduled_jobs WHERE lease_owner LIKE '%:{owner}' AND lease_until > CURRENT_TIMESTAMP"
        ),
    );
    assert_eq!(
        owners_alive, 0,
        "no job is still held by the killed process"
    );

    drop(instances);
}

/// The pid of the process holding the Jushuitan push job's lease, once one does.
async fn wait_for_push_owner(url: &str) -> u32 {
    use diesel::prelude::*;
    use polymall::db::schema::scheduled_jobs;
    let started = Instant::now();
    loop {
        let mut conn = crate::helpers::connect(url);
        let owner: Option<Option<String>> = scheduled_jobs::table
            .filter(scheduled_jobs::job.eq("jushuitan.push-orders"))
            .select(scheduled_jobs::lease_owner)
            .first(&mut conn)
            .optional()
            .expect("job row");
        if let Some(pid) = owner
            .flatten()
            .and_then(|owner| owner.rsplit(':').next().map(str::to_owned))
            .and_then(|pid| pid.parse().ok())
        {
            return pid;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "no process took the push job"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Runs of every job so far.
fn job_runs(url: &str) -> i64 {
    use diesel::prelude::*;
    use polymall::db::schema::scheduled_jobs;
    let mut conn = crate::helpers::connect(url);
    scheduled_jobs::table
        .select(scheduled_jobs::runs)
        .load::<i64>(&mut conn)
        .expect("runs")
        .into_iter()
        .sum()
}
