//! appkey → secret, (appkey, token) → shop and its switched-off methods, built from the
//! configuration at start.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use subtle::ConstantTimeEq;

use super::methods::Method;
use crate::config::{Config, Secret};
use crate::shop::shops::Shop;

/// A shop as the Polyapi endpoint sees it.
#[derive(Debug, Clone)]
pub struct PolyapiShop {
    /// The shop.
    pub shop: Shop,
    /// Methods answered with GSE.PLAT_NOT_SUPPORT.
    pub disabled: HashSet<Method>,
}

#[derive(Debug)]
struct App {
    secret: Secret,
    token: Secret,
    shop: Arc<PolyapiShop>,
}

/// Every appkey the endpoint accepts; each is one shop's (the configuration refuses a
/// shared one).
#[derive(Debug, Default)]
pub struct Credentials {
    apps: HashMap<String, App>,
}

impl Credentials {
    /// Builds the directory from the configured shops (`stored` maps codes to database rows).
    /// Fails when a disabled method is unknown.
    pub fn from_config(config: &Config, stored: &HashMap<String, Shop>) -> Result<Self, String> {
        let mut apps: HashMap<String, App> = HashMap::new();
        for (index, shop_config) in config.shops.iter().enumerate() {
            let Some(polyapi) = &shop_config.polyapi else {
                continue;
            };
            let Some(shop) = stored.get(&shop_config.code) else {
                continue;
            };
            let mut disabled = HashSet::new();
            for name in &polyapi.disabled_methods {
                let method = Method::from_name(name).ok_or_else(|| {
                    format!("config key `shops[{index}].polyapi.disabled_methods`: `{name}` is not a Polyapi method")
                })?;
                disabled.insert(method);
            }
            apps.insert(
                polyapi.appkey.clone(),
                App {
                    secret: polyapi.appsecret.clone(),
                    token: polyapi.token.clone(),
                    shop: Arc::new(PolyapiShop {
                        shop: shop.clone(),
                        disabled,
                    }),
                },
            );
        }
        Ok(Self { apps })
    }

    /// The secret of `appkey`.
    pub fn secret(&self, appkey: &str) -> Option<&Secret> {
        self.apps.get(appkey).map(|app| &app.secret)
    }

    /// The shop of `appkey` when `token` is its token (compared in constant time).
    pub fn shop(&self, appkey: &str, token: &str) -> Option<Arc<PolyapiShop>> {
        let app = self.apps.get(appkey)?;
        let matches: bool = app.token.expose().as_bytes().ct_eq(token.as_bytes()).into();
        matches.then(|| app.shop.clone())
    }

    /// Shops whose appsecret has upper-case letters, which callers that keep the secret's
    /// case and callers that lowercase it sign differently.
    pub fn secrets_with_upper_case(&self) -> Vec<&str> {
        let mut codes: Vec<&str> = self
            .apps
            .values()
            .filter(|app| super::sign::secret_has_upper_case(app.secret.expose()))
            .map(|app| app.shop.shop.code.as_str())
            .collect();
        codes.sort_unstable();
        codes
    }
}
