//! The warehouse's shipment confirmation, with the seed's own XML verbatim.

use md5::{Digest, Md5};
use serde_json::{json, Value};

use crate::admin::full_order;
use crate::fake_wms::wms_config;
use crate::helpers::{count_sql, Backend, TestApp, TestDb};
use crate::on_both_backends;
use crate::polyapi_client::{ok, PolyClient};

/// The confirmation from the seed document, byte for byte.
pub const SEED_CONFIRM: &str = include_str!("fixtures/deliveryorder_confirm.xml");
/// The warehouse customer id of the seed's confirmation.
pub const CUSTOMER: &str = "75245869527465985";

on_both_backends! {
    the_seed_confirmation_ships_the_order_once => ships_once;
    a_tampered_confirmation_is_refused => tampered;
    bad_confirmations_say_what_is_wrong_and_write_nothing => refusals;
    an_unknown_status_is_refused_and_leaves_its_out_biz_code_unused => unknown_status;
    an_item_not_on_the_order_is_named_so => unknown_item;
    the_package_carrier_code_sets_the_shipment_carrier => carrier_code;
    a_repeated_query_parameter_is_refused => repeated_parameter;
}

/// The sign as the Qimen standard defines it, written here independently.
pub fn qimen_sign(secret: &str, params: &[(&str, &str)], body: &str) -> String {
    let mut sorted: Vec<&(&str, &str)> = params.iter().filter(|(_, v)| !v.is_empty()).collect();
    sorted.sort();
    let mut plain = secret.to_owned();
    for (k, v) in sorted {
        plain += k;
        plain += v;
    }
    plain += body;
    plain += secret;
    Md5::digest(plain.as_bytes())
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect()
}

async fn app_with_wms(backend: Backend) -> Option<TestApp> {
    let db = TestDb::new(backend)?;
    Some(
        TestApp::spawn_with(db, |config| {
            config.shops[0].wms = Some(wms_config("http://127.0.0.1:9/wms", CUSTOMER));
        })
        .await,
    )
}

/// The order the seed's confirmation is about: seven merchant codes, S190013 twice.
pub fn seed_order() -> Value {
    let codes = [
        ("S190013", 2),
        ("6971278390527", 1),
        ("6971278390565", 1),
        ("6971278390947", 1),
        ("6971278390923", 1),
        ("6971278391166", 1),
        ("6924010070348", 1),
    ];
    let mut order = full_order("JY2009260440");
    order["goodinfos"] = Value::Array(
        codes
            .iter()
            .enumerate()
            .map(|(i, (code, count))| {
                json!({"ProductId": format!("P{i}"), "suborderno": format!("JY-{i}"), "tradegoodsno": code,
                       "tradegoodsname": format!("商品{i}"), "tradegoodsspec": "", "goodscount": count, "price": 1,
                       "discountmoney": 0, "taxamount": 0, "refundStatus": "JH_07", "remark": ""})
            })
            .collect(),
    );
    order
}

async fn post(app: &TestApp, body: &str, sign: Option<String>) -> String {
    let timestamp = "2020-09-26 14:02:17";
    let params = [
        ("app_key", "testerp_appkey"),
        ("customerId", "75245869527465985"),
        ("format", "xml"),
        ("method", "deliveryorder.confirm"),
        ("sign_method", "md5"),
        ("timestamp", timestamp),
        ("v", "2.0"),
    ];
    let sign = sign.unwrap_or_else(|| qimen_sign("wms-secret", &params, body));
    let mut query: Vec<(&str, String)> = params.iter().map(|(k, v)| (*k, v.to_string())).collect();
    query.push(("sign", sign));
    let response = app
        .client
        .post(format!("{}/qimen/callback", app.address))
        .query(&query)
        .header("content-type", "text/xml;charset=utf-8")
        .body(body.to_owned())
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 200);
    response.text().await.expect("body")
}

/// A repeated `customerId` with an empty value leaves the sign valid (the Qimen sign
/// skips empty values), so which of the two selects the warehouse would be a guess: the
/// callback is refused and nothing is recorded.
async fn repeated_parameter(backend: Backend) {
    let Some(app) = app_with_wms(backend).await else {
        return;
    };
    app.admin_post("orders", &json!([seed_order()])).await;
    let params = [
        ("app_key", "testerp_appkey"),
        ("customerId", "75245869527465985"),
        ("format", "xml"),
        ("method", "deliveryorder.confirm"),
        ("sign_method", "md5"),
        ("timestamp", "2020-09-26 14:02:17"),
        ("v", "2.0"),
    ];
    let sign = qimen_sign("wms-secret", &params, SEED_CONFIRM);
    let mut query: Vec<(&str, String)> = vec![("customerId", String::new())];
    query.extend(params.iter().map(|(k, v)| (*k, v.to_string())));
    query.push(("sign", sign));
    let answer = app
        .client
        .post(format!("{}/qimen/callback", app.address))
        .query(&query)
        .body(SEED_CONFIRM)
        .send()
        .await
        .expect("request")
        .text()
        .await
        .expect("body");
    assert!(
        answer.contains("<flag>failure</flag>") && answer.contains("more than once"),
        "{answer}"
    );
    assert_eq!(order(&app, "JY2009260440").await["tradeStatus"], "JH_02");
}

pub async fn order(app: &TestApp, no: &str) -> Value {
    let answer = ok(PolyClient::demo(app)
        .call("GetOrder", json!({"PlatOrderNo": no, "PageIndex": 1}))
        .await);
    answer["orders"][0].clone()
}

async fn ships_once(backend: Backend) {
    let Some(app) = app_with_wms(backend).await else {
        return;
    };
    let (status, body) = app.admin_post("orders", &json!([seed_order()])).await;
    assert_eq!(status, 200, "{body}");
    let answer = post(&app, SEED_CONFIRM, None).await;
    assert!(answer.contains("<flag>success</flag>"), "{answer}");
    let shipped = order(&app, "JY2009260440").await;
    assert_eq!(
        shipped["tradeStatus"], "JH_03",
        "every line shipped in the one package"
    );
    // The same confirmation again: success, nothing changes.
    let again = post(&app, SEED_CONFIRM, None).await;
    assert!(again.contains("<flag>success</flag>"), "{again}");
    assert_eq!(order(&app, "JY2009260440").await, shipped);
}

async fn tampered(backend: Backend) {
    let Some(app) = app_with_wms(backend).await else {
        return;
    };
    app.admin_post("orders", &json!([seed_order()])).await;
    let answer = post(&app, SEED_CONFIRM, Some("0".repeat(32))).await;
    assert!(
        answer.contains("<flag>failure</flag>") && answer.contains("sign"),
        "{answer}"
    );
    // A body changed after signing fails too.
    let genuine = qimen_sign(
        "wms-secret",
        &[
            ("app_key", "testerp_appkey"),
            ("customerId", "75245869527465985"),
            ("format", "xml"),
            ("method", "deliveryorder.confirm"),
            ("sign_method", "md5"),
            ("timestamp", "2020-09-26 14:02:17"),
            ("v", "2.0"),
        ],
        SEED_CONFIRM,
    );
    let forged = SEED_CONFIRM.replace("YT4815765342047", "YT0000000000000");
    let answer = post(&app, &forged, Some(genuine)).await;
    assert!(answer.contains("<flag>failure</flag>"), "{answer}");
    assert_eq!(order(&app, "JY2009260440").await["tradeStatus"], "JH_02");
}

async fn refusals(backend: Backend) {
    let Some(app) = app_with_wms(backend).await else {
        return;
    };
    let answer = post(&app, SEED_CONFIRM, None).await;
    assert!(
        answer.contains("<flag>failure</flag>") && answer.contains("JY2009260440"),
        "unknown order: {answer}"
    );
    let answer = post(&app, "<request><deliveryOrder>", None).await;
    assert!(
        answer.contains("<flag>failure</flag>") && answer.contains("XML"),
        "{answer}"
    );
    app.admin_post("orders", &json!([seed_order()])).await;
    let too_many = SEED_CONFIRM.replacen("<quantity>2</quantity>", "<quantity>5</quantity>", 1);
    let answer = post(&app, &too_many, None).await;
    assert!(
        answer.contains("<flag>failure</flag>") && answer.contains("S190013"),
        "over-shipping: {answer}"
    );
    assert_eq!(
        order(&app, "JY2009260440").await["tradeStatus"],
        "JH_02",
        "nothing half-written"
    );
    // After the refusals the genuine confirmation still goes through.
    let answer = post(&app, SEED_CONFIRM, None).await;
    assert!(answer.contains("<flag>success</flag>"), "{answer}");
}

async fn unknown_status(backend: Backend) {
    let Some(app) = app_with_wms(backend).await else {
        return;
    };
    app.admin_post("orders", &json!([seed_order()])).await;
    let exploded = SEED_CONFIRM.replace("<status>DELIVERED</status>", "<status>EXPLODED</status>");
    let answer = post(&app, &exploded, None).await;
    assert!(
        answer.contains("<flag>failure</flag>") && answer.contains("EXPLODED"),
        "{answer}"
    );
    assert_eq!(
        count_sql(&app, "SELECT out_biz_code FROM wms_confirmations"),
        0,
        "the refused confirmation is not recorded"
    );
    // The same outBizCode with a real status still counts.
    let answer = post(&app, SEED_CONFIRM, None).await;
    assert!(
        answer.contains("<flag>success</flag>") && !answer.contains("already"),
        "{answer}"
    );
    assert_eq!(order(&app, "JY2009260440").await["tradeStatus"], "JH_03");
}

async fn unknown_item(backend: Backend) {
    let Some(app) = app_with_wms(backend).await else {
        return;
    };
    app.admin_post("orders", &json!([seed_order()])).await;
    let stranger = SEED_CONFIRM.replacen(
        "<itemCode>6971278390527</itemCode>",
        "<itemCode>ZZ-404</itemCode>",
        1,
    );
    let answer = post(&app, &stranger, None).await;
    assert!(
        answer.contains("<flag>failure</flag>") && answer.contains("`ZZ-404` is not on the order"),
        "{answer}"
    );
    assert_eq!(order(&app, "JY2009260440").await["tradeStatus"], "JH_02");
    // A split Send naming a line the order does not have says so too.
    let send = json!({"PlatOrderNo": "JY2009260440", "LogisticType": "JH_002", "LogisticName": "圆通",
                      "LogisticNo": "YT-X", "IsSplit": 1, "SubPlatOrderNo": "ZZ-404:1"});
    let answer = PolyClient::demo(&app).call("Send", send).await;
    crate::polyapi_client::fails(&answer, "GSE.LOGIC_ERROR", "`ZZ-404` is not on the order");
}

async fn carrier_code(backend: Backend) {
    let Some(app) = app_with_wms(backend).await else {
        return;
    };
    app.admin_post("orders", &json!([seed_order()])).await;
    let answer = post(&app, SEED_CONFIRM, None).await;
    assert!(answer.contains("<flag>success</flag>"), "{answer}");
    assert_eq!(
        count_sql(
            &app,
            "SELECT id FROM shipments WHERE logistic_type = 'JH_002' \
             AND logistic_name = '菜鸟-圆通' AND logistic_no = 'YT4815765342047'"
        ),
        1,
        "logisticsCode YTO is the table's JH_002 (圆通)"
    );
}
