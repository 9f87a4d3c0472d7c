//! kill -9 during mixed writes: orders posted, stock added, shipments sent, the outbox
//! filling. After a restart every acknowledged write is there, every order has its
//! outbox row, and the stock is the sum of the acknowledged additions (plus at most
//! the ones in flight at the kill).

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use polymall::outbox::{self, OutboxFilter};
use polymall::shop::{orders, products};
use serde_json::json;

use crate::admin::full_order;
use crate::helpers::{demo_shop, Backend, TestDb, ADMIN_TOKEN};
use crate::on_both_backends;
use crate::polyapi_client::signed_form;

on_both_backends! {
    kill_9_during_mixed_writes_keeps_every_acknowledged_write => crash;
}

async fn crash(backend: Backend) {
    let Some(db) = TestDb::new(backend) else {
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let config_path = dir.path().join("polymall.toml");
    let mut file = std::fs::File::create(&config_path).expect("config");
    // Jushuitan points at a closed port: pushes fail and rows stay in the outbox.
    write!(
        file,
        "[server]\nlisten = \"127.0.0.1:{port}\"\n[database]\nurl = \"{}\"\n[admin]\ntoken = \"{ADMIN_TOKEN}\"\n\
         [[shops]]\ncode = \"demo\"\nname = \"Demo\"\n[shops.polyapi]\nappkey = \"k\"\nappsecret = \"secret\"\ntoken = \"T\"\n\
         [shops.jushuitan]\napi = \"legacy\"\nbase_url = \"http://127.0.0.1:9\"\nshop_id = 1\npartner_id = \"p\"\n\
         partner_key = \"k\"\ntoken = \"t\"\npush_interval_secs = 1\ntimeout_secs = 1\n",
        db.url
    )
    .expect("write");
    drop(file);
    let start = || {
        Command::new(env!("CARGO_BIN_EXE_polymall"))
            .args(["--config", config_path.to_str().expect("path"), "serve"])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start")
    };
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let ready = |client: reqwest::Client, base: String| async move {
        for _ in 0..200 {
            if client
                .get(format!("{base}/readyz"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("not ready");
    };
    let mut child = start();
    ready(client.clone(), base.clone()).await;
    let product = json!([{"PlatProductID": "S", "name": "库存", "OuterID": "S", "price": 1, "num": 0, "pictureurl": "",
                          "whsecode": "", "skus": [], "status": "JH_01"}]);
    let response = client
        .post(format!("{base}/admin/v1/shops/demo/products"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&product)
        .send()
        .await
        .expect("product");
    assert!(response.status().is_success());

    let acked_orders = Arc::new(Mutex::new(Vec::<String>::new()));
    let acked_adds = Arc::new(AtomicI64::new(0));
    let sent_adds = Arc::new(AtomicI64::new(0));
    let acked_sends = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for worker in 0..3 {
        let (client, base, orders, adds, sent, sends, stop) = (
            client.clone(),
            base.clone(),
            acked_orders.clone(),
            acked_adds.clone(),
            sent_adds.clone(),
            acked_sends.clone(),
            stop.clone(),
        );
        workers.push(tokio::spawn(async move {
            for n in 0.. {
                if stop.load(Ordering::Relaxed) > 0 {
                    break;
                }
                match worker {
                    0 => {
                        let no = format!("C{n}");
                        let ok = client
                            .post(format!("{base}/admin/v1/shops/demo/orders"))
                            .bearer_auth(ADMIN_TOKEN)
                            .json(&json!([full_order(&no)]))
                            .send()
                            .await
                            .is_ok_and(|r| r.status().is_success());
                        if ok {
                            orders.lock().expect("lock").push(no);
                        }
                    }
                    1 => {
                        sent.fetch_add(1, Ordering::SeqCst);
                        let form = signed_form("SyncStock", &json!({"PlatProductID": "S", "Quantity": 1, "SyncStockType": "JH_02"}));
                        let answer = client.post(format!("{base}/polyapi")).form(&form).send().await;
                        if let Ok(response) = answer {
                            if response.text().await.is_ok_and(|body| body.contains("\"10000\"")) {
                                adds.fetch_add(1, Ordering::SeqCst);
                            }
                        }
                    }
                    _ => {
                        let shipped: Vec<String> = orders.lock().expect("lock").iter().skip(n).take(1).cloned().collect();
                        let Some(no) = shipped.first() else {
                            tokio::time::sleep(Duration::from_millis(5)).await;
                            continue;
                        };
                        let form = signed_form("Send", &json!({"PlatOrderNo": no, "LogisticType": "JH_001", "LogisticNo": format!("T-{no}")}));
                        let answer = client.post(format!("{base}/polyapi")).form(&form).send().await;
                        if let Ok(response) = answer {
                            if response.text().await.is_ok_and(|body| body.contains("\"10000\"")) {
                                sends.lock().expect("lock").push(no.clone());
                            }
                        }
                    }
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    child.kill().expect("SIGKILL");
    child.wait().expect("wait");
    stop.store(1, Ordering::Relaxed);
    for worker in workers {
        worker.await.expect("worker");
    }
    let mut child = start();
    ready(client.clone(), base.clone()).await;
    child.kill().expect("kill");
    child.wait().expect("wait");

    let orders_acked = acked_orders.lock().expect("lock").clone();
    let sends_acked = acked_sends.lock().expect("lock").clone();
    let (adds, sent) = (
        acked_adds.load(Ordering::SeqCst),
        sent_adds.load(Ordering::SeqCst),
    );
    assert!(
        !orders_acked.is_empty() && adds > 0,
        "the load ran: {} orders, {adds} adds",
        orders_acked.len()
    );
    let url = db.url.clone();
    tokio::task::spawn_blocking(move || {
        let (mut conn, shop) = demo_shop(&url);
        for no in &orders_acked {
            assert!(
                orders::find(&mut conn, shop.id, no)
                    .expect("query")
                    .is_some(),
                "acknowledged order {no} lost"
            );
        }
        for no in &sends_acked {
            let order = orders::find(&mut conn, shop.id, no)
                .expect("query")
                .expect("order");
            assert_eq!(
                order.header.trade_status, "JH_03",
                "acknowledged shipment of {no} lost"
            );
        }
        let rows = outbox::list(
            &mut conn,
            &OutboxFilter {
                shop_id: Some(shop.id),
                state: None,
                limit: 100_000,
            },
        )
        .expect("outbox");
        for no in &orders_acked {
            assert!(
                rows.iter().any(|row| &row.subject == no),
                "outbox row of {no} lost"
            );
        }
        let stock = products::find(&mut conn, shop.id, "S")
            .expect("query")
            .expect("product")
            .quantity();
        // Acknowledged additions are all there; an addition in flight at the kill may or may not be.
        assert!(
            stock >= adds && stock <= sent,
            "stock {stock}, acknowledged {adds}, sent {sent}"
        );
    })
    .await
    .expect("checks");
}
