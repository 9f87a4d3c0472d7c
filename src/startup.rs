//! Building and running the server: database, shops, listener, graceful shutdown.

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::{web, App, HttpServer};
use tracing_actix_web::TracingLogger;

use crate::config::Config;
use crate::db::{Database, DbError};
use crate::http::polyapi::deadline_from_millis;
use crate::http::rate_limit::RateLimiter;
use crate::http::{routes, AppState, RequestSpan};
use crate::jushuitan::jobs::ShopSync;
use crate::jushuitan::scheduler::spawn_shop_jobs;
use crate::polyapi::credentials::Credentials;
use crate::shop::{shops, ShopError};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The database could not be opened or migrated.
    #[error(transparent)]
    Database(#[from] DbError),
    /// The configured shops could not be stored.
    #[error(transparent)]
    Shops(#[from] ShopError),
    /// The Polyapi credentials are inconsistent, or an integration cannot start.
    #[error("{0}")]
    Polyapi(String),
    /// The listen address could not be bound.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The configured address.
        address: String,
        /// Why.
        source: std::io::Error,
    },
}

/// How often pending order count changes are folded into the counts: readers sum what
/// is pending, so it is kept to about a second of writes.
const ORDER_COUNT_FOLD_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// How often the query planner's statistics are checked and refreshed where stale (a
/// check that finds nothing to do costs one small query).
const STATISTICS_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);

/// A bound, not yet running server.
pub struct Application {
    port: u16,
    server: Server,
    db: Database,
    jobs: Vec<tokio::task::JoinHandle<()>>,
    stop_jobs: tokio::sync::watch::Sender<bool>,
}

impl Application {
    /// Opens the database, applies pending migrations, stores the configured shops and
    /// binds the listener (port 0 picks a free port).
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        let db_config = config.database.clone();
        let declared_shops = config.shops.clone();
        let (db, applied, stored) =
            tokio::task::spawn_blocking(move || -> Result<_, StartupError> {
                let db = Database::connect(&db_config)?;
                let applied = db.migrate()?;
                let mut conn = db.get()?;
                let stored = shops::sync_declared(&mut conn, &declared_shops)?;
                // Changes written while no server ran (an import, a crash) are folded
                // first, so the first requests do not sum a long list of them, and the
                // planner learns how the tables grew.
                crate::shop::orders::fold_order_counts(&mut conn)?;
                crate::db::refresh_statistics(&mut conn)?;
                Ok((db, applied, stored))
            })
            .await
            .map_err(|e| DbError::Task(e.to_string()))??;
        for name in &applied {
            tracing::info!(migration = %name, "applied migration");
        }
        let declared: HashMap<String, shops::Shop> = stored
            .into_iter()
            .filter(|shop| config.shop(&shop.code).is_some())
            .map(|shop| (shop.code.clone(), shop))
            .collect();
        let listener =
            TcpListener::bind(&config.server.listen).map_err(|source| StartupError::Bind {
                address: config.server.listen.clone(),
                source,
            })?;
        let port = listener
            .local_addr()
            .map_err(|source| StartupError::Bind {
                address: config.server.listen.clone(),
                source,
            })?
            .port();
        let credentials =
            Credentials::from_config(&config, &declared).map_err(StartupError::Polyapi)?;
        let (stop_jobs, stop_receiver) = tokio::sync::watch::channel(false);
        let mut jobs = Vec::new();
        jobs.push(crate::schedule::every(
            "fold-order-counts",
            "*".to_owned(),
            ORDER_COUNT_FOLD_INTERVAL,
            stop_receiver.clone(),
            Arc::new(db.clone()),
            |db: Arc<Database>| async move {
                db.run(|conn| crate::shop::orders::fold_order_counts(conn).map(|_| String::new()))
                    .await
            },
        ));
        jobs.push(crate::schedule::every(
            "refresh-statistics",
            "*".to_owned(),
            STATISTICS_INTERVAL,
            stop_receiver.clone(),
            Arc::new(db.clone()),
            |db: Arc<Database>| async move {
                db.run(|conn| crate::db::refresh_statistics(conn).map(|()| String::new()))
                    .await
            },
        ));
        for shop_config in &config.shops {
            let (Some(jushuitan), Some(shop)) =
                (&shop_config.jushuitan, declared.get(&shop_config.code))
            else {
                continue;
            };
            let sync = ShopSync::new(db.clone(), shop.clone(), jushuitan.clone()).map_err(|e| {
                StartupError::Polyapi(format!("shop `{}`: jushuitan client: {e}", shop.code))
            })?;
            jobs.extend(spawn_shop_jobs(sync, stop_receiver.clone()));
        }
        for shop_config in &config.shops {
            let (Some(wms), Some(shop)) = (&shop_config.wms, declared.get(&shop_config.code))
            else {
                continue;
            };
            let sync = crate::qimen::jobs::WmsSync::new(db.clone(), shop.clone(), wms.clone())
                .map_err(|e| {
                    StartupError::Polyapi(format!("shop `{}`: warehouse client: {e}", shop.code))
                })?;
            jobs.extend(crate::qimen::jobs::spawn_shop_jobs(
                sync,
                stop_receiver.clone(),
            ));
        }
        let wms = crate::http::qimen::directory(&config, &declared);
        let state = web::Data::new(AppState {
            db: db.clone(),
            shops: Arc::new(declared),
            admin_token: config.admin.token.clone(),
            polyapi: Arc::new(credentials),
            polyapi_deadline: deadline_from_millis(config.server.polyapi_deadline_ms),
            wms: Arc::new(wms),
            limit_per_ip: Arc::new(RateLimiter::new(config.server.rate_limit_per_ip)),
            limit_per_appkey: Arc::new(RateLimiter::new(config.server.rate_limit_per_appkey)),
        });
        let configure = routes(config.server.polyapi_path.clone());
        let mut server = HttpServer::new(move || {
            App::new()
                .wrap(TracingLogger::<RequestSpan>::new())
                .app_data(state.clone())
                .configure(configure.clone())
        })
        .disable_signals()
        .shutdown_timeout(config.server.shutdown_timeout_secs);
        if config.server.workers > 0 {
            server = server.workers(config.server.workers);
        }
        let server = server
            .listen(listener)
            .map_err(|source| StartupError::Bind {
                address: config.server.listen.clone(),
                source,
            })?
            .run();
        tracing::info!(address = %config.server.listen, port, backend = ?db.backend(), "polymall listening");
        Ok(Self {
            port,
            server,
            db,
            jobs,
            stop_jobs,
        })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The database the server uses.
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// Serves until SIGTERM or SIGINT, then stops accepting and lets in-flight requests
    /// finish (up to `server.shutdown_timeout_secs`). Tells systemd when ready and when stopping.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let handle = self.server.handle();
        let server = tokio::spawn(self.server);
        notify_systemd(&[sd_notify::NotifyState::Ready]);
        shutdown_signal().await;
        tracing::info!("shutdown requested; finishing in-flight requests");
        notify_systemd(&[sd_notify::NotifyState::Stopping]);
        handle.stop(true).await;
        match server.await {
            Ok(result) => result?,
            Err(join) => return Err(std::io::Error::other(join)),
        }
        // Background jobs finish the step they are in; outbox leases cover a kill.
        let _ = self.stop_jobs.send(true);
        for job in self.jobs {
            let _ = job.await;
        }
        tracing::info!("stopped");
        Ok(())
    }

    /// Serves until the returned handle is stopped (tests). Background jobs do not run.
    pub fn spawn(self) -> actix_web::dev::ServerHandle {
        let _ = self.stop_jobs.send(true);
        let handle = self.server.handle();
        tokio::spawn(self.server);
        handle
    }
}

fn notify_systemd(states: &[sd_notify::NotifyState<'_>]) {
    if std::env::var_os("NOTIFY_SOCKET").is_some() {
        if let Err(error) = sd_notify::notify(false, states) {
            tracing::warn!(%error, "could not notify systemd");
        }
    }
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(mut term), Ok(mut int)) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
            }
            _ => {
                tracing::warn!("cannot install signal handlers; stopping only on ctrl-c");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
