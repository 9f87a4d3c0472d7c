//! The admin/intake API: what the storefront posts comes back field for field; bad
//! input is refused with the field's path and leaves the database unchanged.

use serde_json::{json, Value};

use crate::helpers::{count_sql, Backend, TestApp, ADMIN_TOKEN};
use crate::on_both_backends;

/// An order with every field of the seed's GetOrder table set.
pub fn full_order(no: &str) -> Value {
    json!({
        "PlatOrderNo": no,
        "tradeStatus": "JH_02",
        "tradeStatusdescription": "等待卖家发货",
        "tradetime": "2016-07-23 13:26:58",
        "payorderno": "20496764655",
        "country": "CN",
        "province": "广东",
        "city": "潮州市",
        "area": "湘桥区",
        "town": "城区",
        "address": "潮枫路兰园1116米兰婚纱",
        "zip": "521000",
        "phone": "0768-2222222",
        "mobile": "13553758444",
        "email": "buyer@example.com",
        "customerremark": "包装好",
        "sellerremark": "已告知",
        "postfee": 10,
        "goodsfee": 100.5,
        "totalmoney": 110.5,
        "realMoney": 100.25,
        "favourablemoney": 10.25,
        "commissionvalue": 1.1,
        "taxamount": 7.21,
        "tariffamount": 1.01,
        "addedvalueamount": 2.02,
        "consumptiondutyamount": 3.03,
        "sendstyle": "普通快递",
        "qq": "136548751",
        "paytime": "2016-07-23 13:35:14",
        "invoicetitle": "杭州笛佛软件有限公司",
        "taxpayerident": "9133047250399591T",
        "invoicetype": "1",
        "invoicecontent": "办公用品",
        "registeredaddress": "杭州西湖区西园路",
        "registeredphone": "0571-88223300",
        "depositbank": "中国建设银行宁波支行",
        "bankaccount": "3330028513601050",
        "codservicefee": 0.5,
        "currencycode": "CNY",
        "cardtype": "JH_01",
        "idcard": "312055199001014872",
        "idcardtruename": "张三",
        "receivername": "张三",
        "nick": "J1274551574",
        "whsecode": "KU002",
        "IsHwgFlag": 1,
        "ShouldPayType": "担保交易",
        "payID": "4XXXXXXXXX",
        "payName": "杭州巨无霸支付有限公司",
        "businessPlatCode": "XXXXXXXXXX",
        "businessPlatName": "杭州巨无霸有限公司",
        "orderType": "JH_02",
        "sendDate": "2020-10-10 10:10:10",
        "goodinfos": [
            {
                "ProductId": "1964645294",
                "suborderno": format!("{no}-1"),
                "tradegoodsno": "sd0001",
                "tradegoodsname": "绿茶精萃系列 补水保湿套装",
                "tradegoodsspec": "大号",
                "goodscount": 2,
                "price": 50.25,
                "discountmoney": 5,
                "taxamount": 1.21,
                "refundStatus": "JH_07",
                "Status": "JH_02",
                "remark": "记得检查"
            },
            {
                "ProductId": "1964645295",
                "suborderno": format!("{no}-2"),
                "tradegoodsno": "sd0002",
                "tradegoodsname": "绿茶去角质啫喱150ml",
                "tradegoodsspec": "",
                "goodscount": 1,
                "price": 0,
                "discountmoney": 0,
                "taxamount": 0,
                "refundStatus": "JH_07",
                "remark": ""
            }
        ],
        "verifycode": "884422"
    })
}

fn full_product(id: &str) -> Value {
    json!({
        "PlatProductID": id,
        "name": "迪迪龙圆形食物罩",
        "OuterID": format!("OUT-{id}"),
        "price": 15.9,
        "num": 300,
        "pictureurl": "http://img.example.com/1.jpg",
        "whsecode": "KU002",
        "skus": [
            {"SkuID": format!("{id}-a"), "skuOuterID": "88954", "skuprice": 15.9, "skuQuantity": 290,
             "skuname": "白色", "skuproperty": "颜色:白色", "skupictureurl": "http://img.example.com/a.jpg"},
            {"SkuID": format!("{id}-b"), "skuOuterID": "88955", "skuprice": 16, "skuQuantity": 10,
             "skuname": "红色", "skuproperty": "颜色:红色", "skupictureurl": ""}
        ],
        "status": "JH_02"
    })
}

pub fn full_refund(no: &str, order: &str) -> Value {
    json!({
        "refundno": no,
        "platorderno": order,
        "subplatorderno": format!("{order}-1"),
        "totalamount": 250.21,
        "payamount": 250.21,
        "buyernick": "张三",
        "sellernick": "李四",
        "createtime": "2017-01-16 00:00:00",
        "updatetime": "2017-01-16 08:30:00",
        "orderstatus": "JH_02",
        "orderstatusdesc": "等待卖家发货",
        "refundstatus": "JH_06",
        "refundstatusdesc": "退款成功",
        "goodsstatus": "JH_01",
        "goodsstatusdesc": "买家未收到货",
        "hasgoodsreturn": false,
        "reason": "退还邮费",
        "desc": "衣服不合身",
        "productnum": 3,
        "logisticname": "申通快递",
        "logisticno": "123456789",
        "RefundGoods": [
            {"PlatProductId": "102609934", "OuterID": "102609934", "Sku": "颜色分类:军绿色;尺码:XS",
             "ProductName": "天堂伞", "RefundAmount": 250.21, "Reason": "退还邮费", "ProductNum": 3, "PoNo": "32"}
        ]
    })
}

on_both_backends! {
    orders_come_back_field_for_field => orders_round_trip;
    an_orders_invoice_and_customs_come_and_go_with_it => invoice_and_customs;
    products_come_back_field_for_field => products_round_trip;
    refunds_come_back_and_mark_order_lines => refunds_round_trip;
    bad_payloads_name_the_field_and_write_nothing => bad_payloads;
    upserts_replace_and_keep_counts => upserts;
    listing_pages_cover_every_order_once => paging;
    access_needs_the_token_and_a_known_shop => access;
    health_and_readiness_answer => health;
}

async fn orders_round_trip(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let order = full_order("20492364655");
    let (status, body) = app.admin_post("orders", &json!([order])).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"created": 1, "updated": 0}));
    let (status, body) = app.admin_get("orders?PlatOrderNo=20492364655").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["total"], 1);
    assert_eq!(
        body["orders"][0], order,
        "stored order differs from what was posted"
    );
}

/// `order` with no invoice and no customs data: their fields as the storefront leaves
/// them when there are none.
fn without_invoice_and_customs(mut order: Value) -> Value {
    for field in [
        "invoicetitle",
        "taxpayerident",
        "invoicetype",
        "invoicecontent",
        "registeredaddress",
        "registeredphone",
        "depositbank",
        "bankaccount",
        "payID",
        "payName",
        "businessPlatCode",
        "businessPlatName",
    ] {
        order[field] = json!("");
    }
    for field in [
        "taxamount",
        "tariffamount",
        "addedvalueamount",
        "consumptiondutyamount",
        "IsHwgFlag",
    ] {
        order[field] = json!(0);
    }
    order
}

/// Most orders have no invoice and no customs data and are stored without those rows;
/// an order reads back the same either way, and a replacement adds or drops them.
async fn invoice_and_customs(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let rows = |no: &str| {
        ["order_invoices", "order_customs"].map(|table| {
            count_sql(
                &app,
                &format!(
                    "SELECT p.order_id FROM {table} p JOIN orders o ON o.id = p.order_id \
                     WHERE o.plat_order_no = '{no}'"
                ),
            )
        })
    };
    let app = &app;
    let read = |no: &str| {
        let path = format!("orders?PlatOrderNo={no}");
        async move { app.admin_get(&path).await.1["orders"][0].clone() }
    };
    let plain = without_invoice_and_customs(full_order("IC-PLAIN"));
    let mut type_only = without_invoice_and_customs(full_order("IC-TYPE"));
    type_only["invoicetype"] = json!("0");
    let full = full_order("IC-FULL");
    let (status, body) = app
        .admin_post("orders", &json!([plain, type_only, full]))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(read("IC-PLAIN").await, plain);
    assert_eq!(
        rows("IC-PLAIN"),
        [0, 0],
        "no rows for what an order has not"
    );
    assert_eq!(read("IC-TYPE").await, type_only);
    assert_eq!(rows("IC-TYPE"), [1, 0], "\"0\" is said, and kept as said");
    assert_eq!(read("IC-FULL").await, full);
    assert_eq!(rows("IC-FULL"), [1, 1]);

    // Replaced: the plain order gains both, the full one loses both.
    let gained = full_order("IC-PLAIN");
    let lost = without_invoice_and_customs(full_order("IC-FULL"));
    let (status, body) = app.admin_post("orders", &json!([gained, lost])).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"created": 0, "updated": 2}));
    assert_eq!(read("IC-PLAIN").await, gained);
    assert_eq!(rows("IC-PLAIN"), [1, 1]);
    assert_eq!(read("IC-FULL").await, lost);
    assert_eq!(rows("IC-FULL"), [0, 0]);
    // Through Polyapi as well.
    let client = crate::polyapi_client::PolyClient::demo(app);
    let served = crate::polyapi_client::ok(
        client
            .call(
                "GetOrder",
                json!({"PlatOrderNo": "IC-FULL", "PageIndex": 1}),
            )
            .await,
    );
    assert_eq!(served["orders"][0]["invoicetitle"], "");
    assert_eq!(served["orders"][0]["taxamount"], 0);
}

async fn products_round_trip(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let product = full_product("1525638");
    let (status, body) = app.admin_post("products", &json!([product])).await;
    assert_eq!(status, 200, "{body}");
    let (_, body) = app.admin_get("products").await;
    assert_eq!(body["total"], 1);
    // `num` of a product with SKUs is the sum of its SKUs (290 + 10).
    assert_eq!(body["products"][0], product);
}

async fn refunds_round_trip(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.admin_post("orders", &json!([full_order("O1")])).await;
    let refund = full_refund("RO1", "O1");
    let (status, body) = app.admin_post("refunds", &json!([refund])).await;
    assert_eq!(status, 200, "{body}");
    let (_, body) = app.admin_get("refunds").await;
    assert_eq!(body["total"], 1);
    assert_eq!(body["refunds"][0], refund);
    // The refund covers line O1-1: its refund status is now the refund's.
    let (_, body) = app.admin_get("orders?PlatOrderNo=O1").await;
    assert_eq!(body["orders"][0]["goodinfos"][0]["refundStatus"], "JH_06");
    assert_eq!(body["orders"][0]["goodinfos"][1]["refundStatus"], "JH_07");
}

async fn bad_payloads(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let good = full_order("GOOD-1");

    let mut zero_count = full_order("BAD-1");
    zero_count["goodinfos"][1]["goodscount"] = json!(0);
    let mut bad_money = full_order("BAD-2");
    bad_money["postfee"] = json!("1.234");
    let mut bad_status = full_order("BAD-3");
    bad_status["tradeStatus"] = json!("JH_42");
    let mut unknown_field = full_order("BAD-4");
    unknown_field["goodinfos"][0]["colour"] = json!("red");
    let mut bad_time = full_order("BAD-5");
    bad_time["tradetime"] = json!("yesterday");
    let mut long_address = full_order("BAD-6");
    long_address["address"] = json!("路".repeat(5000));
    let mut duplicate_line = full_order("BAD-7");
    duplicate_line["goodinfos"][1]["suborderno"] = json!("BAD-7-1");

    let cases = [
        (zero_count, 422, "[1].goodinfos[1].goodscount"),
        (bad_money, 400, "[1].postfee"),
        (bad_status, 422, "[1].tradeStatus"),
        (unknown_field, 400, "[1].goodinfos[0]"),
        (bad_time, 422, "[1].tradetime"),
        (long_address, 422, "[1].address"),
        (duplicate_line, 422, "[1].goodinfos[1].suborderno"),
    ];
    for (bad, expected_status, expected_field) in cases {
        let (status, body) = app.admin_post("orders", &json!([good, bad])).await;
        assert_eq!(status, expected_status, "{body}");
        let field = body["field"].as_str().unwrap_or_default();
        assert!(
            field.starts_with(expected_field),
            "field {field} for {body}"
        );
        assert!(!body["message"].as_str().unwrap_or_default().is_empty());
    }
    let (status, body) = app.admin_post_raw("orders", "[{\"PlatOrderNo\": ").await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = app.admin_post_raw("orders", "{\"a\":1} garbage").await;
    assert_eq!(status, 400, "{body}");
    // A body is parsed without tracking paths unless it fails; the one that fails still
    // names its document, field and line, as JSON lines too.
    let mut money = full_order("BAD-8");
    money["postfee"] = json!("1.234");
    let (status, body) = app
        .admin_post_raw("orders", format!("{good}\n\n{money}\n"))
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["field"], "[1].postfee", "{body}");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|message| message.contains("line 3")),
        "{body}"
    );

    // Nothing of any refused batch was written, not even the good order beside it.
    let (_, body) = app.admin_get("orders").await;
    assert_eq!(body["total"], 0, "{body}");

    let mut bad_sku = full_product("P1");
    bad_sku["skus"][1]["skuQuantity"] = json!(-1);
    let (status, body) = app
        .admin_post("products", &json!([full_product("P0"), bad_sku]))
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["field"], "[1].skus[1].skuQuantity");
    let (_, body) = app.admin_get("products").await;
    assert_eq!(body["total"], 0, "{body}");

    let mut no_time = full_refund("R1", "X");
    no_time["createtime"] = json!("");
    let (status, body) = app.admin_post("refunds", &json!([no_time])).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["field"], "[0].createtime");
}

async fn upserts(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (_, body) = app
        .admin_post("orders", &json!([full_order("U1"), full_order("U2")]))
        .await;
    assert_eq!(body, json!({"created": 2, "updated": 0}));
    let mut changed = full_order("U1");
    changed["tradeStatus"] = json!("JH_05");
    changed["tradeStatusdescription"] = json!("交易关闭");
    changed["goodinfos"].as_array_mut().expect("lines").pop();
    changed["verifycode"] = json!("111111");
    let (_, body) = app
        .admin_post("orders", &json!([changed, full_order("U3")]))
        .await;
    assert_eq!(body, json!({"created": 1, "updated": 1}));
    let (_, body) = app.admin_get("orders?PlatOrderNo=U1").await;
    assert_eq!(body["orders"][0], changed);
    let (_, body) = app.admin_get("orders").await;
    assert_eq!(body["total"], 3);

    let (_, body) = app
        .admin_post("orders", &json!([full_order("U9"), full_order("U9")]))
        .await;
    assert_eq!(body["field"], "[1].PlatOrderNo", "{body}");
}

async fn paging(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let orders: Vec<Value> = (0..7).map(|i| full_order(&format!("P{i}"))).collect();
    app.admin_post("orders", &Value::Array(orders)).await;
    let mut seen = Vec::new();
    for page in 1..=3 {
        let (status, body) = app
            .admin_get(&format!("orders?page={page}&page_size=3"))
            .await;
        assert_eq!(status, 200);
        assert_eq!(body["total"], 7);
        for order in body["orders"].as_array().expect("orders") {
            seen.push(order["PlatOrderNo"].as_str().expect("no").to_owned());
        }
    }
    seen.sort();
    assert_eq!(seen, (0..7).map(|i| format!("P{i}")).collect::<Vec<_>>());
    let (status, body) = app.admin_get("orders?page_size=0").await;
    assert_eq!(status, 400);
    assert_eq!(body["field"], "page_size");
    let (status, body) = app.admin_get("orders?status=JH_77").await;
    assert_eq!(status, 400);
    assert_eq!(body["field"], "status");
    let (_, body) = app.admin_get("orders?status=JH_02").await;
    assert_eq!(body["total"], 7);
    let (_, body) = app.admin_get("orders?status=JH_01").await;
    assert_eq!(body["total"], 0);
    assert_eq!(body["orders"], json!([]));
}

async fn access(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let url = format!("{}/admin/v1/shops/demo/orders", app.address);
    let response = app.client.get(&url).send().await.expect("request");
    assert_eq!(response.status().as_u16(), 401);
    let response = app
        .client
        .get(&url)
        .bearer_auth("wrong-token-wrong-token")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 401);
    let other = format!("{}/admin/v1/shops/nope/orders", app.address);
    let response = app
        .client
        .get(&other)
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 404);

    let db = crate::helpers::TestDb::new(backend).expect("db");
    let closed = TestApp::spawn_with(db, |config| config.admin.token = None).await;
    let url = format!("{}/admin/v1/shops/demo/orders", closed.address);
    let response = closed
        .client
        .get(&url)
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 403);
}

async fn health(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    for path in ["healthz", "readyz"] {
        let response = app
            .client
            .get(format!("{}/{path}", app.address))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status().as_u16(), 200, "{path}");
    }
}
