//! One Polyapi call from received parameters to the answer document: public
//! parameters, appkey, sign, token, method, switch, bizcontent, then the method.

use std::time::Instant;

use super::biz::Biz;
use super::credentials::Credentials;
use super::envelope::{envelope, outcome_code, Answer, Envelope, PolyError, SubCode};
use super::methods::{dispatch, Call, Method};
use super::sign;
use crate::db::Database;
use crate::intake::shop_offset;

/// The received parameters, query and body merged (the body wins on a repeated key).
#[derive(Debug, Clone, Default)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// Merges query pairs and body pairs.
    pub fn merge(query: Vec<(String, String)>, body: Vec<(String, String)>) -> Self {
        let mut pairs: Vec<(String, String)> = Vec::with_capacity(query.len() + body.len());
        for (key, value) in query.into_iter().chain(body) {
            match pairs.iter_mut().find(|(existing, _)| *existing == key) {
                Some(slot) => slot.1 = value,
                None => pairs.push((key, value)),
            }
        }
        Self { pairs }
    }

    /// A parameter by name, matched case-insensitively.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// Whether the caller asked for XML (`contenttype=xml`).
    pub fn wants_xml(&self) -> bool {
        self.get("contenttype")
            .is_some_and(|value| value.trim().eq_ignore_ascii_case("xml"))
    }
}

/// What a call did, for the log line.
#[derive(Debug, Clone)]
pub struct CallSummary {
    /// The method name as sent (or empty).
    pub method: String,
    /// The shop code, once known.
    pub shop: Option<String>,
    /// `10000` or the GSE sub-code.
    pub outcome: &'static str,
    /// Milliseconds spent.
    pub millis: u128,
}

/// Runs one call and answers the envelope document and its summary.
pub async fn handle(
    db: &Database,
    credentials: &Credentials,
    params: &Params,
) -> (Envelope, CallSummary) {
    let started = Instant::now();
    let mut shop_code = None;
    let result = run(db, credentials, params, &mut shop_code).await;
    let summary = CallSummary {
        method: params
            .get("method")
            .unwrap_or_default()
            .chars()
            .take(80)
            .collect(),
        shop: shop_code,
        outcome: outcome_code(&result),
        millis: started.elapsed().as_millis(),
    };
    (envelope(result), summary)
}

fn required<'a>(params: &'a Params, name: &str) -> Result<&'a str, PolyError> {
    params
        .get(name)
        .filter(|value| !value.trim().is_empty())
        .ok_or_else(|| PolyError::missing(name))
}

async fn run(
    db: &Database,
    credentials: &Credentials,
    params: &Params,
    shop_code: &mut Option<String>,
) -> Result<Answer, PolyError> {
    let method_name = required(params, "method")?;
    let appkey = required(params, "appkey")?;
    let token = required(params, "token")?;
    let given_sign = required(params, "sign")?;
    let secret = credentials.secret(appkey).ok_or_else(|| {
        PolyError::new(
            SubCode::AppkeyFailure,
            format!("appkey `{appkey}` is unknown"),
        )
    })?;
    if !sign::verify(secret.expose(), &params.pairs, given_sign) {
        return Err(PolyError::new(
            SubCode::VerifySignFailure,
            "sign does not match: md5 of lowercase(appsecret + sorted key+value pairs + appsecret)",
        ));
    }
    let shop = credentials.shop(appkey, token).ok_or_else(|| {
        PolyError::new(SubCode::AppkeyFailure, "token is unknown for this appkey")
    })?;
    *shop_code = Some(shop.shop.code.clone());
    let method = Method::from_name(method_name).ok_or_else(|| {
        PolyError::new(
            SubCode::IllegalAccess,
            format!("method `{method_name}` does not exist"),
        )
    })?;
    if shop.disabled.contains(&method) {
        return Err(PolyError::new(
            SubCode::PlatNotSupport,
            format!("{} is switched off for this shop", method.short_name()),
        ));
    }
    let biz = Biz::parse(params.get("bizcontent").unwrap_or_default())?;
    let call = Call {
        db: db.clone(),
        offset: shop_offset(&shop.shop),
        shop: shop.shop.clone(),
    };
    dispatch(method, &call, &biz).await
}
