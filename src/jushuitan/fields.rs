//! A Jushuitan record's fields as the shop reads them: Jushuitan writes ids, counts and
//! amounts as numbers or as text, with or without spaces around them, so every reader of
//! its records goes through these.

use serde_json::Value;

use super::client::value_text;

/// A field of a record as trimmed text.
pub fn field(object: &Value, name: &str) -> String {
    object
        .get(name)
        .map(value_text)
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// Yuan (number or decimal text) as fen, at least zero.
pub fn fen(value: Option<&Value>) -> i64 {
    number(value)
        .map(|yuan| (yuan * 100.0).round() as i64)
        .unwrap_or(0)
        .max(0)
}

/// A count (number or digits), at least zero.
pub fn count(value: Option<&Value>) -> i64 {
    number(value).map(|n| n.round() as i64).unwrap_or(0).max(0)
}

/// A finite number written as a number or as text.
fn number(value: Option<&Value>) -> Option<f64> {
    value
        .map(value_text)
        .and_then(|text| text.trim().parse::<f64>().ok())
        .filter(|n| n.is_finite())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{count, fen, field};

    #[test]
    fn numbers_and_text_read_alike() {
        let record =
            json!({"sku_id": " sd0001 ", "o_id": 12, "qty": "2", "n": 3, "amount": "12.50"});
        assert_eq!(field(&record, "sku_id"), "sd0001");
        assert_eq!(field(&record, "o_id"), "12");
        assert_eq!(field(&record, "missing"), "");
        assert_eq!(count(record.get("qty")), 2);
        assert_eq!(count(record.get("n")), 3);
        assert_eq!(count(Some(&json!(" 4 "))), 4);
        assert_eq!(count(Some(&json!(-1))), 0);
        assert_eq!(count(Some(&json!("two"))), 0);
        assert_eq!(count(None), 0);
        assert_eq!(fen(record.get("amount")), 1250);
        assert_eq!(fen(Some(&json!(0.1))), 10);
        assert_eq!(fen(Some(&json!("-3"))), 0);
    }
}
