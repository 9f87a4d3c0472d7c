//! Outbox rows in the database: enqueue, claim with a lease, settle, list, retry.

use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{Kind, OutboxError, Target};
use crate::db::schema::{outbox, shops};
use crate::db::{runs, write_transaction, DbConnection, Statement};
use crate::shop::now_utc;

/// Longest error text kept on a row.
const MAX_ERROR: usize = 2000;

/// Re-arms (or creates) the row for `subject` when the shop uses `target`. Call it
/// inside the transaction that makes the change.
pub fn enqueue(
    conn: &mut DbConnection,
    shop_id: i64,
    target: Target,
    kind: Kind,
    subject: &str,
) -> Result<(), diesel::result::Error> {
    enqueue_many(conn, shop_id, target, kind, &[subject])
}

/// Re-arms (or creates) the rows of `subjects` when the shop uses `target`, with
/// multi-row upserts. Call it inside the transaction that makes the changes.
pub fn enqueue_many(
    conn: &mut DbConnection,
    shop_id: i64,
    target: Target,
    kind: Kind,
    subjects: &[&str],
) -> Result<(), diesel::result::Error> {
    if subjects.is_empty() {
        return Ok(());
    }
    let enabled: bool = match target {
        Target::Jushuitan => shops::table
            .find(shop_id)
            .select(shops::jushuitan_enabled)
            .first(conn)?,
        Target::Wms => shops::table
            .find(shop_id)
            .select(shops::wms_enabled)
            .first(conn)?,
    };
    if !enabled {
        return Ok(());
    }
    let now = now_utc();
    for run in runs(subjects) {
        let mut upsert = Statement::new();
        upsert
            .sql(
                "INSERT INTO outbox (shop_id, target, kind, subject, state, version, attempts, \
                 next_attempt_at, created_at, modified_at) VALUES ",
            )
            .tuples(run, |row, subject| {
                row.value(shop_id)
                    .value(target.code())
                    .value(kind.code())
                    .value(*subject)
                    .value("pending")
                    .value(1_i64)
                    .value(0_i32)
                    .value(now)
                    .value(now)
                    .value(now);
            })
            .sql(
                " ON CONFLICT (shop_id, target, kind, subject) DO UPDATE SET \
                 state = 'pending', version = outbox.version + 1, attempts = 0, \
                 next_attempt_at = excluded.next_attempt_at, last_error = NULL, \
                 modified_at = excluded.modified_at",
            );
        upsert.run(conn)?;
    }
    Ok(())
}

/// A row a worker holds the lease of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    /// Row id.
    pub id: i64,
    /// The subject (order number, product id).
    pub subject: String,
    /// The version claimed; settling checks it.
    pub version: i64,
    /// Attempts made before this one.
    pub attempts: i32,
}

/// Claims up to `limit` due rows of one shop, target and kind for `lease`. Two workers
/// never hold the same row: on PostgreSQL the candidates are locked with
/// `FOR UPDATE SKIP LOCKED`; on SQLite the claim runs under the write lock.
pub fn claim(
    conn: &mut DbConnection,
    shop_id: i64,
    target: Target,
    kind: Kind,
    owner: &str,
    limit: i64,
    lease: Duration,
) -> Result<Vec<Claimed>, OutboxError> {
    write_transaction(conn, |conn| {
        let now = now_utc();
        let until =
            now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::seconds(60));
        let due = outbox::table
            .filter(outbox::shop_id.eq(shop_id))
            .filter(outbox::target.eq(target.code()))
            .filter(outbox::kind.eq(kind.code()))
            .filter(outbox::state.eq("pending"))
            .filter(outbox::next_attempt_at.le(now))
            .filter(
                outbox::lease_until
                    .is_null()
                    .or(outbox::lease_until.lt(now)),
            )
            .order(outbox::id.asc())
            .limit(limit)
            .select((
                outbox::id,
                outbox::subject,
                outbox::version,
                outbox::attempts,
            ));
        let rows: Vec<(i64, String, i64, i32)> = match &mut *conn {
            DbConnection::Pg(pg) => due.for_update().skip_locked().load(pg)?,
            DbConnection::Sqlite(_) => due.load(conn)?,
        };
        let ids: Vec<i64> = rows.iter().map(|row| row.0).collect();
        if !ids.is_empty() {
            diesel::update(outbox::table.filter(outbox::id.eq_any(&ids)))
                .set((outbox::lease_owner.eq(owner), outbox::lease_until.eq(until)))
                .execute(conn)?;
        }
        Ok(rows
            .into_iter()
            .map(|(id, subject, version, attempts)| Claimed {
                id,
                subject,
                version,
                attempts,
            })
            .collect())
    })
}

/// The target took the row: done, unless the subject changed meanwhile (then it stays
/// pending and goes again with its new state).
pub fn complete(conn: &mut DbConnection, claimed: &Claimed) -> Result<(), OutboxError> {
    let now = now_utc();
    let done = diesel::update(
        outbox::table
            .find(claimed.id)
            .filter(outbox::version.eq(claimed.version)),
    )
    .set((
        outbox::state.eq("done"),
        outbox::attempts.eq(claimed.attempts + 1),
        outbox::lease_owner.eq(None::<String>),
        outbox::lease_until.eq(None::<NaiveDateTime>),
        outbox::last_error.eq(None::<String>),
        outbox::modified_at.eq(now),
    ))
    .execute(conn)?;
    if done == 0 {
        release(conn, claimed.id)?;
    }
    Ok(())
}

fn release(conn: &mut DbConnection, id: i64) -> Result<(), OutboxError> {
    diesel::update(outbox::table.find(id))
        .set((
            outbox::lease_owner.eq(None::<String>),
            outbox::lease_until.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
    Ok(())
}

/// The attempt failed. A retryable failure (transport, rate limit, a refusal that may
/// pass later) waits `backoff(attempts)`; after `max_attempts`, or when not retryable,
/// the row is dead with the error kept.
pub fn fail(
    conn: &mut DbConnection,
    claimed: &Claimed,
    error: &str,
    retryable: bool,
    max_attempts: i32,
) -> Result<(), OutboxError> {
    let now = now_utc();
    let attempts = claimed.attempts + 1;
    let dead = !retryable || attempts >= max_attempts;
    let wait = chrono::Duration::from_std(backoff(attempts, claimed.id))
        .unwrap_or(chrono::Duration::hours(1));
    let error: String = error.chars().take(MAX_ERROR).collect();
    // Only the version that was tried: a newer change keeps its own fresh row state.
    let updated = diesel::update(
        outbox::table
            .find(claimed.id)
            .filter(outbox::version.eq(claimed.version)),
    )
    .set((
        outbox::state.eq(if dead { "dead" } else { "pending" }),
        outbox::attempts.eq(attempts),
        outbox::next_attempt_at.eq(now + wait),
        outbox::lease_owner.eq(None::<String>),
        outbox::lease_until.eq(None::<NaiveDateTime>),
        outbox::last_error.eq(Some(error)),
        outbox::modified_at.eq(now),
    ))
    .execute(conn)?;
    if updated == 0 {
        release(conn, claimed.id)?;
    }
    Ok(())
}

/// The subject cannot be sent as it is (it breaks the target's rules): held with the
/// reason until the subject changes again.
pub fn hold(conn: &mut DbConnection, claimed: &Claimed, reason: &str) -> Result<(), OutboxError> {
    let now = now_utc();
    let reason: String = reason.chars().take(MAX_ERROR).collect();
    let updated = diesel::update(
        outbox::table
            .find(claimed.id)
            .filter(outbox::version.eq(claimed.version)),
    )
    .set((
        outbox::state.eq("held"),
        outbox::lease_owner.eq(None::<String>),
        outbox::lease_until.eq(None::<NaiveDateTime>),
        outbox::last_error.eq(Some(reason)),
        outbox::modified_at.eq(now),
    ))
    .execute(conn)?;
    if updated == 0 {
        release(conn, claimed.id)?;
    }
    Ok(())
}

/// Exponential backoff with jitter: 30 s doubling per attempt, at most an hour, ±20 %.
pub fn backoff(attempts: i32, salt: i64) -> Duration {
    let base = 30_u64
        .saturating_mul(1_u64 << attempts.clamp(0, 7) as u32)
        .min(3_600);
    // Deterministic per row and attempt, spread enough that rows do not retry in lockstep.
    let mix = (salt as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
        ^ (attempts as u64).wrapping_mul(0xc2b2_ae3d_27d4_eb4f);
    let spread = (mix >> 33) % 401; // 0..=400 → -20 %..+20 %
    let millis = base * 1000 * (800 + spread) / 1000;
    Duration::from_millis(millis)
}

/// A row as the operator sees it.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = outbox)]
pub struct OutboxRow {
    /// Row id.
    pub id: i64,
    /// Shop id.
    pub shop_id: i64,
    /// Target system.
    pub target: String,
    /// What to do.
    pub kind: String,
    /// Subject.
    pub subject: String,
    /// pending, held, dead or done.
    pub state: String,
    /// Attempts so far.
    pub attempts: i32,
    /// When it is due.
    pub next_attempt_at: NaiveDateTime,
    /// The last error.
    pub last_error: Option<String>,
    /// Last change.
    pub modified_at: NaiveDateTime,
}

/// Which rows to list.
#[derive(Debug, Clone, Default)]
pub struct OutboxFilter {
    /// Only this shop.
    pub shop_id: Option<i64>,
    /// Only this state.
    pub state: Option<String>,
    /// At most this many.
    pub limit: i64,
}

/// Rows by id.
pub fn list(conn: &mut DbConnection, filter: &OutboxFilter) -> Result<Vec<OutboxRow>, OutboxError> {
    let mut query = outbox::table.into_boxed();
    if let Some(shop_id) = filter.shop_id {
        query = query.filter(outbox::shop_id.eq(shop_id));
    }
    if let Some(state) = &filter.state {
        query = query.filter(outbox::state.eq(state.clone()));
    }
    Ok(query
        .order(outbox::id.asc())
        .limit(filter.limit.max(1))
        .select(OutboxRow::as_select())
        .load(conn)?)
}

/// Which rows `retry` re-arms.
#[derive(Debug, Clone)]
pub enum RetryWhich {
    /// These ids (dead or held).
    Ids(Vec<i64>),
    /// Every dead row (of one shop, when given).
    AllDead(Option<i64>),
}

/// Re-arms dead or held rows for an immediate attempt; answers how many.
pub fn retry(conn: &mut DbConnection, which: &RetryWhich) -> Result<usize, OutboxError> {
    let now = now_utc();
    let changes = (
        outbox::state.eq("pending"),
        outbox::attempts.eq(0),
        outbox::next_attempt_at.eq(now),
        outbox::modified_at.eq(now),
    );
    let count = match which {
        RetryWhich::Ids(ids) => diesel::update(
            outbox::table
                .filter(outbox::id.eq_any(ids))
                .filter(outbox::state.eq_any(["dead", "held"])),
        )
        .set(changes)
        .execute(conn)?,
        RetryWhich::AllDead(Some(shop_id)) => diesel::update(
            outbox::table
                .filter(outbox::shop_id.eq(*shop_id))
                .filter(outbox::state.eq("dead")),
        )
        .set(changes)
        .execute(conn)?,
        RetryWhich::AllDead(None) => diesel::update(outbox::table.filter(outbox::state.eq("dead")))
            .set(changes)
            .execute(conn)?,
    };
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::backoff;

    #[test]
    fn backoff_grows_with_jitter_and_a_cap() {
        let first = backoff(1, 7).as_secs_f64();
        assert!((48.0..=72.0).contains(&first), "{first}");
        let later = backoff(5, 7).as_secs_f64();
        assert!(later > first * 4.0);
        assert!(backoff(30, 7).as_secs() <= 4_320);
        assert_ne!(
            backoff(3, 1),
            backoff(3, 2),
            "rows do not retry in lockstep"
        );
    }
}
