//! The shops this process serves, as one directory that every HTTP handler and the
//! console read: the shops by code, the Polyapi credentials, the warehouses that may
//! call back, each shop's settings and the periodic jobs they ask for.
//!
//! It is built from the stored settings and replaced whole when they change, so a
//! request sees one consistent version: at once after this process's own edit, and
//! within [`RELOAD_EVERY`] after another process's, which every process notices by
//! reading the settings revision. A disabled shop stays listed (the console shows it)
//! but is unknown to the Polyapi endpoint, the admin API and the warehouse callback,
//! and runs no jobs.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Mutex};
use tokio::task::JoinHandle;

use crate::db::{Database, DbError};
use crate::polyapi::credentials::Credentials;
use crate::qimen::callback::Warehouses;
use crate::schedule::{Job, JobList};
use crate::shop::settings::{self, Loaded, StoredShop};
use crate::shop::shops::Shop;

/// How often every process looks whether the shops' settings changed.
pub const RELOAD_EVERY: Duration = Duration::from_secs(2);

/// The shops at one revision of their settings.
#[derive(Debug, Default)]
pub struct Directory {
    revision: i64,
    shops: Vec<StoredShop>,
    enabled: HashMap<String, usize>,
    polyapi: Credentials,
    warehouses: Warehouses,
    jobs: Vec<Job>,
}

impl Directory {
    /// The directory of `loaded`, with the database's housekeeping jobs and the jobs of
    /// every enabled shop. What cannot be built (settings that cannot be read, a
    /// client that cannot be made) is left out and told in the problems answered.
    pub fn build(db: &Database, loaded: Loaded) -> (Self, Vec<String>) {
        let mut problems: Vec<String> = loaded
            .unreadable
            .into_iter()
            .map(|(code, why)| format!("shop `{code}` is not served: {why}"))
            .collect();
        let mut directory = Self {
            revision: loaded.revision,
            jobs: crate::integrations::housekeeping(db),
            ..Self::default()
        };
        for stored in loaded.shops {
            if stored.enabled {
                directory.serve(db, &stored, &mut problems);
                directory
                    .enabled
                    .insert(stored.shop.code.clone(), directory.shops.len());
            }
            directory.shops.push(stored);
        }
        (directory, problems)
    }

    /// Adds what an enabled shop answers and runs.
    fn serve(&mut self, db: &Database, stored: &StoredShop, problems: &mut Vec<String>) {
        let (shop, settings) = (&stored.shop, &stored.settings);
        if let Some(polyapi) = &settings.polyapi {
            let previous = stored
                .previous_appsecret
                .as_ref()
                .map(|previous| (previous.secret.clone(), previous.until));
            if let Err(why) = self.polyapi.add(shop, polyapi, previous) {
                problems.push(format!(
                    "shop `{}`: polyapi.disabled_methods: {why}; its Polyapi calls are not answered",
                    shop.code
                ));
            }
        }
        if let Some(wms) = &settings.wms {
            self.warehouses.add(shop, wms);
        }
        match crate::integrations::shop_jobs(db, shop, settings, stored.version) {
            Ok(jobs) => self.jobs.extend(jobs),
            Err(error) => problems.push(format!("{error}; its jobs do not run")),
        }
    }

    /// The revision of the settings it was built from.
    pub fn revision(&self) -> i64 {
        self.revision
    }

    /// The enabled shop with `code`.
    pub fn shop(&self, code: &str) -> Option<&Shop> {
        self.enabled.get(code).map(|&index| &self.shops[index].shop)
    }

    /// Every shop with settings, enabled or not, by code.
    pub fn all(&self) -> &[StoredShop] {
        &self.shops
    }

    /// The shop with `code` and its settings, enabled or not.
    pub fn find(&self, code: &str) -> Option<&StoredShop> {
        self.shops.iter().find(|stored| stored.shop.code == code)
    }

    /// The enabled shops' Polyapi credentials.
    pub fn polyapi(&self) -> &Credentials {
        &self.polyapi
    }

    /// The enabled shops' warehouses.
    pub fn warehouses(&self) -> &Warehouses {
        &self.warehouses
    }
}

impl JobList for Directory {
    fn jobs(&self) -> &[Job] {
        &self.jobs
    }
}

/// The directory in use, replaced whole when the settings change; the scheduler
/// follows each replacement.
#[derive(Debug)]
pub struct LiveDirectory {
    db: Database,
    current: watch::Sender<Arc<Directory>>,
    reloading: Mutex<()>,
}

impl LiveDirectory {
    /// Reads the settings and builds the first directory; answers the problems found.
    pub async fn load(db: Database) -> Result<(Self, Vec<String>), DbError> {
        let loaded = read(&db).await?;
        let (directory, problems) = Directory::build(&db, loaded);
        let (current, _) = watch::channel(Arc::new(directory));
        Ok((
            Self {
                db,
                current,
                reloading: Mutex::new(()),
            },
            problems,
        ))
    }

    /// The directory now. Cheap: a reference count goes up.
    pub fn current(&self) -> Arc<Directory> {
        self.current.borrow().clone()
    }

    /// Every future directory (the scheduler's jobs follow them).
    pub fn subscribe(&self) -> watch::Receiver<Arc<Directory>> {
        self.current.subscribe()
    }

    /// Rebuilds the directory if the settings' revision moved since it was built (a
    /// change by this process or another).
    pub async fn reload(&self) -> Result<(), DbError> {
        // One reload at a time, so an older build never replaces a newer one.
        let _turn = self.reloading.lock().await;
        let known = self.current().revision();
        let revision = self
            .db
            .run(|conn| settings::revision(conn).map_err(into_db_error))
            .await?;
        if revision == known {
            return Ok(());
        }
        let loaded = read(&self.db).await?;
        let (directory, problems) = Directory::build(&self.db, loaded);
        for problem in problems {
            tracing::warn!(%problem, "shop settings");
        }
        tracing::info!(
            revision = directory.revision(),
            shops = %summary(&directory),
            "shop settings changed; serving them now"
        );
        self.current.send_replace(Arc::new(directory));
        Ok(())
    }

    /// Looks every [`RELOAD_EVERY`] whether another process changed the settings,
    /// until `stop` turns true.
    pub fn spawn_polling(self: &Arc<Self>, mut stop: watch::Receiver<bool>) -> JoinHandle<()> {
        let live = self.clone();
        tokio::spawn(async move {
            while !*stop.borrow() {
                tokio::select! {
                    _ = tokio::time::sleep(RELOAD_EVERY) => {}
                    changed = stop.changed() => if changed.is_err() { return },
                }
                if let Err(error) = live.reload().await {
                    tracing::warn!(%error, "cannot read the shops' settings; serving the last ones read");
                }
            }
        })
    }
}

/// The enabled shops and their integrations, for the log.
pub fn summary(directory: &Directory) -> String {
    directory
        .all()
        .iter()
        .filter(|stored| stored.enabled)
        .map(|stored| {
            format!(
                "{} ({})",
                stored.shop.code,
                stored.settings.integrations().join(", ")
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

async fn read(db: &Database) -> Result<Loaded, DbError> {
    db.run(|conn| settings::load(conn).map_err(into_db_error))
        .await
}

fn into_db_error(error: crate::shop::ShopError) -> DbError {
    match error {
        crate::shop::ShopError::Db(error) => error,
        other => DbError::Task(other.to_string()),
    }
}
