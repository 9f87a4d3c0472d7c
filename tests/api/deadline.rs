//! Answers tell the truth at the deadline: while another connection holds the database
//! lock past a call's deadline, every writing Polyapi method answers GSE.SYSTEM_ERROR
//! and writes nothing, not even after the lock is released; the ERP's retry then
//! applies exactly once. An admin post that finds no connection says nothing of it was
//! stored.

use std::sync::mpsc;
use std::time::Duration;

use serde_json::{json, Value};

use crate::admin::full_order;
use crate::helpers::{count_sql, Backend, TestApp, TestDb};
use crate::on_both_backends;
use crate::polyapi_client::{fails, ok, PolyClient};

on_both_backends! {
    writes_past_the_deadline_are_rolled_back_and_retries_apply_once => held_lock;
    writes_that_find_no_connection_say_nothing_was_written => few_connections;
    admin_posts_that_find_no_connection_say_nothing_was_stored => admin_few_connections;
}

/// Deadline of the test server's Polyapi calls.
const DEADLINE_MS: u64 = 1_500;
/// How long the lock is held: well past the deadline.
const HOLD: Duration = Duration::from_millis(3_000);

/// Holds the database's write lock from another connection for [`HOLD`]; answers once
/// the lock is taken, and the join handle ends when it is released.
fn hold_lock(url: String) -> std::thread::JoinHandle<()> {
    use diesel::connection::SimpleConnection;
    use diesel::Connection;
    let (taken, wait) = mpsc::channel();
    let holder = std::thread::spawn(move || {
        if url.starts_with("postgres") {
            let mut conn = diesel::pg::PgConnection::establish(&url).expect("connect");
            conn.batch_execute(
                "BEGIN; LOCK TABLE orders, products, skus, pickup_codes IN EXCLUSIVE MODE",
            )
            .expect("lock");
            taken.send(()).expect("signal");
            std::thread::sleep(HOLD);
            conn.batch_execute("ROLLBACK").expect("release");
        } else {
            let mut conn = diesel::sqlite::SqliteConnection::establish(&url).expect("connect");
            // Waits for the server's own writers (its jobs) rather than failing at once.
            conn.batch_execute("PRAGMA busy_timeout = 10000; BEGIN IMMEDIATE")
                .expect("lock");
            taken.send(()).expect("signal");
            std::thread::sleep(HOLD);
            conn.batch_execute("ROLLBACK").expect("release");
        }
    });
    wait.recv().expect("lock taken");
    holder
}

fn plain_product(id: &str) -> Value {
    json!({"PlatProductID": id, "name": "毛巾", "OuterID": format!("OUT-{id}"), "price": 9.9,
           "num": 7, "pictureurl": "", "whsecode": "", "skus": []})
}

/// The five writing calls, each on its own subject.
fn writes() -> Vec<(&'static str, Value)> {
    vec![
        (
            "Send",
            json!({"PlatOrderNo": "D-SEND", "LogisticType": "JH_002", "LogisticNo": "YT900",
                   "IsSplit": 0}),
        ),
        (
            "SyncStock",
            json!({"PlatProductID": "P-SET", "Quantity": 3}),
        ),
        (
            "SyncStock",
            json!({"PlatProductID": "P-ADD", "Quantity": 5, "SyncStockType": "JH_02"}),
        ),
        (
            "UpdateSellerMemo",
            json!({"PlatOrderNo": "D-MEMO", "SellerMemo": "改地址", "SellerFlag": "JH_Red"}),
        ),
        (
            "Consume",
            json!({"PlatOrderNo": "D-CONSUME", "VerifyCode": "884422", "StoreId": "S1",
                   "HXVerifyWay": "门店"}),
        ),
    ]
}

async fn stock(client: &PolyClient<'_>, id: &str) -> i64 {
    ok(client
        .call(
            "DownloadProduct",
            json!({"PageIndex": 1, "ProductId": format!("OUT-{id}")}),
        )
        .await)["goodslist"][0]["num"]
        .as_i64()
        .expect("num")
}

async fn order(client: &PolyClient<'_>, no: &str) -> Value {
    ok(client
        .call("GetOrder", json!({"PlatOrderNo": no, "PageIndex": 1}))
        .await)["orders"][0]
        .clone()
}

/// Asserts the state after `applied` rounds of the writes (0 or 1).
async fn assert_applied(app: &TestApp, client: &PolyClient<'_>, applied: i64) {
    let shipments = count_sql(app, "SELECT id FROM shipments");
    assert_eq!(shipments, applied, "shipments recorded");
    let sent = order(client, "D-SEND").await;
    assert_eq!(
        sent["tradeStatus"],
        if applied == 1 { "JH_03" } else { "JH_02" }
    );
    assert_eq!(
        stock(client, "P-SET").await,
        if applied == 1 { 3 } else { 7 }
    );
    assert_eq!(stock(client, "P-ADD").await, 7 + 5 * applied);
    let memo = order(client, "D-MEMO").await;
    let expected_memo = if applied == 1 {
        "改地址"
    } else {
        "已告知"
    };
    assert_eq!(memo["sellerremark"], expected_memo);
    let consumed = order(client, "D-CONSUME").await;
    assert_eq!(
        consumed["tradeStatus"],
        if applied == 1 { "JH_04" } else { "JH_02" }
    );
}

async fn held_lock(backend: Backend) {
    held_lock_with(backend, 8, 1_000).await;
}

/// Two connections for five calls: three wait for one and give up before their deadline.
/// They wrote nothing either, and say so, like those that reached the lock.
async fn few_connections(backend: Backend) {
    held_lock_with(backend, 2, 300).await;
}

async fn held_lock_with(backend: Backend, pool_size: u32, pool_timeout_ms: u64) {
    let Some(db) = TestDb::new(backend) else {
        return;
    };
    let app = TestApp::spawn_with(db, |config| {
        config.server.polyapi_deadline_ms = DEADLINE_MS;
        config.database.pool_timeout_ms = pool_timeout_ms;
        config.database.pool_size = pool_size;
    })
    .await;
    app.admin_post(
        "orders",
        &json!([
            full_order("D-SEND"),
            full_order("D-MEMO"),
            full_order("D-CONSUME")
        ]),
    )
    .await;
    app.admin_post(
        "products",
        &json!([plain_product("P-SET"), plain_product("P-ADD")]),
    )
    .await;
    let client = PolyClient::demo(&app);

    let holder = hold_lock(app.db.url.clone());
    let calls = writes()
        .into_iter()
        .map(|(method, biz)| client.call(method, biz));
    let answers = futures_util::future::join_all(calls).await;
    for answer in &answers {
        fails(answer, "GSE.SYSTEM_ERROR", "nothing was written");
    }
    holder.join().expect("lock holder");
    // Whatever was still running would have committed by now.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_applied(&app, &client, 0).await;

    // The ERP retries each call once: each applies exactly once.
    for (method, biz) in writes() {
        ok(client.call(method, biz).await);
    }
    assert_applied(&app, &client, 1).await;
}

/// The admin API likewise: two connections for five posts while the lock is held. A post
/// that finds no connection in time answers that nothing of it was stored, and nothing
/// of it is; one that got a connection stores its order once the lock is released, or
/// fails whole.
async fn admin_few_connections(backend: Backend) {
    let Some(db) = TestDb::new(backend) else {
        return;
    };
    let app = TestApp::spawn_with(db, |config| {
        config.database.pool_timeout_ms = 300;
        config.database.pool_size = 2;
    })
    .await;
    let holder = hold_lock(app.db.url.clone());
    let bodies: Vec<Value> = (0..5)
        .map(|i| json!([full_order(&format!("A-POST-{i}"))]))
        .collect();
    let answers =
        futures_util::future::join_all(bodies.iter().map(|body| app.admin_post("orders", body)))
            .await;
    holder.join().expect("lock holder");
    // Whatever was still running would have committed by now.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut without_connection = 0;
    for (i, (status, body)) in answers.iter().enumerate() {
        let stored = count_sql(
            &app,
            &format!("SELECT id FROM orders WHERE plat_order_no = 'A-POST-{i}'"),
        );
        if *status == 200 {
            assert_eq!(stored, 1, "post {i} answered stored: {body}");
            continue;
        }
        assert_eq!(*status, 503, "post {i}: {body}");
        assert_eq!(body["error"], "unavailable", "post {i}: {body}");
        assert_eq!(stored, 0, "post {i} answered unavailable: {body}");
        let message = body["message"].as_str().unwrap_or_default();
        if message.contains("busy") {
            assert!(
                message.contains("nothing of this request was stored"),
                "post {i}: {message}"
            );
            without_connection += 1;
        }
    }
    assert!(
        without_connection >= 1,
        "two connections for five posts held past the pool's timeout: {answers:?}"
    );
}
