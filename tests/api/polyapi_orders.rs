//! GetOrder and CheckRefundStatus over HTTP.

use std::collections::HashSet;

use serde_json::{json, Value};

use crate::admin::full_order;
use crate::helpers::{count_sql, fold_order_counts, Backend, TestApp, TestDb};
use crate::on_both_backends;
use crate::polyapi_client::{fails, ok, PolyClient};

on_both_backends! {
    get_order_pages_each_order_exactly_once => paging;
    get_order_filters_by_status_time_and_number => filters;
    answers_in_both_form_encodings_and_xml => encodings;
    check_refund_status_reports_lines => refund_status;
    get_order_totals_match_a_full_count => totals;
    get_order_serves_every_change_to_an_order_it_served_before => changes_after_serving;
    kept_orders_reach_no_other_shop_and_no_refused_call => kept_orders_refused;
}

pub fn order_at(no: &str, tradetime: &str, status: &str) -> Value {
    let mut order = full_order(no);
    order["tradetime"] = json!(tradetime);
    order["tradeStatus"] = json!(status);
    order["tradeStatusdescription"] = json!(match status {
        "JH_01" => "等待买家付款",
        _ => "等待卖家发货",
    });
    order
}

async fn paging(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let orders: Vec<Value> = (0..250)
        .map(|i| order_at(&format!("N{i:04}"), "2024-03-01 10:00:00", "JH_02"))
        .collect();
    let (status, body) = app.admin_post("orders", &Value::Array(orders)).await;
    assert_eq!(status, 200, "{body}");
    let client = PolyClient::demo(&app);
    let request = |index: i64| {
        json!({"OrderStatus": "JH_02", "StartTime": "2020-01-01 00:00:00", "EndTime": "2099-01-01 00:00:00",
               "TimeType": "JH_01", "PageIndex": index, "PageSize": 7})
    };
    let first = ok(client.call("GetOrder", request(1)).await);
    let again = ok(client.call("GetOrder", request(1)).await);
    assert_eq!(first, again, "the same request answers the same page");
    let mut seen = Vec::new();
    for index in 1..=36 {
        let page = ok(client.call("GetOrder", request(index)).await);
        assert_eq!(
            page["numtotalorder"], 250,
            "total across pages on page {index}"
        );
        let orders = page["orders"].as_array().expect("orders");
        assert_eq!(orders.len(), if index == 36 { 5 } else { 7 });
        seen.extend(
            orders
                .iter()
                .map(|o| o["PlatOrderNo"].as_str().expect("no").to_owned()),
        );
    }
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(seen.len(), 250);
    assert_eq!(unique.len(), 250, "an order appeared twice");
    let beyond = ok(client.call("GetOrder", request(37)).await);
    assert_eq!(beyond["orders"], json!([]), "an empty page is [] not \"\"");
    assert_eq!(beyond["numtotalorder"], 250);
}

async fn filters(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let orders = vec![
        order_at("EARLY", "2024-01-01 08:00:00", "JH_02"),
        order_at("LATE", "2024-02-01 08:00:00", "JH_02"),
        order_at("UNPAID", "2024-01-15 08:00:00", "JH_01"),
        order_at("12345", "2024-01-15 08:00:00", "JH_02"),
        order_at("123456", "2024-01-15 08:00:00", "JH_02"),
    ];
    app.admin_post("orders", &Value::Array(orders)).await;
    let client = PolyClient::demo(&app);
    let numbers = |answer: &Value| -> Vec<String> {
        answer["orders"]
            .as_array()
            .expect("orders")
            .iter()
            .map(|o| o["PlatOrderNo"].as_str().expect("no").to_owned())
            .collect()
    };

    // Created-time window, inclusive bounds, in the shop's time zone (+08:00).
    let answer = ok(client
        .call(
            "GetOrder",
            json!({"OrderStatus":"JH_99","TimeType":"JH_02","StartTime":"2024-01-01 08:00:00",
                                  "EndTime":"2024-01-15 08:00:00","PageIndex":"1","PageSize":"50"}),
        )
        .await);
    assert_eq!(numbers(&answer), vec!["EARLY", "UNPAID", "12345", "123456"]);
    assert_eq!(answer["orders"][0]["tradetime"], "2024-01-01 08:00:00");

    let answer = ok(client
        .call(
            "GetOrder",
            json!({"OrderStatus":"JH_01","TimeType":"JH_02","StartTime":"2024-01-01T00:00:00",
                                  "EndTime":"2024-12-31+00:00:00","PageIndex":1}),
        )
        .await);
    assert_eq!(numbers(&answer), vec!["UNPAID"]);
    assert_eq!(answer["orders"][0]["tradeStatus"], "JH_01");

    // Exact number lookup: never a substring match, and time and status may be absent.
    let answer = ok(client
        .call("GetOrder", json!({"PlatOrderNo":"12345","PageIndex":1}))
        .await);
    assert_eq!(numbers(&answer), vec!["12345"]);
    assert_eq!(answer["numtotalorder"], 1);
    let answer = ok(client
        .call("GetOrder", json!({"PlatOrderNo":"1234","PageIndex":1}))
        .await);
    assert_eq!(answer["numtotalorder"], 0);
    assert_eq!(answer["orders"], json!([]));

    // The ERP must not see the pickup code.
    let answer = ok(client
        .call("GetOrder", json!({"PlatOrderNo":"EARLY","PageIndex":1}))
        .await);
    assert!(answer["orders"][0].get("verifycode").is_none());
    assert_eq!(
        answer["orders"][0]["goodinfos"]
            .as_array()
            .expect("lines")
            .len(),
        2
    );

    let answer = client
        .call("GetOrder", json!({"StartTime":"2024-02-01 00:00:00","EndTime":"2024-01-01 00:00:00","PageIndex":1}))
        .await;
    fails(&answer, "GSE.INVALID_PARAMETER", "StartTime");
    let answer = client
        .call("GetOrder", json!({"OrderStatus":"JH_42","PageIndex":1}))
        .await;
    fails(&answer, "GSE.INVALID_PARAMETER", "OrderStatus");
    let answer = client
        .call("GetOrder", json!({"TimeType":"JH_03","PageIndex":1}))
        .await;
    fails(&answer, "GSE.INVALID_PARAMETER", "TimeType");
    let answer = client
        .call("GetOrder", json!({"PageIndex":1,"PageSize":101}))
        .await;
    fails(&answer, "GSE.INVALID_PARAMETER", "100");
    let answer = client.call("GetOrder", json!({"PageSize":10})).await;
    fails(&answer, "GSE.MISS_PARAMETER", "PageIndex");
    let answer = client
        .call(
            "GetOrder",
            json!({"StartTime":"yesterday","EndTime":"2024-01-01 00:00:00","PageIndex":1}),
        )
        .await;
    fails(&answer, "GSE.INVALID_PARAMETER", "StartTime");

    // A page number that is no page never reaches the walk (a page near the first order
    // is walked by its offset from it): refused, naming the field.
    for index in [json!(0), json!(-1), json!(-300), json!(2_147_483_648_i64)] {
        let answer = client
            .call("GetOrder", json!({"PageIndex": index, "PageSize": 100}))
            .await;
        fails(&answer, "GSE.INVALID_PARAMETER", "PageIndex");
    }
    for index in [json!(1.5), json!("1 OFFSET 0"), json!([1])] {
        let answer = client.call("GetOrder", json!({"PageIndex": index})).await;
        assert_eq!(answer["code"], "40000", "{index}: {answer}");
        let message = answer["submessage"].as_str().unwrap_or_default();
        assert!(message.contains("PageIndex"), "{index}: {answer}");
    }
    // The last page number there is answers an empty page with the exact total.
    let first = ok(client
        .call("GetOrder", json!({"PageIndex": 1, "PageSize": 1}))
        .await);
    let last = ok(client
        .call("GetOrder", json!({"PageIndex": i32::MAX, "PageSize": 100}))
        .await);
    assert_eq!(last["orders"], json!([]), "{last}");
    assert_eq!(last["numtotalorder"], first["numtotalorder"]);
}

async fn encodings(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.admin_post("orders", &json!([full_order("ENC-1")]))
        .await;
    let client = PolyClient::demo(&app);
    let biz = json!({"PlatOrderNo": "ENC-1", "PageIndex": 1});

    let form = ok(client
        .send_form(&client.params("GetOrder", &biz, &[]))
        .await);
    let multipart = ok(client
        .send_multipart(&client.params("GetOrder", &biz, &[]))
        .await);
    assert_eq!(form, multipart);
    assert_eq!(form["orders"][0]["PlatOrderNo"], "ENC-1");

    // Everything in the query string, nothing in the body.
    let params = client.params("GetOrder", &biz, &[("timestamp", "2024-01-01 00:00:00")]);
    let response = app
        .client
        .post(format!("{}/polyapi", app.address))
        .query(&params)
        .send()
        .await
        .expect("request");
    let by_query: Value = response.json().await.expect("json");
    assert_eq!(ok(by_query), form);

    // XML: the same document.
    let params = client.params("GetOrder", &biz, &[("contenttype", "xml")]);
    let response = app
        .client
        .post(format!("{}/polyapi", app.address))
        .form(&params)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .expect("header")
        .to_owned();
    assert!(
        content_type.starts_with("application/xml"),
        "{content_type}"
    );
    let xml = response.text().await.expect("body");
    assert!(
        xml.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?><response><code>10000</code>"),
        "{xml}"
    );
    assert!(xml.contains("<numtotalorder>1</numtotalorder>"));
    assert!(xml.contains("<PlatOrderNo>ENC-1</PlatOrderNo>"));
    assert_eq!(
        xml.matches("<goodinfos>").count(),
        2,
        "lists repeat their element"
    );
    assert!(xml.ends_with("</response>"));

    // An XML failure too.
    let mut params = client.params("GetOrder", &biz, &[("contenttype", "XML")]);
    params.retain(|(key, _)| *key != "sign");
    params.push(("sign", "0".repeat(32)));
    let response = app
        .client
        .post(format!("{}/polyapi", app.address))
        .form(&params)
        .send()
        .await
        .expect("request");
    let xml = response.text().await.expect("body");
    assert!(
        xml.contains("<subcode>GSE.VERIFYSIGN_FAILURE</subcode>"),
        "{xml}"
    );

    // A wrong content type is refused in the envelope, not with an HTML page.
    let response = app
        .client
        .post(format!("{}/polyapi", app.address))
        .header("content-type", "text/plain")
        .body("method=x")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 200);
    let answer: Value = response.json().await.expect("json");
    fails(&answer, "GSE.INVALID_PARAMETER", "Content-Type");
}

async fn refund_status(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.admin_post("orders", &json!([full_order("R-1"), full_order("R-2")]))
        .await;
    let client = PolyClient::demo(&app);
    let answer = ok(client
        .call("CheckRefundStatus", json!({"OrderID": "R-1"}))
        .await);
    assert_eq!(answer["refundStatus"], "JH_07");
    assert_eq!(answer["childrenrefundStatus"], json!([]));

    let refund = json!({"refundno": "RF-1", "platorderno": "R-1", "subplatorderno": "R-1-1", "refundstatus": "JH_06",
                        "createtime": "2024-01-01 00:00:00", "updatetime": "2024-01-02 00:00:00", "totalamount": 10});
    let (status, body) = app.admin_post("refunds", &json!([refund])).await;
    assert_eq!(status, 200, "{body}");
    let answer = ok(client
        .call("CheckRefundStatus", json!({"OrderID": "R-1"}))
        .await);
    assert_eq!(
        answer["refundStatus"], "JH_09",
        "one of two lines refunded is partial"
    );
    assert_eq!(answer["childrenrefundStatus"][0]["refundno"], "RF-1");
    assert_eq!(answer["childrenrefundStatus"][0]["refundStatus"], "JH_06");
    assert_eq!(
        answer["childrenrefundStatus"][0]["ProductName"],
        "绿茶精萃系列 补水保湿套装"
    );

    let whole = json!({"refundno": "RF-2", "platorderno": "R-2", "refundstatus": "JH_01",
                       "createtime": "2024-01-01 00:00:00"});
    app.admin_post("refunds", &json!([whole])).await;
    let answer = ok(client
        .call("CheckRefundStatus", json!({"OrderID": "R-2"}))
        .await);
    assert_eq!(answer["refundStatus"], "JH_01");
    assert_eq!(
        answer["refundStatusdescription"],
        "买家已经申请退款等待卖家同意"
    );
    assert_eq!(
        answer["childrenrefundStatus"]
            .as_array()
            .expect("children")
            .len(),
        2
    );

    // A refund still in progress on one line is reported as in progress, not as a
    // partial refund the ERP could ship around.
    app.admin_post("orders", &json!([full_order("R-3")])).await;
    let pending = json!({"refundno": "RF-3", "platorderno": "R-3", "subplatorderno": "R-3-2",
                         "refundstatus": "JH_02", "createtime": "2024-01-01 00:00:00"});
    app.admin_post("refunds", &json!([pending])).await;
    let answer = ok(client
        .call("CheckRefundStatus", json!({"OrderID": "R-3"}))
        .await);
    assert_eq!(answer["refundStatus"], "JH_02", "{answer}");
    assert_eq!(answer["childrenrefundStatus"][0]["refundStatus"], "JH_02");

    fails(
        &client
            .call("CheckRefundStatus", json!({"OrderID": "NOPE"}))
            .await,
        "GSE.LOGIC_ERROR",
        "NOPE",
    );
    fails(
        &client.call("CheckRefundStatus", json!({})).await,
        "GSE.MISS_PARAMETER",
        "OrderID",
    );
}

/// The total GetOrder answers comes from counts per day, hour, minute, second and
/// millisecond kept by triggers; it must equal a plain `COUNT(*)` for every window,
/// status and time, whether the changes are folded into the counts or still pending —
/// over days, and over a sale that puts thousands of orders into one hour.
async fn totals(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    // Orders around UTC midnights (08:00 in the shop's +08:00) over five days.
    let hours = [
        "07:59:59", "08:00:00", "08:00:01", "12:30:00", "23:59:59", "00:00:00",
    ];
    let mut orders = Vec::new();
    for day in 1..=5 {
        for (h, hour) in hours.iter().enumerate() {
            let status = if (day + h) % 3 == 0 { "JH_01" } else { "JH_02" };
            orders.push(order_at(
                &format!("C{day}{h}"),
                &format!("2024-03-0{day} {hour}"),
                status,
            ));
        }
    }
    let (status, body) = app.admin_post("orders", &Value::Array(orders)).await;
    assert_eq!(status, 200, "{body}");
    let client = PolyClient::demo(&app);
    let today = chrono::Utc::now().naive_utc();
    let local = |t: chrono::NaiveDateTime| {
        (t + chrono::TimeDelta::hours(8))
            .format("%Y-%m-%d %H:%M:%S")
            .to_string()
    };
    let windows: Vec<(String, String)> = vec![
        ("2024-03-01 00:00:00".into(), "2024-03-05 23:59:59".into()),
        ("2024-03-01 08:00:00".into(), "2024-03-04 07:59:59".into()),
        ("2024-03-01 08:00:01".into(), "2024-03-04 08:00:00".into()),
        ("2024-03-02 07:59:59".into(), "2024-03-02 08:00:00".into()),
        ("2024-03-02 12:30:00".into(), "2024-03-05 12:30:00".into()),
        ("2024-02-01 00:00:00".into(), "2024-04-01 00:00:00".into()),
        (
            local(today - chrono::TimeDelta::days(3)),
            local(today + chrono::TimeDelta::days(3)),
        ),
        (
            local(today - chrono::TimeDelta::hours(1)),
            local(today + chrono::TimeDelta::hours(1)),
        ),
    ];
    let check = |label: &'static str, windows: &[(String, String)]| {
        let client = &client;
        let app = &app;
        let windows = windows.to_vec();
        async move {
            for (start, end) in &windows {
                for time_type in ["JH_01", "JH_02"] {
                    for status in ["JH_99", "JH_01", "JH_02", "JH_03"] {
                        let answer = ok(client
                            .call(
                                "GetOrder",
                                json!({"OrderStatus": status, "TimeType": time_type,
                                "StartTime": start, "EndTime": end, "PageIndex": 1, "PageSize": 1}),
                            )
                            .await);
                        let column = if time_type == "JH_01" {
                            "modified_at"
                        } else {
                            "created_at"
                        };
                        let status_filter = if status == "JH_99" {
                            String::new()
                        } else {
                            format!("AND trade_status = '{status}'")
                        };
                        let expected = count_sql(app, &format!(
                            "SELECT id FROM orders WHERE {column} >= '{}' AND {column} < '{}' {status_filter}",
                            shifted(start, -chrono::TimeDelta::hours(8)),
                            // Inclusive to the whole second the window names.
                            shifted(end, chrono::TimeDelta::seconds(1) - chrono::TimeDelta::hours(8)),
                        ));
                        assert_eq!(
                            answer["numtotalorder"], expected,
                            "{label}: {status} by {time_type} from {start} to {end}"
                        );
                    }
                }
            }
        }
    };
    check("all pending", &windows).await;
    assert!(
        fold_order_counts(&app) > 0,
        "the posted orders left changes to fold"
    );
    check("all folded", &windows).await;

    // Ship some, pay some (status and created day move), add more; then check both before
    // and after folding.
    for no in ["C10", "C22", "C34"] {
        let answer = client
            .call("Send", json!({"PlatOrderNo": no, "LogisticType": "JH_001", "LogisticNo": format!("T{no}")}))
            .await;
        ok(answer);
    }
    let moved = vec![
        order_at("C30", "2024-03-05 23:59:59", "JH_02"),
        order_at("C52", "2024-03-01 00:00:00", "JH_02"),
        order_at("NEW1", "2024-03-03 08:00:00", "JH_01"),
    ];
    let (status, body) = app.admin_post("orders", &Value::Array(moved)).await;
    assert_eq!(status, 200, "{body}");
    check("changes pending over folded counts", &windows).await;
    fold_order_counts(&app);
    check("changes folded", &windows).await;
    assert_eq!(fold_order_counts(&app), 0, "nothing left to fold");

    // A sale: 2,000 orders placed within one hour, three to a second, posted in four
    // batches a second or more apart (each batch shares its modified time), then windows
    // that cut through the hour, through one second, and between two batches.
    let mut cuts = Vec::new();
    for batch in 0..4 {
        let orders: Vec<Value> = (0..500)
            .map(|i| {
                let n = batch * 500 + i;
                let second = n / 3 % 3_600;
                let status = if n % 4 == 0 { "JH_01" } else { "JH_02" };
                let placed = format!("2024-03-06 10:{:02}:{:02}", second / 60, second % 60);
                order_at(&format!("S{n:04}"), &placed, status)
            })
            .collect();
        let (status, body) = app.admin_post("orders", &Value::Array(orders)).await;
        assert_eq!(status, 200, "{body}");
        cuts.push(chrono::Utc::now().naive_utc());
        tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    }
    let burst: Vec<(String, String)> = vec![
        ("2024-03-06 10:00:00".into(), "2024-03-06 10:59:59".into()),
        ("2024-03-06 10:03:17".into(), "2024-03-06 10:07:42".into()),
        ("2024-03-06 10:05:00".into(), "2024-03-06 10:05:00".into()),
        ("2024-03-05 12:00:01".into(), "2024-03-08 11:59:58".into()),
        (local(cuts[0] - chrono::TimeDelta::hours(1)), local(cuts[1])),
        (local(cuts[1]), local(cuts[2])),
        (local(cuts[2]), local(cuts[2])),
        (
            local(today - chrono::TimeDelta::days(3)),
            local(today + chrono::TimeDelta::days(1)),
        ),
    ];
    check("sale pending", &burst).await;
    fold_order_counts(&app);
    check("sale folded", &burst).await;
    for no in ["S0001", "S0502", "S1003", "S1999"] {
        ok(client
            .call("Send", json!({"PlatOrderNo": no, "LogisticType": "JH_001", "LogisticNo": format!("T{no}")}))
            .await);
    }
    let paid = vec![
        order_at("S0000", "2024-03-06 10:00:00", "JH_02"),
        order_at("S1200", "2024-03-06 10:59:59", "JH_05"),
    ];
    let (status, body) = app.admin_post("orders", &Value::Array(paid)).await;
    assert_eq!(status, 200, "{body}");
    check("sale changes pending", &burst).await;
    fold_order_counts(&app);
    check("sale changes folded", &burst).await;
}

/// A `yyyy-MM-dd HH:mm:ss` time moved by `by` (from the shop's +08:00 to UTC, say).
fn shifted(t: &str, by: chrono::TimeDelta) -> String {
    let t = chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S").expect("time");
    (t + by).format("%Y-%m-%d %H:%M:%S").to_string()
}

/// GetOrder keeps what it rendered of an order until the order's revision moves; every
/// change — through this server, through another server on the same database, or by the
/// storefront — must show on the next page. (Debug builds also check every kept order
/// against the database on each page and fail the call when one changed unnoticed.)
async fn changes_after_serving(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (status, body) = app
        .admin_post("orders", &json!([full_order("C-1"), full_order("C-2")]))
        .await;
    assert_eq!(status, 200, "{body}");
    let other = app.beside().await;
    let client = PolyClient::demo(&app);
    let other_client = PolyClient::demo(&other);
    let page = || {
        json!({"OrderStatus": "JH_99", "StartTime": "2010-01-01 00:00:00", "EndTime": "2099-01-01 00:00:00",
               "TimeType": "JH_02", "PageIndex": 1, "PageSize": 30})
    };
    let served = |answer: Value, no: &str| -> Value {
        answer["orders"]
            .as_array()
            .expect("orders")
            .iter()
            .find(|order| order["PlatOrderNo"] == no)
            .cloned()
            .unwrap_or_else(|| panic!("{no} not on the page: {answer}"))
    };
    let first = ok(client.call("GetOrder", page()).await);
    let again = ok(client.call("GetOrder", page()).await);
    assert_eq!(first, again, "an unchanged order is served the same");
    assert_eq!(served(first.clone(), "C-1")["sellerremark"], "已告知");

    // Another server changes the memo: this one serves the new memo.
    ok(other_client
        .call(
            "UpdateSellerMemo",
            json!({"PlatOrderNo": "C-1", "SellerMemo": "改地址", "SellerFlag": "JH_Red"}),
        )
        .await);
    let after_memo = served(ok(client.call("GetOrder", page()).await), "C-1");
    assert_eq!(after_memo["sellerremark"], "改地址");

    // The storefront posts the order again with a new address and a line's count changed.
    let mut changed = full_order("C-1");
    changed["address"] = json!("新地址 8 号");
    changed["goodinfos"][0]["goodscount"] = json!(5);
    let (status, body) = app.admin_post("orders", &json!([changed])).await;
    assert_eq!(status, 200, "{body}");
    let after_post = served(ok(client.call("GetOrder", page()).await), "C-1");
    assert_eq!(after_post["address"], "新地址 8 号");
    assert_eq!(after_post["goodinfos"][0]["goodscount"], 5);

    // A refund of one line, recorded through the admin API.
    let refund = json!({"refundno": "RF-C1", "platorderno": "C-1", "subplatorderno": "C-1-2",
                        "refundstatus": "JH_06", "createtime": "2024-01-01 00:00:00"});
    let (status, body) = app.admin_post("refunds", &json!([refund])).await;
    assert_eq!(status, 200, "{body}");
    let after_refund = served(ok(client.call("GetOrder", page()).await), "C-1");
    let refunded: Vec<&Value> = after_refund["goodinfos"]
        .as_array()
        .expect("goodinfos")
        .iter()
        .map(|line| &line["refundStatus"])
        .collect();
    assert_eq!(
        refunded,
        [&json!("JH_07"), &json!("JH_06")],
        "{after_refund}"
    );

    // Shipped by another server: this one serves it shipped.
    ok(other_client
        .call(
            "Send",
            json!({"PlatOrderNo": "C-1", "LogisticType": "JH_002", "LogisticName": "圆通",
                   "LogisticNo": "YT-C1", "IsSplit": 0, "SubPlatOrderNo": "", "SendType": "JH_01"}),
        )
        .await);
    let shipped = ok(client.call("GetOrder", page()).await);
    assert_eq!(served(shipped.clone(), "C-1")["tradeStatus"], "JH_03");
    // The order beside it never changed and is served as at first.
    assert_eq!(served(shipped, "C-2"), served(first, "C-2"));
}

/// What GetOrder keeps of one shop's orders is served to that shop's signed calls only:
/// not to another shop on the same database (which has an order of the same number), not
/// to a call whose sign fails, not to a call with another shop's token.
async fn kept_orders_refused(backend: Backend) {
    let Some(db) = TestDb::new(backend) else {
        return;
    };
    let app = TestApp::spawn_with(db, |config| {
        let mut east = config.shops[0].clone();
        east.code = "east".to_owned();
        east.name = "East".to_owned();
        east.polyapi = Some(polymall::config::PolyapiShopConfig {
            appkey: "k-east".to_owned(),
            appsecret: polymall::config::Secret::new("secret-east"),
            token: polymall::config::Secret::new("T-east"),
            disabled_methods: Vec::new(),
        });
        config.shops.push(east);
    })
    .await;
    let (status, body) = app
        .admin_post("orders", &json!([full_order("K-1"), full_order("K-2")]))
        .await;
    assert_eq!(status, 200, "{body}");
    let mut east_order = full_order("K-1");
    east_order["address"] = json!("东区 1 号");
    let response = app
        .client
        .post(format!("{}/admin/v1/shops/east/orders", app.address))
        .bearer_auth(crate::helpers::ADMIN_TOKEN)
        .json(&json!([east_order]))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 200);

    let window = json!({"OrderStatus": "JH_99", "StartTime": "2010-01-01 00:00:00",
                        "EndTime": "2099-01-01 00:00:00", "TimeType": "JH_02",
                        "PageIndex": 1, "PageSize": 30});
    let demo = PolyClient::demo(&app);
    // Served twice, so the demo shop's orders are kept.
    ok(demo.call("GetOrder", window.clone()).await);
    let kept = ok(demo.call("GetOrder", window.clone()).await);
    assert_eq!(kept["numtotalorder"], 2);

    let east = PolyClient {
        app: &app,
        appkey: "k-east",
        secret: "secret-east",
        token: "T-east",
    };
    let east_page = ok(east.call("GetOrder", window.clone()).await);
    assert_eq!(east_page["numtotalorder"], 1, "{east_page}");
    assert_eq!(east_page["orders"][0]["PlatOrderNo"], "K-1");
    assert_eq!(
        east_page["orders"][0]["address"], "东区 1 号",
        "{east_page}"
    );
    let by_number = ok(east
        .call("GetOrder", json!({"PlatOrderNo": "K-2", "PageIndex": 1}))
        .await);
    assert_eq!(by_number["numtotalorder"], 0, "{by_number}");
    assert_eq!(by_number["orders"], json!([]));

    // A sign that does not verify, and the east shop's token under the demo appkey.
    let mut forged = demo.params("GetOrder", &window, &[]);
    forged.retain(|(key, _)| *key != "sign");
    forged.push(("sign", "f".repeat(32)));
    let refused = demo.send_form(&forged).await;
    fails(&refused, "GSE.VERIFYSIGN_FAILURE", "sign");
    assert!(refused.get("orders").is_none(), "{refused}");
    let crossed = PolyClient {
        app: &app,
        appkey: "k",
        secret: "secret",
        token: "T-east",
    };
    let refused = crossed.call("GetOrder", window).await;
    fails(&refused, "GSE.APPKEY_FAILURE", "token");
    assert!(refused.get("orders").is_none(), "{refused}");
}
