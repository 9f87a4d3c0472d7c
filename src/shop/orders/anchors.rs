//! Positions of recently served pages, so the next page of a listing (or the same page
//! again) seeks to where the last one ended instead of walking from the first order.
//!
//! An anchor says "the order at position p of this listing had key k". Orders arrive,
//! move and change status between requests, so an anchor is never trusted: the page
//! counts the orders before k now (a bounded count, see `counts`) and walks from k by the
//! difference. Every answer is therefore the one the walk from the first order gives;
//! anchors only make it cheaper. With a listing it keeps the sum of the kept counts of its
//! total, and with an anchor those before it and the orders of its own millisecond before
//! it ([`AnchorCounts`]), which the next count uses only while nothing they count has
//! changed (see [`RememberedCount`]).

use std::collections::HashMap;
use std::sync::Mutex;

use super::counts::{AnchorCounts, RememberedCount};
use super::listing::{Key, Listing};

/// Listings remembered; the least recently used is forgotten first.
const LISTINGS: usize = 512;
/// Positions remembered per listing; the least recently recorded is forgotten first.
const POSITIONS: usize = 16;

/// Remembered page positions of every listing served recently. One per database.
#[derive(Debug, Default)]
pub struct PageAnchors {
    inner: Mutex<Remembered>,
}

#[derive(Debug, Default)]
struct Remembered {
    clock: u64,
    listings: HashMap<(i64, Listing), Positions>,
}

#[derive(Debug, Default)]
struct Positions {
    used: u64,
    /// (position, key, what is remembered of the orders before it), most recently
    /// recorded last.
    known: Vec<(i64, Key, AnchorCounts)>,
    /// The kept counts of the listing's total.
    total: Option<RememberedCount>,
}

impl PageAnchors {
    /// The remembered position of the listing nearest to `position`, if any, with what is
    /// remembered of the orders before it; and the kept counts of the listing's total.
    pub(super) fn nearest(
        &self,
        shop_id: i64,
        listing: &Listing,
        position: i64,
    ) -> (Option<(i64, Key, AnchorCounts)>, Option<RememberedCount>) {
        let mut remembered = self.lock();
        remembered.clock += 1;
        let clock = remembered.clock;
        let Some(positions) = remembered.listings.get_mut(&(shop_id, *listing)) else {
            return (None, None);
        };
        positions.used = clock;
        let nearest = positions
            .known
            .iter()
            .min_by_key(|(known, _, _)| known.abs_diff(position))
            .copied();
        (nearest, positions.total)
    }

    /// Remembers the kept counts of the listing's total, and `counts` of the anchor at
    /// `position` with `key` if that is still the anchor there.
    pub(super) fn remember_counts(
        &self,
        shop_id: i64,
        listing: &Listing,
        total: RememberedCount,
        anchor: Option<((i64, Key), AnchorCounts)>,
    ) {
        let mut remembered = self.lock();
        let Some(positions) = remembered.listings.get_mut(&(shop_id, *listing)) else {
            return;
        };
        positions.total = Some(total);
        let Some(((position, key), counts)) = anchor else {
            return;
        };
        for known in &mut positions.known {
            if known.0 == position && known.1 == key {
                known.2 = counts;
            }
        }
    }

    /// Remembers that the orders with these keys were at these positions of the listing.
    pub(super) fn record(&self, shop_id: i64, listing: &Listing, seen: &[(i64, Key)]) {
        if seen.is_empty() {
            return;
        }
        let mut remembered = self.lock();
        remembered.clock += 1;
        let clock = remembered.clock;
        if remembered.listings.len() >= LISTINGS
            && !remembered.listings.contains_key(&(shop_id, *listing))
        {
            let oldest = remembered
                .listings
                .iter()
                .min_by_key(|(_, positions)| positions.used)
                .map(|(key, _)| *key);
            if let Some(oldest) = oldest {
                remembered.listings.remove(&oldest);
            }
        }
        let positions = remembered.listings.entry((shop_id, *listing)).or_default();
        positions.used = clock;
        for &(position, key) in seen {
            // The same anchor again keeps what is remembered of the orders before it.
            let counts = positions
                .known
                .iter()
                .find(|known| known.0 == position && known.1 == key)
                .map(|known| known.2)
                .unwrap_or_default();
            positions.known.retain(|(known, _, _)| *known != position);
            positions.known.push((position, key, counts));
        }
        let excess = positions.known.len().saturating_sub(POSITIONS);
        positions.known.drain(..excess);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Remembered> {
        // A panic while holding the lock leaves at worst a stale anchor, which is checked
        // before use anyway.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;
    use crate::shop::orders::OrderTime;

    fn key(id: i64) -> Key {
        Key {
            at: NaiveDate::from_ymd_opt(2026, 1, 1)
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .expect("time"),
            id,
        }
    }

    fn listing(status: Option<crate::shop::codes::TradeStatus>) -> Listing {
        Listing {
            time: OrderTime::Modified,
            status,
            from: None,
            until: None,
        }
    }

    #[test]
    fn nearest_position_of_the_same_listing() {
        let anchors = PageAnchors::default();
        let all = listing(None);
        assert_eq!(anchors.nearest(1, &all, 60).0, None);
        anchors.record(1, &all, &[(0, key(1)), (30, key(31))]);
        anchors.record(1, &all, &[(30, key(31)), (60, key(61))]);
        let nothing = AnchorCounts::default();
        assert_eq!(anchors.nearest(1, &all, 58).0, Some((60, key(61), nothing)));
        assert_eq!(anchors.nearest(1, &all, 10).0, Some((0, key(1), nothing)));
        assert_eq!(anchors.nearest(2, &all, 60).0, None, "another shop");
        let paid = listing(Some(crate::shop::codes::TradeStatus::AwaitingShipment));
        assert_eq!(anchors.nearest(1, &paid, 60).0, None, "another listing");
    }

    #[test]
    fn counts_are_remembered_with_their_own_listing_and_anchor_only() {
        let anchors = PageAnchors::default();
        let all = listing(None);
        let remembered = |orders| RememberedCount { folds: 3, orders };
        let counts = AnchorCounts {
            head: Some(remembered(400)),
            within: Some(remembered(12)),
        };
        anchors.record(1, &all, &[(30, key(31))]);
        anchors.remember_counts(1, &all, remembered(900), Some(((30, key(99)), counts)));
        assert_eq!(
            anchors.nearest(1, &all, 30),
            (
                Some((30, key(31), AnchorCounts::default())),
                Some(remembered(900))
            ),
            "not another anchor's"
        );
        anchors.remember_counts(1, &all, remembered(900), Some(((30, key(31)), counts)));
        anchors.record(1, &all, &[(30, key(31))]);
        assert_eq!(
            anchors.nearest(1, &all, 30).0,
            Some((30, key(31), counts)),
            "the same anchor recorded again keeps them"
        );
        anchors.record(1, &all, &[(30, key(32))]);
        assert_eq!(
            anchors.nearest(1, &all, 30).0,
            Some((30, key(32), AnchorCounts::default())),
            "another order at the position does not"
        );
        let paid = listing(Some(crate::shop::codes::TradeStatus::AwaitingShipment));
        assert_eq!(
            anchors.nearest(1, &paid, 30),
            (None, None),
            "another listing"
        );
    }

    #[test]
    fn memory_is_bounded() {
        let anchors = PageAnchors::default();
        let all = listing(None);
        for page in 0..100 {
            anchors.record(1, &all, &[(page * 30, key(page))]);
        }
        assert_eq!(anchors.lock().listings[&(1, all)].known.len(), POSITIONS);
        for shop in 0..(LISTINGS as i64 + 10) {
            anchors.record(shop, &all, &[(0, key(1))]);
        }
        assert_eq!(anchors.lock().listings.len(), LISTINGS);
    }
}
