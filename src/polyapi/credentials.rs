//! appkey → secrets, (appkey, token) → shop and its switched-off methods, built from
//! the enabled shops' settings (and rebuilt whenever they change).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::NaiveDateTime;
use subtle::ConstantTimeEq;

use super::methods::Method;
use crate::config::{PolyapiShopConfig, Secret};
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
    /// The appsecret before a rotation and until when it still verifies.
    previous: Option<(Secret, NaiveDateTime)>,
    token: Secret,
    shop: Arc<PolyapiShop>,
}

/// Every appkey the endpoint accepts; each is one shop's (the settings refuse a shared
/// one).
#[derive(Debug, Default)]
pub struct Credentials {
    apps: HashMap<String, App>,
}

/// The methods `polyapi.disabled_methods` switches off; an unknown name is refused
/// with the message to show.
pub fn disabled_methods(polyapi: &PolyapiShopConfig) -> Result<HashSet<Method>, String> {
    polyapi
        .disabled_methods
        .iter()
        .map(|name| {
            Method::from_name(name).ok_or_else(|| format!("`{name}` is not a Polyapi method"))
        })
        .collect()
}

impl Credentials {
    /// Adds `shop`'s Polyapi section; `previous` is the appsecret a rotation replaced
    /// and until when it still verifies. Fails when a disabled method is unknown.
    pub fn add(
        &mut self,
        shop: &Shop,
        polyapi: &PolyapiShopConfig,
        previous: Option<(Secret, NaiveDateTime)>,
    ) -> Result<(), String> {
        let disabled = disabled_methods(polyapi)?;
        self.apps.insert(
            polyapi.appkey.clone(),
            App {
                secret: polyapi.appsecret.clone(),
                previous,
                token: polyapi.token.clone(),
                shop: Arc::new(PolyapiShop {
                    shop: shop.clone(),
                    disabled,
                }),
            },
        );
        Ok(())
    }

    /// Whether `appkey` belongs to a shop.
    pub fn knows(&self, appkey: &str) -> bool {
        self.apps.contains_key(appkey)
    }

    /// Whether `given` signs `params` with the appsecret of `appkey`, or at `now` still
    /// with the one a rotation replaced (both checked in constant time); `None` when
    /// the appkey is unknown.
    pub fn sign_matches(
        &self,
        appkey: &str,
        params: &[(String, String)],
        given: &str,
        now: NaiveDateTime,
    ) -> Option<bool> {
        let app = self.apps.get(appkey)?;
        let mut secrets = vec![app.secret.expose()];
        if let Some((previous, until)) = &app.previous {
            if now < *until {
                secrets.push(previous.expose());
            }
        }
        Some(super::sign::verify_any(&secrets, params, given))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::polyapi::sign::polysign;

    fn shop() -> Shop {
        let at = chrono::DateTime::from_timestamp(0, 0).unwrap().naive_utc();
        Shop {
            id: 1,
            code: "demo".to_owned(),
            name: "Demo".to_owned(),
            utc_offset_minutes: 480,
            created_at: at,
            modified_at: at,
        }
    }

    #[test]
    fn the_previous_secret_verifies_until_its_overlap_ends() {
        let params = vec![("appkey".to_owned(), "k".to_owned())];
        let polyapi = PolyapiShopConfig {
            appkey: "k".to_owned(),
            appsecret: Secret::new("new"),
            token: Secret::new("T"),
            disabled_methods: Vec::new(),
        };
        let until = chrono::DateTime::from_timestamp(1_000, 0)
            .unwrap()
            .naive_utc();
        let mut credentials = Credentials::default();
        credentials
            .add(&shop(), &polyapi, Some((Secret::new("old"), until)))
            .unwrap();
        let before = until - chrono::Duration::seconds(1);
        let by_old = polysign("old", &params);
        let by_new = polysign("new", &params);
        assert_eq!(
            credentials.sign_matches("k", &params, &by_old, before),
            Some(true)
        );
        assert_eq!(
            credentials.sign_matches("k", &params, &by_new, before),
            Some(true)
        );
        assert_eq!(
            credentials.sign_matches("k", &params, &by_old, until),
            Some(false)
        );
        assert_eq!(
            credentials.sign_matches("k", &params, &by_new, until),
            Some(true)
        );
        assert_eq!(credentials.sign_matches("x", &params, &by_new, until), None);
    }

    #[test]
    fn unknown_disabled_methods_are_named() {
        let polyapi = PolyapiShopConfig {
            appkey: "k".to_owned(),
            appsecret: Secret::new("s"),
            token: Secret::new("T"),
            disabled_methods: vec!["Consume".to_owned(), "Fly".to_owned()],
        };
        assert_eq!(
            disabled_methods(&polyapi).unwrap_err(),
            "`Fly` is not a Polyapi method"
        );
    }
}
