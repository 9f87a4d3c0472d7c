//! The seller's memo and flag on an order.

use diesel::prelude::*;

use crate::db::schema::orders;
use crate::db::{write_transaction, DbConnection};
use crate::outbox::{self, Kind, Target};
use crate::shop::codes::SellerFlag;
use crate::shop::ShopError;
use crate::time::now_utc;

/// Longest memo accepted.
pub const MAX_MEMO: usize = 1024;

/// Replaces the order's seller memo and flag; its modified time moves.
pub fn update_memo(
    conn: &mut DbConnection,
    shop_id: i64,
    plat_order_no: &str,
    memo: &str,
    flag: SellerFlag,
) -> Result<(), ShopError> {
    if memo.chars().count() > MAX_MEMO {
        return Err(ShopError::rejected(
            "SellerMemo",
            format!("is longer than {MAX_MEMO} characters"),
        ));
    }
    write_transaction(conn, |conn| {
        let updated = diesel::update(
            orders::table
                .filter(orders::shop_id.eq(shop_id))
                .filter(orders::plat_order_no.eq(plat_order_no)),
        )
        .set((
            orders::seller_remark.eq(memo),
            orders::seller_flag.eq(flag.code()),
            orders::modified_at.eq(now_utc()),
            orders::revision.eq(orders::revision + 1),
        ))
        .execute(conn)?;
        if updated == 0 {
            return Err(ShopError::rejected(
                "PlatOrderNo",
                format!("no order `{plat_order_no}` in this shop"),
            ));
        }
        outbox::enqueue(conn, shop_id, Target::Jushuitan, Kind::Order, plat_order_no)?;
        Ok(())
    })
}
