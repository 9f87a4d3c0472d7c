//! The one drain every outbound integration runs on: claim the due rows of one shop and
//! target with a lease, hand them to the integration, and settle each by the verdict it
//! gives. Claiming, leases, backoff and dead rows live here and nowhere else; an
//! integration only says what became of each row it was handed.

use std::future::Future;
use std::time::Duration;

use super::{store, Claimed, Kind, OutboxError, Target};
use crate::db::Database;

/// What became of one row handed to an integration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The target took it.
    Done,
    /// It cannot be sent as it is (it breaks the target's rules): held with the reason
    /// until the subject changes.
    Hold(String),
    /// It failed in a way that may pass (transport, rate limit, a busy target): tried
    /// again after a backoff, dead after the integration's attempts.
    Retry(String),
    /// The target refused it for good: dead with the target's message, for an operator.
    Refuse(String),
}

/// An outbound integration as the drain sees it.
pub trait Adapter: Sync {
    /// The system the rows go to.
    fn target(&self) -> Target;
    /// The shop whose rows it sends.
    fn shop_id(&self) -> i64;
    /// The shop's code, for the log.
    fn shop_code(&self) -> &str;
    /// Rows handed over per call of [`Adapter::send`].
    fn batch_size(&self, kind: Kind) -> i64;
    /// Longest one call of [`Adapter::send`] may take.
    fn call_timeout(&self) -> Duration;
    /// Attempts before a retried row is dead.
    fn max_attempts(&self) -> i32;
    /// Whether the target's refusals are retried with a backoff (until the attempts are
    /// used up) rather than dead at once: for targets whose refusals often pass later.
    fn retries_refusals(&self) -> bool {
        false
    }
    /// Sends `rows` of `kind` and answers a verdict per row id; a row left without one
    /// is retried.
    fn send(
        &self,
        kind: Kind,
        rows: &[Claimed],
    ) -> impl Future<Output = Vec<(i64, Verdict)>> + Send;
}

/// How long claimed rows are a worker's: three call timeouts, so a live worker always
/// settles first and a killed one's rows are taken over soon after.
pub fn lease(call_timeout: Duration) -> Duration {
    call_timeout.saturating_mul(3).max(Duration::from_secs(1))
}

/// What a drain did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DrainReport {
    /// Rows the target took.
    pub sent: usize,
    /// Rows held because they break the target's rules.
    pub held: usize,
    /// Rows the target refused (dead).
    pub refused: usize,
    /// Rows that failed and wait for their retry.
    pub deferred: usize,
}

impl DrainReport {
    fn count(&mut self, verdict: &Verdict) {
        match verdict {
            Verdict::Done => self.sent += 1,
            Verdict::Hold(_) => self.held += 1,
            Verdict::Refuse(_) => self.refused += 1,
            Verdict::Retry(_) => self.deferred += 1,
        }
    }

    /// Adds another report's counts.
    pub fn add(&mut self, other: DrainReport) {
        self.sent += other.sent;
        self.held += other.held;
        self.refused += other.refused;
        self.deferred += other.deferred;
    }
}

impl std::fmt::Display for DrainReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} sent, {} held, {} refused, {} to retry",
            self.sent, self.held, self.refused, self.deferred
        )
    }
}

/// Drains the due rows of `kinds`, kind by kind, batch by batch, until none is due. A
/// batch in which nothing got through (every row to retry: the target is down) ends
/// the drain; the rows wait for their backoff.
pub async fn drain<A: Adapter>(
    db: &Database,
    owner: &str,
    adapter: &A,
    kinds: &[Kind],
) -> Result<DrainReport, OutboxError> {
    let mut report = DrainReport::default();
    let (shop_id, target) = (adapter.shop_id(), adapter.target());
    let lease = lease(adapter.call_timeout());
    let (max_attempts, retry_refusals) = (adapter.max_attempts(), adapter.retries_refusals());
    for &kind in kinds {
        loop {
            let (owner, batch) = (owner.to_owned(), adapter.batch_size(kind));
            let rows = db
                .run(move |conn| store::claim(conn, shop_id, target, kind, &owner, batch, lease))
                .await?;
            if rows.is_empty() {
                break;
            }
            let mut verdicts = adapter.send(kind, &rows).await;
            let settled: Vec<(Claimed, Verdict)> = rows
                .into_iter()
                .map(|row| {
                    let verdict = verdicts
                        .iter()
                        .position(|(id, _)| *id == row.id)
                        .map(|at| verdicts.swap_remove(at).1)
                        .unwrap_or_else(|| {
                            Verdict::Retry(format!("{target} answered nothing for this row"))
                        });
                    (row, verdict)
                })
                .collect();
            let mut step = DrainReport::default();
            for (row, verdict) in &settled {
                step.count(verdict);
                log_verdict(adapter.shop_code(), target, kind, row, verdict);
            }
            report.add(step);
            db.run(move |conn| {
                for (row, verdict) in &settled {
                    store::settle(conn, row, verdict, max_attempts, retry_refusals)?;
                }
                Ok::<_, OutboxError>(())
            })
            .await?;
            if step.sent + step.held + step.refused == 0 {
                return Ok(report);
            }
        }
    }
    Ok(report)
}

/// What an operator needs to hear about a row: held and refused rows in words.
fn log_verdict(shop: &str, target: Target, kind: Kind, row: &Claimed, verdict: &Verdict) {
    let (target, kind, subject) = (target.code(), kind.code(), row.subject.as_str());
    match verdict {
        Verdict::Done => {}
        Verdict::Hold(reason) => {
            tracing::warn!(shop, target, kind, subject, %reason, "held: not sent until it changes")
        }
        Verdict::Refuse(message) => {
            tracing::warn!(shop, target, kind, subject, %message, "refused by the target")
        }
        Verdict::Retry(error) => {
            tracing::info!(shop, target, kind, subject, %error, "not sent; retried after a backoff")
        }
    }
}
