//! The Polyapi trust boundary as an attacker meets it: a captured signed call cannot be
//! re-aimed at another method or other data, a repeated parameter is refused in any
//! case and from any source, and hostile forms are refused at their first broken rule
//! while the server keeps answering everyone else.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::admin::full_order;
use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;
use crate::polyapi_client::{fails, ok, sign, PolyClient};

on_both_backends! {
    a_signed_call_cannot_be_re_aimed => re_aimed;
    a_repeated_parameter_is_refused_from_any_source => repeated;
    extra_parameters_change_nothing => extra_parameters;
    hostile_forms_are_refused_while_others_are_served => flood;
    a_sign_lowercased_rune_by_rune_verifies => go_style_sign;
}

/// A public Go ERP client lowercases rune by rune (Σ → σ even at a word's end, İ → i),
/// where Java lowercases the whole text (final ς, i̇): its calls verify too, and a sign
/// made for other content still does not.
async fn go_style_sign(backend: Backend) {
    use md5::{Digest, Md5};
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.admin_post("orders", &json!([full_order("GO-1")])).await;
    let client = PolyClient::demo(&app);
    let go_sign = |params: &[(&str, String)]| {
        let mut sorted: Vec<&(&str, String)> = params.iter().collect();
        sorted.sort();
        let joined: String = sorted.iter().map(|(k, v)| format!("{k}{v}")).collect();
        let lowered: String = joined
            .chars()
            .map(|c| match c {
                'Σ' => 'σ',
                'İ' => 'i',
                other => other.to_lowercase().next().unwrap_or(other),
            })
            .collect();
        format!(
            "{:x}",
            Md5::digest(format!("secret{lowered}secret").as_bytes())
        )
    };
    let memo =
        json!({"PlatOrderNo": "GO-1", "SellerMemo": "ΟΔΟΣ İstanbul", "SellerFlag": "JH_Red"});
    let mut params = vec![
        ("appkey", "k".to_owned()),
        ("token", "T".to_owned()),
        ("method", "Differ.JH.Business.UpdateSellerMemo".to_owned()),
        ("bizcontent", memo.to_string()),
    ];
    let signature = go_sign(&params);
    // The same sign over other content is refused.
    let mut tampered = params.clone();
    tampered[3].1 =
        json!({"PlatOrderNo": "GO-1", "SellerMemo": "ΟΔΟΣ Izmir", "SellerFlag": "JH_Red"})
            .to_string();
    tampered.push(("sign", signature.clone()));
    fails(
        &client.send_form(&tampered).await,
        "GSE.VERIFYSIGN_FAILURE",
        "sign",
    );
    params.push(("sign", signature));
    ok(client.send_form(&params).await);
    let order = ok(client
        .call("GetOrder", json!({"PlatOrderNo": "GO-1", "PageIndex": 1}))
        .await);
    assert_eq!(order["orders"][0]["sellerremark"], "ΟΔΟΣ İstanbul");
}

/// A product without SKUs whose stock is 7.
fn plain_product(id: &str) -> Value {
    json!({"PlatProductID": id, "name": "毛巾", "OuterID": format!("OUT-{id}"), "price": 9.9,
           "num": 7, "pictureurl": "", "whsecode": "", "skus": []})
}

async fn stock_of(client: &PolyClient<'_>, id: &str) -> i64 {
    let page = ok(client
        .call("DownloadProduct", json!({"PageIndex": 1, "PageSize": 100}))
        .await);
    page["goodslist"]
        .as_array()
        .and_then(|list| list.iter().find(|p| p["PlatProductID"] == id))
        .and_then(|p| p["num"].as_i64())
        .expect("product listed")
}

async fn status_of(client: &PolyClient<'_>, no: &str) -> Value {
    ok(client
        .call("GetOrder", json!({"PlatOrderNo": no, "PageIndex": 1}))
        .await)["orders"][0]["tradeStatus"]
        .clone()
}

/// Posts `body` (urlencoded) with `query` to the endpoint; answers the envelope.
async fn post(app: &TestApp, query: &str, body: String) -> Value {
    let response = app
        .client
        .post(format!("{}/polyapi?{query}", app.address))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 200);
    response.json().await.expect("envelope")
}

fn urlencoded(params: &[(&str, String)]) -> String {
    serde_urlencoded::to_string(params).expect("form")
}

fn query_of(pairs: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(pairs).expect("query")
}

async fn re_aimed(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.admin_post("products", &json!([plain_product("P200")]))
        .await;
    app.admin_post("orders", &json!([full_order("20492364655")]))
        .await;
    let client = PolyClient::demo(&app);
    // A GetOrder the ERP signed, captured by an attacker.
    let captured = client.params(
        "GetOrder",
        &json!({"PlatOrderNo": "20492364655", "PageIndex": 1}),
        &[],
    );
    let stock = json!({"PlatProductID": "P200", "Quantity": 999999}).to_string();
    let ship = json!({"PlatOrderNo": "20492364655", "LogisticType": "JH_002",
                      "LogisticNo": "FORGED1", "IsSplit": 0})
    .to_string();
    let attempts: Vec<(String, String)> = vec![
        // The reproduction of the report: the query names another method and data.
        (
            query_of(&[
                ("Method", "Differ.JH.Business.SyncStock"),
                ("BizContent", &stock),
            ]),
            urlencoded(&captured),
        ),
        // Lower-case names in the query, the signed ones in the body.
        (
            query_of(&[("method", "Differ.JH.Business.Send"), ("bizcontent", &ship)]),
            urlencoded(&captured),
        ),
        // Everything in the body, the forged pair first in another case.
        (String::new(), {
            let mut forged = vec![
                ("METHOD", "Differ.JH.Business.SyncStock".to_owned()),
                ("BIZCONTENT", stock.clone()),
            ];
            forged.extend(captured.iter().cloned());
            urlencoded(&forged)
        }),
        // The forged pair after the signed one.
        (String::new(), {
            let mut forged = captured.clone();
            forged.push(("Method", "Differ.JH.Business.Send".to_owned()));
            forged.push(("bizContent", ship.clone()));
            urlencoded(&forged)
        }),
    ];
    for (query, body) in attempts {
        let answer = post(&app, &query, body).await;
        fails(&answer, "GSE.INVALID_PARAMETER", "more than once");
    }
    // Multipart body with the signed call, the forged pair in the query.
    let mut form = reqwest::multipart::Form::new();
    for (key, value) in &captured {
        form = form.text(*key, value.clone());
    }
    let answer: Value = app
        .client
        .post(format!(
            "{}/polyapi?{}",
            app.address,
            query_of(&[
                ("Method", "Differ.JH.Business.SyncStock"),
                ("BizContent", &stock)
            ])
        ))
        .multipart(form)
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("envelope");
    fails(&answer, "GSE.INVALID_PARAMETER", "more than once");
    // The captured call with its values swapped for others is a wrong sign.
    let mut swapped = captured.clone();
    for (key, value) in swapped.iter_mut() {
        match *key {
            "method" => *value = "Differ.JH.Business.SyncStock".to_owned(),
            "bizcontent" => *value = stock.clone(),
            _ => {}
        }
    }
    fails(
        &client.send_form(&swapped).await,
        "GSE.VERIFYSIGN_FAILURE",
        "sign",
    );

    assert_eq!(stock_of(&client, "P200").await, 7, "stock unchanged");
    assert_eq!(
        status_of(&client, "20492364655").await,
        "JH_02",
        "order not shipped"
    );
    // The captured call itself still does what it was signed for.
    let answer = ok(client.send_form(&captured).await);
    assert_eq!(answer["orders"][0]["PlatOrderNo"], "20492364655");
}

async fn repeated(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.admin_post("products", &json!([plain_product("P1")]))
        .await;
    let client = PolyClient::demo(&app);
    let add = client.params(
        "SyncStock",
        &json!({"PlatProductID": "P1", "Quantity": 5, "SyncStockType": "JH_02"}),
        &[],
    );
    // The same parameter twice with the same value, in the body, in the query and body,
    // and as two multipart parts: refused, even though both values agree.
    let twice = {
        let mut params = add.clone();
        params.push(("appkey", "k".to_owned()));
        params
    };
    fails(
        &post(&app, "", urlencoded(&twice)).await,
        "GSE.INVALID_PARAMETER",
        "appkey",
    );
    fails(
        &post(&app, "token=T", urlencoded(&add)).await,
        "GSE.INVALID_PARAMETER",
        "token",
    );
    fails(
        &client.send_multipart(&twice).await,
        "GSE.INVALID_PARAMETER",
        "appkey",
    );
    let mut sign_twice = add.clone();
    sign_twice.push(("Sign", "0".repeat(32)));
    fails(
        &post(&app, "", urlencoded(&sign_twice)).await,
        "GSE.INVALID_PARAMETER",
        "Sign",
    );
    // A name that folds to a public one under Unicode rules (K, the Kelvin sign) is no
    // parameter name at all.
    let mut kelvin = add.clone();
    kelvin.push(("to\u{212A}en", "T".to_owned()));
    fails(
        &post(&app, "", urlencoded(&kelvin)).await,
        "GSE.INVALID_PARAMETER",
        "parameter name",
    );
    assert_eq!(stock_of(&client, "P1").await, 7, "nothing was added");
    // Sent once, it adds once.
    assert_eq!(ok(client.send_form(&add).await)["Quantity"], 12);
}

async fn extra_parameters(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.admin_post("products", &json!([plain_product("P1")]))
        .await;
    let client = PolyClient::demo(&app);
    let set = json!({"PlatProductID": "P1", "Quantity": 3});
    // Signed over the four public parameters; unsigned extras ride along and are ignored.
    let mut params = client.params("SyncStock", &set, &[]);
    params.push(("SyncStockType", "JH_02".to_owned()));
    params.push(("Quantity", "999999".to_owned()));
    params.push(("platid", "9".to_owned()));
    let answer = ok(client.send_form(&params).await);
    assert_eq!(answer["Quantity"], 3, "the signed bizcontent set the stock");
    assert_eq!(stock_of(&client, "P1").await, 3);

    // Signed over everything it sends: changing any extra breaks the sign.
    let mut all = vec![
        ("appkey", "k".to_owned()),
        ("token", "T".to_owned()),
        ("method", "Differ.JH.Business.SyncStock".to_owned()),
        (
            "bizcontent",
            json!({"PlatProductID": "P1", "Quantity": 4}).to_string(),
        ),
        ("timestamp", "2024-05-01 10:00:00".to_owned()),
    ];
    let signature = sign("secret", &all);
    all.push(("sign", signature));
    ok(client.send_form(&all).await);
    assert_eq!(stock_of(&client, "P1").await, 4);
    for (key, value) in all.iter_mut() {
        if *key == "timestamp" {
            *value = "2024-05-01 10:00:01".to_owned();
        }
        if *key == "bizcontent" {
            *value = json!({"PlatProductID": "P1", "Quantity": 5}).to_string();
        }
    }
    fails(
        &client.send_form(&all).await,
        "GSE.VERIFYSIGN_FAILURE",
        "sign",
    );
    assert_eq!(stock_of(&client, "P1").await, 4);
}

/// A 1 MiB body of one kind of hostile form.
fn hostile_body(kind: usize) -> (String, Vec<u8>) {
    const SIZE: usize = 1024 * 1024 - 64;
    match kind % 4 {
        // 110,000 parameters without a name.
        0 => (
            "application/x-www-form-urlencoded".to_owned(),
            "=&".repeat(SIZE / 2).into_bytes(),
        ),
        // Distinct names, more than allowed.
        1 => {
            let mut body = String::with_capacity(SIZE);
            let mut i = 0;
            while body.len() < SIZE - 16 {
                body.push_str(&format!("p{i}=&"));
                i += 1;
            }
            (
                "application/x-www-form-urlencoded".to_owned(),
                body.into_bytes(),
            )
        }
        // One name over and over.
        2 => (
            "application/x-www-form-urlencoded".to_owned(),
            "a=&".repeat(SIZE / 3).into_bytes(),
        ),
        // Tens of thousands of tiny multipart parts.
        _ => {
            let mut body = Vec::with_capacity(SIZE);
            let mut i = 0;
            while body.len() < SIZE - 200 {
                body.extend_from_slice(
                    format!("--B\r\nContent-Disposition: form-data; name=\"p{i}\"\r\n\r\nx\r\n")
                        .as_bytes(),
                );
                i += 1;
            }
            body.extend_from_slice(b"--B--\r\n");
            ("multipart/form-data; boundary=B".to_owned(), body)
        }
    }
}

async fn flood(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let stop_at = Instant::now() + Duration::from_secs(4);
    let mut attackers = Vec::new();
    for worker in 0..6 {
        let client = reqwest::Client::new();
        let url = format!("{}/polyapi", app.address);
        attackers.push(tokio::spawn(async move {
            let mut refused = 0;
            let mut round = worker;
            while Instant::now() < stop_at {
                let (content_type, body) = hostile_body(round);
                round += 1;
                let answer: Value = client
                    .post(&url)
                    .header("Content-Type", content_type)
                    .body(body)
                    .send()
                    .await
                    .expect("hostile request")
                    .json()
                    .await
                    .expect("envelope");
                assert_eq!(answer["subcode"], "GSE.INVALID_PARAMETER", "{answer}");
                refused += 1;
            }
            refused
        }));
    }
    let client = PolyClient::demo(&app);
    let mut slowest = Duration::ZERO;
    let mut served = 0;
    while Instant::now() < stop_at {
        let started = Instant::now();
        let health = app
            .client
            .get(format!("{}/healthz", app.address))
            .send()
            .await
            .expect("healthz");
        assert!(health.status().is_success());
        ok(client.call("GetOrder", json!({"PageIndex": 1})).await);
        slowest = slowest.max(started.elapsed());
        served += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut refused = 0;
    for attacker in attackers {
        refused += attacker.await.expect("attacker");
    }
    assert!(refused >= 6, "every hostile form was answered: {refused}");
    assert!(served >= 5, "the server kept answering: {served} rounds");
    // Generous: a bound on staying responsive, not a benchmark.
    assert!(
        slowest < Duration::from_secs(2),
        "a health check and a signed call took {slowest:?} under the flood"
    );
}
