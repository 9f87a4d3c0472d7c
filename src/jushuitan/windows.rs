//! What Jushuitan changed since the last run, read by windows of its modified times from
//! a cursor kept in the database, page by page: the shipping pull's orders sent and the
//! after-sales pull's records.
//!
//! A window is at most 7 days (Jushuitan refuses longer) and ends a minute before now:
//! Jushuitan keeps whole seconds and shows a change to queries a moment after it is
//! made, so the last minute is read by the next run. A window holding more than
//! [`MAX_WINDOW_RECORDS`] is halved, down to a minute, so one window is read in a bounded
//! number of pages. A window is read from its last page back to its first, the first
//! read again: a record changed while the window is read (by a person in Jushuitan, or
//! by polymall uploading what it just recorded) leaves the window and moves the records
//! after it back a place, onto pages not read yet, so none is passed over; the record
//! itself is in a later window with its new time. The cursor moves after each window
//! is read, so a run that fails reads its window again.

use std::collections::VecDeque;

use chrono::{Duration, NaiveDateTime, Timelike};
use serde_json::{json, Value};

use super::client::{value_text, Operation, MAX_WINDOW_DAYS};
use super::sync::JstSync;
use super::JstSyncError;
use crate::shop::cursors;
use crate::time::{format_shop_time, now_utc};

/// Records per page (Jushuitan answers at most 50).
pub const PAGE_SIZE: i64 = 50;
/// How far behind now a window ends.
const SETTLE_SECS: i64 = 60;
/// Records one window is read with at most; a window holding more is halved.
const MAX_WINDOW_RECORDS: i64 = 5_000;
/// The shortest window: one holding more than [`MAX_WINDOW_RECORDS`] is read whole.
const MIN_WINDOW_SECS: i64 = 60;
/// Pages read per run (the rest waits for the next run), unless the first window of the
/// run alone needs more.
const MAX_RUN_PAGES: i64 = 400;
/// Pages of one window read at most, whatever Jushuitan says it holds.
const MAX_WINDOW_PAGES: i64 = 2_000;

/// A query Jushuitan answers by window.
#[derive(Debug, Clone, Copy)]
pub struct Changes {
    /// The operation asked.
    pub operation: Operation,
    /// The job whose cursor keeps the end of the last window read.
    pub cursor: &'static str,
    /// The answer's list of records (`orders`, `datas`).
    pub list: &'static str,
    /// Fields asked beside the shop, the window and the page (a status).
    pub also: &'static [(&'static str, &'static str)],
}

/// The pages of what Jushuitan changed since a query's cursor (the last 7 days on the
/// first run), window by window. The caller stores each page before asking for the next:
/// a window's end becomes the cursor once every page of it was handed out and the next
/// is asked for.
pub struct ChangedSince<'a> {
    sync: &'a JstSync,
    changes: &'a Changes,
    /// Where the last window may end.
    until: NaiveDateTime,
    /// The window being read (or the start of the next).
    start: NaiveDateTime,
    end: NaiveDateTime,
    /// Whether a window is open.
    open: bool,
    /// Its pages still to read.
    pages: VecDeque<i64>,
    /// Pages are read on while Jushuitan says more follow (it did not say how many).
    onward: bool,
    /// Pages this run may still read.
    pages_left: i64,
    /// No window was read yet this run.
    first_window: bool,
}

impl<'a> ChangedSince<'a> {
    /// Starts at `changes`' cursor.
    pub async fn start(sync: &'a JstSync, changes: &'a Changes) -> Result<Self, JstSyncError> {
        let (shop_id, job) = (sync.shop.id, changes.cursor);
        let until = whole_second(now_utc() - Duration::seconds(SETTLE_SECS));
        let stored = sync
            .db
            .run(move |conn| cursors::position(conn, shop_id, job))
            .await?;
        let start = stored.unwrap_or(until - Duration::days(MAX_WINDOW_DAYS));
        Ok(Self {
            sync,
            changes,
            until,
            start,
            end: start,
            open: false,
            pages: VecDeque::new(),
            onward: false,
            pages_left: MAX_RUN_PAGES,
            first_window: true,
        })
    }

    /// The next page's records; `None` when the run has read what it can.
    pub async fn next_page(&mut self) -> Result<Option<Vec<Value>>, JstSyncError> {
        if self.open {
            if let Some(index) = self.pages.pop_front() {
                let page = self.query(self.end, index).await?;
                if self.onward && page.has_next && !page.records.is_empty() {
                    self.pages
                        .extend((index < MAX_WINDOW_PAGES).then_some(index + 1));
                }
                return Ok(Some(page.records));
            }
            let (shop_id, job, end) = (self.sync.shop.id, self.changes.cursor, self.end);
            self.sync
                .db
                .run(move |conn| cursors::advance(conn, shop_id, job, end))
                .await?;
            (self.start, self.open, self.first_window) = (end, false, false);
        }
        if self.start >= self.until || self.pages_left <= 0 {
            return Ok(None);
        }
        let mut end = (self.start + Duration::days(MAX_WINDOW_DAYS)).min(self.until);
        let first = loop {
            let page = self.query(end, 1).await?;
            match narrower(self.start, end, page.data_count) {
                Some(shorter) => end = shorter,
                None => break page,
            }
        };
        let pages = first.data_count.map(pages_of);
        // A window that does not fit in what is left of the run waits for the next run,
        // unless it is the run's first.
        if !self.first_window && pages.unwrap_or(1) > self.pages_left {
            return Ok(None);
        }
        if pages.is_some_and(|pages| pages > MAX_WINDOW_PAGES) {
            tracing::warn!(shop = %self.sync.shop.code, job = self.changes.cursor, from = %self.start, to = %end, ?pages, "jushuitan holds more records in one minute than are read");
        }
        (self.end, self.open, self.onward) = (end, true, pages.is_none());
        self.pages = match pages {
            Some(pages) if pages > 1 => (1..=pages.min(MAX_WINDOW_PAGES)).rev().collect(),
            Some(_) => VecDeque::new(),
            None => (first.has_next && !first.records.is_empty())
                .then_some(2)
                .into_iter()
                .collect(),
        };
        Ok(Some(first.records))
    }

    /// Page `index` of the window from the current start to `end`.
    async fn query(&mut self, end: NaiveDateTime, index: i64) -> Result<Page, JstSyncError> {
        self.pages_left -= 1;
        let offset = self.sync.shop.offset();
        let mut biz = json!({"shop_id": self.sync.config.shop_id,
                             "modified_begin": format_shop_time(self.start, offset),
                             "modified_end": format_shop_time(end, offset),
                             "page_index": index, "page_size": PAGE_SIZE});
        for (name, value) in self.changes.also {
            biz[*name] = json!(value);
        }
        let data = self.sync.session.call(self.changes.operation, &biz).await?;
        Ok(Page::read(data, self.changes.list))
    }
}

/// One page of an answer.
pub struct Page {
    /// The records on it.
    pub records: Vec<Value>,
    /// Whether a page follows.
    pub has_next: bool,
    /// How many records the query holds in all, when Jushuitan says.
    pub data_count: Option<i64>,
}

impl Page {
    /// The page Jushuitan answered, its records under `list` (taken out, not copied).
    pub fn read(mut data: Value, list: &str) -> Self {
        Self {
            records: match data.get_mut(list).map(Value::take) {
                Some(Value::Array(records)) => records,
                _ => Vec::new(),
            },
            has_next: data
                .get("has_next")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            data_count: data
                .get("data_count")
                .map(value_text)
                .and_then(|count| count.trim().parse().ok()),
        }
    }
}

/// Pages of [`PAGE_SIZE`] that `records` take, at least one.
fn pages_of(records: i64) -> i64 {
    ((records + PAGE_SIZE - 1) / PAGE_SIZE).max(1)
}

/// The end of a window narrowed for `records` (what Jushuitan says the window from
/// `start` to `end` holds), or `None` when it is read as it is: it holds few enough, or
/// it is as short as a window gets, or Jushuitan did not say.
fn narrower(
    start: NaiveDateTime,
    end: NaiveDateTime,
    records: Option<i64>,
) -> Option<NaiveDateTime> {
    let span = (end - start).num_seconds();
    let busy = records.is_some_and(|count| count > MAX_WINDOW_RECORDS);
    (busy && span > MIN_WINDOW_SECS)
        .then(|| start + Duration::seconds((span / 2).max(MIN_WINDOW_SECS)))
}

/// `at` without its fraction of a second: Jushuitan's windows are in whole seconds.
fn whole_second(at: NaiveDateTime) -> NaiveDateTime {
    at.with_nanosecond(0).unwrap_or(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").expect("time")
    }

    #[test]
    fn a_busy_window_is_halved_down_to_a_minute() {
        let start = at("2026-11-11 00:00:00");
        let week = at("2026-11-18 00:00:00");
        // Few enough, or not said: read as it is.
        assert_eq!(narrower(start, week, Some(MAX_WINDOW_RECORDS)), None);
        assert_eq!(narrower(start, week, None), None);
        // Too many: half.
        assert_eq!(
            narrower(start, week, Some(MAX_WINDOW_RECORDS + 1)),
            Some(at("2026-11-14 12:00:00"))
        );
        // Never below a minute, and a minute is read whole.
        let odd = at("2026-11-11 00:01:30");
        assert_eq!(
            narrower(start, odd, Some(1_000_000)),
            Some(at("2026-11-11 00:01:00"))
        );
        let minute = at("2026-11-11 00:01:00");
        assert_eq!(narrower(start, minute, Some(1_000_000)), None);
        // Halving a week that stays busy ends at a minute in about fourteen steps, well
        // inside a run's pages.
        let (mut end, mut steps) = (week, 0);
        while let Some(shorter) = narrower(start, end, Some(1_000_000)) {
            end = shorter;
            steps += 1;
        }
        assert_eq!((end - start).num_seconds(), MIN_WINDOW_SECS);
        assert!(steps <= 14, "{steps}");
        assert!(steps + pages_of(MAX_WINDOW_RECORDS) + 1 < MAX_RUN_PAGES);
    }

    #[test]
    fn pages_and_seconds() {
        assert_eq!(
            (pages_of(0), pages_of(50), pages_of(51), pages_of(5_000)),
            (1, 1, 2, 100)
        );
        let precise = at("2026-11-11 10:00:00") + Duration::milliseconds(700);
        assert_eq!(whole_second(precise), at("2026-11-11 10:00:00"));
    }
}
