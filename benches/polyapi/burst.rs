//! The flash sale: N orders placed within one hour and imported at once with
//! `polymall import` into a running server, then GetOrder pages of 30 and 100 over
//! windows of an hour, a day and three days (modified time, ending just after the
//! sale), every status and JH_02, pages 1, 7, the middle and the last — first alone,
//! then while the storefront posts orders and the ERP ships them.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{NaiveDateTime, TimeDelta, Timelike};
use polymall::shop::orders::{OrderFilter, OrderTime, TimeWindow};
use polymall::shop::Page;

use super::load::{header, row, scenario, signed_form, Maker};
use super::orders::{kth_paid, local, number, order, write_burst};
use super::plans::{self, Planned};
use super::server::{import, post_orders, Db, Server};
use super::Options;

/// A GetOrder window, in UTC.
#[derive(Clone, Copy)]
struct Window {
    name: &'static str,
    from: NaiveDateTime,
    until: NaiveDateTime,
}

impl Window {
    fn biz(&self, status: &str, page: u64, size: u64) -> String {
        format!(
            r#"{{"OrderStatus":"{status}","TimeType":"JH_01","StartTime":"{}","EndTime":"{}","PageIndex":{page},"PageSize":{size}}}"#,
            local(self.from),
            local(self.until)
        )
    }

    fn filter(&self, status: Option<polymall::shop::codes::TradeStatus>) -> OrderFilter {
        OrderFilter {
            status,
            window: Some(TimeWindow::through_second(
                OrderTime::Modified,
                self.from,
                self.until,
            )),
            plat_order_no: None,
        }
    }
}

/// Which page of a listing a scenario asks for.
#[derive(Clone, Copy)]
enum Which {
    First,
    Seventh,
    /// The middle page, asked again and again (as page 1 and page 7 are).
    Middle,
    /// The middle page, then the pages after it in turn (the ERP pages forward): most
    /// requests read orders no request before read.
    Onward,
    /// The middle page of a window no request asked before: each call's window ends a
    /// second later, as an ERP polling up to now asks (nothing remembered helps).
    MiddleOfNewWindow,
    Last,
}

impl Which {
    fn name(self) -> &'static str {
        match self {
            Self::First => "page 1",
            Self::Seventh => "page 7",
            Self::Middle => "middle page",
            Self::Onward => "middle page onward",
            Self::MiddleOfNewWindow => "middle page, new window",
            Self::Last => "last page",
        }
    }
}

pub async fn run(options: &Options, tell_perf: &dyn Fn(&str)) {
    let mut db = Db::new(options.postgres.as_deref(), "burst");
    db.rendered_orders_mib = options.rendered_orders_mib;
    let server = Server::start(&db).await;
    println!("polymall serve pid {}", server.pid());
    let n = options.orders;
    let file = db.dir.path().join("orders.jsonl");
    let placed_until = chrono::Utc::now().naive_utc();
    write_burst(&file, n, placed_until);
    let imported = import(&server.config, &file);
    // Windows name whole seconds, as on the wire.
    let sale_end = chrono::Utc::now()
        .naive_utc()
        .with_nanosecond(0)
        .expect("second");
    println!(
        "backend={} orders={n} placed within one hour; imported in {:.1} s ({:.0} orders/s, \
         import peak RSS {} MiB): {}",
        db.backend(),
        imported.seconds,
        n as f64 / imported.seconds,
        imported.peak_rss_kib / 1024,
        imported.said
    );
    let windows = [
        Window {
            name: "1 h",
            from: sale_end - TimeDelta::minutes(55),
            until: sale_end + TimeDelta::minutes(5),
        },
        Window {
            name: "1 day",
            from: sale_end - TimeDelta::hours(23),
            until: sale_end + TimeDelta::hours(1),
        },
        Window {
            name: "3 days",
            from: sale_end - TimeDelta::hours(71),
            until: sale_end + TimeDelta::hours(1),
        },
    ];
    let client = reqwest::Client::new();
    let base = server.base.clone();
    let total = |window: Window, status: &'static str| {
        let client = client.clone();
        let base = base.clone();
        async move {
            let form = signed_form("GetOrder", &window.biz(status, 1, 1));
            let answer: serde_json::Value = client
                .post(format!("{base}/polyapi"))
                .form(&form)
                .send()
                .await
                .expect("request")
                .json()
                .await
                .expect("json");
            answer["numtotalorder"].as_u64().expect("total")
        }
    };
    let hour_total = total(windows[0], "JH_99").await;
    print_plans(&db.url, windows[0], hour_total);

    let mut scenarios: Vec<(String, Window, &'static str, Which, u64)> = Vec::new();
    for size in [30, 100] {
        for window in windows {
            for status in ["JH_99", "JH_02"] {
                for which in [
                    Which::First,
                    Which::Seventh,
                    Which::Middle,
                    Which::Onward,
                    Which::MiddleOfNewWindow,
                    Which::Last,
                ] {
                    let name = format!(
                        "{size}/page, {}, {}, {}",
                        window.name,
                        if status == "JH_99" { "all" } else { status },
                        which.name()
                    );
                    scenarios.push((name, window, status, which, size));
                }
            }
        }
    }
    let wanted = |name: &str| {
        options
            .only
            .as_deref()
            .is_none_or(|only| name.contains(only))
    };
    let sends = Arc::new(AtomicU64::new(0));
    let posts = Arc::new(AtomicU64::new(0));
    tell_perf("enable");
    for writing in [false, true] {
        if writing && options.no_writes {
            break;
        }
        println!(
            "{}",
            if writing {
                "while the storefront posts orders (batches of 20) and the ERP ships them (Send), one client each:"
            } else {
                "GetOrder alone:"
            }
        );
        header();
        let healthz: Maker = Arc::new(|_| None);
        let health = scenario(
            &client,
            &base,
            options.requests * 4,
            options.concurrency,
            healthz,
        )
        .await;
        row("/healthz", &health, &health);
        for (name, window, status, which, size) in &scenarios {
            if !wanted(name) {
                continue;
            }
            let (window, status, which, size) = (*window, *status, *which, *size);
            let listed = total(window, status).await;
            let pages = listed.div_ceil(size).max(1);
            let middle = (pages / 2).max(1);
            let concurrency = options.concurrency as u64;
            let make: Maker = Arc::new(move |i| {
                let page = match which {
                    Which::First => 1,
                    Which::Seventh => 7,
                    // Forward from the middle, back to the middle at the end.
                    Which::Middle => middle,
                    Which::Onward => middle + i as u64 / concurrency % (pages - middle).max(1),
                    Which::MiddleOfNewWindow => middle,
                    Which::Last => pages,
                };
                let window = match which {
                    Which::MiddleOfNewWindow => Window {
                        until: window.until + TimeDelta::seconds(i as i64),
                        ..window
                    },
                    _ => window,
                };
                Some(signed_form("GetOrder", &window.biz(status, page, size)))
            });
            let writers = writing.then(|| Writers::start(&client, &base, n, &sends, &posts));
            let figures =
                scenario(&client, &base, options.requests, options.concurrency, make).await;
            let written = match writers {
                Some(writers) => writers.stop().await.describe(),
                None => String::new(),
            };
            row(name, &figures, &health);
            if !written.is_empty() {
                println!("{:<46} {written}", "");
            }
        }
        let one: Maker = Arc::new(move |i| {
            let no = number(i as u64 * 7919 % n.max(1));
            Some(signed_form(
                "GetOrder",
                &format!(r#"{{"PlatOrderNo":"{no}","PageIndex":1}}"#),
            ))
        });
        if wanted("single order") {
            let figures =
                scenario(&client, &base, options.requests, options.concurrency, one).await;
            row("single order by PlatOrderNo", &figures, &health);
        }
    }
    tell_perf("disable");
    println!(
        "peak RSS of the server: {} MiB",
        server.peak_rss_kib().unwrap_or(0) / 1024
    );
}

/// Plans of the pages of the hour window: page 1, page 7 of JH_02, the middle page
/// walked to, the page after it (from the anchor the middle page left), the last page.
fn print_plans(url: &str, window: Window, total: u64) {
    use polymall::shop::codes::TradeStatus;
    let size = 30;
    let middle = i64::try_from(total.div_ceil(size) / 2).unwrap_or(1).max(1);
    let last = i64::try_from(total.div_ceil(size)).unwrap_or(1).max(1);
    let page = |index: i64| Page {
        index,
        size: size as i64,
    };
    let all = window.filter(None);
    let paid = window.filter(Some(TradeStatus::AwaitingShipment));
    let requests = [
        ("1 h window, all, page 1", all.clone(), page(1), None),
        ("1 h window, JH_02, page 7", paid, page(7), None),
        (
            "1 h window, all, middle page, nothing remembered",
            all.clone(),
            page(middle),
            None,
        ),
        (
            "1 h window, all, the page after the middle page",
            all.clone(),
            page(middle + 1),
            Some(page(middle)),
        ),
        ("1 h window, all, last page", all, page(last), None),
    ];
    let requests: Vec<Planned> = requests
        .into_iter()
        .map(|(label, filter, page, after)| Planned {
            label: label.to_owned(),
            filter,
            page,
            after,
        })
        .collect();
    plans::print(url, &requests);
}

/// The storefront and the ERP writing while GetOrder is measured: one client posting
/// batches of 20 new orders, one shipping paid orders of the sale in turn.
struct Writers {
    stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<Written>>,
    started: Instant,
}

#[derive(Default)]
struct Written {
    calls: u64,
    refused: u64,
    orders: u64,
    shipped: u64,
    slowest: Duration,
    seconds: f64,
}

impl Written {
    fn describe(&self) -> String {
        format!(
            "writes: {:.0} orders/s posted, {:.0} shipped/s, slowest write {:.0} ms, {} refused",
            self.orders as f64 / self.seconds,
            self.shipped as f64 / self.seconds,
            self.slowest.as_secs_f64() * 1000.0,
            self.refused
        )
    }
}

impl Writers {
    fn start(
        client: &reqwest::Client,
        base: &str,
        seeded: u64,
        sends: &Arc<AtomicU64>,
        posts: &Arc<AtomicU64>,
    ) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let poster = {
            let (client, base, stop, posts) =
                (client.clone(), base.to_owned(), stop.clone(), posts.clone());
            tokio::spawn(async move {
                let mut written = Written::default();
                while !stop.load(Ordering::Relaxed) {
                    let first = posts.fetch_add(20, Ordering::Relaxed);
                    let now = chrono::Utc::now().naive_utc();
                    let body: Vec<String> = (first..first + 20)
                        .map(|i| order(&format!("W{i:08}"), now, i % 5 != 0))
                        .collect();
                    let began = Instant::now();
                    let response = post_orders(&client, &base, &body).await;
                    written.slowest = written.slowest.max(began.elapsed());
                    written.calls += 1;
                    match response {
                        Ok(response) if response.status().is_success() => written.orders += 20,
                        Ok(response) => {
                            written.refused += 1;
                            eprintln!(
                                "post refused: {}",
                                response.text().await.unwrap_or_default()
                            );
                        }
                        Err(error) => {
                            written.refused += 1;
                            eprintln!("post failed: {error}");
                        }
                    }
                }
                written
            })
        };
        let sender = {
            let (client, base, stop, sends) =
                (client.clone(), base.to_owned(), stop.clone(), sends.clone());
            tokio::spawn(async move {
                let mut written = Written::default();
                while !stop.load(Ordering::Relaxed) {
                    let k = sends.fetch_add(1, Ordering::Relaxed);
                    let i = kth_paid(k);
                    if i >= seeded {
                        break;
                    }
                    let no = number(i);
                    let form = signed_form(
                        "Send",
                        &format!(
                            r#"{{"PlatOrderNo":"{no}","LogisticType":"JH_001","LogisticNo":"EMS{no}"}}"#
                        ),
                    );
                    let began = Instant::now();
                    let answer = match client
                        .post(format!("{base}/polyapi"))
                        .form(&form)
                        .send()
                        .await
                    {
                        Ok(response) => response.text().await.unwrap_or_default(),
                        Err(error) => error.to_string(),
                    };
                    written.slowest = written.slowest.max(began.elapsed());
                    written.calls += 1;
                    if answer.contains("\"10000\"") {
                        written.shipped += 1;
                    } else {
                        written.refused += 1;
                        eprintln!("send refused: {answer}");
                    }
                }
                written
            })
        };
        Self {
            stop,
            tasks: vec![poster, sender],
            started: Instant::now(),
        }
    }

    async fn stop(self) -> Written {
        self.stop.store(true, Ordering::Relaxed);
        let mut all = Written {
            seconds: self.started.elapsed().as_secs_f64(),
            ..Written::default()
        };
        for task in self.tasks {
            let written = task.await.expect("writer");
            all.calls += written.calls;
            all.refused += written.refused;
            all.orders += written.orders;
            all.shipped += written.shipped;
            all.slowest = all.slowest.max(written.slowest);
        }
        all
    }
}
