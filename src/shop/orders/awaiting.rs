//! Orders a partner was told of and whose shipment it has not reported yet.

use diesel::prelude::*;

use crate::db::schema::{orders, outbox};
use crate::db::DbConnection;
use crate::outbox::{Kind, State, Target};
use crate::shop::codes::TradeStatus;
use crate::shop::ShopError;

/// Up to `limit` numbers of orders still awaiting shipment whose latest state `target`
/// has taken (their order row is done), oldest first.
pub fn awaiting_shipment_at(
    conn: &mut DbConnection,
    shop_id: i64,
    target: Target,
    limit: i64,
) -> Result<Vec<String>, ShopError> {
    let taken = outbox::table
        .filter(outbox::shop_id.eq(shop_id))
        .filter(outbox::target.eq(target.code()))
        .filter(outbox::kind.eq(Kind::Order.code()))
        .filter(outbox::state.eq(State::Done.code()))
        .select(outbox::subject);
    Ok(orders::table
        .filter(orders::shop_id.eq(shop_id))
        .filter(orders::trade_status.eq(TradeStatus::AwaitingShipment.code()))
        .filter(orders::plat_order_no.eq_any(taken))
        .order(orders::id.asc())
        .select(orders::plat_order_no)
        .limit(limit)
        .load(conn)?)
}
