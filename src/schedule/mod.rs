//! Periodic jobs, leased in the database so that several processes on one database run
//! each job once per interval.
//!
//! Every job (per shop and name) has a row with its next due time and a lease. Each
//! process keeps a task per job that sleeps until the job is due, then tries to claim
//! it with a conditional UPDATE; only the process that wins runs it, renewing the lease
//! while it runs, and then sets the next due time one interval after the start. A
//! killed process's lease runs out and the next process to wake takes the job over.
//! On SQLite, with one process, the same rows simply keep the intervals across restarts.

mod store;

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::db::{Database, DbError};
use crate::shop::time::now_utc;

pub use store::{list, JobRow, Outcome, Slot};

/// The shop id of the jobs that belong to the whole database, not to one shop.
pub const HOUSEKEEPING: i64 = 0;

/// How long a failed look at the job table waits before the next.
const RETRY_AFTER_DB_ERROR: Duration = Duration::from_secs(5);

/// A name for this process when it claims jobs and outbox rows.
pub fn worker_name() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "polymall".to_owned());
    format!("{host}:{}", std::process::id())
}

/// One step of a job: answers a summary in words, or the error in words.
pub type Step = Arc<dyn Fn() -> BoxFuture<'static, Result<String, String>> + Send + Sync>;

/// A periodic job.
#[derive(Clone)]
pub struct Job {
    /// The shop it works for ([`HOUSEKEEPING`] for the database's own jobs).
    pub shop_id: i64,
    /// The shop's code, for the log (`*` for housekeeping).
    pub shop_code: String,
    /// Its name, e.g. `jushuitan.pull-stock`.
    pub name: &'static str,
    /// Time from the start of one run to the next.
    pub interval: Duration,
    /// How long a claim lasts without renewal; renewed every third of it while running.
    pub lease: Duration,
    /// What it does.
    pub step: Step,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("shop", &self.shop_code)
            .field("name", &self.name)
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

impl Job {
    /// A job running `step` on `state`; its summary and error are told in words.
    pub fn new<S, F, Fut, T, E>(
        shop: (i64, &str),
        name: &'static str,
        interval: Duration,
        lease: Duration,
        state: Arc<S>,
        step: F,
    ) -> Self
    where
        S: Send + Sync + 'static,
        F: Fn(Arc<S>) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<T, E>> + Send + 'static,
        T: std::fmt::Display,
        E: std::fmt::Display,
    {
        let step = Arc::new(step);
        Self {
            shop_id: shop.0,
            shop_code: shop.1.to_owned(),
            name,
            interval: interval.max(Duration::from_secs(1)),
            lease: lease.max(Duration::from_secs(3)),
            step: Arc::new(move || {
                let (state, step) = (state.clone(), step.clone());
                async move {
                    step(state)
                        .await
                        .map(|done| done.to_string())
                        .map_err(|error| error.to_string())
                }
                .boxed()
            }),
        }
    }
}

/// Why a job could not be run now.
#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    /// The job table could not be read or written.
    #[error(transparent)]
    Db(#[from] DbError),
    /// Another process is running the job.
    #[error("job `{job}` is running in another process; try again when it is done")]
    Busy {
        /// The job.
        job: &'static str,
    },
    /// The run failed.
    #[error("job `{job}` failed: {error}")]
    Failed {
        /// The job.
        job: &'static str,
        /// Why.
        error: String,
    },
}

/// Starts one task per job; each runs its job whenever it is due and this process wins
/// the claim, until `stop` turns true (a running step finishes first).
pub fn spawn(db: Database, jobs: Vec<Job>, stop: watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
    let owner = worker_name();
    jobs.into_iter()
        .map(|job| tokio::spawn(keep(db.clone(), job, owner.clone(), stop.clone())))
        .collect()
}

/// Runs `job` now in this process, whether due or not, unless another process is
/// running it; afterwards it is next due one interval from now (`polymall sync`).
pub async fn run_now(db: &Database, job: &Job) -> Result<String, ScheduleError> {
    let owner = worker_name();
    let (shop_id, name, interval, lease) = (job.shop_id, job.name, job.interval, job.lease);
    let claim_owner = owner.clone();
    let started = db
        .run(move |conn| {
            store::register(conn, shop_id, name, interval)?;
            store::claim(conn, shop_id, name, &claim_owner, lease, true)
        })
        .await?
        .ok_or(ScheduleError::Busy { job: name })?;
    match run_claimed(db, job, &owner, started).await? {
        Outcome::Ok(summary) => Ok(summary),
        Outcome::Failed(error) => Err(ScheduleError::Failed { job: name, error }),
    }
}

/// The task of one job in one process: learn when the job is due, sleep until then,
/// try to claim it, run it if the claim was won; again, until told to stop.
async fn keep(db: Database, job: Job, owner: String, mut stop: watch::Receiver<bool>) {
    let (shop_id, name, interval, lease) = (job.shop_id, job.name, job.interval, job.lease);
    let mut registered = false;
    while !*stop.borrow() {
        let slot = db
            .run(move |conn| {
                if registered {
                    store::slot(conn, shop_id, name)
                } else {
                    store::register(conn, shop_id, name, interval)
                }
            })
            .await;
        let wait = match slot {
            Ok(Slot {
                next_due_at,
                lease_until,
            }) => {
                registered = true;
                // Held by a process: look again when its lease would run out.
                let wake = lease_until.map_or(next_due_at, |until| until.max(next_due_at));
                (wake - now_utc()).to_std().unwrap_or(Duration::ZERO)
            }
            Err(error) => {
                tracing::warn!(job = name, shop = %job.shop_code, %error, "cannot read the job table; trying again shortly");
                RETRY_AFTER_DB_ERROR
            }
        };
        if !wait.is_zero() {
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                changed = stop.changed() => if changed.is_err() { return },
            }
            continue;
        }
        let claim_owner = owner.clone();
        match db
            .run(move |conn| store::claim(conn, shop_id, name, &claim_owner, lease, false))
            .await
        {
            Ok(Some(started)) => {
                if let Err(error) = run_claimed(&db, &job, &owner, started).await {
                    tracing::warn!(job = name, shop = %job.shop_code, %error, "cannot record the job's run");
                }
            }
            // Another process won the claim; the next look at the slot says until when.
            Ok(None) => {}
            Err(error) => {
                tracing::warn!(job = name, shop = %job.shop_code, %error, "cannot claim the job; trying again shortly");
                tokio::select! {
                    _ = tokio::time::sleep(RETRY_AFTER_DB_ERROR) => {}
                    changed = stop.changed() => if changed.is_err() { return },
                }
            }
        }
    }
}

/// Runs a claimed job, renewing its lease while it runs, logs the outcome in words and
/// records it.
async fn run_claimed(
    db: &Database,
    job: &Job,
    owner: &str,
    started: chrono::NaiveDateTime,
) -> Result<Outcome, DbError> {
    let (shop_id, name, lease) = (job.shop_id, job.name, job.lease);
    let run = (job.step)();
    tokio::pin!(run);
    let mut heartbeat = tokio::time::interval(lease / 3);
    heartbeat.tick().await;
    let result = loop {
        tokio::select! {
            result = &mut run => break result,
            _ = heartbeat.tick() => {
                let renew_owner = owner.to_owned();
                let renewed = db
                    .run(move |conn| store::renew(conn, shop_id, name, &renew_owner, lease))
                    .await;
                if !matches!(renewed, Ok(true)) {
                    tracing::warn!(job = name, shop = %job.shop_code, "the job's lease could not be renewed; another process may take it over");
                }
            }
        }
    };
    let succeeded = if result.is_ok() {
        crate::metrics::JobOutcome::Success
    } else {
        crate::metrics::JobOutcome::Failure
    };
    crate::metrics::job_finished(name, &job.shop_code, succeeded);
    let outcome = match result {
        Ok(summary) => {
            if summary.is_empty() {
                tracing::debug!(job = name, shop = %job.shop_code, "job done");
            } else {
                tracing::info!(job = name, shop = %job.shop_code, %summary, "job done");
            }
            Outcome::Ok(summary)
        }
        Err(error) => {
            tracing::warn!(job = name, shop = %job.shop_code, %error, "job failed; it runs again at its next interval");
            Outcome::Failed(error)
        }
    };
    let (finish_owner, recorded) = (owner.to_owned(), outcome.clone());
    db.run(move |conn| store::finish(conn, shop_id, name, &finish_owner, started, &recorded))
        .await?;
    Ok(outcome)
}
