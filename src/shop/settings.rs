//! Each shop's settings as stored: its whole `[[shops]]` entry (integration keys and
//! secrets included), whether it is enabled, where it came from, its version and who
//! changed it last; and the revision every process polls to notice a change cheaply.
//!
//! The configuration file seeds them when `serve` starts ([`seed`]): a shop not stored
//! yet is inserted, one whose origin is still the file follows the file, one changed in
//! the console keeps the console's settings. Other commands only insert the shops not
//! stored yet ([`Seeding::MissingOnly`]), so a command run with another file changes
//! nothing a server serves. The console changes them through [`create`]
//! and [`change`], inside the transaction that also writes its audit entry.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::shops::{self, Shop, DECLARE_LOCK};
use super::ShopError;
use crate::config::{Secret, ShopConfig};
use crate::db::schema::{shop_settings, shop_settings_revision, shops as shops_table};
use crate::db::{write_transaction, DbConnection};
use crate::time::now_utc;

/// Who changed settings that came from the configuration file.
pub const FILE_ACTOR: &str = "file";

/// Where a shop's settings come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The configuration file: they follow it at every start.
    File,
    /// The console: the file's entry of the shop is ignored.
    Console,
}

impl Origin {
    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            Self::File => "file",
            Self::Console => "console",
        }
    }

    fn from_code(code: &str) -> Self {
        if code == "file" {
            Self::File
        } else {
            Self::Console
        }
    }
}

/// A Polyapi appsecret replaced by a rotation, which still verifies for a while.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviousSecret {
    /// The secret before the rotation.
    pub secret: Secret,
    /// When it stops verifying (UTC).
    pub until: NaiveDateTime,
}

/// A shop with its stored settings.
#[derive(Debug, Clone)]
pub struct StoredShop {
    /// The shop's row.
    pub shop: Shop,
    /// Its settings: name, time zone, every integration's keys.
    pub settings: ShopConfig,
    /// A disabled shop is answered as unknown and runs no jobs.
    pub enabled: bool,
    /// Where the settings come from.
    pub origin: Origin,
    /// Goes up by one with every change.
    pub version: i64,
    /// The Polyapi appsecret before the last rotation, while it still verifies.
    pub previous_appsecret: Option<PreviousSecret>,
    /// Who changed the settings last (an operator, or `file`).
    pub changed_by: String,
    /// When (UTC).
    pub changed_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = shop_settings)]
struct SettingsRow {
    settings: String,
    enabled: bool,
    origin: String,
    version: i64,
    previous_appsecret: Option<String>,
    previous_appsecret_until: Option<NaiveDateTime>,
    changed_by: String,
    changed_at: NaiveDateTime,
}

impl SettingsRow {
    fn into_stored(self, shop: Shop) -> Result<StoredShop, String> {
        // The parser's message may quote a value, which may be a secret: say only where.
        let settings: ShopConfig = serde_json::from_str(&self.settings).map_err(|error| {
            format!(
                "stored settings are not readable ({:?} error at column {})",
                error.classify(),
                error.column()
            )
        })?;
        let previous_appsecret = match (self.previous_appsecret, self.previous_appsecret_until) {
            (Some(secret), Some(until)) => Some(PreviousSecret {
                secret: Secret::new(secret),
                until,
            }),
            _ => None,
        };
        Ok(StoredShop {
            shop,
            settings,
            enabled: self.enabled,
            origin: Origin::from_code(&self.origin),
            version: self.version,
            previous_appsecret,
            changed_by: self.changed_by,
            changed_at: self.changed_at,
        })
    }
}

/// Every shop's settings at one revision.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    /// The revision read before the settings (a change after it moves it again).
    pub revision: i64,
    /// The shops, by code.
    pub shops: Vec<StoredShop>,
    /// Shops whose stored settings cannot be read: code and why.
    pub unreadable: Vec<(String, String)>,
}

/// The revision of the settings: it goes up with every change.
pub fn revision(conn: &mut DbConnection) -> Result<i64, ShopError> {
    Ok(shop_settings_revision::table
        .find(1)
        .select(shop_settings_revision::revision)
        .first(conn)?)
}

/// Every shop that has settings, with the revision they belong to.
pub fn load(conn: &mut DbConnection) -> Result<Loaded, ShopError> {
    // The revision first: a change committed between the two reads moves it again, so
    // the next look reloads instead of missing the change.
    let revision = revision(conn)?;
    let rows: Vec<(Shop, SettingsRow)> = shops_table::table
        .inner_join(shop_settings::table)
        .order(shops_table::code.asc())
        .select((Shop::as_select(), SettingsRow::as_select()))
        .load(conn)?;
    let mut loaded = Loaded {
        revision,
        ..Loaded::default()
    };
    for (shop, row) in rows {
        let code = shop.code.clone();
        match row.into_stored(shop) {
            Ok(stored) => loaded.shops.push(stored),
            Err(why) => loaded.unreadable.push((code, why)),
        }
    }
    Ok(loaded)
}

/// The shop with `code` and its settings.
pub fn find(conn: &mut DbConnection, code: &str) -> Result<StoredShop, ShopError> {
    let (shop, row): (Shop, SettingsRow) = shops_table::table
        .inner_join(shop_settings::table)
        .filter(shops_table::code.eq(code))
        .select((Shop::as_select(), SettingsRow::as_select()))
        .first(conn)
        .optional()?
        .ok_or_else(|| ShopError::UnknownShop(code.to_owned()))?;
    row.into_stored(shop)
        .map_err(|why| ShopError::rejected("settings", why))
}

/// How far the file's shops are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seeding {
    /// `serve`: shops not stored yet are inserted, and those whose settings come from
    /// the file follow it.
    FollowFile,
    /// Other commands: only shops not stored yet are inserted (an import may come
    /// before the first `serve`).
    MissingOnly,
}

/// What seeding found that the log should tell.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Seeded {
    /// Shops of the file that were changed in the console: the file's entry is ignored.
    pub kept_from_console: Vec<String>,
    /// Enabled shops whose settings came from the file and that it no longer names.
    pub no_longer_in_file: Vec<String>,
}

/// Stores the file's shops, in one transaction: a shop without settings gets the
/// file's; with [`Seeding::FollowFile`], one whose origin is still the file follows it
/// (and is enabled); one changed in the console keeps its settings. A shop the file no
/// longer names is left as it is (a file given by mistake must not switch shops off for
/// every server); it is only reported.
pub fn seed(
    conn: &mut DbConnection,
    declared: &[ShopConfig],
    seeding: Seeding,
) -> Result<Seeded, ShopError> {
    write_transaction(conn, |conn| {
        lock(conn)?;
        let now = now_utc();
        let mut seeded = Seeded::default();
        let mut changed = false;
        for config in declared {
            let shop_id = match shops_table::table
                .filter(shops_table::code.eq(&config.code))
                .select(shops_table::id)
                .first::<i64>(conn)
                .optional()?
            {
                Some(id) => id,
                None => insert_shop(conn, config, now)?,
            };
            let row: Option<SettingsRow> = shop_settings::table
                .find(shop_id)
                .select(SettingsRow::as_select())
                .first(conn)
                .optional()?;
            match row {
                None => {
                    insert_settings(conn, shop_id, config, Origin::File, FILE_ACTOR, now)?;
                    update_shop_row(conn, shop_id, config, now)?;
                    changed = true;
                }
                Some(row) if row.origin == Origin::Console.code() => {
                    seeded.kept_from_console.push(config.code.clone());
                }
                Some(_) if seeding == Seeding::MissingOnly => {}
                Some(row) => {
                    let same = serde_json::from_str::<serde_json::Value>(&row.settings)
                        .is_ok_and(|stored| stored == to_json_value(config));
                    if !same || !row.enabled {
                        diesel::update(shop_settings::table.find(shop_id))
                            .set((
                                shop_settings::settings.eq(to_json(config)?),
                                shop_settings::enabled.eq(true),
                                shop_settings::version.eq(row.version + 1),
                                shop_settings::changed_by.eq(FILE_ACTOR),
                                shop_settings::changed_at.eq(now),
                            ))
                            .execute(conn)?;
                        update_shop_row(conn, shop_id, config, now)?;
                        changed = true;
                    }
                }
            }
        }
        let from_file: Vec<String> = shops_table::table
            .inner_join(shop_settings::table)
            .filter(shop_settings::origin.eq(Origin::File.code()))
            .filter(shop_settings::enabled.eq(true))
            .select(shops_table::code)
            .load(conn)?;
        seeded.no_longer_in_file = from_file
            .into_iter()
            .filter(|code| !declared.iter().any(|config| &config.code == code))
            .collect();
        if changed {
            bump_revision(conn, now)?;
        }
        Ok(seeded)
    })
}

/// Stores a new shop made in the console (enabled, version 1). A shop row of that code
/// without settings (a shop an older version served) is taken over with its data.
/// Call it inside the transaction that records the action.
pub fn create(
    conn: &mut DbConnection,
    config: &ShopConfig,
    actor: &str,
) -> Result<StoredShop, ShopError> {
    lock(conn)?;
    let now = now_utc();
    let existing: Option<i64> = shops_table::table
        .filter(shops_table::code.eq(&config.code))
        .select(shops_table::id)
        .first(conn)
        .optional()?;
    let shop_id = match existing {
        Some(id) => {
            let has_settings: i64 = shop_settings::table
                .filter(shop_settings::shop_id.eq(id))
                .count()
                .get_result(conn)?;
            if has_settings > 0 {
                return Err(ShopError::rejected(
                    "code",
                    format!("shop `{}` exists already", config.code),
                ));
            }
            id
        }
        None => insert_shop(conn, config, now)?,
    };
    check_keys_are_unique(conn, shop_id, config)?;
    insert_settings(conn, shop_id, config, Origin::Console, actor, now)?;
    update_shop_row(conn, shop_id, config, now)?;
    bump_revision(conn, now)?;
    find(conn, &config.code)
}

/// What an edit may change.
#[derive(Debug, Clone)]
pub struct Draft {
    /// The settings; the code cannot change.
    pub settings: ShopConfig,
    /// Whether the shop is enabled.
    pub enabled: bool,
    /// The appsecret before the last rotation, while it verifies.
    pub previous_appsecret: Option<PreviousSecret>,
}

/// The settings before and after an edit.
#[derive(Debug, Clone)]
pub struct Changed {
    /// Before.
    pub before: StoredShop,
    /// After (the same as before when the edit changed nothing).
    pub after: StoredShop,
}

impl Changed {
    /// Whether the edit changed anything.
    pub fn changed(&self) -> bool {
        self.before.version != self.after.version
    }
}

/// Applies `edit` to the stored settings of shop `code`; a change makes the shop the
/// console's, raises its version and the revision. The edit runs on the settings as
/// stored in this transaction, so concurrent edits of different parts do not undo each
/// other. Call it inside the transaction that records the action.
pub fn change(
    conn: &mut DbConnection,
    code: &str,
    actor: &str,
    edit: impl FnOnce(&mut Draft) -> Result<(), ShopError>,
) -> Result<Changed, ShopError> {
    lock(conn)?;
    let before = find(conn, code)?;
    let mut draft = Draft {
        settings: before.settings.clone(),
        enabled: before.enabled,
        previous_appsecret: before.previous_appsecret.clone(),
    };
    edit(&mut draft)?;
    // Without a Polyapi section no appsecret verifies, the previous one neither.
    if draft.settings.polyapi.is_none() {
        draft.previous_appsecret = None;
    }
    if draft.settings.code != before.shop.code {
        return Err(ShopError::rejected("code", "a shop's code cannot change"));
    }
    let unchanged = to_json_value(&draft.settings) == to_json_value(&before.settings)
        && draft.enabled == before.enabled
        && draft.previous_appsecret == before.previous_appsecret;
    if unchanged {
        return Ok(Changed {
            after: before.clone(),
            before,
        });
    }
    check_keys_are_unique(conn, before.shop.id, &draft.settings)?;
    let now = now_utc();
    let (previous, until) = match &draft.previous_appsecret {
        Some(previous) => (
            Some(previous.secret.expose().to_owned()),
            Some(previous.until),
        ),
        None => (None, None),
    };
    diesel::update(shop_settings::table.find(before.shop.id))
        .set((
            shop_settings::settings.eq(to_json(&draft.settings)?),
            shop_settings::enabled.eq(draft.enabled),
            shop_settings::origin.eq(Origin::Console.code()),
            shop_settings::version.eq(before.version + 1),
            shop_settings::previous_appsecret.eq(previous),
            shop_settings::previous_appsecret_until.eq(until),
            shop_settings::changed_by.eq(actor),
            shop_settings::changed_at.eq(now),
        ))
        .execute(conn)?;
    update_shop_row(conn, before.shop.id, &draft.settings, now)?;
    bump_revision(conn, now)?;
    let after = find(conn, code)?;
    Ok(Changed { before, after })
}

/// One settings change at a time (PostgreSQL; SQLite writers queue anyway), so two
/// shops cannot take the same appkey or warehouse customer in concurrent transactions.
fn lock(conn: &mut DbConnection) -> Result<(), ShopError> {
    if let DbConnection::Pg(pg) = conn {
        diesel::sql_query(format!("SELECT pg_advisory_xact_lock({DECLARE_LOCK})")).execute(pg)?;
    }
    Ok(())
}

/// Keys that name one shop to a partner are the shop's own, across every stored shop
/// (enabled or not): the Polyapi appkey (its secret, rate limit and rotation are the
/// shop's) and the warehouse's `customerId` (it routes the warehouse's callbacks).
fn check_keys_are_unique(
    conn: &mut DbConnection,
    shop_id: i64,
    config: &ShopConfig,
) -> Result<(), ShopError> {
    let appkey = config
        .polyapi
        .as_ref()
        .map(|polyapi| polyapi.appkey.as_str());
    let customer = config.wms.as_ref().map(|wms| wms.customer_id.as_str());
    if appkey.is_none() && customer.is_none() {
        return Ok(());
    }
    let others: Vec<(String, String)> = shops_table::table
        .inner_join(shop_settings::table)
        .filter(shops_table::id.ne(shop_id))
        .select((shops_table::code, shop_settings::settings))
        .load(conn)?;
    for (code, settings) in others {
        let Ok(other) = serde_json::from_str::<ShopConfig>(&settings) else {
            continue;
        };
        if let (Some(mine), Some(theirs)) = (appkey, &other.polyapi) {
            if theirs.appkey == mine {
                return Err(ShopError::rejected(
                    "polyapi.appkey",
                    format!(
                        "`{mine}` is already the appkey of shop `{code}`; every shop needs its own"
                    ),
                ));
            }
        }
        if let (Some(mine), Some(theirs)) = (customer, &other.wms) {
            if theirs.customer_id == mine {
                return Err(ShopError::rejected(
                    "wms.customer_id",
                    format!("`{mine}` is already the warehouse customer of shop `{code}`; the warehouse's callbacks find their shop by it"),
                ));
            }
        }
    }
    Ok(())
}

fn to_json(config: &ShopConfig) -> Result<String, ShopError> {
    serde_json::to_string(config)
        .map_err(|error| ShopError::rejected("settings", format!("cannot be stored: {error}")))
}

fn to_json_value(config: &ShopConfig) -> serde_json::Value {
    serde_json::to_value(config).unwrap_or_default()
}

fn insert_shop(
    conn: &mut DbConnection,
    config: &ShopConfig,
    now: NaiveDateTime,
) -> Result<i64, ShopError> {
    diesel::insert_into(shops_table::table)
        .values((
            shops_table::code.eq(&config.code),
            shops_table::name.eq(&config.name),
            shops_table::utc_offset_minutes.eq(config.utc_offset.minutes()),
            shops_table::created_at.eq(now),
            shops_table::modified_at.eq(now),
        ))
        .execute(conn)?;
    Ok(shops::find_by_code(conn, &config.code)?.id)
}

fn insert_settings(
    conn: &mut DbConnection,
    shop_id: i64,
    config: &ShopConfig,
    origin: Origin,
    actor: &str,
    now: NaiveDateTime,
) -> Result<(), ShopError> {
    diesel::insert_into(shop_settings::table)
        .values((
            shop_settings::shop_id.eq(shop_id),
            shop_settings::settings.eq(to_json(config)?),
            shop_settings::enabled.eq(true),
            shop_settings::origin.eq(origin.code()),
            shop_settings::version.eq(1_i64),
            shop_settings::changed_by.eq(actor),
            shop_settings::changed_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// The shop row follows the settings: name, time zone, and which integrations it uses
/// (that decides which changes enter the outbox).
fn update_shop_row(
    conn: &mut DbConnection,
    shop_id: i64,
    config: &ShopConfig,
    now: NaiveDateTime,
) -> Result<(), ShopError> {
    let row = shops_table::table.find(shop_id);
    diesel::update(row)
        .set((
            shops_table::jushuitan_enabled.eq(config.jushuitan.is_some()),
            shops_table::wms_enabled.eq(config.wms.is_some()),
            shops_table::kingdee_enabled.eq(config.kingdee.is_some()),
        ))
        .execute(conn)?;
    let offset = config.utc_offset.minutes();
    diesel::update(
        row.filter(
            shops_table::name
                .ne(&config.name)
                .or(shops_table::utc_offset_minutes.ne(offset)),
        ),
    )
    .set((
        shops_table::name.eq(&config.name),
        shops_table::utc_offset_minutes.eq(offset),
        shops_table::modified_at.eq(now),
    ))
    .execute(conn)?;
    Ok(())
}

fn bump_revision(conn: &mut DbConnection, now: NaiveDateTime) -> Result<(), ShopError> {
    diesel::update(shop_settings_revision::table.find(1))
        .set((
            shop_settings_revision::revision.eq(shop_settings_revision::revision + 1),
            shop_settings_revision::changed_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}
