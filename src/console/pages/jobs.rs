//! Jobs: every periodic job this server's shops ask for, with its last run, outcome,
//! summary, next run and the process holding it while it runs.

use actix_web::{HttpRequest, HttpResponse};
use askama::Template;
use chrono::NaiveDateTime;

use super::{chrome, render};
use crate::console::auth::{state_of, Signed};
use crate::console::error::ConsoleError;
use crate::console::view::{age, Chrome};
use crate::directory::Directory;
use crate::schedule::{self, JobList, JobRow, HOUSEKEEPING};
use crate::time::now_utc;

/// A job as the console lists it.
pub struct JobView {
    /// The shop's code, or the database for housekeeping.
    pub shop: String,
    /// The job's name.
    pub job: String,
    /// How often it runs.
    pub every: String,
    /// When the last run started.
    pub last_run: String,
    /// `ok`, `failed` or empty (never ran), for styling.
    pub outcome_code: &'static str,
    /// The outcome in words.
    pub outcome: String,
    /// What the last run did, or why it failed.
    pub summary: String,
    /// When it is next due.
    pub next: String,
    /// The process running it now.
    pub holder: String,
}

#[derive(Template)]
#[template(path = "console/jobs.html")]
struct JobsPage {
    chrome: Chrome,
    jobs: Vec<JobView>,
}

/// The directory's jobs with what the job table says of them.
pub fn job_views(
    chrome: &Chrome,
    directory: &Directory,
    rows: &[JobRow],
    now: NaiveDateTime,
) -> Vec<JobView> {
    let mut views: Vec<JobView> = directory
        .jobs()
        .iter()
        .map(|job| {
            let row = rows
                .iter()
                .find(|row| row.shop_id == job.shop_id && row.job == job.name);
            let outcome_code = match row.and_then(|row| row.last_outcome.as_deref()) {
                Some("ok") => "ok",
                Some("failed") => "failed",
                _ => "",
            };
            let holder = row
                .filter(|row| row.lease_until.is_some_and(|until| until > now))
                .and_then(|row| row.lease_owner.clone());
            JobView {
                shop: if job.shop_id == HOUSEKEEPING {
                    chrome.t("jobs.database").to_owned()
                } else {
                    job.shop_code.clone()
                },
                job: job.name.to_owned(),
                every: age(i64::try_from(job.interval.as_secs()).unwrap_or(i64::MAX)),
                last_run: chrome.time_or_dash(row.and_then(|row| row.last_started_at)),
                outcome: match outcome_code {
                    "" => chrome.t("jobs.never").to_owned(),
                    code => chrome.t(&format!("jobs.{code}")).to_owned(),
                },
                outcome_code,
                summary: row
                    .and_then(|row| row.last_summary.clone())
                    .unwrap_or_default(),
                next: row.map_or_else(
                    || chrome.t("jobs.not_registered").to_owned(),
                    |row| chrome.time(row.next_due_at),
                ),
                holder: holder.unwrap_or_else(|| "—".to_owned()),
            }
        })
        .collect();
    views.sort_by(|a, b| (&a.shop, &a.job).cmp(&(&b.shop, &b.job)));
    views
}

/// `GET /console/jobs`
pub async fn list(request: HttpRequest, signed: Signed) -> Result<HttpResponse, ConsoleError> {
    let state = state_of(&request)?;
    let rows = state
        .db
        .run(|conn| schedule::list(conn).map_err(ConsoleError::from))
        .await?;
    let chrome = chrome(&request, &state, &signed, "/console/jobs", "jobs.title");
    let page = JobsPage {
        jobs: job_views(&chrome, &state.directory.current(), &rows, now_utc()),
        chrome,
    };
    render(&page)
}
