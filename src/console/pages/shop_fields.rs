//! The shop editor's fields: which keys each integration has and of what kind, how a
//! posted form becomes the shop's settings (read with the file's own rules, so a
//! refusal names the key as the file would), and how the settings are shown. Secrets
//! are write-only: a form shows whether one is set, a blank field keeps it.

use serde_json::{Map, Value};

use crate::config::ShopConfig;
use crate::console::error::ConsoleError;
use crate::console::form::{clip, Form};

/// Longest text or secret value.
const MAX_TEXT: usize = 500;

/// What a field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A text; blank means the key's default (or that it is missing).
    Text,
    /// A whole number.
    Number,
    /// One of a few codes.
    Choice(&'static [&'static str]),
    /// A secret: never shown; blank keeps the stored one. An optional one can be
    /// cleared.
    Secret {
        /// The key may be absent.
        optional: bool,
    },
    /// A map of `key = value` lines.
    Map,
    /// A list of names.
    List,
}

/// A key of an integration's section, by its path below the section (`sender.name`).
#[derive(Debug, Clone, Copy)]
pub struct Field {
    /// The key's path, as in the configuration file.
    pub path: &'static str,
    /// What it holds.
    pub kind: Kind,
}

const fn field(path: &'static str, kind: Kind) -> Field {
    Field { path, kind }
}

const TEXT: Kind = Kind::Text;
const NUMBER: Kind = Kind::Number;
const SECRET: Kind = Kind::Secret { optional: false };
const OPTIONAL_SECRET: Kind = Kind::Secret { optional: true };

const POLYAPI: &[Field] = &[
    field("appkey", TEXT),
    field("appsecret", SECRET),
    field("token", SECRET),
    field("disabled_methods", Kind::List),
];

const JUSHUITAN: &[Field] = &[
    field("api", Kind::Choice(&["open", "legacy"])),
    field("base_url", TEXT),
    field("shop_id", NUMBER),
    field("app_key", TEXT),
    field("app_secret", OPTIONAL_SECRET),
    field("access_token", OPTIONAL_SECRET),
    field("refresh_token", OPTIONAL_SECRET),
    field("partner_id", TEXT),
    field("partner_key", OPTIONAL_SECRET),
    field("token", OPTIONAL_SECRET),
    field("push_interval_secs", NUMBER),
    field("stock_interval_secs", NUMBER),
    field("shipping_interval_secs", NUMBER),
    field("refund_interval_secs", NUMBER),
    field("max_attempts", NUMBER),
    field("timeout_secs", NUMBER),
];

const WMS: &[Field] = &[
    field("url", TEXT),
    field("app_key", TEXT),
    field("secret", OPTIONAL_SECRET),
    field("customer_id", TEXT),
    field("owner_code", TEXT),
    field("warehouse_code", TEXT),
    field("method_prefix", TEXT),
    field("logistics_code", TEXT),
    field("callback_auth", Kind::Choice(&["sign", "url_token"])),
    field("callback_token", OPTIONAL_SECRET),
    field("sender.name", TEXT),
    field("sender.mobile", TEXT),
    field("sender.province", TEXT),
    field("sender.city", TEXT),
    field("sender.area", TEXT),
    field("sender.address", TEXT),
    field("push_interval_secs", NUMBER),
    field("stock_interval_secs", NUMBER),
    field("max_attempts", NUMBER),
    field("timeout_secs", NUMBER),
];

const KINGDEE: &[Field] = &[
    field("base_url", TEXT),
    field("acct_id", TEXT),
    field("username", TEXT),
    field("password", OPTIONAL_SECRET),
    field("app_id", TEXT),
    field("app_secret", OPTIONAL_SECRET),
    field("lcid", NUMBER),
    field("stock_org", TEXT),
    field("owner", TEXT),
    field("settle_currency", TEXT),
    field("bill_type", TEXT),
    field("sale_org_by_shop", Kind::Map),
    field("customer_by_shop", Kind::Map),
    field("stock_by_warehouse", Kind::Map),
    field("material_by_sku", Kind::Map),
    field("push_interval_secs", NUMBER),
    field("max_attempts", NUMBER),
    field("timeout_secs", NUMBER),
];

/// An integration a shop may use: a section of its settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Integration {
    /// `[shops.polyapi]`: the ERP's calls.
    Polyapi,
    /// `[shops.jushuitan]`
    Jushuitan,
    /// `[shops.wms]`
    Wms,
    /// `[shops.kingdee]`
    Kingdee,
}

impl Integration {
    /// Every integration, in the editor's order.
    pub const ALL: [Self; 4] = [Self::Polyapi, Self::Jushuitan, Self::Wms, Self::Kingdee];

    /// The section's key.
    pub fn code(self) -> &'static str {
        match self {
            Self::Polyapi => "polyapi",
            Self::Jushuitan => "jushuitan",
            Self::Wms => "wms",
            Self::Kingdee => "kingdee",
        }
    }

    /// The integration of a path segment.
    pub fn from_code(code: &str) -> Result<Self, ConsoleError> {
        Self::ALL
            .into_iter()
            .find(|integration| integration.code() == code)
            .ok_or_else(|| ConsoleError::NotFound(format!("integration `{}`", clip(code))))
    }

    /// The section's keys the editor shows. A Polyapi section already stored changes
    /// its appsecret only by rotation, which keeps the old one verifying for a while.
    pub fn fields(self, stored: bool) -> Vec<Field> {
        let all = match self {
            Self::Polyapi => POLYAPI,
            Self::Jushuitan => JUSHUITAN,
            Self::Wms => WMS,
            Self::Kingdee => KINGDEE,
        };
        all.iter()
            .filter(|field| !(stored && self == Self::Polyapi && field.path == "appsecret"))
            .copied()
            .collect()
    }
}

/// The settings as a JSON object (secrets included: it never leaves the server).
pub fn to_object(settings: &ShopConfig) -> Map<String, Value> {
    match serde_json::to_value(settings) {
        Ok(Value::Object(object)) => object,
        _ => Map::new(),
    }
}

/// Reads settings written as a JSON object with the file's rules: a key of the wrong
/// kind or a missing one is refused by its path (`wms.sender.name`), then every rule
/// the file's shops are checked by.
pub fn from_object(object: Map<String, Value>) -> Result<ShopConfig, ConsoleError> {
    let settings: ShopConfig =
        serde_path_to_error::deserialize(Value::Object(object)).map_err(|error| {
            let path = error.path().to_string();
            let message = error.inner().to_string();
            // A missing key is reported at its section; name the key itself.
            let missing = message
                .strip_prefix("missing field `")
                .and_then(|rest| rest.split('`').next())
                .map(str::to_owned);
            let field = match (missing, path.as_str()) {
                (Some(key), "." | "") => key,
                (Some(key), section) => format!("{section}.{key}"),
                (None, path) => path.to_owned(),
            };
            ConsoleError::invalid(&field, message)
        })?;
    settings.validate("").map_err(|error| match error {
        crate::config::ConfigError::Key { key, message } => ConsoleError::invalid(&key, message),
        other => ConsoleError::invalid("settings", other.to_string()),
    })?;
    Ok(settings)
}

/// Writes the posted `fields` of `integration` over its stored section (a new one when
/// there is none) in `object`.
pub fn apply_form(
    object: &mut Map<String, Value>,
    integration: Integration,
    form: &Form,
) -> Result<(), ConsoleError> {
    let code = integration.code();
    let stored = object.get(code).is_some();
    let mut section = match object.remove(code) {
        Some(Value::Object(section)) => section,
        _ => Map::new(),
    };
    for field in integration.fields(stored) {
        let name = field.path;
        let qualified = format!("{code}.{name}");
        let value = match field.kind {
            Kind::Text => form.text(name, MAX_TEXT)?.map(Value::from),
            Kind::Number => match form.one(name)? {
                None => None,
                Some(text) => Some(Value::from(text.parse::<i64>().map_err(|_| {
                    ConsoleError::invalid(
                        &qualified,
                        format!("`{}` is not a whole number", clip(text)),
                    )
                })?)),
            },
            Kind::Choice(options) => match form.one(name)? {
                None => None,
                Some(choice) if options.contains(&choice) => Some(Value::from(choice)),
                Some(other) => {
                    return Err(ConsoleError::invalid(
                        &qualified,
                        format!("`{}` is not one of {}", clip(other), options.join(", ")),
                    ))
                }
            },
            Kind::Secret { optional } => {
                match form.text(name, MAX_TEXT)? {
                    Some(secret) => Some(Value::from(secret)),
                    None if optional && form.one(&format!("clear.{name}"))?.is_some() => None,
                    // Blank keeps what is stored.
                    None => continue,
                }
            }
            Kind::Map => Some(Value::Object(read_map(&qualified, form.one(name)?)?)),
            Kind::List => Some(Value::Array(
                form.one(name)?
                    .unwrap_or_default()
                    .split([',', ' ', '\n', '\r'])
                    .filter(|item| !item.is_empty())
                    .map(Value::from)
                    .collect(),
            )),
        };
        set(&mut section, name, value);
    }
    object.insert(code.to_owned(), Value::Object(section));
    Ok(())
}

/// Sets (or, with `None`, removes) the value at a dotted `path` of `object`.
fn set(object: &mut Map<String, Value>, path: &str, value: Option<Value>) {
    match path.split_once('.') {
        None => {
            match value {
                Some(value) => object.insert(path.to_owned(), value),
                None => object.remove(path),
            };
        }
        Some((head, rest)) => {
            let inner = object
                .entry(head.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            if !inner.is_object() {
                *inner = Value::Object(Map::new());
            }
            if let Value::Object(inner) = inner {
                set(inner, rest, value);
            }
        }
    }
}

/// The value at a dotted `path` of `object`.
fn get<'a>(object: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    match path.split_once('.') {
        None => object.get(path),
        Some((head, rest)) => match object.get(head) {
            Some(Value::Object(inner)) => get(inner, rest),
            _ => None,
        },
    }
}

/// `key = value` lines; blank lines are skipped.
fn read_map(field: &str, text: Option<&str>) -> Result<Map<String, Value>, ConsoleError> {
    let mut map = Map::new();
    for (number, line) in text.unwrap_or_default().lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let pair = line
            .split_once('=')
            .map(|(key, value)| (key.trim(), value.trim()))
            .filter(|(key, value)| !key.is_empty() && !value.is_empty());
        let Some((key, value)) = pair else {
            return Err(ConsoleError::invalid(
                field,
                format!("line {}: `{}` is not `key = value`", number + 1, clip(line)),
            ));
        };
        map.insert(key.to_owned(), Value::from(value));
    }
    Ok(map)
}

/// A field as the editor shows it: never a secret's value.
#[derive(Debug, Clone)]
pub struct FieldView {
    /// The form field's name (the key's path).
    pub name: &'static str,
    /// `text`, `number`, `choice`, `secret`, `map` or `list`.
    pub kind: &'static str,
    /// The current value (empty for a secret).
    pub value: String,
    /// For a choice: each code and whether it is chosen.
    pub options: Vec<(&'static str, bool)>,
    /// For a secret: whether one is stored.
    pub set: bool,
    /// For a secret: it may be cleared.
    pub optional: bool,
}

/// The fields of `integration`'s section in `object` as the editor shows them.
pub fn view(object: &Map<String, Value>, integration: Integration) -> Vec<FieldView> {
    let section = match object.get(integration.code()) {
        Some(Value::Object(section)) => Some(section),
        _ => None,
    };
    integration
        .fields(section.is_some())
        .into_iter()
        .map(|field| {
            let current = section.and_then(|section| get(section, field.path));
            let text = |value: Option<&Value>| match value {
                Some(Value::String(text)) => text.clone(),
                Some(Value::Number(number)) => number.to_string(),
                _ => String::new(),
            };
            let mut view = FieldView {
                name: field.path,
                kind: "text",
                value: String::new(),
                options: Vec::new(),
                set: false,
                optional: false,
            };
            match field.kind {
                Kind::Text => view.value = text(current),
                Kind::Number => {
                    view.kind = "number";
                    view.value = text(current);
                }
                Kind::Choice(options) => {
                    view.kind = "choice";
                    let chosen = text(current);
                    view.options = options
                        .iter()
                        .enumerate()
                        .map(|(index, option)| {
                            (
                                *option,
                                *option == chosen || (chosen.is_empty() && index == 0),
                            )
                        })
                        .collect();
                }
                Kind::Secret { optional } => {
                    view.kind = "secret";
                    view.set = current.is_some_and(|value| value.as_str() != Some(""));
                    view.optional = optional;
                }
                Kind::Map => {
                    view.kind = "map";
                    if let Some(Value::Object(map)) = current {
                        view.value = map
                            .iter()
                            .map(|(key, value)| format!("{key} = {}", text(Some(value))))
                            .collect::<Vec<_>>()
                            .join("\n");
                    }
                }
                Kind::List => {
                    view.kind = "list";
                    if let Some(Value::Array(items)) = current {
                        view.value = items
                            .iter()
                            .map(|item| text(Some(item)))
                            .collect::<Vec<_>>()
                            .join(", ");
                    }
                }
            }
            view
        })
        .collect()
}

/// The keys whose value differs between two versions of the settings (maps by entry),
/// for the audit log: names only, never values.
pub fn changed_keys(before: &Map<String, Value>, after: &Map<String, Value>) -> Vec<String> {
    let mut keys = Vec::new();
    diff("", before, after, &mut keys);
    keys
}

fn diff(
    prefix: &str,
    before: &Map<String, Value>,
    after: &Map<String, Value>,
    keys: &mut Vec<String>,
) {
    let mut names: Vec<&String> = before.keys().chain(after.keys()).collect();
    names.sort();
    names.dedup();
    for name in names {
        let path = format!("{prefix}{name}");
        let empty = Map::new();
        match (before.get(name), after.get(name)) {
            (Some(Value::Object(old)), Some(Value::Object(new))) => {
                diff(&format!("{path}."), old, new, keys)
            }
            // A section added or removed: its keys.
            (Some(Value::Object(old)), None) => diff(&format!("{path}."), old, &empty, keys),
            (None, Some(Value::Object(new))) => diff(&format!("{path}."), &empty, new, keys),
            (old, new) if old != new => keys.push(path),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo() -> ShopConfig {
        toml::from_str(
            "code = \"demo\"\nname = \"Demo\"\n[polyapi]\nappkey = \"k\"\nappsecret = \"s\"\ntoken = \"T\"\n",
        )
        .expect("parses")
    }

    #[test]
    fn a_section_is_added_from_a_form_and_refused_by_its_keys() {
        let mut object = to_object(&demo());
        let posted = "url=http%3A%2F%2Fw%2F&app_key=k&secret=s&customer_id=c&owner_code=o\
                      &warehouse_code=w&callback_auth=sign&sender.name=%E4%BB%93&sender.mobile=1\
                      &sender.province=p&sender.city=c&sender.area=a&sender.address=x&timeout_secs=5";
        let form = Form::parse(posted.as_bytes()).unwrap();
        apply_form(&mut object, Integration::Wms, &form).unwrap();
        let settings = from_object(object.clone()).expect("valid");
        let wms = settings.wms.expect("wms");
        assert_eq!(wms.sender.name, "仓");
        assert_eq!(wms.timeout_secs, 5);
        assert_eq!(wms.push_interval_secs, 60, "a blank number is the default");
        // The form is the whole section: a field left blank is blank.
        let bad = Form::parse(posted.replace("sender.area=a", "sender.area=").as_bytes()).unwrap();
        let mut again = object.clone();
        apply_form(&mut again, Integration::Wms, &bad).unwrap();
        let refused = from_object(again).unwrap_err().to_string();
        assert!(refused.starts_with("wms.sender.area:"), "{refused}");
        let not_a_number = Form::parse(b"shop_id=x").unwrap();
        let error = apply_form(&mut object.clone(), Integration::Jushuitan, &not_a_number)
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("jushuitan.shop_id:"), "{error}");
    }

    #[test]
    fn secrets_are_kept_when_blank_and_never_shown() {
        let mut object = to_object(&demo());
        let form = Form::parse(b"appkey=k2&token=&disabled_methods=Consume").unwrap();
        apply_form(&mut object, Integration::Polyapi, &form).unwrap();
        let settings = from_object(object.clone()).unwrap();
        let polyapi = settings.polyapi.unwrap();
        assert_eq!(polyapi.token.expose(), "T");
        assert_eq!(polyapi.appsecret.expose(), "s", "changed only by rotation");
        assert_eq!(polyapi.disabled_methods, vec!["Consume".to_owned()]);
        let shown = view(&object, Integration::Polyapi);
        assert!(shown.iter().all(|field| field.name != "appsecret"));
        let token = shown.iter().find(|field| field.name == "token").unwrap();
        assert!(token.set && token.value.is_empty());
        assert_eq!(
            changed_keys(&to_object(&demo()), &object),
            vec!["polyapi.appkey", "polyapi.disabled_methods"]
        );
    }

    #[test]
    fn missing_keys_are_named() {
        let mut object = to_object(&demo());
        object.remove("polyapi");
        let form = Form::parse(b"appkey=k&appsecret=s").unwrap();
        apply_form(&mut object, Integration::Polyapi, &form).unwrap();
        let error = from_object(object).unwrap_err().to_string();
        assert!(error.starts_with("polyapi.token:"), "{error}");
        let map = Form::parse(b"material_by_sku=sd0001").unwrap();
        let error = apply_form(&mut Map::new(), Integration::Kingdee, &map)
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("kingdee.material_by_sku:"), "{error}");
    }
}
