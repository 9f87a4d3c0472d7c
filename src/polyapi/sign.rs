//! polysign: `md5_hex(lowercase(secret + k1 v1 k2 v2 … + secret))` over the received
//! parameters but `sign`, keys sorted by byte order.

use md5::{Digest, Md5};

/// The four public parameters some callers sign exclusively.
const PUBLIC: [&str; 4] = ["appkey", "bizcontent", "method", "token"];

/// Computes the sign of `params` (which must not contain `sign`) with Unicode lowercasing.
pub fn polysign(secret: &str, params: &[(String, String)]) -> String {
    sign_with(secret, params.iter(), str::to_lowercase)
}

fn sign_with<'a>(
    secret: &str,
    params: impl Iterator<Item = &'a (String, String)>,
    lowercase: fn(&str) -> String,
) -> String {
    let mut sorted: Vec<&(String, String)> = params.collect();
    sorted.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut text = String::with_capacity(
        secret.len() * 2 + sorted.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>(),
    );
    text.push_str(secret);
    for (key, value) in sorted {
        text.push_str(key);
        text.push_str(value);
    }
    text.push_str(secret);
    let digest = Md5::digest(lowercase(&text).as_bytes());
    hex(&digest)
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

/// Checks `given` against every sign a legitimate caller may have made: over all
/// parameters or over the four public ones, lowercased by Unicode or ASCII rules.
/// Case-insensitive, and every candidate is compared in constant time.
pub fn verify(secret: &str, params: &[(String, String)], given: &str) -> bool {
    let given = given.trim().to_ascii_lowercase();
    let unsigned: Vec<&(String, String)> = params.iter().filter(|(key, _)| key != "sign").collect();
    let public: Vec<&(String, String)> = unsigned
        .iter()
        .copied()
        .filter(|(key, _)| PUBLIC.contains(&key.as_str()))
        .collect();
    let mut matched = false;
    for set in [&unsigned, &public] {
        for lowercase in [
            str::to_lowercase as fn(&str) -> String,
            str::to_ascii_lowercase,
        ] {
            let expected = sign_with(secret, set.iter().copied(), lowercase);
            matched |= constant_time_eq(expected.as_bytes(), given.as_bytes());
        }
    }
    matched
}

/// Compares without an early exit.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut difference = a.len() ^ b.len();
    for (i, byte) in b.iter().enumerate() {
        difference |= usize::from(a.get(i).copied().unwrap_or(0) ^ byte);
    }
    difference == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vector() -> Vec<(String, String)> {
        [
            ("appkey", "k"),
            ("bizcontent", "{\"PageIndex\":1}"),
            ("method", "Differ.JH.Business.GetOrder"),
            ("token", "T"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    #[test]
    fn spec_test_vector() {
        assert_eq!(
            polysign("secret", &vector()),
            "5729d52f19b008695ba5a6df838ae23c"
        );
    }

    #[test]
    fn verification_accepts_either_case_and_parameter_set() {
        let mut params = vector();
        assert!(verify(
            "secret",
            &params,
            "5729D52F19B008695BA5A6DF838AE23C"
        ));
        params.push(("timestamp".to_owned(), "2024-01-01 00:00:00".to_owned()));
        // Signed over the four public parameters only, extra parameter present:
        assert!(verify(
            "secret",
            &params,
            "5729d52f19b008695ba5a6df838ae23c"
        ));
        // Signed over everything sent:
        let all = polysign("secret", &params);
        assert!(verify("secret", &params, &all));
        assert!(!verify(
            "secret",
            &params,
            "5729d52f19b008695ba5a6df838ae23d"
        ));
        assert!(!verify("other", &params, &all));
        assert!(!verify("secret", &params, ""));
    }

    #[test]
    fn unicode_and_ascii_lowercasing_both_verify() {
        let params = vec![
            ("appkey".to_owned(), "k".to_owned()),
            (
                "bizcontent".to_owned(),
                "{\"SellerMemo\":\"ÄÖ 备注\"}".to_owned(),
            ),
            (
                "method".to_owned(),
                "Differ.JH.Business.UpdateSellerMemo".to_owned(),
            ),
            ("token".to_owned(), "T".to_owned()),
        ];
        let unicode = sign_with("s", params.iter(), str::to_lowercase);
        let ascii = sign_with("s", params.iter(), str::to_ascii_lowercase);
        assert_ne!(unicode, ascii);
        assert!(verify("s", &params, &unicode));
        assert!(verify("s", &params, &ascii));
    }

    #[test]
    fn keys_sort_by_bytes() {
        let a = vec![
            ("b".to_owned(), "2".to_owned()),
            ("a".to_owned(), "1".to_owned()),
        ];
        let b = vec![
            ("a".to_owned(), "1".to_owned()),
            ("b".to_owned(), "2".to_owned()),
        ];
        assert_eq!(polysign("x", &a), polysign("x", &b));
    }
}
