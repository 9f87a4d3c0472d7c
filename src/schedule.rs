//! Runs a background job at a fixed interval until told to stop.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A name for this process when it claims outbox rows.
pub fn worker_name() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "polymall".to_owned());
    format!("{host}:{}", std::process::id())
}

/// Spawns `step` every `interval`; stops when `stop` turns true (a running step finishes).
/// Each run is logged with the shop and its summary or error (an empty summary at debug level).
pub fn every<S, F, Fut, E>(
    name: &'static str,
    shop: String,
    interval: Duration,
    mut stop: watch::Receiver<bool>,
    state: Arc<S>,
    step: F,
) -> JoinHandle<()>
where
    S: Send + Sync + 'static,
    F: Fn(Arc<S>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<String, E>> + Send,
    E: std::fmt::Display,
{
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = stop.changed() => return,
            }
            if *stop.borrow() {
                return;
            }
            match step(state.clone()).await {
                // Housekeeping that has nothing to report stays out of the log.
                Ok(summary) if summary.is_empty() => tracing::debug!(job = name, %shop, "job done"),
                Ok(summary) => tracing::info!(job = name, %shop, %summary, "job done"),
                Err(error) => {
                    tracing::warn!(job = name, %shop, %error, "job failed; next run retries")
                }
            }
        }
    })
}
