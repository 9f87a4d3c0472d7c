//! Field-level wire formats: money in yuan, lenient integers, shop-local times.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use crate::time::{format_shop_time, parse_shop_time};

/// A field that failed validation: its path in the document and the rule it breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct FieldError {
    /// Path such as `goodinfos[1].goodscount`.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl FieldError {
    /// An error on `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }

    /// The same error with `prefix` put before its path (e.g. the item's index).
    pub fn within(self, prefix: &str) -> Self {
        let path = if self.path.starts_with('[') || prefix.is_empty() {
            format!("{prefix}{}", self.path)
        } else {
            format!("{prefix}.{}", self.path)
        };
        Self { path, ..self }
    }
}

/// Money: yuan on the wire (a JSON number or a decimal string, at most 2 decimals,
/// never negative), integer fen inside.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Money(pub i64);

impl Money {
    /// Parses a decimal yuan amount such as `12.5` into fen.
    pub fn parse_yuan(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let bad = || format!("`{text}` is not an amount in yuan with at most 2 decimals");
        if text.is_empty() {
            return Ok(Self(0));
        }
        let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
        if whole.starts_with('-') {
            return Err(format!("`{text}` is negative"));
        }
        let whole = whole.strip_prefix('+').unwrap_or(whole);
        if whole.is_empty() && fraction.is_empty() {
            return Err(bad());
        }
        if !whole.bytes().all(|b| b.is_ascii_digit())
            || !fraction.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(bad());
        }
        let fraction = fraction.trim_end_matches('0');
        if fraction.len() > 2 {
            return Err(bad());
        }
        let yuan: i64 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| bad())?
        };
        let mut cents: i64 = if fraction.is_empty() {
            0
        } else {
            fraction.parse().map_err(|_| bad())?
        };
        if fraction.len() == 1 {
            cents *= 10;
        }
        yuan.checked_mul(100)
            .and_then(|fen| fen.checked_add(cents))
            .map(Self)
            .ok_or_else(bad)
    }

    /// The amount in fen.
    pub fn fen(self) -> i64 {
        self.0
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        let text = match &value {
            serde_json::Value::Number(number) => number.to_string(),
            serde_json::Value::String(text) => text.clone(),
            serde_json::Value::Null => return Ok(Self(0)),
            other => {
                return Err(serde::de::Error::custom(format!(
                    "expected an amount, found {other}"
                )))
            }
        };
        Self::parse_yuan(&text).map_err(serde::de::Error::custom)
    }
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.0 % 100 == 0 {
            serializer.serialize_i64(self.0 / 100)
        } else {
            // Shortest round-trip formatting of a value with at most 2 decimals is exact.
            serializer.serialize_f64(self.0 as f64 / 100.0)
        }
    }
}

/// An integer that may arrive as a JSON number or a string of digits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct WireInt(pub i64);

impl<'de> Deserialize<'de> for WireInt {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        match &value {
            serde_json::Value::Number(number) => number
                .as_i64()
                .map(Self)
                .ok_or_else(|| serde::de::Error::custom(format!("`{number}` is not an integer"))),
            serde_json::Value::String(text) => text
                .trim()
                .parse()
                .map(Self)
                .map_err(|_| serde::de::Error::custom(format!("`{text}` is not an integer"))),
            serde_json::Value::Null => Ok(Self(0)),
            other => Err(serde::de::Error::custom(format!(
                "expected an integer, found {other}"
            ))),
        }
    }
}

impl Serialize for WireInt {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_i64(self.0)
    }
}

/// Checks a text field's length in characters, and that it carries no NUL.
pub(super) fn check_len(path: &str, value: &str, max: usize) -> Result<(), FieldError> {
    // PostgreSQL text cannot hold NUL; refuse it on every backend alike.
    if value.contains('\0') {
        return Err(FieldError::new(path, "contains a NUL character"));
    }
    let count = value.chars().count();
    if count > max {
        return Err(FieldError::new(
            path,
            format!("is {count} characters long; at most {max} are allowed"),
        ));
    }
    Ok(())
}

/// Checks a required text field is present and short enough.
pub(super) fn required(path: &str, value: &str, max: usize) -> Result<(), FieldError> {
    if value.trim().is_empty() {
        return Err(FieldError::new(path, "is required"));
    }
    check_len(path, value, max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::FixedOffset;

    fn china() -> FixedOffset {
        FixedOffset::east_opt(8 * 3600).unwrap()
    }

    #[test]
    fn money_parses_yuan_exactly() {
        assert_eq!(Money::parse_yuan("250.21").unwrap().fen(), 25021);
        assert_eq!(Money::parse_yuan("0.1").unwrap().fen(), 10);
        assert_eq!(Money::parse_yuan("15").unwrap().fen(), 1500);
        assert_eq!(Money::parse_yuan("15.500").unwrap().fen(), 1550);
        assert_eq!(Money::parse_yuan(".5").unwrap().fen(), 50);
        assert_eq!(Money::parse_yuan("").unwrap().fen(), 0);
        for bad in [
            "-1",
            "1.234",
            "abc",
            "1e3",
            ".",
            "1.2.3",
            "99999999999999999999",
        ] {
            assert!(Money::parse_yuan(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn money_round_trips_through_json() {
        for fen in [0, 1, 10, 99, 100, 25021, 123_456_789] {
            let json = serde_json::to_string(&Money(fen)).unwrap();
            let back: Money = serde_json::from_str(&json).unwrap();
            assert_eq!(back, Money(fen), "{json}");
        }
        assert_eq!(serde_json::to_string(&Money(5500)).unwrap(), "55");
        assert_eq!(serde_json::to_string(&Money(5510)).unwrap(), "55.1");
        let from_string: Money = serde_json::from_str("\"12.30\"").unwrap();
        assert_eq!(from_string, Money(1230));
    }

    #[test]
    fn integers_may_be_strings() {
        let n: WireInt = serde_json::from_str("\"20\"").unwrap();
        assert_eq!(n, WireInt(20));
        assert!(serde_json::from_str::<WireInt>("1.5").is_err());
        assert!(serde_json::from_str::<WireInt>("\"x\"").is_err());
    }

    #[test]
    fn times_are_shop_local_with_lenient_separators() {
        let utc = parse_shop_time("2016-11-21 15:01:02", china()).unwrap();
        assert_eq!(utc.to_string(), "2016-11-21 07:01:02");
        for variant in [
            "2016-11-21T15:01:02",
            "2016-11-21+15:01:02",
            " 2016-11-21 15:01:02 ",
        ] {
            assert_eq!(parse_shop_time(variant, china()).unwrap(), utc, "{variant}");
        }
        assert_eq!(format_shop_time(utc, china()), "2016-11-21 15:01:02");
        for bad in [
            "2016-11-21",
            "yesterday",
            "2016-13-01 00:00:00",
            "",
            "9999-12-31 23:59:59",
            "1969-12-31 23:59:59",
            "3000-01-01 00:00:00",
        ] {
            assert!(parse_shop_time(bad, china()).is_err(), "{bad}");
        }
    }
}
