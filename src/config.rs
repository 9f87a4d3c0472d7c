//! Typed configuration: one TOML file, every key overridable from the environment.
//!
//! The file is found as `--config PATH`, else `$POLYMALL_CONFIG`, else `./polymall.toml`,
//! else the built-in defaults apply. Environment variables named
//! `POLYMALL__SECTION__KEY` override single keys after the file is read; for the shop
//! list the section is `SHOPS__<index or shop code>`. Unknown keys are refused with the
//! key's path, and secrets print as `***` so neither `Debug` nor logs can leak them.

mod env;
mod kingdee;
mod secret;
mod shop;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use kingdee::{KingdeeLogin, KingdeeShopConfig};
pub use secret::Secret;
pub use shop::{
    CallbackAuth, JushuitanApi, JushuitanShopConfig, PolyapiShopConfig, ShopConfig, UtcOffset,
    WmsSender, WmsShopConfig, WMS_MAX_ADDRESS, WMS_MAX_REGION,
};

/// Environment variable naming the config file when `--config` is not given.
pub const CONFIG_ENV: &str = "POLYMALL_CONFIG";
/// File read from the working directory when neither `--config` nor `$POLYMALL_CONFIG` is set.
pub const DEFAULT_CONFIG_FILE: &str = "polymall.toml";

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file that was tried.
        path: PathBuf,
        /// The I/O failure.
        source: std::io::Error,
    },
    /// The file is not valid TOML.
    #[error("config file {path} is not valid TOML: {message}")]
    Syntax {
        /// The file that was read.
        path: String,
        /// The parser's message, with line and column.
        message: String,
    },
    /// A key is unknown, missing or has the wrong type.
    #[error("config key `{key}`: {message}")]
    Key {
        /// Dotted path of the offending key, e.g. `shops[0].polyapi.appkey`.
        key: String,
        /// What is wrong with it.
        message: String,
    },
    /// An environment override could not be applied.
    #[error("environment variable {var}: {message}")]
    Env {
        /// The variable's name.
        var: String,
        /// What is wrong with it.
        message: String,
    },
}

/// Whether `value` is a sample placeholder (`change-me`, in any case and spelling).
pub fn is_placeholder(value: &str) -> bool {
    let folded: String = value
        .to_ascii_lowercase()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    folded.contains("changeme")
}

/// The whole configuration.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// HTTP server settings.
    pub server: ServerConfig,
    /// Shop database settings.
    pub database: DatabaseConfig,
    /// Admin/intake API settings.
    pub admin: AdminConfig,
    /// The operators' web console.
    pub console: ConsoleConfig,
    /// The Prometheus endpoint.
    pub metrics: MetricsConfig,
    /// The shops this server runs.
    pub shops: Vec<ShopConfig>,
    /// The file this configuration was read from (`None`: built-in defaults).
    #[serde(skip)]
    pub source: Option<PathBuf>,
}

/// `[server]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address to listen on, `host:port`.
    pub listen: String,
    /// Path of the single Polyapi endpoint.
    pub polyapi_path: String,
    /// `text` (human) or `json` (one object per line, for journald or a collector).
    pub log_format: LogFormat,
    /// Milliseconds a Polyapi call may take before it is answered with GSE.SYSTEM_ERROR
    /// (the ERP gives up after 20 s).
    pub polyapi_deadline_ms: u64,
    /// Seconds in-flight requests get to finish after SIGTERM.
    pub shutdown_timeout_secs: u64,
    /// Polyapi calls per second from one client address (bursts to twice that); 0 = no limit.
    pub rate_limit_per_ip: u32,
    /// Polyapi calls per second for one appkey (bursts to twice that); 0 = no limit.
    pub rate_limit_per_appkey: u32,
    /// HTTP worker threads; 0 means one per CPU.
    pub workers: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".to_owned(),
            polyapi_path: "/polyapi".to_owned(),
            polyapi_deadline_ms: 15_000,
            log_format: LogFormat::Text,
            shutdown_timeout_secs: 30,
            rate_limit_per_ip: 0,
            rate_limit_per_appkey: 0,
            workers: 0,
        }
    }
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// `[database]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// A file path (SQLite) or a `postgres://` URL (PostgreSQL).
    pub url: Secret,
    /// Connections kept in the pool.
    pub pool_size: u32,
    /// Milliseconds a request waits for a pooled connection before giving up.
    pub pool_timeout_ms: u64,
    /// Milliseconds a single statement may run (PostgreSQL `statement_timeout`,
    /// SQLite `busy_timeout`).
    pub statement_timeout_ms: u64,
    /// MiB of GetOrder's rendered orders kept in memory, reused while an order is
    /// unchanged; 0 keeps none.
    pub rendered_orders_mib: u64,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: Secret::new("polymall.db"),
            pool_size: 8,
            pool_timeout_ms: 5_000,
            statement_timeout_ms: 10_000,
            rendered_orders_mib: 64,
        }
    }
}

/// `[admin]`
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdminConfig {
    /// Bearer token for `/admin/v1`; the admin API is disabled when unset.
    pub token: Option<Secret>,
}

/// `[console]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsoleConfig {
    /// Marks the console's cookies `Secure`, so browsers send them over HTTPS only. Set it
    /// when operators reach polymall through HTTPS (a TLS-terminating proxy); a browser
    /// on plain HTTP then cannot sign in.
    pub secure_cookies: bool,
    /// Minutes a session lasts without being used.
    pub session_idle_minutes: u32,
    /// Hours a session lasts at most, used or not.
    pub session_max_hours: u32,
    /// The time zone of the times the console shows, and of its "today".
    pub utc_offset: UtcOffset,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        Self {
            secure_cookies: false,
            session_idle_minutes: 60,
            session_max_hours: 12,
            utc_offset: UtcOffset::default(),
        }
    }
}

/// `[metrics]`
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// Bearer token `/metrics` asks for (16+ characters); open without it.
    pub token: Option<Secret>,
}

impl DatabaseConfig {
    /// Where the database is, for logs and `polymall check`: the SQLite file as an
    /// absolute path, or a PostgreSQL URL without its password and parameters.
    pub fn location(&self) -> String {
        let url = self.url.expose();
        if let Some(rest) = url
            .strip_prefix("postgres://")
            .or_else(|| url.strip_prefix("postgresql://"))
        {
            let rest = rest.split(['?', '#']).next().unwrap_or_default();
            let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
            let (user, host) = match authority.rsplit_once('@') {
                Some((userinfo, host)) => {
                    let user = userinfo.split(':').next().unwrap_or_default();
                    (format!("{user}@"), host)
                }
                None => (String::new(), authority),
            };
            return format!("postgres://{user}{host}/{path}");
        }
        let file = Path::new(url.strip_prefix("sqlite://").unwrap_or(url));
        std::path::absolute(file)
            .unwrap_or_else(|_| file.to_path_buf())
            .display()
            .to_string()
    }
}

impl Config {
    /// Loads the configuration as the CLI does: explicit path, `$POLYMALL_CONFIG`,
    /// `./polymall.toml`, defaults; then the environment overrides.
    pub fn load(explicit: Option<&Path>) -> Result<Self, ConfigError> {
        let path = Self::file(explicit);
        let text = match &path {
            Some(path) => std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.clone(),
                source,
            })?,
            None => String::new(),
        };
        let origin = path
            .as_deref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "(defaults)".to_owned());
        let mut config = Self::from_toml_with_env(&text, &origin, std::env::vars())?;
        config.source = path;
        Ok(config)
    }

    /// The file [`Config::load`] reads: explicit path, `$POLYMALL_CONFIG`, or
    /// `./polymall.toml` when it exists; `None` means the defaults.
    pub fn file(explicit: Option<&Path>) -> Option<PathBuf> {
        let from_env = std::env::var_os(CONFIG_ENV).map(PathBuf::from);
        match (explicit, from_env) {
            (Some(path), _) => Some(path.to_path_buf()),
            (None, Some(path)) => Some(path),
            (None, None) => {
                let local = PathBuf::from(DEFAULT_CONFIG_FILE);
                local.exists().then_some(local)
            }
        }
    }

    /// Parses a TOML document, then applies `POLYMALL__…` overrides from `vars`.
    pub fn from_toml_with_env(
        text: &str,
        origin: &str,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let file: toml::Table = toml::from_str(text).map_err(|e| ConfigError::Syntax {
            path: origin.to_owned(),
            message: e.to_string(),
        })?;
        let mut tree = toml::Value::Table(file);
        env::apply_overrides(&mut tree, &Self::default(), vars)?;
        let config: Config =
            serde_path_to_error::deserialize(tree).map_err(|e| ConfigError::Key {
                key: e.path().to_string(),
                message: e.inner().to_string(),
            })?;
        config.validate()?;
        Ok(config)
    }

    /// Checks rules that span keys: parseable listen address, unique shop codes and tokens.
    fn validate(&self) -> Result<(), ConfigError> {
        self.server
            .listen
            .parse::<SocketAddr>()
            .map_err(|e| ConfigError::Key {
                key: "server.listen".to_owned(),
                message: format!("`{}` is not host:port ({e})", self.server.listen),
            })?;
        if !self.server.polyapi_path.starts_with('/') {
            return Err(ConfigError::Key {
                key: "server.polyapi_path".to_owned(),
                message: "must start with `/`".to_owned(),
            });
        }
        if !(1..=19_000).contains(&self.server.polyapi_deadline_ms) {
            return Err(ConfigError::Key {
                key: "server.polyapi_deadline_ms".to_owned(),
                message: "must be between 1 and 19000 (the ERP gives up after 20 s)".to_owned(),
            });
        }
        if self.database.pool_timeout_ms >= self.server.polyapi_deadline_ms {
            return Err(ConfigError::Key {
                key: "database.pool_timeout_ms".to_owned(),
                message: "must be shorter than server.polyapi_deadline_ms, so a call waiting for a connection still answers in time".to_owned(),
            });
        }
        if self.database.pool_size == 0 {
            return Err(ConfigError::Key {
                key: "database.pool_size".to_owned(),
                message: "must be at least 1".to_owned(),
            });
        }
        for (key, token) in [
            ("admin.token", &self.admin.token),
            ("metrics.token", &self.metrics.token),
        ] {
            if token
                .as_ref()
                .is_some_and(|token| token.expose().len() < 16)
            {
                return Err(ConfigError::Key {
                    key: key.to_owned(),
                    message: "must be at least 16 characters".to_owned(),
                });
            }
        }
        if !(1..=24 * 60).contains(&self.console.session_idle_minutes) {
            return Err(ConfigError::Key {
                key: "console.session_idle_minutes".to_owned(),
                message: "must be between 1 and 1440".to_owned(),
            });
        }
        if !(1..=24 * 30).contains(&self.console.session_max_hours) {
            return Err(ConfigError::Key {
                key: "console.session_max_hours".to_owned(),
                message: "must be between 1 and 720".to_owned(),
            });
        }
        let mut seen_codes = std::collections::HashSet::new();
        let mut seen_appkeys = std::collections::HashMap::new();
        let mut seen_customers = std::collections::HashMap::new();
        for (index, shop) in self.shops.iter().enumerate() {
            shop.validate(&format!("shops[{index}]."))?;
            if !seen_codes.insert(shop.code.as_str()) {
                return Err(ConfigError::Key {
                    key: format!("shops[{index}].code"),
                    message: format!("shop code `{}` is declared twice", shop.code),
                });
            }
            // One appkey per shop: its secret, its rate limit and its rotation are the shop's own.
            if let Some(polyapi) = &shop.polyapi {
                if let Some(first) =
                    seen_appkeys.insert(polyapi.appkey.as_str(), shop.code.as_str())
                {
                    return Err(ConfigError::Key {
                        key: format!("shops[{index}].polyapi.appkey"),
                        message: format!(
                            "`{}` is already the appkey of shop `{first}`; every shop needs its own",
                            polyapi.appkey
                        ),
                    });
                }
            }
            // The warehouse's callbacks find their shop by customerId.
            if let Some(wms) = &shop.wms {
                if let Some(first) =
                    seen_customers.insert(wms.customer_id.as_str(), shop.code.as_str())
                {
                    return Err(ConfigError::Key {
                        key: format!("shops[{index}].wms.customer_id"),
                        message: format!(
                            "`{}` is already the warehouse customer of shop `{first}`; the warehouse's callbacks find their shop by it",
                            wms.customer_id
                        ),
                    });
                }
            }
        }
        Ok(())
    }

    /// Checks what `serve` needs beyond a valid file: a server reachable from other
    /// machines must not run with the sample's placeholder secrets (`change-me`).
    pub fn check_for_serving(&self) -> Result<(), ConfigError> {
        if !self.listens_beyond_loopback() {
            return Ok(());
        }
        match self.placeholder_secrets().into_iter().next() {
            None => Ok(()),
            Some(key) => Err(ConfigError::Key {
                key,
                message: format!(
                    "is a placeholder (`change-me`); set a real value before listening on {}",
                    self.server.listen
                ),
            }),
        }
    }

    /// Whether other machines can reach the server (it listens beyond loopback), so a
    /// sample placeholder secret would be an open door.
    pub fn listens_beyond_loopback(&self) -> bool {
        !self
            .server
            .listen
            .parse::<SocketAddr>()
            .is_ok_and(|address| address.ip().is_loopback())
    }

    /// Keys whose value is still a sample placeholder.
    fn placeholder_secrets(&self) -> Vec<String> {
        let mut found = Vec::new();
        let mut check = |key: String, value: Option<&str>| {
            if value.is_some_and(is_placeholder) {
                found.push(key);
            }
        };
        check(
            "admin.token".to_owned(),
            self.admin.token.as_ref().map(Secret::expose),
        );
        check(
            "metrics.token".to_owned(),
            self.metrics.token.as_ref().map(Secret::expose),
        );
        for (index, shop) in self.shops.iter().enumerate() {
            found.extend(shop.placeholder_secrets(&format!("shops[{index}].")));
        }
        found
    }

    /// The shop declared with `code`, if any.
    pub fn shop(&self, code: &str) -> Option<&ShopConfig> {
        self.shops.iter().find(|shop| shop.code == code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str, vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_toml_with_env(
            text,
            "test.toml",
            vars.iter().map(|(k, v)| (k.to_string(), v.to_string())),
        )
    }

    const SAMPLE: &str = r#"
        [server]
        listen = "127.0.0.1:9000"
        [database]
        url = "shop.db"
        [admin]
        token = "0123456789abcdef0123"
        [[shops]]
        code = "demo"
        name = "Demo"
        utc_offset = "+08:00"
        [shops.polyapi]
        appkey = "k"
        appsecret = "very-secret"
        token = "T"
    "#;

    #[test]
    fn empty_file_gives_defaults() {
        let config = parse("", &[]).unwrap();
        assert_eq!(config.server.listen, "127.0.0.1:8080");
        assert_eq!(config.server.polyapi_path, "/polyapi");
        assert_eq!(config.database.url.expose(), "polymall.db");
        assert!(config.admin.token.is_none());
        assert!(config.shops.is_empty());
    }

    #[test]
    fn reads_every_section() {
        let config = parse(SAMPLE, &[]).unwrap();
        assert_eq!(config.server.listen, "127.0.0.1:9000");
        assert_eq!(config.shops[0].utc_offset.minutes(), 480);
        let polyapi = config.shops[0].polyapi.as_ref().unwrap();
        assert_eq!(polyapi.appsecret.expose(), "very-secret");
    }

    #[test]
    fn unknown_key_is_named() {
        let err = parse("[server]\nlisten = \"127.0.0.1:1\"\nlisen = 1\n", &[]).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("lisen"), "{text}");
        let err = parse(&format!("{SAMPLE}\nappkee = 1\n"), &[]).unwrap_err();
        assert!(err.to_string().contains("shops[0].polyapi"), "{err}");
        assert!(err.to_string().contains("appkee"), "{err}");
    }

    #[test]
    fn environment_overrides_keys_with_their_types() {
        let config = parse(
            SAMPLE,
            &[
                ("POLYMALL__DATABASE__URL", "postgres://db/shop"),
                ("POLYMALL__DATABASE__POOL_SIZE", "3"),
                ("POLYMALL__SHOPS__DEMO__POLYAPI__APPSECRET", "12345"),
                ("POLYMALL__SHOPS__0__NAME", "Renamed"),
                ("POLYMALL__ADMIN__TOKEN", "9999999999999999"),
                ("UNRELATED", "x"),
            ],
        )
        .unwrap();
        assert_eq!(config.database.url.expose(), "postgres://db/shop");
        assert_eq!(config.database.pool_size, 3);
        assert_eq!(config.shops[0].name, "Renamed");
        let polyapi = config.shops[0].polyapi.as_ref().unwrap();
        assert_eq!(polyapi.appsecret.expose(), "12345");
        assert_eq!(config.admin.token.unwrap().expose(), "9999999999999999");
    }

    #[test]
    fn rendered_orders_take_whole_mebibytes_or_none() {
        let config = parse("[database]\nrendered_orders_mib = 0\n", &[]).unwrap();
        assert_eq!(config.database.rendered_orders_mib, 0);
        assert_eq!(parse("", &[]).unwrap().database.rendered_orders_mib, 64);
        for wrong in ["-1", "1.5", "\"64M\""] {
            let err =
                parse(&format!("[database]\nrendered_orders_mib = {wrong}\n"), &[]).unwrap_err();
            assert!(
                err.to_string().contains("rendered_orders_mib"),
                "{wrong}: {err}"
            );
        }
    }

    #[test]
    fn bad_environment_values_name_the_variable() {
        let err = parse(SAMPLE, &[("POLYMALL__DATABASE__POOL_SIZE", "many")]).unwrap_err();
        assert!(
            err.to_string().contains("POLYMALL__DATABASE__POOL_SIZE"),
            "{err}"
        );
        let err = parse(SAMPLE, &[("POLYMALL__SHOPS__NOPE__NAME", "x")]).unwrap_err();
        assert!(err.to_string().contains("NOPE"), "{err}");
        let err = parse(SAMPLE, &[("POLYMALL__SERVER__NOPE", "x")]).unwrap_err();
        assert!(err.to_string().contains("nope"), "{err}");
    }

    #[test]
    fn secrets_never_print() {
        let config = parse(
            SAMPLE,
            &[("POLYMALL__DATABASE__URL", "postgres://u:pw@db/shop")],
        )
        .unwrap();
        let printed = format!("{config:?}");
        assert!(!printed.contains("very-secret"), "{printed}");
        assert!(!printed.contains("0123456789abcdef0123"), "{printed}");
        assert!(!printed.contains("pw@"), "{printed}");
    }

    #[test]
    fn cross_key_rules_are_checked() {
        let twice = format!("{SAMPLE}\n[[shops]]\ncode = \"demo\"\nname = \"x\"\n");
        assert!(parse(&twice, &[])
            .unwrap_err()
            .to_string()
            .contains("twice"));
        let bad_listen = parse("[server]\nlisten = \"nowhere\"\n", &[]).unwrap_err();
        assert!(bad_listen.to_string().contains("server.listen"));
        let short = parse("[admin]\ntoken = \"abc\"\n", &[]).unwrap_err();
        assert!(short.to_string().contains("admin.token"));
        let shared_appkey = format!(
            "{SAMPLE}\n[[shops]]\ncode = \"other\"\nname = \"x\"\n[shops.polyapi]\nappkey = \"k\"\nappsecret = \"s2\"\ntoken = \"T2\"\n"
        );
        let error = parse(&shared_appkey, &[]).unwrap_err().to_string();
        assert!(
            error.contains("shops[1].polyapi.appkey") && error.contains("demo"),
            "{error}"
        );
        let warehouse = |code: &str| {
            format!(
                "[[shops]]\ncode = \"{code}\"\nname = \"x\"\n[shops.wms]\nurl = \"https://wms.example.com\"\n\
                 app_key = \"k\"\nsecret = \"s\"\ncustomer_id = \"C1\"\nowner_code = \"O\"\nwarehouse_code = \"W\"\n\
                 [shops.wms.sender]\nname = \"n\"\nmobile = \"1\"\nprovince = \"p\"\ncity = \"c\"\narea = \"a\"\naddress = \"d\"\n"
            )
        };
        let shared_customer = format!("{}{}", warehouse("a"), warehouse("b"));
        let error = parse(&shared_customer, &[]).unwrap_err().to_string();
        assert!(
            error.contains("shops[1].wms.customer_id") && error.contains("`a`"),
            "{error}"
        );
    }

    #[test]
    fn database_location_has_no_password() {
        let mut config = parse(SAMPLE, &[]).unwrap();
        config.database.url = Secret::new("postgres://shop:pw@db.internal:5433/shop?password=x");
        assert_eq!(
            config.database.location(),
            "postgres://shop@db.internal:5433/shop"
        );
        config.database.url = Secret::new("postgresql://db.internal/shop");
        assert_eq!(config.database.location(), "postgres://db.internal/shop");
        config.database.url = Secret::new("sqlite://shop.db");
        let location = config.database.location();
        assert!(
            Path::new(&location).is_absolute() && location.ends_with("shop.db"),
            "{location}"
        );
    }

    #[test]
    fn console_and_metrics_keys_are_checked() {
        let config = parse(
            "[console]\nsecure_cookies = true\nutc_offset = \"+09:00\"\n[metrics]\ntoken = \"0123456789abcdef\"\n",
            &[],
        )
        .unwrap();
        assert!(config.console.secure_cookies);
        assert_eq!(config.console.utc_offset.minutes(), 540);
        let short = parse("[metrics]\ntoken = \"short\"\n", &[]).unwrap_err();
        assert!(short.to_string().contains("metrics.token"), "{short}");
        let idle = parse("[console]\nsession_idle_minutes = 0\n", &[]).unwrap_err();
        assert!(
            idle.to_string().contains("console.session_idle_minutes"),
            "{idle}"
        );
    }

    #[test]
    fn placeholder_secrets_are_refused_beyond_loopback() {
        let sample = SAMPLE.replace("very-secret", "change-me");
        let local = parse(&sample, &[]).unwrap();
        assert!(
            local.check_for_serving().is_ok(),
            "loopback is for trying out"
        );
        let exposed = parse(&sample, &[("POLYMALL__SERVER__LISTEN", "0.0.0.0:8080")]).unwrap();
        let error = exposed.check_for_serving().unwrap_err().to_string();
        assert!(error.contains("shops[0].polyapi.appsecret"), "{error}");
        assert!(
            !error.contains("change-me\""),
            "the value itself is not printed: {error}"
        );
        let real = parse(SAMPLE, &[("POLYMALL__SERVER__LISTEN", "0.0.0.0:8080")]).unwrap();
        assert!(real.check_for_serving().is_ok());
        let admin = parse(
            SAMPLE,
            &[
                ("POLYMALL__SERVER__LISTEN", "[::]:8080"),
                ("POLYMALL__ADMIN__TOKEN", "demo-admin-token-CHANGE_ME"),
            ],
        )
        .unwrap();
        assert!(admin
            .check_for_serving()
            .unwrap_err()
            .to_string()
            .contains("admin.token"));
    }
}
