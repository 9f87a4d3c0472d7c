//! A Polyapi caller written from the specification alone: it signs with its own code,
//! not the server's.

use md5::{Digest, Md5};
use serde_json::Value;

use crate::helpers::TestApp;

/// The sign as the contract defines it: md5 hex of the lowercased
/// `secret + k1v1k2v2… + secret`, keys sorted by bytes, `sign` excluded.
pub fn sign(secret: &str, params: &[(&str, String)]) -> String {
    let mut sorted: Vec<&(&str, String)> = params.iter().collect();
    sorted.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut plain = secret.to_owned();
    for (key, value) in sorted {
        plain += key;
        plain += value;
    }
    plain += secret;
    Md5::digest(plain.to_lowercase().as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// A signed caller of one shop.
pub struct PolyClient<'a> {
    pub app: &'a TestApp,
    pub appkey: &'static str,
    pub secret: &'static str,
    pub token: &'static str,
}

impl<'a> PolyClient<'a> {
    /// The caller of the test shop `demo`.
    pub fn demo(app: &'a TestApp) -> Self {
        Self {
            app,
            appkey: "k",
            secret: "secret",
            token: "T",
        }
    }

    /// The signed parameters of a call, plus any `extra` (also signed).
    pub fn params(
        &self,
        method: &str,
        biz: &Value,
        extra: &[(&'static str, &str)],
    ) -> Vec<(&'static str, String)> {
        let mut params = vec![
            ("appkey", self.appkey.to_owned()),
            ("token", self.token.to_owned()),
            ("method", format!("Differ.JH.Business.{method}")),
            ("bizcontent", biz.to_string()),
        ];
        for (key, value) in extra {
            params.push((key, (*value).to_owned()));
        }
        let signature = sign(self.secret, &params);
        params.push(("sign", signature));
        params
    }

    /// Sends parameters as an urlencoded form; answers the parsed JSON body.
    pub async fn send_form(&self, params: &[(&'static str, String)]) -> Value {
        let response = self
            .app
            .client
            .post(format!("{}/polyapi", self.app.address))
            .form(params)
            .send()
            .await
            .expect("request");
        assert_eq!(
            response.status().as_u16(),
            200,
            "Polyapi answers HTTP 200 always"
        );
        response.json().await.expect("JSON envelope")
    }

    /// Sends parameters as multipart/form-data.
    pub async fn send_multipart(&self, params: &[(&'static str, String)]) -> Value {
        let mut form = reqwest::multipart::Form::new();
        for (key, value) in params {
            form = form.text(*key, value.clone());
        }
        let response = self
            .app
            .client
            .post(format!("{}/polyapi", self.app.address))
            .multipart(form)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status().as_u16(), 200);
        response.json().await.expect("JSON envelope")
    }

    /// A signed call as an urlencoded form.
    pub async fn call(&self, method: &str, biz: Value) -> Value {
        let params = self.params(method, &biz, &[]);
        self.send_form(&params).await
    }
}

/// The form of a call of `method` by the demo shop's appkey `k` (secret `secret`, token
/// `T`), signed — for tests that drive a server they started themselves.
pub fn signed_form(method: &str, biz: &Value) -> Vec<(&'static str, String)> {
    let mut params = vec![
        ("appkey", "k".to_owned()),
        ("token", "T".to_owned()),
        ("method", format!("Differ.JH.Business.{method}")),
        ("bizcontent", biz.to_string()),
    ];
    let signature = sign("secret", &params);
    params.push(("sign", signature));
    params
}

/// Asserts a success envelope and answers it.
pub fn ok(answer: Value) -> Value {
    assert_eq!(answer["code"], "10000", "expected success: {answer}");
    assert_eq!(answer["message"], "SUCCESS");
    answer
}

/// Asserts a failure with `subcode` whose submessage mentions `mention`.
pub fn fails(answer: &Value, subcode: &str, mention: &str) {
    assert_eq!(answer["code"], "40000", "expected failure: {answer}");
    assert_eq!(answer["subcode"], subcode, "{answer}");
    let message = answer["submessage"].as_str().unwrap_or_default();
    assert!(
        message.contains(mention),
        "submessage `{message}` should mention `{mention}`"
    );
}

#[test]
fn the_spec_vector_signs_as_specified() {
    let params = vec![
        ("appkey", "k".to_owned()),
        ("bizcontent", "{\"PageIndex\":1}".to_owned()),
        ("method", "Differ.JH.Business.GetOrder".to_owned()),
        ("token", "T".to_owned()),
    ];
    assert_eq!(sign("secret", &params), "5729d52f19b008695ba5a6df838ae23c");
}
