//! The answer envelope: `code`/`message` plus the method's fields on success,
//! `subcode`/`submessage` on failure, rendered as JSON or XML. Always HTTP 200.

use serde::ser::{Serialize, SerializeMap, Serializer};
use std::sync::Arc;

use serde_json::value::RawValue;
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

/// The outcome code of a call that succeeded.
pub const SUCCESS_CODE: &str = "10000";

/// The outcome code of a call, for logs.
pub fn outcome_code(result: &Result<Answer, PolyError>) -> &'static str {
    match result {
        Ok(_) => SUCCESS_CODE,
        Err(error) => error.subcode.code(),
    }
}

/// A method's answer: its fields in order, then optionally one list whose items are
/// already rendered as JSON, so a page of large documents is serialised once, not built
/// as `Value`s first.
#[derive(Debug, Default)]
pub struct Answer {
    /// Fields as values.
    pub fields: Map<String, Value>,
    /// A list field of rendered JSON documents, after `fields`.
    pub rendered: Option<(String, Vec<Arc<RawValue>>)>,
}

impl From<Map<String, Value>> for Answer {
    fn from(fields: Map<String, Value>) -> Self {
        Self {
            fields,
            rendered: None,
        }
    }
}

/// The envelope of a call's result, ready to render.
#[derive(Debug)]
pub struct Envelope {
    head: Map<String, Value>,
    rendered: Option<(String, Vec<Arc<RawValue>>)>,
}

impl Envelope {
    /// The envelope as JSON text.
    pub fn to_json(&self) -> String {
        // Serialising maps of strings and raw JSON cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The envelope as a `Value` (the XML rendering and tests).
    pub fn to_value(&self) -> Map<String, Value> {
        let mut document = self.head.clone();
        if let Some((name, items)) = &self.rendered {
            let items = items
                .iter()
                .map(|item| serde_json::from_str(item.get()).unwrap_or(Value::Null))
                .collect();
            document.insert(name.clone(), Value::Array(items));
        }
        document
    }

    /// The envelope as an XML document.
    pub fn to_xml(&self) -> String {
        to_xml(&self.to_value())
    }
}

impl Serialize for Envelope {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        for (name, value) in &self.head {
            map.serialize_entry(name, value)?;
        }
        if let Some((name, items)) = &self.rendered {
            let items: Vec<&RawValue> = items.iter().map(|item| &**item).collect();
            map.serialize_entry(name, &items)?;
        }
        map.end()
    }
}

/// The envelope of a call's result.
pub fn envelope(result: Result<Answer, PolyError>) -> Envelope {
    let mut head = Map::new();
    let mut rendered = None;
    match result {
        Ok(answer) => {
            head.insert("code".to_owned(), Value::from("10000"));
            head.insert("message".to_owned(), Value::from("SUCCESS"));
            head.extend(answer.fields);
            rendered = answer.rendered;
        }
        Err(error) => {
            head.insert("code".to_owned(), Value::from("40000"));
            head.insert("message".to_owned(), Value::from(error.subcode.message()));
            head.insert("subcode".to_owned(), Value::from(error.subcode.code()));
            head.insert("submessage".to_owned(), Value::from(error.submessage));
        }
    }
    Envelope { head, rendered }
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
            out.push_str(&crate::xml_text::escape(text));
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn success_and_failure_envelopes() {
        let mut fields = Map::new();
        fields.insert("numtotalorder".to_owned(), json!(0));
        fields.insert("orders".to_owned(), json!([]));
        let ok = envelope(Ok(fields.into()));
        assert_eq!(
            Value::Object(ok.to_value()),
            json!({"code":"10000","message":"SUCCESS","numtotalorder":0,"orders":[]})
        );
        let err = envelope(Err(PolyError::missing("PlatOrderNo"))).to_value();
        assert_eq!(err["subcode"], "GSE.MISS_PARAMETER");
        assert_eq!(err["code"], "40000");
        assert!(err["submessage"].as_str().unwrap().contains("PlatOrderNo"));
    }

    #[test]
    fn rendered_documents_follow_the_fields_in_json_and_xml() {
        let mut fields = Map::new();
        fields.insert("numtotalorder".to_owned(), json!(2));
        let items = vec![
            Arc::from(serde_json::value::to_raw_value(&json!({"PlatOrderNo": "a\"1"})).unwrap()),
            Arc::from(serde_json::value::to_raw_value(&json!({"PlatOrderNo": "b"})).unwrap()),
        ];
        let answer = Answer {
            fields,
            rendered: Some(("orders".to_owned(), items)),
        };
        let document = envelope(Ok(answer));
        assert_eq!(
            document.to_json(),
            r#"{"code":"10000","message":"SUCCESS","numtotalorder":2,"orders":[{"PlatOrderNo":"a\"1"},{"PlatOrderNo":"b"}]}"#
        );
        assert!(document
            .to_xml()
            .ends_with("<numtotalorder>2</numtotalorder><orders><PlatOrderNo>a&quot;1</PlatOrderNo></orders><orders><PlatOrderNo>b</PlatOrderNo></orders></response>"));
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
