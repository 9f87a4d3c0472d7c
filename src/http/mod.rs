//! The HTTP surface: routes, shared state, health checks, the admin/intake API.

mod admin;
pub mod body;
mod health;
pub mod metrics;
pub mod polyapi;
pub mod qimen;
pub mod rate_limit;
mod request_span;
pub mod server;

pub use request_span::RequestSpan;

use std::sync::Arc;
use std::time::Duration;

use actix_web::web;

use crate::config::Secret;
use crate::db::Database;

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The shop database.
    pub db: Database,
    /// The shops served, their credentials, warehouses and settings.
    pub directory: Arc<crate::directory::LiveDirectory>,
    /// Bearer token of the admin API; `None` disables it.
    pub admin_token: Option<Secret>,
    /// Longest a Polyapi call may take.
    pub polyapi_deadline: Duration,
    /// Polyapi calls per client address.
    pub limit_per_ip: Arc<rate_limit::RateLimiter>,
    /// Polyapi calls per appkey.
    pub limit_per_appkey: Arc<rate_limit::RateLimiter>,
    /// Polyapi calls counted and not yet stored.
    pub polling: Arc<crate::polling::CallLog>,
    /// The operators' console.
    pub console: Arc<crate::console::ConsoleSettings>,
    /// Bearer token of `/metrics`; open without one.
    pub metrics_token: Option<Secret>,
}

/// Whether the request carries `Authorization: Bearer <expected>` (compared in
/// constant time).
pub fn bearer_matches(request: &actix_web::HttpRequest, expected: &Secret) -> bool {
    use subtle::ConstantTimeEq;
    let given = request
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .unwrap_or_default();
    given
        .trim()
        .as_bytes()
        .ct_eq(expected.expose().as_bytes())
        .into()
}

/// Registers every route on an actix `App`; the Polyapi endpoint at `polyapi_path`
/// takes any HTTP method (the answer is always an envelope).
pub fn routes(polyapi_path: String) -> impl Fn(&mut web::ServiceConfig) + Clone {
    move |config: &mut web::ServiceConfig| {
        config
            .route("/healthz", web::get().to(health::alive))
            .route("/readyz", web::get().to(health::ready))
            .route(&polyapi_path, web::route().to(polyapi::call))
            .route("/qimen/callback", web::post().to(qimen::callback))
            .route(
                "/qimen/callback/{token}",
                web::post().to(qimen::callback_with_token),
            )
            .route("/metrics", web::get().to(metrics::scrape))
            .service(admin::scope())
            .service(crate::console::scope());
    }
}
