//! GetOrder and CheckRefundStatus.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::{field, render, rendered_listing, Call};
use crate::polyapi::biz::Biz;
use crate::polyapi::envelope::{Answer, PolyError};
use crate::polyapi::rendered::RenderedOrders;
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
    let offset = call.offset;
    let anchors = call.db.shared::<PageAnchors>();
    let rendered = RenderedOrders::of(&call.db);
    // Rendered on the database's thread: the orders read are dropped where they were
    // made, and only their texts cross to the HTTP worker.
    let (total, texts) = call
        .db
        .run(move |conn| {
            let zone = rendered.in_zone(offset);
            let found = orders::page_kept(conn, &anchors, &zone, shop_id, &filter, page)?;
            let mut texts = Vec::with_capacity(found.items.len());
            for listed in found.items {
                let text = match (listed.kept, listed.record) {
                    (Some(kept), None) => kept,
                    (kept, Some(record)) => {
                        let text = render(&OrderItem::from_record(record, offset, false))?;
                        // Debug builds read every order: what was kept must be what it
                        // renders to now, or a change did not move the order's revision.
                        if let Some(kept) = kept {
                            assert_eq!(
                                kept.get(),
                                text.get(),
                                "order {} changed without its revision ({}) moving",
                                listed.id,
                                listed.revision
                            );
                        }
                        zone.keep(listed.id, listed.revision, Arc::clone(&text));
                        text
                    }
                    (None, None) => continue,
                };
                texts.push(text);
            }
            Ok::<_, PolyError>((found.total, texts))
        })
        .await?;
    Ok(rendered_listing("numtotalorder", total, "orders", texts))
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
