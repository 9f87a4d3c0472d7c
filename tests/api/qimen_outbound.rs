//! Items, delivery orders, cancellations and stock against the fake warehouse.

use polymall::config::{DatabaseConfig, Secret};
use polymall::db::Database;
use polymall::outbox::{self, OutboxFilter};
use polymall::qimen::{pulls, push, WmsSync};
use polymall::shop::shops;
use serde_json::{json, Value};

use crate::admin::full_order;
use crate::fake_wms::{wms_config, FakeWms, WmsScripted};
use crate::helpers::{Backend, TestApp, TestDb};
use crate::on_both_backends;
use crate::polyapi_client::{ok, PolyClient};

on_both_backends! {
    products_become_items_at_the_warehouse => items;
    paid_orders_become_delivery_orders_and_closed_ones_are_cancelled => delivery_orders;
    refusals_are_kept_and_outages_retried => refusals;
    the_warehouse_stock_reaches_download_product => stock;
    a_gateway_error_blaming_the_request_is_a_refusal => isv_error;
    the_delivery_order_carries_the_sender_the_pay_time_and_exact_prices => delivery_fields;
}

struct Setup {
    app: TestApp,
    fake: FakeWms,
    sync: WmsSync,
}

async fn setup(backend: Backend) -> Option<Setup> {
    let db = TestDb::new(backend)?;
    let fake = FakeWms::start().await;
    let mut config = wms_config(&fake.url, "cust-1");
    config.owner_code = "owner-1".to_owned();
    let shop_config = config.clone();
    let app = TestApp::spawn_with(db, move |c| c.shops[0].wms = Some(shop_config)).await;
    let database = Database::connect(&DatabaseConfig {
        url: Secret::new(app.db.url.clone()),
        ..DatabaseConfig::default()
    })
    .expect("db");
    let shop = shops::find_by_code(&mut database.get().expect("conn"), "demo").expect("shop");
    let sync = WmsSync::new(database, shop, config).expect("sync");
    Some(Setup { app, fake, sync })
}

async fn rows(sync: &WmsSync) -> Vec<outbox::OutboxRow> {
    let shop_id = sync.shop.id;
    sync.db
        .run(move |conn| {
            outbox::list(
                conn,
                &OutboxFilter {
                    shop_id: Some(shop_id),
                    state: None,
                    limit: 100,
                },
            )
        })
        .await
        .expect("list")
}

fn product() -> Value {
    json!({"PlatProductID": "P1", "name": "连衣裙", "OuterID": "OUT-P1", "price": 99, "num": 0, "pictureurl": "",
        "whsecode": "", "status": "JH_01", "skus": [
            {"SkuID": "P1-S", "skuOuterID": "sd0001", "skuprice": 99.5, "skuQuantity": 5, "skuname": "S", "skuproperty": "尺码:S", "skupictureurl": ""},
            {"SkuID": "P1-M", "skuOuterID": "sd0002", "skuprice": 99.5, "skuQuantity": 5, "skuname": "M", "skuproperty": "尺码:M", "skupictureurl": ""}]})
}

async fn items(backend: Backend) {
    let Some(s) = setup(backend).await else {
        return;
    };
    s.app.admin_post("products", &json!([product()])).await;
    let report = push::push_items(&s.sync).await.expect("push");
    assert_eq!(report.sent, 1, "{report:?}");
    {
        let fake = s.fake.state();
        assert_eq!(fake.bad_signs, 0);
        assert!(fake.missing.is_empty(), "{:?}", fake.missing);
        let bodies: Vec<&String> = fake
            .received
            .iter()
            .filter(|(m, _)| m == "singleitem.synchronize")
            .map(|(_, b)| b)
            .collect();
        assert_eq!(bodies.len(), 2, "one per SKU");
        assert!(
            bodies[0].contains("<actionType>add</actionType>")
                && bodies[0].contains("<itemCode>sd0001</itemCode>"),
            "{}",
            bodies[0]
        );
        assert!(
            bodies[1].contains("<itemName>连衣裙 M</itemName>"),
            "{}",
            bodies[1]
        );
    }
    // A rename sends an update.
    let mut renamed = product();
    renamed["name"] = json!("新款连衣裙");
    s.app.admin_post("products", &json!([renamed])).await;
    push::push_items(&s.sync).await.expect("push");
    let fake = s.fake.state();
    let last = &fake.received.last().expect("request").1;
    assert!(
        last.contains("<actionType>update</actionType>") && last.contains("新款连衣裙"),
        "{last}"
    );
}

async fn delivery_orders(backend: Backend) {
    let Some(s) = setup(backend).await else {
        return;
    };
    let mut unpaid = full_order("W-0");
    unpaid["tradeStatus"] = json!("JH_01");
    s.app
        .admin_post("orders", &json!([full_order("W-1"), unpaid]))
        .await;
    let report = push::push_orders(&s.sync).await.expect("push");
    assert_eq!(report.sent, 1, "only the paid order goes: {report:?}");
    {
        let fake = s.fake.state();
        assert!(fake.missing.is_empty(), "{:?}", fake.missing);
        let (method, body) = fake.received.last().expect("request").clone();
        assert_eq!(method, "deliveryorder.create");
        assert!(
            body.contains("<deliveryOrderCode>W-1</deliveryOrderCode>"),
            "{body}"
        );
        assert!(
            body.contains("<receiverInfo><name>张三</name><mobile>13553758444</mobile>"),
            "{body}"
        );
        // Line W-1-1 paid 90.25 for 2 units (95.50 less its share of the order's
        // 5.25 discount): 45.12 + 45.13.
        assert!(
            body.contains("<orderLineNo>W-1-1</orderLineNo><ownerCode>owner-1</ownerCode><itemCode>sd0001</itemCode>")
                && body.contains("<planQty>1</planQty><actualPrice>45.12</actualPrice>")
                && body.contains("<orderLineNo>W-1-1#2</orderLineNo>")
                && body.contains("<planQty>1</planQty><actualPrice>45.13</actualPrice>"),
            "{body}"
        );
        assert!(body.contains("<logisticsCode>ZTO</logisticsCode>"));
    }
    // Paid later: sent then. Closed: cancelled.
    let mut paid = full_order("W-0");
    paid["tradeStatus"] = json!("JH_02");
    let mut closed = full_order("W-1");
    closed["tradeStatus"] = json!("JH_05");
    closed["tradeStatusdescription"] = json!("交易关闭");
    s.app.admin_post("orders", &json!([paid, closed])).await;
    let report = push::push_orders(&s.sync).await.expect("push");
    assert_eq!(report.sent, 2, "{report:?}");
    {
        let fake = s.fake.state();
        let methods: Vec<&str> = fake.received.iter().map(|(m, _)| m.as_str()).collect();
        assert_eq!(
            methods,
            vec![
                "deliveryorder.create",
                "deliveryorder.create",
                "order.cancel"
            ]
        );
        assert!(fake.received[2].1.contains("<orderCode>W-1</orderCode>"));
    }
    // A receiver the warehouse cannot take is held locally with the reason.
    let mut long = full_order("W-2");
    long["province"] = json!("省".repeat(80));
    s.app.admin_post("orders", &json!([long])).await;
    let report = push::push_orders(&s.sync).await.expect("push");
    assert_eq!(report.held, 1);
    let held = rows(&s.sync)
        .await
        .into_iter()
        .find(|r| r.subject == "W-2")
        .expect("row");
    assert_eq!(held.state.code(), "held");
    assert!(held.last_error.unwrap_or_default().contains("province"));
}

async fn refusals(backend: Backend) {
    let Some(s) = setup(backend).await else {
        return;
    };
    // The first call meets an outage, the second a refusal.
    s.fake.state().refuse_orders.insert("X-2".to_owned());
    s.fake.state().script.push_back(WmsScripted::BadGateway);
    s.app
        .admin_post("orders", &json!([full_order("X-1"), full_order("X-2")]))
        .await;
    let report = push::push_orders(&s.sync).await.expect("push");
    assert_eq!((report.deferred, report.refused), (1, 1), "{report:?}");
    let all = rows(&s.sync).await;
    let refused = all.iter().find(|r| r.subject == "X-2").expect("row");
    let outage = all.iter().find(|r| r.subject == "X-1").expect("row");
    assert_eq!(
        refused.state.code(),
        "dead",
        "a business refusal is not retried blindly"
    );
    assert!(refused
        .last_error
        .clone()
        .unwrap_or_default()
        .contains("收件人地址无法识别"));
    assert_eq!((outage.state.code(), outage.attempts), ("pending", 1));
    // A gateway error is an outage too.
    s.fake.state().script.push_back(WmsScripted::ServiceBusy);
    s.app.admin_post("products", &json!([product()])).await;
    let report = push::push_items(&s.sync).await.expect("push");
    assert_eq!(report.deferred, 1, "{report:?}");
    let item = rows(&s.sync)
        .await
        .into_iter()
        .find(|r| r.subject == "P1")
        .expect("row");
    assert!(item.last_error.unwrap_or_default().contains("isp.timeout"));
}

async fn stock(backend: Backend) {
    let Some(s) = setup(backend).await else {
        return;
    };
    s.app.admin_post("products", &json!([product()])).await;
    s.fake
        .state()
        .inventory
        .insert("sd0001".to_owned(), (40, 3));
    s.fake.state().inventory.insert("sd0002".to_owned(), (1, 4));
    assert_eq!(pulls::pull_stock(&s.sync).await.expect("pull"), 2);
    let listed = ok(PolyClient::demo(&s.app)
        .call("DownloadProduct", json!({"PageIndex": 1}))
        .await);
    assert_eq!(listed["goodslist"][0]["skus"][0]["skuQuantity"], 37);
    assert_eq!(listed["goodslist"][0]["skus"][1]["skuQuantity"], 0);
    assert_eq!(
        crate::helpers::count_sql(&s.app, "SELECT id FROM skus WHERE stock_source = 'wms'"),
        2,
        "the console shows where the levels came from"
    );
    assert_eq!(s.fake.state().bad_signs, 0);
}

async fn isv_error(backend: Backend) {
    let Some(s) = setup(backend).await else {
        return;
    };
    s.fake.state().script.push_back(WmsScripted::WrongRequest);
    s.fake.state().script.push_back(WmsScripted::ServiceBusy);
    s.app
        .admin_post("orders", &json!([full_order("V-1"), full_order("V-2")]))
        .await;
    let report = push::push_orders(&s.sync).await.expect("push");
    assert_eq!((report.refused, report.deferred), (1, 1), "{report:?}");
    let all = rows(&s.sync).await;
    let wrong = all.iter().find(|r| r.subject == "V-1").expect("row");
    assert_eq!(
        (wrong.state.code(), wrong.attempts),
        ("dead", 1),
        "not retried for hours: {wrong:?}"
    );
    let error = wrong.last_error.clone().unwrap_or_default();
    assert!(
        error.contains("isv.invalid-parameter") && error.contains("非法参数"),
        "{error}"
    );
    let busy = all.iter().find(|r| r.subject == "V-2").expect("row");
    assert_eq!((busy.state.code(), busy.attempts), ("pending", 1));
}

async fn delivery_fields(backend: Backend) {
    let Some(s) = setup(backend).await else {
        return;
    };
    let mut order = full_order("F-1");
    // Line F-1-1: 3 units for 10.00 (3.34 each less 0.02); line F-1-2 a gift. A coupon
    // of 0.99 on the order: paid 19.01 with the freight, so F-1-1's 3 units cost 9.01,
    // which no single unit price in fen gives.
    order["goodinfos"][0]["goodscount"] = json!(3);
    order["goodinfos"][0]["price"] = json!(3.34);
    order["goodinfos"][0]["discountmoney"] = json!(0.02);
    order["postfee"] = json!(10);
    order["realMoney"] = json!(19.01);
    s.app.admin_post("orders", &json!([order])).await;
    let before = chrono::Utc::now();
    let report = push::push_orders(&s.sync).await.expect("push");
    assert_eq!(report.sent, 1, "{report:?}");
    let fake = s.fake.state();
    assert!(fake.missing.is_empty(), "{:?}", fake.missing);
    let body = &fake.received.last().expect("request").1;
    assert!(
        body.contains("<senderInfo><name>杭州仓</name><mobile>13800000000</mobile><province>浙江省</province><city>杭州市</city><area>西湖区</area><detailAddress>文三路1号</detailAddress></senderInfo>"),
        "{body}"
    );
    assert!(
        body.contains("<placeOrderTime>2016-07-23 13:35:14</placeOrderTime><payTime>2016-07-23 13:35:14</payTime>"),
        "{body}"
    );
    // createTime is when the delivery order was made (the seed), in shop time.
    let created = body
        .split("<createTime>")
        .nth(1)
        .and_then(|rest| rest.split("</createTime>").next())
        .expect("createTime");
    let created = chrono::NaiveDateTime::parse_from_str(created, "%Y-%m-%d %H:%M:%S")
        .expect("time")
        - chrono::Duration::hours(8);
    assert!(
        (created - before.naive_utc()).num_seconds().abs() < 60,
        "createTime {created} is now"
    );
    // 2 units at 3.00 and 1 at 3.01 (the gift line has nothing to share the coupon
    // with): 9.01 exactly.
    let prices: Vec<(i64, String)> = body
        .split("<orderLine>")
        .skip(1)
        .map(|line| {
            let field = |name: &str| {
                line.split(&format!("<{name}>"))
                    .nth(1)
                    .and_then(|rest| rest.split(&format!("</{name}>")).next())
                    .expect("field")
                    .to_owned()
            };
            (field("planQty").parse().expect("qty"), field("actualPrice"))
        })
        .collect();
    let paid: i64 = prices
        .iter()
        .map(|(qty, price)| {
            let fen = (price.parse::<f64>().expect("price") * 100.0).round() as i64;
            qty * fen
        })
        .sum();
    assert_eq!(paid, 901, "{prices:?}");
    assert_eq!(
        prices,
        vec![
            (2, "3.00".to_owned()),
            (1, "3.01".to_owned()),
            (1, "0.00".to_owned())
        ]
    );
}
