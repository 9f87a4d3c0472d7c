//! The per-request span: method, route, path (never the query string, which may carry
//! a Polyapi token or sign, nor a warehouse's callback token), status and client address.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::Error;
use tracing::Span;
use tracing_actix_web::RootSpanBuilder;

/// Builds request spans without query strings.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestSpan;

impl RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let route = request
            .match_pattern()
            .unwrap_or_else(|| "unmatched".to_owned());
        tracing::info_span!(
            "http",
            method = %request.method(),
            route = %route,
            path = %logged_path(&route, request.path()),
            client = %request.connection_info().realip_remote_addr().unwrap_or("-"),
            status = tracing::field::Empty,
        )
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        match outcome {
            Ok(response) => {
                span.record("status", response.status().as_u16());
            }
            Err(error) => {
                span.record("status", error.as_response_error().status_code().as_u16());
            }
        }
    }
}

/// The path as logged: a route with a `{token}` segment is logged as its pattern, so the
/// secret in a callback URL never reaches the logs.
fn logged_path<'a>(route: &'a str, path: &'a str) -> &'a str {
    if route.contains("{token}") {
        route
    } else {
        path
    }
}

#[cfg(test)]
mod tests {
    use super::logged_path;

    #[test]
    fn callback_tokens_are_not_logged() {
        assert_eq!(
            logged_path("/qimen/callback/{token}", "/qimen/callback/s3cr3t"),
            "/qimen/callback/{token}"
        );
        assert_eq!(
            logged_path(
                "/admin/v1/shops/{code}/orders",
                "/admin/v1/shops/demo/orders"
            ),
            "/admin/v1/shops/demo/orders"
        );
    }
}
