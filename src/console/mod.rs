//! The operators' web console at `/console`: server-rendered pages from templates
//! compiled into the binary (askama), a small stylesheet and script embedded too,
//! Chinese by default with an English switch.
//!
//! Viewers look; operators also act on the outbox and stock; admins also manage
//! operators and shops. Every page needs a session, every form its token, and every
//! action is written to the audit log in the transaction that does it.

mod assets;
pub mod auth;
pub mod error;
pub mod form;
pub mod i18n;
mod pages;
pub mod view;

use actix_web::http::header;
use actix_web::middleware::DefaultHeaders;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{FixedOffset, TimeDelta};

use crate::config::ConsoleConfig;
use crate::http::rate_limit::RateLimiter;
use crate::operators::sessions::Lifetime;
use auth::{cookie, LANG_COOKIE};
use i18n::Lang;

/// Sign-in attempts a minute from one client address.
pub const SIGN_INS_PER_ADDRESS: u32 = 20;
/// Sign-in attempts a minute for one operator name.
pub const SIGN_INS_PER_ACCOUNT: u32 = 5;

/// The console's settings and its sign-in limits.
#[derive(Debug)]
pub struct ConsoleSettings {
    /// How long sessions last.
    pub lifetime: Lifetime,
    /// Cookies only over HTTPS.
    pub secure_cookies: bool,
    /// The zone times are shown in.
    pub offset: FixedOffset,
    /// Sign-in attempts per client address.
    pub sign_ins_per_address: RateLimiter,
    /// Sign-in attempts per operator name.
    pub sign_ins_per_account: RateLimiter,
    /// The server listens beyond loopback: shop secrets that are sample placeholders
    /// are refused, as `serve` refuses them in the file.
    pub refuse_placeholders: bool,
}

impl ConsoleSettings {
    /// The settings of `[console]`, for a server that listens beyond loopback (`exposed`)
    /// or not.
    pub fn new(config: &ConsoleConfig, exposed: bool) -> Self {
        Self {
            lifetime: Lifetime {
                idle: TimeDelta::minutes(i64::from(config.session_idle_minutes)),
                max: TimeDelta::hours(i64::from(config.session_max_hours)),
            },
            secure_cookies: config.secure_cookies,
            offset: config.utc_offset.fixed(),
            sign_ins_per_address: RateLimiter::per_minute(SIGN_INS_PER_ADDRESS),
            sign_ins_per_account: RateLimiter::per_minute(SIGN_INS_PER_ACCOUNT),
            refuse_placeholders: exposed,
        }
    }
}

/// The `/console` scope.
pub fn scope() -> impl actix_web::dev::HttpServiceFactory {
    // Pages load only their own stylesheet and script, are never framed, and are not
    // cached (they show live data and carry form tokens).
    let headers = DefaultHeaders::new()
        .add((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ))
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::REFERRER_POLICY, "same-origin"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add((header::CACHE_CONTROL, "no-store"));
    web::scope("/console")
        .wrap(headers)
        .route("", web::get().to(pages::overview::show))
        .route("/", web::get().to(pages::overview::show))
        .route("/sign-in", web::get().to(pages::sign_in::form))
        .route("/sign-in", web::post().to(pages::sign_in::submit))
        .route("/sign-out", web::post().to(pages::sign_in::sign_out))
        .route("/lang/{code}", web::get().to(switch_language))
        .route("/static/{file}", web::get().to(assets::serve))
        .route("/orders", web::get().to(pages::orders::list))
        .route(
            "/orders/{shop}/{number}",
            web::get().to(pages::orders::detail),
        )
        .route("/outbox", web::get().to(pages::outbox::list))
        .route("/outbox/retry", web::post().to(pages::outbox::retry))
        .route("/outbox/hold", web::post().to(pages::outbox::hold))
        .route("/outbox/release", web::post().to(pages::outbox::release))
        .route("/products", web::get().to(pages::products::list))
        .route(
            "/products/{shop}/{product}",
            web::get().to(pages::products::detail),
        )
        .route("/stock", web::post().to(pages::products::set_stock))
        .route("/operators", web::get().to(pages::operators::list))
        .route("/operators", web::post().to(pages::operators::create))
        .route("/operators/{id}", web::post().to(pages::operators::change))
        .route("/shops", web::get().to(pages::shops::list))
        .route("/shops", web::post().to(pages::shops::create))
        .route("/shops/{code}", web::get().to(pages::shops::show))
        .route(
            "/shops/{code}",
            web::post().to(pages::shops::change_general),
        )
        .route(
            "/shops/{code}/state",
            web::post().to(pages::shops::change_state),
        )
        .route("/shops/{code}/rotate", web::post().to(pages::shops::rotate))
        .route(
            "/shops/{code}/overlap/end",
            web::post().to(pages::shops::end_overlap),
        )
        .route(
            "/shops/{code}/integrations/{integration}",
            web::post().to(pages::shops::change_integration),
        )
        .route(
            "/shops/{code}/integrations/{integration}/remove",
            web::post().to(pages::shops::remove_integration),
        )
        .route("/jobs", web::get().to(pages::jobs::list))
        .route("/audit", web::get().to(pages::audit::list))
}

/// `GET /console/lang/{zh|en}?back=PATH`: remembers the language in a cookie and goes
/// back to the console page `back` (any other target goes to the overview).
async fn switch_language(
    request: HttpRequest,
    code: web::Path<String>,
) -> Result<HttpResponse, error::ConsoleError> {
    let state = auth::state_of(&request)?;
    let lang = Lang::from_code(&code)
        .ok_or_else(|| error::ConsoleError::invalid("lang", "must be zh or en"))?;
    let query = form::Form::parse(request.query_string().as_bytes())?;
    let back = query
        .one("back")?
        .filter(|back| is_console_path(back))
        .unwrap_or("/console");
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, back.to_owned()))
        .cookie(cookie(&state, LANG_COOKIE, lang.code().to_owned()))
        .finish())
}

/// Whether `path` is a path inside the console (so a redirect to it stays here).
pub fn is_console_path(path: &str) -> bool {
    let inside =
        path == "/console" || path.starts_with("/console/") || path.starts_with("/console?");
    inside
        && path.len() <= 1024
        && !path.contains(['\\', '\r', '\n'])
        && !path.contains("/../")
        && !path.contains("//")
}

/// A redirect after an action, to `path` with a notice of `n` things done.
pub fn done(path: &str, notice: &str, n: impl std::fmt::Display) -> HttpResponse {
    let separator = if path.contains('?') { '&' } else { '?' };
    HttpResponse::SeeOther()
        .insert_header((
            header::LOCATION,
            format!("{path}{separator}notice={notice}&n={n}"),
        ))
        .finish()
}

#[cfg(test)]
mod tests {
    use super::is_console_path;

    #[test]
    fn only_console_paths_are_redirect_targets() {
        assert!(is_console_path("/console/orders?status=JH_02"));
        assert!(is_console_path("/console"));
        for bad in [
            "https://evil.example/console",
            "//evil.example",
            "/console//evil",
            "/consolex",
            "/console/\\evil",
            "/admin/v1",
        ] {
            assert!(!is_console_path(bad), "{bad}");
        }
    }
}
