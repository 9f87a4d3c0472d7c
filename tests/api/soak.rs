//! Bounded soak: the real binary under a mix of every Polyapi method and the storefront's
//! order posts from many clients for a fixed time (`POLYMALL_SOAK_SECS`, default 20 s;
//! minutes for a real soak). No call may fail for a reason other than a business rule,
//! no stock addition may be lost, no line may ship more than was ordered or less than
//! the acknowledged shipments, and the server's resident memory must stay flat.

use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use polymall::shop::{orders, products};
use serde_json::{json, Value};

use crate::admin::full_order;
use crate::helpers::{
    demo_shop, free_port, start_server, wait_ready, Backend, TestDb, ADMIN_TOKEN,
};
use crate::on_both_backends;
use crate::polyapi_client::signed_form;

on_both_backends! {
    soak_mixed_methods_without_errors_lost_updates_or_growth => soak;
}

const CLIENTS: usize = 8;
const PRODUCTS: usize = 10;

/// Resident memory of a process in kB.
fn resident_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("VmRSS:"))
                .and_then(|line| line.split_whitespace().nth(1))
                .and_then(|kb| kb.parse().ok())
        })
        .unwrap_or(0)
}

/// What the clients saw acknowledged.
#[derive(Default)]
struct Acknowledged {
    orders: Vec<String>,
    /// (order, sub-order number) → units acknowledged as shipped.
    shipped: HashMap<(String, String), i64>,
    /// product → units acknowledged as added.
    stock_added: HashMap<String, i64>,
    calls: usize,
}

async fn soak(backend: Backend) {
    let Some(db) = TestDb::new(backend) else {
        return;
    };
    let seconds: u64 = std::env::var("POLYMALL_SOAK_SECS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(20);
    let dir = tempfile::tempdir().expect("dir");
    let port = free_port();
    let config_path = dir.path().join("polymall.toml");
    let mut file = std::fs::File::create(&config_path).expect("config");
    write!(
        file,
        "[server]\nlisten = \"127.0.0.1:{port}\"\nworkers = 2\n[database]\nurl = \"{}\"\npool_size = 8\n\
         [admin]\ntoken = \"{ADMIN_TOKEN}\"\n\
         [[shops]]\ncode = \"demo\"\nname = \"Demo\"\n[shops.polyapi]\nappkey = \"k\"\nappsecret = \"secret\"\ntoken = \"T\"\n",
        db.url
    )
    .expect("write");
    drop(file);
    let mut child = start_server(&config_path);
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    wait_ready(&client, &base).await;
    let catalogue: Vec<Value> = (0..PRODUCTS)
        .map(|i| {
            json!({"PlatProductID": format!("P{i}"), "name": "库存", "OuterID": format!("P{i}"), "price": 1,
                   "num": 0, "pictureurl": "", "whsecode": "", "skus": [], "status": "JH_01"})
        })
        .collect();
    let response = client
        .post(format!("{base}/admin/v1/shops/demo/products"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&catalogue)
        .send()
        .await
        .expect("products");
    assert!(response.status().is_success());

    let seen = Arc::new(Mutex::new(Acknowledged::default()));
    let failures = Arc::new(Mutex::new(Vec::<String>::new()));
    let next_order = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut workers = Vec::new();
    for worker in 0..CLIENTS {
        let (client, base) = (client.clone(), base.clone());
        let (seen, failures, next_order) = (seen.clone(), failures.clone(), next_order.clone());
        workers.push(tokio::spawn(async move {
            let mut step = worker;
            while Instant::now() < deadline {
                step += CLIENTS;
                let known: Vec<String> = {
                    let seen = seen.lock().expect("lock");
                    let n = seen.orders.len();
                    seen.orders[n.saturating_sub(50)..].to_vec()
                };
                let pick = known.get(step % known.len().max(1)).cloned();
                let (method, biz) = match (step / CLIENTS) % 10 {
                    0 | 5 => {
                        let no = format!("SOAK-{}", next_order.fetch_add(1, Ordering::SeqCst));
                        let response = client
                            .post(format!("{base}/admin/v1/shops/demo/orders"))
                            .bearer_auth(ADMIN_TOKEN)
                            .json(&json!([full_order(&no)]))
                            .send()
                            .await;
                        match response {
                            Ok(r) if r.status().is_success() => {
                                let mut seen = seen.lock().expect("lock");
                                seen.orders.push(no);
                                seen.calls += 1;
                            }
                            Ok(r) => failures.lock().expect("lock").push(format!("order post: {}", r.status())),
                            Err(e) => failures.lock().expect("lock").push(format!("order post: {e}")),
                        }
                        continue;
                    }
                    1 | 6 => {
                        let product = format!("P{}", step % PRODUCTS);
                        ("SyncStock", json!({"PlatProductID": product, "Quantity": 1, "SyncStockType": "JH_02"}))
                    }
                    2 | 7 => {
                        let Some(no) = pick.clone() else { continue };
                        // One unit of one line: racing clients compete for the last unit.
                        let line = if step % 2 == 0 { "-1" } else { "-2" };
                        ("Send", json!({"PlatOrderNo": no, "LogisticType": "JH_001",
                            "LogisticNo": format!("T{worker}-{step}"), "IsSplit": 1,
                            "SubPlatOrderNo": format!("{no}{line}:1")}))
                    }
                    3 => ("GetOrder", json!({"OrderStatus": "JH_99", "StartTime": "2000-01-01 00:00:00",
                        "EndTime": "2100-01-01 00:00:00", "PageIndex": 1 + step % 3, "PageSize": 20})),
                    4 => ("DownloadProduct", json!({"PageIndex": 1, "PageSize": 20})),
                    8 => match &pick {
                        Some(no) if step % 2 == 0 => ("UpdateSellerMemo", json!({"PlatOrderNo": no, "SellerMemo": format!("memo {step}")})),
                        Some(no) => ("CheckRefundStatus", json!({"OrderID": no})),
                        None => continue,
                    },
                    _ => match &pick {
                        Some(no) if step % 2 == 0 => ("Consume", json!({"PlatOrderNo": no, "VerifyCode": "884422"})),
                        _ => ("GetRefund", json!({"BeginTime": "2000-01-01 00:00:00", "EndTime": "2000-01-02 00:00:00", "PageIndex": 1})),
                    },
                };
                let answer = client
                    .post(format!("{base}/polyapi"))
                    .form(&signed_form(method, &biz))
                    .send()
                    .await;
                let body: Value = match answer {
                    Ok(r) => match r.json().await {
                        Ok(body) => body,
                        Err(e) => {
                            failures.lock().expect("lock").push(format!("{method}: {e}"));
                            continue;
                        }
                    },
                    Err(e) => {
                        failures.lock().expect("lock").push(format!("{method}: {e}"));
                        continue;
                    }
                };
                let mut seen = seen.lock().expect("lock");
                seen.calls += 1;
                if body["code"] == "10000" {
                    match method {
                        "SyncStock" => *seen.stock_added.entry(biz["PlatProductID"].as_str().expect("id").to_owned()).or_default() += 1,
                        "Send" => {
                            let no = biz["PlatOrderNo"].as_str().expect("no").to_owned();
                            let sub = biz["SubPlatOrderNo"].as_str().expect("sub").trim_end_matches(":1").to_owned();
                            *seen.shipped.entry((no, sub)).or_default() += 1;
                        }
                        _ => {}
                    }
                    continue;
                }
                // Business refusals are answers, not errors: the last unit went to another
                // client, the order is fully shipped, the code was used already.
                let message = body["submessage"].as_str().unwrap_or_default();
                let expected = body["subcode"] == "GSE.LOGIC_ERROR"
                    && matches!(method, "Send" | "Consume")
                    && ["exceed", " left", "fully shipped", "already"]
                        .iter()
                        .any(|rule| message.contains(rule));
                if !expected {
                    drop(seen);
                    failures.lock().expect("lock").push(format!("{method} {biz}: {body}"));
                }
            }
        }));
    }

    // Memory: sampled every half second; the last quarter must not outgrow the second.
    let pid = child.id();
    let mut samples = Vec::new();
    while Instant::now() < deadline {
        samples.push(resident_kb(pid));
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    for worker in workers {
        worker.await.expect("worker");
    }
    child.kill().expect("stop");
    child.wait().expect("wait");

    let failures = failures.lock().expect("lock").clone();
    assert!(
        failures.is_empty(),
        "{} failed calls, first: {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    let quarter = samples.len() / 4;
    let warm = samples[quarter..2 * quarter]
        .iter()
        .max()
        .copied()
        .unwrap_or(0);
    let last = samples[3 * quarter..].iter().max().copied().unwrap_or(0);
    let seen = Arc::try_unwrap(seen)
        .ok()
        .expect("workers done")
        .into_inner()
        .expect("lock");
    println!(
        "soak {seconds} s on {backend:?}: {} calls, {} orders, resident memory {warm} kB after warm-up, {last} kB at the end",
        seen.calls,
        seen.orders.len()
    );
    assert!(
        seen.calls > CLIENTS * 20,
        "the load ran: {} calls",
        seen.calls
    );
    assert!(
        last <= warm + warm / 4 + 8_192,
        "resident memory grew from {warm} kB to {last} kB"
    );

    let url = db.url.clone();
    tokio::task::spawn_blocking(move || {
        let (mut conn, shop) = demo_shop(&url);
        for i in 0..PRODUCTS {
            let product = format!("P{i}");
            let stock = products::find(&mut conn, shop.id, &product)
                .expect("query")
                .expect("product")
                .quantity();
            let added = seen.stock_added.get(&product).copied().unwrap_or(0);
            assert_eq!(
                stock, added,
                "stock of {product}: every acknowledged addition, no more"
            );
        }
        for no in &seen.orders {
            let order = orders::find(&mut conn, shop.id, no)
                .expect("query")
                .unwrap_or_else(|| panic!("acknowledged order {no} lost"));
            for line in &order.lines {
                let acknowledged = seen
                    .shipped
                    .get(&(no.clone(), line.fields.sub_order_no.clone()))
                    .copied()
                    .unwrap_or(0);
                assert_eq!(
                    line.shipped_count, acknowledged,
                    "{no} line {}: shipped = acknowledged",
                    line.fields.sub_order_no
                );
                assert!(
                    line.shipped_count <= line.fields.goods_count,
                    "{no}: over-shipped"
                );
            }
        }
    })
    .await
    .expect("checks");
}
