//! Rows of one parent put in id order after reading, not by `ORDER BY id`.
//!
//! A query for one parent's children (an order's lines, a refund's goods, a product's
//! SKUs) filtered on `shop_id = ? AND parent_id = ?` and ordered by `id` lets SQLite skip
//! the sort by walking the shop's `(shop_id, id)` index through every child of the shop,
//! instead of the parent's few rows through its own index — with or without statistics.
//! At a sale's size that made a Send take half a second. Such queries carry no
//! `ORDER BY`; the few rows they read are sorted here.

/// `rows`, each with its id, in the order of the ids, without them.
pub fn in_id_order<T>(mut rows: Vec<(i64, T)>) -> Vec<T> {
    rows.sort_unstable_by_key(|(id, _)| *id);
    rows.into_iter().map(|(_, row)| row).collect()
}

#[cfg(test)]
mod tests {
    use super::in_id_order;

    #[test]
    fn rows_come_in_the_order_of_their_ids() {
        assert_eq!(
            in_id_order(vec![(3, 'c'), (1, 'a'), (2, 'b')]),
            ['a', 'b', 'c']
        );
    }
}
