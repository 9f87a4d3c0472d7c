//! Hostile input: the parsers never panic whatever they are given, and the endpoints
//! answer garbage, slow clients, SQL metacharacters and huge strings the way they
//! answer any other bad input.

use std::io::Write;
use std::time::Duration;

use polymall::polyapi::biz::Biz;
use polymall::polyapi::wire::{format_shop_time, parse_shop_time, Money};
use polymall::qimen::confirm;
use proptest::prelude::*;
use serde_json::{json, Value};

use crate::admin::full_order;
use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;
use crate::polyapi_client::PolyClient;

fn china() -> chrono::FixedOffset {
    chrono::FixedOffset::east_opt(8 * 3600).expect("offset")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn bizcontent_never_panics(text in ".{0,200}") {
        if let Ok(biz) = Biz::parse(&text) {
            let _ = biz.page(30, 100);
            let _ = biz.text("PlatOrderNo");
            let _ = biz.int("PageIndex");
            let _ = biz.window("StartTime", "EndTime", china());
        }
    }

    #[test]
    fn bizcontent_fields_of_any_json_never_panic(index in any::<i64>(), size in ".{0,12}", start in ".{0,25}", flag in any::<bool>()) {
        let document = json!({"PageIndex": index, "pagesize": size, "StartTime": start, "EndTime": flag});
        let Ok(biz) = Biz::parse(&document.to_string()) else {
            // The one refusal of a well-formed object: a NUL inside a text.
            prop_assert!(size.contains('\0') || start.contains('\0'));
            return Ok(());
        };
        let _ = biz.page(30, 100);
        let _ = biz.window("StartTime", "EndTime", china());
    }

    #[test]
    fn times_never_panic_and_round_trip(text in ".{0,40}", seconds in 0_i64..4_000_000_000) {
        let _ = parse_shop_time(&text, china());
        let utc = chrono::DateTime::from_timestamp(seconds, 0).expect("time").naive_utc();
        let printed = format_shop_time(utc, china());
        prop_assert_eq!(parse_shop_time(&printed, china()), Ok(utc));
    }

    #[test]
    fn money_never_panics_and_round_trips(text in "[-+.0-9e]{0,24}", fen in 0_i64..1_000_000_000_000) {
        let _ = Money::parse_yuan(&text);
        let printed = serde_json::to_string(&Money(fen)).expect("json");
        prop_assert_eq!(serde_json::from_str::<Money>(&printed).expect("parses"), Money(fen));
    }

    #[test]
    fn the_confirmation_reader_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = confirm::parse(&bytes);
    }

    #[test]
    fn a_mutated_seed_confirmation_never_panics(cut in 0_usize..5921, insert in ".{0,8}") {
        let seed = include_str!("fixtures/deliveryorder_confirm.xml");
        let cut = (0..=cut.min(seed.len())).rev().find(|i| seed.is_char_boundary(*i)).unwrap_or(0);
        let mutated = format!("{}{}{}", &seed[..cut], insert, &seed[cut..]);
        let _ = confirm::parse(mutated.as_bytes());
        let _ = confirm::parse(&seed.as_bytes()[..cut]);
    }
}

on_both_backends! {
    garbage_parameters_always_get_an_envelope => garbage;
    sql_metacharacters_round_trip_and_huge_strings_are_refused => metacharacters;
    a_slow_client_does_not_hold_up_others => slow_client;
}

/// A small deterministic generator, so a failure reproduces.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn text(&mut self, max: u64) -> String {
        const PIECES: &[&str] = &[
            "'",
            "\"",
            "%",
            "_",
            "\\",
            ";--",
            "{",
            "}",
            "[",
            "]",
            ":",
            ",",
            "中",
            "\u{0}",
            "&",
            "=",
            "+",
            " ",
            "a",
            "1",
            "PageIndex",
            "null",
        ];
        (0..self.next() % max)
            .map(|_| PIECES[(self.next() % PIECES.len() as u64) as usize])
            .collect()
    }
}

async fn garbage(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let client = PolyClient::demo(&app);
    let mut rng = Lcg(7);
    for round in 0..60 {
        let method = [
            "GetOrder",
            "Send",
            "SyncStock",
            "GetRefund",
            "Consume",
            "DownloadProduct",
            "UpdateSellerMemo",
            "CheckRefundStatus",
        ][round % 8];
        let bizcontent = rng.text(40);
        let mut params = vec![
            ("appkey", "k".to_owned()),
            ("token", "T".to_owned()),
            ("method", format!("Differ.JH.Business.{method}")),
            ("bizcontent", bizcontent),
        ];
        let sign = crate::polyapi_client::sign("secret", &params);
        params.push(("sign", sign));
        let answer = if round % 2 == 0 {
            client.send_form(&params).await
        } else {
            client.send_multipart(&params).await
        };
        assert!(
            answer["code"] == "10000" || answer["code"] == "40000",
            "{answer}"
        );
        assert_ne!(
            answer["subcode"], "GSE.SYSTEM_ERROR",
            "garbage is the caller's error: {answer}"
        );
    }
    // Raw bodies that are not forms at all.
    for body in [
        "%%%",
        "a=%zz",
        "=&=&=",
        "\u{0}\u{1}",
        "method=",
        &"x".repeat(2_000_000),
    ] {
        let response = app
            .client
            .post(format!("{}/polyapi", app.address))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.to_owned())
            .send()
            .await
            .expect("request");
        assert_eq!(response.status().as_u16(), 200);
        let answer: Value = response.json().await.expect("an envelope");
        assert_eq!(answer["code"], "40000", "{answer}");
    }
    let response = app
        .client
        .post(format!("{}/polyapi", app.address))
        .header("content-type", "multipart/form-data; boundary=zzz")
        .body("--zzz\r\nnonsense")
        .send()
        .await
        .expect("request");
    let answer: Value = response.json().await.expect("an envelope");
    assert_eq!(answer["code"], "40000", "{answer}");
}

async fn metacharacters(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let nasty = "'; DROP TABLE orders; -- \" % _ \\ 中文 \u{1F600}";
    let mut order = full_order("META-'1");
    for field in [
        "address",
        "customerremark",
        "sellerremark",
        "nick",
        "receivername",
        "invoicetitle",
        "email",
    ] {
        order[field] = json!(nasty);
    }
    order["goodinfos"][0]["tradegoodsname"] = json!(nasty);
    order["goodinfos"][0]["remark"] = json!(nasty);
    let (status, body) = app.admin_post("orders", &json!([order])).await;
    assert_eq!(status, 200, "{body}");
    let answer = crate::polyapi_client::ok(
        PolyClient::demo(&app)
            .call(
                "GetOrder",
                json!({"PlatOrderNo": "META-'1", "PageIndex": 1}),
            )
            .await,
    );
    assert_eq!(answer["orders"][0]["address"], nasty);
    assert_eq!(answer["orders"][0]["goodinfos"][0]["tradegoodsname"], nasty);
    // Huge strings in any text field are refused with the field named, nothing written.
    for field in [
        "address",
        "nick",
        "customerremark",
        "PlatOrderNo",
        "payorderno",
        "bankaccount",
        "sendDate",
    ] {
        let mut huge = full_order("HUGE-1");
        huge[field] = json!("长".repeat(100_000));
        let (status, body) = app.admin_post("orders", &json!([huge])).await;
        assert_eq!(status, 422, "{field}: {body}");
        assert!(
            body["field"].as_str().unwrap_or_default().contains(field),
            "{body}"
        );
    }
    let (_, body) = app.admin_get("orders?PlatOrderNo=HUGE-1").await;
    assert_eq!(body["total"], 0);
    // A NUL character (PostgreSQL text cannot hold it) is refused as bad input on both backends.
    let mut nul = full_order("NUL-1");
    nul["address"] = json!("a\u{0}b");
    let (status, body) = app.admin_post("orders", &json!([nul])).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["field"], "[0].address");
    let answer = PolyClient::demo(&app)
        .call(
            "UpdateSellerMemo",
            json!({"PlatOrderNo": "META-'1", "SellerMemo": "x\u{0}y"}),
        )
        .await;
    assert_eq!(answer["subcode"], "GSE.INVALID_PARAMETER", "{answer}");
    // And through Polyapi: a huge memo is refused, not stored.
    let memo = "备".repeat(5_000);
    let answer = PolyClient::demo(&app)
        .call(
            "UpdateSellerMemo",
            json!({"PlatOrderNo": "META-'1", "SellerMemo": memo}),
        )
        .await;
    assert_eq!(answer["subcode"], "GSE.INVALID_PARAMETER", "{answer}");
}

async fn slow_client(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let address = app.address.trim_start_matches("http://").to_owned();
    // Several connections that announce a body and then send it a byte at a time, slowly.
    let mut slow = Vec::new();
    for _ in 0..4 {
        let mut stream = std::net::TcpStream::connect(&address).expect("connect");
        stream
            .write_all(b"POST /polyapi HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\nmethod=")
            .expect("write");
        slow.push(stream);
    }
    // Meanwhile everyone else is served promptly.
    let client = PolyClient::demo(&app);
    for _ in 0..5 {
        let answer = tokio::time::timeout(
            Duration::from_secs(2),
            client.call("GetOrder", json!({"PageIndex": 1})),
        )
        .await
        .expect("answered while slow clients hang on");
        assert_eq!(answer["code"], "10000");
    }
    for stream in &mut slow {
        let _ = stream.write_all(b"a");
    }
}
