//! Polyapi load bench: seeds a shop with N orders (two lines each), runs the real
//! server in-process on a free port and drives it over HTTP with concurrent signed
//! calls, reporting throughput and latency percentiles next to `/healthz` measured in
//! the same run.
//!
//! ```text
//! cargo bench --bench polyapi -- [--orders N] [--requests R] [--concurrency C] [--postgres URL] [--only TEXT]
//! ```
//! SQLite by default (a temporary file); `--postgres` uses a fresh schema in that database;
//! `--only` runs the scenarios whose name contains TEXT (and `/healthz`).
//!
//! With `POLYMALL_BENCH_PERF_CTL` naming the control FIFO of `perf record --control`, the
//! bench enables recording for the measured scenarios only, not for seeding (see
//! `benches/profile.sh`). The load generator's threads are named `load`, so a profile can
//! leave them out.

use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::Connection;
use polymall::config::{Config, PolyapiShopConfig, Secret, ShopConfig};
use polymall::polyapi::sign::polysign;
use polymall::Application;

struct Options {
    orders: u64,
    requests: usize,
    concurrency: usize,
    postgres: Option<String>,
    only: Option<String>,
}

fn options() -> Options {
    let mut options = Options {
        orders: 100_000,
        requests: 400,
        concurrency: 4,
        postgres: None,
        only: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| panic!("{arg} needs a value"));
        match arg.as_str() {
            "--orders" => options.orders = value().parse().expect("--orders N"),
            "--requests" => options.requests = value().parse().expect("--requests R"),
            "--concurrency" => options.concurrency = value().parse().expect("--concurrency C"),
            "--postgres" => options.postgres = Some(value()),
            "--only" => options.only = Some(value()),
            "--bench" => {}
            other => panic!("unknown option {other}"),
        }
    }
    options
}

/// SQL that seeds `n` paid or unpaid orders spread over a year, with receivers,
/// invoices, customs and two lines each. `{N}` is the count, `{SEQ}` the row source.
const SEED: &str = "
INSERT INTO orders (shop_id, plat_order_no, trade_status, pay_time, pay_order_no, nick, should_pay_type,
    order_type, send_date, send_style, currency_code, whse_code, customer_remark, seller_remark, seller_flag,
    post_fee, goods_fee, total_money, real_money, favourable_money, commission_value, cod_service_fee,
    created_at, modified_at)
SELECT 1, 'B' || {PAD}, CASE WHEN n % 5 = 0 THEN 'JH_01' ELSE 'JH_02' END, NULL, 'PAY' || n, 'buyer' || (n % 9973),
    '担保交易', 'JH_01', '', '快递', 'CNY', '', '请尽快发货', '', 'JH_None',
    1000, 19800, 20800, 20800, 0, 0, 0, {TIME}, {TIME}
FROM {SEQ};
INSERT INTO order_receivers SELECT id, shop_id, 'CN', '浙江省', '杭州市', '西湖区', '三墩镇', '尚坤生态创业园A211',
    '310000', '0571-89845712', '15067888888', 'buyer@example.com', '', '张三', 'JH_01', '', '' FROM orders;
INSERT INTO order_invoices SELECT id, shop_id, '0', '', '', '', '', '', '', '' FROM orders;
INSERT INTO order_customs SELECT id, shop_id, FALSE, 0, 0, 0, 0, '', '', '', '' FROM orders;
INSERT INTO order_lines (shop_id, order_id, sub_order_no, product_id, outer_id, name, spec, goods_count,
    shipped_count, price, discount_money, tax_amount, refund_status, status, remark)
SELECT shop_id, id, plat_order_no || '-1', 'P1', 'SKU-1', '新款连衣裙', '大号', 1, 0, 9900, 0, 0, 'JH_07', NULL, ''
FROM orders;
INSERT INTO order_lines (shop_id, order_id, sub_order_no, product_id, outer_id, name, spec, goods_count,
    shipped_count, price, discount_money, tax_amount, refund_status, status, remark)
SELECT shop_id, id, plat_order_no || '-2', 'P2', 'SKU-2', '纯棉T恤', 'L', 1, 0, 9900, 0, 0, 'JH_07', NULL, ''
FROM orders;
INSERT INTO products (shop_id, plat_product_id, name, outer_id, price, quantity, picture_url, whse_code, on_sale, created_at, modified_at)
SELECT 1, 'P' || n, '商品' || n, 'OUT' || n, 9900, 0, '', '', TRUE, {TIME}, {TIME} FROM {SEQ} WHERE n <= 1000;
INSERT INTO skus (shop_id, product_id, sku_id, outer_id, price, quantity, name, property, picture_url, created_at, modified_at)
SELECT shop_id, id, plat_product_id || '-S', outer_id || '-S', 9900, 100, 'S', '尺码:S', '', created_at, created_at FROM products;
INSERT INTO skus (shop_id, product_id, sku_id, outer_id, price, quantity, name, property, picture_url, created_at, modified_at)
SELECT shop_id, id, plat_product_id || '-M', outer_id || '-M', 9900, 100, 'M', '尺码:M', '', created_at, created_at FROM products;
";

fn seed_sql(postgres: bool, n: u64) -> String {
    let (seq, pad, time) = if postgres {
        (
            format!("generate_series(1, {n}) AS n"),
            "lpad(n::text, 8, '0')",
            "(TIMESTAMP '2024-01-01 00:00:00' + n * INTERVAL '30 seconds')",
        )
    } else {
        (
            format!("(WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {n}) SELECT n FROM s)"),
            "printf('%08d', n)",
            "strftime('%Y-%m-%d %H:%M:%S', '2024-01-01 00:00:00', '+' || (n * 30) || ' seconds')",
        )
    };
    SEED.replace("{SEQ}", &seq)
        .replace("{PAD}", pad)
        .replace("{TIME}", time)
}

fn config(url: &str) -> Config {
    let mut config = Config::default();
    config.server.listen = "127.0.0.1:0".to_owned();
    config.database.url = Secret::new(url);
    config.database.pool_size = 8;
    config.shops = vec![ShopConfig {
        code: "bench".to_owned(),
        name: "Bench".to_owned(),
        utc_offset: "+08:00".parse().expect("offset"),
        polyapi: Some(PolyapiShopConfig {
            appkey: "k".to_owned(),
            appsecret: Secret::new("secret"),
            token: Secret::new("T"),
            disabled_methods: Vec::new(),
        }),
        jushuitan: None,
        wms: None,
    }];
    config
}

fn signed_form(method: &str, biz: &str) -> Vec<(String, String)> {
    let mut params = vec![
        ("appkey".to_owned(), "k".to_owned()),
        ("token".to_owned(), "T".to_owned()),
        ("method".to_owned(), format!("Differ.JH.Business.{method}")),
        ("bizcontent".to_owned(), biz.to_owned()),
    ];
    let sign = polysign("secret", &params);
    params.push(("sign".to_owned(), sign));
    params
}

/// Makes the form of request `i`; `None` means `GET /healthz`.
type Maker = Arc<dyn Fn(usize) -> Option<Vec<(String, String)>> + Send + Sync>;

struct Figures {
    name: String,
    p50: Duration,
    p99: Duration,
    per_second: f64,
}

async fn drive(
    client: &reqwest::Client,
    base: &str,
    name: &str,
    requests: usize,
    concurrency: usize,
    make: Maker,
) -> Figures {
    let started = Instant::now();
    let mut workers = Vec::new();
    for worker in 0..concurrency {
        let client = client.clone();
        let base = base.to_owned();
        let make = make.clone();
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut i = worker;
            while i < requests {
                let began = Instant::now();
                let response = match make(i) {
                    None => client.get(format!("{base}/healthz")).send().await,
                    Some(form) => {
                        client
                            .post(format!("{base}/polyapi"))
                            .form(&form)
                            .send()
                            .await
                    }
                }
                .expect("request");
                let body = response.text().await.expect("body");
                latencies.push(began.elapsed());
                assert!(!body.contains("\"40000\""), "call failed: {body}");
                i += concurrency;
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for worker in workers {
        all.extend(worker.await.expect("worker"));
    }
    let elapsed = started.elapsed();
    all.sort();
    let at = |q: f64| all[((all.len() as f64 * q) as usize).min(all.len() - 1)];
    Figures {
        name: name.to_owned(),
        p50: at(0.50),
        p99: at(0.99),
        per_second: all.len() as f64 / elapsed.as_secs_f64(),
    }
}

/// The statements a GetOrder page runs, as the server writes them (ids of the page, the
/// exact count of a partial day, the sum of day counts, one order's lines).
const PLANNED: [(&str, &str); 5] = [
    (
        "page of a status and created-time window",
        "SELECT id FROM orders WHERE shop_id = 1 AND trade_status = 'JH_02' \
         AND created_at >= '2024-03-01 00:00:00' AND created_at <= '2024-03-01 15:59:59' \
         ORDER BY created_at, id LIMIT 100 OFFSET 0",
    ),
    (
        "page 50 of all orders by modified time",
        "SELECT id FROM orders WHERE shop_id = 1 AND modified_at >= '2022-12-31 16:00:00' \
         AND modified_at <= '2029-12-31 16:00:00' ORDER BY modified_at, id LIMIT 100 OFFSET 4900",
    ),
    (
        "count of a partial day",
        "SELECT COUNT(*) FROM orders WHERE shop_id = 1 AND modified_at >= '2024-03-01 16:00:00' \
         AND modified_at <= '2024-03-01 23:59:59.999999'",
    ),
    (
        "sum of whole days",
        "SELECT SUM(n) FROM order_counts WHERE shop_id = 1 AND time_kind = 'modified' \
         AND span = 'day' AND starts_at >= '2023-01-01 00:00:00' AND starts_at < '2029-12-30 00:00:00'",
    ),
    (
        "lines of a page",
        "SELECT id FROM order_lines WHERE shop_id = 1 AND order_id IN (1, 2, 3)",
    ),
];

/// Prints the query plans of the statements a GetOrder page runs: every one is an index
/// range scan or lookup, never a scan of the whole table.
fn print_plans(url: &str, postgres: bool) {
    #[derive(diesel::QueryableByName)]
    struct SqlitePlan {
        #[diesel(sql_type = diesel::sql_types::Text)]
        detail: String,
    }
    #[derive(diesel::QueryableByName)]
    struct PostgresPlan {
        #[diesel(sql_type = diesel::sql_types::Text)]
        #[diesel(column_name = "QUERY PLAN")]
        plan: String,
    }
    use diesel::RunQueryDsl;
    for (name, sql) in PLANNED {
        let lines: Vec<String> = if postgres {
            let mut conn = diesel::pg::PgConnection::establish(url).expect("connect");
            diesel::sql_query(format!("EXPLAIN {sql}"))
                .load::<PostgresPlan>(&mut conn)
                .expect("plan")
                .into_iter()
                .map(|row| row.plan)
                .collect()
        } else {
            let mut conn = diesel::sqlite::SqliteConnection::establish(url).expect("connect");
            diesel::sql_query(format!("EXPLAIN QUERY PLAN {sql}"))
                .load::<SqlitePlan>(&mut conn)
                .expect("plan")
                .into_iter()
                .map(|row| row.detail)
                .collect()
        };
        println!("plan, {name}:");
        for line in lines {
            println!("    {line}");
        }
    }
}

fn main() {
    let options = options();
    let dir = tempfile::tempdir().expect("temp dir");
    let (url, postgres) = match &options.postgres {
        Some(base) => {
            let schema = format!("bench_{}", std::process::id());
            let mut conn = diesel::pg::PgConnection::establish(base).expect("connect");
            conn.batch_execute(&format!(
                "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
            ))
            .expect("schema");
            let separator = if base.contains('?') { '&' } else { '?' };
            (
                format!("{base}{separator}options=-csearch_path%3D{schema}"),
                true,
            )
        }
        None => (dir.path().join("bench.db").display().to_string(), false),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .thread_name("load")
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        // Build once on the empty database: migrations and the shop row.
        let app = Application::build(config(&url)).await.expect("server");
        let seeding = Instant::now();
        let sql = seed_sql(postgres, options.orders);
        let seed_url = url.clone();
        tokio::task::spawn_blocking(move || {
            if postgres {
                let mut conn = diesel::pg::PgConnection::establish(&seed_url).expect("connect");
                conn.batch_execute(&format!("BEGIN; {sql} COMMIT;")).expect("seed");
                // VACUUM cannot share a statement batch with anything else.
                conn.batch_execute("VACUUM ANALYZE").expect("vacuum");
            } else {
                let mut conn = diesel::sqlite::SqliteConnection::establish(&seed_url).expect("connect");
                // The server's background fold may hold the write lock for a moment.
                conn.batch_execute(&format!("PRAGMA busy_timeout = 600000; BEGIN IMMEDIATE; {sql} COMMIT; ANALYZE;"))
                    .expect("seed");
            }
        })
        .await
        .expect("seed task");
        // The triggers left one change per order and time; fold them as the serving
        // process does in the background.
        let db = app.database().clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = db.get().expect("connection");
            polymall::shop::orders::fold_order_counts(&mut conn).expect("fold order counts");
        })
        .await
        .expect("fold task");
        if postgres {
            // As autovacuum would after a bulk load: statistics, and the folded changes gone.
            let mut conn = diesel::pg::PgConnection::establish(&url).expect("connect");
            conn.batch_execute("VACUUM ANALYZE").expect("vacuum");
        }
        println!(
            "backend={} orders={} seeded in {:.1}s; requests={} concurrency={}",
            if postgres { "postgres" } else { "sqlite" },
            options.orders,
            seeding.elapsed().as_secs_f64(),
            options.requests,
            options.concurrency
        );
        print_plans(&url, postgres);
        let base = format!("http://127.0.0.1:{}", app.port());
        let handle = app.spawn();
        let client = reqwest::Client::new();
        let n = options.orders.max(1);
        let middle_page = (n / 100 / 2).max(1);
        // Whole days the seeded orders span (one every 30 s: 2,880 a day).
        let days = (n / 2_880).max(1);
        let whole_history = |extra: &str, page: u64| {
            signed_form(
                "GetOrder",
                &format!(
                    r#"{{{extra}"StartTime":"2023-01-01 00:00:00","EndTime":"2030-01-01 00:00:00","PageIndex":{page},"PageSize":100}}"#
                ),
            )
        };
        // A day inside the seeded range; the shop is at +08:00, the seed in UTC.
        let one_day = move |i: usize, extra: &str| {
            let day = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).expect("date")
                + chrono::Days::new(i as u64 % days);
            signed_form(
                "GetOrder",
                &format!(
                    r#"{{{extra}"StartTime":"{day} 08:00:00","EndTime":"{day} 23:59:59","PageIndex":1,"PageSize":100}}"#
                ),
            )
        };
        let scenarios: Vec<(&str, Maker)> = vec![
            ("healthz", Arc::new(|_| None)),
            (
                "GetOrder modified, all time, page 1",
                Arc::new(move |_| Some(whole_history("", 1))),
            ),
            (
                "GetOrder modified, one day, page 1",
                Arc::new(move |i| Some(one_day(i, ""))),
            ),
            (
                "GetOrder status JH_02, all time, page 1",
                Arc::new(|_| {
                    Some(signed_form(
                        "GetOrder",
                        r#"{"OrderStatus":"JH_02","PageIndex":1,"PageSize":100}"#,
                    ))
                }),
            ),
            (
                "GetOrder status JH_02, one day, page 1",
                Arc::new(move |i| Some(one_day(i, r#""OrderStatus":"JH_02","TimeType":"JH_02","#))),
            ),
            (
                "GetOrder modified, all time, page 50",
                Arc::new(move |_| Some(whole_history("", 50))),
            ),
            (
                "GetOrder modified, all time, middle page",
                Arc::new(move |_| Some(whole_history("", middle_page))),
            ),
            (
                "GetOrder single order by PlatOrderNo",
                Arc::new(move |i| {
                    let no = 1 + (i as u64 * 7919) % n;
                    Some(signed_form("GetOrder", &format!(r#"{{"PlatOrderNo":"B{no:08}","PageIndex":1}}"#)))
                }),
            ),
            (
                "DownloadProduct, page 1 of 100 on sale",
                Arc::new(|_| Some(signed_form("DownloadProduct", r#"{"Status":"JH_01","PageIndex":1,"PageSize":100}"#))),
            ),
            (
                "SyncStock add 1 to a SKU",
                Arc::new(|i| {
                    let product = 1 + i % 1000;
                    Some(signed_form(
                        "SyncStock",
                        &format!(r#"{{"PlatProductID":"P{product}","SkuID":"P{product}-S","Quantity":1,"SyncStockType":"JH_02"}}"#),
                    ))
                }),
            ),
            (
                "Send a whole order (each order once)",
                Arc::new(move |i| {
                    // The k-th order awaiting shipment (the seed leaves every fifth unpaid);
                    // a repeat of the same call is answered as already recorded.
                    let k = i as u64 % (n * 4 / 5).max(1);
                    let no = k + k / 4 + 1;
                    Some(signed_form(
                        "Send",
                        &format!(r#"{{"PlatOrderNo":"B{no:08}","LogisticType":"JH_001","LogisticNo":"EMS{no}"}}"#),
                    ))
                }),
            ),
        ];
        let perf_control = std::env::var_os("POLYMALL_BENCH_PERF_CTL");
        let tell_perf = |command: &str| {
            if let Some(fifo) = &perf_control {
                std::fs::write(fifo, format!("{command}\n")).expect("perf control FIFO");
            }
        };
        let wanted = |name: &str| {
            name == "healthz" || options.only.as_deref().is_none_or(|only| name.contains(only))
        };
        let mut results = Vec::new();
        tell_perf("enable");
        for (name, make) in scenarios.into_iter().filter(|(name, _)| wanted(name)) {
            // Warm-up, then the measured run.
            drive(&client, &base, name, options.concurrency * 2, options.concurrency, make.clone()).await;
            results.push(drive(&client, &base, name, options.requests, options.concurrency, make).await);
        }
        tell_perf("disable");
        let health = (
            results[0].p50.as_secs_f64(),
            results[0].p99.as_secs_f64(),
            results[0].per_second,
        );
        // Peak resident memory of this process: server and load generator together.
        let peak = std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|status| status.lines().find(|l| l.starts_with("VmHWM:")).map(|l| l.trim_start_matches("VmHWM:").trim().to_owned()))
            .unwrap_or_else(|| "unknown".to_owned());
        println!("peak RSS (server and load generator): {peak}");
        println!(
            "{:<42} {:>8} {:>8} {:>8} {:>8} {:>8} {:>9}",
            "scenario", "p50 ms", "p99 ms", "req/s", "p50 ×hz", "p99 ×hz", "req/s ÷hz"
        );
        for figures in &results {
            println!(
                "{:<42} {:>8.2} {:>8.2} {:>8.0} {:>8.1} {:>8.1} {:>9.4}",
                figures.name,
                figures.p50.as_secs_f64() * 1000.0,
                figures.p99.as_secs_f64() * 1000.0,
                figures.per_second,
                figures.p50.as_secs_f64() / health.0,
                figures.p99.as_secs_f64() / health.1,
                figures.per_second / health.2,
            );
        }
        drop(handle.stop(true));
    });
    if let Some(base) = &options.postgres {
        let mut conn = diesel::pg::PgConnection::establish(base).expect("connect");
        let _ = conn.batch_execute(&format!(
            "DROP SCHEMA IF EXISTS bench_{} CASCADE",
            std::process::id()
        ));
    }
}
