//! Who is asking: the session cookie, the operator it belongs to, the CSRF token every
//! form carries, and the language cookie.
//!
//! Cookies are `HttpOnly` and `SameSite=Strict` on the `/console` path, `Secure` when
//! `[console] secure_cookies` is set. A form's token is derived from the session's
//! secret token (SHA-256 with a purpose of its own), so it needs no storage, differs per
//! session and cannot be computed from what the database holds. Before sign-in the same
//! is done with a short-lived cookie of its own.

use std::future::Future;
use std::pin::Pin;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::Payload;
use actix_web::http::{header, Method};
use actix_web::{web, FromRequest, HttpRequest};
use subtle::ConstantTimeEq;

use super::error::ConsoleError;
use super::form::{Form, MAX_FORM};
use super::i18n::Lang;
use crate::http::body::{read_capped, BodyError};
use crate::http::AppState;
use crate::operators::sessions::{self, digest};
use crate::operators::{Operator, Role};

/// The session cookie.
pub const SESSION_COOKIE: &str = "polymall_session";
/// The cookie that ties the sign-in form to the browser that loaded it.
pub const SIGN_IN_COOKIE: &str = "polymall_sign_in";
/// The language cookie.
pub const LANG_COOKIE: &str = "polymall_lang";

/// The form token for a session (or sign-in) token.
pub fn form_token(secret: &str) -> String {
    digest("polymall console form", secret)
}

/// Checks a form's `csrf` field against the expected token, in constant time.
pub fn check_form_token(expected: &str, form: &Form) -> Result<(), ConsoleError> {
    let given = form.one("csrf").map_err(|_| ConsoleError::Csrf)?;
    let matches: bool = given
        .unwrap_or_default()
        .as_bytes()
        .ct_eq(expected.as_bytes())
        .into();
    if matches {
        Ok(())
    } else {
        Err(ConsoleError::Csrf)
    }
}

/// A console cookie with the console's attributes.
pub fn cookie(state: &AppState, name: &'static str, value: String) -> Cookie<'static> {
    Cookie::build(name, value)
        .path("/console")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(state.console.secure_cookies)
        .finish()
}

/// The same cookie, expired (to remove it).
pub fn removal(state: &AppState, name: &'static str) -> Cookie<'static> {
    let mut cookie = cookie(state, name, String::new());
    cookie.make_removal();
    cookie
}

/// The language the browser chose, Chinese unless its cookie says otherwise.
pub fn lang_of(request: &HttpRequest) -> Lang {
    request
        .cookie(LANG_COOKIE)
        .and_then(|cookie| Lang::from_code(cookie.value()))
        .unwrap_or_default()
}

/// The application state (always registered by `startup`).
pub fn state_of(request: &HttpRequest) -> Result<web::Data<AppState>, ConsoleError> {
    request
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or(ConsoleError::Unavailable)
}

/// A signed-in operator: the session cookie names a live session.
#[derive(Debug, Clone)]
pub struct Signed {
    /// The operator.
    pub operator: Operator,
    /// Their language.
    pub lang: Lang,
    token: String,
}

impl Signed {
    /// The token this session's forms carry.
    pub fn form_token(&self) -> String {
        form_token(&self.token)
    }

    /// The session's secret token (to end it).
    pub fn token(&self) -> &str {
        &self.token
    }

    /// Refuses unless the operator's role is at least `least`.
    pub fn require(&self, least: Role) -> Result<(), ConsoleError> {
        if self.operator.role >= least {
            Ok(())
        } else {
            Err(ConsoleError::Forbidden)
        }
    }

    /// The signed-in operator of `request`, if any (for pages that also serve visitors).
    pub async fn from_request_now(request: &HttpRequest) -> Result<Self, ConsoleError> {
        Self::load(request.clone()).await
    }

    async fn load(request: HttpRequest) -> Result<Self, ConsoleError> {
        let page = matches!(*request.method(), Method::GET | Method::HEAD);
        let no_session = ConsoleError::NoSession { page };
        let Some(token) = request
            .cookie(SESSION_COOKIE)
            .map(|cookie| cookie.value().to_owned())
            .filter(|token| sessions::well_formed(token))
        else {
            return Err(no_session);
        };
        let state = state_of(&request)?;
        let lifetime = state.console.lifetime;
        let lookup = token.clone();
        let operator = state
            .db
            .run(move |conn| sessions::operator_of(conn, &lookup, lifetime))
            .await?
            .ok_or(no_session)?;
        Ok(Self {
            operator,
            lang: lang_of(&request),
            token,
        })
    }
}

impl FromRequest for Signed {
    type Error = ConsoleError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ConsoleError>>>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        Box::pin(Self::load(request.clone()))
    }
}

/// A form posted by a signed-in operator with this session's form token; every
/// state-changing console request takes one, so none can skip the checks. The session
/// is checked first (401), then the token (403); the body is capped.
#[derive(Debug, Clone)]
pub struct Posted {
    /// Who posted it.
    pub signed: Signed,
    /// The form.
    pub form: Form,
}

impl FromRequest for Posted {
    type Error = ConsoleError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ConsoleError>>>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let request = request.clone();
        let body = web::Payload::from_request(&request, payload).into_inner();
        Box::pin(async move {
            let signed = Signed::load(request.clone()).await?;
            let body = body.map_err(|_| ConsoleError::invalid("body", "could not be read"))?;
            let form = read_form(&request, body).await?;
            check_form_token(&signed.form_token(), &form)?;
            Ok(Self { signed, form })
        })
    }
}

/// Reads a urlencoded form body, capped.
pub async fn read_form(request: &HttpRequest, body: web::Payload) -> Result<Form, ConsoleError> {
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    if !content_type
        .to_ascii_lowercase()
        .starts_with("application/x-www-form-urlencoded")
    {
        return Err(ConsoleError::invalid(
            "Content-Type",
            "must be application/x-www-form-urlencoded",
        ));
    }
    let bytes = read_capped(request, body, MAX_FORM)
        .await
        .map_err(|error| match error {
            BodyError::TooLarge { .. } => ConsoleError::TooLarge,
            BodyError::Unreadable(why) => ConsoleError::invalid("body", why),
        })?;
    Form::parse(&bytes)
}
