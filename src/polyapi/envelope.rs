//! The answer envelope: `code`/`message` plus the method's fields on success,
//! `subcode`/`submessage` on failure, rendered as JSON or XML. Always HTTP 200.

use serde_json::{Map, Value};

/// The failure classes of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubCode {
    /// A public parameter or required field is missing or empty.
    MissParameter,
    /// A value has the wrong type, format or range.
    InvalidParameter,
    /// The sign does not match.
    VerifySignFailure,
    /// Unknown appkey, or token unknown for it.
    AppkeyFailure,
    /// Unknown method.
    IllegalAccess,
    /// A method this shop has switched off.
    PlatNotSupport,
    /// A business rule refused.
    LogicError,
    /// Anything unexpected.
    SystemError,
}

impl SubCode {
    /// The wire code, e.g. `GSE.LOGIC_ERROR`.
    pub fn code(self) -> &'static str {
        match self {
            Self::MissParameter => "GSE.MISS_PARAMETER",
            Self::InvalidParameter => "GSE.INVALID_PARAMETER",
            Self::VerifySignFailure => "GSE.VERIFYSIGN_FAILURE",
            Self::AppkeyFailure => "GSE.APPKEY_FAILURE",
            Self::IllegalAccess => "GSE.ILLEGAL_ACCESS",
            Self::PlatNotSupport => "GSE.PLAT_NOT_SUPPORT",
            Self::LogicError => "GSE.LOGIC_ERROR",
            Self::SystemError => "GSE.SYSTEM_ERROR",
        }
    }

    fn message(self) -> &'static str {
        match self {
            Self::MissParameter => "Missing Parameter",
            Self::InvalidParameter => "Invalid Parameter",
            Self::VerifySignFailure => "Verify Sign Failure",
            Self::AppkeyFailure => "Invalid AppKey",
            Self::IllegalAccess => "Illegal Access",
            Self::PlatNotSupport => "Platform Not Support",
            Self::LogicError => "Logic Error",
            Self::SystemError => "System Error",
        }
    }
}

/// A refused call: the class and a human-readable reason naming the field or rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {submessage}", subcode.code())]
pub struct PolyError {
    /// The class.
    pub subcode: SubCode,
    /// What is wrong.
    pub submessage: String,
}

impl PolyError {
    /// A refusal of class `subcode`.
    pub fn new(subcode: SubCode, submessage: impl Into<String>) -> Self {
        Self {
            subcode,
            submessage: submessage.into(),
        }
    }

    /// A missing parameter or field.
    pub fn missing(field: &str) -> Self {
        Self::new(SubCode::MissParameter, format!("{field} is required"))
    }

    /// An invalid value.
    pub fn invalid(field: &str, why: impl std::fmt::Display) -> Self {
        Self::new(SubCode::InvalidParameter, format!("{field}: {why}"))
    }
}

/// The outcome code of a call, for logs.
pub fn outcome_code(result: &Result<Map<String, Value>, PolyError>) -> &'static str {
    match result {
        Ok(_) => "10000",
        Err(error) => error.subcode.code(),
    }
}

/// The envelope of a call's result.
pub fn envelope(result: Result<Map<String, Value>, PolyError>) -> Map<String, Value> {
    let mut document = Map::new();
    match result {
        Ok(fields) => {
            document.insert("code".to_owned(), Value::from("10000"));
            document.insert("message".to_owned(), Value::from("SUCCESS"));
            document.extend(fields);
        }
        Err(error) => {
            document.insert("code".to_owned(), Value::from("40000"));
            document.insert("message".to_owned(), Value::from(error.subcode.message()));
            document.insert("subcode".to_owned(), Value::from(error.subcode.code()));
            document.insert("submessage".to_owned(), Value::from(error.submessage));
        }
    }
    document
}

/// Renders the envelope as an XML document: `<response>` with one element per field,
/// lists as repeated elements named like the list.
pub fn to_xml(document: &Map<String, Value>) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?><response>");
    for (key, value) in document {
        write_element(&mut out, key, value);
    }
    out.push_str("</response>");
    out
}

fn write_element(out: &mut String, name: &str, value: &Value) {
    match value {
        Value::Array(items) => {
            for item in items {
                write_element(out, name, item);
            }
        }
        Value::Object(fields) => {
            open(out, name);
            for (key, value) in fields {
                write_element(out, key, value);
            }
            close(out, name);
        }
        Value::Null => {
            open(out, name);
            close(out, name);
        }
        Value::String(text) => {
            open(out, name);
            escape_into(out, text);
            close(out, name);
        }
        Value::Bool(_) | Value::Number(_) => {
            open(out, name);
            out.push_str(&value.to_string());
            close(out, name);
        }
    }
}

fn open(out: &mut String, name: &str) {
    out.push('<');
    out.push_str(name);
    out.push('>');
}

fn close(out: &mut String, name: &str) {
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

/// Escapes text content; characters XML 1.0 cannot carry are dropped.
fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {}
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn success_and_failure_envelopes() {
        let mut fields = Map::new();
        fields.insert("numtotalorder".to_owned(), json!(0));
        fields.insert("orders".to_owned(), json!([]));
        let ok = envelope(Ok(fields));
        assert_eq!(
            Value::Object(ok),
            json!({"code":"10000","message":"SUCCESS","numtotalorder":0,"orders":[]})
        );
        let err = envelope(Err(PolyError::missing("PlatOrderNo")));
        assert_eq!(err["subcode"], "GSE.MISS_PARAMETER");
        assert_eq!(err["code"], "40000");
        assert!(err["submessage"].as_str().unwrap().contains("PlatOrderNo"));
    }

    #[test]
    fn xml_repeats_list_elements_and_escapes() {
        let document =
            json!({"code":"10000","orders":[{"PlatOrderNo":"a<&>"},{"PlatOrderNo":"b"}],"n":1.5});
        let xml = to_xml(document.as_object().unwrap());
        assert_eq!(
            xml,
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><response><code>10000</code>\
             <orders><PlatOrderNo>a&lt;&amp;&gt;</PlatOrderNo></orders><orders><PlatOrderNo>b</PlatOrderNo></orders>\
             <n>1.5</n></response>"
        );
    }
}
