//! How many orders a listing holds (or holds before a position), without counting every
//! one of them.
//!
//! The database keeps orders per (shop, time, span, start, status) in `order_counts` for
//! spans of a day, an hour, a minute, a second and a millisecond, moved by triggers
//! through `order_count_changes` (see the `order_counts_by_time` migration). A range is
//! cut into its whole days, then the whole hours, minutes, seconds and milliseconds at
//! its edges; only what lies within a partial millisecond (in practice: orders written
//! by one statement, which share their time) is counted order by order. So a count sums
//! a few hundred rows at most, whatever the range holds: a window with whole-second
//! bounds (every window the wire can name) never counts an order one by one, and the
//! position of an order inside a second of a sale counts only its own batch.

use chrono::{DateTime, NaiveDateTime};
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};
use diesel::QueryableByName;

use super::filter::OrderTime;
use super::listing::{Key, Listing, Reading};
use crate::db::{write_transaction, DbConnection, Statement};
use crate::shop::codes::TradeStatus;
use crate::shop::ShopError;

/// The spans counts are kept for, longest first, with their length in milliseconds.
const SPANS: [(&str, i64); 5] = [
    ("day", 86_400_000),
    ("hour", 3_600_000),
    ("minute", 60_000),
    ("second", 1_000),
    ("millisecond", 1),
];

/// Where a counted range ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Upper {
    /// The listing's own end.
    End,
    /// Before this position of the listing (exclusive).
    Before(Key),
}

#[derive(QueryableByName)]
struct Counted {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Orders of `listing`, exact.
fn total(reading: &mut Reading<'_>, shop_id: i64, listing: &Listing) -> Result<i64, ShopError> {
    count(reading, "total of the listing", shop_id, listing)
}

/// Orders of `listing`, exact, the statement's plan noted under `label`.
fn count(
    reading: &mut Reading<'_>,
    label: &str,
    shop_id: i64,
    listing: &Listing,
) -> Result<i64, ShopError> {
    let counted: Vec<Counted> = reading.rows(label, &statement(shop_id, listing, Upper::End))?;
    Ok(counted.first().map_or(0, |row| row.n))
}

/// A number of folds no count was made at: what stands for "nothing remembered".
const NO_FOLDS: i64 = -1;

/// A count remembered with the number of folds run when it was made. A sum of kept counts
/// holds while that number is unchanged: only a fold changes them, and every fold that
/// does moves it (see the `order_count_folds` migration). The orders of an anchor's
/// millisecond before it hold while, besides, nothing is pending in that millisecond:
/// every change to which orders lie in a millisecond leaves a pending change there until a
/// fold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct RememberedCount {
    /// Folds run when it was counted.
    pub folds: i64,
    /// The count.
    pub orders: i64,
}

/// What a page remembers of the orders before an anchor, apart from the pending changes,
/// which are read every time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct AnchorCounts {
    /// The kept counts before the anchor's millisecond.
    pub head: Option<RememberedCount>,
    /// The orders of the anchor's millisecond before it (the orders a batch wrote with one
    /// time, otherwise counted one by one).
    pub within: Option<RememberedCount>,
}

/// A position the orders before which are counted: its key, with what is remembered of
/// the orders before it.
pub(super) type Anchored = (Key, AnchorCounts);

/// A listing's total and the orders before an anchor, exact, with what to remember of
/// them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Counts {
    /// Orders of the listing.
    pub total: i64,
    /// The kept counts of the total.
    pub kept: RememberedCount,
    /// Orders before the anchor, when one was given.
    pub before: Option<i64>,
    /// What to remember of the orders before the anchor.
    pub anchor: AnchorCounts,
}

#[derive(QueryableByName)]
struct CountedBoth {
    #[diesel(sql_type = BigInt)]
    n_live: i64,
    #[diesel(sql_type = BigInt)]
    n_kept: i64,
    #[diesel(sql_type = BigInt)]
    head_live: i64,
    #[diesel(sql_type = BigInt)]
    head_kept: i64,
    #[diesel(sql_type = BigInt)]
    within: i64,
    #[diesel(sql_type = BigInt)]
    folds: i64,
    #[diesel(sql_type = BigInt)]
    quiet: i64,
}

#[derive(QueryableByName)]
struct CountedWithKey {
    #[diesel(embed)]
    counted: CountedBoth,
    #[diesel(sql_type = Nullable<Timestamp>)]
    at: Option<NaiveDateTime>,
    #[diesel(sql_type = Nullable<BigInt>)]
    id: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    revision: Option<i64>,
}

/// The revisions of orders, by id, read with their keys.
pub(super) type Revisions = std::collections::HashMap<i64, i64>;

impl Counts {
    /// No orders, and nothing to remember (the folds never match): what a statement that
    /// returned no row counted.
    fn nothing(anchor: Option<Anchored>) -> Self {
        Self {
            total: 0,
            kept: RememberedCount {
                folds: NO_FOLDS,
                orders: 0,
            },
            before: anchor.map(|_| 0),
            anchor: AnchorCounts::default(),
        }
    }
}

impl CountedBoth {
    /// The counts, and what to remember of them.
    fn counts(&self, anchor: Option<Anchored>) -> Counts {
        let remembered = |orders| RememberedCount {
            folds: self.folds,
            orders,
        };
        Counts {
            total: self.n_live + self.n_kept,
            kept: remembered(self.n_kept),
            before: anchor.map(|_| self.head_live + self.head_kept + self.within),
            anchor: match anchor {
                Some(_) => AnchorCounts {
                    head: Some(remembered(self.head_kept)),
                    within: (self.quiet == 1).then(|| remembered(self.within)),
                },
                None => AnchorCounts::default(),
            },
        }
    }
}

/// The listing's total, and the orders before `anchor` when one is given, exact, in one
/// statement that reads the pending changes every time and uses what is remembered of the
/// kept counts (`kept`, the anchor's) while it holds.
pub(super) fn total_and_before(
    reading: &mut Reading<'_>,
    shop_id: i64,
    listing: &Listing,
    kept: Option<RememberedCount>,
    anchor: Option<Anchored>,
) -> Result<Counts, ShopError> {
    let label = match anchor {
        None => "total of the listing",
        Some(_) => "total of the listing and orders before an anchor",
    };
    let counted: Vec<CountedBoth> = reading.rows(label, &both(shop_id, listing, kept, anchor))?;
    Ok(counted
        .first()
        .map(|row| row.counts(anchor))
        .unwrap_or_else(|| Counts::nothing(anchor)))
}

/// The counts as [`total_and_before`] makes them, with the keys `walk` reads (a statement
/// of `at` and `id`, see `Listing::walk_statement`) and the revisions of their orders in the
/// same statement: a page whose walk does not depend on the count asks the database once
/// for all three (on PostgreSQL two round trips fewer: the revisions tell which kept
/// renderings of the page still hold). The keys come in the listing's order, whichever way
/// `walk` went.
pub(super) fn total_and_before_with_keys(
    reading: &mut Reading<'_>,
    label: &str,
    shop_id: i64,
    listing: &Listing,
    kept: Option<RememberedCount>,
    anchor: Option<Anchored>,
    walk: Statement<'static>,
) -> Result<(Counts, Vec<Key>, Revisions), ShopError> {
    // A join with one row on the left: the count's row comes with each key, and alone
    // when the walk finds none. Each key's revision is a lookup by primary key per walked
    // row (a subquery, so no plan can make it a join over the table).
    let mut joined = Statement::new();
    joined
        .sql(
            "SELECT c.n_live, c.n_kept, c.head_live, c.head_kept, c.within, c.folds, c.quiet, \
             w.at, w.id, (SELECT r.revision FROM orders AS r WHERE r.id = w.id) AS revision \
             FROM (",
        )
        .append(both(shop_id, listing, kept, anchor))
        .sql(") AS c LEFT JOIN (")
        .append(walk)
        .sql(") AS w ON 1 = 1");
    let rows: Vec<CountedWithKey> = reading.rows(label, &joined)?;
    let counts = rows
        .first()
        .map(|row| row.counted.counts(anchor))
        .unwrap_or_else(|| Counts::nothing(anchor));
    let mut revisions = Revisions::with_capacity(rows.len());
    let mut keys: Vec<Key> = rows
        .into_iter()
        .filter_map(|row| {
            let key = Key {
                at: row.at?,
                id: row.id?,
            };
            if let Some(revision) = row.revision {
                revisions.insert(key.id, revision);
            }
            Some(key)
        })
        .collect();
    keys.sort_unstable();
    Ok((counts, keys, revisions))
}

/// The number of folds run so far, as a scalar subquery.
const FOLDS: &str = "(SELECT folds FROM order_count_folds WHERE id = 1)";

/// A remembered count as two binds: the number of folds ([`NO_FOLDS`], which never
/// matches, when nothing is remembered) and the count.
fn binds(remembered: Option<RememberedCount>) -> (i64, i64) {
    remembered.map_or((NO_FOLDS, 0), |r| (r.folds, r.orders))
}

/// `CASE WHEN <the folds are still those of `remembered`> [AND <condition>] THEN <it> ELSE
/// (<counted>) END`: the count in the branch of a CASE, which runs only when taken.
fn remembered_or(
    statement: &mut Statement<'static>,
    remembered: Option<RememberedCount>,
    condition: &str,
    counted: Statement<'static>,
) {
    let (folds, orders) = binds(remembered);
    statement
        .sql("CASE WHEN c.folds = ")
        .bind(folds)
        .sql(condition)
        .sql(" THEN CAST(")
        .bind(orders)
        .sql(" AS BIGINT) ELSE (")
        .append(counted)
        .sql(") END");
}

/// `SELECT` of the listing's total as `n_live` (pending changes, and orders counted one
/// by one at edges inside a millisecond) plus `n_kept` (the kept counts), of the orders
/// before `anchor` as `head_live` plus `head_kept` (before the anchor's millisecond) plus
/// `within` (of its millisecond, before it), and of `folds` and `quiet` (1: nothing
/// pending in the anchor's millisecond), which say what may be remembered. Each kept part
/// is what was remembered while it holds, else counted. The orders before an anchor are
/// all 0 without one.
fn both(
    shop_id: i64,
    listing: &Listing,
    kept: Option<RememberedCount>,
    anchor: Option<Anchored>,
) -> Statement<'static> {
    let (total_live, total_kept) = split(shop_id, listing, Upper::End);
    let mut both = Statement::new();
    both.sql("SELECT (").append(total_live).sql(") AS n_live, ");
    remembered_or(&mut both, kept, "", total_kept);
    both.sql(" AS n_kept, ");
    // The anchor with its millisecond and the next, when the counts' range holds them.
    let in_range = anchor.and_then(|(key, remembered)| {
        let millisecond = floor(key.at, 1)?;
        let next = millisecond.checked_add_signed(chrono::TimeDelta::milliseconds(1))?;
        Some((key, remembered, millisecond, next))
    });
    let Some((key, remembered, millisecond, next)) = in_range else {
        // No anchor, or one out of the counts' range (counted as one range): nothing
        // before it is remembered.
        match anchor {
            Some((key, _)) => both
                .sql("(")
                .append(statement(shop_id, listing, Upper::Before(key)))
                .sql(")"),
            None => both.sql("CAST(0 AS BIGINT)"),
        };
        both.sql(
            " AS head_live, CAST(0 AS BIGINT) AS head_kept, CAST(0 AS BIGINT) AS within, \
             c.folds, CAST(0 AS BIGINT) AS quiet FROM (SELECT ",
        )
        .sql(FOLDS)
        .sql(" AS folds) AS c");
        return both;
    };
    if listing.from.is_some_and(|from| from >= millisecond) {
        both.sql("CAST(0 AS BIGINT) AS head_live, CAST(0 AS BIGINT) AS head_kept, ");
    } else {
        let (head_live, head_kept) = split(
            shop_id,
            &Listing {
                until: Some(millisecond),
                ..*listing
            },
            Upper::End,
        );
        both.sql("(").append(head_live).sql(") AS head_live, ");
        remembered_or(&mut both, remembered.head, "", head_kept);
        both.sql(" AS head_kept, ");
    }
    let within = Listing {
        from: Some(
            listing
                .from
                .map_or(millisecond, |from| from.max(millisecond)),
        ),
        ..*listing
    };
    remembered_or(
        &mut both,
        remembered.within,
        " AND c.quiet = 1",
        statement(shop_id, &within, Upper::Before(key)),
    );
    both.sql(" AS within, c.folds, c.quiet FROM (SELECT ")
        .sql(FOLDS)
        .sql(
            " AS folds, CAST(CASE WHEN EXISTS \
             (SELECT 1 FROM order_count_changes WHERE shop_id = ",
        )
        .bind(shop_id)
        .sql(" AND time_kind = ")
        .bind(kind(listing.time))
        // A range, not `at = `: SQLite keeps the time as text, with the fraction
        // written out.
        .sql(" AND at >= ")
        .bind(millisecond)
        .sql(" AND at < ")
        .bind(next)
        .sql(") THEN 0 ELSE 1 END AS BIGINT) AS quiet) AS c");
    both
}

/// The millisecond holding the order at `offset` of `listing`, whose first and last
/// orders are `first` and `last`, with the orders of the listing before that millisecond:
/// found by halving the time between the two, counting the orders before each middle as
/// a total is counted (about 22 counts for a sale of one hour, whatever it holds), so a
/// page far from every known position costs those counts and the orders of one
/// millisecond, not a walk over the orders before it. `None` when the times are out of
/// range.
pub(super) fn millisecond_at(
    reading: &mut Reading<'_>,
    shop_id: i64,
    listing: &Listing,
    offset: i64,
    first: Key,
    last: Key,
) -> Result<Option<(NaiveDateTime, i64)>, ShopError> {
    let one = chrono::TimeDelta::milliseconds(1);
    let (Some(mut low), Some(mut high)) = (
        floor(first.at, 1),
        floor(last.at, 1).and_then(|t| t.checked_add_signed(one)),
    ) else {
        return Ok(None);
    };
    // Orders before `low`: none (the first order is inside it); before `high`: all of
    // them, more than `offset`.
    let mut before_low = 0;
    while high - low > one {
        let middle = low + chrono::TimeDelta::milliseconds((high - low).num_milliseconds() / 2);
        // `middle` is at most the last order's millisecond, so inside the listing's window.
        let before = count(
            reading,
            "orders before a millisecond, halving the time to a far page",
            shop_id,
            &Listing {
                until: Some(middle),
                ..*listing
            },
        )?;
        if before <= offset {
            low = middle;
            before_low = before;
        } else {
            high = middle;
        }
    }
    Ok(Some((low, before_low)))
}

/// Orders of the shop in `status` placed at or after `since`, exact, from the counts the
/// database keeps (a few hundred small rows at most, however many were placed).
pub fn placed_since(
    conn: &mut DbConnection,
    shop_id: i64,
    status: TradeStatus,
    since: NaiveDateTime,
) -> Result<i64, ShopError> {
    let listing = Listing {
        time: OrderTime::Created,
        status: Some(status),
        from: Some(since),
        until: None,
    };
    total(&mut Reading::new(conn), shop_id, &listing)
}

/// The count of `listing` (before `upper`) as one statement: a sum over a union of index
/// ranges.
fn statement(shop_id: i64, listing: &Listing, upper: Upper) -> Statement<'static> {
    let mut legs = Legs::new(shop_id, listing, false);
    legs.count(upper);
    legs.live.sum()
}

/// The count of `listing` (before `upper`) as two statements: the pending changes and the
/// orders counted one by one, and the kept counts, which only a fold changes.
fn split(
    shop_id: i64,
    listing: &Listing,
    upper: Upper,
) -> (Statement<'static>, Statement<'static>) {
    let mut legs = Legs::new(shop_id, listing, true);
    legs.count(upper);
    let kept = legs.kept.take().unwrap_or_default();
    (legs.live.sum(), kept.sum())
}

/// Legs summed together.
#[derive(Default)]
struct Part {
    statement: Statement<'static>,
    /// Whether it has a leg yet.
    started: bool,
}

impl Part {
    fn next(&mut self) -> &mut Statement<'static> {
        if std::mem::replace(&mut self.started, true) {
            self.statement.sql(" UNION ALL ");
        }
        &mut self.statement
    }

    /// `SELECT` of the sum of the legs as `n`.
    fn sum(self) -> Statement<'static> {
        let mut sum = Statement::new();
        if self.started {
            sum.sql("SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) AS n FROM (")
                .append(self.statement)
                .sql(") AS legs");
        } else {
            sum.sql("SELECT CAST(0 AS BIGINT) AS n");
        }
        sum
    }
}

/// The parts of a count statement, each an index range (its rows, or the count of the
/// orders in it), summed together: the kept counts' apart from the rest when `kept` is
/// given.
struct Legs {
    live: Part,
    kept: Option<Part>,
    shop_id: i64,
    listing: Listing,
}

impl Legs {
    fn new(shop_id: i64, listing: &Listing, split: bool) -> Self {
        Self {
            live: Part::default(),
            kept: split.then(Part::default),
            shop_id,
            listing: *listing,
        }
    }

    /// The legs of the listing's orders before `upper`.
    fn count(&mut self, upper: Upper) {
        let listing = self.listing;
        let until = match upper {
            Upper::End => listing.until,
            Upper::Before(key) => Some(key.at),
        };
        let whole = match (listing.from.map(|t| ceil(t, 1)), until.map(|t| floor(t, 1))) {
            (Some(Some(start)), Some(Some(end))) if start >= end => None,
            (Some(None), _) | (_, Some(None)) => None,
            (start, end) => Some((start.flatten(), end.flatten())),
        };
        match whole {
            None => self.exact(listing.from, until, upper),
            Some((start, end)) => {
                if let (Some(from), Some(start)) = (listing.from, start) {
                    if from < start {
                        self.exact(Some(from), Some(start), Upper::End);
                    }
                }
                if let (Some(end), Some(until)) = (end, until) {
                    if end < until || matches!(upper, Upper::Before(_)) {
                        self.exact(Some(end), Some(until), upper);
                    }
                }
                self.pending(start, end);
                self.spans(start, end, 0);
            }
        }
    }

    fn next(&mut self) -> &mut Statement<'static> {
        self.live.next()
    }

    /// The next leg over the kept counts.
    fn next_kept(&mut self) -> &mut Statement<'static> {
        match &mut self.kept {
            Some(kept) => kept.next(),
            None => self.live.next(),
        }
    }

    fn kind(&self) -> &'static str {
        kind(self.listing.time)
    }

    /// Orders in `[from, until)` (or from `from` to before the key of `upper`) counted one
    /// by one.
    fn exact(&mut self, from: Option<NaiveDateTime>, until: Option<NaiveDateTime>, upper: Upper) {
        match upper {
            Upper::End => self.by_time(from, until),
            Upper::Before(key) => {
                if from.is_none_or(|from| from < key.at) {
                    self.by_time(from, Some(key.at));
                }
                self.tied_before(from, key);
            }
        }
    }

    /// Orders with a time in `[from, until)`, counted one by one.
    fn by_time(&mut self, from: Option<NaiveDateTime>, until: Option<NaiveDateTime>) {
        let (listing, shop_id) = (self.listing, self.shop_id);
        let statement = self.next();
        statement.sql("SELECT COUNT(*) AS n FROM orders");
        listing.shop_and_status(statement, shop_id);
        if let Some(from) = from {
            listing.time_bound(statement, ">=", from);
        }
        if let Some(until) = until {
            listing.time_bound(statement, "<", until);
        }
    }

    /// Orders with the time of `key` and an id before its (from `from`), counted one by
    /// one: the orders written with it by one statement. Counted apart from the earlier
    /// times, not with `(time, id) < key`, which SQLite cannot seek to (see
    /// [`Listing::tied_bound`]).
    fn tied_before(&mut self, from: Option<NaiveDateTime>, key: Key) {
        let (listing, shop_id) = (self.listing, self.shop_id);
        let statement = self.next();
        statement.sql("SELECT COUNT(*) AS n FROM orders");
        listing.shop_and_status(statement, shop_id);
        listing.tied_bound(statement, "<", key);
        if let Some(from) = from {
            listing.time_bound(statement, ">=", from);
        }
    }

    /// Changes not folded yet, kept per millisecond, in `[start, end)`.
    fn pending(&mut self, start: Option<NaiveDateTime>, end: Option<NaiveDateTime>) {
        let (shop_id, kind, status) = (self.shop_id, self.kind(), self.listing.status);
        let statement = self.next();
        statement
            .sql("SELECT delta AS n FROM order_count_changes WHERE shop_id = ")
            .bind(shop_id)
            .sql(" AND time_kind = ")
            .bind(kind);
        if let Some(start) = start {
            statement.sql(" AND at >= ").bind(start);
        }
        if let Some(end) = end {
            statement.sql(" AND at < ").bind(end);
        }
        if let Some(status) = status {
            statement.sql(" AND trade_status = ").bind(status.code());
        }
    }

    /// The folded counts of `[start, end)` (millisecond-aligned): whole spans of
    /// `SPANS[level]`, then the edges in shorter spans.
    fn spans(&mut self, start: Option<NaiveDateTime>, end: Option<NaiveDateTime>, level: usize) {
        let Some(&(span, millis)) = SPANS.get(level) else {
            return;
        };
        if level + 1 < SPANS.len() {
            let first = start.map(|t| ceil(t, millis));
            let last = end.map(|t| floor(t, millis));
            if let (Some(None), _) | (_, Some(None)) = (first, last) {
                return self.spans(start, end, level + 1);
            }
            let (first, last) = (first.flatten(), last.flatten());
            let holds_whole = match (first, last) {
                (Some(first), Some(last)) => first < last,
                _ => true,
            };
            if !holds_whole {
                return self.spans(start, end, level + 1);
            }
            if let (Some(start), Some(first)) = (start, first) {
                if start < first {
                    self.spans(Some(start), Some(first), level + 1);
                }
            }
            if let (Some(last), Some(end)) = (last, end) {
                if last < end {
                    self.spans(Some(last), Some(end), level + 1);
                }
            }
            self.span(span, first, last);
        } else {
            self.span(span, start, end);
        }
    }

    fn span(
        &mut self,
        span: &'static str,
        start: Option<NaiveDateTime>,
        end: Option<NaiveDateTime>,
    ) {
        let (shop_id, kind, status) = (self.shop_id, self.kind(), self.listing.status);
        let statement = self.next_kept();
        statement
            .sql("SELECT n FROM order_counts WHERE shop_id = ")
            .bind(shop_id)
            .sql(" AND time_kind = ")
            .bind(kind)
            .sql(" AND span = ")
            .bind(span);
        if let Some(start) = start {
            statement.sql(" AND starts_at >= ").bind(start);
        }
        if let Some(end) = end {
            statement.sql(" AND starts_at < ").bind(end);
        }
        if let Some(status) = status {
            statement.sql(" AND trade_status = ").bind(status.code());
        }
    }
}

/// How `order_counts` and `order_count_changes` name a listing's time.
fn kind(time: OrderTime) -> &'static str {
    match time {
        OrderTime::Modified => "modified",
        OrderTime::Created => "created",
    }
}

/// `t` rounded down to a multiple of `millis` since the epoch (UTC midnights for days).
fn floor(t: NaiveDateTime, millis: i64) -> Option<NaiveDateTime> {
    let since = t.and_utc().timestamp_millis();
    DateTime::from_timestamp_millis(since - since.rem_euclid(millis)).map(|t| t.naive_utc())
}

/// `t` rounded up to a multiple of `millis` since the epoch.
fn ceil(t: NaiveDateTime, millis: i64) -> Option<NaiveDateTime> {
    let down = floor(t, millis)?;
    if down == t {
        Some(t)
    } else {
        down.checked_add_signed(chrono::TimeDelta::milliseconds(millis))
    }
}

/// Adds the pending changes into the counts of every span and removes them; answers how
/// many changes were folded. Safe to run from several processes at once.
pub fn fold(conn: &mut DbConnection) -> Result<usize, ShopError> {
    // Most runs find nothing: a read answers that without queueing for the write lock.
    #[derive(QueryableByName)]
    struct Pending {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        pending: bool,
    }
    let pending: Vec<Pending> = Statement::new()
        .sql("SELECT EXISTS (SELECT 1 FROM order_count_changes) AS pending")
        .rows(conn)?;
    if !pending.first().is_some_and(|row| row.pending) {
        return Ok(0);
    }
    write_transaction(conn, |conn| match conn {
        DbConnection::Sqlite(_) => {
            // BEGIN IMMEDIATE holds every other writer off: the rows summed are the rows
            // deleted.
            let mut add = Statement::new();
            add.sql(&format!(
                "INSERT INTO order_counts (shop_id, time_kind, span, starts_at, trade_status, n) \
                 SELECT shop_id, time_kind, span, starts_at, trade_status, SUM(delta) FROM ({}) \
                 AS spans WHERE TRUE GROUP BY shop_id, time_kind, span, starts_at, trade_status \
                 ON CONFLICT (shop_id, time_kind, span, starts_at, trade_status) \
                 DO UPDATE SET n = order_counts.n + excluded.n",
                SQLITE_SPANS_OF_CHANGES
            ));
            add.run(conn)?;
            let mut emptied = Statement::new();
            emptied.sql(&format!(
                "DELETE FROM order_counts WHERE n = 0 AND \
                 (shop_id, time_kind, span, starts_at, trade_status) IN \
                 (SELECT shop_id, time_kind, span, starts_at, trade_status FROM ({}) AS spans)",
                SQLITE_SPANS_OF_CHANGES
            ));
            emptied.run(conn)?;
            let folded = Statement::new()
                .sql("DELETE FROM order_count_changes")
                .run(conn)?;
            counted_a_fold(conn, folded)?;
            Ok(folded)
        }
        DbConnection::Pg(_) => {
            // One statement adds exactly the rows it deletes, whatever commits meanwhile;
            // the lock keeps two folds from upserting in opposite orders.
            Statement::new()
                .sql("SELECT pg_advisory_xact_lock(7305182)")
                .run(conn)?;
            let folded: Vec<Folded> = Statement::new()
                .sql(
                    "WITH moved AS (DELETE FROM order_count_changes \
                         RETURNING shop_id, time_kind, at, trade_status, delta), \
                     summed AS (SELECT shop_id, time_kind, spans.span, \
                         date_trunc(spans.span, at) AS starts_at, trade_status, \
                         SUM(delta) AS n \
                         FROM moved CROSS JOIN (VALUES ('day'), ('hour'), ('minute'), \
                             ('second'), ('millisecond')) AS spans (span) \
                         GROUP BY 1, 2, 3, 4, 5 HAVING SUM(delta) <> 0), \
                     added AS (INSERT INTO order_counts \
                         (shop_id, time_kind, span, starts_at, trade_status, n) \
                         SELECT shop_id, time_kind, span, starts_at, trade_status, n \
                         FROM summed ORDER BY 1, 2, 3, 4, 5 \
                         ON CONFLICT (shop_id, time_kind, span, starts_at, trade_status) \
                         DO UPDATE SET n = order_counts.n + EXCLUDED.n \
                         RETURNING shop_id, time_kind, span, starts_at, trade_status, n) \
                     SELECT moved.changes, added.shop_id, added.time_kind, added.span, \
                         added.starts_at, added.trade_status \
                     FROM (SELECT COUNT(*) AS changes FROM moved) AS moved \
                     LEFT JOIN added ON added.n = 0",
                )
                .rows(conn)?;
            // The counts the changes brought to zero are removed after (a statement does
            // not see its own upserts).
            for row in &folded {
                let (Some(shop_id), Some(kind), Some(span), Some(starts_at), Some(status)) = (
                    row.shop_id,
                    row.time_kind.as_deref(),
                    row.span.as_deref(),
                    row.starts_at,
                    row.trade_status.as_deref(),
                ) else {
                    continue;
                };
                Statement::new()
                    .sql("DELETE FROM order_counts WHERE shop_id = ")
                    .bind(shop_id)
                    .sql(" AND time_kind = ")
                    .bind(kind)
                    .sql(" AND span = ")
                    .bind(span)
                    .sql(" AND starts_at = ")
                    .bind(starts_at)
                    .sql(" AND trade_status = ")
                    .bind(status)
                    .sql(" AND n = 0")
                    .run(conn)?;
            }
            let folded = folded.first().map_or(0, |row| row.changes);
            let folded = usize::try_from(folded).unwrap_or(0);
            counted_a_fold(conn, folded)?;
            Ok(folded)
        }
    })
}

/// Moves the number of folds when this one removed pending changes, in its transaction:
/// what a page remembers of the counts holds only while it stays (see [`RememberedCount`]).
fn counted_a_fold(conn: &mut DbConnection, folded: usize) -> Result<(), ShopError> {
    if folded > 0 {
        Statement::new()
            .sql("UPDATE order_count_folds SET folds = folds + 1 WHERE id = 1")
            .run(conn)?;
    }
    Ok(())
}

/// Each pending change once per span it adds to (SQLite).
const SQLITE_SPANS_OF_CHANGES: &str = "\
    SELECT shop_id, time_kind, 'day' AS span, strftime('%Y-%m-%d 00:00:00', at) AS starts_at, \
        trade_status, delta FROM order_count_changes \
    UNION ALL SELECT shop_id, time_kind, 'hour', strftime('%Y-%m-%d %H:00:00', at), \
        trade_status, delta FROM order_count_changes \
    UNION ALL SELECT shop_id, time_kind, 'minute', strftime('%Y-%m-%d %H:%M:00', at), \
        trade_status, delta FROM order_count_changes \
    UNION ALL SELECT shop_id, time_kind, 'second', strftime('%Y-%m-%d %H:%M:%S', at), \
        trade_status, delta FROM order_count_changes \
    UNION ALL SELECT shop_id, time_kind, 'millisecond', at, trade_status, delta \
        FROM order_count_changes";

/// How many changes a PostgreSQL fold moved, with one count it left at zero (if any).
#[derive(QueryableByName)]
struct Folded {
    #[diesel(sql_type = BigInt)]
    changes: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    shop_id: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    time_kind: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    span: Option<String>,
    #[diesel(sql_type = Nullable<Timestamp>)]
    starts_at: Option<NaiveDateTime>,
    #[diesel(sql_type = Nullable<Text>)]
    trade_status: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f").expect("time")
    }

    fn listing(from: &str, until: &str) -> Listing {
        Listing {
            time: OrderTime::Modified,
            status: None,
            from: Some(at(from)),
            until: Some(at(until)),
        }
    }

    /// The legs of a count, as `table span from until` lines.
    fn legs(listing: &Listing, upper: Upper) -> Vec<String> {
        let statement = statement(1, listing, upper);
        let text = statement.text();
        let mut values = statement.values().map(|v| format!("{v:?}"));
        text.split(" UNION ALL ")
            .map(|leg| {
                let table = if leg.contains("FROM orders") {
                    "orders"
                } else if leg.contains("order_count_changes") {
                    "changes"
                } else {
                    "counts"
                };
                let binds: Vec<String> = (0..leg.matches('?').count())
                    .filter_map(|_| values.next())
                    .collect();
                format!("{table} {}", binds.join(" "))
            })
            .collect()
    }

    #[test]
    fn rounding_to_spans() {
        let t = at("2026-01-01 10:17:23.5005");
        assert_eq!(floor(t, 1_000), Some(at("2026-01-01 10:17:23")));
        assert_eq!(ceil(t, 1_000), Some(at("2026-01-01 10:17:24")));
        assert_eq!(floor(t, 1), Some(at("2026-01-01 10:17:23.5")));
        assert_eq!(ceil(t, 1), Some(at("2026-01-01 10:17:23.501")));
        let minute = 60_000;
        assert_eq!(
            ceil(at("2026-01-01 10:17:23"), minute),
            Some(at("2026-01-01 10:18:00"))
        );
        let day = 86_400_000;
        assert_eq!(floor(t, day), Some(at("2026-01-01 00:00:00")));
        assert_eq!(
            ceil(at("2026-01-01 00:00:00"), day),
            Some(at("2026-01-01 00:00:00"))
        );
    }

    #[test]
    fn whole_second_windows_never_count_orders_one_by_one() {
        let legs = legs(
            &listing("2026-01-01 10:17:23", "2026-01-04 08:00:01"),
            Upper::End,
        );
        assert!(
            legs.iter().all(|leg| !leg.starts_with("orders")),
            "{legs:#?}"
        );
        // The pending changes; whole days 01-02 and 01-03, hours 11..24 of the first day
        // and 00..08 of the last, minutes 10:18..11:00, seconds 10:17:23..10:18:00 and
        // 08:00:00..08:00:01.
        assert_eq!(legs.len(), 1 + 6, "{legs:#?}");
    }

    #[test]
    fn partial_milliseconds_and_positions_are_counted_exactly() {
        let window = listing("2026-01-01 10:17:23.250100", "2026-01-01 10:17:23.250900");
        let legs = legs(&window, Upper::End);
        assert_eq!(legs.len(), 1, "{legs:#?}");
        assert!(legs[0].starts_with("orders"));
        // A position inside a busy second: its milliseconds are summed, only the orders
        // of its own millisecond before it are counted.
        let before = Key {
            at: at("2026-01-01 12:00:00.500250"),
            id: 7,
        };
        let legs = self::legs(
            &listing("2026-01-01 10:00:00", "2026-01-02 00:00:00"),
            Upper::Before(before),
        );
        assert!(
            legs.iter().any(|leg| leg.contains("millisecond")),
            "{legs:#?}"
        );
        let before = Key {
            at: at("2026-01-01 12:00:00.5"),
            id: 7,
        };
        let legs = self::legs(
            &listing("2026-01-01 10:00:00", "2026-01-02 00:00:00"),
            Upper::Before(before),
        );
        let exact: Vec<&String> = legs
            .iter()
            .filter(|leg| leg.starts_with("orders"))
            .collect();
        assert_eq!(exact.len(), 1, "{legs:#?}");
        assert!(
            exact[0].contains("12:00:00") && exact[0].contains("BigInt(7)"),
            "{legs:#?}"
        );
    }

    #[test]
    fn kept_counts_and_the_anchors_millisecond_are_counted_only_when_not_remembered() {
        let anchor = Key {
            at: at("2026-01-01 12:00:00.500250"),
            id: 7,
        };
        let window = listing("2026-01-01 10:00:00", "2026-01-02 00:00:00");
        let remembered = |orders| RememberedCount { folds: 4, orders };
        let counts = AnchorCounts {
            head: Some(remembered(400)),
            within: Some(remembered(120)),
        };
        let text = both(1, &window, Some(remembered(900)), Some((anchor, counts))).text();
        // Each remembered count guards its count in the ELSE branch of a CASE; the rest
        // reads the pending changes only, besides the folds and the pending probe.
        let branches: Vec<&str> = text.split(" ELSE (").skip(1).collect();
        assert_eq!(branches.len(), 3, "{text}");
        let (total, head, within) = (branches[0], branches[1], branches[2]);
        assert!(total
            .split(") END")
            .next()
            .is_some_and(|b| b.contains("FROM order_counts")));
        assert!(head
            .split(") END")
            .next()
            .is_some_and(|b| b.contains("FROM order_counts")));
        let within_branch = within.split(") END").next().unwrap_or_default();
        assert_eq!(
            within_branch.matches("FROM orders").count(),
            2,
            "{within_branch}"
        );
        assert!(!within_branch.contains("order_counts"), "{within_branch}");
        let outside: String = text
            .split(" ELSE (")
            .enumerate()
            .map(|(i, part)| {
                if i == 0 {
                    part
                } else {
                    part.split_once(") END").map_or("", |(_, rest)| rest)
                }
            })
            .collect();
        assert!(!outside.contains("FROM orders"), "{outside}");
        assert!(!outside.contains("FROM order_counts"), "{outside}");
        assert!(outside.contains("FROM order_count_changes"), "{outside}");
        assert!(outside.contains("FROM order_count_folds"), "{outside}");
        assert!(outside.contains(" AND c.quiet = 1"), "{outside}");
        // A window that starts inside the anchor's millisecond has nothing before it.
        let inside = listing("2026-01-01 12:00:00.500100", "2026-01-02 00:00:00");
        let text = both(1, &inside, None, Some((anchor, AnchorCounts::default()))).text();
        assert!(
            text.contains("CAST(0 AS BIGINT) AS head_live, CAST(0 AS BIGINT) AS head_kept"),
            "{text}"
        );
    }

    #[test]
    fn an_open_listing_sums_its_days() {
        let open = Listing {
            time: OrderTime::Modified,
            status: None,
            from: None,
            until: None,
        };
        let legs = legs(&open, Upper::End);
        assert_eq!(legs.len(), 2, "{legs:#?}");
    }
}
