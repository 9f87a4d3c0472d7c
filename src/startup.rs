//! Building and running the server: database, shops, listener, graceful shutdown.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::{web, App};
use tracing_actix_web::TracingLogger;

use crate::config::Config;
use crate::console::ConsoleSettings;
use crate::db::{Backend, Database, DbError};
use crate::directory::LiveDirectory;
use crate::http::metrics::record_requests;
use crate::http::polyapi::deadline_from_millis;
use crate::http::rate_limit::RateLimiter;
use crate::http::{routes, AppState, RequestSpan};
use crate::polling::CallLog;
use crate::polyapi::credentials::disabled_methods;
use crate::shop::settings::{self, Seeding};
use crate::shop::ShopError;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The database could not be opened or migrated.
    #[error(transparent)]
    Database(#[from] DbError),
    /// The configured shops could not be stored.
    #[error(transparent)]
    Shops(#[from] ShopError),
    /// A stored shop's settings cannot be served.
    #[error("{0}")]
    ShopSettings(String),
    /// The Polyapi credentials are inconsistent.
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

/// A bound, not yet running server.
pub struct Application {
    port: u16,
    server: Server,
    db: Database,
    jobs: Vec<tokio::task::JoinHandle<()>>,
    stop_jobs: tokio::sync::watch::Sender<bool>,
    reloading: tokio::task::JoinHandle<()>,
    stop_reloading: tokio::sync::watch::Sender<bool>,
    polling: Arc<CallLog>,
}

impl Application {
    /// Opens the database, applies pending migrations, seeds the shops' settings from the
    /// configuration file, builds the shop directory, starts the jobs and binds the
    /// listener (port 0 picks a free port).
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        log_start(&config);
        crate::metrics::install();
        for (index, shop) in config.shops.iter().enumerate() {
            if let Some(polyapi) = &shop.polyapi {
                disabled_methods(polyapi).map_err(|why| {
                    StartupError::Polyapi(format!(
                        "config key `shops[{index}].polyapi.disabled_methods`: {why}"
                    ))
                })?;
            }
        }
        let db_config = config.database.clone();
        let declared_shops = config.shops.clone();
        let (db, applied, seeded) =
            tokio::task::spawn_blocking(move || -> Result<_, StartupError> {
                let db = Database::connect(&db_config)?;
                let applied = db.migrate()?;
                let mut conn = db.get()?;
                let seeded = settings::seed(&mut conn, &declared_shops, Seeding::FollowFile)?;
                // Changes written while no server ran (an import, a crash) are folded
                // first, so the first requests do not sum a long list of them, and the
                // planner learns how the tables grew.
                crate::shop::orders::fold_order_counts(&mut conn)?;
                crate::db::refresh_statistics(
                    &mut conn,
                    crate::db::Refresh::StatisticsAndVisibility,
                )?;
                Ok((db, applied, seeded))
            })
            .await
            .map_err(|e| DbError::Task(e.to_string()))??;
        for name in &applied {
            tracing::info!(migration = %name, "applied migration");
        }
        for shop in &seeded.kept_from_console {
            tracing::warn!(
                shop = %shop,
                "shop `{shop}` was changed in the console: its settings in the database stay, and the configuration file's version of it is ignored"
            );
        }
        for shop in &seeded.no_longer_in_file {
            tracing::warn!(
                shop = %shop,
                "shop `{shop}` came from the configuration file and is no longer in it: it is still served with its last settings; disable it in the console to stop it"
            );
        }
        let (directory, problems) = LiveDirectory::load(db.clone()).await?;
        if let Some(problem) = problems.into_iter().next() {
            return Err(StartupError::ShopSettings(problem));
        }
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
        let served = directory.current();
        for shop in served.polyapi().secrets_with_upper_case() {
            tracing::warn!(
                shop,
                "the Polyapi appsecret has upper-case letters: callers that lowercase the whole signed text and callers that keep the secret's case sign differently; both are accepted, but a lower-case secret avoids the difference"
            );
        }
        tracing::info!(shops = %crate::directory::summary(&served), "shops served");
        let directory = Arc::new(directory);
        let (stop_jobs, stop_receiver) = tokio::sync::watch::channel(false);
        let mut jobs = vec![crate::schedule::spawn(
            db.clone(),
            directory.subscribe(),
            stop_receiver.clone(),
        )];
        // Every process stores its own Polyapi call counts (not a shared, leased job).
        let polling = Arc::new(CallLog::default());
        jobs.push(crate::polling::spawn_storing(
            db.clone(),
            polling.clone(),
            stop_receiver,
        ));
        let (stop_reloading, reload_receiver) = tokio::sync::watch::channel(false);
        let reloading = directory.spawn_polling(reload_receiver);
        let state = web::Data::new(AppState {
            db: db.clone(),
            directory,
            admin_token: config.admin.token.clone(),
            polyapi_deadline: deadline_from_millis(config.server.polyapi_deadline_ms),
            limit_per_ip: Arc::new(RateLimiter::new(config.server.rate_limit_per_ip)),
            limit_per_appkey: Arc::new(RateLimiter::new(config.server.rate_limit_per_appkey)),
            polling: polling.clone(),
            console: Arc::new(ConsoleSettings::new(
                &config.console,
                config.listens_beyond_loopback(),
            )),
            metrics_token: config.metrics.token.clone(),
        });
        let configure = routes(config.server.polyapi_path.clone());
        let settings = crate::http::server::Settings {
            workers: config.server.workers,
            shutdown_timeout_secs: config.server.shutdown_timeout_secs,
            polyapi_path: config.server.polyapi_path.clone(),
        };
        let server = crate::http::server::serve(listener, settings, move || {
            App::new()
                .wrap(actix_web::middleware::from_fn(record_requests))
                .wrap(TracingLogger::<RequestSpan>::new())
                .app_data(state.clone())
                .configure(configure.clone())
        })
        .map_err(|source| StartupError::Bind {
            address: config.server.listen.clone(),
            source,
        })?;
        tracing::info!(address = %config.server.listen, port, backend = ?db.backend(), "polymall listening");
        Ok(Self {
            port,
            server,
            db,
            jobs,
            stop_jobs,
            reloading,
            stop_reloading,
            polling,
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
        let _ = self.stop_reloading.send(true);
        let _ = self.reloading.await;
        let _ = self.stop_jobs.send(true);
        for job in self.jobs {
            let _ = job.await;
        }
        let polling = self.polling;
        if let Err(error) = self.db.run(move |conn| polling.flush(conn)).await {
            tracing::warn!(%error, "the last Polyapi call counts were not stored");
        }
        tracing::info!("stopped");
        Ok(())
    }

    /// Serves until the returned handle is stopped (tests). Background jobs do not run;
    /// the shops' settings are still followed while the server runs.
    pub fn spawn(self) -> actix_web::dev::ServerHandle {
        let _ = self.stop_jobs.send(true);
        let handle = self.server.handle();
        let stop_reloading = self.stop_reloading;
        let server = self.server;
        tokio::spawn(async move {
            let _ = server.await;
            let _ = stop_reloading.send(true);
        });
        handle
    }
}

/// One line saying what is starting: version, configuration file, database (without
/// secrets), shops and the integrations each uses.
fn log_start(config: &Config) {
    let file = config.source.as_deref().map_or_else(
        || "(built-in defaults)".to_owned(),
        |path| path.display().to_string(),
    );
    let backend = match Backend::of_url(config.database.url.expose()) {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    let shops = config
        .shops
        .iter()
        .map(|shop| format!("{} ({})", shop.code, shop.integrations().join(", ")))
        .collect::<Vec<_>>()
        .join("; ");
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        config = %file,
        database = backend,
        location = %config.database.location(),
        shops = %shops,
        "polymall starting"
    );
}

fn notify_systemd(states: &[sd_notify::NotifyState<'_>]) {
    if std::env::var_os("NOTIFY_SOCKET").is_some() {
        if let Err(error) = sd_notify::notify(false, states) {
            tracing::warn!(%error, "could not notify systemd");
        }
    }
}

/// Waits for SIGTERM or SIGINT. SIGHUP, which would end the process by default (and
/// which some operators send expecting a reload), is logged and ignored: the
/// configuration file is read only at start, so a restart applies a change (shops
/// changed in the console apply at once).
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
            signal(SignalKind::hangup()),
        ) {
            (Ok(mut term), Ok(mut int), Ok(mut hup)) => loop {
                tokio::select! {
                    _ = term.recv() => return,
                    _ = int.recv() => return,
                    _ = hup.recv() => tracing::warn!(
                        "SIGHUP ignored: the configuration is read only at start; restart polymall to apply a change"
                    ),
                }
            },
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
