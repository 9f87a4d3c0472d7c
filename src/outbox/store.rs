//! Outbox rows in the database: enqueue, claim with a lease, settle, list, retry.

use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{Kind, OutboxError, State, Target};
use crate::db::schema::{outbox, shops};
use crate::db::{kept_text, runs, write_transaction, DbConnection, Statement};
use crate::time::now_utc;

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
        Target::Kingdee => shops::table
            .find(shop_id)
            .select(shops::kingdee_enabled)
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
                    .value(State::Pending.code())
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

/// The rows a claim takes, as one query expression: [`claim`] runs it with row locks on
/// PostgreSQL, [`explain_claim`] shows its plan.
macro_rules! due_rows {
    ($shop_id:expr, $target:expr, $kind:expr, $now:expr, $limit:expr) => {
        outbox::table
            .filter(outbox::shop_id.eq($shop_id))
            .filter(outbox::target.eq($target.code()))
            .filter(outbox::kind.eq($kind.code()))
            .filter(outbox::state.eq(State::Pending.code()))
            .filter(outbox::next_attempt_at.le($now))
            .filter(
                outbox::lease_until
                    .is_null()
                    .or(outbox::lease_until.lt($now)),
            )
            .order((outbox::next_attempt_at.asc(), outbox::id.asc()))
            .limit($limit)
            .select((
                outbox::id,
                outbox::subject,
                outbox::version,
                outbox::attempts,
            ))
    };
}

/// Claims up to `limit` due rows of one shop, target and kind for `lease`, earliest due
/// first. Two workers never hold the same row: on PostgreSQL the candidates are locked
/// with `FOR UPDATE SKIP LOCKED`; on SQLite the claim runs under the write lock.
///
/// The order is the `outbox_claim` index's, so a claim reads the rows it takes and those
/// leased to others, never the rows backing off behind them: with a million rows waiting
/// out a partner's outage it costs what an empty outbox costs (on SQLite it holds the
/// write lock meanwhile, so every intake would wait on a walk).
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
        let due = due_rows!(shop_id, target, kind, now, limit);
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

/// The plan the database chooses now for finding the rows a claim of 50 takes (without
/// PostgreSQL's row-locking clause, which adds a lock step on top), for the bench and for
/// checking that it reads the `outbox_claim` index in its order.
pub fn explain_claim(
    conn: &mut DbConnection,
    shop_id: i64,
    target: Target,
    kind: Kind,
) -> Result<Vec<String>, OutboxError> {
    let now = now_utc();
    let due = due_rows!(shop_id, target, kind, now, 50_i64);
    Ok(crate::db::explain(conn, &due)?)
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
        outbox::state.eq(State::Done.code()),
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
    let error = kept_text(error, MAX_ERROR);
    // Only the version that was tried: a newer change keeps its own fresh row state.
    let updated = diesel::update(
        outbox::table
            .find(claimed.id)
            .filter(outbox::version.eq(claimed.version)),
    )
    .set((
        outbox::state.eq(if dead { State::Dead } else { State::Pending }.code()),
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
    let reason = kept_text(reason, MAX_ERROR);
    let updated = diesel::update(
        outbox::table
            .find(claimed.id)
            .filter(outbox::version.eq(claimed.version)),
    )
    .set((
        outbox::state.eq(State::Held.code()),
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

/// Settles a claimed row by the verdict on it (see [`super::Verdict`]); a refusal is
/// dead at once unless `retry_refusals`.
pub fn settle(
    conn: &mut DbConnection,
    claimed: &Claimed,
    verdict: &super::Verdict,
    max_attempts: i32,
    retry_refusals: bool,
) -> Result<(), OutboxError> {
    use super::Verdict;
    match verdict {
        Verdict::Done => complete(conn, claimed),
        Verdict::Hold(reason) => hold(conn, claimed, reason),
        Verdict::Retry(error) => fail(conn, claimed, error, true, max_attempts),
        Verdict::Refuse(message) => fail(conn, claimed, message, retry_refusals, max_attempts),
    }
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
    /// Where it stands.
    #[diesel(deserialize_as = String)]
    pub state: State,
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
    pub state: Option<State>,
    /// At most this many.
    pub limit: i64,
}

/// Rows by id.
pub fn list(conn: &mut DbConnection, filter: &OutboxFilter) -> Result<Vec<OutboxRow>, OutboxError> {
    let mut query = outbox::table.into_boxed();
    if let Some(shop_id) = filter.shop_id {
        query = query.filter(outbox::shop_id.eq(shop_id));
    }
    if let Some(state) = filter.state {
        query = query.filter(outbox::state.eq(state.code()));
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

/// Re-arms dead or held rows for an immediate attempt; answers how many. Named rows
/// that do not exist, or are not dead or held, refuse the whole request.
pub fn retry(conn: &mut DbConnection, which: &RetryWhich) -> Result<usize, OutboxError> {
    if let RetryWhich::Ids(ids) = which {
        require_states(conn, ids, &[State::Dead, State::Held], |id, state| {
            OutboxError::NotRetryable { id, state }
        })?;
    }
    let now = now_utc();
    let changes = (
        outbox::state.eq(State::Pending.code()),
        outbox::attempts.eq(0),
        outbox::next_attempt_at.eq(now),
        outbox::modified_at.eq(now),
    );
    let count = match which {
        RetryWhich::Ids(ids) => diesel::update(
            outbox::table
                .filter(outbox::id.eq_any(ids))
                .filter(outbox::state.eq_any([State::Dead.code(), State::Held.code()])),
        )
        .set(changes)
        .execute(conn)?,
        RetryWhich::AllDead(Some(shop_id)) => diesel::update(
            outbox::table
                .filter(outbox::shop_id.eq(*shop_id))
                .filter(outbox::state.eq(State::Dead.code())),
        )
        .set(changes)
        .execute(conn)?,
        RetryWhich::AllDead(None) => {
            diesel::update(outbox::table.filter(outbox::state.eq(State::Dead.code())))
                .set(changes)
                .execute(conn)?
        }
    };
    Ok(count)
}

/// An operator holds pending or dead rows with `reason` until they are retried or their
/// subject changes; answers how many. The version moves on, so an attempt in flight
/// cannot settle a held row. Named rows that do not exist, or are done or held, refuse
/// the whole request.
pub fn hold_rows(conn: &mut DbConnection, ids: &[i64], reason: &str) -> Result<usize, OutboxError> {
    require_states(conn, ids, &[State::Pending, State::Dead], |id, state| {
        OutboxError::NotHoldable { id, state }
    })?;
    Ok(diesel::update(
        outbox::table
            .filter(outbox::id.eq_any(ids))
            .filter(outbox::state.eq_any([State::Pending.code(), State::Dead.code()])),
    )
    .set((
        outbox::state.eq(State::Held.code()),
        outbox::version.eq(outbox::version + 1),
        outbox::last_error.eq(Some(kept_text(reason, MAX_ERROR))),
        outbox::modified_at.eq(now_utc()),
    ))
    .execute(conn)?)
}

/// Refuses unless every row of `ids` exists and is in one of the `allowed` states.
fn require_states(
    conn: &mut DbConnection,
    ids: &[i64],
    allowed: &[State],
    refusal: fn(i64, State) -> OutboxError,
) -> Result<(), OutboxError> {
    let found: std::collections::HashMap<i64, String> = outbox::table
        .filter(outbox::id.eq_any(ids))
        .select((outbox::id, outbox::state))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .collect();
    for id in ids {
        match found.get(id).map(|code| State::from_code(code)) {
            None => return Err(OutboxError::NoSuchRow(*id)),
            Some(Some(state)) if allowed.contains(&state) => {}
            Some(state) => return Err(refusal(*id, state.unwrap_or(State::Pending))),
        }
    }
    Ok(())
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
