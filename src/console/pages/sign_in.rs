//! Signing in and out. A sign-in is checked in this order: the form's token (tied to
//! the browser by a cookie), the attempt limits per client address and per name, then
//! the password (argon2id, off the async executor; an unknown name costs the same
//! time). Every refusal reads the same, so it does not tell which names exist.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::render;
use crate::console::auth::{
    check_form_token, cookie, form_token, read_form, removal, state_of, Posted, Signed,
    SESSION_COOKIE, SIGN_IN_COOKIE,
};
use crate::console::error::ConsoleError;
use crate::console::view::Chrome;
use crate::http::AppState;
use crate::metrics;
use crate::operators::{self, check_name, password, sessions, Operator, MAX_NAME};

#[derive(Template)]
#[template(path = "console/sign_in.html")]
struct SignInPage {
    chrome: Chrome,
    failed: bool,
    name: String,
}

/// `GET /console/sign-in`
pub async fn form(request: HttpRequest) -> Result<HttpResponse, ConsoleError> {
    let state = state_of(&request)?;
    if Signed::from_request_now(&request).await.is_ok() {
        return Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, "/console"))
            .finish());
    }
    let secret = match request.cookie(SIGN_IN_COOKIE) {
        Some(cookie) if sessions::well_formed(cookie.value()) => cookie.value().to_owned(),
        _ => sessions::new_token()?,
    };
    let mut response = page(&request, &state, &secret, None)?;
    response
        .add_cookie(&cookie(&state, SIGN_IN_COOKIE, secret))
        .map_err(|_| ConsoleError::Unavailable)?;
    Ok(response)
}

/// The sign-in page; after a refused attempt (`refused` holds the name typed), with
/// the refusal and status 401.
fn page(
    request: &HttpRequest,
    state: &AppState,
    secret: &str,
    refused: Option<&str>,
) -> Result<HttpResponse, ConsoleError> {
    let page = SignInPage {
        chrome: Chrome::new(
            request,
            state.console.offset,
            None,
            "",
            "sign_in.title",
            form_token(secret),
        ),
        failed: refused.is_some(),
        name: refused
            .filter(|name| check_name(name).is_ok())
            .unwrap_or_default()
            .to_owned(),
    };
    let mut response = render(&page)?;
    if refused.is_some() {
        *response.status_mut() = actix_web::http::StatusCode::UNAUTHORIZED;
    }
    Ok(response)
}

/// `POST /console/sign-in`
pub async fn submit(
    request: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, ConsoleError> {
    let state = state_of(&request)?;
    let form = read_form(&request, body).await?;
    let secret = request
        .cookie(SIGN_IN_COOKIE)
        .map(|cookie| cookie.value().to_owned())
        .filter(|secret| sessions::well_formed(secret))
        .ok_or(ConsoleError::Csrf)?;
    check_form_token(&form_token(&secret), &form)?;
    let name = form.text("name", MAX_NAME)?.unwrap_or_default().to_owned();
    let password = form.exact("password")?.to_owned();
    if password.chars().count() > operators::MAX_PASSWORD {
        return Err(ConsoleError::invalid("password", "is too long"));
    }
    let address = request
        .peer_addr()
        .map(|address| address.ip().to_string())
        .unwrap_or_default();
    // Both limits take an attempt, so neither many names from one address nor one name
    // from many addresses gets more guesses.
    let address_allowed = state.console.sign_ins_per_address.allow(&address);
    let account_allowed = state
        .console
        .sign_ins_per_account
        .allow(&name.to_ascii_lowercase());
    if !(address_allowed && account_allowed) {
        metrics::sign_in("rate_limited");
        tracing::warn!(%address, operator = %logged(&name), "console sign-in refused: too many attempts");
        return Err(ConsoleError::TooManyAttempts);
    }
    let lookup = name.clone();
    let found = state
        .db
        .run(move |conn| {
            if check_name(&lookup).is_err() {
                return Ok(None);
            }
            operators::credentials(conn, &lookup)
        })
        .await?;
    let operator: Option<Operator> = web::block(move || match found {
        Some((operator, hash)) if !operator.disabled => {
            password::verify(&password, &hash).then_some(operator)
        }
        _ => {
            password::verify_nobody(&password);
            None
        }
    })
    .await
    .map_err(|_| ConsoleError::Unavailable)?;
    let Some(operator) = operator else {
        metrics::sign_in("refused");
        tracing::warn!(%address, operator = %logged(&name), "console sign-in refused: wrong name or password");
        return page(&request, &state, &secret, Some(&name));
    };
    let lifetime = state.console.lifetime;
    let session_operator = operator.clone();
    let token = state
        .db
        .run(move |conn| sessions::start(conn, &session_operator, lifetime))
        .await?;
    metrics::sign_in("signed_in");
    tracing::info!(%address, operator = %operator.name, role = %operator.role, "console sign-in");
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/console"))
        .cookie(cookie(&state, SESSION_COOKIE, token))
        .cookie(removal(&state, SIGN_IN_COOKIE))
        .finish())
}

/// `POST /console/sign-out`
pub async fn sign_out(request: HttpRequest, posted: Posted) -> Result<HttpResponse, ConsoleError> {
    let state = state_of(&request)?;
    let signed = posted.signed;
    let token = signed.token().to_owned();
    let operator = signed.operator.clone();
    state
        .db
        .run(move |conn| sessions::end(conn, &token, &operator))
        .await?;
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/console/sign-in"))
        .cookie(removal(&state, SESSION_COOKIE))
        .finish())
}

/// A typed name as logged and shown again: only when it is a valid name.
fn logged(name: &str) -> &str {
    if check_name(name).is_ok() {
        name
    } else {
        "(not a valid name)"
    }
}
