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

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::db::{Database, DbError};
use crate::time::now_utc;

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
    /// The version of the shop's settings it was made from: a new version replaces
    /// the job's task with one of the new settings.
    pub version: i64,
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
            version: 0,
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

/// What says which jobs should run: the shop directory, republished whenever the
/// shops' settings change.
pub trait JobList: Send + Sync + 'static {
    /// The jobs that should run now.
    fn jobs(&self) -> &[Job];
}

/// A job's task is known by its shop, name and settings version.
type JobKey = (i64, &'static str, i64);

/// A job's task and the switch that stops it.
struct Task {
    stop: watch::Sender<bool>,
    handle: JoinHandle<()>,
}

/// Keeps one task per job of the latest list published on `lists`; each task runs its
/// job whenever it is due and this process wins the claim. When a new list comes, the
/// tasks of jobs no longer in it (a shop disabled, an integration removed, settings
/// changed to a new version) are stopped, each finishing the step it is in, and jobs new
/// to it are started; the database leases keep a replaced task and its successor from
/// running the job at once. Everything stops when `stop` turns true.
pub fn spawn<L: JobList>(
    db: Database,
    mut lists: watch::Receiver<Arc<L>>,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let owner = worker_name();
        let mut running: HashMap<JobKey, Task> = HashMap::new();
        let mut stopping: Vec<JoinHandle<()>> = Vec::new();
        let mut first = true;
        while !*stop.borrow() {
            let list = lists.borrow_and_update().clone();
            reconcile(&db, &owner, list.jobs(), &mut running, &mut stopping, first);
            first = false;
            stopping.retain(|handle| !handle.is_finished());
            tokio::select! {
                changed = lists.changed() => if changed.is_err() { break },
                changed = stop.changed() => if changed.is_err() { break },
            }
        }
        for task in running.values() {
            let _ = task.stop.send(true);
        }
        for task in running.into_values() {
            let _ = task.handle.await;
        }
        for handle in stopping {
            let _ = handle.await;
        }
    })
}

/// Stops the tasks of jobs not in `jobs` and starts those of jobs without one.
fn reconcile(
    db: &Database,
    owner: &str,
    jobs: &[Job],
    running: &mut HashMap<JobKey, Task>,
    stopping: &mut Vec<JoinHandle<()>>,
    first: bool,
) {
    let key = |job: &Job| (job.shop_id, job.name, job.version);
    let wanted: HashSet<JobKey> = jobs.iter().map(key).collect();
    let gone: Vec<JobKey> = running
        .keys()
        .filter(|running| !wanted.contains(*running))
        .copied()
        .collect();
    for gone in gone {
        if let Some(task) = running.remove(&gone) {
            tracing::info!(
                job = gone.1,
                shop_id = gone.0,
                version = gone.2,
                "job stopped: the shop's settings changed"
            );
            let _ = task.stop.send(true);
            stopping.push(task.handle);
        }
    }
    for job in jobs {
        if running.contains_key(&key(job)) {
            continue;
        }
        if first {
            tracing::debug!(job = job.name, shop = %job.shop_code, "job scheduled");
        } else {
            tracing::info!(job = job.name, shop = %job.shop_code, version = job.version, "job scheduled with the shop's new settings");
        }
        let (stop, stopped) = watch::channel(false);
        let handle = tokio::spawn(keep(db.clone(), job.clone(), owner.to_owned(), stopped));
        running.insert(key(job), Task { stop, handle });
    }
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
