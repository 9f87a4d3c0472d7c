//! GetOrder and CheckRefundStatus.

use serde_json::{Map, Value};

use super::{field, listing, Call};
use crate::polyapi::biz::Biz;
use crate::polyapi::envelope::{Answer, PolyError};
use crate::polyapi::wire::OrderItem;
use crate::shop::codes::{RefundStatus, TradeStatus};
use crate::shop::orders::{self, OrderFilter, OrderTime, PageAnchors, TimeWindow};
use crate::shop::refunds;

/// Largest GetOrder page.
pub const MAX_ORDER_PAGE: i64 = 100;

/// 订单下载: one order by number, or a stable page of orders by status and time window.
pub async fn get_order(call: &Call, biz: &Biz) -> Result<Answer, PolyError> {
    let page = biz.page(30, MAX_ORDER_PAGE)?;
    let filter = match biz.text("PlatOrderNo")? {
        Some(no) => OrderFilter {
            plat_order_no: Some(no),
            ..OrderFilter::default()
        },
        None => {
            let status = match biz.text("OrderStatus")? {
                None => None,
                Some(code) if code.eq_ignore_ascii_case("JH_99") => None,
                Some(code) => Some(TradeStatus::from_code(&code).ok_or_else(|| {
                    PolyError::invalid(
                        "OrderStatus",
                        format!("`{code}` is not one of {}, JH_99", TradeStatus::expected()),
                    )
                })?),
            };
            let time = match biz.text("TimeType")?.as_deref() {
                None => OrderTime::Modified,
                Some(code) if code.eq_ignore_ascii_case("JH_01") => OrderTime::Modified,
                Some(code) if code.eq_ignore_ascii_case("JH_02") => OrderTime::Created,
                Some(code) => {
                    return Err(PolyError::invalid(
                        "TimeType",
                        format!("`{code}` is not JH_01 or JH_02"),
                    ))
                }
            };
            let window = biz
                .window("StartTime", "EndTime", call.offset)?
                .map(|(start, end)| TimeWindow::through_second(time, start, end));
            OrderFilter {
                status,
                window,
                plat_order_no: None,
            }
        }
    };
    let shop_id = call.shop.id;
    let anchors = call.db.shared::<PageAnchors>();
    let found = call
        .db
        .run(move |conn| orders::page(conn, &anchors, shop_id, &filter, page))
        .await?;
    listing(
        "numtotalorder",
        found.total,
        "orders",
        found
            .items
            .iter()
            .map(|record| OrderItem::from_record(record, call.offset, false)),
    )
}

/// 退款检测: the order's refund status and each refunded line's.
pub async fn check_refund_status(call: &Call, biz: &Biz) -> Result<Map<String, Value>, PolyError> {
    let order = biz.required_text("OrderID")?;
    let shop_id = call.shop.id;
    let lines = call
        .db
        .run(move |conn| refunds::line_refunds(conn, shop_id, &order))
        .await?;
    let overall = refunds::overall_status(&lines);
    let children: Vec<Value> = lines
        .iter()
        .filter(|line| line.status != RefundStatus::None)
        .map(|line| {
            serde_json::json!({
                "refundno": line.refund_no.clone().unwrap_or_default(),
                "ProductName": line.product_name,
                "refundStatus": line.status.code(),
                "refundStatusdescription": line.status.description(),
            })
        })
        .collect();
    let mut answer = Map::new();
    field(&mut answer, "refundStatus", overall.code());
    field(
        &mut answer,
        "refundStatusdescription",
        overall.description(),
    );
    field(&mut answer, "childrenrefundStatus", children);
    Ok(answer)
}
