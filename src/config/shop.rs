//! `[[shops]]`: the shops this server runs and their per-integration settings.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{is_placeholder, ConfigError, KingdeeShopConfig, Secret};

/// One `[[shops]]` entry. Declared shops are created or updated in the database at start.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShopConfig {
    /// Short stable code used in URLs and on the CLI (`a-z`, `0-9`, `-`, `_`).
    pub code: String,
    /// Display name.
    pub name: String,
    /// The shop's time zone as an offset from UTC; times on the wire are in it.
    #[serde(default)]
    pub utc_offset: UtcOffset,
    /// Polyapi credentials: the ERP calls with this appkey and token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub polyapi: Option<PolyapiShopConfig>,
    /// Jushuitan connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jushuitan: Option<JushuitanShopConfig>,
    /// Qimen-standard warehouse connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wms: Option<WmsShopConfig>,
    /// 金蝶云星空 (Kingdee K/3 Cloud) connection: where returns are booked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kingdee: Option<KingdeeShopConfig>,
}

impl ShopConfig {
    /// The integrations the shop uses, by name (for logs and `polymall check`).
    pub fn integrations(&self) -> Vec<&'static str> {
        [
            ("polyapi", self.polyapi.is_some()),
            ("jushuitan", self.jushuitan.is_some()),
            ("wms", self.wms.is_some()),
            ("kingdee", self.kingdee.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, on)| on.then_some(name))
        .collect()
    }

    /// Keys of the shop (named after `at`, as in [`ShopConfig::validate`]) whose secret
    /// is still a sample placeholder.
    pub fn placeholder_secrets(&self, at: &str) -> Vec<String> {
        let mut found = Vec::new();
        let mut check = |name: &str, value: Option<&Secret>| {
            if value.is_some_and(|secret| is_placeholder(secret.expose())) {
                found.push(format!("{at}{name}"));
            }
        };
        if let Some(polyapi) = &self.polyapi {
            check("polyapi.appkey", Some(&Secret::new(polyapi.appkey.clone())));
            check("polyapi.appsecret", Some(&polyapi.appsecret));
            check("polyapi.token", Some(&polyapi.token));
        }
        if let Some(jst) = &self.jushuitan {
            check("jushuitan.app_secret", jst.app_secret.as_ref());
            check("jushuitan.access_token", jst.access_token.as_ref());
            check("jushuitan.refresh_token", jst.refresh_token.as_ref());
            check("jushuitan.partner_key", jst.partner_key.as_ref());
            check("jushuitan.token", jst.token.as_ref());
        }
        if let Some(wms) = &self.wms {
            check("wms.secret", Some(&wms.secret));
            check("wms.callback_token", wms.callback_token.as_ref());
        }
        if let Some(kingdee) = &self.kingdee {
            check("kingdee.password", kingdee.password.as_ref());
            check("kingdee.app_secret", kingdee.app_secret.as_ref());
        }
        found
    }

    /// Checks the shop's own keys. Errors name the key after `at`: `shops[2].` for the
    /// third shop of a file, empty for a shop edited on its own (the console).
    pub fn validate(&self, at: &str) -> Result<(), ConfigError> {
        let valid_code = !self.code.is_empty()
            && self.code.len() <= 32
            && self
                .code
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !valid_code {
            return Err(ConfigError::Key {
                key: format!("{at}code"),
                message: format!(
                    "`{}` must be 1-32 characters of a-z, 0-9, `-` or `_`",
                    self.code
                ),
            });
        }
        if self.name.trim().is_empty() {
            return Err(ConfigError::Key {
                key: format!("{at}name"),
                message: "must not be empty".to_owned(),
            });
        }
        if let Some(jushuitan) = &self.jushuitan {
            jushuitan.validate(at)?;
        }
        if let Some(wms) = &self.wms {
            let key = |name: &str| format!("{at}wms.{name}");
            if !wms.url.starts_with("http://") && !wms.url.starts_with("https://") {
                return Err(ConfigError::Key {
                    key: key("url"),
                    message: format!("`{}` is not an http(s) URL", wms.url),
                });
            }
            for (name, value) in [
                ("app_key", &wms.app_key),
                ("customer_id", &wms.customer_id),
                ("owner_code", &wms.owner_code),
                ("warehouse_code", &wms.warehouse_code),
            ] {
                if value.trim().is_empty() {
                    return Err(ConfigError::Key {
                        key: key(name),
                        message: "must not be empty".to_owned(),
                    });
                }
            }
            for (name, value) in [
                ("push_interval_secs", wms.push_interval_secs),
                ("stock_interval_secs", wms.stock_interval_secs),
                ("timeout_secs", wms.timeout_secs),
            ] {
                if value == 0 {
                    return Err(ConfigError::Key {
                        key: key(name),
                        message: "must be at least 1".to_owned(),
                    });
                }
            }
            if wms.max_attempts < 1 {
                return Err(ConfigError::Key {
                    key: key("max_attempts"),
                    message: "must be at least 1".to_owned(),
                });
            }
            wms.sender.validate(at)?;
            wms.validate_callback_auth(at)?;
        }
        if let Some(kingdee) = &self.kingdee {
            kingdee.validate(at)?;
        }
        if let Some(polyapi) = &self.polyapi {
            for (key, value) in [
                ("appkey", polyapi.appkey.as_str()),
                ("appsecret", polyapi.appsecret.expose()),
                ("token", polyapi.token.expose()),
            ] {
                if value.is_empty() {
                    return Err(ConfigError::Key {
                        key: format!("{at}polyapi.{key}"),
                        message: "must not be empty".to_owned(),
                    });
                }
            }
        }
        Ok(())
    }
}

/// `[shops.polyapi]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolyapiShopConfig {
    /// The application key the ERP sends as `appkey`.
    pub appkey: String,
    /// The secret both sides sign with.
    pub appsecret: Secret,
    /// The token the ERP sends as `token`; it selects this shop.
    pub token: Secret,
    /// Polyapi methods switched off for this shop (e.g. `["Consume"]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub disabled_methods: Vec<String>,
}

/// Which Jushuitan API generation a shop talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JushuitanApi {
    /// The open platform (`openapi.jushuitan.com`, app_key/app_secret/access_token).
    Open,
    /// The legacy partner API (partnerid/partnerkey/token).
    Legacy,
}

/// `[shops.jushuitan]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JushuitanShopConfig {
    /// API generation.
    pub api: JushuitanApi,
    /// Base URL of the API.
    pub base_url: String,
    /// The shop's id on the Jushuitan side.
    pub shop_id: i64,
    /// Open API application key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_key: Option<String>,
    /// Open API application secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_secret: Option<Secret>,
    /// Open API access token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token: Option<Secret>,
    /// Open API refresh token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<Secret>,
    /// Legacy API partner id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_id: Option<String>,
    /// Legacy API partner key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_key: Option<Secret>,
    /// Legacy API token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<Secret>,
    /// Seconds between order pushes (the outbox is drained this often).
    #[serde(default = "default_push_interval")]
    pub push_interval_secs: u64,
    /// Seconds between stock pulls.
    #[serde(default = "default_stock_interval")]
    pub stock_interval_secs: u64,
    /// Seconds between shipping pulls.
    #[serde(default = "default_shipping_interval")]
    pub shipping_interval_secs: u64,
    /// Seconds between refund pulls.
    #[serde(default = "default_refund_interval")]
    pub refund_interval_secs: u64,
    /// Attempts before an outbox row is dead.
    #[serde(default = "default_max_attempts")]
    pub max_attempts: i32,
    /// Seconds an API call may take.
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
}

fn default_push_interval() -> u64 {
    60
}
fn default_stock_interval() -> u64 {
    1_800
}
fn default_shipping_interval() -> u64 {
    600
}
fn default_refund_interval() -> u64 {
    1_800
}
fn default_max_attempts() -> i32 {
    8
}
fn default_timeout() -> u64 {
    20
}

impl JushuitanShopConfig {
    /// Checks that the credentials of the chosen generation are all given.
    pub(super) fn validate(&self, at: &str) -> Result<(), ConfigError> {
        let key = |name: &str| format!("{at}jushuitan.{name}");
        let missing = |name: &str| ConfigError::Key {
            key: key(name),
            message: format!(
                "is required when api = \"{}\"",
                if self.api == JushuitanApi::Open {
                    "open"
                } else {
                    "legacy"
                }
            ),
        };
        match self.api {
            JushuitanApi::Open => {
                if self.app_key.as_deref().unwrap_or_default().is_empty() {
                    return Err(missing("app_key"));
                }
                for (name, value) in [
                    ("app_secret", &self.app_secret),
                    ("access_token", &self.access_token),
                ] {
                    if value
                        .as_ref()
                        .map(Secret::expose)
                        .unwrap_or_default()
                        .is_empty()
                    {
                        return Err(missing(name));
                    }
                }
            }
            JushuitanApi::Legacy => {
                if self.partner_id.as_deref().unwrap_or_default().is_empty() {
                    return Err(missing("partner_id"));
                }
                for (name, value) in [("partner_key", &self.partner_key), ("token", &self.token)] {
                    if value
                        .as_ref()
                        .map(Secret::expose)
                        .unwrap_or_default()
                        .is_empty()
                    {
                        return Err(missing(name));
                    }
                }
            }
        }
        if !self.base_url.starts_with("http://") && !self.base_url.starts_with("https://") {
            return Err(ConfigError::Key {
                key: key("base_url"),
                message: format!("`{}` is not an http(s) URL", self.base_url),
            });
        }
        for (name, value) in [
            ("push_interval_secs", self.push_interval_secs),
            ("stock_interval_secs", self.stock_interval_secs),
            ("shipping_interval_secs", self.shipping_interval_secs),
            ("refund_interval_secs", self.refund_interval_secs),
            ("timeout_secs", self.timeout_secs),
        ] {
            if value == 0 {
                return Err(ConfigError::Key {
                    key: key(name),
                    message: "must be at least 1".to_owned(),
                });
            }
        }
        if self.max_attempts < 1 {
            return Err(ConfigError::Key {
                key: key("max_attempts"),
                message: "must be at least 1".to_owned(),
            });
        }
        Ok(())
    }
}

/// `[shops.wms]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WmsShopConfig {
    /// The warehouse's Qimen-format endpoint.
    pub url: String,
    /// Application key issued by the warehouse.
    pub app_key: String,
    /// Signing secret: signs requests, and verifies callbacks when they are signed.
    #[serde(default)]
    pub secret: Secret,
    /// The shop's customer id at the warehouse.
    pub customer_id: String,
    /// Owner (货主) code.
    pub owner_code: String,
    /// Warehouse code.
    pub warehouse_code: String,
    /// Prefix before each method name, e.g. `taobao.qimen.`; empty by default.
    #[serde(default)]
    pub method_prefix: String,
    /// Carrier code the warehouse should use (`logisticsCode`, e.g. `ZTO`).
    #[serde(default = "default_logistics_code")]
    pub logistics_code: String,
    /// Who the parcels are sent from (`senderInfo` of every delivery order).
    pub sender: WmsSender,
    /// Seconds between pushes of items, delivery orders and cancellations.
    #[serde(default = "default_push_interval")]
    pub push_interval_secs: u64,
    /// Seconds between stock pulls; the warehouse refuses frequent inventory queries.
    #[serde(default = "default_wms_stock_interval")]
    pub stock_interval_secs: u64,
    /// Attempts before an outbox row is dead.
    #[serde(default = "default_max_attempts")]
    pub max_attempts: i32,
    /// Seconds a call may take.
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
    /// How the warehouse's shipment confirmations prove they come from it.
    #[serde(default)]
    pub callback_auth: CallbackAuth,
    /// With `callback_auth = "url_token"`: the secret part of the callback URL
    /// `/qimen/callback/<token>` given to the warehouse.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_token: Option<Secret>,
}

/// `[shops.wms.sender]`: the sender printed on the waybills.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WmsSender {
    /// Name.
    pub name: String,
    /// Mobile or telephone number.
    pub mobile: String,
    /// Province.
    pub province: String,
    /// City.
    pub city: String,
    /// District.
    pub area: String,
    /// Street address.
    pub address: String,
}

/// Longest province, city or district a warehouse takes.
pub const WMS_MAX_REGION: usize = 50;
/// Longest street address a warehouse takes.
pub const WMS_MAX_ADDRESS: usize = 200;

impl WmsSender {
    /// Every field is required by the warehouse and must fit its limits.
    fn validate(&self, at: &str) -> Result<(), ConfigError> {
        for (name, value, max) in [
            ("name", &self.name, WMS_MAX_REGION),
            ("mobile", &self.mobile, WMS_MAX_REGION),
            ("province", &self.province, WMS_MAX_REGION),
            ("city", &self.city, WMS_MAX_REGION),
            ("area", &self.area, WMS_MAX_REGION),
            ("address", &self.address, WMS_MAX_ADDRESS),
        ] {
            let key = format!("{at}wms.sender.{name}");
            if value.trim().is_empty() {
                return Err(ConfigError::Key {
                    key,
                    message: "must not be empty: the warehouse needs the sender".to_owned(),
                });
            }
            if value.chars().count() > max {
                return Err(ConfigError::Key {
                    key,
                    message: format!("is longer than {max} characters"),
                });
            }
        }
        Ok(())
    }
}

/// How a warehouse's callbacks authenticate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallbackAuth {
    /// The Qimen sign over the query and the body, with the shared `secret`.
    #[default]
    Sign,
    /// An unguessable token in the callback URL, for warehouses that do not sign
    /// (jxwms posts its confirmation unsigned to the URL it is given).
    UrlToken,
}

/// Shortest callback token accepted: long enough that it cannot be guessed.
const MIN_CALLBACK_TOKEN: usize = 32;

impl WmsShopConfig {
    /// Sign mode needs the shared secret; URL-token mode needs an unguessable token of
    /// URL-safe characters.
    fn validate_callback_auth(&self, at: &str) -> Result<(), ConfigError> {
        let key = |name: &str| format!("{at}wms.{name}");
        match (self.callback_auth, &self.callback_token) {
            (CallbackAuth::Sign, None) if self.secret.expose().is_empty() => Err(ConfigError::Key {
                key: key("secret"),
                message: "must not be empty when callbacks are signed; for a warehouse that does not sign, set callback_auth = \"url_token\" and a callback_token".to_owned(),
            }),
            (CallbackAuth::Sign, None) => Ok(()),
            (CallbackAuth::Sign, Some(_)) => Err(ConfigError::Key {
                key: key("callback_token"),
                message: "is used only with callback_auth = \"url_token\"".to_owned(),
            }),
            (CallbackAuth::UrlToken, None) => Err(ConfigError::Key {
                key: key("callback_token"),
                message: "is required when callback_auth = \"url_token\"".to_owned(),
            }),
            (CallbackAuth::UrlToken, Some(token)) => {
                let token = token.expose();
                let url_safe = token
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
                if token.len() < MIN_CALLBACK_TOKEN || !url_safe {
                    return Err(ConfigError::Key {
                        key: key("callback_token"),
                        message: format!("must be at least {MIN_CALLBACK_TOKEN} characters of A-Z, a-z, 0-9, `-` or `_` (e.g. the output of `openssl rand -hex 24`)"),
                    });
                }
                Ok(())
            }
        }
    }
}

fn default_logistics_code() -> String {
    "OTHER".to_owned()
}
fn default_wms_stock_interval() -> u64 {
    86_400
}

/// A fixed offset from UTC such as `+08:00`; the default is China time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UtcOffset(i32);

impl UtcOffset {
    /// Builds an offset from minutes east of UTC, if within ±14 h.
    pub fn from_minutes(minutes: i32) -> Option<Self> {
        (-840..=840).contains(&minutes).then_some(Self(minutes))
    }

    /// Minutes east of UTC.
    pub fn minutes(self) -> i32 {
        self.0
    }

    /// The chrono offset.
    pub fn fixed(self) -> chrono::FixedOffset {
        use chrono::Offset;
        // The range is checked on construction, so the fallback is never taken.
        chrono::FixedOffset::east_opt(self.0 * 60).unwrap_or_else(|| chrono::Utc.fix())
    }
}

impl Default for UtcOffset {
    fn default() -> Self {
        Self(8 * 60)
    }
}

impl std::fmt::Display for UtcOffset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sign = if self.0 < 0 { '-' } else { '+' };
        let abs = self.0.abs();
        write!(f, "{sign}{:02}:{:02}", abs / 60, abs % 60)
    }
}

impl std::str::FromStr for UtcOffset {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || format!("`{text}` is not an offset like +08:00");
        let (sign, rest) = match text.as_bytes().first() {
            Some(b'+') => (1, &text[1..]),
            Some(b'-') => (-1, &text[1..]),
            _ => return Err(bad()),
        };
        let (hours, minutes) = rest.split_once(':').ok_or_else(bad)?;
        if hours.len() != 2 || minutes.len() != 2 {
            return Err(bad());
        }
        let hours: i32 = hours.parse().map_err(|_| bad())?;
        let minutes: i32 = minutes.parse().map_err(|_| bad())?;
        if minutes >= 60 {
            return Err(bad());
        }
        Self::from_minutes(sign * (hours * 60 + minutes)).ok_or_else(bad)
    }
}

impl Serialize for UtcOffset {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for UtcOffset {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_parse_and_print() {
        assert_eq!("+08:00".parse::<UtcOffset>().unwrap().minutes(), 480);
        assert_eq!("-03:30".parse::<UtcOffset>().unwrap().minutes(), -210);
        assert_eq!("+05:45".parse::<UtcOffset>().unwrap().to_string(), "+05:45");
        for bad in ["8", "+8:00", "+15:00", "+08:60", "08:00", ""] {
            assert!(bad.parse::<UtcOffset>().is_err(), "{bad}");
        }
    }

    fn shop_with_wms(wms: &str) -> Result<(), ConfigError> {
        let text = format!(
            "code = \"demo\"\nname = \"Demo\"\n[wms]\nurl = \"http://127.0.0.1:9/wms\"\n\
             app_key = \"k\"\ncustomer_id = \"c\"\nowner_code = \"o\"\nwarehouse_code = \"w\"\n{wms}\n\
             [wms.sender]\nname = \"仓\"\nmobile = \"1\"\nprovince = \"浙江省\"\ncity = \"杭州市\"\n\
             area = \"西湖区\"\naddress = \"文三路1号\"\n"
        );
        let shop: ShopConfig = toml::from_str(&text).expect("parses");
        shop.validate("shops[0].")
    }

    fn refused_key(wms: &str) -> String {
        match shop_with_wms(wms) {
            Err(ConfigError::Key { key, .. }) => key,
            other => panic!("{wms}: {other:?}"),
        }
    }

    #[test]
    fn callback_auth_is_sign_or_an_unguessable_url_token() {
        shop_with_wms("secret = \"s\"").expect("signed");
        let token = "a".repeat(MIN_CALLBACK_TOKEN);
        shop_with_wms(&format!(
            "secret = \"\"\ncallback_auth = \"url_token\"\ncallback_token = \"{token}\""
        ))
        .expect("url token");
        assert_eq!(refused_key("secret = \"\""), "shops[0].wms.secret");
        assert_eq!(
            refused_key("secret = \"s\"\ncallback_auth = \"url_token\""),
            "shops[0].wms.callback_token"
        );
        assert_eq!(
            refused_key(
                "secret = \"s\"\ncallback_auth = \"url_token\"\ncallback_token = \"short\""
            ),
            "shops[0].wms.callback_token"
        );
        assert_eq!(
            refused_key(&format!(
                "secret = \"s\"\ncallback_auth = \"url_token\"\ncallback_token = \"{}/\"",
                "a".repeat(40)
            )),
            "shops[0].wms.callback_token"
        );
        assert_eq!(
            refused_key(&format!("secret = \"s\"\ncallback_token = \"{token}\"")),
            "shops[0].wms.callback_token"
        );
    }

    #[test]
    fn the_sender_is_required_whole() {
        let mut shop: ShopConfig = toml::from_str(
            "code = \"demo\"\nname = \"Demo\"\n[wms]\nurl = \"http://w/\"\napp_key = \"k\"\nsecret = \"s\"\n\
             customer_id = \"c\"\nowner_code = \"o\"\nwarehouse_code = \"w\"\n[wms.sender]\nname = \"仓\"\n\
             mobile = \"1\"\nprovince = \"浙江省\"\ncity = \"杭州市\"\narea = \"西湖区\"\naddress = \"文三路1号\"\n",
        )
        .expect("parses");
        shop.validate("shops[0].").expect("complete");
        if let Some(wms) = shop.wms.as_mut() {
            wms.sender.area = " ".to_owned();
        }
        assert!(
            matches!(shop.validate("shops[0]."), Err(ConfigError::Key { key, .. }) if key == "shops[0].wms.sender.area")
        );
        let missing = toml::from_str::<ShopConfig>(
            "code = \"demo\"\nname = \"Demo\"\n[wms]\nurl = \"http://w/\"\napp_key = \"k\"\nsecret = \"s\"\n\
             customer_id = \"c\"\nowner_code = \"o\"\nwarehouse_code = \"w\"\n",
        );
        assert!(missing.is_err_and(|e| e.to_string().contains("sender")));
    }
}
