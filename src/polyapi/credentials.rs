//! appkey → secret, (appkey, token) → shop and its switched-off methods, built from the
//! configuration at start.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

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
    shops: HashMap<String, Arc<PolyapiShop>>,
}

/// Every appkey the endpoint accepts.
#[derive(Debug, Default)]
pub struct Credentials {
    apps: HashMap<String, App>,
}

impl Credentials {
    /// Builds the directory from the configured shops (`stored` maps codes to database rows).
    /// Fails when one appkey is given two secrets or a disabled method is unknown.
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
            let app = apps.entry(polyapi.appkey.clone()).or_insert_with(|| App {
                secret: polyapi.appsecret.clone(),
                shops: HashMap::new(),
            });
            if app.secret != polyapi.appsecret {
                return Err(format!(
                    "config key `shops[{index}].polyapi.appsecret`: appkey `{}` is already configured with another secret",
                    polyapi.appkey
                ));
            }
            app.shops.insert(
                polyapi.token.expose().to_owned(),
                Arc::new(PolyapiShop {
                    shop: shop.clone(),
                    disabled,
                }),
            );
        }
        Ok(Self { apps })
    }

    /// The secret of `appkey`.
    pub fn secret(&self, appkey: &str) -> Option<&Secret> {
        self.apps.get(appkey).map(|app| &app.secret)
    }

    /// The shop `token` selects under `appkey`.
    pub fn shop(&self, appkey: &str, token: &str) -> Option<Arc<PolyapiShop>> {
        self.apps.get(appkey)?.shops.get(token).cloned()
    }
}
