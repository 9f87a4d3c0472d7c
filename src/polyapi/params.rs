//! The received parameters of one call, read once from the query string and the body
//! into one set. A name may occur once, in any case, across both sources: with two
//! values for one name the sign could be checked over one and the call run with the
//! other. The limits are checked while reading, so a hostile request costs no more
//! than its size.

use std::collections::BTreeMap;

use super::envelope::PolyError;

/// Most parameters one call may carry; a real call has five to eight.
pub const MAX_PARAMS: usize = 32;
/// Longest query string read; ERPs send their parameters in the body.
pub const MAX_QUERY: usize = 8 * 1024;
/// Longest parameter name.
const MAX_NAME: usize = 64;

/// The parameters of one call, names as sent, at most one per name in any case.
#[derive(Debug, Clone, Default)]
pub struct Params {
    pairs: Vec<(String, String)>,
    by_name: BTreeMap<String, usize>,
}

impl Params {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the parameters of a query string (bounded by [`MAX_QUERY`]).
    pub fn read_query(&mut self, query: &str) -> Result<(), PolyError> {
        if query.len() > MAX_QUERY {
            return Err(PolyError::invalid(
                "query string",
                format!(
                    "is {} bytes long; at most {MAX_QUERY} are read (send the parameters in the body)",
                    query.len()
                ),
            ));
        }
        self.read_urlencoded(query.as_bytes())
    }

    /// Adds the parameters of an `application/x-www-form-urlencoded` text, stopping at
    /// the first one that breaks a rule.
    pub fn read_urlencoded(&mut self, text: &[u8]) -> Result<(), PolyError> {
        for (name, value) in form_urlencoded::parse(text) {
            self.insert(&name, value.into_owned())?;
        }
        Ok(())
    }

    /// Adds one parameter: refused when its name is empty, not printable ASCII or too
    /// long, when the name was given before (in any case), or when the set is full.
    pub fn insert(&mut self, name: &str, value: String) -> Result<(), PolyError> {
        if name.is_empty() {
            return Err(PolyError::invalid("parameters", "a parameter has no name"));
        }
        if name.len() > MAX_NAME || !name.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(PolyError::invalid(
                "parameters",
                format!(
                    "`{}` is not a parameter name (at most {MAX_NAME} printable ASCII characters)",
                    printable(name)
                ),
            ));
        }
        let key = name.to_ascii_lowercase();
        if self.by_name.contains_key(&key) {
            return Err(PolyError::invalid(
                name,
                "is given more than once (names count in any case, across the query string and the body)",
            ));
        }
        if self.pairs.len() >= MAX_PARAMS {
            return Err(PolyError::invalid(
                "parameters",
                format!("more than {MAX_PARAMS} parameters in one call"),
            ));
        }
        self.by_name.insert(key, self.pairs.len());
        self.pairs.push((name.to_owned(), value));
        Ok(())
    }

    /// The value of `name`, matched in any case.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.by_name
            .get(&name.to_ascii_lowercase())
            .map(|&index| self.pairs[index].1.as_str())
    }

    /// Every parameter, names as sent.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }

    /// Whether the caller asked for XML (`contenttype=xml`).
    pub fn wants_xml(&self) -> bool {
        self.get("contenttype")
            .is_some_and(|value| value.trim().eq_ignore_ascii_case("xml"))
    }
}

/// A name as it may be echoed in an answer: short, control characters escaped.
fn printable(name: &str) -> String {
    name.chars().take(32).flat_map(char::escape_debug).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::polyapi::envelope::SubCode;

    fn read(query: &str, body: &str) -> Result<Params, PolyError> {
        let mut params = Params::new();
        params.read_query(query)?;
        params.read_urlencoded(body.as_bytes())?;
        Ok(params)
    }

    #[test]
    fn query_and_body_make_one_set() {
        let params = read("contenttype=xml", "method=m&appkey=k&bizcontent=%7B%7D").unwrap();
        assert_eq!(params.get("METHOD"), Some("m"));
        assert_eq!(params.get("bizcontent"), Some("{}"));
        assert!(params.wants_xml());
        assert_eq!(params.pairs().len(), 4);
    }

    #[test]
    fn a_name_twice_in_any_case_or_source_is_refused() {
        for (query, body) in [
            ("", "method=a&method=b"),
            ("", "method=a&Method=b"),
            ("Method=a", "method=b"),
            ("method=a&METHOD=a", ""),
            ("", "sign=x&SIGN=x"),
        ] {
            let error = read(query, body).unwrap_err();
            assert_eq!(error.subcode, SubCode::InvalidParameter, "{query} {body}");
            assert!(
                error.submessage.contains("more than once"),
                "{}",
                error.submessage
            );
        }
    }

    #[test]
    fn names_must_be_short_printable_ascii() {
        for body in [
            "=x",
            "a%00b=1",
            "to%E2%84%AAen=T",
            "a%20b=1",
            &"n".repeat(65),
        ] {
            let error = read("", &format!("{body}=1")).unwrap_err();
            assert_eq!(error.subcode, SubCode::InvalidParameter, "{body}");
        }
    }

    #[test]
    fn the_count_and_the_query_are_bounded() {
        let many: String = (0..=MAX_PARAMS).map(|i| format!("p{i}=&")).collect();
        let error = read("", &many).unwrap_err();
        assert!(
            error.submessage.contains("more than"),
            "{}",
            error.submessage
        );
        let long = format!("a={}", "x".repeat(MAX_QUERY));
        assert!(read(&long, "")
            .unwrap_err()
            .submessage
            .contains("query string"));
        // Empty pieces between separators are no parameters at all.
        assert_eq!(read("", &"&".repeat(100_000)).unwrap().pairs().len(), 0);
    }
}
