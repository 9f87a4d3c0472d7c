//! One module per console page: its handlers and the view of its template.

pub mod audit;
pub mod jobs;
pub mod operators;
pub mod orders;
pub mod outbox;
pub mod overview;
pub mod products;
mod shop_fields;
pub mod shops;
pub mod sign_in;

use actix_web::{HttpRequest, HttpResponse};
use askama::Template;

use super::auth::Signed;
use super::error::ConsoleError;
use super::form::{clip, Form};
use super::view::Chrome;
use crate::http::AppState;
use crate::outbox::OutboxRow;
use crate::shop::shops::Shop;

/// Renders a page.
pub fn render(page: &impl Template) -> Result<HttpResponse, ConsoleError> {
    let html = page.render().map_err(|error| {
        tracing::error!(%error, "console page did not render");
        ConsoleError::Unavailable
    })?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(html))
}

/// The frame of a page shown to a signed-in operator.
pub fn chrome(
    request: &HttpRequest,
    state: &AppState,
    signed: &Signed,
    section: &str,
    title: &str,
) -> Chrome {
    Chrome::new(
        request,
        state.console.offset,
        Some(signed),
        section,
        title,
        signed.form_token(),
    )
}

/// The shop and the key (`field`, at most `max` characters) a path
/// `…/{shop}/{key}` names.
pub fn shop_and_key(
    state: &AppState,
    (code, key): (String, String),
    field: &str,
    max: usize,
) -> Result<(Shop, String), ConsoleError> {
    let shop = state
        .directory
        .current()
        .find(&code)
        .map(|stored| stored.shop.clone())
        .ok_or_else(|| ConsoleError::NotFound(format!("shop `{}`", clip(&code))))?;
    if key.chars().count() > max || key.contains('\0') {
        return Err(ConsoleError::invalid(
            field,
            format!("is not a {field} (at most {max} characters, no NUL)"),
        ));
    }
    Ok((shop, key))
}

/// The shops with settings (enabled or not: their data stays visible), by code.
pub fn shops(state: &AppState) -> Vec<Shop> {
    state
        .directory
        .current()
        .all()
        .iter()
        .map(|stored| stored.shop.clone())
        .collect()
}

/// The code of the shop with `id`, or a dash.
pub fn shop_code(shops: &[Shop], id: i64) -> String {
    shops
        .iter()
        .find(|shop| shop.id == id)
        .map_or_else(|| "—".to_owned(), |shop| shop.code.clone())
}

/// The shop a form or query names in `field`; `None` when not given.
pub fn chosen_shop(
    state: &AppState,
    form: &Form,
    field: &str,
) -> Result<Option<Shop>, ConsoleError> {
    match form.one(field)? {
        None => Ok(None),
        Some(code) => state
            .directory
            .current()
            .find(code)
            .map(|stored| Some(stored.shop.clone()))
            .ok_or_else(|| {
                ConsoleError::invalid(
                    field,
                    format!("`{}` is not a shop of this server", clip(code)),
                )
            }),
    }
}

/// An outbox row as pages list it.
pub struct OutboxRowView {
    /// Row id.
    pub id: i64,
    /// Shop code.
    pub shop: String,
    /// Target code.
    pub target_code: String,
    /// Target label.
    pub target: String,
    /// Kind label.
    pub kind: String,
    /// Subject.
    pub subject: String,
    /// State code (for styling).
    pub state_code: String,
    /// State label.
    pub state: String,
    /// Attempts so far.
    pub attempts: i32,
    /// Next attempt.
    pub next: String,
    /// Hold reason or last error.
    pub error: String,
    /// Last change.
    pub modified: String,
}

impl OutboxRowView {
    /// The view of `row`.
    pub fn new(chrome: &Chrome, shops: &[Shop], row: OutboxRow) -> Self {
        Self {
            id: row.id,
            shop: shop_code(shops, row.shop_id),
            target: chrome.code_label("target", &row.target),
            target_code: row.target,
            kind: chrome.code_label("kind", &row.kind),
            subject: row.subject,
            state: chrome.code_label("state", row.state.code()),
            state_code: row.state.code().to_owned(),
            attempts: row.attempts,
            next: chrome.time(row.next_attempt_at),
            error: row.last_error.unwrap_or_default(),
            modified: chrome.time(row.modified_at),
        }
    }
}
