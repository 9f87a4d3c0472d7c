//! The steady shop: N orders placed and modified one every 30 s over the months before
//! (written with SQL, the only way to give them a year of modified times), then the
//! server started on it as an operator would (it folds the counts and refreshes the
//! planner's statistics itself; the bench runs no ANALYZE or VACUUM).

use std::sync::Arc;
use std::time::Instant;

use diesel::connection::SimpleConnection;
use diesel::Connection;
use polymall::shop::orders::{OrderFilter, OrderTime, TimeWindow};
use polymall::shop::Page;

use super::load::{header, row, scenario, signed_form, Maker};
use super::plans::{self, Planned};
use super::server::{prepare, Db, Server};
use super::Options;

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

pub async fn run(options: &Options, tell_perf: &dyn Fn(&str)) {
    let db = Db::new(options.postgres.as_deref(), "steady");
    prepare(&db.config(0));
    let seeding = Instant::now();
    let sql = seed_sql(db.postgres, options.orders);
    if db.postgres {
        let mut conn = diesel::pg::PgConnection::establish(&db.url).expect("connect");
        conn.batch_execute(&format!("BEGIN; {sql} COMMIT;"))
            .expect("seed");
    } else {
        let mut conn = diesel::sqlite::SqliteConnection::establish(&db.url).expect("connect");
        conn.batch_execute(&format!("BEGIN IMMEDIATE; {sql} COMMIT;"))
            .expect("seed");
    }
    let server = Server::start(&db).await;
    println!("polymall serve pid {}", server.pid());
    println!(
        "backend={} orders={} one every 30 s, seeded and served in {:.1}s; requests={} concurrency={}",
        db.backend(),
        options.orders,
        seeding.elapsed().as_secs_f64(),
        options.requests,
        options.concurrency
    );
    let at = |text: &str| {
        chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").expect("time")
    };
    let history = OrderFilter {
        window: Some(TimeWindow::through_second(
            OrderTime::Modified,
            at("2022-12-31 16:00:00"),
            at("2029-12-31 16:00:00"),
        )),
        ..OrderFilter::default()
    };
    let plans = [
        ("all time, page 1", history.clone(), 1),
        ("all time, page 50", history, 50),
    ];
    let plans: Vec<Planned> = plans
        .into_iter()
        .map(|(label, filter, index)| Planned {
            label: label.to_owned(),
            filter,
            page: Page { index, size: 100 },
            after: None,
        })
        .collect();
    plans::print(&db.url, &plans);
    let base = server.base.clone();
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
                Some(signed_form(
                    "GetOrder",
                    &format!(r#"{{"PlatOrderNo":"B{no:08}","PageIndex":1}}"#),
                ))
            }),
        ),
        (
            "DownloadProduct, page 1 of 100 on sale",
            Arc::new(|_| {
                Some(signed_form(
                    "DownloadProduct",
                    r#"{"Status":"JH_01","PageIndex":1,"PageSize":100}"#,
                ))
            }),
        ),
        (
            "SyncStock add 1 to a SKU",
            Arc::new(|i| {
                let product = 1 + i % 1000;
                Some(signed_form(
                    "SyncStock",
                    &format!(
                        r#"{{"PlatProductID":"P{product}","SkuID":"P{product}-S","Quantity":1,"SyncStockType":"JH_02"}}"#
                    ),
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
                    &format!(
                        r#"{{"PlatOrderNo":"B{no:08}","LogisticType":"JH_001","LogisticNo":"EMS{no}"}}"#
                    ),
                ))
            }),
        ),
    ];
    header();
    tell_perf("enable");
    let mut health = None;
    for (name, make) in scenarios {
        if name != "healthz"
            && !options
                .only
                .as_deref()
                .is_none_or(|only| name.contains(only))
        {
            continue;
        }
        let figures = scenario(&client, &base, options.requests, options.concurrency, make).await;
        match &health {
            None => {
                row(name, &figures, &figures);
                health = Some(figures);
            }
            Some(reference) => row(name, &figures, reference),
        }
    }
    tell_perf("disable");
    println!(
        "peak RSS of the server: {} MiB",
        server.peak_rss_kib().unwrap_or(0) / 1024
    );
}
