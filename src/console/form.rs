//! Console forms and query strings: read with a size cap, parsed once into name/value
//! pairs, each value bounded and free of NUL characters (PostgreSQL text cannot hold
//! them), and refused naming the field when a rule is broken.

use super::error::ConsoleError;

/// Largest form body.
pub const MAX_FORM: usize = 64 * 1024;
/// Most fields in one form (a retry of many rows sends one `id` each).
const MAX_FIELDS: usize = 512;
/// Longest value of one field: a shop's map of Kingdee materials is one field. Each
/// page bounds its own fields further.
const MAX_VALUE: usize = 32 * 1024;

/// A parsed form or query string.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Form {
    pairs: Vec<(String, String)>,
}

impl Form {
    /// Parses `application/x-www-form-urlencoded` bytes (a body or a query string).
    pub fn parse(bytes: &[u8]) -> Result<Self, ConsoleError> {
        if bytes.len() > MAX_FORM {
            return Err(ConsoleError::TooLarge);
        }
        let mut pairs = Vec::new();
        for (name, value) in form_urlencoded::parse(bytes) {
            if pairs.len() == MAX_FIELDS {
                return Err(ConsoleError::invalid(
                    "form",
                    format!("has more than {MAX_FIELDS} fields"),
                ));
            }
            if value.chars().count() > MAX_VALUE {
                return Err(ConsoleError::invalid(
                    &name,
                    format!("is longer than {MAX_VALUE} characters"),
                ));
            }
            if name.contains('\0') || value.contains('\0') {
                return Err(ConsoleError::invalid(&name, "contains a NUL character"));
            }
            pairs.push((name.into_owned(), value.into_owned()));
        }
        Ok(Self { pairs })
    }

    /// The value of a field given at most once, trimmed; `None` when absent or empty.
    pub fn one(&self, name: &str) -> Result<Option<&str>, ConsoleError> {
        let mut found = self.pairs.iter().filter(|(n, _)| n == name);
        let first = found.next();
        if found.next().is_some() {
            return Err(ConsoleError::invalid(name, "is given more than once"));
        }
        Ok(first
            .map(|(_, value)| value.trim())
            .filter(|value| !value.is_empty()))
    }

    /// The value of a required field.
    pub fn required(&self, name: &str) -> Result<&str, ConsoleError> {
        self.one(name)?
            .ok_or_else(|| ConsoleError::invalid(name, "is required"))
    }

    /// The value of a field, untrimmed (a password).
    pub fn exact(&self, name: &str) -> Result<&str, ConsoleError> {
        let mut found = self.pairs.iter().filter(|(n, _)| n == name);
        let first = found.next();
        if found.next().is_some() {
            return Err(ConsoleError::invalid(name, "is given more than once"));
        }
        first
            .map(|(_, value)| value.as_str())
            .filter(|value| !value.is_empty())
            .ok_or_else(|| ConsoleError::invalid(name, "is required"))
    }

    /// Every value of a repeated field, as positive row ids; at least one, at most `max`.
    pub fn ids(&self, name: &str, max: usize) -> Result<Vec<i64>, ConsoleError> {
        let mut ids = Vec::new();
        for (_, value) in self.pairs.iter().filter(|(n, _)| n == name) {
            let id = value
                .trim()
                .parse::<i64>()
                .ok()
                .filter(|id| *id > 0)
                .ok_or_else(|| {
                    ConsoleError::invalid(name, format!("`{}` is not a row id", clip(value)))
                })?;
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        if ids.is_empty() {
            return Err(ConsoleError::invalid(name, "select at least one row"));
        }
        if ids.len() > max {
            return Err(ConsoleError::invalid(
                name,
                format!("at most {max} rows at once"),
            ));
        }
        Ok(ids)
    }

    /// A whole number in `range`, when given.
    pub fn number(
        &self,
        name: &str,
        range: std::ops::RangeInclusive<i64>,
    ) -> Result<Option<i64>, ConsoleError> {
        let Some(text) = self.one(name)? else {
            return Ok(None);
        };
        match text.parse::<i64>() {
            Ok(value) if range.contains(&value) => Ok(Some(value)),
            _ => Err(ConsoleError::invalid(
                name,
                format!(
                    "`{}` is not a whole number from {} to {}",
                    clip(text),
                    range.start(),
                    range.end()
                ),
            )),
        }
    }

    /// A value no longer than `max` characters, when given.
    pub fn text(&self, name: &str, max: usize) -> Result<Option<&str>, ConsoleError> {
        let value = self.one(name)?;
        if value.is_some_and(|value| value.chars().count() > max) {
            return Err(ConsoleError::invalid(
                name,
                format!("is longer than {max} characters"),
            ));
        }
        Ok(value)
    }
}

/// A value quoted in an error message, cut short.
pub fn clip(value: &str) -> String {
    value.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_bounded_and_named() {
        let form = Form::parse(b"id=3&id=4&id=3&csrf=ab&q=%20x%20").unwrap();
        assert_eq!(form.ids("id", 10).unwrap(), vec![3, 4]);
        assert_eq!(form.one("q").unwrap(), Some("x"));
        assert_eq!(form.one("missing").unwrap(), None);
        let twice = Form::parse(b"csrf=a&csrf=b").unwrap();
        assert!(twice.one("csrf").unwrap_err().to_string().contains("csrf"));
        let bad_id = Form::parse(b"id=-1").unwrap();
        assert!(bad_id.ids("id", 10).is_err());
        assert!(Form::parse(b"name=a%00b")
            .unwrap_err()
            .to_string()
            .contains("name"));
        let many = "id=1&".repeat(MAX_FIELDS + 1);
        assert!(Form::parse(many.as_bytes()).is_err());
        let number = Form::parse(b"quantity=12x").unwrap();
        assert!(number
            .number("quantity", 0..=10)
            .unwrap_err()
            .to_string()
            .contains("quantity"));
    }
}
