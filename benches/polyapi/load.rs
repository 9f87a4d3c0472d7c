//! Signed calls and the closed-loop load generator: concurrent clients, each sending its
//! next request when the last one answered.

use std::sync::Arc;
use std::time::{Duration, Instant};

use polymall::polyapi::sign::polysign;

/// A signed Polyapi form for the bench shop.
pub fn signed_form(method: &str, biz: &str) -> Vec<(String, String)> {
    let mut params = vec![
        ("appkey".to_owned(), "k".to_owned()),
        ("token".to_owned(), "T".to_owned()),
        ("method".to_owned(), format!("Differ.JH.Business.{method}")),
        ("bizcontent".to_owned(), biz.to_owned()),
    ];
    let sign = polysign("secret", &params);
    params.push(("sign".to_owned(), sign));
    params
}

/// Makes the form of request `i`; `None` means `GET /healthz`.
pub type Maker = Arc<dyn Fn(usize) -> Option<Vec<(String, String)>> + Send + Sync>;

/// What one scenario measured.
pub struct Figures {
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
    pub per_second: f64,
    /// Calls answered with an error envelope.
    pub failed: usize,
}

/// Sends `requests` requests from `concurrency` clients; request `i` is `make(i)`.
pub async fn drive(
    client: &reqwest::Client,
    base: &str,
    requests: usize,
    concurrency: usize,
    make: Maker,
) -> Figures {
    let started = Instant::now();
    let mut workers = Vec::new();
    for worker in 0..concurrency {
        let client = client.clone();
        let base = base.to_owned();
        let make = make.clone();
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut failed = 0;
            let mut i = worker;
            while i < requests {
                let began = Instant::now();
                let response = match make(i) {
                    None => client.get(format!("{base}/healthz")).send().await,
                    Some(form) => {
                        client
                            .post(format!("{base}/polyapi"))
                            .form(&form)
                            .send()
                            .await
                    }
                }
                .expect("request");
                let body = response.text().await.expect("body");
                latencies.push(began.elapsed());
                if body.contains("\"40000\"") {
                    failed += 1;
                    if failed == 1 {
                        eprintln!("call failed: {}", &body[..body.len().min(300)]);
                    }
                }
                i += concurrency;
            }
            (latencies, failed)
        }));
    }
    let mut all = Vec::new();
    let mut failed = 0;
    for worker in workers {
        let (latencies, failures) = worker.await.expect("worker");
        all.extend(latencies);
        failed += failures;
    }
    let elapsed = started.elapsed();
    all.sort();
    let at = |q: f64| all[((all.len() as f64 * q) as usize).min(all.len() - 1)];
    Figures {
        p50: at(0.50),
        p99: at(0.99),
        max: all.last().copied().unwrap_or_default(),
        per_second: all.len() as f64 / elapsed.as_secs_f64(),
        failed,
    }
}

/// Runs a scenario: a short warm-up, then the measured run.
pub async fn scenario(
    client: &reqwest::Client,
    base: &str,
    requests: usize,
    concurrency: usize,
    make: Maker,
) -> Figures {
    drive(client, base, concurrency * 2, concurrency, make.clone()).await;
    drive(client, base, requests, concurrency, make).await
}

/// The header of [`row`]'s table.
pub fn header() {
    println!(
        "{:<46} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>9}",
        "scenario", "p50 ms", "p99 ms", "max ms", "req/s", "p50 ×hz", "p99 ×hz", "req/s %hz"
    );
}

/// One scenario's figures, absolute and against `/healthz` of the same run.
pub fn row(name: &str, figures: &Figures, health: &Figures) {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{:<46} {:>8.2} {:>8.2} {:>8.1} {:>8.0} {:>8.1} {:>8.1} {:>9.2}{}",
        name,
        ms(figures.p50),
        ms(figures.p99),
        ms(figures.max),
        figures.per_second,
        figures.p50.as_secs_f64() / health.p50.as_secs_f64(),
        figures.p99.as_secs_f64() / health.p99.as_secs_f64(),
        100.0 * figures.per_second / health.per_second,
        if figures.failed > 0 {
            format!("  {} FAILED", figures.failed)
        } else {
            String::new()
        }
    );
}
