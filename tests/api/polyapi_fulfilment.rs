//! Send, UpdateSellerMemo and Consume over HTTP, concurrency included.

use serde_json::{json, Value};

use crate::admin::full_order;
use crate::helpers::{count_sql, Backend, TestApp};
use crate::on_both_backends;
use crate::polyapi_client::{fails, ok, PolyClient};

on_both_backends! {
    send_ships_split_and_whole_and_is_idempotent => send_rules;
    concurrent_sends_never_over_ship => concurrent_sends;
    a_refunded_line_cannot_ship => refund_blocks;
    memo_and_flag_are_stored_and_move_the_order => memo;
    a_pickup_code_redeems_once => consume;
    send_takes_carriers_added_after_the_table_and_keeps_order_type => new_carriers;
}

async fn order(client: &PolyClient<'_>, no: &str) -> Value {
    let answer = ok(client
        .call("GetOrder", json!({"PlatOrderNo": no, "PageIndex": 1}))
        .await);
    answer["orders"][0].clone()
}

/// A Send of the whole order (or of sub-order `split`) with this tracking number.
pub fn send(no: &str, tracking: &str, split: &str) -> Value {
    json!({"PlatOrderNo": no, "LogisticType": "JH_002", "LogisticName": "圆通", "LogisticNo": tracking,
           "IsSplit": if split.is_empty() { 0 } else { 1 }, "SubPlatOrderNo": split, "SendType": "JH_01",
           "SenderName": "仓库", "SenderTel": "0571-1", "SenderAddress": "浙江 杭州 西湖区"})
}

async fn send_rules(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.admin_post("orders", &json!([full_order("S-1"), full_order("S-2")]))
        .await;
    let client = PolyClient::demo(&app);

    // Line S-1-1 has 2 units, S-1-2 has 1.
    ok(client.call("Send", send("S-1", "YT1", "S-1-1:1")).await);
    assert_eq!(
        order(&client, "S-1").await["tradeStatus"],
        "JH_02",
        "partly shipped stays awaiting shipment"
    );
    // The same call again: success, nothing shipped twice.
    let again = ok(client.call("Send", send("S-1", "YT1", "S-1-1:1")).await);
    assert!(again["submessage"]
        .as_str()
        .unwrap_or_default()
        .contains("发货成功"));
    // More than is left: refused, naming the line.
    fails(
        &client.call("Send", send("S-1", "YT2", "S-1-1:2")).await,
        "GSE.LOGIC_ERROR",
        "S-1-1",
    );
    fails(
        &client.call("Send", send("S-1", "YT2", "NOPE:1")).await,
        "GSE.LOGIC_ERROR",
        "NOPE",
    );
    fails(
        &client.call("Send", send("S-1", "YT2", "S-1-1:0")).await,
        "GSE.INVALID_PARAMETER",
        "SubPlatOrderNo",
    );
    // The rest, as a whole-order shipment.
    ok(client.call("Send", send("S-1", "YT2", "")).await);
    let shipped = order(&client, "S-1").await;
    assert_eq!(shipped["tradeStatus"], "JH_03", "fully shipped");
    ok(client.call("Send", send("S-1", "YT2", "")).await);
    fails(
        &client.call("Send", send("S-1", "YT3", "")).await,
        "GSE.LOGIC_ERROR",
        "shipped",
    );

    // Whole order in one go, with the carrier name taken from the table when absent.
    let mut whole = send("S-2", "EMS1", "");
    whole["LogisticType"] = json!("JH_001");
    whole
        .as_object_mut()
        .expect("object")
        .remove("LogisticName");
    ok(client.call("Send", whole).await);
    assert_eq!(order(&client, "S-2").await["tradeStatus"], "JH_03");

    fails(
        &client.call("Send", send("NOPE", "X", "")).await,
        "GSE.LOGIC_ERROR",
        "NOPE",
    );
    let mut bad_carrier = send("S-2", "X", "");
    bad_carrier["LogisticType"] = json!("JH-999");
    fails(
        &client.call("Send", bad_carrier).await,
        "GSE.INVALID_PARAMETER",
        "LogisticType",
    );
    let mut no_tracking = send("S-2", "", "");
    no_tracking
        .as_object_mut()
        .expect("object")
        .remove("LogisticNo");
    fails(
        &client.call("Send", no_tracking).await,
        "GSE.MISS_PARAMETER",
        "LogisticNo",
    );
    let mut split_without_lines = send("S-2", "Z", "");
    split_without_lines["IsSplit"] = json!(1);
    fails(
        &client.call("Send", split_without_lines).await,
        "GSE.MISS_PARAMETER",
        "SubPlatOrderNo",
    );

    let mut unpaid = full_order("S-3");
    unpaid["tradeStatus"] = json!("JH_01");
    unpaid["tradeStatusdescription"] = json!("等待买家付款");
    app.admin_post("orders", &json!([unpaid])).await;
    fails(
        &client.call("Send", send("S-3", "Q", "")).await,
        "GSE.LOGIC_ERROR",
        "not paid",
    );
}

async fn concurrent_sends(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let mut big = full_order("C-1");
    big["goodinfos"][0]["goodscount"] = json!(5);
    big["goodinfos"].as_array_mut().expect("lines").truncate(1);
    app.admin_post("orders", &json!([big])).await;
    let client = PolyClient::demo(&app);
    let calls = (0..20).map(|i| {
        let client = &client;
        async move {
            client
                .call("Send", send("C-1", &format!("T{i}"), "C-1-1:1"))
                .await
        }
    });
    let answers = futures_util::future::join_all(calls).await;
    let shipped = answers.iter().filter(|a| a["code"] == "10000").count();
    let refused = answers
        .iter()
        .filter(|a| a["subcode"] == "GSE.LOGIC_ERROR")
        .count();
    assert_eq!(
        shipped, 5,
        "exactly the ordered quantity ships: {answers:?}"
    );
    assert_eq!(refused, 15);
    assert_eq!(order(&client, "C-1").await["tradeStatus"], "JH_03");

    // Concurrent whole-order shipments of one order: one ships, the rest are refused
    // or recognised as the same shipment.
    app.admin_post("orders", &json!([full_order("C-2")])).await;
    let calls = (0..10).map(|i| {
        let client = &client;
        async move {
            client
                .call("Send", send("C-2", &format!("W{}", i % 2), ""))
                .await
        }
    });
    let answers = futures_util::future::join_all(calls).await;
    assert!(answers.iter().any(|a| a["code"] == "10000"));
    assert!(
        answers
            .iter()
            .all(|a| a["code"] == "10000" || a["subcode"] == "GSE.LOGIC_ERROR"),
        "{answers:?}"
    );
}

async fn refund_blocks(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.admin_post("orders", &json!([full_order("RB-1"), full_order("RB-2")]))
        .await;
    let refund = |no: &str, order: &str, sub: &str| {
        json!({"refundno": no, "platorderno": order, "subplatorderno": sub, "refundstatus": "JH_06",
               "createtime": "2024-01-01 00:00:00"})
    };
    app.admin_post(
        "refunds",
        &json!([refund("RF-A", "RB-1", "RB-1-1"), refund("RF-B", "RB-2", "")]),
    )
    .await;
    let client = PolyClient::demo(&app);
    fails(
        &client.call("Send", send("RB-1", "T1", "RB-1-1:1")).await,
        "GSE.LOGIC_ERROR",
        "refunded",
    );
    // The whole order ships what was not refunded, and that completes it.
    ok(client.call("Send", send("RB-1", "T2", "")).await);
    assert_eq!(order(&client, "RB-1").await["tradeStatus"], "JH_03");
    fails(
        &client.call("Send", send("RB-2", "T3", "")).await,
        "GSE.LOGIC_ERROR",
        "refunded",
    );
}

async fn memo(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.admin_post("orders", &json!([full_order("M-1")])).await;
    let client = PolyClient::demo(&app);
    let before =
        chrono::Utc::now().with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).expect("offset"));
    ok(client
        .call(
            "UpdateSellerMemo",
            json!({"PlatOrderNo": "M-1", "SellerMemo": "加急 — VIP", "SellerFlag": "JH_Red"}),
        )
        .await);
    assert_eq!(order(&client, "M-1").await["sellerremark"], "加急 — VIP");
    // The memo moved the modified time: a modified-time window from just before finds it.
    let start = (before - chrono::Duration::seconds(2))
        .format("%Y-%m-%d %H:%M:%S")
        .to_string();
    let answer = ok(client
        .call(
            "GetOrder",
            json!({"StartTime": start, "EndTime": "2099-01-01 00:00:00", "PageIndex": 1}),
        )
        .await);
    assert_eq!(answer["numtotalorder"], 1);
    fails(
        &client
            .call(
                "UpdateSellerMemo",
                json!({"PlatOrderNo": "M-1", "SellerMemo": "x", "SellerFlag": "JH_Pink"}),
            )
            .await,
        "GSE.INVALID_PARAMETER",
        "SellerFlag",
    );
    fails(
        &client
            .call("UpdateSellerMemo", json!({"PlatOrderNo": "M-1"}))
            .await,
        "GSE.MISS_PARAMETER",
        "SellerMemo",
    );
    fails(
        &client
            .call(
                "UpdateSellerMemo",
                json!({"PlatOrderNo": "NOPE", "SellerMemo": "x"}),
            )
            .await,
        "GSE.LOGIC_ERROR",
        "NOPE",
    );
}

async fn consume(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.admin_post("orders", &json!([full_order("P-1"), full_order("P-2")]))
        .await;
    let client = PolyClient::demo(&app);
    let redeem = |code: &str| json!({"PlatOrderNo": "P-1", "VerifyCode": code, "StoreId": "1001", "HXVerifyWay": "西湖店"});
    fails(
        &client.call("Consume", redeem("000000")).await,
        "GSE.LOGIC_ERROR",
        "does not match",
    );
    ok(client.call("Consume", redeem("884422")).await);
    assert_eq!(order(&client, "P-1").await["tradeStatus"], "JH_04");
    let again = client.call("Consume", redeem("884422")).await;
    fails(&again, "GSE.LOGIC_ERROR", "already used");
    fails(&again, "GSE.LOGIC_ERROR", "1001");
    fails(&again, "GSE.LOGIC_ERROR", "西湖店");
    fails(
        &client.call("Consume", json!({"PlatOrderNo": "P-1"})).await,
        "GSE.MISS_PARAMETER",
        "VerifyCode",
    );

    // Only a paid, open order is redeemed; the refusal names its status.
    let mut unpaid = full_order("P-3");
    unpaid["tradeStatus"] = json!("JH_01");
    let mut closed = full_order("P-4");
    closed["tradeStatus"] = json!("JH_05");
    let mut shipped = full_order("P-5");
    shipped["tradeStatus"] = json!("JH_03");
    app.admin_post("orders", &json!([unpaid, closed, shipped]))
        .await;
    for (no, status) in [("P-3", "JH_01"), ("P-4", "JH_05")] {
        fails(
            &client
                .call(
                    "Consume",
                    json!({"PlatOrderNo": no, "VerifyCode": "884422"}),
                )
                .await,
            "GSE.LOGIC_ERROR",
            status,
        );
        assert_eq!(order(&client, no).await["tradeStatus"], status, "unchanged");
    }
    ok(client
        .call(
            "Consume",
            json!({"PlatOrderNo": "P-5", "VerifyCode": "884422"}),
        )
        .await);
    assert_eq!(order(&client, "P-5").await["tradeStatus"], "JH_04");

    // Racing redemptions of one code: exactly one wins.
    let calls = (0..8).map(|_| {
        let client = &client;
        async move {
            client
                .call(
                    "Consume",
                    json!({"PlatOrderNo": "P-2", "VerifyCode": "884422", "StoreId": "2"}),
                )
                .await
        }
    });
    let answers = futures_util::future::join_all(calls).await;
    assert_eq!(
        answers.iter().filter(|a| a["code"] == "10000").count(),
        1,
        "{answers:?}"
    );
}

async fn new_carriers(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.admin_post("orders", &json!([full_order("N-1"), full_order("N-2")]))
        .await;
    let client = PolyClient::demo(&app);
    // A code of the table's shape that the table lacks: taken as sent, with its name.
    let mut newer = send("N-1", "JT0001", "");
    newer["LogisticType"] = json!("JH_888");
    newer["LogisticName"] = json!("极兔速递");
    newer["OrderType"] = json!("JH_01");
    newer["IsHwgFlag"] = json!(1);
    ok(client.call("Send", newer).await);
    assert_eq!(
        count_sql(
            &app,
            "SELECT id FROM shipments WHERE logistic_type = 'JH_888' AND logistic_name = '极兔速递' \
             AND logistic_no = 'JT0001' AND order_type = 'JH_01' AND is_hwg_flag = TRUE"
        ),
        1
    );
    // Without a name there is nothing to show for it.
    let mut nameless = send("N-2", "JT0002", "");
    nameless["LogisticType"] = json!("JHI_777");
    nameless
        .as_object_mut()
        .expect("object")
        .remove("LogisticName");
    fails(
        &client.call("Send", nameless).await,
        "GSE.MISS_PARAMETER",
        "LogisticName",
    );
    // Malformed codes and flags are refused.
    for code in ["JH-001", "JH_12a", "SF", "JHI_"] {
        let mut bad = send("N-2", "JT0003", "");
        bad["LogisticType"] = json!(code);
        fails(
            &client.call("Send", bad).await,
            "GSE.INVALID_PARAMETER",
            "LogisticType",
        );
    }
    let mut bad_flag = send("N-2", "JT0004", "");
    bad_flag["IsHwgFlag"] = json!(2);
    fails(
        &client.call("Send", bad_flag).await,
        "GSE.INVALID_PARAMETER",
        "IsHwgFlag",
    );
    assert_eq!(count_sql(&app, "SELECT id FROM shipments"), 1);
}

/// The operator adds carrier codes in `carriers.tsv` beside the configuration file; the
/// real binary reads it at start, and refuses to start on a malformed one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_carrier_table_is_extended_from_the_config_directory() {
    use crate::helpers::{connect, free_port, start_server, wait_ready, ADMIN_TOKEN};
    use crate::polyapi_client::signed_form;

    let dir = tempfile::tempdir().expect("dir");
    let port = free_port();
    let config = dir.path().join("polymall.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = \"127.0.0.1:{port}\"\n[database]\nurl = \"{}\"\n[admin]\ntoken = \"{ADMIN_TOKEN}\"\n\
             [[shops]]\ncode = \"demo\"\nname = \"Demo\"\n[shops.polyapi]\nappkey = \"k\"\nappsecret = \"secret\"\ntoken = \"T\"\n",
            dir.path().join("shop.db").display()
        ),
    )
    .expect("config");
    std::fs::write(
        dir.path().join("carriers.tsv"),
        "# carriers Polyapi added later\nJH_200\t极兔速递\tJTSD\n",
    )
    .expect("carriers");
    let mut child = start_server(&config);
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    wait_ready(&client, &base).await;
    let posted = client
        .post(format!("{base}/admin/v1/shops/demo/orders"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!([full_order("X-1")]))
        .send()
        .await
        .expect("post");
    assert!(posted.status().is_success());
    let mut shipped = send("X-1", "JT200", "");
    shipped["LogisticType"] = json!("JH_200");
    shipped
        .as_object_mut()
        .expect("object")
        .remove("LogisticName");
    let answer: Value = client
        .post(format!("{base}/polyapi"))
        .form(&signed_form("Send", &shipped))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    child.kill().expect("kill");
    child.wait().expect("wait");
    ok(answer);
    use diesel::prelude::*;
    use polymall::db::schema::shipments;
    let name: String = shipments::table
        .select(shipments::logistic_name)
        .first(&mut connect(
            &dir.path().join("shop.db").display().to_string(),
        ))
        .expect("shipment");
    assert_eq!(name, "极兔速递", "the name comes from the operator's table");

    std::fs::write(dir.path().join("carriers.tsv"), "JH-201\t坏\n").expect("carriers");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_polymall"))
        .arg("--config")
        .arg(&config)
        .arg("migrate")
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("carriers.tsv line 1"), "{stderr}");
}
