//! The ERP's polling: Polyapi calls counted per shop, UTC minute, method and outcome,
//! in the database, so the console sees the calls of every process sharing it.
//!
//! A call is counted in memory; the counts are added to the table in one transaction
//! every few seconds (and right before the console reads them), so a call costs no
//! write of its own and several processes add to the same rows.

use std::collections::HashMap;

use chrono::{NaiveDateTime, TimeDelta, Timelike};
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::Timestamp;
use diesel::upsert::excluded;
use parking_lot::Mutex;

use crate::db::schema::polyapi_calls;
use crate::db::{write_transaction, DbConnection, DbError};
use crate::time::now_utc;

/// How long counts are kept: long enough to show when an ERP that stopped polling last
/// called.
pub const KEPT_FOR: TimeDelta = TimeDelta::days(8);

/// The shop id of calls refused before their shop was known.
pub const NO_SHOP: i64 = 0;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Bucket {
    shop_id: i64,
    minute: NaiveDateTime,
    method: &'static str,
    outcome: &'static str,
}

#[derive(Debug, Clone, Copy)]
struct Tally {
    calls: i64,
    last_call_at: NaiveDateTime,
}

/// Calls counted in this process and not yet added to the database.
#[derive(Debug, Default)]
pub struct CallLog {
    pending: Mutex<HashMap<Bucket, Tally>>,
}

impl CallLog {
    /// Counts one call. `method` and `outcome` come from bounded sets (the known methods
    /// or `unknown`; `10000` or a sub-code), so the table cannot be flooded with names.
    pub fn record(&self, shop_id: Option<i64>, method: &'static str, outcome: &'static str) {
        let now = now_utc();
        let minute = now
            .with_second(0)
            .and_then(|t| t.with_nanosecond(0))
            .unwrap_or(now);
        let bucket = Bucket {
            shop_id: shop_id.unwrap_or(NO_SHOP),
            minute,
            method,
            outcome,
        };
        let mut pending = self.pending.lock();
        let tally = pending.entry(bucket).or_insert(Tally {
            calls: 0,
            last_call_at: now,
        });
        tally.calls += 1;
        tally.last_call_at = tally.last_call_at.max(now);
    }

    /// Adds the counted calls to the database and forgets counts older than
    /// [`KEPT_FOR`]; answers how many buckets were written. On failure the counts are
    /// kept for the next flush.
    pub fn flush(&self, conn: &mut DbConnection) -> Result<usize, DbError> {
        let taken: Vec<(Bucket, Tally)> = self.pending.lock().drain().collect();
        let written = taken.len();
        // Nothing counted, nothing to write (and no write lock taken).
        if taken.is_empty() {
            return Ok(0);
        }
        let result = write_transaction(conn, |conn| {
            for (bucket, tally) in &taken {
                add(conn, bucket, tally)?;
            }
            diesel::delete(
                polyapi_calls::table.filter(polyapi_calls::minute.lt(now_utc() - KEPT_FOR)),
            )
            .execute(conn)?;
            Ok::<_, DbError>(())
        });
        if let Err(error) = result {
            let mut pending = self.pending.lock();
            for (bucket, tally) in taken {
                let kept = pending.entry(bucket).or_insert(Tally {
                    calls: 0,
                    last_call_at: tally.last_call_at,
                });
                kept.calls += tally.calls;
                kept.last_call_at = kept.last_call_at.max(tally.last_call_at);
            }
            return Err(error);
        }
        Ok(written)
    }
}

/// Adds one bucket's calls to its row (created when missing), keeping the later last call.
fn add(conn: &mut DbConnection, bucket: &Bucket, tally: &Tally) -> Result<(), DbError> {
    let row = (
        polyapi_calls::shop_id.eq(bucket.shop_id),
        polyapi_calls::minute.eq(bucket.minute),
        polyapi_calls::method.eq(bucket.method),
        polyapi_calls::outcome.eq(bucket.outcome),
        polyapi_calls::calls.eq(tally.calls),
        polyapi_calls::last_call_at.eq(tally.last_call_at),
    );
    let later = sql::<Timestamp>(
        "CASE WHEN excluded.last_call_at > polyapi_calls.last_call_at \
         THEN excluded.last_call_at ELSE polyapi_calls.last_call_at END",
    );
    // One statement, written for each backend's connection type (diesel's upsert is
    // implemented per backend, not for the connection enum).
    macro_rules! upsert {
        ($conn:expr) => {
            diesel::insert_into(polyapi_calls::table)
                .values(row)
                .on_conflict((
                    polyapi_calls::shop_id,
                    polyapi_calls::minute,
                    polyapi_calls::method,
                    polyapi_calls::outcome,
                ))
                .do_update()
                .set((
                    polyapi_calls::calls.eq(polyapi_calls::calls + excluded(polyapi_calls::calls)),
                    polyapi_calls::last_call_at.eq(later),
                ))
                .execute($conn)
        };
    }
    match conn {
        DbConnection::Pg(pg) => upsert!(pg)?,
        DbConnection::Sqlite(sqlite) => upsert!(sqlite)?,
    };
    Ok(())
}

/// How often a process adds its counts to the database.
const STORE_EVERY: std::time::Duration = std::time::Duration::from_secs(10);

/// Adds this process's counts to the database every few seconds until `stop` turns
/// true. Every process runs its own (each holds its own counts), unlike the leased jobs.
pub fn spawn_storing(
    db: crate::db::Database,
    log: std::sync::Arc<CallLog>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(STORE_EVERY) => {}
                _ = stop.changed() => return,
            }
            if *stop.borrow() {
                return;
            }
            let log = log.clone();
            if let Err(error) = db.run(move |conn| log.flush(conn)).await {
                tracing::warn!(%error, "Polyapi call counts not stored; kept for the next try");
            }
        }
    })
}

/// Calls of one shop, method and outcome in a window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallCount {
    /// The shop ([`NO_SHOP`] for calls refused before their shop was known).
    pub shop_id: i64,
    /// The method's short name, or `unknown`.
    pub method: String,
    /// `10000` or the GSE sub-code.
    pub outcome: String,
    /// How many.
    pub calls: i64,
}

/// The calls counted since `from`, per shop, method and outcome.
pub fn calls_since(
    conn: &mut DbConnection,
    from: NaiveDateTime,
) -> Result<Vec<CallCount>, DbError> {
    let rows: Vec<(i64, String, String, i64)> = polyapi_calls::table
        .filter(polyapi_calls::minute.ge(from))
        .select((
            polyapi_calls::shop_id,
            polyapi_calls::method,
            polyapi_calls::outcome,
            polyapi_calls::calls,
        ))
        .load(conn)?;
    let mut totals: HashMap<(i64, String, String), i64> = HashMap::new();
    for (shop_id, method, outcome, calls) in rows {
        *totals.entry((shop_id, method, outcome)).or_default() += calls;
    }
    let mut counts: Vec<CallCount> = totals
        .into_iter()
        .map(|((shop_id, method, outcome), calls)| CallCount {
            shop_id,
            method,
            outcome,
            calls,
        })
        .collect();
    counts.sort_by(|a, b| {
        (a.shop_id, &a.method, &a.outcome).cmp(&(b.shop_id, &b.method, &b.outcome))
    });
    Ok(counts)
}

/// The last call of each shop that called within [`KEPT_FOR`].
pub fn last_calls(conn: &mut DbConnection) -> Result<HashMap<i64, NaiveDateTime>, DbError> {
    let rows: Vec<(i64, Option<NaiveDateTime>)> = polyapi_calls::table
        .filter(polyapi_calls::shop_id.ne(NO_SHOP))
        .group_by(polyapi_calls::shop_id)
        .select((
            polyapi_calls::shop_id,
            diesel::dsl::max(polyapi_calls::last_call_at),
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(shop_id, at)| Some((shop_id, at?)))
        .collect())
}
