//! `GET /metrics` in the Prometheus text format, and the middleware that counts and
//! times every HTTP request by its route pattern.

use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method};
use actix_web::middleware::Next;
use actix_web::{web, HttpRequest, HttpResponse};

use super::AppState;
use crate::metrics;
use crate::reports::outbox::{state_counts, TARGETS};
use crate::time::now_utc;

/// Records each request's route pattern (never the path, which may carry a token or an
/// order number), method and status, and its duration.
pub async fn record_requests(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = match *request.method() {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::HEAD => "HEAD",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        _ => "other",
    };
    let result = next.call(request).await;
    let (route, status) = match &result {
        Ok(response) => (
            response
                .request()
                .match_pattern()
                .unwrap_or_else(|| "unmatched".to_owned()),
            response.status().as_u16(),
        ),
        Err(error) => (
            "unmatched".to_owned(),
            error.as_response_error().status_code().as_u16(),
        ),
    };
    metrics::http_request(&route, method, status, started.elapsed());
    result
}

/// `GET /metrics`: the outbox and pool gauges are read now, then everything is rendered.
pub async fn scrape(state: web::Data<AppState>, request: HttpRequest) -> HttpResponse {
    if let Some(expected) = &state.metrics_token {
        let matches = super::bearer_matches(&request, expected);
        if !matches {
            return HttpResponse::Unauthorized()
                .insert_header((header::WWW_AUTHENTICATE, "Bearer"))
                .body("missing or wrong bearer token\n");
        }
    }
    let Some(handle) = metrics::install() else {
        return HttpResponse::ServiceUnavailable().body("metrics are not recorded\n");
    };
    let shops: Vec<(i64, String)> = state
        .directory
        .current()
        .all()
        .iter()
        .map(|stored| (stored.shop.id, stored.shop.code.clone()))
        .collect();
    let ids: Vec<i64> = shops.iter().map(|(id, _)| *id).collect();
    match state.db.run(move |conn| state_counts(conn, &ids)).await {
        Ok(counts) => {
            let now = now_utc();
            for (id, code) in &shops {
                for target in TARGETS {
                    let mine = counts
                        .iter()
                        .filter(|c| c.shop_id == *id && c.target == target.code());
                    let mut oldest = None;
                    for count in mine {
                        metrics::outbox_rows(code, count.target, count.state, count.rows);
                        if count.state == "pending" {
                            oldest = count.oldest;
                        }
                    }
                    let age = oldest
                        .and_then(|at| (now - at).to_std().ok())
                        .unwrap_or(Duration::ZERO);
                    metrics::outbox_oldest_pending(code, target.code(), age);
                }
            }
        }
        Err(error) => tracing::warn!(%error, "outbox gauges not read for /metrics"),
    }
    let (open, idle, max) = state.db.pool_state();
    metrics::db_pool(open, idle, max);
    handle.run_upkeep();
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(handle.render())
}
