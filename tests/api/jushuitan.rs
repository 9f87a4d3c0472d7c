//! The Jushuitan jobs against a local fake that checks every signature with its own
//! code: pushes through the outbox, refusals, rate limits, token refresh, garbage,
//! a worker that died holding a lease, and pulls that change what Polyapi answers.

use std::time::Duration;

use polymall::config::{DatabaseConfig, JushuitanApi, JushuitanShopConfig, Secret};
use polymall::db::Database;
use polymall::jushuitan::{pulls, push, shipping, JstSync};
use polymall::outbox::{self, Kind, OutboxFilter, Target};
use polymall::shop::shops;
use serde_json::{json, Value};

use crate::admin::full_order;
use crate::fake_jst::{FakeApi, FakeJushuitan, FakeParcel, Scripted, Waybill};
use crate::helpers::{count_sql, Backend, TestApp, TestDb};
use crate::on_both_backends;
use crate::polyapi_client::{ok, PolyClient};
use crate::polyapi_fulfilment::send;

on_both_backends! {
    pushed_orders_arrive_with_valid_payloads => push_open;
    legacy_generation_pushes_too => push_legacy;
    legacy_credentials_are_trimmed_and_a_timed_out_token_refreshed => legacy_token;
    a_refused_order_neither_blocks_nor_resends_the_others => refused_order;
    rate_limits_and_garbage_back_off => back_off;
    an_expired_token_is_refreshed_once_and_kept => token_refresh;
    a_dead_worker_lease_is_taken_over => lease_takeover;
    claims_take_the_earliest_due_and_pass_the_rows_backing_off => claim_order;
    stock_and_shipping_pulls_change_what_polyapi_answers => pulls;
    order_level_discounts_are_spread_over_the_items => discounts;
    only_sent_orders_ship_and_every_parcel_counts => parcels;
    every_order_awaiting_shipment_comes_round => shipping_turn;
    what_jushuitan_shipped_since_the_last_run_is_found_without_asking_order_by_order => shipped_since;
    a_long_silence_is_read_in_windows_of_seven_days_and_a_failed_window_read_again => long_silence;
    another_shops_orders_never_ship_this_shops => other_shop;
}

pub fn jst_config(fake: &FakeJushuitan, api: JushuitanApi) -> JushuitanShopConfig {
    JushuitanShopConfig {
        api,
        base_url: fake.base_url.clone(),
        shop_id: 10_001,
        app_key: Some("app".to_owned()),
        app_secret: Some(Secret::new("secret")),
        access_token: Some(Secret::new("at-1")),
        refresh_token: Some(Secret::new("rt-1")),
        partner_id: Some("pid".to_owned()),
        partner_key: Some(Secret::new("pkey")),
        token: Some(Secret::new("tok")),
        push_interval_secs: 3_600,
        stock_interval_secs: 3_600,
        shipping_interval_secs: 3_600,
        refund_interval_secs: 3_600,
        max_attempts: 3,
        timeout_secs: 5,
    }
}

/// An order whose amounts satisfy Jushuitan's rule: items 95.50 + freight 10 = 105.50.
fn jst_order(no: &str) -> Value {
    let mut order = full_order(no);
    order["realMoney"] = json!(105.5);
    order
}

struct Setup {
    app: TestApp,
    fake: FakeJushuitan,
    sync: JstSync,
}

async fn setup(backend: Backend, api: FakeApi) -> Option<Setup> {
    setup_with(backend, api, |_| {}).await
}

async fn setup_with(
    backend: Backend,
    api: FakeApi,
    adjust: impl FnOnce(&mut JushuitanShopConfig),
) -> Option<Setup> {
    let db = TestDb::new(backend)?;
    let fake = FakeJushuitan::start(api).await;
    let generation = match api {
        FakeApi::Open => JushuitanApi::Open,
        FakeApi::Legacy => JushuitanApi::Legacy,
    };
    let mut config = jst_config(&fake, generation);
    adjust(&mut config);
    let shop_config = config.clone();
    let app = TestApp::spawn_with(db, move |c| c.shops[0].jushuitan = Some(shop_config)).await;
    let database = Database::connect(&DatabaseConfig {
        url: Secret::new(app.db.url.clone()),
        ..DatabaseConfig::default()
    })
    .expect("connect");
    let shop = {
        let mut conn = database.get().expect("conn");
        shops::find_by_code(&mut conn, "demo").expect("shop")
    };
    let sync = JstSync::new(database, shop, config).expect("sync");
    Some(Setup { app, fake, sync })
}

async fn outbox_rows(sync: &JstSync) -> Vec<outbox::OutboxRow> {
    let shop_id = sync.shop.id;
    sync.db
        .run(move |conn| {
            outbox::list(
                conn,
                &OutboxFilter {
                    shop_id: Some(shop_id),
                    state: None,
                    limit: 1_000,
                },
            )
        })
        .await
        .expect("list")
}

fn latest_upload(fake: &FakeJushuitan, so_id: &str) -> Value {
    fake.state()
        .uploaded
        .iter()
        .rev()
        .find(|order| order["so_id"] == so_id)
        .cloned()
        .unwrap_or_else(|| panic!("{so_id} was not uploaded"))
}

async fn push_open(backend: Backend) {
    let Some(s) = setup(backend, FakeApi::Open).await else {
        return;
    };
    let (status, body) = s
        .app
        .admin_post("orders", &json!([jst_order("J-1"), jst_order("J-2")]))
        .await;
    assert_eq!(status, 200, "{body}");
    let report = push::push_orders(&s.sync).await.expect("push");
    assert_eq!(report.sent, 2, "{report:?}");
    let uploaded = latest_upload(&s.fake, "J-1");
    assert_eq!(uploaded["shop_id"], 10_001);
    assert_eq!(uploaded["shop_status"], "WAIT_SELLER_SEND_GOODS");
    assert_eq!(uploaded["pay_amount"], 105.5);
    assert_eq!(uploaded["freight"], 10);
    assert_eq!(uploaded["pay"]["amount"], 105.5);
    assert_eq!(uploaded["items"][0]["sku_id"], "sd0001");
    assert_eq!(uploaded["items"][0]["qty"], 2);
    assert_eq!(uploaded["items"][0]["outer_oi_id"], "J-1-1");
    assert_eq!(uploaded["order_date"], "2016-07-23 13:26:58");
    assert!(outbox_rows(&s.sync)
        .await
        .iter()
        .all(|row| row.state == outbox::State::Done));
    assert_eq!(s.fake.state().bad_signs, 0);

    // Nothing due: a second run sends nothing. A memo change re-arms only that order.
    let calls = s.fake.state().upload_calls;
    assert_eq!(push::push_orders(&s.sync).await.expect("push").sent, 0);
    assert_eq!(s.fake.state().upload_calls, calls);
    let client = PolyClient::demo(&s.app);
    ok(client
        .call(
            "UpdateSellerMemo",
            json!({"PlatOrderNo": "J-2", "SellerMemo": "加急", "SellerFlag": "JH_Red"}),
        )
        .await);
    let report = push::push_orders(&s.sync).await.expect("push");
    assert_eq!(report.sent, 1);
    assert_eq!(latest_upload(&s.fake, "J-2")["remark"], "加急");

    // An order breaking the amount rule is held with the reason, not sent.
    let mut broken = jst_order("J-3");
    broken["realMoney"] = json!(1);
    s.app.admin_post("orders", &json!([broken])).await;
    let report = push::push_orders(&s.sync).await.expect("push");
    assert_eq!((report.sent, report.held), (0, 1));
    let held = outbox_rows(&s.sync)
        .await
        .into_iter()
        .find(|row| row.subject == "J-3")
        .expect("row");
    assert_eq!(held.state.code(), "held");
    assert!(held.last_error.unwrap_or_default().contains("pay_amount"));
}

async fn push_legacy(backend: Backend) {
    let Some(s) = setup(backend, FakeApi::Legacy).await else {
        return;
    };
    s.app.admin_post("orders", &json!([jst_order("L-1")])).await;
    let report = push::push_orders(&s.sync).await.expect("push");
    assert_eq!(report.sent, 1, "{report:?}");
    assert_eq!(latest_upload(&s.fake, "L-1")["so_id"], "L-1");
    assert_eq!(s.fake.state().bad_signs, 0);
}

async fn refused_order(backend: Backend) {
    let Some(s) = setup(backend, FakeApi::Open).await else {
        return;
    };
    s.fake.state().reject_so_ids.insert("R-2".to_owned());
    s.app
        .admin_post(
            "orders",
            &json!([jst_order("R-1"), jst_order("R-2"), jst_order("R-3")]),
        )
        .await;
    let report = push::push_orders(&s.sync).await.expect("push");
    assert_eq!((report.sent, report.refused), (2, 1), "{report:?}");
    let rows = outbox_rows(&s.sync).await;
    let refused = rows.iter().find(|row| row.subject == "R-2").expect("row");
    assert_eq!(refused.state.code(), "pending");
    assert_eq!(refused.attempts, 1);
    assert!(refused
        .last_error
        .clone()
        .unwrap_or_default()
        .contains("refused"));
    // Backing off: the next run sends nothing, and the accepted ones are not resent.
    let uploads = s.fake.state().uploaded.len();
    assert_eq!(push::push_orders(&s.sync).await.expect("push").sent, 0);
    assert_eq!(s.fake.state().uploaded.len(), uploads);
    // After max_attempts (3) the row is dead; the operator re-arms it once fixed.
    for _ in 0..2 {
        force_due(&s.sync).await;
        push::push_orders(&s.sync).await.expect("push");
    }
    let dead = outbox_rows(&s.sync)
        .await
        .into_iter()
        .find(|row| row.subject == "R-2")
        .expect("row");
    assert_eq!((dead.state.code(), dead.attempts), ("dead", 3));
    s.fake.state().reject_so_ids.clear();
    let shop_id = s.sync.shop.id;
    let rearmed = s
        .sync
        .db
        .run(move |conn| outbox::retry(conn, &outbox::RetryWhich::AllDead(Some(shop_id))))
        .await
        .expect("retry");
    assert_eq!(rearmed, 1);
    assert_eq!(push::push_orders(&s.sync).await.expect("push").sent, 1);
}

/// Makes every pending row due now (instead of waiting out the backoff).
async fn force_due(sync: &JstSync) {
    use diesel::prelude::*;
    use polymall::db::schema::outbox as rows;
    sync.db
        .run(|conn| {
            diesel::update(rows::table.filter(rows::state.eq("pending")))
                .set(
                    rows::next_attempt_at
                        .eq(chrono::Utc::now().naive_utc() - chrono::Duration::seconds(1)),
                )
                .execute(conn)
                .map_err(polymall::db::DbError::from)
        })
        .await
        .expect("force due");
}

async fn back_off(backend: Backend) {
    let Some(s) = setup(backend, FakeApi::Open).await else {
        return;
    };
    s.app
        .admin_post("orders", &json!([jst_order("B-1"), jst_order("B-2")]))
        .await;
    s.fake.state().script.push_back(Scripted::RateLimit);
    let report = push::push_orders(&s.sync).await.expect("push");
    assert_eq!((report.sent, report.deferred), (0, 2), "{report:?}");
    let rows = outbox_rows(&s.sync).await;
    let now = chrono::Utc::now().naive_utc();
    for row in &rows {
        assert_eq!((row.state.code(), row.attempts), ("pending", 1));
        assert!(
            row.last_error
                .clone()
                .unwrap_or_default()
                .contains("rate limited"),
            "{row:?}"
        );
        assert!(
            row.next_attempt_at > now + chrono::Duration::seconds(20),
            "backs off: {row:?}"
        );
    }
    force_due(&s.sync).await;
    s.fake.state().script.push_back(Scripted::Garbage);
    let report = push::push_orders(&s.sync).await.expect("push");
    assert_eq!(report.deferred, 2);
    let second: Vec<_> = outbox_rows(&s.sync).await;
    assert!(second.iter().all(|row| row.attempts == 2));
    let wait_first = rows[0].next_attempt_at - rows[0].modified_at;
    let wait_second = second[0].next_attempt_at - second[0].modified_at;
    assert!(
        wait_second > wait_first,
        "the wait grows: {wait_first} then {wait_second}"
    );
    force_due(&s.sync).await;
    s.fake.state().script.push_back(Scripted::ServerError);
    assert_eq!(push::push_orders(&s.sync).await.expect("push").deferred, 2);
    // Third failure with max_attempts = 3: dead, with the last error kept.
    let dead = outbox_rows(&s.sync).await;
    assert!(
        dead.iter().all(|row| row.state.code() == "dead"
            && row.last_error.clone().unwrap_or_default().contains("502")),
        "{dead:?}"
    );
    assert_eq!(push::push_orders(&s.sync).await.expect("push").sent, 0);
    let shop_id = s.sync.shop.id;
    s.sync
        .db
        .run(move |conn| outbox::retry(conn, &outbox::RetryWhich::AllDead(Some(shop_id))))
        .await
        .expect("retry");
    assert_eq!(push::push_orders(&s.sync).await.expect("push").sent, 2);
}

async fn token_refresh(backend: Backend) {
    let Some(s) = setup(backend, FakeApi::Open).await else {
        return;
    };
    s.app.admin_post("orders", &json!([jst_order("T-1")])).await;
    s.fake.state().script.push_back(Scripted::TokenExpired);
    assert_eq!(push::push_orders(&s.sync).await.expect("push").sent, 1);
    assert_eq!(s.fake.state().refreshes, 1);
    // The new tokens are stored: a fresh session (a restart) uses them.
    let current = s.fake.state().access_token.clone();
    assert_ne!(current, "at-1");
    let restarted = JstSync::new(
        s.sync.db.clone(),
        s.sync.shop.clone(),
        s.sync.config.clone(),
    )
    .expect("sync");
    s.app.admin_post("orders", &json!([jst_order("T-2")])).await;
    assert_eq!(push::push_orders(&restarted).await.expect("push").sent, 1);
    assert_eq!(s.fake.state().refreshes, 1, "no second refresh needed");
}

async fn lease_takeover(backend: Backend) {
    let Some(s) = setup(backend, FakeApi::Open).await else {
        return;
    };
    s.app
        .admin_post("orders", &json!([jst_order("K-1"), jst_order("K-2")]))
        .await;
    // A worker claims both rows and dies before settling them (kill -9 mid-batch).
    let claimed = claim_rows(&s, "dead-worker", 50, Duration::ZERO).await;
    assert_eq!(claimed.len(), 2);
    tokio::time::sleep(Duration::from_millis(5)).await;
    // Its lease has run out: the next worker sends both, nothing is lost.
    assert_eq!(push::push_orders(&s.sync).await.expect("push").sent, 2);
    // A live lease is respected: nothing is claimed twice.
    s.app.admin_post("orders", &json!([jst_order("K-3")])).await;
    let held = claim_rows(&s, "other", 50, Duration::from_secs(60)).await;
    assert_eq!(held.len(), 1);
    assert_eq!(push::push_orders(&s.sync).await.expect("push").sent, 0);
}

/// Claims up to `limit` Jushuitan order rows as `owner` for `lease`, in claim order.
async fn claim_rows(
    s: &Setup,
    owner: &'static str,
    limit: i64,
    lease: Duration,
) -> Vec<outbox::Claimed> {
    let shop_id = s.sync.shop.id;
    s.sync
        .db
        .run(move |conn| {
            outbox::claim(
                conn,
                shop_id,
                Target::Jushuitan,
                Kind::Order,
                owner,
                limit,
                lease,
            )
        })
        .await
        .expect("claim")
}

async fn claim_order(backend: Backend) {
    let Some(s) = setup(backend, FakeApi::Open).await else {
        return;
    };
    for no in ["Q-1", "Q-2", "Q-3"] {
        s.app.admin_post("orders", &json!([jst_order(no)])).await;
    }
    let subjects = |claimed: &[outbox::Claimed]| -> Vec<String> {
        claimed.iter().map(|row| row.subject.clone()).collect()
    };
    // The earliest queued goes first; the partner failed it, so it waits out a backoff.
    let first = claim_rows(&s, "worker-1", 1, Duration::from_secs(60)).await;
    assert_eq!(subjects(&first), ["Q-1"]);
    let failed = first[0].clone();
    s.sync
        .db
        .run(move |conn| outbox::fail(conn, &failed, "partner busy", true, 5))
        .await
        .expect("fail");
    // The rows behind it are due and taken, earliest first; it is not.
    let next = claim_rows(&s, "worker-2", 50, Duration::from_secs(60)).await;
    assert_eq!(subjects(&next), ["Q-2", "Q-3"]);
    // Rows leased to a drain are passed too: a row queued later is all that is left.
    s.app.admin_post("orders", &json!([jst_order("Q-4")])).await;
    assert_eq!(
        subjects(&claim_rows(&s, "worker-3", 50, Duration::from_secs(60)).await),
        ["Q-4"]
    );
    assert!(claim_rows(&s, "worker-4", 50, Duration::from_secs(60))
        .await
        .is_empty());

    // The claim reads the outbox_claim index in its order whatever the statistics say: no
    // walk over the table and no sort of every pending row (on PostgreSQL shown with the
    // other ways disabled, since a table of four rows is cheaper to read whole).
    let shop_id = s.sync.shop.id;
    let plan = s
        .sync
        .db
        .run(move |conn| {
            use diesel::connection::Connection;
            conn.transaction::<_, outbox::OutboxError, _>(|conn| {
                crate::helpers::only_index_paths(conn)?;
                outbox::explain_claim(conn, shop_id, Target::Jushuitan, Kind::Order)
            })
        })
        .await
        .expect("plan")
        .join("\n");
    assert!(plan.contains("outbox_claim"), "{plan}");
    crate::helpers::assert_no_sort_nor_walk(&plan, "outbox");
}

async fn pulls(backend: Backend) {
    let Some(s) = setup(backend, FakeApi::Open).await else {
        return;
    };
    let product = json!({"PlatProductID": "P1", "name": "连衣裙", "OuterID": "OUT-P1", "price": 99, "num": 0,
        "pictureurl": "", "whsecode": "", "status": "JH_01", "skus": [
            {"SkuID": "P1-S", "skuOuterID": "sd0001", "skuprice": 99, "skuQuantity": 5, "skuname": "S", "skuproperty": "", "skupictureurl": ""},
            {"SkuID": "P1-M", "skuOuterID": "sd0002", "skuprice": 99, "skuQuantity": 5, "skuname": "M", "skuproperty": "", "skupictureurl": ""}]});
    s.app.admin_post("products", &json!([product])).await;
    {
        let mut fake = s.fake.state();
        fake.inventory.insert("sd0001".to_owned(), (30, 4));
        fake.inventory.insert("sd0002".to_owned(), (2, 7));
    }
    let updated = pulls::pull_stock(&s.sync).await.expect("pull stock");
    assert_eq!(updated, 2);
    let client = PolyClient::demo(&s.app);
    let listed = ok(client
        .call("DownloadProduct", json!({"PageIndex": 1}))
        .await);
    assert_eq!(
        listed["goodslist"][0]["skus"][0]["skuQuantity"], 26,
        "qty - order_lock"
    );
    assert_eq!(
        listed["goodslist"][0]["skus"][1]["skuQuantity"], 0,
        "clamped at 0"
    );
    assert_eq!(
        count_sql(
            &s.app,
            "SELECT id FROM skus WHERE stock_source = 'jushuitan'"
        ),
        2,
        "the console shows where the levels came from"
    );

    s.app
        .admin_post("orders", &json!([jst_order("SH-1"), jst_order("SH-2")]))
        .await;
    push::push_orders(&s.sync).await.expect("push");
    s.fake.state().set_status(
        10_001,
        "SH-1",
        "Sent",
        Some(Waybill::new("SF123", "SF", "顺丰")),
    );
    assert_eq!(
        shipping::pull_shipping(&s.sync)
            .await
            .expect("pull shipping"),
        1
    );
    let order = ok(client
        .call("GetOrder", json!({"PlatOrderNo": "SH-1", "PageIndex": 1}))
        .await);
    assert_eq!(order["orders"][0]["tradeStatus"], "JH_03");
    let other = ok(client
        .call("GetOrder", json!({"PlatOrderNo": "SH-2", "PageIndex": 1}))
        .await);
    assert_eq!(other["orders"][0]["tradeStatus"], "JH_02");
    // Pulled again: recorded once.
    assert_eq!(
        shipping::pull_shipping(&s.sync)
            .await
            .expect("pull shipping"),
        0
    );
}

on_both_backends! {
    kill_9_while_pushing_loses_nothing => killed_mid_push;
}

/// The real server pushes while orders keep arriving; it is killed with SIGKILL and
/// restarted: every order reaches Jushuitan, re-sent at most once per batch in flight.
async fn killed_mid_push(backend: Backend) {
    use std::io::Write;
    use std::process::{Command, Stdio};

    let Some(db) = TestDb::new(backend) else {
        return;
    };
    let fake = FakeJushuitan::start(FakeApi::Open).await;
    let dir = tempfile::tempdir().expect("dir");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let config_path = dir.path().join("polymall.toml");
    let mut file = std::fs::File::create(&config_path).expect("config");
    write!(
        file,
        "[server]\nlisten = \"127.0.0.1:{port}\"\n[database]\nurl = \"{}\"\n[admin]\ntoken = \"{}\"\n\
         [[shops]]\ncode = \"demo\"\nname = \"Demo\"\n[shops.jushuitan]\napi = \"open\"\nbase_url = \"{}\"\nshop_id = 10001\n\
         app_key = \"app\"\napp_secret = \"secret\"\naccess_token = \"at-1\"\nrefresh_token = \"rt-1\"\n\
         push_interval_secs = 1\ntimeout_secs = 1\n",
        db.url,
        crate::helpers::ADMIN_TOKEN,
        fake.base_url
    )
    .expect("write");
    drop(file);
    let start = || {
        Command::new(env!("CARGO_BIN_EXE_polymall"))
            .arg("--config")
            .arg(&config_path)
            .arg("serve")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start")
    };
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let post = |numbers: Vec<String>| {
        let client = client.clone();
        let base = base.clone();
        async move {
            let batch: Vec<Value> = numbers.iter().map(|no| jst_order(no)).collect();
            for _ in 0..100 {
                let sent = client
                    .post(format!("{base}/admin/v1/shops/demo/orders"))
                    .bearer_auth(crate::helpers::ADMIN_TOKEN)
                    .json(&batch)
                    .send()
                    .await;
                if matches!(sent, Ok(ref response) if response.status().is_success()) {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            panic!("server did not take the batch");
        }
    };
    let mut child = start();
    let mut expected = Vec::new();
    for round in 0..12 {
        let numbers: Vec<String> = (0..10).map(|i| format!("KILL-{round}-{i}")).collect();
        expected.extend(numbers.clone());
        post(numbers).await;
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("wait");
    let mut child = start();
    // Everything arrives once the dead process's leases (3 s) run out.
    let mut waited = 0;
    loop {
        let arrived: std::collections::HashSet<String> = fake
            .state()
            .uploaded
            .iter()
            .filter_map(|order| order["so_id"].as_str().map(str::to_owned))
            .collect();
        if expected.iter().all(|no| arrived.contains(no)) {
            break;
        }
        waited += 1;
        assert!(
            waited < 300,
            "orders never arrived: {} of {}",
            arrived.len(),
            expected.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    child.kill().expect("kill");
    child.wait().expect("wait");
    let uploads = fake.state().uploaded.len();
    // At-least-once: duplicates only from a batch in flight at the kill (at most 50).
    assert!(
        uploads >= expected.len() && uploads <= expected.len() + 50,
        "{uploads} uploads for {}",
        expected.len()
    );
    assert_eq!(fake.state().bad_signs, 0);
}

on_both_backends! {
    refund_pull_stores_after_sales_and_keeps_a_cursor => refund_pull;
    after_sales_changed_while_their_window_is_read_are_not_passed_over => after_sales_paged;
    after_sales_refund_their_own_lines_and_keep_what_a_booking_needs => after_sales;
}

/// 120 after-sales changed ten minutes ago, each changed again in Jushuitan as soon as
/// the pull has read it (people handle them while the run reads on): every one is
/// stored once, over three pages; another shop's is not.
async fn after_sales_paged(backend: Backend) {
    let Some(s) = setup(backend, FakeApi::Open).await else {
        return;
    };
    let stamp = (chrono::Utc::now().naive_utc() + chrono::Duration::hours(8)
        - chrono::Duration::minutes(10))
    .format("%Y-%m-%d %H:%M:%S")
    .to_string();
    {
        let mut fake = s.fake.state();
        for (n, shop) in (0..121).map(|n| (n, if n == 120 { 20_002 } else { 10_001 })) {
            fake.refunds.push(json!({
                "as_id": format!("AS-{n:03}"), "so_id": format!("EX-{n:03}"), "shop_id": shop,
                "type": "换货", "status": "WaitConfirm", "shop_status": "WAIT_SELLER_AGREE",
                "good_status": "BUYER_NOT_RECEIVED", "refund": "0", "created": stamp, "modified": stamp,
                "items": [{"sku_id": "sd0001", "qty": 1, "amount": 0, "outer_oi_id": ""}]
            }));
        }
        fake.change_what_windows_answer = true;
    }
    assert_eq!(pulls::pull_refunds(&s.sync).await.expect("pull"), 120);
    assert_eq!(count_sql(&s.app, "SELECT id FROM after_sales"), 120);
    assert_eq!(
        count_sql(&s.app, "SELECT id FROM after_sales WHERE as_id = 'AS-120'"),
        0,
        "another shop's"
    );
    // Each changed record is in a later window with its new time, not this run's.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert_eq!(pulls::pull_refunds(&s.sync).await.expect("pull"), 0);
}

async fn refund_pull(backend: Backend) {
    let Some(s) = setup(backend, FakeApi::Open).await else {
        return;
    };
    s.app
        .admin_post("orders", &json!([jst_order("RF-1")]))
        .await;
    let now =
        chrono::Utc::now().with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).expect("offset"));
    let stamp = (now - chrono::Duration::hours(1))
        .format("%Y-%m-%d %H:%M:%S")
        .to_string();
    s.fake.state().refunds.push(json!({
        "as_id": "AS-1", "so_id": "RF-1", "o_id": 1, "shop_id": 10_001, "status": "Confirmed", "shop_status": "SUCCESS",
        "good_status": "BUYER_RETURNED_GOODS", "refund": "95.5", "created": stamp, "modified": stamp,
        "shop_buyer_id": "J1274551574", "question_type": "质量问题", "remark": "", "l_id": "YT9", "logistics_company": "圆通",
        "items": [{"sku_id": "sd0001", "shop_sku_id": "1964645294", "name": "套装", "qty": 2, "amount": 95.5,
                   "outer_oi_id": "RF-1-1", "properties_value": "大号"}]
    }));
    assert_eq!(pulls::pull_refunds(&s.sync).await.expect("pull refunds"), 1);
    let client = PolyClient::demo(&s.app);
    let window = json!({"BeginTime": (now - chrono::Duration::days(1)).format("%Y-%m-%d %H:%M:%S").to_string(),
                        "EndTime": (now + chrono::Duration::days(1)).format("%Y-%m-%d %H:%M:%S").to_string(), "PageIndex": 1});
    let refunds = ok(client.call("GetRefund", window).await);
    assert_eq!(refunds["totalcount"], 1);
    assert_eq!(refunds["refunds"][0]["refundno"], "AS-1");
    assert_eq!(refunds["refunds"][0]["refundstatus"], "JH_06");
    assert_eq!(
        refunds["refunds"][0]["RefundGoods"][0]["RefundAmount"],
        95.5
    );
    // The refund covers line RF-1-1: that line can no longer ship.
    let check = ok(client
        .call("CheckRefundStatus", json!({"OrderID": "RF-1"}))
        .await);
    assert_eq!(check["refundStatus"], "JH_09");
    // The cursor is kept in the database at the end of the window just read, so a
    // restart continues from there.
    use diesel::prelude::*;
    use polymall::db::schema::sync_cursors;
    let shop_id = s.sync.shop.id;
    let position: chrono::NaiveDateTime = s
        .sync
        .db
        .run(move |conn| {
            sync_cursors::table
                .find((shop_id, "jushuitan.refunds"))
                .select(sync_cursors::position)
                .first(conn)
                .map_err(polymall::db::DbError::from)
        })
        .await
        .expect("cursor");
    // Windows end a minute before now: Jushuitan shows a change a moment after it.
    let age = chrono::Utc::now().naive_utc() - position;
    assert!(
        age >= chrono::Duration::minutes(1) && age < chrono::Duration::minutes(2),
        "cursor at {position}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sync_command_pushes_once() {
    let fake = FakeJushuitan::start(FakeApi::Legacy).await;
    let dir = tempfile::tempdir().expect("dir");
    let orders = dir.path().join("orders.json");
    std::fs::write(&orders, json!([jst_order("CLI-J1")]).to_string()).expect("write");
    std::fs::write(
        dir.path().join("polymall.toml"),
        format!(
            "[database]\nurl = \"shop.db\"\n[[shops]]\ncode = \"demo\"\nname = \"Demo\"\n[shops.jushuitan]\napi = \"legacy\"\n\
             base_url = \"{}\"\nshop_id = 10001\npartner_id = \"pid\"\npartner_key = \"pkey\"\ntoken = \"tok\"\n",
            fake.base_url
        ),
    )
    .expect("write");
    let work_dir = dir.path().to_path_buf();
    let run = move |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_polymall"))
            .current_dir(&work_dir)
            .env_remove("POLYMALL_CONFIG")
            .env("RUST_LOG", "warn")
            .args(args)
            .output()
            .expect("run")
    };
    let imported = tokio::task::spawn_blocking(move || {
        assert!(run(&["migrate"]).status.success());
        let import = run(&["import", "--shop", "demo", "orders", "orders.json"]);
        assert!(
            import.status.success(),
            "{}",
            String::from_utf8_lossy(&import.stderr)
        );
        let listed = run(&["outbox", "list", "--state", "pending"]);
        let pending = String::from_utf8_lossy(&listed.stdout).into_owned();
        let pushed = run(&["sync", "jushuitan", "push-orders", "--shop", "demo"]);
        let listed_done = run(&["outbox", "list", "--state", "done"]);
        (
            pending,
            pushed,
            String::from_utf8_lossy(&listed_done.stdout).into_owned(),
        )
    })
    .await
    .expect("join");
    assert!(imported.0.contains("CLI-J1"), "{}", imported.0);
    assert!(
        imported.1.status.success(),
        "{}",
        String::from_utf8_lossy(&imported.1.stderr)
    );
    assert!(String::from_utf8_lossy(&imported.1.stdout).contains("1 sent"));
    assert!(imported.2.contains("CLI-J1"), "{}", imported.2);
    assert_eq!(fake.state().uploaded.len(), 1);
}

/// An order with these lines (count, unit price, line discount, in yuan), freight and
/// paid amount.
fn priced_order(no: &str, lines: &[(i64, f64, f64)], freight: f64, paid: f64) -> Value {
    let mut order = full_order(no);
    order["postfee"] = json!(freight);
    order["realMoney"] = json!(paid);
    order["goodinfos"] = Value::Array(
        lines
            .iter()
            .enumerate()
            .map(|(i, (count, price, discount))| {
                json!({"ProductId": format!("P{i}"), "suborderno": format!("{no}-{i}"),
                       "tradegoodsno": format!("sku-{i}"), "tradegoodsname": format!("商品{i}"),
                       "tradegoodsspec": "", "goodscount": count, "price": price,
                       "discountmoney": discount, "taxamount": 0, "refundStatus": "JH_07", "remark": ""})
            })
            .collect(),
    );
    order
}

fn item_amounts(upload: &Value) -> Vec<f64> {
    upload["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|item| item["amount"].as_f64().expect("amount"))
        .collect()
}

async fn discounts(backend: Backend) {
    let Some(s) = setup(backend, FakeApi::Open).await else {
        return;
    };
    let orders = json!([
        // A coupon of 10 on goods of 100 plus freight 10.
        priced_order("D-COUPON", &[(2, 30.0, 0.0), (1, 40.0, 0.0)], 10.0, 100.0),
        // The second line is a gift, discounted to zero; a coupon of 6 on top.
        priced_order("D-GIFT", &[(2, 30.0, 0.0), (1, 40.0, 40.0)], 10.0, 64.0),
        // Free freight, and a coupon that does not divide evenly.
        priced_order("D-FREE", &[(1, 99.99, 0.0), (3, 0.01, 0.0)], 0.0, 99.92),
        // A coupon of 20 is more than the second line's 5.
        priced_order("D-BIG", &[(1, 100.0, 0.0), (1, 5.0, 0.0)], 10.0, 95.0),
    ]);
    let (status, body) = s.app.admin_post("orders", &orders).await;
    assert_eq!(status, 200, "{body}");
    let report = push::push_orders(&s.sync).await.expect("push");
    assert_eq!((report.sent, report.held), (4, 0), "{report:?}");
    for (no, amounts, paid, base) in [
        ("D-COUPON", vec![54.0, 36.0], 100.0, vec![30.0, 40.0]),
        ("D-GIFT", vec![54.0, 0.0], 64.0, vec![30.0, 40.0]),
        ("D-FREE", vec![99.89, 0.03], 99.92, vec![99.99, 0.01]),
        ("D-BIG", vec![80.95, 4.05], 95.0, vec![100.0, 5.0]),
    ] {
        let upload = latest_upload(&s.fake, no);
        assert_eq!(item_amounts(&upload), amounts, "{no}: {upload}");
        assert_eq!(upload["pay_amount"].as_f64(), Some(paid), "{no}");
        assert_eq!(upload["pay"]["amount"].as_f64(), Some(paid), "{no}");
        let base_prices: Vec<f64> = upload["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|item| item["base_price"].as_f64().expect("base_price"))
            .collect();
        assert_eq!(base_prices, base, "{no}: base_price stays the list price");
        assert_eq!(
            s.fake.state().status_of(10_001, no).as_deref(),
            Some("WaitConfirm"),
            "{no} arrives paid"
        );
    }

    // Figures that cannot be reconciled are held, with the numbers.
    s.app
        .admin_post(
            "orders",
            &json!([
                priced_order("D-OVER", &[(1, 100.0, 0.0), (1, 5.0, 0.0)], 10.0, 200.0),
                priced_order("D-UNDER", &[(1, 100.0, 0.0)], 10.0, 6.0),
            ]),
        )
        .await;
    let report = push::push_orders(&s.sync).await.expect("push");
    assert_eq!((report.sent, report.held), (0, 2), "{report:?}");
    let rows = outbox_rows(&s.sync).await;
    let reason = |no: &str| {
        rows.iter()
            .find(|row| row.subject == no)
            .and_then(|row| row.last_error.clone())
            .unwrap_or_default()
    };
    assert!(
        reason("D-OVER")
            .contains("paid 200.00 (realMoney) is more than goods 105.00 + freight 10.00"),
        "{}",
        reason("D-OVER")
    );
    assert!(
        reason("D-UNDER").contains("paid 6.00 (realMoney) is less than the freight 10.00"),
        "{}",
        reason("D-UNDER")
    );
}

/// The order's status in GetOrder.
async fn trade_status(app: &TestApp, no: &str) -> Value {
    ok(PolyClient::demo(app)
        .call("GetOrder", json!({"PlatOrderNo": no, "PageIndex": 1}))
        .await)["orders"][0]["tradeStatus"]
        .clone()
}

fn parcel(status: &str, waybill: Waybill, items: &[(&str, &str, i64)]) -> FakeParcel {
    FakeParcel {
        status: status.to_owned(),
        waybill,
        items: items
            .iter()
            .map(|(sub, sku, qty)| (sub.to_string(), sku.to_string(), *qty))
            .collect(),
    }
}

/// More orders wait than a run asks about (a thousand): each run asks about the next ones
/// in turn, so the newest order's shipment is found although the first thousand never
/// ship, and the turn comes round to the first again.
async fn shipping_turn(backend: Backend) {
    let Some(s) = setup(backend, FakeApi::Open).await else {
        return;
    };
    let numbers: Vec<String> = (0..1_010).map(|i| format!("TURN-{i:04}")).collect();
    for chunk in numbers.chunks(505) {
        let orders: Vec<Value> = chunk.iter().map(|no| jst_order(no)).collect();
        assert_eq!(s.app.admin_post("orders", &json!(orders)).await.0, 200);
    }
    push::push_orders(&s.sync).await.expect("push");
    assert_eq!(s.fake.state().uploaded.len(), 1_010);
    // Queries by number (each run also asks what shipped since the last, by window).
    let queries = |s: &Setup| {
        s.fake
            .state()
            .order_queries
            .iter()
            .filter(|(biz, _)| biz.get("so_ids").is_some())
            .count()
    };
    let sent = |no: &str| {
        (
            no.to_owned(),
            Waybill::new(&format!("YT-{no}"), "YTO", "圆通"),
        )
    };
    let (newest, waybill) = sent("TURN-1009");
    s.fake
        .state()
        .set_status(10_001, &newest, "Sent", Some(waybill));
    // The first run asks about the first thousand (20 calls of 50): none has left.
    assert_eq!(shipping::pull_shipping(&s.sync).await.expect("pull"), 0);
    assert_eq!(queries(&s), 20);
    assert_eq!(trade_status(&s.app, &newest).await, "JH_02");
    // The next run asks about the rest, then goes round to the first: the newest has left.
    assert_eq!(shipping::pull_shipping(&s.sync).await.expect("pull"), 1);
    assert_eq!(queries(&s), 40);
    assert_eq!(trade_status(&s.app, &newest).await, "JH_03");
    // The turn goes on where it stopped and round again: the first order's parcel is found.
    let (first, waybill) = sent("TURN-0000");
    s.fake
        .state()
        .set_status(10_001, &first, "Sent", Some(waybill));
    assert_eq!(shipping::pull_shipping(&s.sync).await.expect("pull"), 1);
    assert_eq!(trade_status(&s.app, &first).await, "JH_03");
    assert_eq!(queries(&s), 60);
    // Each run reads the orders after its place and each one's outbox row by its key.
    let shop_id = s.sync.shop.id;
    let plan = s
        .sync
        .db
        .run(move |conn| {
            polymall::shop::orders::explain_awaiting_shipment(conn, shop_id, Target::Jushuitan)
        })
        .await
        .expect("plan")
        .join("\n");
    // (PostgreSQL plans a table of a thousand rows by its statistics; the bench prints
    // its plan at a million.)
    if backend == Backend::Sqlite {
        assert!(
            plan.contains("USING INDEX orders_shop_status_created")
                && plan.contains("USING INDEX sqlite_autoindex_outbox_1")
                && !plan.contains("TEMP B-TREE"),
            "{plan}"
        );
    }
    // Without statistics too, as on a new installation's first sale before anything is
    // analysed: each order's row is sought by its whole key, subject included, never through
    // the claim's index, which would read every order row of the target for each order.
    let plan = s
        .sync
        .db
        .run(move |conn| {
            use diesel::connection::Connection;
            Ok::<_, polymall::shop::ShopError>(
                conn.test_transaction::<_, polymall::shop::ShopError, _>(|conn| {
                    polymall::db::forget_statistics(conn)?;
                    crate::helpers::only_index_paths(conn)?;
                    polymall::shop::orders::explain_awaiting_shipment(
                        conn,
                        shop_id,
                        Target::Jushuitan,
                    )
                }),
            )
        })
        .await
        .expect("plan")
        .join("\n");
    let by_key = match backend {
        Backend::Sqlite => "USING INDEX sqlite_autoindex_outbox_1 (shop_id=? AND target=? AND kind=? AND subject=?)",
        Backend::Postgres => "Index Scan using outbox_shop_id_target_kind_subject_key on outbox x",
    };
    assert!(plan.contains(by_key), "{plan}");
    assert!(!plan.contains("outbox_claim"), "{plan}");
}

/// The window queries the fake answered since `from` (queries by number left out).
fn window_queries(s: &Setup, from: usize) -> Vec<Value> {
    s.fake.state().order_queries[from..]
        .iter()
        .map(|(biz, _)| biz)
        .filter(|biz| biz.get("so_ids").is_none())
        .cloned()
        .collect()
}

/// A window query's ends.
fn window_of(biz: &Value) -> (chrono::NaiveDateTime, chrono::NaiveDateTime) {
    let end = |name: &str| {
        chrono::NaiveDateTime::parse_from_str(biz[name].as_str().expect(name), "%Y-%m-%d %H:%M:%S")
            .expect(name)
    };
    (end("modified_begin"), end("modified_end"))
}

/// Sets where the window pull's last window ended (UTC), as if it had run then.
async fn window_ended_at(s: &Setup, at: chrono::NaiveDateTime) {
    let shop_id = s.sync.shop.id;
    s.sync
        .db
        .run(move |conn| polymall::shop::cursors::advance(conn, shop_id, "jushuitan.shipped", at))
        .await
        .expect("cursor");
}

/// A UTC time as Jushuitan writes it: China time, whole seconds.
fn in_china(utc: chrono::NaiveDateTime) -> chrono::NaiveDateTime {
    let china = utc + chrono::Duration::hours(8);
    chrono::Timelike::with_nanosecond(&china, 0).expect("time")
}

/// A waybill of Yuantong named after the order.
fn yto(no: &str) -> Waybill {
    Waybill::new(&format!("YT-{no}"), "YTO", "圆通")
}

/// During the sale Jushuitan ships thousands of orders among many more waiting: a run
/// asks what it changed to `Sent` since the last run, page by page, and records those of
/// the shop's orders awaiting shipment: not a printed waybill, not a manual order of
/// Jushuitan's own, not an order the ERP already shipped through Polyapi, not what changed
/// in the last minute (read by the next run), and nothing twice.
async fn shipped_since(backend: Backend) {
    let Some(s) = setup(backend, FakeApi::Open).await else {
        return;
    };
    let numbers: Vec<String> = (0..60).map(|i| format!("WIN-{i:02}")).collect();
    let orders: Vec<Value> = numbers.iter().map(|no| jst_order(no)).collect();
    assert_eq!(s.app.admin_post("orders", &json!(orders)).await.0, 200);
    push::push_orders(&s.sync).await.expect("push");
    let client = PolyClient::demo(&s.app);
    ok(client.call("Send", send("WIN-57", "SF-ERP", "")).await);
    let five_minutes = chrono::Duration::minutes(5);
    {
        let mut fake = s.fake.state();
        // 55 orders left five minutes ago, WIN-54 in two parcels.
        for no in &numbers[..54] {
            fake.set_status(10_001, no, "Sent", Some(yto(no)));
            fake.changed_ago(10_001, no, five_minutes);
        }
        fake.split(
            10_001,
            "WIN-54",
            vec![
                parcel("Sent", yto("WIN-54-1"), &[("WIN-54-1", "sd0001", 2)]),
                parcel("Sent", yto("WIN-54-2"), &[("WIN-54-2", "sd0002", 1)]),
            ],
        );
        fake.changed_ago(10_001, "WIN-54", five_minutes);
        // A waybill printed, not shipped.
        fake.set_status(10_001, "WIN-55", "Delivering", Some(yto("WIN-55")));
        fake.changed_ago(10_001, "WIN-55", five_minutes);
        // Shipped a moment ago: after the window's end.
        fake.set_status(10_001, "WIN-56", "Sent", Some(yto("WIN-56")));
        // Shipped already through Polyapi; Jushuitan names another waybill.
        fake.set_status(10_001, "WIN-57", "Sent", Some(yto("WIN-57")));
        fake.changed_ago(10_001, "WIN-57", five_minutes);
        // An order made by hand in Jushuitan's own console.
        let mut manual = jst_order("MANUAL-1");
        manual["so_id"] = json!("MANUAL-1");
        manual["shop_id"] = json!(10_001);
        manual["order_date"] = json!("2026-11-11 10:00:00");
        manual["shop_status"] = json!("WAIT_SELLER_SEND_GOODS");
        manual["items"] = json!([{"sku_id": "sd0001", "qty": 1, "amount": 10, "outer_oi_id": ""}]);
        manual["pay_amount"] = json!(10);
        manual["freight"] = json!(0);
        let answer = fake.upload(&[manual]);
        assert_eq!(answer[0]["issuccess"], true, "{answer:?}");
        fake.set_status(10_001, "MANUAL-1", "Sent", Some(yto("MANUAL-1")));
        fake.changed_ago(10_001, "MANUAL-1", five_minutes);
    }

    // Each order recorded is uploaded again while the run reads on, which moves it out
    // of the window: the orders after it move back onto pages read before.
    s.fake.state().change_what_windows_answer = true;
    assert_eq!(
        shipping::pull_shipped_since(&s.sync).await.expect("pull"),
        56,
        "54 orders whole and two parcels"
    );
    for no in &numbers[..55] {
        assert_eq!(trade_status(&s.app, no).await, "JH_03", "{no}");
    }
    for no in ["WIN-55", "WIN-56", "WIN-58"] {
        assert_eq!(trade_status(&s.app, no).await, "JH_02", "{no}");
    }
    assert_eq!(
        count_sql(
            &s.app,
            "SELECT id FROM shipments WHERE logistic_no LIKE 'YT-WIN-54-%'"
        ),
        2,
        "each parcel of the split order"
    );
    assert_eq!(
        count_sql(
            &s.app,
            "SELECT s.id FROM shipments s JOIN orders o ON o.id = s.order_id \
             WHERE o.plat_order_no = 'WIN-57'"
        ),
        1,
        "shipped once, through Polyapi"
    );
    assert_eq!(count_sql(&s.app, "SELECT id FROM shipments"), 57);
    // Asked by window only: the shop's, Sent, at most 50 a page; the first run reads
    // the last 7 days up to a minute ago. 58 Sent records (two parcels, the manual order
    // and WIN-57 among them): two pages, read 1, then 2 and 1 again.
    let first = window_queries(&s, 0);
    assert_eq!(s.fake.state().order_queries.len(), first.len());
    let pages: Vec<&Value> = first.iter().map(|biz| &biz["page_index"]).collect();
    assert_eq!(pages, [&json!(1), &json!(2), &json!(1)], "{first:?}");
    for biz in &first {
        assert_eq!(
            (&biz["shop_id"], &biz["status"], &biz["page_size"]),
            (&json!(10_001), &json!("Sent"), &json!(50)),
            "{biz}"
        );
        assert_eq!(window_of(biz), window_of(&first[0]));
    }
    let (begin, end) = window_of(&first[0]);
    assert_eq!(end - begin, chrono::Duration::days(7));
    let china_now = chrono::Utc::now().naive_utc() + chrono::Duration::hours(8);
    assert!(
        end <= china_now - chrono::Duration::seconds(60)
            && end > china_now - chrono::Duration::seconds(90),
        "{end} against {china_now}"
    );

    // The next run (a second later: windows are whole seconds) starts where this one
    // ended and records nothing again.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert_eq!(
        shipping::pull_shipped_since(&s.sync).await.expect("pull"),
        0
    );
    let second = window_queries(&s, first.len());
    assert_eq!(window_of(&second[0]).0, end);
    assert_eq!(count_sql(&s.app, "SELECT id FROM shipments"), 57);
    // The turn finds the one shipped inside the last minute.
    assert_eq!(shipping::pull_shipping(&s.sync).await.expect("pull"), 1);
    assert_eq!(trade_status(&s.app, "WIN-56").await, "JH_03");
}

/// A shop whose pull was stopped for weeks reads what shipped since in windows of at most
/// 7 days (Jushuitan refuses longer), each starting where the last ended. A window that
/// fails is read again by the next run, and the turn still runs.
async fn long_silence(backend: Backend) {
    let Some(s) = setup(backend, FakeApi::Open).await else {
        return;
    };
    s.app
        .admin_post(
            "orders",
            &json!([
                jst_order("LONG-1"),
                jst_order("LONG-2"),
                jst_order("LONG-3")
            ]),
        )
        .await;
    push::push_orders(&s.sync).await.expect("push");
    let stopped = polymall::time::now_utc() - chrono::Duration::days(20);
    window_ended_at(&s, stopped).await;
    {
        let mut fake = s.fake.state();
        for (no, days) in [("LONG-1", 10), ("LONG-2", 30)] {
            fake.set_status(10_001, no, "Sent", Some(yto(no)));
            fake.changed_ago(10_001, no, chrono::Duration::days(days));
        }
    }
    assert_eq!(
        shipping::pull_shipped_since(&s.sync).await.expect("pull"),
        1
    );
    assert_eq!(trade_status(&s.app, "LONG-1").await, "JH_03");
    assert_eq!(
        trade_status(&s.app, "LONG-2").await,
        "JH_02",
        "before the cursor"
    );
    let windows: Vec<_> = window_queries(&s, 0).iter().map(window_of).collect();
    assert_eq!(windows.len(), 3, "{windows:?}");
    assert_eq!(windows[0].0, in_china(stopped));
    for pair in windows.windows(2) {
        assert_eq!(
            pair[1].0, pair[0].1,
            "each window starts where the last ended"
        );
    }
    assert!(windows
        .iter()
        .all(|(begin, end)| *end - *begin <= chrono::Duration::days(7)));

    // The next run, ten minutes later: Jushuitan limits its first call, so the window
    // fails; the turn still records what shipped, and the next run asks for the same
    // window again.
    let asked = s.fake.state().order_queries.len();
    let last_run = polymall::time::now_utc() - chrono::Duration::minutes(10);
    window_ended_at(&s, last_run).await;
    {
        let mut fake = s.fake.state();
        fake.set_status(10_001, "LONG-3", "Sent", Some(yto("LONG-3")));
        fake.changed_ago(10_001, "LONG-3", chrono::Duration::minutes(5));
        fake.script.push_back(Scripted::RateLimit);
    }
    let failed = shipping::pull_shipping(&s.sync).await;
    assert!(failed.is_err(), "{failed:?}");
    assert_eq!(trade_status(&s.app, "LONG-2").await, "JH_03", "by the turn");
    assert_eq!(trade_status(&s.app, "LONG-3").await, "JH_03", "by the turn");
    assert_eq!(
        s.fake.state().order_queries.len(),
        asked + 1,
        "the turn's one call"
    );
    assert_eq!(shipping::pull_shipping(&s.sync).await.expect("pull"), 0);
    let again = window_queries(&s, asked);
    assert_eq!(window_of(&again[0]).0, in_china(last_run));
}

async fn parcels(backend: Backend) {
    let Some(s) = setup(backend, FakeApi::Open).await else {
        return;
    };
    // Each order: line -1 is sd0001 × 2, line -2 is sd0002 × 1.
    s.app
        .admin_post(
            "orders",
            &json!([jst_order("SP-A"), jst_order("SP-B"), jst_order("SP-C")]),
        )
        .await;
    push::push_orders(&s.sync).await.expect("push");
    // A printed waybill is not a shipment: Delivering and Question change nothing.
    s.fake.state().set_status(
        10_001,
        "SP-A",
        "Delivering",
        Some(Waybill::new("YT1", "YTO", "圆通")),
    );
    assert_eq!(shipping::pull_shipping(&s.sync).await.expect("pull"), 0);
    s.fake.state().set_status(
        10_001,
        "SP-A",
        "Question",
        Some(Waybill::new("YT1", "YTO", "圆通")),
    );
    assert_eq!(shipping::pull_shipping(&s.sync).await.expect("pull"), 0);
    assert_eq!(trade_status(&s.app, "SP-A").await, "JH_02");

    // SP-B is split: the first parcel leaves, the second is still being packed.
    let split_b = |second: &str| {
        vec![
            parcel(
                "Sent",
                Waybill::new("SF1", "SF", "顺丰速运"),
                &[("SP-B-1", "sd0001", 2)],
            ),
            parcel(
                second,
                Waybill::new("ZT2", "ZTO", "中通快递"),
                &[("", "sd0002", 1)],
            ),
        ]
    };
    s.fake.state().split(10_001, "SP-B", split_b("Delivering"));
    assert_eq!(shipping::pull_shipping(&s.sync).await.expect("pull"), 1);
    assert_eq!(
        trade_status(&s.app, "SP-B").await,
        "JH_02",
        "one line still to ship"
    );
    assert_eq!(
        count_sql(
            &s.app,
            "SELECT s.id FROM shipments s JOIN shipment_lines sl ON sl.shipment_id = s.id \
             JOIN order_lines l ON l.id = sl.order_line_id \
             WHERE s.logistic_no = 'SF1' AND s.logistic_type = 'JH_014' \
             AND l.sub_order_no = 'SP-B-1' AND sl.goods_count = 2"
        ),
        1,
        "the parcel ships its own line, carrier from lc_id SF"
    );
    assert_eq!(count_sql(&s.app, "SELECT id FROM shipment_lines"), 1);
    // The second parcel leaves; its item is matched by SKU.
    s.fake.state().split(10_001, "SP-B", split_b("Sent"));
    assert_eq!(shipping::pull_shipping(&s.sync).await.expect("pull"), 1);
    assert_eq!(trade_status(&s.app, "SP-B").await, "JH_03");
    assert_eq!(
        count_sql(
            &s.app,
            "SELECT id FROM shipments WHERE logistic_no = 'ZT2' AND logistic_type = 'JH_006'"
        ),
        1
    );
    // A whole order Sent, with a carrier known only by its code.
    s.fake.state().set_status(
        10_001,
        "SP-C",
        "Sent",
        Some(Waybill::new("YD3", "YUNDA", "韵达快递(网点)")),
    );
    assert_eq!(shipping::pull_shipping(&s.sync).await.expect("pull"), 1);
    assert_eq!(trade_status(&s.app, "SP-C").await, "JH_03");
    assert_eq!(
        count_sql(
            &s.app,
            "SELECT id FROM shipments WHERE logistic_no = 'YD3' AND logistic_type = 'JH_003'"
        ),
        1
    );
    // Pulled again: nothing recorded twice.
    assert_eq!(shipping::pull_shipping(&s.sync).await.expect("pull"), 0);
    assert_eq!(count_sql(&s.app, "SELECT id FROM shipments"), 3);
}

async fn other_shop(backend: Backend) {
    let Some(s) = setup(backend, FakeApi::Open).await else {
        return;
    };
    s.app
        .admin_post("orders", &json!([jst_order("OS-1")]))
        .await;
    push::push_orders(&s.sync).await.expect("push");
    // Another shop of the same company uploaded the same online number and shipped it.
    let mut theirs = latest_upload(&s.fake, "OS-1");
    theirs["shop_id"] = json!(20_002);
    {
        let mut fake = s.fake.state();
        fake.upload(&[theirs]);
        fake.set_status(
            20_002,
            "OS-1",
            "Sent",
            Some(Waybill::new("SF9", "SF", "顺丰")),
        );
    }
    assert_eq!(shipping::pull_shipping(&s.sync).await.expect("pull"), 0);
    assert_eq!(trade_status(&s.app, "OS-1").await, "JH_02");
    assert_eq!(count_sql(&s.app, "SELECT id FROM shipments"), 0);
}

/// A shop time of an hour ago, as Jushuitan writes times.
pub fn an_hour_ago() -> String {
    (chrono::Utc::now() - chrono::Duration::hours(1))
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).expect("offset"))
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

async fn after_sales(backend: Backend) {
    let Some(s) = setup(backend, FakeApi::Open).await else {
        return;
    };
    // Lines AS-1-0 (sku-0 × 2), AS-1-1 (sku-1), AS-1-2 (sku-2).
    s.app
        .admin_post(
            "orders",
            &json!([priced_order(
                "AS-1",
                &[(2, 50.0, 0.0), (1, 20.0, 0.0), (1, 10.0, 0.0)],
                10.0,
                130.0
            )]),
        )
        .await;
    let stamp = an_hour_ago();
    let record = |as_id: &str, shop_id: i64, items: Value| {
        json!({"as_id": as_id, "so_id": "AS-1", "o_id": 5501, "shop_id": shop_id, "status": "Confirmed",
               "shop_status": "SUCCESS", "good_status": "SELLER_RECEIVED", "refund": 70, "payment": 0,
               "freight": 0, "wms_co_id": 10086, "warehouse": "杭州仓", "confirm_date": stamp.clone(),
               "created": stamp.clone(), "modified": stamp.clone(), "l_id": "YT-BACK",
               "logistics_company": "圆通", "remark": "退回两件", "question_type": "质量问题",
               "shop_buyer_id": "J1274551574", "items": items})
    };
    {
        let mut fake = s.fake.state();
        // A return of two of the three lines: one named, one found by its SKU.
        fake.refunds.push(record("AS-RET", 10_001, json!([
            {"asi_id": 1, "type": "退货", "sku_id": "sku-0", "outer_oi_id": "AS-1-0", "name": "商品0",
             "qty": 1, "r_qty": 1, "price": 50, "amount": 50,
             "batchs": [{"sku_id": "sku-0", "qty": 1, "batch_no": "B-2024-01", "product_date": "2024-01-01",
                         "supplier_id": 9, "supplier_name": "义乌供应商"}]},
            {"asi_id": 2, "type": "退货", "sku_id": "sku-1", "outer_oi_id": "", "name": "商品1",
             "qty": 1, "r_qty": 0, "price": 20, "amount": 20}])));
        // An exchange and a resend of the third line: no refund.
        fake.refunds.push(record("AS-EXC", 10_001, json!([
            {"asi_id": 3, "type": "退货", "sku_id": "sku-2", "outer_oi_id": "AS-1-2", "qty": 1, "r_qty": 1, "amount": 10},
            {"asi_id": 4, "type": "换货", "sku_id": "sku-2", "outer_oi_id": "", "qty": 1, "r_qty": 0, "amount": 10}])));
        fake.refunds.push(record("AS-RES", 10_001, json!([
            {"asi_id": 5, "type": "补发", "sku_id": "sku-2", "outer_oi_id": "AS-1-2", "qty": 1, "r_qty": 0, "amount": 0}])));
        // Another shop's after-sale on the same online number.
        fake.refunds.push(record("AS-OTHER", 20_002, json!([
            {"asi_id": 6, "type": "退货", "sku_id": "sku-2", "outer_oi_id": "AS-1-2", "qty": 1, "r_qty": 1, "amount": 10}])));
    }
    assert_eq!(pulls::pull_refunds(&s.sync).await.expect("pull refunds"), 3);

    let client = PolyClient::demo(&s.app);
    let check = ok(client
        .call("CheckRefundStatus", json!({"OrderID": "AS-1"}))
        .await);
    let refunded: Vec<(&str, &str)> = check["childrenrefundStatus"]
        .as_array()
        .expect("children")
        .iter()
        .map(|child| {
            (
                child["ProductName"].as_str().unwrap_or_default(),
                child["refundStatus"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        refunded,
        vec![("商品0", "JH_06"), ("商品1", "JH_06")],
        "the return's own lines only, never the exchanged one: {check}"
    );
    let window = json!({"BeginTime": "2000-01-01 00:00:00", "EndTime": "2099-01-01 00:00:00", "PageIndex": 1});
    let listed = ok(client.call("GetRefund", window).await);
    assert_eq!(
        listed["totalcount"], 1,
        "only the return is a refund: {listed}"
    );
    assert_eq!(listed["refunds"][0]["refundno"], "AS-RET");

    // What a booking of the return needs is kept, per line.
    let kept = |sql: &str| count_sql(&s.app, sql);
    assert_eq!(
        kept("SELECT id FROM after_sales"),
        3,
        "another shop's record is not kept"
    );
    assert_eq!(
        kept("SELECT id FROM after_sales WHERE as_id = 'AS-RET' AND kind = 'return' AND o_id = '5501' \
              AND wms_co_id = '10086' AND confirm_date IS NOT NULL AND refund_id IS NOT NULL \
              AND l_id = 'YT-BACK' AND refund = 7000 AND remark = '退回两件'"),
        1
    );
    assert_eq!(
        kept(
            "SELECT id FROM after_sales WHERE refund_id IS NULL AND kind IN ('exchange', 'resend')"
        ),
        2
    );
    assert_eq!(
        kept("SELECT l.id FROM after_sale_lines l JOIN after_sales a ON a.id = l.after_sale_id \
              WHERE a.as_id = 'AS-RET' AND ((l.sub_order_no = 'AS-1-0' AND l.r_qty = 1 AND l.amount = 5000) \
              OR (l.sub_order_no = 'AS-1-1' AND l.r_qty = 0 AND l.qty = 1 AND l.line_type = '退货'))"),
        2
    );
    assert_eq!(
        kept(
            "SELECT b.id FROM after_sale_batches b JOIN after_sale_lines l ON l.id = b.line_id \
              WHERE l.asi_id = '1' AND b.batch_no = 'B-2024-01' AND b.product_date = '2024-01-01' \
              AND b.supplier_name = '义乌供应商' AND b.qty = 1"
        ),
        1
    );
    // Pulled again: replaced, not doubled.
    s.sync
        .db
        .run(move |conn| {
            use diesel::prelude::*;
            diesel::delete(polymall::db::schema::sync_cursors::table)
                .execute(conn)
                .map_err(polymall::db::DbError::from)
        })
        .await
        .expect("reset cursor");
    assert_eq!(pulls::pull_refunds(&s.sync).await.expect("pull again"), 3);
    assert_eq!(kept("SELECT id FROM after_sale_lines"), 5);
    assert_eq!(kept("SELECT id FROM after_sale_batches"), 1);
}

async fn legacy_token(backend: Backend) {
    // Seed FAQ 2: spaces around the partner id make it "invalid".
    let Some(s) = setup_with(backend, FakeApi::Legacy, |config| {
        config.partner_id = Some(" pid ".to_owned());
        config.partner_key = Some(Secret::new("pkey "));
        config.token = Some(Secret::new("\ttok\n"));
    })
    .await
    else {
        return;
    };
    s.app
        .admin_post("orders", &json!([jst_order("LT-1")]))
        .await;
    assert_eq!(push::push_orders(&s.sync).await.expect("push").sent, 1);
    assert_eq!(s.fake.state().bad_signs, 0);

    // The token times out; Jushuitan applies a refreshed one minutes later (FAQ 3).
    {
        let mut fake = s.fake.state();
        fake.script.push_back(Scripted::TokenExpired);
        fake.legacy_refresh_delay = Duration::from_secs(3_600);
    }
    s.app
        .admin_post("orders", &json!([jst_order("LT-2")]))
        .await;
    let report = push::push_orders(&s.sync).await.expect("push");
    assert_eq!((report.sent, report.deferred), (0, 1), "{report:?}");
    assert_eq!(s.fake.state().legacy_refreshes, 1);
    let row = outbox_rows(&s.sync)
        .await
        .into_iter()
        .find(|row| row.subject == "LT-2")
        .expect("row");
    assert_eq!(row.state.code(), "pending");
    assert!(
        row.last_error
            .clone()
            .unwrap_or_default()
            .contains("refresh.token"),
        "{row:?}"
    );
    // Still timed out: retried later, without asking for another refresh.
    force_due(&s.sync).await;
    assert_eq!(push::push_orders(&s.sync).await.expect("push").deferred, 1);
    assert_eq!(s.fake.state().legacy_refreshes, 1);
    // Applied: the same token works again.
    s.fake.state().legacy_valid_from = Some(std::time::Instant::now());
    force_due(&s.sync).await;
    assert_eq!(push::push_orders(&s.sync).await.expect("push").sent, 1);
    assert_eq!(latest_upload(&s.fake, "LT-2")["so_id"], "LT-2");
}
