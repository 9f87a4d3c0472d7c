//! The outbox: rows filtered by shop, target and state; operators retry dead rows,
//! hold rows with a reason and release held ones, many at once. Each action and its
//! audit entry are one transaction.

use actix_web::{HttpRequest, HttpResponse};
use askama::Template;

use super::{chosen_shop, chrome, render, shops, OutboxRowView};
use crate::console::auth::{state_of, Posted, Signed};
use crate::console::error::ConsoleError;
use crate::console::form::{clip, Form};
use crate::console::view::Chrome;
use crate::console::{done, is_console_path};
use crate::db::write_transaction;
use crate::operators::audit::{self, Action, Entry};
use crate::operators::Role;
use crate::outbox::{self, RetryWhich};
use crate::reports::outbox::{self as report, RowFilter, STATES, TARGETS};

/// Rows listed.
const LISTED: i64 = 200;
/// Rows acted on at once.
const MAX_ROWS: usize = 200;
/// Longest hold reason.
const MAX_REASON: usize = 200;

#[derive(Template)]
#[template(path = "console/outbox.html")]
struct OutboxPage {
    chrome: Chrome,
    shop_options: Vec<(String, String, bool)>,
    target_options: Vec<(String, String, bool)>,
    state_options: Vec<(String, String, bool)>,
    back: String,
    rows: Vec<OutboxRowView>,
}

/// One of `allowed` given in `field`, when given.
fn one_of(
    query: &Form,
    field: &str,
    allowed: &[&'static str],
) -> Result<Option<&'static str>, ConsoleError> {
    match query.one(field)? {
        None => Ok(None),
        Some(value) => allowed
            .iter()
            .copied()
            .find(|code| *code == value)
            .map(Some)
            .ok_or_else(|| {
                ConsoleError::invalid(
                    field,
                    format!("`{}` is not one of {}", clip(value), allowed.join(", ")),
                )
            }),
    }
}

/// `GET /console/outbox`
pub async fn list(request: HttpRequest, signed: Signed) -> Result<HttpResponse, ConsoleError> {
    let state = state_of(&request)?;
    let query = Form::parse(request.query_string().as_bytes())?;
    let shop = chosen_shop(&state, &query, "shop")?;
    let targets: Vec<&'static str> = TARGETS.iter().map(|t| t.code()).collect();
    let filter = RowFilter {
        shop_id: shop.as_ref().map(|shop| shop.id),
        target: one_of(&query, "target", &targets)?,
        state: one_of(&query, "state", &STATES)?,
    };
    let wanted = filter.clone();
    let found = state
        .db
        .run(move |conn| report::rows(conn, &wanted, LISTED))
        .await?;
    let chrome = chrome(&request, &state, &signed, "/console/outbox", "outbox.title");
    let all_shops = shops(&state);
    let options = |prefix: &str, codes: &[&str], chosen: Option<&str>| {
        codes
            .iter()
            .map(|code| {
                (
                    (*code).to_owned(),
                    chrome.code_label(prefix, code),
                    Some(*code) == chosen,
                )
            })
            .collect()
    };
    let page = OutboxPage {
        shop_options: all_shops
            .iter()
            .map(|s| {
                let chosen = shop.as_ref().is_some_and(|c| c.id == s.id);
                (s.code.clone(), s.code.clone(), chosen)
            })
            .collect(),
        target_options: options("target", &targets, filter.target),
        state_options: options("state", &STATES, filter.state),
        back: {
            let mut back = form_urlencoded::Serializer::new(String::new());
            if let Some(shop) = &shop {
                back.append_pair("shop", &shop.code);
            }
            for (name, value) in [("target", filter.target), ("state", filter.state)] {
                if let Some(value) = value {
                    back.append_pair(name, value);
                }
            }
            format!("/console/outbox?{}", back.finish())
        },
        rows: found
            .into_iter()
            .map(|row| OutboxRowView::new(&chrome, &all_shops, row))
            .collect(),
        chrome,
    };
    render(&page)
}

/// What an outbox action does to the rows it is given.
#[derive(Clone, Copy)]
enum Act {
    Retry,
    Hold,
    Release,
}

async fn act(request: HttpRequest, posted: Posted, act: Act) -> Result<HttpResponse, ConsoleError> {
    let state = state_of(&request)?;
    posted.signed.require(Role::Operator)?;
    let form = &posted.form;
    let ids = form.ids("id", MAX_ROWS)?;
    let reason = match act {
        Act::Hold => Some(
            form.text("reason", MAX_REASON)?
                .ok_or_else(|| ConsoleError::invalid("reason", "say why the rows are held"))?
                .to_owned(),
        ),
        _ => None,
    };
    let back = form
        .one("back")?
        .filter(|back| is_console_path(back))
        .unwrap_or("/console/outbox")
        .to_owned();
    let actor = posted.signed.operator.name.clone();
    let count = state
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| {
                let found = report::shops_and_states(conn, &ids)?;
                if let Act::Release = act {
                    if let Some((id, _, state)) = found.iter().find(|(_, _, s)| s != "held") {
                        return Err(ConsoleError::Refused(format!(
                            "outbox row {id} is {state}; only held rows are released"
                        )));
                    }
                }
                let (count, action, detail) = match act {
                    Act::Retry => (
                        outbox::retry(conn, &RetryWhich::Ids(ids.clone()))?,
                        Action::OutboxRetry,
                        String::new(),
                    ),
                    Act::Release => (
                        outbox::retry(conn, &RetryWhich::Ids(ids.clone()))?,
                        Action::OutboxRelease,
                        String::new(),
                    ),
                    Act::Hold => {
                        let reason = reason.clone().unwrap_or_default();
                        let held = format!("held by {actor}: {reason}");
                        (
                            outbox::hold_rows(conn, &ids, &held)?,
                            Action::OutboxHold,
                            reason,
                        )
                    }
                };
                let subject = ids
                    .iter()
                    .map(|id| format!("#{id}"))
                    .collect::<Vec<_>>()
                    .join(" ");
                let mut entry = Entry::new(&actor, action, &subject).detail(&detail);
                let mut shop_ids: Vec<i64> = found.iter().map(|(_, shop, _)| *shop).collect();
                shop_ids.dedup();
                if let [shop_id] = shop_ids.as_slice() {
                    entry = entry.shop(*shop_id);
                }
                audit::record(conn, &entry)?;
                Ok(count)
            })
        })
        .await?;
    let notice = match act {
        Act::Retry => "retried",
        Act::Hold => "held",
        Act::Release => "released",
    };
    Ok(done(&back, notice, count))
}

/// `POST /console/outbox/retry`
pub async fn retry(request: HttpRequest, posted: Posted) -> Result<HttpResponse, ConsoleError> {
    act(request, posted, Act::Retry).await
}

/// `POST /console/outbox/hold`
pub async fn hold(request: HttpRequest, posted: Posted) -> Result<HttpResponse, ConsoleError> {
    act(request, posted, Act::Hold).await
}

/// `POST /console/outbox/release`
pub async fn release(request: HttpRequest, posted: Posted) -> Result<HttpResponse, ConsoleError> {
    act(request, posted, Act::Release).await
}
