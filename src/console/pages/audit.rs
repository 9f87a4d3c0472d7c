//! The audit log: every operator action, newest first.

use actix_web::{HttpRequest, HttpResponse};
use askama::Template;

use super::{chrome, render, shop_code, shops};
use crate::console::auth::{state_of, Signed};
use crate::console::error::ConsoleError;
use crate::console::form::Form;
use crate::console::view::Chrome;
use crate::operators::audit;

/// Entries on one page.
const PAGE_SIZE: i64 = 100;

struct AuditRow {
    at: String,
    actor: String,
    action: String,
    shop: String,
    subject: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "console/audit.html")]
struct AuditPage {
    chrome: Chrome,
    rows: Vec<AuditRow>,
    older_href: Option<String>,
}

/// `GET /console/audit`
pub async fn list(request: HttpRequest, signed: Signed) -> Result<HttpResponse, ConsoleError> {
    let state = state_of(&request)?;
    let query = Form::parse(request.query_string().as_bytes())?;
    let before = query.number("before", 1..=i64::MAX)?;
    let entries = state
        .db
        .run(move |conn| audit::recent(conn, before, PAGE_SIZE).map_err(ConsoleError::from))
        .await?;
    let chrome = chrome(&request, &state, &signed, "/console/audit", "audit.title");
    let all_shops = shops(&state);
    let older_href = (entries.len() as i64 == PAGE_SIZE)
        .then(|| {
            entries
                .last()
                .map(|last| format!("/console/audit?before={}", last.id))
        })
        .flatten();
    let page = AuditPage {
        rows: entries
            .into_iter()
            .map(|entry| AuditRow {
                at: chrome.time(entry.at),
                actor: entry.actor,
                action: chrome.code_label("audit", &entry.action),
                shop: entry
                    .shop_id
                    .map_or_else(String::new, |id| shop_code(&all_shops, id)),
                subject: entry.subject,
                detail: entry.detail,
            })
            .collect(),
        older_href,
        chrome,
    };
    render(&page)
}
