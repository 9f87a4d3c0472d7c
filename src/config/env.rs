//! `POLYMALL__SECTION__KEY` environment overrides, applied to the parsed TOML tree.
//!
//! Written here rather than taken from a layered-configuration crate such as figment:
//! a shop is addressed by its code as well as its index (`POLYMALL__SHOPS__DEMO__…`),
//! a value takes the type of the value it replaces (a token of digits stays text), and
//! an unknown variable is refused with its name — none of which figment's environment
//! provider does.

use super::{Config, ConfigError};

/// Prefix of every override variable.
const PREFIX: &str = "POLYMALL__";

/// Lays the defaults under the file's values, then applies every `POLYMALL__…` variable.
///
/// A variable's text is taken with the type of the value it replaces (so a token of
/// digits stays a string and a pool size becomes a number); a key with no value to
/// replace takes the text as a string.
pub(super) fn apply_overrides(
    tree: &mut toml::Value,
    defaults: &Config,
    vars: impl IntoIterator<Item = (String, String)>,
) -> Result<(), ConfigError> {
    let defaults = toml::Value::try_from(defaults).map_err(|e| ConfigError::Key {
        key: String::new(),
        message: format!("defaults do not serialise: {e}"),
    })?;
    let mut merged = defaults;
    merge(
        &mut merged,
        std::mem::replace(tree, toml::Value::Boolean(false)),
    );
    *tree = merged;

    let mut overrides: Vec<(String, String)> = vars
        .into_iter()
        .filter(|(name, _)| name.starts_with(PREFIX))
        .collect();
    // Deterministic order, whatever the environment's.
    overrides.sort();
    for (var, text) in overrides {
        let path: Vec<String> = var[PREFIX.len()..]
            .split("__")
            .map(|segment| segment.to_ascii_lowercase())
            .collect();
        if path.iter().any(String::is_empty) {
            return Err(ConfigError::Env {
                var,
                message: "empty key segment".to_owned(),
            });
        }
        set(tree, &path, &text).map_err(|message| ConfigError::Env {
            var: var.clone(),
            message,
        })?;
    }
    Ok(())
}

/// Overlays `top` onto `base`, table by table.
fn merge(base: &mut toml::Value, top: toml::Value) {
    match (base, top) {
        (toml::Value::Table(base), toml::Value::Table(top)) => {
            for (key, value) in top {
                match base.get_mut(&key) {
                    Some(existing) => merge(existing, value),
                    None => {
                        base.insert(key, value);
                    }
                }
            }
        }
        (base, top) => *base = top,
    }
}

/// Sets the value at `path`, creating tables on the way; arrays (the shop list) are
/// addressed by index or by the element's `code`.
fn set(node: &mut toml::Value, path: &[String], text: &str) -> Result<(), String> {
    let Some((head, rest)) = path.split_first() else {
        *node = typed_like(node, text)?;
        return Ok(());
    };
    match node {
        toml::Value::Table(table) => {
            if rest.is_empty() {
                let value = match table.get(head) {
                    Some(existing) => typed_like(existing, text)?,
                    None => toml::Value::String(text.to_owned()),
                };
                table.insert(head.clone(), value);
                Ok(())
            } else {
                let child = table
                    .entry(head.clone())
                    .or_insert_with(|| toml::Value::Table(toml::Table::new()));
                set(child, rest, text)
            }
        }
        toml::Value::Array(items) => {
            let position = match head.parse::<usize>() {
                Ok(index) if index < items.len() => Some(index),
                _ => items.iter().position(|item| {
                    item.get("code")
                        .and_then(toml::Value::as_str)
                        .is_some_and(|code| code.eq_ignore_ascii_case(head))
                }),
            };
            match position {
                Some(index) => set(&mut items[index], rest, text),
                None => Err(format!(
                    "no entry `{}` (give an index or a shop code declared in the file)",
                    head.to_ascii_uppercase()
                )),
            }
        }
        _ => Err(format!("`{head}` is below a plain value")),
    }
}

/// Reads `text` as a value of the same TOML type as `like`.
fn typed_like(like: &toml::Value, text: &str) -> Result<toml::Value, String> {
    match like {
        toml::Value::Integer(_) => text
            .trim()
            .parse::<i64>()
            .map(toml::Value::Integer)
            .map_err(|_| format!("`{text}` is not an integer")),
        toml::Value::Float(_) => text
            .trim()
            .parse::<f64>()
            .map(toml::Value::Float)
            .map_err(|_| format!("`{text}` is not a number")),
        toml::Value::Boolean(_) => match text.trim() {
            "true" | "1" => Ok(toml::Value::Boolean(true)),
            "false" | "0" => Ok(toml::Value::Boolean(false)),
            _ => Err(format!("`{text}` is not true or false")),
        },
        toml::Value::Table(_) | toml::Value::Array(_) => {
            Err("names a whole section; name a key inside it".to_owned())
        }
        _ => Ok(toml::Value::String(text.to_owned())),
    }
}
