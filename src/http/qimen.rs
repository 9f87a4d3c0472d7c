//! The warehouse's `deliveryorder.confirm`, at `POST /qimen/callback` (signed: the Qimen
//! sign over the query and the raw body) or at `POST /qimen/callback/{token}` (for
//! warehouses that do not sign: the unguessable token in the URL is the proof). Each
//! warehouse is configured for one of the two; the answer is a Qimen `<response>`.

use std::collections::HashMap;

use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;

use subtle::ConstantTimeEq;

use super::AppState;
use crate::config::{CallbackAuth, Secret};
use crate::qimen::{confirm, response, sign};
use crate::shop::parcels::{self, ConfirmOutcome};
use crate::shop::shops::Shop;
use crate::shop::ShopError;

/// Largest confirmation accepted.
const MAX_BODY: usize = 2 * 1024 * 1024;

/// A shop the warehouse may call back for, by its `customerId`.
#[derive(Debug, Clone)]
pub struct WmsShop {
    /// The shop.
    pub shop: Shop,
    /// Its WMS secret, which signed callbacks are checked with.
    pub secret: Secret,
    /// The token of its callback URL, when it calls back unsigned.
    pub url_token: Option<Secret>,
}

fn answer(success: bool, code: &str, message: &str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/xml; charset=utf-8")
        .body(response(success, code, message))
}

/// `POST /qimen/callback`: a signed confirmation; `customerId` selects the warehouse.
pub async fn callback(
    state: web::Data<AppState>,
    request: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let (params, body) = match read_request(&request, payload).await {
        Ok(read) => read,
        Err(refusal) => return refusal,
    };
    let customer = param(&params, "customerId");
    let target: Option<&WmsShop> = match customer {
        Some(customer) => state.wms.get(customer),
        None if state.wms.len() == 1 => state.wms.values().next(),
        None => None,
    };
    let Some(target) = target.cloned() else {
        return answer(
            false,
            "401",
            "customerId is missing or not a configured warehouse customer",
        );
    };
    if target.url_token.is_some() {
        return answer(
            false,
            "401",
            "this warehouse is configured to call back at its own callback URL, not here",
        );
    }
    let given = param(&params, "sign").unwrap_or_default();
    if !sign::verify(target.secret.expose(), &params, &body, given) {
        return answer(
            false,
            "401",
            "sign does not match: md5 of secret + sorted parameters + body + secret, upper case",
        );
    }
    record(&state, &target, &body).await
}

/// `POST /qimen/callback/{token}`: an unsigned confirmation from the warehouse whose
/// callback URL carries this token.
pub async fn callback_with_token(
    state: web::Data<AppState>,
    request: HttpRequest,
    token: web::Path<String>,
    payload: web::Payload,
) -> HttpResponse {
    let (params, body) = match read_request(&request, payload).await {
        Ok(read) => read,
        Err(refusal) => return refusal,
    };
    let Some(target) = by_url_token(&state, &token) else {
        return answer(
            false,
            "401",
            "this callback URL is not a configured warehouse's",
        );
    };
    if param(&params, "customerId").is_some_and(|customer| customer != target.customer_id) {
        return answer(
            false,
            "401",
            "customerId does not belong to the warehouse of this callback URL",
        );
    }
    record(&state, &target.shop, &body).await
}

/// A URL-token warehouse and its customer id.
struct TokenTarget {
    shop: WmsShop,
    customer_id: String,
}

/// The warehouse whose callback token is `given`, compared in constant time with every
/// configured one.
fn by_url_token(state: &AppState, given: &str) -> Option<TokenTarget> {
    let mut found = None;
    for (customer_id, shop) in state.wms.iter() {
        if let Some(token) = &shop.url_token {
            if bool::from(token.expose().as_bytes().ct_eq(given.as_bytes())) {
                found = Some(TokenTarget {
                    shop: shop.clone(),
                    customer_id: customer_id.clone(),
                });
            }
        }
    }
    found
}

/// The query parameters and the body of a confirmation, or the refusal to answer.
async fn read_request(
    request: &HttpRequest,
    payload: web::Payload,
) -> Result<(Vec<(String, String)>, web::BytesMut), HttpResponse> {
    let params: Vec<(String, String)> =
        serde_urlencoded::from_str(request.query_string()).unwrap_or_default();
    let body = read_body(payload).await?;
    match check_method(&params) {
        Some(refusal) => Err(refusal),
        None => Ok((params, body)),
    }
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Reads the body up to the limit; the refusal to answer otherwise.
async fn read_body(mut payload: web::Payload) -> Result<web::BytesMut, HttpResponse> {
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        match chunk {
            Ok(chunk) if body.len() + chunk.len() <= MAX_BODY => body.extend_from_slice(&chunk),
            Ok(_) => {
                return Err(answer(
                    false,
                    "400",
                    &format!("the body is larger than {MAX_BODY} bytes"),
                ))
            }
            Err(e) => {
                return Err(answer(
                    false,
                    "400",
                    &format!("the body could not be read: {e}"),
                ))
            }
        }
    }
    Ok(body)
}

/// A `method` in the query, when given, must be the confirmation's.
fn check_method(params: &[(String, String)]) -> Option<HttpResponse> {
    let method = param(params, "method")?;
    (!method
        .to_ascii_lowercase()
        .ends_with("deliveryorder.confirm"))
    .then(|| {
        answer(
            false,
            "400",
            &format!("method `{method}` is not deliveryorder.confirm"),
        )
    })
}

/// Reads an authenticated confirmation and records it for the warehouse's shop.
async fn record(state: &AppState, target: &WmsShop, body: &[u8]) -> HttpResponse {
    let confirmation = match confirm::parse(body) {
        Ok(confirmation) => confirmation,
        Err(why) => return answer(false, "400", &why),
    };
    let shop_id = target.shop.id;
    let order = confirmation.plat_order_no.clone();
    let outcome = state
        .db
        .run(move |conn| {
            parcels::confirm_from_warehouse(
                conn,
                shop_id,
                &confirmation.plat_order_no,
                &confirmation.out_biz_code,
                &confirmation.status,
                &confirmation.packages,
            )
        })
        .await;
    tracing::info!(shop = %target.shop.code, %order, outcome = ?outcome.as_ref().map_err(ToString::to_string), "warehouse confirmation");
    match outcome {
        Ok(ConfirmOutcome::Recorded(_)) => answer(true, "0", "ok"),
        Ok(ConfirmOutcome::Repeated) => answer(true, "0", "ok (already recorded)"),
        Err(ShopError::Rejected { field, message }) => {
            answer(false, "400", &format!("{field}: {message}"))
        }
        Err(error) => {
            tracing::error!(%error, "warehouse confirmation failed");
            answer(
                false,
                "500",
                "the shop database is unavailable; send it again later",
            )
        }
    }
}

/// The callback directory from the configured shops.
pub fn directory(
    config: &crate::config::Config,
    stored: &HashMap<String, Shop>,
) -> HashMap<String, WmsShop> {
    config
        .shops
        .iter()
        .filter_map(|shop| {
            let wms = shop.wms.as_ref()?;
            let stored = stored.get(&shop.code)?;
            Some((
                wms.customer_id.clone(),
                WmsShop {
                    shop: stored.clone(),
                    secret: wms.secret.clone(),
                    url_token: match wms.callback_auth {
                        CallbackAuth::Sign => None,
                        CallbackAuth::UrlToken => wms.callback_token.clone(),
                    },
                },
            ))
        })
        .collect()
}
