//! `bizcontent`: a JSON object read leniently (keys in any case, numbers as strings,
//! several time separators) into strictly checked values.

use chrono::{FixedOffset, NaiveDateTime};
use serde_json::{Map, Value};

use super::envelope::{PolyError, SubCode};
use super::wire::parse_shop_time;
use crate::shop::Page;

/// The parsed business content of a call.
#[derive(Debug, Clone, Default)]
pub struct Biz {
    fields: Map<String, Value>,
}

impl Biz {
    /// Parses the parameter's text. Empty means no fields.
    pub fn parse(text: &str) -> Result<Self, PolyError> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(Self::default());
        }
        if !text.starts_with('{') {
            return Err(PolyError::invalid("bizcontent", "must be a JSON object"));
        }
        let Members(object) = serde_json::from_str(text)
            .map_err(|e| PolyError::invalid("bizcontent", format!("is not JSON ({e})")))?;
        // PostgreSQL text cannot hold NUL; no field of any method needs one.
        if let Some(key) = object
            .iter()
            .find(|(key, value)| key.contains('\0') || holds_nul(value))
            .map(|(k, _)| k)
        {
            return Err(PolyError::invalid(
                key.trim_matches('\0'),
                "contains a NUL character",
            ));
        }
        // Keys folded to lowercase; peers send `PageIndex`, `pageindex`, `Logisticno`… A
        // key with stray spaces (the seed's own example has `"OrderType "`) counts too.
        // Two keys that fold alike would leave it to chance which one the call reads.
        let mut fields = Map::new();
        for (key, value) in object {
            let folded = key.trim().to_lowercase();
            if fields.insert(folded, value).is_some() {
                return Err(PolyError::invalid(
                    key.trim(),
                    "is given more than once in bizcontent (keys count in any case)",
                ));
            }
        }
        Ok(Self { fields })
    }

    fn raw(&self, name: &str) -> Option<&Value> {
        self.fields.get(&name.to_lowercase())
    }

    /// A text field; numbers are taken as their text, `null` and `""` as absent.
    pub fn text(&self, name: &str) -> Result<Option<String>, PolyError> {
        match self.raw(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) if text.trim().is_empty() => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.trim().to_owned())),
            Some(Value::Number(number)) => Ok(Some(number.to_string())),
            Some(Value::Bool(flag)) => Ok(Some(flag.to_string())),
            Some(_) => Err(PolyError::invalid(name, "must be a string")),
        }
    }

    /// A text field that must be present and non-empty.
    pub fn required_text(&self, name: &str) -> Result<String, PolyError> {
        self.text(name)?.ok_or_else(|| PolyError::missing(name))
    }

    /// A text field kept verbatim (no trimming), for free text such as memos.
    pub fn verbatim(&self, name: &str) -> Result<Option<String>, PolyError> {
        match self.raw(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.clone())),
            Some(Value::Number(number)) => Ok(Some(number.to_string())),
            Some(_) => Err(PolyError::invalid(name, "must be a string")),
        }
    }

    /// An integer field given as a number or a string of digits.
    pub fn int(&self, name: &str) -> Result<Option<i64>, PolyError> {
        match self.raw(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) if text.trim().is_empty() => Ok(None),
            Some(Value::String(text)) => text
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| PolyError::invalid(name, format!("`{text}` is not an integer"))),
            Some(Value::Number(number)) => number
                .as_i64()
                .map(Some)
                .ok_or_else(|| PolyError::invalid(name, format!("`{number}` is not an integer"))),
            Some(_) => Err(PolyError::invalid(name, "must be an integer")),
        }
    }

    /// A time field in the shop's zone, answered in UTC.
    pub fn time(
        &self,
        name: &str,
        offset: FixedOffset,
    ) -> Result<Option<NaiveDateTime>, PolyError> {
        match self.text(name)? {
            None => Ok(None),
            Some(text) => parse_shop_time(&text, offset)
                .map(Some)
                .map_err(|why| PolyError::invalid(name, why)),
        }
    }

    /// An inclusive window from two time fields: both or neither, start not after end.
    pub fn window(
        &self,
        start: &str,
        end: &str,
        offset: FixedOffset,
    ) -> Result<Option<(NaiveDateTime, NaiveDateTime)>, PolyError> {
        match (self.time(start, offset)?, self.time(end, offset)?) {
            (None, None) => Ok(None),
            (Some(_), None) => Err(PolyError::missing(end)),
            (None, Some(_)) => Err(PolyError::missing(start)),
            (Some(from), Some(to)) if from > to => Err(PolyError::new(
                SubCode::InvalidParameter,
                format!("{start} is after {end}"),
            )),
            (Some(from), Some(to)) => Ok(Some((from, to))),
        }
    }

    /// `PageIndex` (required, from 1) and `PageSize` (default, at most `max`).
    pub fn page(&self, default_size: i64, max_size: i64) -> Result<Page, PolyError> {
        let index = self
            .int("PageIndex")?
            .ok_or_else(|| PolyError::missing("PageIndex"))?;
        if !(1..=i64::from(i32::MAX)).contains(&index) {
            return Err(PolyError::invalid(
                "PageIndex",
                format!("{index} is not a page number (from 1)"),
            ));
        }
        let size = self.int("PageSize")?.unwrap_or(default_size);
        if !(1..=max_size).contains(&size) {
            return Err(PolyError::invalid(
                "PageSize",
                format!("{size} is out of range: 1 to {max_size} per page"),
            ));
        }
        Ok(Page { index, size })
    }
}

/// The members of a JSON object in order, duplicates kept (a map would keep only the
/// last of two equal keys, silently).
struct Members(Vec<(String, Value)>);

impl<'de> serde::Deserialize<'de> for Members {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Members;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Members, A::Error> {
                let mut members = Vec::new();
                while let Some(member) = map.next_entry::<String, Value>()? {
                    members.push(member);
                }
                Ok(Members(members))
            }
        }
        deserializer.deserialize_map(Visitor)
    }
}

fn holds_nul(value: &Value) -> bool {
    match value {
        Value::String(text) => text.contains('\0'),
        Value::Array(items) => items.iter().any(holds_nul),
        Value::Object(fields) => fields
            .iter()
            .any(|(key, value)| key.contains('\0') || holds_nul(value)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn china() -> FixedOffset {
        FixedOffset::east_opt(8 * 3600).unwrap()
    }

    #[test]
    fn keys_any_case_numbers_as_strings() {
        let biz = Biz::parse(
            r#"{"pageindex":"2","PAGESIZE":50,"PlatOrderNo":12345,"OrderType ":"JH_01"}"#,
        )
        .unwrap();
        assert_eq!(biz.page(30, 100).unwrap(), Page { index: 2, size: 50 });
        assert_eq!(biz.text("platorderno").unwrap().as_deref(), Some("12345"));
        assert_eq!(biz.text("OrderType").unwrap().as_deref(), Some("JH_01"));
    }

    #[test]
    fn paging_rules() {
        assert_eq!(
            Biz::parse(r#"{"PageIndex":1}"#)
                .unwrap()
                .page(30, 100)
                .unwrap()
                .size,
            30
        );
        let missing = Biz::parse("{}").unwrap().page(30, 100).unwrap_err();
        assert_eq!(missing.subcode, SubCode::MissParameter);
        let too_big = Biz::parse(r#"{"PageIndex":1,"PageSize":500}"#)
            .unwrap()
            .page(30, 100)
            .unwrap_err();
        assert_eq!(too_big.subcode, SubCode::InvalidParameter);
        assert!(too_big.submessage.contains("100"));
        let zero = Biz::parse(r#"{"PageIndex":0}"#)
            .unwrap()
            .page(30, 100)
            .unwrap_err();
        assert_eq!(zero.subcode, SubCode::InvalidParameter);
    }

    #[test]
    fn windows_and_times() {
        let biz =
            Biz::parse(r#"{"StartTime":"2016-11-21+15:01:02","EndTime":"2016-12-06 15:01:02"}"#)
                .unwrap();
        let (from, to) = biz
            .window("StartTime", "EndTime", china())
            .unwrap()
            .unwrap();
        assert_eq!(from.to_string(), "2016-11-21 07:01:02");
        assert!(to > from);
        let inverted =
            Biz::parse(r#"{"StartTime":"2016-12-21 00:00:00","EndTime":"2016-12-06 00:00:00"}"#)
                .unwrap();
        assert_eq!(
            inverted
                .window("StartTime", "EndTime", china())
                .unwrap_err()
                .subcode,
            SubCode::InvalidParameter
        );
        let half = Biz::parse(r#"{"StartTime":"2016-12-21 00:00:00"}"#).unwrap();
        assert_eq!(
            half.window("StartTime", "EndTime", china())
                .unwrap_err()
                .subcode,
            SubCode::MissParameter
        );
    }

    #[test]
    fn bad_bizcontent() {
        assert_eq!(
            Biz::parse("{nope").unwrap_err().subcode,
            SubCode::InvalidParameter
        );
        assert_eq!(
            Biz::parse("[1]").unwrap_err().subcode,
            SubCode::InvalidParameter
        );
        for twice in [
            r#"{"PlatOrderNo":"a","PlatOrderNo":"b"}"#,
            r#"{"PlatOrderNo":"a","platorderno":"b"}"#,
            r#"{"PlatOrderNo":"a"," PlatOrderNo ":"b"}"#,
        ] {
            let error = Biz::parse(twice).unwrap_err();
            assert!(error.submessage.contains("more than once"), "{twice}");
        }
        let biz = Biz::parse(r#"{"PageIndex":1.5,"x":{"a":1}}"#).unwrap();
        assert_eq!(
            biz.int("PageIndex").unwrap_err().subcode,
            SubCode::InvalidParameter
        );
        assert_eq!(
            biz.text("x").unwrap_err().subcode,
            SubCode::InvalidParameter
        );
    }
}
