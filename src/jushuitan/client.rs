//! An async client for both API generations: signs, posts, and reads the answer into
//! data or an error that keeps Jushuitan's `code` and `msg`.

use std::time::Duration;

use serde_json::Value;

use super::sign::{legacy_sign, open_sign};
use crate::config::{JushuitanApi, JushuitanShopConfig};

/// What can go wrong talking to Jushuitan.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JstError {
    /// No answer: connection, timeout, TLS.
    #[error("transport: {0}")]
    Transport(String),
    /// An HTTP status other than 200.
    #[error("HTTP status {0}")]
    Status(u16),
    /// An answer that is not the expected JSON.
    #[error("unreadable answer: {0}")]
    Garbage(String),
    /// Too many calls (codes 199/200): retry later.
    #[error("rate limited (code {code}): {msg}")]
    RateLimited {
        /// Jushuitan's code.
        code: i64,
        /// Jushuitan's message.
        msg: String,
    },
    /// The token expired: the open API's access token (code 100), or the legacy API's
    /// token (its answer says the token timed out).
    #[error("access token expired: {0}")]
    TokenExpired(String),
    /// The legacy token was refreshed and Jushuitan has not applied it yet (the seed:
    /// it takes effect some minutes after refresh.token): retry later.
    #[error("token refreshed, waiting for Jushuitan to apply it: {0}")]
    TokenRefreshPending(String),
    /// Any other refusal.
    #[error("refused (code {code}): {msg}")]
    Api {
        /// Jushuitan's code.
        code: i64,
        /// Jushuitan's message.
        msg: String,
    },
}

impl JstError {
    /// Whether trying again later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::Transport(_)
                | Self::Status(_)
                | Self::Garbage(_)
                | Self::RateLimited { .. }
                | Self::TokenRefreshPending(_)
        )
    }
}

/// The longest window of modified times Jushuitan answers, in days (起始结束时间不超过7天).
pub const MAX_WINDOW_DAYS: i64 = 7;

/// An operation, named per generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// Push orders.
    UploadOrders,
    /// Read orders by `so_ids` (status and logistics).
    QueryOrders,
    /// Read stock by `sku_ids`.
    QueryInventory,
    /// Read after-sale records in a window.
    QueryRefunds,
}

impl Operation {
    fn open_path(self) -> &'static str {
        match self {
            Self::UploadOrders => "/open/jushuitan/orders/upload",
            Self::QueryOrders => "/open/orders/single/query",
            Self::QueryInventory => "/open/inventory/query",
            Self::QueryRefunds => "/open/refund/single/query",
        }
    }

    fn legacy_method(self) -> &'static str {
        match self {
            Self::UploadOrders => "jushuitan.orders.upload",
            Self::QueryOrders => "orders.single.query",
            Self::QueryInventory => "inventory.query",
            Self::QueryRefunds => "refund.single.query",
        }
    }
}

/// Open API tokens.
#[derive(Clone, PartialEq, Eq)]
pub struct Tokens {
    /// Sent with every call.
    pub access_token: String,
    /// Exchanged for new tokens on expiry.
    pub refresh_token: String,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tokens(***)")
    }
}

/// A client of one shop's Jushuitan account.
#[derive(Debug, Clone)]
pub struct JushuitanClient {
    http: reqwest::Client,
    config: JushuitanShopConfig,
}

/// The text of an optional secret, empty when unset (config validation requires the
/// ones the chosen generation needs).
fn secret_text(secret: &Option<crate::config::Secret>) -> String {
    secret
        .as_ref()
        .map(|s| s.expose().to_owned())
        .unwrap_or_default()
}

fn unix_now() -> String {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
        .to_string()
}

impl JushuitanClient {
    /// A client for the shop's configuration.
    pub fn new(config: &JushuitanShopConfig) -> Result<Self, JstError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(config.timeout_secs))
            .connect_timeout(Duration::from_secs(config.timeout_secs.min(10)))
            .build()
            .map_err(|e| JstError::Transport(e.to_string()))?;
        Ok(Self {
            http,
            config: config.clone(),
        })
    }

    /// Which generation this client speaks.
    pub fn api(&self) -> JushuitanApi {
        self.config.api
    }

    /// The tokens from the configuration (used until refreshed ones are stored).
    pub fn configured_tokens(&self) -> Tokens {
        Tokens {
            access_token: secret_text(&self.config.access_token),
            refresh_token: secret_text(&self.config.refresh_token),
        }
    }

    fn base(&self) -> &str {
        self.config.base_url.trim_end_matches('/')
    }

    /// Runs `operation` with `biz` and answers the data: the open API's `data` object,
    /// or the legacy API's whole answer.
    pub async fn call(
        &self,
        operation: Operation,
        biz: &Value,
        tokens: &Tokens,
    ) -> Result<Value, JstError> {
        match self.config.api {
            JushuitanApi::Open => self.call_open(operation, biz, tokens).await,
            JushuitanApi::Legacy => self.call_legacy(operation, biz).await,
        }
    }

    async fn call_open(
        &self,
        operation: Operation,
        biz: &Value,
        tokens: &Tokens,
    ) -> Result<Value, JstError> {
        let app_key = self.config.app_key.clone().unwrap_or_default();
        let secret = secret_text(&self.config.app_secret);
        let mut form = vec![
            ("app_key".to_owned(), app_key),
            ("access_token".to_owned(), tokens.access_token.clone()),
            ("timestamp".to_owned(), unix_now()),
            ("charset".to_owned(), "utf-8".to_owned()),
            ("version".to_owned(), "2".to_owned()),
            ("biz".to_owned(), biz.to_string()),
        ];
        let sign = open_sign(&secret, &form);
        form.push(("sign".to_owned(), sign));
        let answer = self
            .post_form(&format!("{}{}", self.base(), operation.open_path()), &form)
            .await?;
        read_answer(answer, true)
    }

    async fn call_legacy(&self, operation: Operation, biz: &Value) -> Result<Value, JstError> {
        self.post_legacy(operation.legacy_method(), biz).await
    }

    /// Legacy API: asks Jushuitan to renew the token (`refresh.token`, seed FAQ 3); the
    /// same token works again once Jushuitan has applied it, some minutes later.
    pub async fn refresh_legacy(&self) -> Result<(), JstError> {
        self.post_legacy("refresh.token", &Value::Object(serde_json::Map::new()))
            .await
            .map(|_| ())
    }

    async fn post_legacy(&self, method: &str, biz: &Value) -> Result<Value, JstError> {
        // Seed FAQ 2: a partnerid refused as invalid is often one with spaces around it.
        let partner_id = self
            .config
            .partner_id
            .as_deref()
            .unwrap_or_default()
            .trim()
            .to_owned();
        let token = secret_text(&self.config.token).trim().to_owned();
        let key = secret_text(&self.config.partner_key).trim().to_owned();
        let ts = unix_now();
        let sign = legacy_sign(method, &partner_id, &token, &ts, &key);
        let url = format!("{}/api/open/query.aspx", self.base());
        let response = self
            .http
            .post(url)
            .query(&[
                ("method", method),
                ("partnerid", partner_id.as_str()),
                ("token", token.as_str()),
                ("ts", ts.as_str()),
                ("sign", sign.as_str()),
            ])
            .header("content-type", "application/json; charset=utf-8")
            .body(biz.to_string())
            .send()
            .await
            .map_err(|e| JstError::Transport(e.to_string()))?;
        let answer = read_json(response).await?;
        read_answer(answer, false)
    }

    /// Exchanges the refresh token for new tokens (open API).
    pub async fn refresh(&self, tokens: &Tokens) -> Result<(Tokens, Option<i64>), JstError> {
        let app_key = self.config.app_key.clone().unwrap_or_default();
        let secret = secret_text(&self.config.app_secret);
        let mut form = vec![
            ("app_key".to_owned(), app_key),
            ("timestamp".to_owned(), unix_now()),
            ("grant_type".to_owned(), "refresh_token".to_owned()),
            ("charset".to_owned(), "utf-8".to_owned()),
            ("refresh_token".to_owned(), tokens.refresh_token.clone()),
            ("scope".to_owned(), "all".to_owned()),
        ];
        let sign = open_sign(&secret, &form);
        form.push(("sign".to_owned(), sign));
        let answer = self
            .post_form(&format!("{}/openWeb/auth/refreshToken", self.base()), &form)
            .await?;
        let data = read_answer(answer, true)?;
        let text = |name: &str| data.get(name).and_then(Value::as_str).map(str::to_owned);
        match (text("access_token"), text("refresh_token")) {
            (Some(access_token), Some(refresh_token)) => Ok((
                Tokens {
                    access_token,
                    refresh_token,
                },
                data.get("expires_in").and_then(Value::as_i64),
            )),
            _ => Err(JstError::Garbage(
                "token refresh answered without tokens".to_owned(),
            )),
        }
    }

    async fn post_form(&self, url: &str, form: &[(String, String)]) -> Result<Value, JstError> {
        let response = self
            .http
            .post(url)
            .form(form)
            .send()
            .await
            .map_err(|e| JstError::Transport(e.to_string()))?;
        read_json(response).await
    }
}

/// A JSON value of an answer as text: strings as they are, numbers as written, null as
/// empty (Jushuitan writes ids and amounts either way). NUL characters are dropped: no
/// field needs one and PostgreSQL text cannot hold them, so one would stop a whole pull.
pub fn value_text(value: &Value) -> String {
    match value {
        Value::String(text) if text.contains('\0') => text.replace('\0', ""),
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

async fn read_json(response: reqwest::Response) -> Result<Value, JstError> {
    let status = response.status().as_u16();
    if status != 200 {
        return Err(JstError::Status(status));
    }
    let text = response
        .text()
        .await
        .map_err(|e| JstError::Transport(e.to_string()))?;
    serde_json::from_str(&text).map_err(|_| JstError::Garbage(text.chars().take(200).collect()))
}

/// Reads `code`/`msg`; answers `data` (open) or the answer itself (legacy).
fn read_answer(answer: Value, open: bool) -> Result<Value, JstError> {
    let code = match answer.get("code") {
        Some(Value::Number(n)) => n.as_i64().unwrap_or(-1),
        Some(Value::String(s)) => s.trim().parse().unwrap_or(-1),
        _ => {
            return Err(JstError::Garbage(
                answer.to_string().chars().take(200).collect(),
            ))
        }
    };
    let msg = answer
        .get("msg")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    match code {
        0 if open => Ok(answer.get("data").cloned().unwrap_or(Value::Null)),
        0 => Ok(answer),
        100 if open => Err(JstError::TokenExpired(msg)),
        _ if !open && says_token_timed_out(&msg) => Err(JstError::TokenExpired(msg)),
        199 | 200 => Err(JstError::RateLimited { code, msg }),
        _ => Err(JstError::Api { code, msg }),
    }
}

/// Whether a legacy answer's message says the token timed out (FAQ 3: 返回token超时).
fn says_token_timed_out(msg: &str) -> bool {
    let msg = msg.to_lowercase();
    msg.contains("token")
        && ["超时", "过期", "失效", "expire", "timeout"]
            .iter()
            .any(|word| msg.contains(word))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn answers_are_classified() {
        assert_eq!(
            read_answer(json!({"code":0,"data":{"a":1}}), true).unwrap(),
            json!({"a":1})
        );
        assert_eq!(
            read_answer(json!({"code":"0","datas":[]}), false).unwrap(),
            json!({"code":"0","datas":[]})
        );
        assert!(matches!(
            read_answer(json!({"code":100,"msg":"x"}), true),
            Err(JstError::TokenExpired(_))
        ));
        assert!(matches!(
            read_answer(json!({"code":199,"msg":"x"}), false),
            Err(JstError::RateLimited { .. })
        ));
        let refused = read_answer(json!({"code":10,"msg":"签名错误"}), true).unwrap_err();
        assert_eq!(
            refused,
            JstError::Api {
                code: 10,
                msg: "签名错误".to_owned()
            }
        );
        assert!(!refused.is_transient());
        assert!(matches!(
            read_answer(json!({"oops":1}), true),
            Err(JstError::Garbage(_))
        ));
        assert!(matches!(
            read_answer(
                json!({"code":-1,"issuccess":false,"msg":"token超时"}),
                false
            ),
            Err(JstError::TokenExpired(_))
        ));
        assert!(matches!(
            read_answer(json!({"code":-1,"issuccess":false,"msg":"签名错误"}), false),
            Err(JstError::Api { .. })
        ));
        assert_eq!(value_text(&json!("YT\u{0}1")), "YT1");
        assert_eq!(value_text(&json!(10086)), "10086");
    }
}
