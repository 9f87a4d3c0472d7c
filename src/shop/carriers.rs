//! The carrier code table of the Polyapi document (JH_… domestic, JHI_… international),
//! shipped as data in `data/carriers.tsv`: code, name, and the codes partners use for
//! the same carrier (the Qimen `logisticsCode` and Jushuitan's `lc_id`, e.g. `YTO`).

use std::collections::HashMap;
use std::sync::OnceLock;

const TABLE: &str = include_str!("../../data/carriers.tsv");

/// The table: code → name, and partner code → code.
struct Table {
    names: HashMap<String, &'static str>,
    partner_codes: HashMap<String, String>,
}

fn table() -> &'static Table {
    static PARSED: OnceLock<Table> = OnceLock::new();
    PARSED.get_or_init(|| {
        let mut names = HashMap::new();
        let mut partner_codes = HashMap::new();
        for line in TABLE.lines() {
            let mut columns = line.split('\t').map(str::trim);
            let (Some(code), Some(name)) = (columns.next(), columns.next()) else {
                continue;
            };
            let code = code.to_ascii_uppercase();
            for partner in columns.flat_map(|list| list.split(',')).map(str::trim) {
                if !partner.is_empty() {
                    partner_codes.insert(partner.to_ascii_uppercase(), code.clone());
                }
            }
            names.insert(code, name);
        }
        Table {
            names,
            partner_codes,
        }
    })
}

/// The carrier's name for a code such as `JH_001` (any case), if the code is known.
pub fn carrier_name(code: &str) -> Option<&'static str> {
    table()
        .names
        .get(&code.trim().to_ascii_uppercase())
        .copied()
}

/// The code of a carrier known by this exact name (e.g. `顺丰`), if the table has it.
pub fn code_for_name(name: &str) -> Option<String> {
    let name = name.trim();
    if name.is_empty() {
        return None;
    }
    let mut codes: Vec<&String> = table()
        .names
        .iter()
        .filter(|(_, n)| **n == name)
        .map(|(code, _)| code)
        .collect();
    codes.sort();
    codes.first().map(|code| (*code).clone())
}

/// The code of a carrier a partner reports by its own code (`YTO`, `SF`, any case) and
/// name: the partner code when the table knows it, else the name.
pub fn code_for_partner(partner_code: &str, name: &str) -> Option<String> {
    table()
        .partner_codes
        .get(&partner_code.trim().to_ascii_uppercase())
        .cloned()
        .or_else(|| code_for_name(name))
}

/// The canonical spelling of a known code.
pub fn canonical_code(code: &str) -> Option<String> {
    let upper = code.trim().to_ascii_uppercase();
    table().names.contains_key(&upper).then_some(upper)
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
        assert!(table().names.len() > 200);
    }

    #[test]
    fn partner_codes_map_to_table_codes() {
        assert_eq!(
            code_for_partner("YTO", "菜鸟-圆通").as_deref(),
            Some("JH_002")
        );
        assert_eq!(code_for_partner("sf", "").as_deref(), Some("JH_014"));
        assert_eq!(code_for_partner("ZTO", "").as_deref(), Some("JH_006"));
        assert_eq!(code_for_partner("NOPE", "韵达").as_deref(), Some("JH_003"));
        assert_eq!(code_for_partner("NOPE", "菜鸟-圆通"), None);
    }
}
