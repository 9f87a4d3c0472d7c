//! The overview: orders by status today and in the last 7 days, the ERP's polling in
//! the last hour, the outbox per target and state, the rows that need a person, and
//! every periodic job with its last run and next run.

use std::collections::BTreeMap;

use actix_web::{HttpRequest, HttpResponse};
use askama::Template;
use chrono::{NaiveDateTime, NaiveTime, TimeDelta};

use super::jobs::{job_views, JobView};
use super::{chrome, render, shop_code, shops, OutboxRowView};
use crate::console::auth::{state_of, Signed};
use crate::console::error::ConsoleError;
use crate::console::view::{age, Chrome};
use crate::polling::{self, CallCount};
use crate::reports::orders::placed_since;
use crate::reports::outbox::{self as outbox_report, RowFilter, StateCount};
use crate::shop::codes::TradeStatus;
use crate::time::now_utc;

/// Dead and held rows listed.
const STUCK_ROWS: i64 = 20;

struct OrderCountRow {
    shop: String,
    period: &'static str,
    counts: Vec<i64>,
    total: i64,
}

struct CallRow {
    shop: String,
    method: String,
    calls: i64,
    errors: i64,
}

struct OutboxCountRow {
    shop: String,
    target: String,
    pending: i64,
    held: i64,
    dead: i64,
    oldest_pending: String,
}

#[derive(Template)]
#[template(path = "console/overview.html")]
struct OverviewPage {
    chrome: Chrome,
    status_labels: Vec<&'static str>,
    order_rows: Vec<OrderCountRow>,
    calls: Vec<CallRow>,
    errors: Vec<(String, i64)>,
    last_calls: Vec<(String, String)>,
    outbox: Vec<OutboxCountRow>,
    stuck: Vec<OutboxRowView>,
    jobs: Vec<JobView>,
}

/// Orders per status code.
type StatusCounts = Vec<(String, i64)>;

struct Figures {
    /// Per shop: placed today, placed in the last 7 days.
    placed: Vec<(i64, StatusCounts, StatusCounts)>,
    calls: Vec<CallCount>,
    last_calls: std::collections::HashMap<i64, NaiveDateTime>,
    outbox: Vec<StateCount>,
    stuck: Vec<crate::outbox::OutboxRow>,
    jobs: Vec<crate::schedule::JobRow>,
}

/// `GET /console`
pub async fn show(request: HttpRequest, signed: Signed) -> Result<HttpResponse, ConsoleError> {
    let state = state_of(&request)?;
    let shops = shops(&state);
    let offset = state.console.offset;
    let now = now_utc();
    // Midnight of today in the console's zone, as UTC.
    let local_today = (now + offset).date();
    let today = NaiveDateTime::new(local_today, NaiveTime::MIN) - offset;
    let week = today - TimeDelta::days(6);
    let shop_ids: Vec<i64> = shops.iter().map(|shop| shop.id).collect();
    let log = state.polling.clone();
    let figures = state
        .db
        .run(move |conn| {
            // This process's latest calls first, so the page includes them.
            if let Err(error) = log.flush(conn) {
                tracing::warn!(%error, "could not store the Polyapi call counts");
            }
            let mut placed = Vec::new();
            for &shop_id in &shop_ids {
                placed.push((
                    shop_id,
                    placed_since(conn, shop_id, today)?,
                    placed_since(conn, shop_id, week)?,
                ));
            }
            let mut stuck = Vec::new();
            for state in ["dead", "held"] {
                let filter = RowFilter {
                    state: Some(state),
                    ..RowFilter::default()
                };
                stuck.extend(outbox_report::rows(conn, &filter, STUCK_ROWS)?);
            }
            Ok::<_, ConsoleError>(Figures {
                placed,
                calls: polling::calls_since(conn, now - TimeDelta::hours(1))?,
                last_calls: polling::last_calls(conn)?,
                outbox: outbox_report::state_counts(conn, &shop_ids)?,
                stuck,
                jobs: crate::schedule::list(conn)?,
            })
        })
        .await?;
    let chrome = chrome(&request, &state, &signed, "/console", "overview.title");
    let mut order_rows = Vec::new();
    for (shop_id, today, week) in &figures.placed {
        for (period, counts) in [("overview.today", today), ("overview.week", week)] {
            order_rows.push(OrderCountRow {
                shop: shop_code(&shops, *shop_id),
                period: chrome.t(period),
                counts: counts.iter().map(|(_, n)| *n).collect(),
                total: counts.iter().map(|(_, n)| n).sum(),
            });
        }
    }
    let mut by_method: BTreeMap<(String, String), (i64, i64)> = BTreeMap::new();
    let mut by_code: BTreeMap<String, i64> = BTreeMap::new();
    for call in &figures.calls {
        let key = (shop_code(&shops, call.shop_id), call.method.clone());
        let entry = by_method.entry(key).or_default();
        entry.0 += call.calls;
        if call.outcome != crate::polyapi::envelope::SUCCESS_CODE {
            entry.1 += call.calls;
            *by_code.entry(call.outcome.clone()).or_default() += call.calls;
        }
    }
    let last_calls = shops
        .iter()
        .map(|shop| {
            let at = figures.last_calls.get(&shop.id).map_or_else(
                || chrome.t("overview.never").to_owned(),
                |at| format!("{} ({})", chrome.time(*at), age((now - *at).num_seconds())),
            );
            (shop.code.clone(), at)
        })
        .collect();
    let mut outbox = Vec::new();
    for shop in &shops {
        for target in outbox_report::TARGETS {
            let of = |state: &str| {
                figures
                    .outbox
                    .iter()
                    .find(|c| c.shop_id == shop.id && c.target == target.code() && c.state == state)
            };
            let rows = |state: &str| of(state).map_or(0, |c| c.rows);
            outbox.push(OutboxCountRow {
                shop: shop.code.clone(),
                target: chrome.code_label("target", target.code()),
                pending: rows("pending"),
                held: rows("held"),
                dead: rows("dead"),
                oldest_pending: of("pending")
                    .and_then(|c| c.oldest)
                    .map_or_else(|| "—".to_owned(), |at| age((now - at).num_seconds())),
            });
        }
    }
    let page = OverviewPage {
        status_labels: TradeStatus::ALL
            .iter()
            .map(|status| chrome.t(&format!("status.{}", status.code())))
            .collect(),
        order_rows,
        calls: by_method
            .into_iter()
            .map(|((shop, method), (calls, errors))| CallRow {
                shop,
                method,
                calls,
                errors,
            })
            .collect(),
        errors: by_code.into_iter().collect(),
        last_calls,
        outbox,
        stuck: figures
            .stuck
            .into_iter()
            .map(|row| OutboxRowView::new(&chrome, &shops, row))
            .collect(),
        jobs: job_views(&chrome, &state.directory.current(), &figures.jobs, now),
        chrome,
    };
    render(&page)
}
