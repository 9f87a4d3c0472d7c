//! The carrier code table of the Polyapi document (JH_… domestic, JHI_… international),
//! shipped as data in `data/carriers.tsv`: code, name, and the codes partners use for
//! the same carrier (the Qimen `logisticsCode` and Jushuitan's `lc_id`, e.g. `YTO`).
//! Polyapi adds carriers after the table was printed: an operator extends or corrects it
//! with a `carriers.tsv` of the same form in the configuration directory, read at start.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Mutex, OnceLock};

const TABLE: &str = include_str!("../../data/carriers.tsv");
/// The operator's extension file, looked for beside the configuration file.
pub const EXTENSION_FILE: &str = "carriers.tsv";

/// The operator's lines, set once before the table is first read.
static EXTENSION: OnceLock<String> = OnceLock::new();

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
        let extension = EXTENSION.get().map(String::as_str).unwrap_or_default();
        for line in TABLE.lines().chain(extension.lines()) {
            let Some((code, name, partners)) = entry(line) else {
                continue;
            };
            for partner in partners {
                partner_codes.insert(partner, code.clone());
            }
            names.insert(code, name);
        }
        Table {
            names,
            partner_codes,
        }
    })
}

/// A line of the table: code (upper case), name, partner codes (upper case). Blank
/// lines and `#` comments are none.
fn entry(line: &str) -> Option<(String, &str, Vec<String>)> {
    let line = line.trim_end_matches('\r');
    if line.trim().is_empty() || line.trim_start().starts_with('#') {
        return None;
    }
    let mut columns = line.split('\t').map(str::trim);
    let code = columns.next().unwrap_or_default();
    let name = columns.next().unwrap_or_default();
    let partners = columns
        .flat_map(|list| list.split(','))
        .map(str::trim)
        .filter(|partner| !partner.is_empty())
        .map(str::to_ascii_uppercase)
        .collect();
    Some((code.to_ascii_uppercase(), name, partners))
}

/// Reads the operator's `carriers.tsv` in `dir`, if there is one, into the table; call
/// it once at start, before the table is used. Answers the entries read, or what is
/// wrong with the file (a line must be a code of the table's shape, a tab and a name).
pub fn extend_from_dir(dir: &Path) -> Result<usize, String> {
    let path = dir.join(EXTENSION_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(error) => return Err(format!("cannot read {}: {error}", path.display())),
    };
    let mut count = 0;
    for (number, line) in text.lines().enumerate() {
        let Some((code, name, _)) = entry(line) else {
            continue;
        };
        if !has_code_shape(&code) || name.is_empty() {
            return Err(format!(
                "{} line {}: expected a code such as JH_152 or JHI_092, a tab and the carrier's name, found `{line}`",
                path.display(),
                number + 1
            ));
        }
        count += 1;
    }
    EXTENSION
        .set(text)
        .map_err(|_| "the carrier table was extended twice".to_owned())?;
    Ok(count)
}

/// Whether `code` has the shape of the table's codes: `JH_` or `JHI_` and digits.
pub fn has_code_shape(code: &str) -> bool {
    let upper = code.trim().to_ascii_uppercase();
    let digits = upper
        .strip_prefix("JHI_")
        .or_else(|| upper.strip_prefix("JH_"))
        .unwrap_or_default();
    (1..=6).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
}

/// Logs, once per code and process, a carrier code the table does not list.
pub fn note_unlisted(code: &str, name: &str) {
    static SEEN: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    let first = SEEN
        .get_or_init(Mutex::default)
        .lock()
        .map(|mut seen| seen.insert(code.to_owned()))
        .unwrap_or(false);
    if first {
        tracing::warn!(%code, %name, file = EXTENSION_FILE, "carrier code not in the table; accepted as sent (add it to the configuration directory's carriers.tsv)");
    }
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
    fn code_shapes() {
        for good in ["JH_001", "jh_152", "JHI_092", " JH_1 "] {
            assert!(has_code_shape(good), "{good}");
        }
        for bad in [
            "JH_",
            "JH-001",
            "JH_12a",
            "XX_001",
            "JHI_1234567",
            "顺丰",
            "",
        ] {
            assert!(!has_code_shape(bad), "{bad}");
        }
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
