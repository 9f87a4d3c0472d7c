//! Finding and listing orders with all their parts.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::anchors::PageAnchors;
use super::counts::{self, Revisions};
use super::filter::{filtered, OrderFilter};
use super::listing::{Direction, Key, Listing, Reading};
use super::model::{
    Customs, Invoice, OrderHeader, OrderLineFields, OrderLineRecord, OrderRecord, PickupCode,
    Receiver,
};
use crate::db::schema::{
    order_customs, order_invoices, order_lines, order_receivers, orders, pickup_codes,
};
use crate::db::{ids_in, load_directly, read_transaction, DbConnection};
use crate::shop::{Page, PageOf, ShopError};

/// Rows a check of a remembered anchor is taken to cost (a count of a few hundred
/// small rows), against rows walked: an anchor nearer than the first or last order by
/// more than this is used.
const ANCHOR_CHECK: i64 = 256;

/// Rows a page walks, at most, from the first order, the last or an anchor; a page further
/// from all of them finds its start through the counts ([`counts::millisecond_at`]: about
/// two dozen counts, as dear as walking some 30,000 orders on PostgreSQL and 6,000 on
/// SQLite, measured at a million; one bound for both, within twice the best of each).
const WALK_AT_MOST: i64 = 16_384;

/// One page of orders with the total across pages.
///
/// The page costs what its orders cost plus the walk to them: from the first order, from
/// the last (for late pages) or from an anchor of a page served before (`anchors`),
/// whichever is nearest. The total comes from the counts the database keeps.
pub fn page(
    conn: &mut DbConnection,
    anchors: &PageAnchors,
    shop_id: i64,
    filter: &OrderFilter,
    page: Page,
) -> Result<PageOf<OrderRecord>, ShopError> {
    let found = page_kept(conn, anchors, &NothingKept::NOTHING, shop_id, filter, page)?;
    Ok(PageOf {
        total: found.total,
        items: found
            .items
            .into_iter()
            .filter_map(|listed| listed.record)
            .collect(),
    })
}

/// Renderings of orders a caller keeps, so that a page reads from the database only the
/// orders whose rendering is missing or older than the order.
pub trait KeptOrders {
    /// What is kept of an order.
    type Rendering;
    /// Whether some revision of order `id` is kept: a page whose orders are none of them
    /// kept does not ask for their revisions.
    fn holds(&self, id: i64) -> bool;
    /// What is kept of order `id` at `revision`, if that is the revision kept.
    fn get(&self, id: i64, revision: i64) -> Option<Self::Rendering>;
}

/// Keeps no current rendering, so every order is read. [`NothingKept::NOTHING`] holds no
/// revision either; [`NothingKept::STALE`] claims some older one of every order, so a page
/// also reads the revisions and runs every statement it can (to show each one's plan).
struct NothingKept {
    holds_stale: bool,
}

impl NothingKept {
    const NOTHING: Self = Self { holds_stale: false };
    const STALE: Self = Self { holds_stale: true };
}

impl KeptOrders for NothingKept {
    type Rendering = std::convert::Infallible;
    fn holds(&self, _: i64) -> bool {
        self.holds_stale
    }
    fn get(&self, _: i64, _: i64) -> Option<Self::Rendering> {
        None
    }
}

/// One order of a page: what the caller keeps of it at its current revision, or the order
/// as read.
#[derive(Debug)]
pub struct Listed<R> {
    /// Internal id.
    pub id: i64,
    /// The revision the page saw.
    pub revision: i64,
    /// What the caller keeps of the order at that revision.
    pub kept: Option<R>,
    /// The order as read: whenever nothing is kept, and in debug builds always, so the
    /// caller can check what it kept against it.
    pub record: Option<OrderRecord>,
}

/// One page of orders like [`page`], reading only the orders `kept` lacks at their
/// current revision: the rest come as `kept` holds them.
pub fn page_kept<K: KeptOrders>(
    conn: &mut DbConnection,
    anchors: &PageAnchors,
    kept: &K,
    shop_id: i64,
    filter: &OrderFilter,
    page: Page,
) -> Result<PageOf<Listed<K::Rendering>>, ShopError> {
    read_page(
        &mut Reading::new(conn),
        anchors,
        kept,
        shop_id,
        filter,
        page,
        WALK_AT_MOST,
    )
}

/// The ids of one page like [`page`], but with nothing remembered and found through the
/// counts wherever it is not the first page or the last (see [`counts::millisecond_at`]),
/// however near the first or last order it is: the way a page far from everything known is
/// found, for checking it against the walk.
pub fn page_ids_by_counts(
    conn: &mut DbConnection,
    shop_id: i64,
    filter: &OrderFilter,
    page: Page,
) -> Result<PageOf<i64>, ShopError> {
    let found = read_page(
        &mut Reading::new(conn),
        &PageAnchors::default(),
        &NothingKept::NOTHING,
        shop_id,
        filter,
        page,
        0,
    )?;
    Ok(PageOf {
        total: found.total,
        items: found.items.into_iter().map(|listed| listed.id).collect(),
    })
}

/// The plans of the statements a page runs for this request, in order, each with what
/// it is for, as the database chooses them now: every statement [`page_kept`] can run,
/// the revisions of the page's orders included (by their own statement, or with the walk
/// that found the page; the page is read and its anchors remembered as usual).
pub fn explain_page(
    conn: &mut DbConnection,
    anchors: &PageAnchors,
    shop_id: i64,
    filter: &OrderFilter,
    page: Page,
) -> Result<Vec<(String, Vec<String>)>, ShopError> {
    let mut reading = Reading::explained(conn);
    read_page(
        &mut reading,
        anchors,
        &NothingKept::STALE,
        shop_id,
        filter,
        page,
        WALK_AT_MOST,
    )?;
    Ok(reading.into_plans())
}

fn read_page<K: KeptOrders>(
    reading: &mut Reading<'_>,
    anchors: &PageAnchors,
    kept: &K,
    shop_id: i64,
    filter: &OrderFilter,
    page: Page,
    walk_at_most: i64,
) -> Result<PageOf<Listed<K::Rendering>>, ShopError> {
    let Some(listing) = Listing::of(filter) else {
        return by_number(reading, kept, shop_id, filter, page);
    };
    let (found, seen, remembered) = read_snapshot(reading, |reading| {
        // An anchor can only help a page further from the first order than from it; its
        // check is counted with the total (for a late page it may go unused).
        let offset = page.offset();
        let (nearest, kept_total) = anchors.nearest(shop_id, &listing, offset);
        let nearest =
            nearest.filter(|(position, _, _)| distance(*position, offset) + ANCHOR_CHECK < offset);
        let anchor = nearest.map(|(position, key, _)| (position, key));
        let counted = nearest.map(|(_, key, counts)| (key, counts));
        let (counts, walked, revisions) = match likely_walk(anchor, offset) {
            Some((from, skip)) => {
                let walk = listing.walk_statement(
                    reading.conn.backend(),
                    shop_id,
                    Direction::Forward,
                    from,
                    skip,
                    page.size + 1,
                );
                let label = match from {
                    None => "total of the listing with the ids and revisions of the page, walking from the first order",
                    Some(_) => "total of the listing, orders before an anchor and the ids and revisions of the page, walking from it",
                };
                let (counts, keys, revisions) = counts::total_and_before_with_keys(
                    reading,
                    label,
                    shop_id,
                    &listing,
                    kept_total,
                    from.and(counted),
                    walk,
                )?;
                // The walk from the anchor skipped as if its order were still where it was
                // seen; the count says whether it is.
                let held = match (anchor, counts.before) {
                    (Some((position, _)), Some(before)) => before == position,
                    _ => true,
                };
                let walked = held.then(|| forward_page(keys, offset, page.size));
                (counts, walked, revisions)
            }
            None => {
                let counts =
                    counts::total_and_before(reading, shop_id, &listing, kept_total, counted)?;
                (counts, None, Revisions::new())
            }
        };
        let (total, before) = (counts.total, counts.before);
        let remembered = (counts.kept, anchor.map(|anchor| (anchor, counts.anchor)));
        let walked = match walked {
            Some(walked) => walked,
            None => {
                let anchor = anchor.zip(before).map(|((position, key), before)| Anchor {
                    position,
                    key,
                    before,
                });
                locate(
                    reading,
                    shop_id,
                    &listing,
                    page,
                    total,
                    anchor,
                    walk_at_most,
                )?
            }
        };
        let ids: Vec<i64> = walked.keys.iter().map(|key| key.id).collect();
        let items = read_orders(reading, kept, shop_id, &ids, &revisions)?;
        Ok((PageOf { total, items }, walked.seen, remembered))
    })?;
    anchors.record(shop_id, &listing, &seen);
    let (kept_total, anchor) = remembered;
    anchors.remember_counts(shop_id, &listing, kept_total, anchor);
    Ok(found)
}

/// Runs `work` in one read transaction ([`read_transaction`]), so a total and a page
/// see the same data.
fn read_snapshot<T>(
    reading: &mut Reading<'_>,
    work: impl FnOnce(&mut Reading<'_>) -> Result<T, ShopError>,
) -> Result<T, ShopError> {
    let Reading { conn, plans } = reading;
    read_transaction(conn, |conn| {
        let mut inner = Reading {
            conn,
            plans: plans.take(),
        };
        let result = work(&mut inner);
        *plans = inner.plans;
        result
    })
}

/// A page's keys, and the positions learnt on the way.
struct Walked {
    keys: Vec<Key>,
    seen: Vec<(i64, Key)>,
}

/// A remembered position of a listing, checked: the orders before its key now.
struct Anchor {
    /// Where its key was when remembered.
    position: i64,
    /// The key.
    key: Key,
    /// The orders of the listing before the key now.
    before: i64,
}

/// The walk that finds the page at `offset` without knowing the listing's total, as
/// (from which key, skipping how many): an early page (within [`ANCHOR_CHECK`] orders of
/// the first) from the first order, and a page at or a little after a remembered position
/// from its key, as if its order had not moved (checked by the count sent with the walk).
/// `None` when the page is found another way.
fn likely_walk(anchor: Option<(i64, Key)>, offset: i64) -> Option<(Option<Key>, i64)> {
    match anchor {
        None if offset <= ANCHOR_CHECK => Some((None, offset)),
        Some((position, key)) if offset >= position && offset - position <= ANCHOR_CHECK => {
            Some((Some(key), offset - position))
        }
        _ => None,
    }
}

/// How far apart two positions are.
fn distance(a: i64, b: i64) -> i64 {
    i64::try_from(a.abs_diff(b)).unwrap_or(i64::MAX)
}

/// The keys of `page` of `listing`, which holds `total` orders, walked from the first
/// order, the last, or `anchor`, whichever is nearest, or found through the counts when
/// that walk would be longer than `walk_at_most`.
fn locate(
    reading: &mut Reading<'_>,
    shop_id: i64,
    listing: &Listing,
    page: Page,
    total: i64,
    anchor: Option<Anchor>,
    walk_at_most: i64,
) -> Result<Walked, ShopError> {
    let (offset, size) = (page.offset(), page.size);
    if offset >= total {
        return Ok(Walked {
            keys: Vec::new(),
            seen: Vec::new(),
        });
    }
    let from_end = (total - offset - size).max(0);
    let walk = offset.min(from_end);
    let anchor = anchor.filter(|anchor| distance(anchor.position, offset) + ANCHOR_CHECK < walk);
    if let Some(Anchor { key, before, .. }) = anchor {
        // The anchor's order, or the first after its key, is at `before` now.
        if offset >= before && offset - before <= walk {
            let keys = listing.walk(
                reading,
                shop_id,
                Direction::Forward,
                Some(key),
                offset - before,
                size + 1,
            )?;
            return Ok(forward_page(keys, offset, size));
        }
        if offset < before && before - offset <= walk {
            let first = listing.walk(
                reading,
                shop_id,
                Direction::Backward,
                Some(key),
                before - offset - 1,
                1,
            )?;
            if let Some(first) = first.first() {
                let keys = listing.walk(
                    reading,
                    shop_id,
                    Direction::Forward,
                    Some(*first),
                    0,
                    size + 1,
                )?;
                return Ok(forward_page(keys, offset, size));
            }
        }
    }
    if walk > walk_at_most {
        if let Some(walked) = seek_by_counts(reading, shop_id, listing, offset, size)? {
            return Ok(walked);
        }
    }
    if offset <= from_end {
        let keys = listing.walk(reading, shop_id, Direction::Forward, None, offset, size + 1)?;
        return Ok(forward_page(keys, offset, size));
    }
    let mut keys = listing.walk(
        reading,
        shop_id,
        Direction::Backward,
        None,
        from_end,
        size.min(total - offset),
    )?;
    keys.reverse();
    let seen = keys.first().map(|key| (offset, *key)).into_iter().collect();
    Ok(Walked { keys, seen })
}

/// The keys of the page at `offset` found through the counts: the millisecond holding its
/// first order ([`counts::millisecond_at`], between the listing's first and last orders),
/// then a walk from the start of that millisecond over the orders of it before the page.
/// `None` when the listing has no orders.
fn seek_by_counts(
    reading: &mut Reading<'_>,
    shop_id: i64,
    listing: &Listing,
    offset: i64,
    size: i64,
) -> Result<Option<Walked>, ShopError> {
    let first = listing.end(reading, shop_id, Direction::Forward)?;
    let last = listing.end(reading, shop_id, Direction::Backward)?;
    let (Some(first), Some(last)) = (first, last) else {
        return Ok(None);
    };
    let Some((at, before)) =
        counts::millisecond_at(reading, shop_id, listing, offset, first, last)?
    else {
        return Ok(None);
    };
    // The walk from a key starts at the key instead of the window's start, and the
    // millisecond may begin before the window does.
    let at = listing.from.map_or(at, |from| from.max(at));
    let start = Key { at, id: i64::MIN };
    let keys = listing.walk(
        reading,
        shop_id,
        Direction::Forward,
        Some(start),
        offset - before,
        size + 1,
    )?;
    Ok(Some(forward_page(keys, offset, size)))
}

/// A page walked forward with one order more than it holds: that one starts the next page.
fn forward_page(mut keys: Vec<Key>, offset: i64, size: i64) -> Walked {
    let mut seen: Vec<(i64, Key)> = keys.first().map(|key| (offset, *key)).into_iter().collect();
    if keys.len() > usize::try_from(size).unwrap_or(usize::MAX) {
        if let Some(next) = keys.pop() {
            seen.push((offset + size, next));
        }
    }
    Walked { keys, seen }
}

/// The page of an exact order-number lookup (at most one order).
fn by_number<K: KeptOrders>(
    reading: &mut Reading<'_>,
    kept: &K,
    shop_id: i64,
    filter: &OrderFilter,
    page: Page,
) -> Result<PageOf<Listed<K::Rendering>>, ShopError> {
    read_snapshot(reading, |reading| {
        let query = filtered(shop_id, filter)
            .order(orders::id.asc())
            .select(orders::id);
        reading.note("id of the order with this number", &query)?;
        let ids: Vec<i64> = query.load(reading.conn)?;
        let total = i64::try_from(ids.len()).unwrap_or(i64::MAX);
        let on_page: Vec<i64> = ids
            .into_iter()
            .skip(usize::try_from(page.offset()).unwrap_or(usize::MAX))
            .take(usize::try_from(page.size).unwrap_or(0))
            .collect();
        let items = read_orders(reading, kept, shop_id, &on_page, &Revisions::new())?;
        Ok(PageOf { total, items })
    })
}

/// The order with this number, if stored.
pub fn find(
    conn: &mut DbConnection,
    shop_id: i64,
    plat_order_no: &str,
) -> Result<Option<OrderRecord>, ShopError> {
    let filter = OrderFilter {
        plat_order_no: Some(plat_order_no.to_owned()),
        ..OrderFilter::default()
    };
    let ids: Vec<i64> = filtered(shop_id, &filter).select(orders::id).load(conn)?;
    Ok(assemble(&mut Reading::new(conn), shop_id, &ids)?
        .into_iter()
        .next())
}

/// The orders `ids`, in that order: those `kept` holds at their current revision as it
/// holds them, the others read with all their parts.
fn read_orders<K: KeptOrders>(
    reading: &mut Reading<'_>,
    kept: &K,
    shop_id: i64,
    ids: &[i64],
    known: &Revisions,
) -> Result<Vec<Listed<K::Rendering>>, ShopError> {
    if !ids.iter().any(|id| kept.holds(*id)) {
        return Ok(assemble(reading, shop_id, ids)?
            .into_iter()
            .map(|record| Listed {
                id: record.id,
                revision: record.revision,
                kept: None,
                record: Some(record),
            })
            .collect());
    }
    // Read with the page's keys when the walk that found them could (the same snapshot).
    let read;
    let revisions = if ids.iter().all(|id| known.contains_key(id)) {
        known
    } else {
        let query = orders::table
            .filter(ids_in(orders::id, ids))
            .select((orders::id, orders::revision));
        reading.note("the revisions of the page's orders", &query)?;
        read = load_directly!(&mut *reading.conn, query)?
            .into_iter()
            .collect::<Revisions>();
        &read
    };
    let mut listed: Vec<Listed<K::Rendering>> = ids
        .iter()
        .filter_map(|id| {
            revisions.get(id).map(|revision| Listed {
                id: *id,
                revision: *revision,
                kept: kept.get(*id, *revision),
                record: None,
            })
        })
        .collect();
    // In debug builds every order is read, so callers check what they kept against it.
    let missing: Vec<i64> = listed
        .iter()
        .filter(|listed| listed.kept.is_none() || cfg!(debug_assertions))
        .map(|listed| listed.id)
        .collect();
    let mut records: HashMap<i64, OrderRecord> = assemble(reading, shop_id, &missing)?
        .into_iter()
        .map(|record| (record.id, record))
        .collect();
    for entry in &mut listed {
        entry.record = records.remove(&entry.id);
    }
    Ok(listed)
}

/// An order row with its one-to-one parts, which are written with it (an invoice and
/// customs data only when the order has them).
type Head = (
    i64,
    OrderHeader,
    NaiveDateTime,
    i64,
    Receiver,
    Option<Invoice>,
    Option<Customs>,
    Option<PickupCode>,
);

/// Loads the orders `ids` with all their parts, in the order of `ids`: one joined query
/// for the order, its one-to-one parts and its pickup code, one for the lines.
fn assemble(
    reading: &mut Reading<'_>,
    shop_id: i64,
    ids: &[i64],
) -> Result<Vec<OrderRecord>, ShopError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    // Each written once and built for each backend the page may read through.
    macro_rules! heads {
        () => {
            orders::table
                .inner_join(order_receivers::table)
                .left_join(order_invoices::table)
                .left_join(order_customs::table)
                .left_join(pickup_codes::table)
                .filter(ids_in(orders::id, ids))
                .select((
                    orders::id,
                    OrderHeader::as_select(),
                    orders::modified_at,
                    orders::revision,
                    Receiver::as_select(),
                    Option::<Invoice>::as_select(),
                    Option::<Customs>::as_select(),
                    Option::<PickupCode>::as_select(),
                ))
        };
    }
    // In id order after reading, not by ORDER BY (see `crate::db::in_id_order`).
    macro_rules! line_rows {
        () => {
            order_lines::table
                .filter(order_lines::shop_id.eq(shop_id))
                .filter(ids_in(order_lines::order_id, ids))
                .select((
                    order_lines::order_id,
                    order_lines::id,
                    OrderLineFields::as_select(),
                    order_lines::shipped_count,
                ))
        };
    }
    if reading.plans.is_some() {
        reading.note(
            "the page's orders with their receiver, invoice, customs and pickup code",
            &heads!(),
        )?;
        reading.note("the page's lines", &line_rows!())?;
    }
    let mut heads: Vec<Head> = load_directly!(&mut *reading.conn, heads!())?;
    let position: HashMap<i64, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    heads.sort_by_key(|head| position.get(&head.0).copied().unwrap_or(usize::MAX));
    let mut line_rows: Vec<(i64, i64, OrderLineFields, i64)> =
        load_directly!(&mut *reading.conn, line_rows!())?;
    line_rows.sort_unstable_by_key(|(_, id, _, _)| *id);
    let mut lines: HashMap<i64, Vec<OrderLineRecord>> = HashMap::new();
    for (order_id, id, fields, shipped_count) in line_rows {
        lines.entry(order_id).or_default().push(OrderLineRecord {
            id,
            fields,
            shipped_count,
        });
    }
    Ok(heads
        .into_iter()
        .map(
            |(id, header, modified_at, revision, receiver, invoice, customs, pickup_code)| {
                OrderRecord {
                    id,
                    header,
                    modified_at,
                    revision,
                    receiver,
                    // No row: the order has none (see `write`).
                    invoice: invoice.unwrap_or_default(),
                    customs: customs.unwrap_or_default(),
                    lines: lines.remove(&id).unwrap_or_default(),
                    pickup_code,
                }
            },
        )
        .collect())
}
