//! DownloadProduct, SyncStock and GetRefund over HTTP.

use serde_json::{json, Value};

use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;
use crate::polyapi_client::{fails, ok, PolyClient};

on_both_backends! {
    download_product_filters_and_pages => download;
    sync_stock_sets_and_adds_without_losing_updates => stock;
    get_refund_pages_a_window => refunds;
    sync_stock_takes_the_product_by_outer_id => stock_by_outer_id;
}

fn product(id: &str, name: &str, outer: &str, status: &str, skus: &[(&str, i64)]) -> Value {
    let skus: Vec<Value> = skus
        .iter()
        .map(|(sku, quantity)| {
            json!({"SkuID": sku, "skuOuterID": format!("O-{sku}"), "skuprice": 9.9, "skuQuantity": quantity,
                   "skuname": sku, "skuproperty": "", "skupictureurl": ""})
        })
        .collect();
    json!({"PlatProductID": id, "name": name, "OuterID": outer, "price": 9.9, "num": 7, "pictureurl": "",
           "whsecode": "", "skus": skus, "status": status})
}

async fn download(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let products = vec![
        product(
            "P1",
            "牙刷 软毛",
            "OUT-1",
            "JH_01",
            &[("P1-a", 3), ("P1-b", 4)],
        ),
        product("P2", "牙膏 100% 薄荷", "OUT-2", "JH_02", &[]),
        product("P3", "毛巾", "OUT-3", "JH_01", &[]),
    ];
    let (status, body) = app.admin_post("products", &Value::Array(products)).await;
    assert_eq!(status, 200, "{body}");
    let client = PolyClient::demo(&app);
    let ids = |answer: &Value| -> Vec<String> {
        answer["goodslist"]
            .as_array()
            .expect("list")
            .iter()
            .map(|p| p["PlatProductID"].as_str().expect("id").to_owned())
            .collect()
    };
    let all = ok(client
        .call(
            "DownloadProduct",
            json!({"Status": "JH_99", "PageIndex": 1, "PageSize": 2}),
        )
        .await);
    assert_eq!(all["totalcount"], 3);
    assert_eq!(ids(&all), vec!["P1", "P2"]);
    assert_eq!(
        all["goodslist"][0]["num"], 7,
        "a product's quantity is the sum of its SKUs"
    );
    assert_eq!(all["goodslist"][0]["skus"][1]["skuQuantity"], 4);
    assert!(all["goodslist"][0].get("status").is_none());
    let second = ok(client
        .call(
            "DownloadProduct",
            json!({"Status": "JH_99", "PageIndex": 2, "PageSize": 2}),
        )
        .await);
    assert_eq!(ids(&second), vec!["P3"]);

    let on_sale = ok(client
        .call(
            "DownloadProduct",
            json!({"Status": "JH_01", "PageIndex": 1}),
        )
        .await);
    assert_eq!(ids(&on_sale), vec!["P1", "P3"]);
    let off_sale = ok(client
        .call(
            "DownloadProduct",
            json!({"Status": "JH_02", "PageIndex": 1}),
        )
        .await);
    assert_eq!(ids(&off_sale), vec!["P2"]);
    let by_outer = ok(client
        .call(
            "DownloadProduct",
            json!({"ProductId": "OUT-3", "PageIndex": 1}),
        )
        .await);
    assert_eq!(ids(&by_outer), vec!["P3"]);
    let by_name = ok(client
        .call(
            "DownloadProduct",
            json!({"ProductName": "牙", "PageIndex": 1}),
        )
        .await);
    assert_eq!(ids(&by_name), vec!["P1", "P2"]);
    // LIKE metacharacters and SQL in the name are plain text.
    let percent = ok(client
        .call(
            "DownloadProduct",
            json!({"ProductName": "100%", "PageIndex": 1}),
        )
        .await);
    assert_eq!(ids(&percent), vec!["P2"]);
    let underscore = ok(client
        .call(
            "DownloadProduct",
            json!({"ProductName": "_", "PageIndex": 1}),
        )
        .await);
    assert_eq!(underscore["totalcount"], 0);
    let injection = ok(client
        .call(
            "DownloadProduct",
            json!({"ProductName": "' OR 1=1 --", "PageIndex": 1}),
        )
        .await);
    assert_eq!(injection["totalcount"], 0);
    assert_eq!(injection["goodslist"], json!([]));
    fails(
        &client
            .call(
                "DownloadProduct",
                json!({"Status": "JH_03", "PageIndex": 1}),
            )
            .await,
        "GSE.INVALID_PARAMETER",
        "Status",
    );
}

async fn stock(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let products = vec![
        product("S1", "有规格", "", "JH_01", &[("S1-a", 0), ("S1-b", 5)]),
        product("S2", "无规格", "", "JH_01", &[]),
    ];
    app.admin_post("products", &Value::Array(products)).await;
    let client = PolyClient::demo(&app);

    let set = ok(client
        .call(
            "SyncStock",
            json!({"PlatProductID": "S1", "SkuID": "S1-a", "Quantity": "180"}),
        )
        .await);
    assert_eq!(set["Quantity"], 180);
    let add = ok(client
        .call("SyncStock", json!({"PlatProductID": "S1", "OutSkuID": "O-S1-b", "Quantity": 3, "SyncStockType": "JH_02"}))
        .await);
    assert_eq!(add["Quantity"], 8);
    let plain = ok(client
        .call("SyncStock", json!({"PlatProductID": "S2", "Quantity": 12}))
        .await);
    assert_eq!(plain["Quantity"], 12);

    fails(
        &client
            .call("SyncStock", json!({"PlatProductID": "S1", "Quantity": 1}))
            .await,
        "GSE.LOGIC_ERROR",
        "SkuID",
    );
    fails(
        &client
            .call(
                "SyncStock",
                json!({"PlatProductID": "S1", "SkuID": "zz", "Quantity": 1}),
            )
            .await,
        "GSE.LOGIC_ERROR",
        "zz",
    );
    fails(
        &client
            .call("SyncStock", json!({"PlatProductID": "NOPE", "Quantity": 1}))
            .await,
        "GSE.LOGIC_ERROR",
        "NOPE",
    );
    fails(
        &client
            .call("SyncStock", json!({"PlatProductID": "S2", "Quantity": -1}))
            .await,
        "GSE.INVALID_PARAMETER",
        "Quantity",
    );
    fails(
        &client
            .call("SyncStock", json!({"PlatProductID": "S2", "Quantity": 1.5}))
            .await,
        "GSE.INVALID_PARAMETER",
        "Quantity",
    );
    fails(
        &client
            .call("SyncStock", json!({"PlatProductID": "S2"}))
            .await,
        "GSE.MISS_PARAMETER",
        "Quantity",
    );
    fails(
        &client
            .call(
                "SyncStock",
                json!({"PlatProductID": "S2", "Quantity": 1, "SyncStockType": "JH_09"}),
            )
            .await,
        "GSE.INVALID_PARAMETER",
        "SyncStockType",
    );

    // 40 concurrent adds of 1: none is lost.
    let calls = (0..40).map(|_| {
        let client = &client;
        async move {
            client
                .call("SyncStock", json!({"PlatProductID": "S1", "SkuID": "S1-a", "Quantity": 1, "SyncStockType": "JH_02"}))
                .await
        }
    });
    let answers = futures_util::future::join_all(calls).await;
    assert!(answers.iter().all(|a| a["code"] == "10000"), "{answers:?}");
    let listed = ok(client
        .call("DownloadProduct", json!({"PageIndex": 1}))
        .await);
    assert_eq!(listed["goodslist"][0]["skus"][0]["skuQuantity"], 220);
    assert_eq!(listed["goodslist"][0]["num"], 228);
}

async fn refunds(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let refund = |no: &str, updated: &str| {
        json!({"refundno": no, "platorderno": format!("O-{no}"), "refundstatus": "JH_01",
               "createtime": "2024-01-01 00:00:00", "updatetime": updated, "totalamount": "12.5",
               "RefundGoods": [{"PlatProductId": "1", "ProductName": "伞", "RefundAmount": 12.5, "ProductNum": 1}]})
    };
    let batch: Vec<Value> = (0..12)
        .map(|i| {
            refund(
                &format!("R{i:02}"),
                &format!("2024-01-{:02} 10:00:00", i + 1),
            )
        })
        .collect();
    // A refund belongs to an order of the shop.
    let orders: Vec<Value> = (0..12)
        .map(|i| crate::admin::full_order(&format!("O-R{i:02}")))
        .collect();
    app.admin_post("orders", &Value::Array(orders)).await;
    let (status, body) = app.admin_post("refunds", &Value::Array(batch)).await;
    assert_eq!(status, 200, "{body}");
    let client = PolyClient::demo(&app);
    let window = |index: i64| json!({"BeginTime": "2024-01-03 10:00:00", "EndTime": "2024-01-10 10:00:00", "PageIndex": index, "PageSize": 5});
    let first = ok(client.call("GetRefund", window(1)).await);
    assert_eq!(first["totalcount"], 8);
    let nos: Vec<&str> = first["refunds"]
        .as_array()
        .expect("refunds")
        .iter()
        .map(|r| r["refundno"].as_str().expect("no"))
        .collect();
    assert_eq!(nos, vec!["R02", "R03", "R04", "R05", "R06"]);
    assert_eq!(first["refunds"][0]["RefundGoods"][0]["RefundAmount"], 12.5);
    assert_eq!(
        first["refunds"][0]["refundstatusdesc"],
        "买家已经申请退款等待卖家同意"
    );
    let second = ok(client.call("GetRefund", window(2)).await);
    assert_eq!(second["refunds"].as_array().expect("refunds").len(), 3);
    fails(
        &client.call("GetRefund", json!({"PageIndex": 1})).await,
        "GSE.MISS_PARAMETER",
        "BeginTime",
    );
    fails(
        &client
            .call(
                "GetRefund",
                json!({"BeginTime": "2024-01-03 10:00:00", "PageIndex": 1}),
            )
            .await,
        "GSE.MISS_PARAMETER",
        "EndTime",
    );
}

async fn stock_by_outer_id(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let products = vec![
        product("Q1", "有规格", "WR-1", "JH_01", &[("Q1-a", 0)]),
        product("Q2", "无规格", "WR-2", "JH_01", &[]),
        product("Q3", "同码一", "WR-DUP", "JH_01", &[]),
        product("Q4", "同码二", "WR-DUP", "JH_01", &[]),
    ];
    app.admin_post("products", &Value::Array(products)).await;
    let client = PolyClient::demo(&app);
    let plain = ok(client
        .call("SyncStock", json!({"OuterID": "WR-2", "Quantity": 50}))
        .await);
    assert_eq!(plain["Quantity"], 50);
    let sku = ok(client
        .call(
            "SyncStock",
            json!({"OuterID": "WR-1", "OutSkuID": "O-Q1-a", "Quantity": 7}),
        )
        .await);
    assert_eq!(sku["Quantity"], 7);
    let listed = ok(client
        .call(
            "DownloadProduct",
            json!({"ProductId": "WR-2", "PageIndex": 1}),
        )
        .await);
    assert_eq!(listed["goodslist"][0]["num"], 50);
    fails(
        &client
            .call("SyncStock", json!({"OuterID": "WR-404", "Quantity": 1}))
            .await,
        "GSE.LOGIC_ERROR",
        "WR-404",
    );
    fails(
        &client
            .call("SyncStock", json!({"OuterID": "WR-DUP", "Quantity": 1}))
            .await,
        "GSE.LOGIC_ERROR",
        "PlatProductID",
    );
    fails(
        &client.call("SyncStock", json!({"Quantity": 1})).await,
        "GSE.MISS_PARAMETER",
        "OuterID",
    );
}
