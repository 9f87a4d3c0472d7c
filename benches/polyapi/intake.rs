//! Orders per second stored through both intake paths, each into a fresh database with
//! the server running: `polymall import` of a JSON-lines file (batches of 1,000), and
//! the admin API (`POST …/orders`, 1,000 orders a request, two clients).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use super::orders::{number, order, paid, write_burst};
use super::server::{import, post_orders, Db, Server};
use super::Options;

/// Orders per admin request.
const BATCH: u64 = 1_000;

pub async fn run(options: &Options) {
    let n = options.orders;
    let db = Db::new(options.postgres.as_deref(), "import");
    let server = Server::start(&db).await;
    let file = db.dir.path().join("orders.jsonl");
    write_burst(&file, n, chrono::Utc::now().naive_utc());
    let imported = import(&server.config, &file);
    println!(
        "backend={} import: {n} orders in {:.1} s = {:.0} orders/s, peak RSS {} MiB ({})",
        db.backend(),
        imported.seconds,
        n as f64 / imported.seconds,
        imported.peak_rss_kib / 1024,
        imported.said
    );
    drop(server);
    drop(db);

    let db = Db::new(options.postgres.as_deref(), "admin");
    let server = Server::start(&db).await;
    let client = reqwest::Client::new();
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut clients = Vec::new();
    for _ in 0..2 {
        let (client, base, next) = (client.clone(), server.base.clone(), next.clone());
        clients.push(tokio::spawn(async move {
            loop {
                let first = next.fetch_add(BATCH, Ordering::Relaxed);
                if first >= n {
                    return;
                }
                let placed = chrono::Utc::now().naive_utc();
                let body: Vec<String> = (first..(first + BATCH).min(n))
                    .map(|i| order(&number(i), placed, paid(i)))
                    .collect();
                let response = post_orders(&client, &base, &body).await.expect("post");
                let status = response.status();
                assert!(
                    status.is_success(),
                    "{status}: {}",
                    response.text().await.unwrap_or_default()
                );
            }
        }));
    }
    for client in clients {
        client.await.expect("client");
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "backend={} admin API: {n} orders in {:.1} s = {:.0} orders/s (1,000 a request, two clients); server peak RSS {} MiB",
        db.backend(),
        seconds,
        n as f64 / seconds,
        server.peak_rss_kib().unwrap_or(0) / 1024
    );
}
