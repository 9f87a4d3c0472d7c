//! polysign: `md5_hex(lowercase(secret + k1 v1 k2 v2 … + secret))` over the received
//! parameters but `sign`, keys sorted by byte order.
//!
//! Callers differ in what they sign and how they lowercase, so a sign is accepted when
//! it matches any way a legitimate caller makes it: over every parameter or over the
//! four public ones; the whole text lowercased by Unicode rules (Java, .NET), by ASCII
//! rules (PHP), or character by character with the secret left as it is (a public Go
//! client). Every candidate is computed and compared in constant time, so the answer
//! and its timing do not tell which one came close.

use md5::{Digest, Md5};
use subtle::ConstantTimeEq;

/// The four public parameters most callers sign exclusively. Every accepted way of
/// signing covers them, so a call that reads only these reads only signed values.
pub const PUBLIC: [&str; 4] = ["appkey", "bizcontent", "method", "token"];

/// How a caller lowercases the text it signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lowercasing {
    /// The whole text by Unicode rules, final sigma and all (`str::to_lowercase`).
    Unicode,
    /// ASCII letters only.
    Ascii,
    /// Each character on its own by its simple mapping (Σ → σ anywhere, İ → i), as
    /// Go's `strings.ToLower` does; the secret keeps its case.
    PerCharacter,
}

impl Lowercasing {
    const ALL: [Self; 3] = [Self::Unicode, Self::Ascii, Self::PerCharacter];

    fn apply(self, text: &str) -> String {
        match self {
            Self::Unicode => text.to_lowercase(),
            Self::Ascii => text.to_ascii_lowercase(),
            Self::PerCharacter => text
                .chars()
                .map(|c| c.to_lowercase().next().unwrap_or(c))
                .collect(),
        }
    }
}

/// Computes the sign of `params` (which must not contain `sign`) with Unicode lowercasing.
pub fn polysign(secret: &str, params: &[(String, String)]) -> String {
    let refs: Vec<&(String, String)> = params.iter().collect();
    hex(&digest(secret, &concatenated(refs), Lowercasing::Unicode))
}

/// `k1v1k2v2…` of `params`, keys sorted by bytes.
fn concatenated(mut params: Vec<&(String, String)>) -> String {
    params.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut text = String::with_capacity(params.iter().map(|(k, v)| k.len() + v.len()).sum());
    for (key, value) in params {
        text.push_str(key);
        text.push_str(value);
    }
    text
}

fn digest(secret: &str, concatenated: &str, lowercasing: Lowercasing) -> [u8; 16] {
    let mut hasher = Md5::new();
    match lowercasing {
        Lowercasing::PerCharacter => {
            hasher.update(secret.as_bytes());
            hasher.update(lowercasing.apply(concatenated).as_bytes());
            hasher.update(secret.as_bytes());
        }
        // Lowercased as one text: Unicode's final-sigma rule looks across the joins.
        Lowercasing::Unicode | Lowercasing::Ascii => {
            let whole = lowercasing.apply(&format!("{secret}{concatenated}{secret}"));
            hasher.update(whole.as_bytes());
        }
    }
    hasher.finalize().into()
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

/// Checks `given` (hex in any case) against every way of signing `params` (all received
/// parameters; `sign` itself is left out) described in the module documentation.
pub fn verify(secret: &str, params: &[(String, String)], given: &str) -> bool {
    verify_any(&[secret], params, given)
}

/// [`verify`] with several secrets (the current appsecret and, during a rotation's
/// overlap, the previous one): every candidate of every secret is computed and
/// compared in constant time, so neither the answer's timing nor its content tells
/// which secret or which way came close.
pub fn verify_any(secrets: &[&str], params: &[(String, String)], given: &str) -> bool {
    let given = given.trim().to_ascii_lowercase();
    let unsigned: Vec<&(String, String)> = params
        .iter()
        .filter(|(key, _)| !key.eq_ignore_ascii_case("sign"))
        .collect();
    let public: Vec<&(String, String)> = unsigned
        .iter()
        .copied()
        .filter(|(key, _)| PUBLIC.iter().any(|name| key.eq_ignore_ascii_case(name)))
        .collect();
    let mut sets = vec![concatenated(unsigned.clone())];
    // With nothing but the public parameters sent, both sets are the same text.
    if public.len() != unsigned.len() {
        sets.push(concatenated(public));
    }
    let mut matched = subtle::Choice::from(0);
    for secret in secrets {
        for text in &sets {
            for lowercasing in Lowercasing::ALL {
                let expected = hex(&digest(secret, text, lowercasing));
                matched |= expected.as_bytes().ct_eq(given.as_bytes());
            }
        }
    }
    matched.into()
}

/// Whether `secret` has letters that lowercasing changes: callers that keep the secret's
/// case then sign differently from those that lowercase it.
pub fn secret_has_upper_case(secret: &str) -> bool {
    secret.chars().any(char::is_uppercase)
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
        assert!(verify_any(&["other", "secret"], &params, &all));
        assert!(!verify_any(&["other", "another"], &params, &all));
        assert!(!verify("secret", &params, ""));
    }

    fn memo_call(memo: &str) -> Vec<(String, String)> {
        vec![
            ("appkey".to_owned(), "k".to_owned()),
            (
                "bizcontent".to_owned(),
                format!("{{\"SellerMemo\":\"{memo}\"}}"),
            ),
            (
                "method".to_owned(),
                "Differ.JH.Business.UpdateSellerMemo".to_owned(),
            ),
            ("token".to_owned(), "T".to_owned()),
        ]
    }

    /// The sign an independent caller makes: the secret and the parameters joined and
    /// lowercased by `lower_params`, the secret by `lower_secret`.
    fn signed_by(
        secret: &str,
        params: &[(String, String)],
        lower_secret: impl Fn(&str) -> String,
        lower_params: impl Fn(&str) -> String,
    ) -> String {
        let mut sorted: Vec<&(String, String)> = params.iter().collect();
        sorted.sort();
        let joined: String = sorted.iter().map(|(k, v)| format!("{k}{v}")).collect();
        let text = format!(
            "{}{}{}",
            lower_secret(secret),
            lower_params(&joined),
            lower_secret(secret)
        );
        format!("{:x}", Md5::digest(text.as_bytes()))
    }

    #[test]
    fn unicode_and_ascii_lowercasing_both_verify() {
        let params = memo_call("ÄÖ 备注");
        let unicode = signed_by("s", &params, str::to_lowercase, str::to_lowercase);
        let ascii = signed_by(
            "s",
            &params,
            str::to_ascii_lowercase,
            str::to_ascii_lowercase,
        );
        assert_ne!(unicode, ascii);
        assert!(verify("s", &params, &unicode));
        assert!(verify("s", &params, &ascii));
    }

    /// A public Go client keeps the secret's case and lowercases rune by rune: a final
    /// Σ becomes σ (not ς) and İ becomes i (not i̇).
    #[test]
    fn per_character_lowercasing_with_the_secret_as_sent_verifies() {
        let go_lower = |text: &str| -> String {
            text.chars()
                .map(|c| match c {
                    'Σ' => 'σ',
                    'İ' => 'i',
                    other => other.to_lowercase().next().unwrap_or(other),
                })
                .collect()
        };
        let params = memo_call("ΟΔΟΣ İstanbul");
        let go = signed_by("MixedCase", &params, str::to_owned, go_lower);
        let java = signed_by("MixedCase", &params, str::to_lowercase, str::to_lowercase);
        assert_ne!(go, java, "final sigma, İ and the secret's case all differ");
        assert!(verify("MixedCase", &params, &go));
        assert!(verify("MixedCase", &params, &java));
        // Another secret, or a changed parameter, still fails.
        assert!(!verify("mixedcase-other", &params, &go));
        assert!(!verify("MixedCase", &memo_call("ΟΔΟΣ İzmir"), &go));
        assert!(secret_has_upper_case("MixedCase"));
        assert!(!secret_has_upper_case("lower-123"));
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
