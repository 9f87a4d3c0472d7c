//! The envelope's sub-codes as a caller meets them, the per-shop switch, and
//! SYSTEM_ERROR instead of an HTML 500.

use serde_json::{json, Value};

use crate::helpers::{Backend, TestApp, TestDb};
use crate::on_both_backends;
use crate::polyapi_client::{fails, ok, PolyClient};

on_both_backends! {
    every_sub_code_is_answered_as_the_table_says => sub_codes;
    a_switched_off_method_is_not_supported => switched_off;
    a_broken_database_is_a_system_error => system_error;
    rate_limits_answer_in_the_envelope => rate_limits;
}

async fn rate_limits(backend: Backend) {
    let Some(db) = TestDb::new(backend) else {
        return;
    };
    let app = TestApp::spawn_with(db, |config| config.server.rate_limit_per_appkey = 2).await;
    let client = PolyClient::demo(&app);
    let mut answers = Vec::new();
    for _ in 0..12 {
        answers.push(client.call("GetOrder", json!({"PageIndex": 1})).await);
    }
    let refused: Vec<&Value> = answers.iter().filter(|a| a["code"] == "40000").collect();
    assert!(
        !refused.is_empty() && refused.len() < 12,
        "burst of 4 then refusals: {answers:?}"
    );
    fails(refused[0], "GSE.SYSTEM_ERROR", "rate limit");
    fails(refused[0], "GSE.SYSTEM_ERROR", "appkey");
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    ok(client.call("GetOrder", json!({"PageIndex": 1})).await);

    let Some(db) = TestDb::new(backend) else {
        return;
    };
    let app = TestApp::spawn_with(db, |config| config.server.rate_limit_per_ip = 1).await;
    let client = PolyClient::demo(&app);
    let mut refused = 0;
    for _ in 0..6 {
        if client.call("GetOrder", json!({"PageIndex": 1})).await["code"] == "40000" {
            refused += 1;
        }
    }
    assert!(
        refused >= 3,
        "{refused} refused of 6 at 1 per second from one address"
    );
}

async fn sub_codes(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let client = PolyClient::demo(&app);
    let biz = json!({"PageIndex": 1});

    // Missing public parameter.
    let mut params = client.params("GetOrder", &biz, &[]);
    params.retain(|(key, _)| *key != "method");
    fails(
        &client.send_form(&params).await,
        "GSE.MISS_PARAMETER",
        "method",
    );
    let mut params = client.params("GetOrder", &biz, &[]);
    params.retain(|(key, _)| *key != "sign");
    fails(
        &client.send_form(&params).await,
        "GSE.MISS_PARAMETER",
        "sign",
    );

    // Wrong sign, and a sign over tampered content.
    let mut params = client.params("GetOrder", &biz, &[]);
    params.retain(|(key, _)| *key != "sign");
    params.push(("sign", "f".repeat(32)));
    fails(
        &client.send_form(&params).await,
        "GSE.VERIFYSIGN_FAILURE",
        "sign",
    );
    let mut params = client.params("GetOrder", &biz, &[]);
    for (key, value) in params.iter_mut() {
        if *key == "bizcontent" {
            *value = json!({"PageIndex": 2}).to_string();
        }
    }
    fails(
        &client.send_form(&params).await,
        "GSE.VERIFYSIGN_FAILURE",
        "sign",
    );
    // An upper-case sign is fine.
    let mut params = client.params("GetOrder", &biz, &[]);
    for (key, value) in params.iter_mut() {
        if *key == "sign" {
            *value = value.to_uppercase();
        }
    }
    ok(client.send_form(&params).await);

    // Unknown appkey; unknown token for a known appkey (correctly signed).
    let stranger = PolyClient {
        app: &app,
        appkey: "nobody",
        secret: "secret",
        token: "T",
    };
    fails(
        &stranger.call("GetOrder", biz.clone()).await,
        "GSE.APPKEY_FAILURE",
        "nobody",
    );
    let wrong_token = PolyClient {
        app: &app,
        appkey: "k",
        secret: "secret",
        token: "other",
    };
    fails(
        &wrong_token.call("GetOrder", biz.clone()).await,
        "GSE.APPKEY_FAILURE",
        "token",
    );

    // Unknown method.
    fails(
        &client.call("DropTables", biz.clone()).await,
        "GSE.ILLEGAL_ACCESS",
        "DropTables",
    );

    // bizcontent that is not JSON.
    let mut params = vec![
        ("appkey", "k".to_owned()),
        ("token", "T".to_owned()),
        ("method", "Differ.JH.Business.GetOrder".to_owned()),
        ("bizcontent", "{PageIndex:1".to_owned()),
    ];
    let signature = crate::polyapi_client::sign("secret", &params);
    params.push(("sign", signature));
    fails(
        &client.send_form(&params).await,
        "GSE.INVALID_PARAMETER",
        "bizcontent",
    );

    // A business refusal.
    fails(
        &client
            .call(
                "Send",
                json!({"PlatOrderNo": "NOPE", "LogisticType": "JH_001", "LogisticNo": "1"}),
            )
            .await,
        "GSE.LOGIC_ERROR",
        "NOPE",
    );

    // A body over the limit is refused in the envelope.
    let huge: Value = json!({"PageIndex": 1, "pad": "x".repeat(1_100_000)});
    fails(
        &client.call("GetOrder", huge).await,
        "GSE.INVALID_PARAMETER",
        "larger",
    );
}

async fn switched_off(backend: Backend) {
    let Some(db) = TestDb::new(backend) else {
        return;
    };
    let app = TestApp::spawn_with(db, |config| {
        if let Some(polyapi) = config.shops[0].polyapi.as_mut() {
            polyapi.disabled_methods = vec![
                "Consume".to_owned(),
                "Differ.JH.Business.SyncStock".to_owned(),
            ];
        }
    })
    .await;
    let client = PolyClient::demo(&app);
    fails(
        &client
            .call("Consume", json!({"PlatOrderNo": "1", "VerifyCode": "1"}))
            .await,
        "GSE.PLAT_NOT_SUPPORT",
        "Consume",
    );
    fails(
        &client
            .call("SyncStock", json!({"PlatProductID": "1", "Quantity": 1}))
            .await,
        "GSE.PLAT_NOT_SUPPORT",
        "SyncStock",
    );
    ok(client.call("GetOrder", json!({"PageIndex": 1})).await);
}

async fn system_error(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let client = PolyClient::demo(&app);
    ok(client.call("GetOrder", json!({"PageIndex": 1})).await);
    app.admin_post("orders", &json!([crate::admin::full_order("X-1")]))
        .await;
    crate::helpers::execute_sql(&app, "DROP TABLE order_receivers");
    let answer = client.call("GetOrder", json!({"PageIndex": 1})).await;
    fails(&answer, "GSE.SYSTEM_ERROR", "unavailable");
    assert!(
        !answer["submessage"]
            .as_str()
            .unwrap_or_default()
            .contains("order_receivers"),
        "no internals leak"
    );
}
