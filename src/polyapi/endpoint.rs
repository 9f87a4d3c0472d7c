//! One Polyapi call from received parameters to the answer document: public
//! parameters, appkey, sign, token, method, switch, bizcontent, then the method.
//!
//! After the sign is checked the call reads nothing but the four public parameters,
//! which every accepted way of signing covers, so no unsigned value can steer it.

use std::time::Instant;

use super::biz::Biz;
use super::credentials::Credentials;
use super::envelope::{envelope, outcome_code, Answer, Envelope, PolyError, SubCode};
use super::methods::{dispatch, Call, Method};
use super::params::Params;
use crate::db::Database;
use crate::time::now_utc;

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

impl CallSummary {
    /// The summary of a call refused before it ran.
    pub fn refused(params: &Params, error: &PolyError, started: Instant) -> Self {
        Self {
            method: method_for_log(params),
            shop: None,
            outcome: error.subcode.code(),
            millis: started.elapsed().as_millis(),
        }
    }
}

/// The method as sent, short enough for a log line.
fn method_for_log(params: &Params) -> String {
    params
        .get("method")
        .unwrap_or_default()
        .chars()
        .take(80)
        .collect()
}

/// Runs one call and answers the envelope document and its summary. The database work
/// is bounded by `deadline`: it commits before it, or writes nothing and the call is
/// answered with GSE.SYSTEM_ERROR.
pub async fn handle(
    db: &Database,
    credentials: &Credentials,
    params: &Params,
    started: Instant,
    deadline: Instant,
) -> (Envelope, CallSummary) {
    let mut shop_code = None;
    let db = db.with_deadline(deadline);
    let result = run(&db, credentials, params, &mut shop_code).await;
    let summary = CallSummary {
        method: method_for_log(params),
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
    let matched = credentials
        .sign_matches(appkey, params.pairs(), given_sign, now_utc())
        .ok_or_else(|| {
            PolyError::new(
                SubCode::AppkeyFailure,
                format!("appkey `{appkey}` is unknown"),
            )
        })?;
    if !matched {
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
        offset: shop.shop.offset(),
        shop: shop.shop.clone(),
    };
    dispatch(method, &call, &biz).await
}
