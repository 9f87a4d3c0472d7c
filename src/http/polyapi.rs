//! `POST {polyapi_path}`: reads the parameters from the query and a form body
//! (urlencoded or multipart) into one set, runs the call with panics contained, and
//! answers HTTP 200 with the envelope in JSON or XML.
//!
//! The per-address rate limit is checked before the body is read, and the deadline
//! runs from the moment the handler starts: reading and parsing are bounded by it, and
//! the database work is bounded by it from inside (it commits before the deadline or
//! writes nothing), so the answer never says "failed" about work that goes on.

use std::time::{Duration, Instant};

use actix_web::http::header::{self, ContentType};
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;

use super::body::{read_capped, BodyError};
use super::AppState;
use crate::polyapi::endpoint::{self, CallSummary};
use crate::polyapi::envelope::{envelope, Envelope, PolyError, SubCode};
use crate::polyapi::methods::Method;
use crate::polyapi::params::{Params, MAX_PARAMS};

/// Largest request body.
pub const MAX_BODY: usize = 1024 * 1024;

/// The endpoint's handler.
pub async fn call(
    state: web::Data<AppState>,
    request: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let started = Instant::now();
    let deadline = started + state.polyapi_deadline;
    // For answers given before the parameters are read.
    let xml_by_query = form_urlencoded::parse(request.query_string().as_bytes())
        .take(MAX_PARAMS)
        .any(|(name, value)| {
            name.eq_ignore_ascii_case("contenttype") && value.trim().eq_ignore_ascii_case("xml")
        });
    if let Some(refusal) = limited_by_address(&state, &request) {
        return refuse(&state, &Params::new(), refusal, xml_by_query, started);
    }
    let read = tokio::time::timeout_at(deadline.into(), read_params(&request, payload)).await;
    let params = match read {
        Ok(Ok(params)) => params,
        Ok(Err(error)) => return refuse(&state, &Params::new(), error, xml_by_query, started),
        Err(_) => {
            let error = PolyError::new(
                SubCode::SystemError,
                "the request was not received before the deadline; retry later",
            );
            return refuse(&state, &Params::new(), error, xml_by_query, started);
        }
    };
    let xml = params.wants_xml();
    if let Some(refusal) = limited_by_appkey(&state, &params) {
        return refuse(&state, &params, refusal, xml, started);
    }
    let work_state = state.clone();
    let work_params = params.clone();
    // A separate task: a panic inside the call becomes a JoinError here, not a dropped
    // connection. It is awaited to the end: the work bounds itself by the deadline.
    let task = actix_web::rt::spawn(async move {
        let directory = work_state.directory.current();
        endpoint::handle(
            &work_state.db,
            directory.polyapi(),
            &work_params,
            started,
            deadline,
        )
        .await
    });
    let (document, summary) = match task.await {
        Ok(done) => done,
        Err(join) => {
            tracing::error!(error = %join, "polyapi call panicked");
            let error = PolyError::new(
                SubCode::SystemError,
                "internal error; the call was not completed",
            );
            let summary = CallSummary::refused(&params, &error, started);
            (envelope(Err(error)), summary)
        }
    };
    finish_call(&state, &summary, Instant::now() > deadline);
    render(document, xml)
}

/// Counts the call (for the console and `/metrics`) and logs it.
fn finish_call(state: &AppState, summary: &CallSummary, late: bool) {
    // Known method names only, so hostile names cannot add series or rows.
    let method = Method::from_name(&summary.method).map_or("unknown", Method::short_name);
    let directory = state.directory.current();
    let shop = summary
        .shop
        .as_deref()
        .and_then(|code| directory.shop(code));
    state
        .polling
        .record(shop.map(|shop| shop.id), method, summary.outcome);
    crate::metrics::polyapi_call(
        shop.map_or("", |shop| shop.code.as_str()),
        method,
        summary.outcome,
    );
    log_call(summary, late);
}

/// One line per call; a call that ran past its deadline is a warning, with its real
/// duration.
fn log_call(summary: &CallSummary, late: bool) {
    let shop = summary.shop.as_deref().unwrap_or("-");
    let duration_ms = summary.millis as u64;
    if late {
        tracing::warn!(method = %summary.method, shop, outcome = summary.outcome, duration_ms, "polyapi call ran past its deadline");
    } else {
        tracing::info!(method = %summary.method, shop, outcome = summary.outcome, duration_ms, "polyapi call");
    }
}

fn refuse(
    state: &AppState,
    params: &Params,
    error: PolyError,
    xml: bool,
    started: Instant,
) -> HttpResponse {
    finish_call(state, &CallSummary::refused(params, &error, started), false);
    render(envelope(Err(error)), xml)
}

/// The per-address limit, checked before anything of the request is read.
fn limited_by_address(state: &AppState, request: &HttpRequest) -> Option<PolyError> {
    let address = request
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default();
    (!state.limit_per_ip.allow(&address)).then(|| {
        PolyError::new(
            SubCode::SystemError,
            format!(
                "rate limit: more than {} calls per second from this address; retry later",
                state.limit_per_ip.per_second()
            ),
        )
    })
}

/// The per-appkey limit. Only known appkeys have a budget, so unknown ones cannot
/// crowd out real ones.
fn limited_by_appkey(state: &AppState, params: &Params) -> Option<PolyError> {
    let appkey = params.get("appkey").unwrap_or_default();
    let known = state.directory.current().polyapi().knows(appkey);
    (known && !state.limit_per_appkey.allow(appkey)).then(|| {
        PolyError::new(
            SubCode::SystemError,
            format!(
                "rate limit: more than {} calls per second for this appkey; retry later",
                state.limit_per_appkey.per_second()
            ),
        )
    })
}

fn render(document: Envelope, xml: bool) -> HttpResponse {
    if xml {
        HttpResponse::Ok()
            .insert_header((header::CONTENT_TYPE, "application/xml; charset=utf-8"))
            .body(document.to_xml())
    } else {
        HttpResponse::Ok()
            .content_type(ContentType::json())
            .body(document.to_json())
    }
}

/// The query string and the body (by its content type) read into one parameter set.
async fn read_params(request: &HttpRequest, payload: web::Payload) -> Result<Params, PolyError> {
    let mut params = Params::new();
    params.read_query(request.query_string())?;
    let body = read_capped(request, payload, MAX_BODY)
        .await
        .map_err(|error| match error {
            BodyError::TooLarge { limit } => {
                PolyError::invalid("body", format!("is larger than {limit} bytes"))
            }
            BodyError::Unreadable(why) => {
                PolyError::invalid("body", format!("could not be read: {why}"))
            }
        })?;
    if body.is_empty() {
        return Ok(params);
    }
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if content_type.starts_with("multipart/form-data") {
        read_multipart(request, body, &mut params).await?;
    } else if content_type.is_empty()
        || content_type.starts_with("application/x-www-form-urlencoded")
    {
        params.read_urlencoded(&body)?;
    } else {
        return Err(PolyError::invalid(
            "Content-Type",
            format!(
                "`{}` is not multipart/form-data or application/x-www-form-urlencoded",
                content_type.chars().take(100).collect::<String>()
            ),
        ));
    }
    Ok(params)
}

async fn read_multipart(
    request: &HttpRequest,
    body: web::Bytes,
    params: &mut Params,
) -> Result<(), PolyError> {
    let stream =
        futures_util::stream::once(async move { Ok::<_, actix_web::error::PayloadError>(body) });
    let mut multipart = actix_multipart::Multipart::new(request.headers(), stream);
    let mut parts = 0;
    while let Some(field) = multipart.next().await {
        parts += 1;
        // Counted before a part is read, so a flood of parts stops here.
        if parts > MAX_PARAMS {
            return Err(PolyError::invalid(
                "parameters",
                format!("more than {MAX_PARAMS} parameters in one call"),
            ));
        }
        let mut field = field.map_err(|e| {
            PolyError::invalid("body", format!("is not valid multipart/form-data: {e}"))
        })?;
        let name = field
            .content_disposition()
            .and_then(|disposition| disposition.get_name())
            .map(str::to_owned)
            .ok_or_else(|| PolyError::invalid("body", "a multipart part has no name"))?;
        let mut value = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk =
                chunk.map_err(|e| PolyError::invalid("body", format!("could not be read: {e}")))?;
            value.extend_from_slice(&chunk);
        }
        let value = String::from_utf8(value)
            .map_err(|_| PolyError::invalid("body", "a multipart part is not UTF-8"))?;
        params.insert(&name, value)?;
    }
    Ok(())
}

/// How long a call may take before it is answered with GSE.SYSTEM_ERROR.
pub fn deadline_from_millis(millis: u64) -> Duration {
    Duration::from_millis(millis.max(1))
}
