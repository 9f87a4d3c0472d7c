//! The warehouse's `deliveryorder.confirm`, at `POST /qimen/callback` (signed) or at
//! `POST /qimen/callback/{token}` (for warehouses that do not sign). The logic lives in
//! `qimen::callback`; this reads the request and writes the Qimen `<response>`.

use actix_web::{web, HttpRequest, HttpResponse};

use super::body::read_capped;
use super::AppState;
use crate::qimen::callback::{self, Answer, Proof};

/// Largest confirmation accepted.
const MAX_BODY: usize = 2 * 1024 * 1024;

/// `POST /qimen/callback`: a signed confirmation; `customerId` selects the warehouse.
pub async fn callback(
    state: web::Data<AppState>,
    request: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    handle(&state, &request, payload, Proof::Signed).await
}

/// `POST /qimen/callback/{token}`: an unsigned confirmation from the warehouse whose
/// callback URL carries this token.
pub async fn callback_with_token(
    state: web::Data<AppState>,
    request: HttpRequest,
    token: web::Path<String>,
    payload: web::Payload,
) -> HttpResponse {
    handle(&state, &request, payload, Proof::UrlToken(&token)).await
}

async fn handle(
    state: &AppState,
    request: &HttpRequest,
    payload: web::Payload,
    proof: Proof<'_>,
) -> HttpResponse {
    let answer = match read_capped(request, payload, MAX_BODY).await {
        Ok(body) => {
            let directory = state.directory.current();
            let warehouses = directory.warehouses();
            callback::handle(&state.db, warehouses, request.query_string(), &body, proof).await
        }
        Err(error) => Answer::refused("400", error.to_string()),
    };
    HttpResponse::Ok()
        .content_type("text/xml; charset=utf-8")
        .body(answer.to_xml())
}
