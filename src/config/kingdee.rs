//! `[shops.kingdee]`: the shop's 金蝶云星空 (Kingdee K/3 Cloud) account and how its
//! returns are booked there (seed 002: after-sales become 销售退货单).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{ConfigError, Secret};

/// `[shops.kingdee]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KingdeeShopConfig {
    /// The WebAPI's base URL, e.g. `https://host/k3cloud/`.
    pub base_url: String,
    /// The data centre's id (数据中心 ID, `acctID`).
    pub acct_id: String,
    /// The user the bills are made by.
    pub username: String,
    /// The user's password (`ValidateUser`); or give `app_id` and `app_secret`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<Secret>,
    /// A third-party application's id (`LoginByAppSecret`), with `app_secret`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    /// The third-party application's secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_secret: Option<Secret>,
    /// Language of Kingdee's messages (2052: simplified Chinese).
    #[serde(default = "default_lcid")]
    pub lcid: i32,
    /// 库存组织 (`FStockOrgId`).
    #[serde(default = "default_org")]
    pub stock_org: String,
    /// 货主 (`FOwnerId`) of every line.
    #[serde(default = "default_org")]
    pub owner: String,
    /// 结算币别 (`FSETTLECURRID`).
    #[serde(default = "default_settle_currency")]
    pub settle_currency: String,
    /// 单据类型 (`FBillTypeID`).
    #[serde(default = "default_bill_type")]
    pub bill_type: String,
    /// Shop → 销售组织 and 结算组织 (`FSaleOrgId`, `FSettleOrgId`). The key is the
    /// shop's id at Jushuitan for its after-sales, the shop's code for its storefront
    /// refunds.
    #[serde(default)]
    pub sale_org_by_shop: BTreeMap<String, String>,
    /// Warehouse → 仓库 (`FStockId`). The key is Jushuitan's `wms_co_id` for
    /// after-sales; for storefront refunds, which name none, the shop's warehouse code
    /// (`[shops.wms] warehouse_code`) or, without a warehouse, the shop's code.
    #[serde(default)]
    pub stock_by_warehouse: BTreeMap<String, String>,
    /// Shop → 退货客户 (`FRetcustId`), keyed like `sale_org_by_shop`.
    #[serde(default)]
    pub customer_by_shop: BTreeMap<String, String>,
    /// SKU → 物料编码 (`FMaterialId`); a SKU not listed is its own material number.
    #[serde(default)]
    pub material_by_sku: BTreeMap<String, String>,
    /// Seconds between pushes of confirmed returns (the outbox is drained this often).
    #[serde(default = "default_push_interval")]
    pub push_interval_secs: u64,
    /// Attempts before a failing return is dead.
    #[serde(default = "default_max_attempts")]
    pub max_attempts: i32,
    /// Seconds one push to Kingdee may take (logging in again included).
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
}

fn default_lcid() -> i32 {
    2052
}
fn default_org() -> String {
    "100".to_owned()
}
fn default_settle_currency() -> String {
    "PRE001".to_owned()
}
fn default_bill_type() -> String {
    "XSXSTHD".to_owned()
}
fn default_push_interval() -> u64 {
    60
}
fn default_max_attempts() -> i32 {
    8
}
fn default_timeout() -> u64 {
    30
}

/// How polymall logs in to Kingdee.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KingdeeLogin<'a> {
    /// `ValidateUser` with the user's password.
    Password(&'a Secret),
    /// `LoginByAppSecret` with a third-party application's id and secret.
    AppSecret {
        /// The application's id.
        app_id: &'a str,
        /// Its secret.
        app_secret: &'a Secret,
    },
}

impl KingdeeShopConfig {
    /// The login the configuration gives (validation makes sure there is exactly one);
    /// blank values count as not given.
    pub fn login(&self) -> Option<KingdeeLogin<'_>> {
        fn given(secret: &Option<Secret>) -> Option<&Secret> {
            secret
                .as_ref()
                .filter(|secret| !secret.expose().trim().is_empty())
        }
        let app_id = self.app_id.as_deref().filter(|id| !id.trim().is_empty());
        match (given(&self.password), app_id, given(&self.app_secret)) {
            (Some(password), None, None) => Some(KingdeeLogin::Password(password)),
            (None, Some(app_id), Some(app_secret)) => {
                Some(KingdeeLogin::AppSecret { app_id, app_secret })
            }
            _ => None,
        }
    }

    /// Checks the section's keys, naming them after `at` (the shop's key prefix): one
    /// way to log in, the numbers Kingdee needs, no empty map entry, positive intervals.
    pub(super) fn validate(&self, at: &str) -> Result<(), ConfigError> {
        let key = |name: &str| format!("{at}kingdee.{name}");
        let refuse = |name: &str, message: &str| ConfigError::Key {
            key: key(name),
            message: message.to_owned(),
        };
        if !self.base_url.starts_with("http://") && !self.base_url.starts_with("https://") {
            return Err(ConfigError::Key {
                key: key("base_url"),
                message: format!("`{}` is not an http(s) URL", self.base_url),
            });
        }
        if self.login().is_none() {
            let given = |value: Option<&str>| value.is_some_and(|text| !text.trim().is_empty());
            let password = given(self.password.as_ref().map(Secret::expose));
            let app_id = given(self.app_id.as_deref());
            let app_secret = given(self.app_secret.as_ref().map(Secret::expose));
            return Err(match (password, app_id, app_secret) {
                (true, _, _) => refuse(
                    "password",
                    "give either password or app_id with app_secret, not both",
                ),
                (false, true, false) => refuse("app_secret", "is required with app_id"),
                (false, false, true) => refuse("app_id", "is required with app_secret"),
                _ => refuse(
                    "password",
                    "is required unless app_id and app_secret are given",
                ),
            });
        }
        for (name, value) in [
            ("acct_id", &self.acct_id),
            ("username", &self.username),
            ("stock_org", &self.stock_org),
            ("owner", &self.owner),
            ("settle_currency", &self.settle_currency),
            ("bill_type", &self.bill_type),
        ] {
            if value.trim().is_empty() {
                return Err(refuse(name, "must not be empty"));
            }
        }
        for (name, map) in [
            ("sale_org_by_shop", &self.sale_org_by_shop),
            ("stock_by_warehouse", &self.stock_by_warehouse),
            ("customer_by_shop", &self.customer_by_shop),
            ("material_by_sku", &self.material_by_sku),
        ] {
            for (from, to) in map {
                if from.trim().is_empty() || to.trim().is_empty() {
                    return Err(ConfigError::Key {
                        key: format!("{}.{from}", key(name)),
                        message: "neither key nor number may be empty".to_owned(),
                    });
                }
            }
        }
        if self.lcid <= 0 {
            return Err(refuse("lcid", "must be a language id such as 2052"));
        }
        for (name, value) in [
            ("push_interval_secs", self.push_interval_secs),
            ("timeout_secs", self.timeout_secs),
        ] {
            if value == 0 {
                return Err(refuse(name, "must be at least 1"));
            }
        }
        if self.max_attempts < 1 {
            return Err(refuse("max_attempts", "must be at least 1"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMPLETE: &str = "base_url = \"https://k3.example.com/k3cloud/\"\nacct_id = \"62b0\"\n\
        username = \"api\"\npassword = \"pass-word\"\n\
        sale_org_by_shop = { \"10001\" = \"101\" }\nstock_by_warehouse = { \"10086\" = \"CK01\" }\n";

    fn parse(text: &str) -> Result<KingdeeShopConfig, String> {
        let config: KingdeeShopConfig = toml::from_str(text).map_err(|e| e.to_string())?;
        config.validate("shops[0].").map_err(|e| e.to_string())?;
        Ok(config)
    }

    #[test]
    fn defaults_follow_the_seed() {
        let config = parse(COMPLETE).expect("complete");
        assert_eq!(config.lcid, 2052);
        assert_eq!(config.stock_org, "100");
        assert_eq!(config.owner, "100");
        assert_eq!(config.settle_currency, "PRE001");
        assert_eq!(config.bill_type, "XSXSTHD");
        assert_eq!(config.sale_org_by_shop["10001"], "101");
        assert!(config.material_by_sku.is_empty());
        assert!(matches!(config.login(), Some(KingdeeLogin::Password(_))));
        let printed = format!("{config:?}");
        assert!(!printed.contains("pass-word"), "{printed}");
    }

    #[test]
    fn exactly_one_login_is_required() {
        let apps = COMPLETE.replace(
            "password = \"pass-word\"",
            "app_id = \"app\"\napp_secret = \"s3cret\"",
        );
        let config = parse(&apps).expect("app login");
        assert!(matches!(
            config.login(),
            Some(KingdeeLogin::AppSecret { app_id: "app", .. })
        ));
        assert!(!format!("{config:?}").contains("s3cret"));
        let both = format!("{COMPLETE}app_id = \"app\"\napp_secret = \"s\"\n");
        assert!(parse(&both).unwrap_err().contains("kingdee.password"));
        let neither = COMPLETE.replace("password = \"pass-word\"\n", "");
        assert!(parse(&neither).unwrap_err().contains("kingdee.password"));
        let half = neither.clone() + "app_id = \"app\"\n";
        assert!(parse(&half).unwrap_err().contains("kingdee.app_secret"));
    }

    #[test]
    fn unknown_keys_and_empty_numbers_are_refused() {
        let typo = format!("{COMPLETE}stock_orgg = \"100\"\n");
        assert!(parse(&typo).unwrap_err().contains("stock_orgg"));
        let empty = format!("{COMPLETE}customer_by_shop = {{ \"10001\" = \" \" }}\n");
        assert!(parse(&empty)
            .unwrap_err()
            .contains("shops[0].kingdee.customer_by_shop.10001"));
        let url = COMPLETE.replace("https://k3.example.com/k3cloud/", "k3.example.com");
        assert!(parse(&url).unwrap_err().contains("kingdee.base_url"));
        let zero = format!("{COMPLETE}timeout_secs = 0\n");
        assert!(parse(&zero).unwrap_err().contains("kingdee.timeout_secs"));
    }
}
