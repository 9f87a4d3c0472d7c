//! The two signatures of Jushuitan's API generations.

use md5::{Digest, Md5};

fn md5_hex(text: &str) -> String {
    Md5::digest(text.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Open API: `md5_hex(app_secret + k1v1k2v2…)` over the form parameters but `sign`,
/// keys sorted by bytes.
pub fn open_sign(app_secret: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> =
        params.iter().filter(|(key, _)| key != "sign").collect();
    sorted.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut text = app_secret.to_owned();
    for (key, value) in sorted {
        text.push_str(key);
        text.push_str(value);
    }
    md5_hex(&text)
}

/// Legacy API: `md5_hex(method + partnerid + "token" + token + "ts" + ts + partnerkey)`.
pub fn legacy_sign(
    method: &str,
    partner_id: &str,
    token: &str,
    ts: &str,
    partner_key: &str,
) -> String {
    md5_hex(&format!(
        "{method}{partner_id}token{token}ts{ts}{partner_key}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_vector() {
        let params = vec![
            ("timestamp".to_owned(), "100".to_owned()),
            ("app_key".to_owned(), "app".to_owned()),
            ("charset".to_owned(), "utf-8".to_owned()),
        ];
        assert_eq!(
            open_sign("secret", &params),
            "706427ca94e342781ac36d501151cb10"
        );
    }

    #[test]
    fn legacy_vector() {
        assert_eq!(
            legacy_sign(
                "shops.query",
                "ywv5jGT8ge6Pvlq3FZSPol345asd",
                "181ee8952a88f5a57db52587472c3798",
                "1608000837",
                "ywv5jGT8ge6Pvlq3FZSPol2323"
            ),
            "403697654caffbbfe21a841782b6af8f"
        );
    }
}
