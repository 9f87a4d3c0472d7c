//! `POST /qimen/callback`: the warehouse's `deliveryorder.confirm`. The sign is checked
//! over the raw body when the shop has a WMS secret; the answer is a Qimen `<response>`.

use std::collections::HashMap;

use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;

use super::AppState;
use crate::config::Secret;
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
    /// Its WMS secret; an empty one means signs are not checked.
    pub secret: Secret,
}

fn answer(success: bool, code: &str, message: &str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/xml; charset=utf-8")
        .body(response(success, code, message))
}

/// The handler.
pub async fn callback(
    state: web::Data<AppState>,
    request: HttpRequest,
    mut payload: web::Payload,
) -> HttpResponse {
    let params: Vec<(String, String)> =
        serde_urlencoded::from_str(request.query_string()).unwrap_or_default();
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        match chunk {
            Ok(chunk) if body.len() + chunk.len() <= MAX_BODY => body.extend_from_slice(&chunk),
            Ok(_) => {
                return answer(
                    false,
                    "400",
                    &format!("the body is larger than {MAX_BODY} bytes"),
                )
            }
            Err(e) => return answer(false, "400", &format!("the body could not be read: {e}")),
        }
    }
    if let Some(method) = param("method") {
        if !method
            .to_ascii_lowercase()
            .ends_with("deliveryorder.confirm")
        {
            return answer(
                false,
                "400",
                &format!("method `{method}` is not deliveryorder.confirm"),
            );
        }
    }
    let target: Option<&WmsShop> = match param("customerId") {
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
    if !target.secret.expose().is_empty() {
        let given = param("sign").unwrap_or_default();
        if !sign::verify(target.secret.expose(), &params, &body, given) {
            return answer(false, "401", "sign does not match: md5 of secret + sorted parameters + body + secret, upper case");
        }
    }
    let confirmation = match confirm::parse(&body) {
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
                },
            ))
        })
        .collect()
}
