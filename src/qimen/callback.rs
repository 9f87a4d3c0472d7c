//! The warehouse's `deliveryorder.confirm` callback: which warehouse is calling, whether
//! it proved it (the Qimen sign over the query and the raw body, or, for warehouses that
//! do not sign, the unguessable token of its own callback URL), reading the
//! confirmation and recording it, and the `<response>` answer. The HTTP layer only
//! reads the request and writes the answer.

use std::collections::HashMap;

use subtle::ConstantTimeEq;

use super::{confirm, response, sign};
use crate::config::{CallbackAuth, Secret, WmsShopConfig};
use crate::db::Database;
use crate::shop::parcels::{self, ConfirmOutcome};
use crate::shop::shops::Shop;
use crate::shop::ShopError;

/// Most query parameters a callback may carry; Qimen sends seven.
const MAX_PARAMS: usize = 32;
/// Longest query string read.
const MAX_QUERY: usize = 8 * 1024;

/// A shop the warehouse may call back for.
#[derive(Debug, Clone)]
struct Warehouse {
    shop: Shop,
    secret: Secret,
    url_token: Option<Secret>,
}

/// The warehouses that may call back, by their `customerId`.
#[derive(Debug, Default)]
pub struct Warehouses {
    by_customer: HashMap<String, Warehouse>,
}

impl Warehouses {
    /// Adds the warehouse of `shop` (its `customerId` selects it).
    pub fn add(&mut self, shop: &Shop, wms: &WmsShopConfig) {
        self.by_customer.insert(
            wms.customer_id.clone(),
            Warehouse {
                shop: shop.clone(),
                secret: wms.secret.clone(),
                url_token: match wms.callback_auth {
                    CallbackAuth::Sign => None,
                    CallbackAuth::UrlToken => wms.callback_token.clone(),
                },
            },
        );
    }

    /// The warehouse whose callback token is `given`, compared in constant time with
    /// every configured one.
    fn by_url_token(&self, given: &str) -> Option<(&str, &Warehouse)> {
        let mut found = None;
        for (customer_id, warehouse) in &self.by_customer {
            if let Some(token) = &warehouse.url_token {
                if bool::from(token.expose().as_bytes().ct_eq(given.as_bytes())) {
                    found = Some((customer_id.as_str(), warehouse));
                }
            }
        }
        found
    }
}

/// How a callback says who sent it.
#[derive(Debug, Clone, Copy)]
pub enum Proof<'a> {
    /// The Qimen sign, at the common callback URL.
    Signed,
    /// The token of the warehouse's own callback URL.
    UrlToken(&'a str),
}

/// The `<response>` to a callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// Whether the confirmation was taken.
    pub success: bool,
    /// `0`, or an HTTP-like code saying what is wrong.
    pub code: &'static str,
    /// What happened, for the warehouse's operator.
    pub message: String,
}

impl Answer {
    fn ok(message: &str) -> Self {
        Self {
            success: true,
            code: "0",
            message: message.to_owned(),
        }
    }

    /// A refusal with `code`.
    pub fn refused(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            success: false,
            code,
            message: message.into(),
        }
    }

    /// The answer as the Qimen `<response>` document.
    pub fn to_xml(&self) -> String {
        response(self.success, self.code, &self.message)
    }
}

/// Handles one callback with its raw query string and body.
pub async fn handle(
    db: &Database,
    warehouses: &Warehouses,
    query: &str,
    body: &[u8],
    proof: Proof<'_>,
) -> Answer {
    let params = match read_query(query) {
        Ok(params) => params,
        Err(refusal) => return refusal,
    };
    let param = |name: &str| {
        params
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    };
    if let Some(method) = param("method") {
        if !method
            .to_ascii_lowercase()
            .ends_with("deliveryorder.confirm")
        {
            return Answer::refused(
                "400",
                format!("method `{method}` is not deliveryorder.confirm"),
            );
        }
    }
    let warehouse = match proof {
        Proof::Signed => {
            let warehouse = match param("customerId") {
                Some(customer) => warehouses.by_customer.get(customer),
                None if warehouses.by_customer.len() == 1 => warehouses.by_customer.values().next(),
                None => None,
            };
            let Some(warehouse) = warehouse else {
                return Answer::refused(
                    "401",
                    "customerId is missing or not a configured warehouse customer",
                );
            };
            if warehouse.url_token.is_some() {
                return Answer::refused(
                    "401",
                    "this warehouse is configured to call back at its own callback URL, not here",
                );
            }
            let given = param("sign").unwrap_or_default();
            if !sign::verify(warehouse.secret.expose(), &params, body, given) {
                return Answer::refused(
                    "401",
                    "sign does not match: md5 of secret + sorted parameters + body + secret, upper case",
                );
            }
            warehouse
        }
        Proof::UrlToken(token) => {
            let Some((customer_id, warehouse)) = warehouses.by_url_token(token) else {
                return Answer::refused("401", "this callback URL is not a configured warehouse's");
            };
            if param("customerId").is_some_and(|customer| customer != customer_id) {
                return Answer::refused(
                    "401",
                    "customerId does not belong to the warehouse of this callback URL",
                );
            }
            warehouse
        }
    };
    record(db, &warehouse.shop, body).await
}

/// The query parameters, each name once (in any case), within the limits: a sign over
/// one value must not let another steer the call.
fn read_query(query: &str) -> Result<Vec<(String, String)>, Answer> {
    if query.len() > MAX_QUERY {
        return Err(Answer::refused(
            "400",
            format!("the query string is longer than {MAX_QUERY} bytes"),
        ));
    }
    let mut params: Vec<(String, String)> = Vec::new();
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        if params
            .iter()
            .any(|(seen, _)| seen.eq_ignore_ascii_case(&name))
        {
            return Err(Answer::refused(
                "400",
                format!(
                    "parameter `{}` is given more than once",
                    name.chars().take(64).collect::<String>()
                ),
            ));
        }
        if params.len() == MAX_PARAMS {
            return Err(Answer::refused(
                "400",
                format!("more than {MAX_PARAMS} query parameters"),
            ));
        }
        params.push((name.into_owned(), value.into_owned()));
    }
    Ok(params)
}

/// Reads an authenticated confirmation and records it for the warehouse's shop.
async fn record(db: &Database, shop: &Shop, body: &[u8]) -> Answer {
    let confirmation = match confirm::parse(body) {
        Ok(confirmation) => confirmation,
        Err(why) => return Answer::refused("400", why),
    };
    let shop_id = shop.id;
    let order = confirmation.plat_order_no.clone();
    let outcome = db
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
    match outcome {
        Ok(ConfirmOutcome::Recorded(parcels)) => {
            tracing::info!(shop = %shop.code, %order, parcels, "warehouse confirmation recorded");
            Answer::ok("ok")
        }
        Ok(ConfirmOutcome::Repeated) => {
            tracing::info!(shop = %shop.code, %order, "warehouse confirmation repeated; nothing changed");
            Answer::ok("ok (already recorded)")
        }
        Err(ShopError::Rejected { field, message }) => {
            tracing::warn!(shop = %shop.code, %order, %field, %message, "warehouse confirmation refused");
            Answer::refused("400", format!("{field}: {message}"))
        }
        Err(error) => {
            tracing::error!(shop = %shop.code, %order, %error, "warehouse confirmation failed");
            Answer::refused(
                "500",
                "the shop database is unavailable; send it again later",
            )
        }
    }
}
