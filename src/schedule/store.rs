//! Job rows in the database: registered with their interval, claimed with a
//! conditional UPDATE, their lease renewed while they run, and settled with their
//! outcome and next due time.

use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::scheduled_jobs as jobs;
use crate::db::{DbConnection, DbError};
use crate::time::now_utc;

/// Longest summary or error kept on a row.
const MAX_SUMMARY: usize = 2000;

fn span(duration: Duration) -> chrono::Duration {
    chrono::Duration::from_std(duration).unwrap_or(chrono::Duration::days(365))
}

/// When a job is next due and, if a process holds it, until when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    /// Next due time, UTC.
    pub next_due_at: NaiveDateTime,
    /// End of the current lease, if any.
    pub lease_until: Option<NaiveDateTime>,
}

/// Creates the job's row if it is new (first due one interval from now, as a job
/// started fresh waits before its first run) and keeps its interval current: a
/// shortened interval pulls the next due time in. Answers the job's slot.
pub fn register(
    conn: &mut DbConnection,
    shop_id: i64,
    job: &str,
    interval: Duration,
) -> Result<Slot, DbError> {
    let now = now_utc();
    let secs = i64::try_from(interval.as_secs().max(1)).unwrap_or(i64::MAX);
    let values = (
        jobs::shop_id.eq(shop_id),
        jobs::job.eq(job),
        jobs::interval_secs.eq(secs),
        jobs::next_due_at.eq(now + span(interval)),
        jobs::runs.eq(0_i64),
    );
    // Several processes may register a job at once: the first row stays.
    let insert = diesel::insert_into(jobs::table)
        .values(values)
        .on_conflict_do_nothing();
    match conn {
        DbConnection::Pg(pg) => insert.execute(pg)?,
        DbConnection::Sqlite(sqlite) => insert.execute(sqlite)?,
    };
    let row = jobs::table.find((shop_id, job));
    diesel::update(row)
        .set(jobs::interval_secs.eq(secs))
        .execute(conn)?;
    diesel::update(row.filter(jobs::next_due_at.gt(now + span(interval))))
        .set(jobs::next_due_at.eq(now + span(interval)))
        .execute(conn)?;
    slot(conn, shop_id, job)
}

/// The job's slot.
pub fn slot(conn: &mut DbConnection, shop_id: i64, job: &str) -> Result<Slot, DbError> {
    let (next_due_at, lease_until) = jobs::table
        .find((shop_id, job))
        .select((jobs::next_due_at, jobs::lease_until))
        .first(conn)?;
    Ok(Slot {
        next_due_at,
        lease_until,
    })
}

/// Takes the job for `owner` for `lease` if it is due (or, with `even_if_not_due`, at
/// any time) and no live lease holds it. Answers when it started, or `None` when
/// another process has it or it is not due.
pub fn claim(
    conn: &mut DbConnection,
    shop_id: i64,
    job: &str,
    owner: &str,
    lease: Duration,
    even_if_not_due: bool,
) -> Result<Option<NaiveDateTime>, DbError> {
    let now = now_utc();
    let free = jobs::lease_until.is_null().or(jobs::lease_until.lt(now));
    let row = jobs::table.find((shop_id, job)).filter(free);
    let set = (
        jobs::lease_owner.eq(owner),
        jobs::lease_until.eq(now + span(lease)),
        jobs::last_started_at.eq(now),
    );
    let claimed = if even_if_not_due {
        diesel::update(row).set(set).execute(conn)?
    } else {
        diesel::update(row.filter(jobs::next_due_at.le(now)))
            .set(set)
            .execute(conn)?
    };
    Ok((claimed == 1).then_some(now))
}

/// Extends `owner`'s lease on a running job; `false` when the lease was lost (it ran
/// out and another process took the job).
pub fn renew(
    conn: &mut DbConnection,
    shop_id: i64,
    job: &str,
    owner: &str,
    lease: Duration,
) -> Result<bool, DbError> {
    let renewed = diesel::update(
        jobs::table
            .find((shop_id, job))
            .filter(jobs::lease_owner.eq(owner)),
    )
    .set(jobs::lease_until.eq(now_utc() + span(lease)))
    .execute(conn)?;
    Ok(renewed == 1)
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It did its work; the summary says what.
    Ok(String),
    /// It failed; the error says why.
    Failed(String),
}

/// Records the run `owner` started at `started` and frees the job; it is next due one
/// interval after that start. Nothing changes if the lease was lost meanwhile.
pub fn finish(
    conn: &mut DbConnection,
    shop_id: i64,
    job: &str,
    owner: &str,
    started: NaiveDateTime,
    outcome: &Outcome,
) -> Result<(), DbError> {
    let now = now_utc();
    let interval: i64 = jobs::table
        .find((shop_id, job))
        .select(jobs::interval_secs)
        .first(conn)?;
    let (code, text) = match outcome {
        Outcome::Ok(summary) => ("ok", summary),
        Outcome::Failed(error) => ("failed", error),
    };
    let text: String = text
        .chars()
        .filter(|c| *c != '\0')
        .take(MAX_SUMMARY)
        .collect();
    let row = jobs::table
        .find((shop_id, job))
        .filter(jobs::lease_owner.eq(owner));
    let next = started + chrono::Duration::seconds(interval);
    let common = (
        jobs::next_due_at.eq(next),
        jobs::lease_owner.eq(None::<String>),
        jobs::lease_until.eq(None::<NaiveDateTime>),
        jobs::last_finished_at.eq(now),
        jobs::last_outcome.eq(code),
        jobs::last_summary.eq(text),
        jobs::runs.eq(jobs::runs + 1),
    );
    match outcome {
        Outcome::Ok(_) => diesel::update(row)
            .set((common, jobs::last_success_at.eq(now)))
            .execute(conn)?,
        Outcome::Failed(_) => diesel::update(row).set(common).execute(conn)?,
    };
    Ok(())
}

/// A job as the operator sees it.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = jobs)]
pub struct JobRow {
    /// The shop (0: the database's own housekeeping).
    pub shop_id: i64,
    /// The job's name.
    pub job: String,
    /// Seconds between runs.
    pub interval_secs: i64,
    /// When it is next due.
    pub next_due_at: NaiveDateTime,
    /// The process holding it, while it runs.
    pub lease_owner: Option<String>,
    /// Until when that process holds it (a lease that ran out holds nothing).
    pub lease_until: Option<NaiveDateTime>,
    /// When the last run started.
    pub last_started_at: Option<NaiveDateTime>,
    /// When the last run finished.
    pub last_finished_at: Option<NaiveDateTime>,
    /// `ok` or `failed`.
    pub last_outcome: Option<String>,
    /// What the last run did, or why it failed.
    pub last_summary: Option<String>,
    /// When a run last succeeded.
    pub last_success_at: Option<NaiveDateTime>,
    /// Runs so far.
    pub runs: i64,
}

/// Every job, by shop and name.
pub fn list(conn: &mut DbConnection) -> Result<Vec<JobRow>, DbError> {
    Ok(jobs::table
        .order((jobs::shop_id.asc(), jobs::job.asc()))
        .select(JobRow::as_select())
        .load(conn)?)
}
