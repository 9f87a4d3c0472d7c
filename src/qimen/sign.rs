//! The Qimen sign: `md5_HEX(secret + k1v1k2v2… + body + secret)` over the query
//! parameters but `sign` (empty values skipped, keys sorted) and the exact body bytes.

use md5::{Digest, Md5};

/// Computes the upper-case sign.
pub fn qimen_sign(secret: &str, params: &[(String, String)], body: &[u8]) -> String {
    let mut sorted: Vec<&(String, String)> = params
        .iter()
        .filter(|(key, value)| key != "sign" && !value.is_empty())
        .collect();
    sorted.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut hasher = Md5::new();
    hasher.update(secret.as_bytes());
    for (key, value) in sorted {
        hasher.update(key.as_bytes());
        hasher.update(value.as_bytes());
    }
    hasher.update(body);
    hasher.update(secret.as_bytes());
    hasher
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02X}"))
        .collect()
}

/// Checks a received sign (any case) in constant time.
pub fn verify(secret: &str, params: &[(String, String)], body: &[u8], given: &str) -> bool {
    use subtle::ConstantTimeEq;
    let expected = qimen_sign(secret, params, body);
    let given = given.trim().to_ascii_uppercase();
    expected.as_bytes().ct_eq(given.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_vector() {
        let params: Vec<(String, String)> = [
            ("app_key", "testerp_appkey"),
            ("customerId", "stub-cust-code"),
            ("format", "xml"),
            ("method", "deliveryorder.create"),
            ("sign_method", "md5"),
            ("timestamp", "2015-04-26 00:00:07"),
            ("v", "2.0"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let body = "<?xml version=\"1.0\" encoding=\"utf-8\"?><request><deliveryOrder><deliveryOrderCode>D1</deliveryOrderCode></deliveryOrder></request>";
        let sign = qimen_sign("test", &params, body.as_bytes());
        assert_eq!(sign, "56EE60A46D93095BF771CA1614477228");
        assert!(verify(
            "test",
            &params,
            body.as_bytes(),
            &sign.to_lowercase()
        ));
        assert!(!verify("test", &params, b"<request/>", &sign));
    }
}
