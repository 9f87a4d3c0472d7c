//! Refunds (退货退款单) and the goods they cover. A refund for a known order also
//! sets the refund status of the lines it covers, which is what stops their shipment.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{Page, PageOf, ShopError, UpsertCounts};
use crate::db::schema::{order_lines, orders, refund_goods, refunds};
use crate::db::{in_id_order, write_transaction, DbConnection};
use crate::outbox::{self, Kind, Target};
use crate::time::now_utc;

/// A refund's own fields, as the storefront writes them.
#[derive(Debug, Clone, PartialEq, Eq, Insertable, AsChangeset, Queryable, Selectable)]
#[diesel(table_name = refunds)]
pub struct RefundFields {
    /// Refund number (unique in the shop).
    pub refund_no: String,
    /// The order refunded.
    pub plat_order_no: String,
    /// The sub-order refunded; empty for the whole order.
    pub sub_plat_order_no: String,
    /// Order total, fen.
    pub total_amount: i64,
    /// Amount paid, fen.
    pub pay_amount: i64,
    /// Buyer's nickname.
    pub buyer_nick: String,
    /// Seller's nickname.
    pub seller_nick: String,
    /// Order status code as the refund reports it.
    pub order_status: String,
    /// Refund status code.
    pub refund_status: String,
    /// Goods status code.
    pub goods_status: String,
    /// Whether the buyer must return the goods.
    pub has_goods_return: bool,
    /// Reason.
    pub reason: String,
    /// Description.
    pub description: String,
    /// Quantity bought.
    pub product_num: i64,
    /// Carrier of the return.
    pub logistic_name: String,
    /// Tracking number of the return.
    pub logistic_no: String,
    /// When the refund was requested.
    pub created_at: NaiveDateTime,
    /// When it last changed.
    pub modified_at: NaiveDateTime,
}

/// One refunded item.
#[derive(Debug, Clone, PartialEq, Eq, Insertable, Queryable, Selectable)]
#[diesel(table_name = refund_goods)]
pub struct RefundGoodsFields {
    /// Platform product id.
    pub plat_product_id: String,
    /// Merchant's code.
    pub outer_id: String,
    /// SKU description.
    pub sku: String,
    /// Product name.
    pub product_name: String,
    /// Amount refunded, fen.
    pub refund_amount: i64,
    /// Reason.
    pub reason: String,
    /// Quantity.
    pub product_num: i64,
    /// Purchase order number.
    pub po_no: String,
    /// The order line (sub-order number) it is for; empty when the refund does not say.
    pub sub_order_no: String,
}

/// A refund to create or replace, with all its goods.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRefund {
    /// The refund.
    pub fields: RefundFields,
    /// Its goods.
    pub goods: Vec<RefundGoodsFields>,
    /// The lines (sub-order numbers) whose refund status it sets. `None`: the line
    /// `sub_plat_order_no` names, or every line when that is empty (the storefront's
    /// whole-order refund).
    pub lines: Option<Vec<String>>,
}

/// A stored refund.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRecord {
    /// Internal id.
    pub id: i64,
    /// The refund.
    pub fields: RefundFields,
    /// The order it belongs to, when the shop has it.
    pub order_id: Option<i64>,
    /// Its goods.
    pub goods: Vec<RefundGoodsFields>,
}

/// Creates or replaces the storefront's `items` (keyed by refund number) in one
/// transaction; a refund that has just become a return to book is announced to the
/// books (see `sales_returns`).
pub fn upsert(
    conn: &mut DbConnection,
    shop_id: i64,
    items: &[NewRefund],
) -> Result<UpsertCounts, ShopError> {
    let mut seen = HashSet::new();
    for (index, item) in items.iter().enumerate() {
        if !seen.insert(item.fields.refund_no.as_str()) {
            return Err(ShopError::rejected(
                format!("[{index}].refundno"),
                format!("`{}` appears twice in this request", item.fields.refund_no),
            ));
        }
    }
    write_transaction(conn, |conn| {
        let now = now_utc();
        let mut counts = UpsertCounts::default();
        for item in items {
            // A storefront refund is booked as a sales return once, when it becomes one.
            let becomes_return = super::sales_returns::refund_is_bookable(item)
                && !super::sales_returns::stored_refund_is_bookable(
                    conn,
                    shop_id,
                    &item.fields.refund_no,
                )?;
            let (_, created) = store(conn, shop_id, item, now)?;
            if becomes_return {
                super::sales_returns::announce_refund(conn, shop_id, &item.fields.refund_no)?;
            }
            if created {
                counts.created += 1;
            } else {
                counts.updated += 1;
            }
        }
        Ok(counts)
    })
}

/// Refuses the batch when a refund names an order the shop does not have, naming the
/// first such refund's field. The storefront only refunds its own orders; after-sales
/// pulled from elsewhere may precede the order and are stored without this check.
pub fn require_known_orders(
    conn: &mut DbConnection,
    shop_id: i64,
    items: &[NewRefund],
) -> Result<(), ShopError> {
    let numbers: Vec<&str> = items
        .iter()
        .map(|item| item.fields.plat_order_no.as_str())
        .collect();
    let mut known: HashSet<String> = HashSet::new();
    // In chunks: both databases bound the parameters of one statement.
    for chunk in numbers.chunks(500) {
        known.extend(
            orders::table
                .filter(orders::shop_id.eq(shop_id))
                .filter(orders::plat_order_no.eq_any(chunk))
                .select(orders::plat_order_no)
                .load::<String>(conn)?,
        );
    }
    match numbers.iter().position(|no| !known.contains(*no)) {
        None => Ok(()),
        Some(index) => Err(ShopError::rejected(
            format!("[{index}].PlatOrderNo"),
            format!("no order `{}` in this shop", numbers[index]),
        )),
    }
}

/// Creates or replaces one refund inside the caller's transaction and carries its
/// status onto the lines it covers; answers its id and whether it is new.
pub(super) fn store(
    conn: &mut DbConnection,
    shop_id: i64,
    item: &NewRefund,
    now: NaiveDateTime,
) -> Result<(i64, bool), ShopError> {
    let order_id: Option<i64> = orders::table
        .filter(orders::shop_id.eq(shop_id))
        .filter(orders::plat_order_no.eq(&item.fields.plat_order_no))
        .select(orders::id)
        .first(conn)
        .optional()?;
    let existing: Option<i64> = refunds::table
        .filter(refunds::shop_id.eq(shop_id))
        .filter(refunds::refund_no.eq(&item.fields.refund_no))
        .select(refunds::id)
        .first(conn)
        .optional()?;
    let (refund_id, created) = match existing {
        Some(id) => {
            diesel::update(refunds::table.find(id))
                .set((&item.fields, refunds::order_id.eq(order_id)))
                .execute(conn)?;
            diesel::delete(refund_goods::table.filter(refund_goods::refund_id.eq(id)))
                .execute(conn)?;
            (id, false)
        }
        None => {
            diesel::insert_into(refunds::table)
                .values((
                    refunds::shop_id.eq(shop_id),
                    &item.fields,
                    refunds::order_id.eq(order_id),
                ))
                .execute(conn)?;
            let id = refunds::table
                .filter(refunds::shop_id.eq(shop_id))
                .filter(refunds::refund_no.eq(&item.fields.refund_no))
                .select(refunds::id)
                .first(conn)?;
            (id, true)
        }
    };
    for goods in &item.goods {
        diesel::insert_into(refund_goods::table)
            .values((
                refund_goods::shop_id.eq(shop_id),
                refund_goods::refund_id.eq(refund_id),
                goods,
            ))
            .execute(conn)?;
    }
    if let Some(order_id) = order_id {
        mark_order_lines(
            conn,
            shop_id,
            order_id,
            &item.fields,
            item.lines.as_deref(),
            now,
        )?;
    }
    Ok((refund_id, created))
}

/// Carries the refund's status onto the lines it covers and moves the order's modified
/// time, so the ERP sees the change on its next download.
fn mark_order_lines(
    conn: &mut DbConnection,
    shop_id: i64,
    order_id: i64,
    refund: &RefundFields,
    covered: Option<&[String]>,
    now: NaiveDateTime,
) -> Result<(), ShopError> {
    let lines = order_lines::table
        .filter(order_lines::shop_id.eq(shop_id))
        .filter(order_lines::order_id.eq(order_id));
    match covered {
        Some(subs) => {
            diesel::update(lines.filter(order_lines::sub_order_no.eq_any(subs)))
                .set(order_lines::refund_status.eq(&refund.refund_status))
                .execute(conn)?;
        }
        None if refund.sub_plat_order_no.is_empty() => {
            diesel::update(lines)
                .set(order_lines::refund_status.eq(&refund.refund_status))
                .execute(conn)?;
        }
        None => {
            diesel::update(lines.filter(order_lines::sub_order_no.eq(&refund.sub_plat_order_no)))
                .set(order_lines::refund_status.eq(&refund.refund_status))
                .execute(conn)?;
        }
    }
    diesel::update(orders::table.find(order_id))
        .set((
            orders::modified_at.eq(now),
            orders::revision.eq(orders::revision + 1),
        ))
        .execute(conn)?;
    // Refunded in full before anything shipped: the warehouse must not ship it.
    let (status, no): (String, String) = orders::table
        .find(order_id)
        .select((orders::trade_status, orders::plat_order_no))
        .first(conn)?;
    let lines: Vec<(String, i64)> = order_lines::table
        .filter(order_lines::order_id.eq(order_id))
        .select((order_lines::refund_status, order_lines::shipped_count))
        .load(conn)?;
    let all_refunded = !lines.is_empty()
        && lines.iter().all(|(refund, shipped)| {
            refund == super::codes::RefundStatus::Succeeded.code() && *shipped == 0
        });
    if status == super::codes::TradeStatus::AwaitingShipment.code() && all_refunded {
        outbox::enqueue(conn, shop_id, Target::Wms, Kind::Cancel, &no)?;
    }
    Ok(())
}

/// Refunds changed inside an inclusive window (when given), by modified time then id.
pub fn page(
    conn: &mut DbConnection,
    shop_id: i64,
    window: Option<(NaiveDateTime, NaiveDateTime)>,
    page: Page,
) -> Result<PageOf<RefundRecord>, ShopError> {
    conn.transaction(|conn| {
        let filtered = || {
            let mut query = refunds::table
                .filter(refunds::shop_id.eq(shop_id))
                .into_boxed();
            if let Some((start, end)) = window {
                query = query
                    .filter(refunds::modified_at.ge(start))
                    .filter(refunds::modified_at.le(end));
            }
            query
        };
        let total: i64 = filtered().count().get_result(conn)?;
        let rows: Vec<(i64, RefundFields, Option<i64>)> = filtered()
            .order((refunds::modified_at.asc(), refunds::id.asc()))
            .limit(page.size)
            .offset(page.offset())
            .select((refunds::id, RefundFields::as_select(), refunds::order_id))
            .load(conn)?;
        let ids: Vec<i64> = rows.iter().map(|row| row.0).collect();
        let goods_rows: Vec<(i64, (i64, RefundGoodsFields))> = refund_goods::table
            .filter(refund_goods::shop_id.eq(shop_id))
            .filter(refund_goods::refund_id.eq_any(&ids))
            .select((
                refund_goods::id,
                (refund_goods::refund_id, RefundGoodsFields::as_select()),
            ))
            .load(conn)?;
        let mut goods: HashMap<i64, Vec<RefundGoodsFields>> = HashMap::new();
        for (refund_id, fields) in in_id_order(goods_rows) {
            goods.entry(refund_id).or_default().push(fields);
        }
        let items = rows
            .into_iter()
            .map(|(id, fields, order_id)| RefundRecord {
                id,
                fields,
                order_id,
                goods: goods.remove(&id).unwrap_or_default(),
            })
            .collect();
        Ok(PageOf { total, items })
    })
}

/// Default for a refund's modified time when the storefront does not give one.
pub fn default_modified_at() -> NaiveDateTime {
    now_utc()
}

/// The refund state of one order line, for the refund check before shipping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineRefund {
    /// The line's sub-order number.
    pub sub_order_no: String,
    /// The line's product name.
    pub product_name: String,
    /// Its refund status.
    pub status: super::codes::RefundStatus,
    /// The refund that covers it, if one is stored.
    pub refund_no: Option<String>,
}

/// The refund state of every line of an order; `Rejected` when the order is unknown.
pub fn line_refunds(
    conn: &mut DbConnection,
    shop_id: i64,
    plat_order_no: &str,
) -> Result<Vec<LineRefund>, ShopError> {
    use super::codes::RefundStatus;
    conn.transaction(|conn| {
        let order_id: i64 = orders::table
            .filter(orders::shop_id.eq(shop_id))
            .filter(orders::plat_order_no.eq(plat_order_no))
            .select(orders::id)
            .first(conn)
            .optional()?
            .ok_or_else(|| {
                ShopError::rejected(
                    "OrderID",
                    format!("no order `{plat_order_no}` in this shop"),
                )
            })?;
        let lines: Vec<(String, String, String)> = in_id_order(
            order_lines::table
                .filter(order_lines::shop_id.eq(shop_id))
                .filter(order_lines::order_id.eq(order_id))
                .select((
                    order_lines::id,
                    (
                        order_lines::sub_order_no,
                        order_lines::name,
                        order_lines::refund_status,
                    ),
                ))
                .load(conn)?,
        );
        // Newest first, sorted after reading for the same reason as the lines.
        let mut covering: Vec<(i64, NaiveDateTime, String, String)> = refunds::table
            .filter(refunds::shop_id.eq(shop_id))
            .filter(refunds::order_id.eq(order_id))
            .select((
                refunds::id,
                refunds::modified_at,
                refunds::refund_no,
                refunds::sub_plat_order_no,
            ))
            .load(conn)?;
        covering
            .sort_unstable_by_key(|(id, modified_at, _, _)| std::cmp::Reverse((*modified_at, *id)));
        let covering: Vec<(i64, String, String)> = covering
            .into_iter()
            .map(|(id, _, refund_no, sub)| (id, refund_no, sub))
            .collect();
        let ids: Vec<i64> = covering.iter().map(|(id, _, _)| *id).collect();
        // Refunds that name their lines per item cover those lines only.
        let mut named: HashMap<i64, Vec<String>> = HashMap::new();
        for (refund_id, sub) in refund_goods::table
            .filter(refund_goods::shop_id.eq(shop_id))
            .filter(refund_goods::refund_id.eq_any(&ids))
            .filter(refund_goods::sub_order_no.ne(""))
            .select((refund_goods::refund_id, refund_goods::sub_order_no))
            .load::<(i64, String)>(conn)?
        {
            named.entry(refund_id).or_default().push(sub);
        }
        Ok(lines
            .into_iter()
            .map(|(sub_order_no, product_name, status)| {
                let refund_no = covering
                    .iter()
                    .find(|(id, _, sub)| match named.get(id) {
                        _ if !sub.is_empty() => *sub == sub_order_no,
                        Some(subs) => subs.contains(&sub_order_no),
                        None => true,
                    })
                    .map(|(_, no, _)| no.clone());
                LineRefund {
                    status: RefundStatus::from_code(&status).unwrap_or(RefundStatus::None),
                    sub_order_no,
                    product_name,
                    refund_no,
                }
            })
            .collect())
    })
}

/// The order-level refund status of its lines. A refund still being handled on any line
/// is reported as such — the ERP must not ship until it is settled. Otherwise JH_06 when
/// every line's refund succeeded, JH_09 (partial) when some succeeded and the others
/// have none (or one that was closed or refused), the refunded lines' status when no
/// refund succeeded, and JH_07 when no line has a refund.
pub fn overall_status(lines: &[LineRefund]) -> super::codes::RefundStatus {
    use super::codes::RefundStatus;
    if let Some(open) = lines.iter().find(|line| line.status.is_open()) {
        return open.status;
    }
    let succeeded = lines
        .iter()
        .filter(|line| line.status == RefundStatus::Succeeded)
        .count();
    if succeeded > 0 {
        return if succeeded == lines.len() {
            RefundStatus::Succeeded
        } else {
            RefundStatus::Partial
        };
    }
    lines
        .iter()
        .map(|line| line.status)
        .find(|status| *status != RefundStatus::None)
        .unwrap_or(RefundStatus::None)
}

#[cfg(test)]
mod tests {
    use super::{overall_status, LineRefund};
    use crate::shop::codes::RefundStatus::{self, *};

    fn overall(statuses: &[RefundStatus]) -> RefundStatus {
        let lines: Vec<LineRefund> = statuses
            .iter()
            .map(|status| LineRefund {
                sub_order_no: String::new(),
                product_name: String::new(),
                status: *status,
                refund_no: Option::None,
            })
            .collect();
        overall_status(&lines)
    }

    #[test]
    fn partial_only_when_some_succeeded_and_the_rest_have_none() {
        assert_eq!(overall(&[]), None);
        assert_eq!(overall(&[None, None]), None);
        assert_eq!(overall(&[Succeeded, Succeeded]), Succeeded);
        assert_eq!(overall(&[Succeeded, None]), Partial);
        assert_eq!(overall(&[Succeeded, Closed]), Partial);
        assert_eq!(overall(&[Requested, None]), Requested);
        assert_eq!(overall(&[Succeeded, AwaitingReturn]), AwaitingReturn);
        assert_eq!(overall(&[None, Returned, Succeeded]), Returned);
        assert_eq!(overall(&[Closed, None]), Closed);
        assert_eq!(overall(&[Refused, Refused]), Refused);
    }
}
