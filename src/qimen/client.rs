//! Posts signed Qimen requests to the warehouse and reads `<response>` or `<error_response>`.

use std::time::Duration;

use serde::Deserialize;

use super::sign::qimen_sign;
use crate::config::WmsShopConfig;

/// What can go wrong calling the warehouse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WmsError {
    /// No answer.
    #[error("transport: {0}")]
    Transport(String),
    /// An HTTP status other than 200.
    #[error("HTTP status {0}")]
    Status(u16),
    /// An answer that is not a Qimen response.
    #[error("unreadable answer: {0}")]
    Garbage(String),
    /// `<flag>failure</flag>`: the warehouse refused; trying again as is will not help.
    #[error("warehouse refused (code {code}): {message}")]
    Refused {
        /// Its code.
        code: String,
        /// Its message.
        message: String,
    },
    /// `<error_response>` from the gateway.
    #[error("gateway error {code} {sub_code}: {msg} {sub_msg}")]
    Gateway {
        /// Code.
        code: String,
        /// Message.
        msg: String,
        /// Sub-code.
        sub_code: String,
        /// Sub-message.
        sub_msg: String,
    },
}

impl WmsError {
    /// Whether trying again later may succeed. A gateway error that says the request
    /// itself is wrong (an `isv.*` sub-code, missing or invalid parameters) will fail
    /// the same way every time; service and transport trouble may pass.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Transport(_) | Self::Status(_) | Self::Garbage(_) => true,
            Self::Refused { .. } => false,
            Self::Gateway { code, sub_code, .. } => !request_is_wrong(code, sub_code),
        }
    }
}

/// Whether a gateway error blames the request: an `isv.` sub-code (the caller's fault
/// in the Qimen/TOP scheme), or code 40 (missing parameters) / 41 (invalid parameters).
fn request_is_wrong(code: &str, sub_code: &str) -> bool {
    let sub_code = sub_code.trim().to_ascii_lowercase();
    sub_code.starts_with("isv.")
        || sub_code.contains("invalid-parameter")
        || sub_code.contains("missing-parameter")
        || matches!(code.trim(), "40" | "41")
}

/// `<response>`
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Response {
    /// success or failure.
    #[serde(default)]
    pub flag: String,
    /// Code.
    #[serde(default)]
    pub code: String,
    /// Message.
    #[serde(default)]
    pub message: String,
    /// inventory.query's items.
    #[serde(default)]
    pub items: Option<ResponseItems>,
}

/// `<items>` of an answer.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ResponseItems {
    /// `<item>` elements.
    #[serde(default)]
    pub item: Vec<ResponseItem>,
}

/// `<item>` of inventory.query's answer; numbers arrive as text.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ResponseItem {
    /// Merchant item code.
    #[serde(rename = "itemCode", default)]
    pub item_code: String,
    /// Quantity on hand.
    #[serde(default)]
    pub quantity: String,
    /// Quantity locked.
    #[serde(rename = "lockQuantity", default)]
    pub lock_quantity: String,
}

#[derive(Debug, Default, Deserialize)]
struct ErrorResponse {
    #[serde(default)]
    code: String,
    #[serde(default)]
    msg: String,
    #[serde(default)]
    sub_code: String,
    #[serde(default)]
    sub_msg: String,
}

/// A client of one shop's warehouse.
#[derive(Debug, Clone)]
pub struct WmsClient {
    http: reqwest::Client,
    config: WmsShopConfig,
}

impl WmsClient {
    /// A client for the shop's configuration.
    pub fn new(config: &WmsShopConfig) -> Result<Self, WmsError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(config.timeout_secs))
            .build()
            .map_err(|e| WmsError::Transport(e.to_string()))?;
        Ok(Self {
            http,
            config: config.clone(),
        })
    }

    /// Posts `body` (a whole XML document) as `method` and reads the answer.
    pub async fn call(
        &self,
        method: &str,
        body: &str,
        timestamp: &str,
    ) -> Result<Response, WmsError> {
        let mut params = vec![
            ("app_key".to_owned(), self.config.app_key.clone()),
            ("customerId".to_owned(), self.config.customer_id.clone()),
            ("format".to_owned(), "xml".to_owned()),
            (
                "method".to_owned(),
                format!("{}{method}", self.config.method_prefix),
            ),
            ("sign_method".to_owned(), "md5".to_owned()),
            ("timestamp".to_owned(), timestamp.to_owned()),
            ("v".to_owned(), "2.0".to_owned()),
        ];
        let sign = qimen_sign(self.config.secret.expose(), &params, body.as_bytes());
        params.push(("sign".to_owned(), sign));
        let response = self
            .http
            .post(&self.config.url)
            .query(&params)
            .header("content-type", "text/xml;charset=utf-8")
            .body(body.to_owned())
            .send()
            .await
            .map_err(|e| WmsError::Transport(e.to_string()))?;
        let status = response.status().as_u16();
        if status != 200 {
            return Err(WmsError::Status(status));
        }
        let text = response
            .text()
            .await
            .map_err(|e| WmsError::Transport(e.to_string()))?;
        read_answer(&text)
    }
}

/// Reads a `<response>` or `<error_response>`.
pub fn read_answer(text: &str) -> Result<Response, WmsError> {
    let garbage = || WmsError::Garbage(text.chars().take(200).collect());
    if text.contains("<error_response") {
        let error: ErrorResponse = quick_xml::de::from_str(text).map_err(|_| garbage())?;
        return Err(WmsError::Gateway {
            code: error.code,
            msg: error.msg,
            sub_code: error.sub_code,
            sub_msg: error.sub_msg,
        });
    }
    let response: Response = quick_xml::de::from_str(text).map_err(|_| garbage())?;
    match response.flag.trim() {
        "success" => Ok(response),
        "failure" => Err(WmsError::Refused {
            code: response.code,
            message: response.message,
        }),
        _ => Err(garbage()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_read() {
        let ok = read_answer("<?xml version=\"1.0\"?><response><flag>success</flag><code>0</code><message>ok</message></response>").unwrap();
        assert_eq!(ok.code, "0");
        let refused = read_answer("<response><flag>failure</flag><code>E1</code><message>收件人电话为空</message></response>").unwrap_err();
        assert!(!refused.is_transient());
        assert!(refused.to_string().contains("收件人电话为空"));
        let gateway = read_answer("<error_response><code>50</code><msg>Remote service error</msg><sub_code>isp.timeout</sub_code><sub_msg>y</sub_msg></error_response>").unwrap_err();
        assert!(gateway.is_transient());
        let ours = read_answer("<error_response><code>50</code><msg>Remote service error</msg><sub_code>isv.invalid-parameter</sub_code><sub_msg>非法参数</sub_msg></error_response>").unwrap_err();
        assert!(!ours.is_transient());
        assert!(ours.to_string().contains("非法参数"));
        let missing = read_answer(
            "<error_response><code>40</code><msg>Missing Required Arguments</msg></error_response>",
        )
        .unwrap_err();
        assert!(!missing.is_transient());
        assert!(read_answer("<html>").is_err());
        let stock = read_answer("<response><flag>success</flag><items><item><itemCode>A</itemCode><quantity>5</quantity><lockQuantity>1</lockQuantity></item><item><itemCode>B</itemCode><quantity></quantity></item></items></response>").unwrap();
        assert_eq!(stock.items.unwrap().item.len(), 2);
    }
}
