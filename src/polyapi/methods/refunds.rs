//! GetRefund.

use serde_json::{Map, Value};

use super::{field, to_value, Call};
use crate::polyapi::biz::Biz;
use crate::polyapi::envelope::PolyError;
use crate::polyapi::wire::RefundItem;
use crate::shop::refunds;

/// Largest GetRefund page.
pub const MAX_REFUND_PAGE: i64 = 100;

/// 退货退款单下载: refunds changed in the window, stable by update time then id.
pub async fn get_refund(call: &Call, biz: &Biz) -> Result<Map<String, Value>, PolyError> {
    let page = biz.page(10, MAX_REFUND_PAGE)?;
    let window = biz
        .window("BeginTime", "EndTime", call.offset)?
        .ok_or_else(|| PolyError::missing("BeginTime"))?;
    let shop_id = call.shop.id;
    let found = call
        .db
        .run(move |conn| refunds::page(conn, shop_id, Some(window), page))
        .await?;
    let documents = found
        .items
        .iter()
        .map(|record| to_value(&RefundItem::from_record(record, call.offset)))
        .collect::<Result<Vec<_>, _>>()?;
    let mut answer = Map::new();
    field(&mut answer, "totalcount", found.total);
    field(&mut answer, "refunds", documents);
    Ok(answer)
}
