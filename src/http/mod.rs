//! The HTTP surface: routes, shared state, health checks, the admin/intake API.

mod admin;
mod health;

use std::collections::HashMap;
use std::sync::Arc;

use actix_web::web;

use crate::config::Secret;
use crate::db::Database;
use crate::shop::shops::Shop;

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The shop database.
    pub db: Database,
    /// Shops by code, as synchronised from the configuration at start.
    pub shops: Arc<HashMap<String, Shop>>,
    /// Bearer token of the admin API; `None` disables it.
    pub admin_token: Option<Secret>,
}

/// Registers every route on an actix `App`.
pub fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/healthz", web::get().to(health::alive))
        .route("/readyz", web::get().to(health::ready))
        .service(admin::scope());
}
