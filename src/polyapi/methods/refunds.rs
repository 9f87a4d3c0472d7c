//! GetRefund.

use super::{listing, Call};
use crate::polyapi::biz::Biz;
use crate::polyapi::envelope::{Answer, PolyError};
use crate::polyapi::wire::RefundItem;
use crate::shop::refunds;

/// Largest GetRefund page.
pub const MAX_REFUND_PAGE: i64 = 100;

/// 退货退款单下载: refunds changed in the window, stable by update time then id.
pub async fn get_refund(call: &Call, biz: &Biz) -> Result<Answer, PolyError> {
    let page = biz.page(10, MAX_REFUND_PAGE)?;
    let window = biz
        .window("BeginTime", "EndTime", call.offset)?
        .ok_or_else(|| PolyError::missing("BeginTime"))?;
    let shop_id = call.shop.id;
    let found = call
        .db
        .run(move |conn| refunds::page(conn, shop_id, Some(window), page))
        .await?;
    listing(
        "totalcount",
        found.total,
        "refunds",
        found
            .items
            .iter()
            .map(|record| RefundItem::from_record(record, call.offset)),
    )
}
