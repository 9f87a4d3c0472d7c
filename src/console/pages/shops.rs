//! Shops (admins only): the shops with their integrations, a new shop, the editor of
//! one shop (name, time zone, each integration's keys, enabled or not) and the Polyapi
//! appsecret's rotation with an overlap in which the previous secret still verifies.
//!
//! Every change is checked by the rules of the configuration file, stored with the
//! audit entry in one transaction (which names the keys changed, never a secret's
//! value), and served by this process at once and by the others within seconds.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::TimeDelta;

use super::shop_fields::{self, FieldView, Integration};
use super::{chrome, render};
use crate::config::{Secret, ShopConfig, UtcOffset};
use crate::console::auth::{state_of, Posted, Signed};
use crate::console::done;
use crate::console::error::ConsoleError;
use crate::console::form::{clip, Form};
use crate::console::view::Chrome;
use crate::db::write_transaction;
use crate::http::AppState;
use crate::operators::audit::{self, Action, Entry};
use crate::operators::Role;
use crate::shop::settings::{self, Changed, Draft, PreviousSecret, StoredShop};
use crate::shop::ShopError;
use crate::time::now_utc;

/// The overlap a rotation offers: a day.
const DEFAULT_OVERLAP_MINUTES: i64 = 24 * 60;
/// The longest overlap: 30 days.
const MAX_OVERLAP_MINUTES: i64 = 30 * 24 * 60;

struct ShopRow {
    code: String,
    name: String,
    zone: String,
    enabled: bool,
    state: &'static str,
    origin: &'static str,
    integrations: String,
    version: i64,
    changed: String,
}

#[derive(Template)]
#[template(path = "console/shops.html")]
struct ShopsPage {
    chrome: Chrome,
    rows: Vec<ShopRow>,
}

struct SectionView {
    code: &'static str,
    title: &'static str,
    present: bool,
    fields: Vec<FieldView>,
}

#[derive(Template)]
#[template(path = "console/shop.html")]
struct ShopPage {
    chrome: Chrome,
    row: ShopRow,
    sections: Vec<SectionView>,
    /// While a rotated appsecret still verifies: until when.
    overlap_until: Option<String>,
    overlap_default: i64,
    overlap_max: i64,
}

fn row(chrome: &Chrome, stored: &StoredShop) -> ShopRow {
    let zone = UtcOffset::from_minutes(stored.shop.utc_offset_minutes).unwrap_or_default();
    ShopRow {
        code: stored.shop.code.clone(),
        name: stored.shop.name.clone(),
        zone: zone.to_string(),
        enabled: stored.enabled,
        state: chrome.t(if stored.enabled {
            "shops.enabled"
        } else {
            "shops.disabled"
        }),
        origin: chrome.t(&format!("shops.origin_{}", stored.origin.code())),
        integrations: Integration::ALL
            .into_iter()
            .filter(|integration| section_present(&stored.settings, *integration))
            .map(|integration| chrome.t(&format!("integration.{}", integration.code())))
            .collect::<Vec<_>>()
            .join(" · "),
        version: stored.version,
        changed: format!("{} · {}", chrome.time(stored.changed_at), stored.changed_by),
    }
}

fn section_present(settings: &ShopConfig, integration: Integration) -> bool {
    match integration {
        Integration::Polyapi => settings.polyapi.is_some(),
        Integration::Jushuitan => settings.jushuitan.is_some(),
        Integration::Wms => settings.wms.is_some(),
        Integration::Kingdee => settings.kingdee.is_some(),
    }
}

/// `GET /console/shops`
pub async fn list(request: HttpRequest, signed: Signed) -> Result<HttpResponse, ConsoleError> {
    let state = state_of(&request)?;
    signed.require(Role::Admin)?;
    let directory = state.directory.current();
    let chrome = chrome(&request, &state, &signed, "/console/shops", "shops.title");
    let page = ShopsPage {
        rows: directory
            .all()
            .iter()
            .map(|stored| row(&chrome, stored))
            .collect(),
        chrome,
    };
    render(&page)
}

/// `GET /console/shops/{code}`: the editor.
pub async fn show(
    request: HttpRequest,
    signed: Signed,
    code: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let state = state_of(&request)?;
    signed.require(Role::Admin)?;
    let directory = state.directory.current();
    let stored = directory
        .find(&code)
        .ok_or_else(|| ConsoleError::NotFound(format!("shop `{}`", clip(&code))))?;
    let chrome = chrome(&request, &state, &signed, "/console/shops", "shop.title");
    let object = shop_fields::to_object(&stored.settings);
    let now = now_utc();
    let page = ShopPage {
        row: row(&chrome, stored),
        sections: Integration::ALL
            .into_iter()
            .map(|integration| SectionView {
                code: integration.code(),
                title: chrome.t(&format!("integration.{}", integration.code())),
                present: section_present(&stored.settings, integration),
                fields: shop_fields::view(&object, integration),
            })
            .collect(),
        overlap_until: stored
            .previous_appsecret
            .as_ref()
            .filter(|previous| previous.until > now)
            .map(|previous| chrome.time(previous.until)),
        overlap_default: DEFAULT_OVERLAP_MINUTES,
        overlap_max: MAX_OVERLAP_MINUTES,
        chrome,
    };
    render(&page)
}

/// `POST /console/shops`: a new shop (code, name, time zone); its integrations are
/// added in the editor.
pub async fn create(request: HttpRequest, posted: Posted) -> Result<HttpResponse, ConsoleError> {
    let state = state_of(&request)?;
    posted.signed.require(Role::Admin)?;
    let form = &posted.form;
    let mut object = serde_json::Map::new();
    object.insert("code".to_owned(), form.required("code")?.into());
    general_into(&mut object, form)?;
    let settings = shop_fields::from_object(object)?;
    let actor = posted.signed.operator.name.clone();
    let code = settings.code.clone();
    state
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| {
                let stored = settings::create(conn, &settings, &actor)?;
                audit::record(
                    conn,
                    &Entry::new(&actor, Action::ShopCreate, &stored.shop.code)
                        .shop(stored.shop.id)
                        .detail("code, name, utc_offset"),
                )?;
                Ok::<_, ConsoleError>(())
            })
        })
        .await?;
    reload(&state).await;
    Ok(done(&editor(&code), "shop_saved", 1))
}

/// `POST /console/shops/{code}`: name and time zone.
pub async fn change_general(
    request: HttpRequest,
    posted: Posted,
    code: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let form = posted.form.clone();
    edit_settings(&request, &posted, &code, move |object| {
        general_into(object, &form)
    })
    .await
}

/// `POST /console/shops/{code}/integrations/{integration}`: adds the integration or
/// changes its keys; a blank secret keeps the stored one.
pub async fn change_integration(
    request: HttpRequest,
    posted: Posted,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ConsoleError> {
    posted.signed.require(Role::Admin)?;
    let (code, integration) = path.into_inner();
    let integration = Integration::from_code(&integration)?;
    let form = posted.form.clone();
    edit_settings(&request, &posted, &code, move |object| {
        shop_fields::apply_form(object, integration, &form)
    })
    .await
}

/// `POST /console/shops/{code}/integrations/{integration}/remove`
pub async fn remove_integration(
    request: HttpRequest,
    posted: Posted,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ConsoleError> {
    posted.signed.require(Role::Admin)?;
    let (code, integration) = path.into_inner();
    let integration = Integration::from_code(&integration)?;
    edit_settings(&request, &posted, &code, move |object| {
        object.remove(integration.code());
        Ok(())
    })
    .await
}

/// `POST /console/shops/{code}/state`: `enabled` = true or false.
pub async fn change_state(
    request: HttpRequest,
    posted: Posted,
    code: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    posted.signed.require(Role::Admin)?;
    let enabled = match posted.form.required("enabled")? {
        "true" => true,
        "false" => false,
        other => {
            return Err(ConsoleError::invalid(
                "enabled",
                format!("`{}` is not true or false", clip(other)),
            ))
        }
    };
    let action = if enabled {
        Action::ShopEnable
    } else {
        Action::ShopDisable
    };
    edit(&request, &posted, &code, action, move |draft| {
        draft.enabled = enabled;
        Ok(())
    })
    .await
}

/// `POST /console/shops/{code}/rotate`: a new Polyapi appsecret (`appsecret`), in
/// force at once; the previous one still verifies for `overlap_minutes` (default a
/// day; 0 ends it at once).
pub async fn rotate(
    request: HttpRequest,
    posted: Posted,
    code: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    posted.signed.require(Role::Admin)?;
    let form = &posted.form;
    let secret = form
        .text("appsecret", 500)?
        .ok_or_else(|| ConsoleError::invalid("appsecret", "is required"))?
        .to_owned();
    let minutes = form
        .number("overlap_minutes", 0..=MAX_OVERLAP_MINUTES)?
        .unwrap_or(DEFAULT_OVERLAP_MINUTES);
    let refuse_placeholders = state_of(&request)?.console.refuse_placeholders;
    if refuse_placeholders && crate::config::is_placeholder(&secret) {
        return Err(placeholder("polyapi.appsecret"));
    }
    edit(
        &request,
        &posted,
        &code,
        Action::ShopRotateSecret,
        move |draft| {
            let Some(polyapi) = draft.settings.polyapi.as_mut() else {
                return Err(ConsoleError::invalid(
                    "appsecret",
                    "the shop has no Polyapi section to rotate",
                ));
            };
            if polyapi.appsecret.expose() == secret {
                return Err(ConsoleError::invalid(
                    "appsecret",
                    "is the appsecret in force; give a new one",
                ));
            }
            let previous = std::mem::replace(&mut polyapi.appsecret, Secret::new(secret));
            draft.previous_appsecret = (minutes > 0).then(|| PreviousSecret {
                secret: previous,
                until: now_utc() + TimeDelta::minutes(minutes),
            });
            Ok(())
        },
    )
    .await
}

/// `POST /console/shops/{code}/overlap/end`: the previous appsecret stops verifying now.
pub async fn end_overlap(
    request: HttpRequest,
    posted: Posted,
    code: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    edit(
        &request,
        &posted,
        &code,
        Action::ShopEndOverlap,
        move |draft| {
            draft.previous_appsecret = None;
            Ok(())
        },
    )
    .await
}

/// Name and time zone from the general form into the settings object.
fn general_into(
    object: &mut serde_json::Map<String, serde_json::Value>,
    form: &Form,
) -> Result<(), ConsoleError> {
    object.insert("name".to_owned(), form.required("name")?.into());
    let offset = form.required("utc_offset")?;
    offset
        .parse::<UtcOffset>()
        .map_err(|why| ConsoleError::invalid("utc_offset", why))?;
    object.insert("utc_offset".to_owned(), offset.into());
    Ok(())
}

/// Changes the settings written as an object, as the file would write them; the
/// result is checked by the file's rules, the disabled Polyapi methods must exist, and
/// a server reachable from other machines takes no placeholder secret.
async fn edit_settings<F>(
    request: &HttpRequest,
    posted: &Posted,
    code: &str,
    change: F,
) -> Result<HttpResponse, ConsoleError>
where
    F: FnOnce(&mut serde_json::Map<String, serde_json::Value>) -> Result<(), ConsoleError>
        + Send
        + 'static,
{
    let refuse_placeholders = state_of(request)?.console.refuse_placeholders;
    edit(request, posted, code, Action::ShopChange, move |draft| {
        let mut object = shop_fields::to_object(&draft.settings);
        change(&mut object)?;
        let settings = shop_fields::from_object(object)?;
        if let Some(polyapi) = &settings.polyapi {
            crate::polyapi::credentials::disabled_methods(polyapi)
                .map_err(|why| ConsoleError::invalid("polyapi.disabled_methods", why))?;
        }
        if refuse_placeholders {
            if let Some(key) = settings.placeholder_secrets("").into_iter().next() {
                return Err(placeholder(&key));
            }
        }
        draft.settings = settings;
        Ok(())
    })
    .await
}

fn placeholder(key: &str) -> ConsoleError {
    ConsoleError::invalid(
        key,
        "is a placeholder (`change-me`); set a real value: this server listens beyond loopback",
    )
}

fn editor(code: &str) -> String {
    format!(
        "/console/shops/{}",
        askama::filters::urlencode_strict(code)
            .map(|encoded| encoded.to_string())
            .unwrap_or_default()
    )
}

/// Applies `change` to shop `code` as an admin and records it with the keys changed;
/// then this process serves the new settings at once.
async fn edit<F>(
    request: &HttpRequest,
    posted: &Posted,
    code: &str,
    action: Action,
    change: F,
) -> Result<HttpResponse, ConsoleError>
where
    F: FnOnce(&mut Draft) -> Result<(), ConsoleError> + Send + 'static,
{
    let state = state_of(request)?;
    posted.signed.require(Role::Admin)?;
    let actor = posted.signed.operator.name.clone();
    let code = code.to_owned();
    let lookup = code.clone();
    let changed = state
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| {
                let changed = settings::change(conn, &lookup, &actor, |draft| {
                    change(draft).map_err(into_shop_error)
                })?;
                if changed.changed() {
                    audit::record(
                        conn,
                        &Entry::new(&actor, action, &lookup)
                            .shop(changed.after.shop.id)
                            .detail(&describe(&changed)),
                    )?;
                }
                Ok::<_, ConsoleError>(changed.changed())
            })
        })
        .await?;
    if changed {
        reload(&state).await;
    }
    let notice = if changed {
        "shop_saved"
    } else {
        "shop_unchanged"
    };
    Ok(done(&editor(&code), notice, 1))
}

/// What changed, for the audit log: the keys, never a value.
fn describe(changed: &Changed) -> String {
    let (before, after) = (&changed.before, &changed.after);
    let mut keys = shop_fields::changed_keys(
        &shop_fields::to_object(&before.settings),
        &shop_fields::to_object(&after.settings),
    );
    if before.enabled != after.enabled {
        keys.push("enabled".to_owned());
    }
    match (&before.previous_appsecret, &after.previous_appsecret) {
        (old, Some(new)) if old.as_ref() != Some(new) => keys.push(format!(
            "the previous appsecret verifies until {} UTC",
            new.until.format("%Y-%m-%d %H:%M")
        )),
        (Some(_), None) => keys.push("the previous appsecret no longer verifies".to_owned()),
        _ => {}
    }
    keys.join(", ")
}

/// Serves the settings just stored; if the database cannot be read now, the regular
/// look a few seconds later does it.
async fn reload(state: &AppState) {
    if let Err(error) = state.directory.reload().await {
        tracing::warn!(%error, "the changed shop settings are served at the next look");
    }
}

fn into_shop_error(error: ConsoleError) -> ShopError {
    match error {
        ConsoleError::Invalid { field, message } => ShopError::Rejected { field, message },
        other => ShopError::rejected("settings", other.to_string()),
    }
}
