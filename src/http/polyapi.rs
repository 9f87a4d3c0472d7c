//! `POST {polyapi_path}`: reads the parameters from the query and a form body
//! (urlencoded or multipart), runs the call under a deadline with panics contained,
//! and answers HTTP 200 with the envelope in JSON or XML.

use std::time::Duration;

use actix_web::http::header::{self, ContentType};
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;

use super::AppState;
use crate::polyapi::endpoint::{self, CallSummary, Params};
use crate::polyapi::envelope::{envelope, Envelope, PolyError, SubCode};

/// Largest request body.
pub const MAX_BODY: usize = 1024 * 1024;

/// The endpoint's handler.
pub async fn call(
    state: web::Data<AppState>,
    request: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let query = parse_urlencoded(request.query_string()).unwrap_or_default();
    let xml_by_query = Params::merge(query.clone(), Vec::new()).wants_xml();
    let body = match read_body(payload).await {
        Ok(body) => body,
        Err(error) => return render(envelope(Err(error)), xml_by_query),
    };
    let body_pairs = match body_params(&request, body).await {
        Ok(pairs) => pairs,
        Err(error) => return render(envelope(Err(error)), xml_by_query),
    };
    let params = Params::merge(query, body_pairs);
    let xml = params.wants_xml();
    if let Some(refusal) = rate_limited(&state, &request, &params) {
        tracing::warn!(method = params.get("method").unwrap_or_default(), %refusal, "polyapi call refused by rate limit");
        return render(
            envelope(Err(PolyError::new(SubCode::SystemError, refusal))),
            xml,
        );
    }
    let deadline = state.polyapi_deadline;
    let work_state = state.clone();
    let work_params = params.clone();
    // A separate task: a panic inside the call becomes a JoinError here, not a dropped connection.
    let task = actix_web::rt::spawn(async move {
        endpoint::handle(&work_state.db, &work_state.polyapi, &work_params).await
    });
    let (document, summary) = match tokio::time::timeout(deadline, task).await {
        Ok(Ok(done)) => done,
        Ok(Err(join)) => {
            tracing::error!(error = %join, "polyapi call panicked");
            failure(
                &params,
                SubCode::SystemError,
                "internal error; the call was not completed",
            )
        }
        Err(_) => failure(
            &params,
            SubCode::SystemError,
            &format!(
                "the call took longer than {} ms; retry later",
                deadline.as_millis()
            ),
        ),
    };
    tracing::info!(
        method = %summary.method,
        shop = summary.shop.as_deref().unwrap_or("-"),
        outcome = summary.outcome,
        duration_ms = summary.millis as u64,
        "polyapi call"
    );
    render(document, xml)
}

/// Checks the per-address and per-appkey limits; the refusal says which and how much.
fn rate_limited(state: &AppState, request: &HttpRequest, params: &Params) -> Option<String> {
    let address = request
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default();
    if !state.limit_per_ip.allow(&address) {
        return Some(format!(
            "rate limit: more than {} calls per second from this address; retry later",
            state.limit_per_ip.per_second()
        ));
    }
    // Only known appkeys have a budget, so unknown ones cannot crowd out real ones.
    let appkey = params.get("appkey").unwrap_or_default();
    if state.polyapi.secret(appkey).is_some() && !state.limit_per_appkey.allow(appkey) {
        return Some(format!(
            "rate limit: more than {} calls per second for this appkey; retry later",
            state.limit_per_appkey.per_second()
        ));
    }
    None
}

fn failure(params: &Params, subcode: SubCode, message: &str) -> (Envelope, CallSummary) {
    let summary = CallSummary {
        method: params
            .get("method")
            .unwrap_or_default()
            .chars()
            .take(80)
            .collect(),
        shop: None,
        outcome: subcode.code(),
        millis: 0,
    };
    (envelope(Err(PolyError::new(subcode, message))), summary)
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

async fn read_body(mut payload: web::Payload) -> Result<web::Bytes, PolyError> {
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|e| PolyError::invalid("body", format!("could not be read: {e}")))?;
        if body.len() + chunk.len() > MAX_BODY {
            return Err(PolyError::invalid(
                "body",
                format!("is larger than {MAX_BODY} bytes"),
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

fn parse_urlencoded(text: &str) -> Result<Vec<(String, String)>, PolyError> {
    serde_urlencoded::from_str(text)
        .map_err(|e| PolyError::invalid("body", format!("is not form-urlencoded: {e}")))
}

/// Parameters from the body according to its content type.
async fn body_params(
    request: &HttpRequest,
    body: web::Bytes,
) -> Result<Vec<(String, String)>, PolyError> {
    if body.is_empty() {
        return Ok(Vec::new());
    }
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if content_type.starts_with("multipart/form-data") {
        return multipart_params(request, body).await;
    }
    if content_type.is_empty() || content_type.starts_with("application/x-www-form-urlencoded") {
        let text =
            std::str::from_utf8(&body).map_err(|_| PolyError::invalid("body", "is not UTF-8"))?;
        return parse_urlencoded(text);
    }
    Err(PolyError::invalid(
        "Content-Type",
        format!("`{content_type}` is not multipart/form-data or application/x-www-form-urlencoded"),
    ))
}

async fn multipart_params(
    request: &HttpRequest,
    body: web::Bytes,
) -> Result<Vec<(String, String)>, PolyError> {
    let stream =
        futures_util::stream::once(async move { Ok::<_, actix_web::error::PayloadError>(body) });
    let mut multipart = actix_multipart::Multipart::new(request.headers(), stream);
    let mut pairs = Vec::new();
    while let Some(field) = multipart.next().await {
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
                chunk.map_err(|e| PolyError::invalid(&name, format!("could not be read: {e}")))?;
            value.extend_from_slice(&chunk);
        }
        let value =
            String::from_utf8(value).map_err(|_| PolyError::invalid(&name, "is not UTF-8"))?;
        pairs.push((name, value));
    }
    Ok(pairs)
}

/// How long a call may take before it is answered with GSE.SYSTEM_ERROR.
pub fn deadline_from_millis(millis: u64) -> Duration {
    Duration::from_millis(millis.max(1))
}
