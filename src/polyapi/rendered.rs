//! GetOrder's orders as rendered before, kept by revision.
//!
//! ERPs poll the same orders again and again: page 1 of the newest window every minute,
//! windows that overlap the last, several ERPs on one shop. An order whose revision has
//! not moved renders to the same text, so its text is kept and reused; a page then reads
//! only its orders' revisions and the orders that changed. Every change to an order or
//! its parts moves its revision in the same statement as the change (see the
//! `order_revisions` migration), so a kept text is never served for an order that has
//! changed, whichever process changed it.

use std::sync::Arc;

use serde_json::value::RawValue;

use crate::shop::orders::KeptOrders;

/// An order as rendered for one time zone at one revision.
#[derive(Clone)]
struct Rendered {
    revision: i64,
    offset_seconds: i32,
    text: Arc<RawValue>,
}

/// Weighs a kept order by its text.
#[derive(Clone)]
struct ByLength;

impl quick_cache::Weighter<i64, Rendered> for ByLength {
    fn weight(&self, _: &i64, rendered: &Rendered) -> u64 {
        // The key, the revision and the pointers besides the text.
        u64::try_from(rendered.text.get().len()).unwrap_or(u64::MAX) + 48
    }
}

/// Rendered orders by id, the least used dropped past the capacity; shared by the calls on
/// one database ([`crate::db::Database::shared_with`]).
pub struct RenderedOrders {
    /// `None` when nothing is to be kept.
    kept: Option<quick_cache::sync::Cache<i64, Rendered, ByLength>>,
}

impl RenderedOrders {
    /// Keeps up to `bytes` of rendered orders (about 1.3 KB for an order of two lines);
    /// none with 0.
    pub fn with_capacity(bytes: u64) -> Self {
        let items = usize::try_from(bytes / 1024).unwrap_or(usize::MAX).max(16);
        Self {
            kept: (bytes > 0)
                .then(|| quick_cache::sync::Cache::with_weighter(items, bytes, ByLength)),
        }
    }

    /// The rendered orders of `db`, made on first use with the capacity its
    /// configuration names.
    pub fn of(db: &crate::db::Database) -> Arc<Self> {
        db.shared_with(|| Self::with_capacity(db.rendered_orders_bytes()))
    }

    /// The orders of one shop's time zone, as a page reads them.
    pub fn in_zone(&self, offset: chrono::FixedOffset) -> InZone<'_> {
        InZone {
            orders: self,
            offset_seconds: offset.local_minus_utc(),
        }
    }
}

/// [`RenderedOrders`] for one time zone (orders render their times in the shop's zone).
pub struct InZone<'a> {
    orders: &'a RenderedOrders,
    offset_seconds: i32,
}

impl InZone<'_> {
    /// Keeps `text` as order `id` at `revision`.
    pub fn keep(&self, id: i64, revision: i64, text: Arc<RawValue>) {
        if let Some(kept) = &self.orders.kept {
            kept.insert(
                id,
                Rendered {
                    revision,
                    offset_seconds: self.offset_seconds,
                    text,
                },
            );
        }
    }
}

impl KeptOrders for InZone<'_> {
    type Rendering = Arc<RawValue>;

    fn holds(&self, id: i64) -> bool {
        self.orders
            .kept
            .as_ref()
            .is_some_and(|kept| kept.contains_key(&id))
    }

    fn get(&self, id: i64, revision: i64) -> Option<Arc<RawValue>> {
        self.orders
            .kept
            .as_ref()?
            .get(&id)
            .filter(|kept| kept.revision == revision && kept.offset_seconds == self.offset_seconds)
            .map(|kept| kept.text)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::FixedOffset;
    use serde_json::value::RawValue;

    use super::RenderedOrders;
    use crate::shop::orders::KeptOrders;

    fn text(json: &str) -> Arc<RawValue> {
        Arc::from(RawValue::from_string(json.to_owned()).expect("json"))
    }

    #[test]
    fn a_kept_order_is_given_only_at_its_revision_and_zone() {
        let orders = RenderedOrders::with_capacity(1024 * 1024);
        let beijing = FixedOffset::east_opt(8 * 3600).expect("offset");
        let utc = FixedOffset::east_opt(0).expect("offset");
        orders
            .in_zone(beijing)
            .keep(7, 3, text(r#"{"PlatOrderNo":"A"}"#));
        let zone = orders.in_zone(beijing);
        assert!(zone.holds(7));
        assert!(!zone.holds(8));
        assert_eq!(
            zone.get(7, 3).map(|t| t.get().to_owned()).as_deref(),
            Some(r#"{"PlatOrderNo":"A"}"#)
        );
        assert!(zone.get(7, 4).is_none(), "a later revision is not kept");
        assert!(zone.get(7, 2).is_none(), "nor an earlier one");
        assert!(orders.in_zone(utc).get(7, 3).is_none(), "nor another zone");
        orders
            .in_zone(beijing)
            .keep(7, 4, text(r#"{"PlatOrderNo":"B"}"#));
        assert!(orders.in_zone(beijing).get(7, 3).is_none());
        assert!(orders.in_zone(beijing).get(7, 4).is_some());
    }

    #[test]
    fn what_is_kept_stays_within_its_bytes() {
        let orders = RenderedOrders::with_capacity(64 * 1024);
        let zone_offset = FixedOffset::east_opt(8 * 3600).expect("offset");
        let body = format!(r#"{{"x":"{}"}}"#, "y".repeat(1000));
        for id in 0..1000 {
            orders.in_zone(zone_offset).keep(id, 0, text(&body));
        }
        let zone = orders.in_zone(zone_offset);
        let held = (0..1000).filter(|id| zone.holds(*id)).count();
        assert!(
            held > 0 && held <= 64,
            "{held} orders of 1 KB kept in 64 KB"
        );
    }
}
