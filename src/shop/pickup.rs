//! Pickup codes (核销码): redeemed once, at one store.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::codes::TradeStatus;
use super::ShopError;
use crate::db::schema::{orders, pickup_codes};
use crate::db::{write_transaction, DbConnection};
use crate::outbox::{self, Kind, Target};
use crate::time::now_utc;

/// A redemption to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redemption {
    /// The order.
    pub plat_order_no: String,
    /// The code the buyer showed.
    pub code: String,
    /// The store's id.
    pub store_id: String,
    /// The pickup point.
    pub verify_way: String,
}

/// What a redemption did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedeemOutcome {
    /// Redeemed now; the order is completed.
    Redeemed,
    /// The code had been used before.
    AlreadyRedeemed {
        /// When, UTC.
        at: NaiveDateTime,
        /// At which store.
        store_id: String,
        /// At which pickup point.
        verify_way: String,
    },
}

/// Only a paid order that is still open — awaiting shipment or pickup (JH_02), or
/// shipped (JH_03) — can be redeemed: not an unpaid, closed or completed one.
fn redeemable(status: &str) -> Result<(), ShopError> {
    match TradeStatus::from_code(status) {
        Some(TradeStatus::AwaitingShipment | TradeStatus::Shipped) => Ok(()),
        found => Err(ShopError::rejected(
            "PlatOrderNo",
            format!(
                "the order is {status} ({}): only a paid, open order (JH_02 or JH_03) can be redeemed",
                found.map(TradeStatus::description).unwrap_or("unknown status")
            ),
        )),
    }
}

/// Redeems the order's pickup code if it matches, is unused and the order is paid and
/// open, completing the order.
pub fn redeem(
    conn: &mut DbConnection,
    shop_id: i64,
    redemption: &Redemption,
) -> Result<RedeemOutcome, ShopError> {
    write_transaction(conn, |conn| {
        let now = now_utc();
        let (order_id, status): (i64, String) = orders::table
            .filter(orders::shop_id.eq(shop_id))
            .filter(orders::plat_order_no.eq(&redemption.plat_order_no))
            .select((orders::id, orders::trade_status))
            .first(conn)
            .optional()?
            .ok_or_else(|| {
                ShopError::rejected(
                    "PlatOrderNo",
                    format!("no order `{}` in this shop", redemption.plat_order_no),
                )
            })?;
        let stored: (
            String,
            Option<NaiveDateTime>,
            Option<String>,
            Option<String>,
        ) = pickup_codes::table
            .find(order_id)
            .select((
                pickup_codes::code,
                pickup_codes::redeemed_at,
                pickup_codes::store_id,
                pickup_codes::verify_way,
            ))
            .first(conn)
            .optional()?
            .ok_or_else(|| ShopError::rejected("PlatOrderNo", "the order has no pickup code"))?;
        if stored.0 != redemption.code {
            return Err(ShopError::rejected(
                "VerifyCode",
                "the pickup code does not match the order's",
            ));
        }
        if stored.1.is_none() {
            redeemable(&status)?;
        }
        let updated = diesel::update(pickup_codes::table.find(order_id))
            .filter(pickup_codes::redeemed_at.is_null())
            .set((
                pickup_codes::redeemed_at.eq(now),
                pickup_codes::store_id.eq(&redemption.store_id),
                pickup_codes::verify_way.eq(&redemption.verify_way),
            ))
            .execute(conn)?;
        if updated == 0 {
            return Ok(RedeemOutcome::AlreadyRedeemed {
                at: stored.1.unwrap_or(now),
                store_id: stored.2.unwrap_or_default(),
                verify_way: stored.3.unwrap_or_default(),
            });
        }
        diesel::update(orders::table.find(order_id))
            .set((
                orders::trade_status.eq(TradeStatus::Completed.code()),
                orders::modified_at.eq(now),
                orders::revision.eq(orders::revision + 1),
            ))
            .execute(conn)?;
        outbox::enqueue(
            conn,
            shop_id,
            Target::Jushuitan,
            Kind::Order,
            &redemption.plat_order_no,
        )?;
        Ok(RedeemOutcome::Redeemed)
    })
}
