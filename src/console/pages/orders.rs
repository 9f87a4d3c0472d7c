//! Orders: a search by number, status and the days they were placed; and one order with
//! its lines, shipments (and who reported them), refunds, pickup code state and outbox
//! rows. The receiver's address, phone and identity are not shown, nor the pickup code.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::{NaiveDate, NaiveDateTime, NaiveTime, TimeDelta};

use super::{chosen_shop, chrome, render, shop_and_key, shops, OutboxRowView};
use crate::console::auth::{state_of, Signed};
use crate::console::error::ConsoleError;
use crate::console::form::{clip, Form};
use crate::console::view::{money, Chrome};
use crate::reports::orders::{self as report, OrderSearch};
use crate::reports::outbox::rows_of_order;
use crate::shop::codes::TradeStatus;
use crate::shop::orders;

/// Orders on one page of the search.
const PAGE_SIZE: i64 = 50;
/// Deepest page.
const MAX_PAGE: i64 = 1_000;
/// Longest order number accepted.
const MAX_NUMBER: usize = 128;

struct OrderRow {
    number: String,
    status: String,
    placed: String,
    modified: String,
    paid: String,
}

#[derive(Template)]
#[template(path = "console/orders.html")]
struct OrdersPage {
    chrome: Chrome,
    shops: Vec<(String, bool)>,
    shop: String,
    number: String,
    statuses: Vec<(&'static str, &'static str, bool)>,
    from: String,
    to: String,
    rows: Vec<OrderRow>,
    next_href: Option<String>,
}

/// A day typed in the console's zone, as the UTC time its midnight is.
fn day_start(
    query: &Form,
    field: &str,
    offset: chrono::FixedOffset,
) -> Result<Option<(String, NaiveDateTime)>, ConsoleError> {
    let Some(text) = query.one(field)? else {
        return Ok(None);
    };
    let day = NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .filter(|day| (1970..=2999).contains(&chrono::Datelike::year(day)))
        .ok_or_else(|| {
            ConsoleError::invalid(
                field,
                format!("`{}` is not a date (YYYY-MM-DD)", clip(text)),
            )
        })?;
    Ok(Some((
        text.to_owned(),
        NaiveDateTime::new(day, NaiveTime::MIN) - offset,
    )))
}

/// `GET /console/orders`
pub async fn list(request: HttpRequest, signed: Signed) -> Result<HttpResponse, ConsoleError> {
    let state = state_of(&request)?;
    let offset = state.console.offset;
    let chrome = chrome(&request, &state, &signed, "/console/orders", "orders.title");
    let query = Form::parse(request.query_string().as_bytes())?;
    let all_shops = shops(&state);
    let shop = match chosen_shop(&state, &query, "shop")? {
        Some(shop) => Some(shop),
        None => all_shops.first().cloned(),
    };
    let number = query.text("number", MAX_NUMBER)?.map(str::to_owned);
    let status = match query.one("status")? {
        None => None,
        Some(code) => Some(
            TradeStatus::ALL
                .iter()
                .copied()
                .find(|status| status.code() == code)
                .ok_or_else(|| {
                    ConsoleError::invalid(
                        "status",
                        format!("`{}` is not one of {}", clip(code), TradeStatus::expected()),
                    )
                })?,
        ),
    };
    let from = day_start(&query, "from", offset)?;
    let to = day_start(&query, "to", offset)?;
    let page = query.number("page", 1..=MAX_PAGE)?.unwrap_or(1);
    let mut rows = Vec::new();
    let mut next_href = None;
    if let Some(shop) = &shop {
        let search = OrderSearch {
            shop_id: shop.id,
            plat_order_no: number.clone(),
            status,
            from: from.as_ref().map(|(_, at)| *at),
            until: to.as_ref().map(|(_, at)| *at + TimeDelta::days(1)),
            offset: (page - 1) * PAGE_SIZE,
            limit: PAGE_SIZE + 1,
        };
        let mut found = state
            .db
            .run(move |conn| report::search(conn, &search))
            .await?;
        if found.len() as i64 > PAGE_SIZE {
            found.truncate(PAGE_SIZE as usize);
            if page < MAX_PAGE {
                let mut next = form_urlencoded::Serializer::new(String::new());
                for (name, value) in [
                    ("shop", Some(shop.code.as_str())),
                    ("number", number.as_deref()),
                    ("status", status.map(TradeStatus::code)),
                    ("from", from.as_ref().map(|(text, _)| text.as_str())),
                    ("to", to.as_ref().map(|(text, _)| text.as_str())),
                ] {
                    if let Some(value) = value {
                        next.append_pair(name, value);
                    }
                }
                next.append_pair("page", &(page + 1).to_string());
                next_href = Some(format!("/console/orders?{}", next.finish()));
            }
        }
        rows = found
            .into_iter()
            .map(|order| OrderRow {
                status: chrome.code_label("status", &order.trade_status),
                placed: chrome.time(order.created_at),
                modified: chrome.time(order.modified_at),
                paid: money(order.real_money),
                number: order.plat_order_no,
            })
            .collect();
    }
    let shop_code = shop.map(|shop| shop.code).unwrap_or_default();
    let page = OrdersPage {
        shops: all_shops
            .iter()
            .map(|s| (s.code.clone(), s.code == shop_code))
            .collect(),
        shop: shop_code,
        number: number.unwrap_or_default(),
        statuses: TradeStatus::ALL
            .iter()
            .map(|s| {
                (
                    s.code(),
                    chrome.t(&format!("status.{}", s.code())),
                    Some(*s) == status,
                )
            })
            .collect(),
        from: from.map(|(text, _)| text).unwrap_or_default(),
        to: to.map(|(text, _)| text).unwrap_or_default(),
        rows,
        next_href,
        chrome,
    };
    render(&page)
}

struct LineRow {
    sub_no: String,
    name: String,
    code: String,
    count: i64,
    shipped: i64,
    price: String,
    refund_status: String,
}

struct ShipmentRow {
    carrier: String,
    tracking: String,
    source: String,
    lines: String,
    at: String,
}

struct RefundRow {
    number: String,
    status: String,
    sub_no: String,
    amount: String,
    reason: String,
    modified: String,
}

#[derive(Template)]
#[template(path = "console/order.html")]
struct OrderPage {
    chrome: Chrome,
    shop: String,
    number: String,
    facts: Vec<(&'static str, String)>,
    lines: Vec<LineRow>,
    shipments: Vec<ShipmentRow>,
    refunds: Vec<RefundRow>,
    outbox: Vec<OutboxRowView>,
}

/// `GET /console/orders/{shop}/{number}`
pub async fn detail(
    request: HttpRequest,
    signed: Signed,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ConsoleError> {
    let state = state_of(&request)?;
    let (shop, number) = shop_and_key(&state, path.into_inner(), "number", MAX_NUMBER)?;
    let shop_id = shop.id;
    let wanted = number.clone();
    let found = state
        .db
        .run(move |conn| {
            let Some(order) = orders::find(conn, shop_id, &wanted)? else {
                return Ok::<_, ConsoleError>(None);
            };
            let shipments = report::shipments_of(conn, shop_id, order.id)?;
            let refunds = report::refunds_of(conn, shop_id, order.id)?;
            let outbox = rows_of_order(conn, shop_id, &wanted)?;
            Ok(Some((order, shipments, refunds, outbox)))
        })
        .await?;
    let (order, shipments, refunds, outbox) =
        found.ok_or_else(|| ConsoleError::NotFound(format!("order `{}`", clip(&number))))?;
    let chrome = chrome(&request, &state, &signed, "/console/orders", "order.title");
    let header = &order.header;
    let receiver = &order.receiver;
    let pickup = match &order.pickup_code {
        None => chrome.t("order.pickup_none").to_owned(),
        Some(code) => match code.redeemed_at {
            None => chrome.t("order.pickup_open").to_owned(),
            Some(at) => format!(
                "{} · {} · {}",
                chrome.t("order.pickup_used"),
                chrome.time(at),
                code.store_id.clone().unwrap_or_default()
            ),
        },
    };
    let facts = vec![
        (
            chrome.t("field.status"),
            chrome.code_label("status", &header.trade_status),
        ),
        (chrome.t("orders.placed"), chrome.time(header.created_at)),
        (
            chrome.t("order.paid_at"),
            chrome.time_or_dash(header.pay_time),
        ),
        (chrome.t("orders.modified"), chrome.time(order.modified_at)),
        (chrome.t("orders.paid"), money(header.real_money)),
        (chrome.t("order.buyer"), header.nick.clone()),
        (
            chrome.t("order.receiver"),
            [
                receiver.receiver_name.as_str(),
                receiver.province.as_str(),
                receiver.city.as_str(),
                receiver.area.as_str(),
            ]
            .into_iter()
            .filter(|part| !part.is_empty())
            .collect::<Vec<_>>()
            .join(" "),
        ),
        (chrome.t("order.memo"), header.seller_remark.clone()),
        (chrome.t("order.pickup"), pickup),
    ];
    let all_shops = shops(&state);
    let page = OrderPage {
        shop: shop.code.clone(),
        number: header.plat_order_no.clone(),
        facts,
        lines: order
            .lines
            .iter()
            .map(|line| LineRow {
                sub_no: line.fields.sub_order_no.clone(),
                name: line.fields.name.clone(),
                code: line.fields.outer_id.clone(),
                count: line.fields.goods_count,
                shipped: line.shipped_count,
                price: money(line.fields.price),
                refund_status: line.fields.refund_status.clone(),
            })
            .collect(),
        shipments: shipments
            .into_iter()
            .map(|shipment| ShipmentRow {
                carrier: format!("{} ({})", shipment.logistic_name, shipment.logistic_type),
                tracking: shipment.logistic_no,
                source: chrome.code_label("source", &shipment.source),
                lines: shipment
                    .lines
                    .iter()
                    .map(|(sub, count)| format!("{sub} × {count}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                at: chrome.time(shipment.created_at),
            })
            .collect(),
        refunds: refunds
            .into_iter()
            .map(|refund| RefundRow {
                number: refund.refund_no,
                status: refund.refund_status,
                sub_no: refund.sub_plat_order_no,
                amount: money(refund.total_amount),
                reason: refund.reason,
                modified: chrome.time(refund.modified_at),
            })
            .collect(),
        outbox: outbox
            .into_iter()
            .map(|row| OutboxRowView::new(&chrome, &all_shops, row))
            .collect(),
        chrome,
    };
    render(&page)
}
