//! Bad input is refused at the edge, naming the field, in the protocol's own shape, and
//! never answered as "database unavailable"; what must not be accepted is not.

use serde_json::{json, Value};

use crate::admin::full_order;
use crate::helpers::{count_sql, Backend, TestApp, TestDb, ADMIN_TOKEN};
use crate::on_both_backends;
use crate::polyapi_client::{fails, ok, PolyClient};

on_both_backends! {
    times_outside_the_sane_range_are_refused_naming_the_field => far_times;
    nul_in_an_admin_query_is_a_bad_query => nul_query;
    admin_answers_are_json_for_every_error => admin_shapes;
    a_long_query_string_is_refused_in_the_envelope => long_query;
    a_refund_for_an_unknown_order_is_refused => unknown_order_refund;
    an_order_without_lines_is_refused => order_without_lines;
}

async fn far_times(backend: Backend) {
    let Some(db) = TestDb::new(backend) else {
        return;
    };
    // West of UTC, the last second of year 9999 is a time of year 10000 in UTC.
    let app = TestApp::spawn_with(db, |config| {
        config.shops[0].utc_offset = "-08:00".parse().expect("offset");
    })
    .await;
    for (field, value) in [
        ("tradetime", "9999-12-31 23:59:59"),
        ("tradetime", "0001-01-01 00:00:00"),
        ("paytime", "3000-01-01 00:00:00"),
    ] {
        let mut order = full_order("FAR-1");
        order[field] = json!(value);
        let (status, body) = app.admin_post("orders", &json!([order])).await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(body["field"], format!("[0].{field}"), "{body}");
        assert!(
            body["message"]
                .as_str()
                .unwrap_or_default()
                .contains("years"),
            "{body}"
        );
    }
    assert_eq!(count_sql(&app, "SELECT id FROM orders"), 0);
    let client = PolyClient::demo(&app);
    fails(
        &client
            .call(
                "GetOrder",
                json!({"PageIndex": 1, "StartTime": "2024-01-01 00:00:00", "EndTime": "9999-12-31 23:59:59"}),
            )
            .await,
        "GSE.INVALID_PARAMETER",
        "EndTime",
    );
    // The edges of the range still work.
    let mut order = full_order("FAR-2");
    order["tradetime"] = json!("2999-12-31 23:59:59");
    let (status, body) = app.admin_post("orders", &json!([order])).await;
    assert_eq!(status, 200, "{body}");
}

async fn nul_query(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (status, body) = app.admin_get("orders?PlatOrderNo=%00").await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["field"], "PlatOrderNo");
    assert!(body["message"].as_str().unwrap_or_default().contains("NUL"));
}

async fn admin_shapes(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let json_error = |response: reqwest::Response| async move {
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert!(
            content_type.starts_with("application/json"),
            "{content_type}"
        );
        let body: Value = response.json().await.expect("JSON error document");
        assert!(
            body["error"].is_string() && body["message"].is_string(),
            "{body}"
        );
        (status, body)
    };
    let unknown = app
        .client
        .get(format!("{}/admin/v1/shops/demo/nothing", app.address))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .expect("request");
    assert_eq!(json_error(unknown).await.0, 404);
    let wrong_method = app
        .client
        .delete(format!("{}/admin/v1/shops/demo/orders", app.address))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .expect("request");
    assert_eq!(json_error(wrong_method).await.0, 405);
    // Over the 32 MiB cap: refused by its declared length, as JSON.
    let huge = app
        .client
        .post(format!("{}/admin/v1/shops/demo/orders", app.address))
        .bearer_auth(ADMIN_TOKEN)
        .header("Content-Type", "application/json")
        .body(vec![b' '; 32 * 1024 * 1024 + 1])
        .send()
        .await
        .expect("request");
    let (status, body) = json_error(huge).await;
    assert_eq!(status, 413);
    assert_eq!(body["error"], "too_large");
    // Without the token, the body is not read at all.
    let anonymous = app
        .client
        .post(format!("{}/admin/v1/shops/demo/orders", app.address))
        .body("[]")
        .send()
        .await
        .expect("request");
    assert_eq!(json_error(anonymous).await.0, 401);
}

async fn long_query(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let client = PolyClient::demo(&app);
    let params = client.params("GetOrder", &json!({"PageIndex": 1}), &[]);
    let query = format!(
        "{}&padding={}",
        serde_urlencoded::to_string(&params).expect("query"),
        "x".repeat(20 * 1024)
    );
    let response = app
        .client
        .post(format!("{}/polyapi?{query}", app.address))
        .send()
        .await
        .expect("request");
    assert_eq!(
        response.status().as_u16(),
        200,
        "an envelope, not a bare 400"
    );
    let answer: Value = response.json().await.expect("envelope");
    fails(&answer, "GSE.INVALID_PARAMETER", "query string");
    // Longer than the HTTP layer takes at all (its URI limit is 64 KiB; HTTP clients
    // refuse to build such a URL, so it is written by hand): still an envelope.
    let padding = "x".repeat(70 * 1024);
    let query = serde_urlencoded::to_string(&params).expect("query");
    let (status, body) = raw_request(&app, &format!("/polyapi?{query}&padding={padding}")).await;
    assert_eq!(status, 200, "an envelope, not a bare 400");
    let answer: Value = serde_json::from_str(&body).expect("envelope");
    fails(&answer, "GSE.INVALID_PARAMETER", "request line");
    let (status, body) =
        raw_request(&app, &format!("/polyapi?contenttype=xml&padding={padding}")).await;
    assert_eq!(status, 200);
    assert!(
        body.contains("<subcode>GSE.INVALID_PARAMETER</subcode>"),
        "XML when asked: {body}"
    );
    let (status, body) = raw_request(
        &app,
        &format!("/admin/v1/shops/demo/orders?PlatOrderNo={padding}"),
    )
    .await;
    assert_eq!(status, 414);
    let body: Value = serde_json::from_str(&body).expect("JSON error document");
    assert_eq!(body["error"], "too_large");
    // A query string of ordinary size still carries a call.
    let query = serde_urlencoded::to_string(&params).expect("query");
    let answer: Value = app
        .client
        .post(format!("{}/polyapi?{query}", app.address))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("envelope");
    ok(answer);
}

async fn unknown_order_refund(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.admin_post("orders", &json!([full_order("R-KNOWN")]))
        .await;
    let refund = crate::admin::full_refund;
    let (status, body) = app
        .admin_post(
            "refunds",
            &json!([refund("RF-1", "R-KNOWN"), refund("RF-2", "NO-SUCH-ORDER")]),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["field"], "[1].PlatOrderNo");
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("NO-SUCH-ORDER"),
        "{body}"
    );
    assert_eq!(
        count_sql(&app, "SELECT id FROM refunds"),
        0,
        "nothing written"
    );
    let (status, body) = app
        .admin_post("refunds", &json!([refund("RF-1", "R-KNOWN")]))
        .await;
    assert_eq!(status, 200, "{body}");
}

async fn order_without_lines(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let mut order = full_order("NL-1");
    order["goodinfos"] = json!([]);
    let (status, body) = app.admin_post("orders", &json!([order])).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["field"], "[0].goodinfos");
    let mut order = full_order("NL-2");
    order.as_object_mut().expect("object").remove("goodinfos");
    let (status, body) = app.admin_post("orders", &json!([order])).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(count_sql(&app, "SELECT id FROM orders"), 0);
    fails(
        &PolyClient::demo(&app)
            .call(
                "Send",
                json!({"PlatOrderNo": "NL-1", "LogisticType": "JH_002", "LogisticNo": "Y1", "IsSplit": 0}),
            )
            .await,
        "GSE.LOGIC_ERROR",
        "NL-1",
    );
}

/// Sends `POST target` with an empty form body over a plain connection; answers the
/// status and the body.
async fn raw_request(app: &TestApp, target: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = app.address.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&address)
        .await
        .expect("connect");
    let request = format!(
        "POST {target} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 0\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.expect("answer");
    let text = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    (status, body.to_owned())
}
