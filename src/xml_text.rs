//! Text for XML documents: escaped by quick-xml, after dropping the characters XML 1.0
//! cannot carry at all (most control characters), which an echoed value may hold.

use std::borrow::Cow;

/// `text` as XML character data or attribute value.
pub fn escape(text: &str) -> Cow<'_, str> {
    let unrepresentable = |c: char| {
        (c < '\u{20}' && !matches!(c, '\t' | '\n' | '\r')) || matches!(c, '\u{fffe}' | '\u{ffff}')
    };
    if text.contains(unrepresentable) {
        let kept: String = text.chars().filter(|c| !unrepresentable(*c)).collect();
        Cow::Owned(quick_xml::escape::escape(kept.as_str()).into_owned())
    } else {
        quick_xml::escape::escape(text)
    }
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn markup_is_escaped_and_control_characters_dropped() {
        assert_eq!(escape("a<b>&'\"c"), "a&lt;b&gt;&amp;&apos;&quot;c");
        assert_eq!(escape("x\u{0}y\u{1b}z\tw"), "xyz\tw");
        assert_eq!(escape("货主"), "货主");
    }
}
