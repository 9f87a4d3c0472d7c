//! `/metrics` scraped: the Prometheus text of the real server, its token, and counters
//! and gauges that move with the calls made.

use polymall::config::Secret;
use polymall::polling::{self, CallLog};
use serde_json::json;

use crate::admin::full_order;
use crate::console_client::unreachable_jushuitan;
use crate::helpers::{Backend, TestApp, TestDb, ADMIN_TOKEN};
use crate::on_both_backends;
use crate::polyapi_client::{ok, PolyClient};

on_both_backends! {
    metrics_move_with_the_calls_made => scraped;
    polyapi_call_counts_of_several_processes_add_up => call_counts_add_up;
    outbox_counts_hold_every_kind_of_a_target => counts_of_every_kind;
}

/// The counts per target and state add the rows of each of the target's kinds, and the
/// oldest of them is the oldest of all.
async fn counts_of_every_kind(backend: Backend) {
    use diesel::RunQueryDsl;
    use polymall::outbox::{self, Kind, Target};
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (mut conn, shop) = crate::helpers::demo_shop(&app.db.url);
    diesel::sql_query("UPDATE shops SET wms_enabled = TRUE, kingdee_enabled = TRUE")
        .execute(&mut *conn)
        .expect("enable");
    outbox::enqueue(&mut conn, shop.id, Target::Wms, Kind::Item, "P-1").expect("item");
    outbox::enqueue(&mut conn, shop.id, Target::Wms, Kind::DeliveryOrder, "O-1").expect("do");
    outbox::enqueue(&mut conn, shop.id, Target::Wms, Kind::Cancel, "O-2").expect("cancel");
    outbox::enqueue(
        &mut conn,
        shop.id,
        Target::Kingdee,
        Kind::SalesReturn,
        "R-1",
    )
    .expect("sr");
    diesel::sql_query(
        "UPDATE outbox SET modified_at = '2026-01-02 03:04:05' WHERE kind = 'cancel'",
    )
    .execute(&mut *conn)
    .expect("age");
    let counts = polymall::reports::outbox::state_counts(&mut conn, &[shop.id]).expect("counts");
    let of = |target: &str, state: &str| {
        counts
            .iter()
            .find(|c| c.target == target && c.state == state)
            .map(|c| (c.rows, c.oldest.map(|t| t.to_string())))
    };
    assert_eq!(
        of("wms", "pending"),
        Some((3, Some("2026-01-02 03:04:05".to_owned())))
    );
    assert_eq!(of("kingdee", "pending").map(|(rows, _)| rows), Some(1));
    assert_eq!(of("jushuitan", "pending"), Some((0, None)));
    assert_eq!(of("wms", "dead"), Some((0, None)));
}

/// Two processes count calls of the same shop, method and minute; the database holds
/// their sum, and a failed flush loses nothing.
async fn call_counts_add_up(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (mut conn, shop) = crate::helpers::demo_shop(&app.db.url);
    let (first, second) = (CallLog::default(), CallLog::default());
    for _ in 0..2 {
        first.record(Some(shop.id), "GetOrder", "10000");
    }
    for _ in 0..3 {
        second.record(Some(shop.id), "GetOrder", "10000");
    }
    second.record(None, "unknown", "GSE.APPKEY_FAILURE");
    assert_eq!(first.flush(&mut conn).expect("flush"), 1);
    assert_eq!(second.flush(&mut conn).expect("flush"), 2);
    assert_eq!(second.flush(&mut conn).expect("flush"), 0, "nothing twice");
    let since = polymall::time::now_utc() - chrono::Duration::hours(1);
    let counts = polling::calls_since(&mut conn, since).expect("counts");
    let of = |shop_id: i64, outcome: &str| {
        counts
            .iter()
            .find(|c| c.shop_id == shop_id && c.outcome == outcome)
            .map(|c| c.calls)
    };
    assert_eq!(of(shop.id, "10000"), Some(5));
    assert_eq!(of(polling::NO_SHOP, "GSE.APPKEY_FAILURE"), Some(1));
    let last = polling::last_calls(&mut conn).expect("last");
    assert!(last.contains_key(&shop.id) && !last.contains_key(&polling::NO_SHOP));
}

const METRICS_TOKEN: &str = "metrics-token-0123456789";

/// The value of the sample of `name` carrying every label of `labels` (0 when absent);
/// `labels` names a single series.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|line| {
            line.starts_with(&format!("{name}{{")) || line.starts_with(&format!("{name} "))
        })
        .find(|line| {
            labels
                .iter()
                .all(|(key, value)| line.contains(&format!("{key}=\"{value}\"")))
        })
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
        .unwrap_or(0.0)
}

async fn scrape(app: &TestApp, token: Option<&str>) -> (u16, String) {
    let mut request = app.client.get(format!("{}/metrics", app.address));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("scrape");
    (
        response.status().as_u16(),
        response.text().await.expect("text"),
    )
}

async fn scraped(backend: Backend) {
    let Some(db) = TestDb::new(backend) else {
        return;
    };
    // The recorder is the process's: a shop code of this test's own keeps its series
    // apart from the other tests running beside it.
    let shop = match backend {
        Backend::Sqlite => "metrics-sqlite",
        Backend::Postgres => "metrics-postgres",
    };
    let app = TestApp::spawn_with(db, |config| {
        config.shops[0].code = shop.to_owned();
        config.shops[0].jushuitan = Some(unreachable_jushuitan());
        config.metrics.token = Some(Secret::new(METRICS_TOKEN));
    })
    .await;
    assert_eq!(scrape(&app, None).await.0, 401);
    assert_eq!(scrape(&app, Some("metrics-token-wrong-guess")).await.0, 401);
    let (status, before) = scrape(&app, Some(METRICS_TOKEN)).await;
    assert_eq!(status, 200);
    assert!(
        before.contains("# TYPE polymall_outbox_rows gauge"),
        "{before}"
    );

    let client = PolyClient::demo(&app);
    for _ in 0..2 {
        ok(client.call("GetOrder", json!({"PageIndex": 1})).await);
    }
    client.call("NoSuchMethod", json!({})).await;
    let post = |body: serde_json::Value| {
        app.client
            .post(format!("{}/admin/v1/shops/{shop}/orders", app.address))
            .bearer_auth(ADMIN_TOKEN)
            .json(&body)
            .send()
    };
    let orders = json!([full_order("M-1"), full_order("M-2"), full_order("M-3")]);
    assert_eq!(post(orders).await.expect("post").status(), 200);
    assert_eq!(
        post(json!([full_order("M-1")]))
            .await
            .expect("repost")
            .status(),
        200
    );

    let (_, after) = scrape(&app, Some(METRICS_TOKEN)).await;
    let delta = |name: &str, labels: &[(&str, &str)]| {
        sample(&after, name, labels) - sample(&before, name, labels)
    };
    let calls = "polymall_polyapi_calls_total";
    assert_eq!(
        delta(
            calls,
            &[("shop", shop), ("method", "GetOrder"), ("outcome", "10000")]
        ),
        2.0,
        "{after}"
    );
    assert_eq!(
        delta(
            calls,
            &[
                ("shop", shop),
                ("method", "unknown"),
                ("outcome", "GSE.ILLEGAL_ACCESS")
            ]
        ),
        1.0,
        "an unknown method is counted without its name: {after}"
    );
    assert!(!after.contains("NoSuchMethod"));
    assert_eq!(
        delta("polymall_orders_taken_total", &[("shop", shop)]),
        3.0,
        "new orders only"
    );
    let polyapi_requests = [("route", "/polyapi"), ("method", "POST"), ("status", "200")];
    assert!(delta("polymall_http_requests_total", &polyapi_requests) >= 3.0);
    assert!(
        delta(
            "polymall_http_request_duration_seconds_count",
            &[("route", "/polyapi"), ("method", "POST")]
        ) >= 3.0
    );
    assert!(
        after.contains("polymall_http_request_duration_seconds_bucket{"),
        "a histogram"
    );
    let admin_route = [
        ("route", "/admin/v1/shops/{code}/orders"),
        ("method", "POST"),
        ("status", "200"),
    ];
    assert!(
        delta("polymall_http_requests_total", &admin_route) >= 2.0,
        "the pattern, not the path"
    );
    // Three orders wait for Jushuitan, the oldest for less than a minute.
    let pending = [
        ("shop", shop),
        ("target", "jushuitan"),
        ("state", "pending"),
    ];
    assert_eq!(
        sample(&after, "polymall_outbox_rows", &pending),
        3.0,
        "{after}"
    );
    assert_eq!(
        sample(
            &after,
            "polymall_outbox_rows",
            &[("shop", shop), ("state", "dead")]
        ),
        0.0
    );
    let age = sample(
        &after,
        "polymall_outbox_oldest_pending_age_seconds",
        &[("shop", shop), ("target", "jushuitan")],
    );
    assert!((0.0..60.0).contains(&age), "{age}");
    assert!(delta("polymall_db_pool_wait_seconds_count", &[]) >= 1.0);
    assert!(after.contains("polymall_db_pool_connections{state=\"idle\"}"));
    assert!(after.contains("polymall_db_pool_max_connections "));
    assert!(after.contains("polymall_build_info{version=\""));
    assert!(
        !after.contains(ADMIN_TOKEN) && !after.contains("secret"),
        "no secret in metrics"
    );
}
