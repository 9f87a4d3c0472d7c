//! The carrier code table of the Polyapi document (JH_… domestic, JHI_… international),
//! shipped as data in `data/carriers.tsv`.

use std::collections::HashMap;
use std::sync::OnceLock;

const TABLE: &str = include_str!("../../data/carriers.tsv");

fn table() -> &'static HashMap<String, &'static str> {
    static PARSED: OnceLock<HashMap<String, &'static str>> = OnceLock::new();
    PARSED.get_or_init(|| {
        TABLE
            .lines()
            .filter_map(|line| line.split_once('\t'))
            .map(|(code, name)| (code.trim().to_ascii_uppercase(), name.trim()))
            .collect()
    })
}

/// The carrier's name for a code such as `JH_001` (any case), if the code is known.
pub fn carrier_name(code: &str) -> Option<&'static str> {
    table().get(&code.trim().to_ascii_uppercase()).copied()
}

/// The code of a carrier known by this exact name (e.g. `顺丰`), if the table has it.
pub fn code_for_name(name: &str) -> Option<String> {
    let name = name.trim();
    if name.is_empty() {
        return None;
    }
    let mut codes: Vec<&String> = table()
        .iter()
        .filter(|(_, n)| **n == name)
        .map(|(code, _)| code)
        .collect();
    codes.sort();
    codes.first().map(|code| (*code).clone())
}

/// The canonical spelling of a known code.
pub fn canonical_code(code: &str) -> Option<String> {
    let upper = code.trim().to_ascii_uppercase();
    table().contains_key(&upper).then_some(upper)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_loaded_from_data() {
        assert_eq!(carrier_name("JH_001"), Some("EMS"));
        assert_eq!(carrier_name("jh_002"), Some("圆通"));
        assert!(carrier_name("JHI_091").is_some());
        assert!(carrier_name("JH_999").is_none());
        assert!(table().len() > 200);
    }
}
