//! Returns to book in the shop's books as sales returns (金蝶云星空's 销售退货单): when
//! a return becomes one, and what its booking needs, read in one shape from either
//! source.
//!
//! - A Jushuitan after-sale becomes one when it is `Confirmed`, is a return (not an
//!   exchange or a resend) and has goods that came back (lines of type 退货 with
//!   `r_qty` > 0); its lines are those, with their batches.
//! - A storefront refund becomes one when it succeeded (JH_06) with goods returned
//!   (`HasGoodsReturn`) and names the goods (RefundGoods with a quantity); each such
//!   item is a line: its code the SKU, `ProductNum` the quantity back, `RefundAmount`
//!   the amount. Only in a shop that does not use Jushuitan: there Jushuitan's
//!   after-sale is the record of the same return, and booking both would book it twice.
//!
//! The booking is announced (an outbox row keyed by the return's number) in the
//! transaction in which the return becomes bookable, and only then: the number is the
//! bill number in the books, so a resend is recognised there, and a return changed
//! after it was booked is corrected in the books, not booked again.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::after_sales::AfterSale;
use super::codes::RefundStatus;
use super::refunds::NewRefund;
use super::ShopError;
use crate::db::schema::{
    after_sale_batches, after_sale_lines, after_sales, kingdee_bookings, refund_goods, refunds,
    shops,
};
use crate::db::{in_id_order, kept_text, DbConnection};
use crate::outbox::{self, Kind, Target};
use crate::time::now_utc;

/// Jushuitan's status of a confirmed after-sale.
const CONFIRMED: &str = "Confirmed";
/// Jushuitan's type of an after-sale line whose goods come back.
const RETURN_LINE: &str = "退货";

/// Where a return to book comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReturnSource {
    /// A Jushuitan after-sale (its number is the `as_id`).
    AfterSale,
    /// A refund posted by the storefront (its number is the refund number).
    StorefrontRefund,
}

impl ReturnSource {
    /// Stored code.
    pub fn code(self) -> &'static str {
        match self {
            Self::AfterSale => "after_sale",
            Self::StorefrontRefund => "storefront_refund",
        }
    }
}

/// A batch a returned line came back in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnedBatch {
    /// Batch number.
    pub batch_no: String,
    /// Production date, as the ERP wrote it.
    pub product_date: String,
    /// Quantity of the line in this batch.
    pub qty: i64,
}

/// One line of goods that came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnedLine {
    /// The merchant's SKU code.
    pub sku: String,
    /// Quantity received back.
    pub qty: i64,
    /// Amount of the line, fen.
    pub amount: i64,
    /// The batches it came back in, as the ERP gave them (none from the storefront).
    pub batches: Vec<ReturnedBatch>,
}

/// A return as its booking needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SalesReturn {
    /// Its number: the bill number in the books.
    pub number: String,
    /// Where it comes from.
    pub source: ReturnSource,
    /// The order's online number.
    pub so_id: String,
    /// When it was confirmed (the after-sale's confirm date, the refund's last change), UTC.
    pub date: NaiveDateTime,
    /// Remark.
    pub remark: String,
    /// Tracking number of the goods coming back.
    pub tracking_no: String,
    /// The warehouse (Jushuitan's `wms_co_id`) they came back to; empty when not named.
    pub warehouse: String,
    /// The goods that came back, each with a quantity above zero.
    pub lines: Vec<ReturnedLine>,
}

/// What a number names, as the books see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToBook {
    /// A return to book.
    Return(SalesReturn),
    /// Nothing to book, and why (no longer confirmed, no goods back…).
    Nothing(String),
}

/// Whether an after-sale, as pulled, is a return to book.
pub fn after_sale_is_bookable(record: &AfterSale) -> bool {
    record.status.trim() == CONFIRMED
        && record.kind() == super::after_sales::AfterSaleKind::Return
        && record
            .lines
            .iter()
            .any(|line| line.line_type.trim() == RETURN_LINE && line.r_qty > 0)
}

/// Whether the stored after-sale `id` is a return to book (before it is replaced).
pub(super) fn stored_after_sale_is_bookable(
    conn: &mut DbConnection,
    shop_id: i64,
    id: i64,
) -> Result<bool, ShopError> {
    let (status, kind): (String, String) = after_sales::table
        .find(id)
        .select((after_sales::status, after_sales::kind))
        .first(conn)?;
    if status.trim() != CONFIRMED || kind != super::after_sales::AfterSaleKind::Return.code() {
        return Ok(false);
    }
    let came_back: i64 = after_sale_lines::table
        .filter(after_sale_lines::shop_id.eq(shop_id))
        .filter(after_sale_lines::after_sale_id.eq(id))
        .filter(after_sale_lines::line_type.eq(RETURN_LINE))
        .filter(after_sale_lines::r_qty.gt(0))
        .count()
        .get_result(conn)?;
    Ok(came_back > 0)
}

/// Announces the booking of an after-sale that has just become bookable.
pub(super) fn announce_after_sale(
    conn: &mut DbConnection,
    shop_id: i64,
    as_id: &str,
) -> Result<(), ShopError> {
    outbox::enqueue(conn, shop_id, Target::Kingdee, Kind::SalesReturn, as_id)?;
    Ok(())
}

/// Whether a storefront refund is a return to book (the shop's use of Jushuitan aside).
pub fn refund_is_bookable(refund: &NewRefund) -> bool {
    refund.fields.refund_status == RefundStatus::Succeeded.code()
        && refund.fields.has_goods_return
        && refund.goods.iter().any(|goods| goods.product_num > 0)
}

/// Whether the stored storefront refund `refund_no` is a return to book (before it is
/// replaced); `false` when there is none.
pub(super) fn stored_refund_is_bookable(
    conn: &mut DbConnection,
    shop_id: i64,
    refund_no: &str,
) -> Result<bool, ShopError> {
    let stored: Option<(i64, String, bool)> = refunds::table
        .filter(refunds::shop_id.eq(shop_id))
        .filter(refunds::refund_no.eq(refund_no))
        .select((
            refunds::id,
            refunds::refund_status,
            refunds::has_goods_return,
        ))
        .first(conn)
        .optional()?;
    let Some((id, status, goods_back)) = stored else {
        return Ok(false);
    };
    if status != RefundStatus::Succeeded.code() || !goods_back {
        return Ok(false);
    }
    let named: i64 = refund_goods::table
        .filter(refund_goods::shop_id.eq(shop_id))
        .filter(refund_goods::refund_id.eq(id))
        .filter(refund_goods::product_num.gt(0))
        .count()
        .get_result(conn)?;
    Ok(named > 0)
}

/// Announces the booking of a storefront refund that has just become bookable, unless
/// the shop uses Jushuitan (whose after-sale books the same return).
pub(super) fn announce_refund(
    conn: &mut DbConnection,
    shop_id: i64,
    refund_no: &str,
) -> Result<(), ShopError> {
    let uses_jushuitan: bool = shops::table
        .find(shop_id)
        .select(shops::jushuitan_enabled)
        .first(conn)?;
    if uses_jushuitan {
        tracing::debug!(
            shop_id,
            refund_no,
            "storefront refund not booked: the shop's Jushuitan after-sale books it"
        );
        return Ok(());
    }
    outbox::enqueue(conn, shop_id, Target::Kingdee, Kind::SalesReturn, refund_no)?;
    Ok(())
}

/// What `number` names now: a Jushuitan after-sale of that `as_id`, else a storefront
/// refund of that number; `None` when neither exists.
pub fn find(
    conn: &mut DbConnection,
    shop_id: i64,
    number: &str,
) -> Result<Option<ToBook>, ShopError> {
    conn.transaction(|conn| match find_after_sale(conn, shop_id, number)? {
        Some(found) => Ok(Some(found)),
        None => find_refund(conn, shop_id, number),
    })
}

type AfterSaleHead = (
    i64,
    String,
    String,
    String,
    String,
    String,
    String,
    Option<NaiveDateTime>,
    NaiveDateTime,
);

fn find_after_sale(
    conn: &mut DbConnection,
    shop_id: i64,
    as_id: &str,
) -> Result<Option<ToBook>, ShopError> {
    let head: Option<AfterSaleHead> = after_sales::table
        .filter(after_sales::shop_id.eq(shop_id))
        .filter(after_sales::as_id.eq(as_id))
        .select((
            after_sales::id,
            after_sales::so_id,
            after_sales::kind,
            after_sales::status,
            after_sales::remark,
            after_sales::l_id,
            after_sales::wms_co_id,
            after_sales::confirm_date,
            after_sales::modified_at,
        ))
        .first(conn)
        .optional()?;
    let Some((id, so_id, kind, status, remark, l_id, wms_co_id, confirmed, modified)) = head else {
        return Ok(None);
    };
    if status.trim() != CONFIRMED {
        return Ok(Some(ToBook::Nothing(format!(
            "after-sale {as_id} is {status}, not Confirmed: nothing to book"
        ))));
    }
    if kind != super::after_sales::AfterSaleKind::Return.code() {
        return Ok(Some(ToBook::Nothing(format!(
            "after-sale {as_id} is an {kind}, not a return: nothing to book"
        ))));
    }
    // In id order after reading, not by ORDER BY (see [`in_id_order`]).
    let mut line_rows: Vec<(i64, String, i64, i64)> = after_sale_lines::table
        .filter(after_sale_lines::shop_id.eq(shop_id))
        .filter(after_sale_lines::after_sale_id.eq(id))
        .filter(after_sale_lines::line_type.eq(RETURN_LINE))
        .filter(after_sale_lines::r_qty.gt(0))
        .select((
            after_sale_lines::id,
            after_sale_lines::sku_id,
            after_sale_lines::r_qty,
            after_sale_lines::amount,
        ))
        .load(conn)?;
    line_rows.sort_unstable_by_key(|row| row.0);
    if line_rows.is_empty() {
        return Ok(Some(ToBook::Nothing(format!(
            "after-sale {as_id} has no goods received back (退货 lines with r_qty above 0): nothing to book"
        ))));
    }
    let line_ids: Vec<i64> = line_rows.iter().map(|row| row.0).collect();
    let batch_rows: Vec<(i64, String, String, i64)> = in_id_order(
        after_sale_batches::table
            .filter(after_sale_batches::shop_id.eq(shop_id))
            .filter(after_sale_batches::line_id.eq_any(&line_ids))
            .select((
                after_sale_batches::id,
                (
                    after_sale_batches::line_id,
                    after_sale_batches::batch_no,
                    after_sale_batches::product_date,
                    after_sale_batches::qty,
                ),
            ))
            .load(conn)?,
    );
    let lines = line_rows
        .into_iter()
        .map(|(line_id, sku, qty, amount)| ReturnedLine {
            sku,
            qty,
            amount,
            batches: batch_rows
                .iter()
                .filter(|batch| batch.0 == line_id)
                .map(|(_, batch_no, product_date, qty)| ReturnedBatch {
                    batch_no: batch_no.clone(),
                    product_date: product_date.clone(),
                    qty: *qty,
                })
                .collect(),
        })
        .collect();
    Ok(Some(ToBook::Return(SalesReturn {
        number: as_id.to_owned(),
        source: ReturnSource::AfterSale,
        so_id,
        date: confirmed.unwrap_or(modified),
        remark,
        tracking_no: l_id,
        warehouse: wms_co_id,
        lines,
    })))
}

type RefundHead = (i64, String, String, bool, String, String, NaiveDateTime);

fn find_refund(
    conn: &mut DbConnection,
    shop_id: i64,
    refund_no: &str,
) -> Result<Option<ToBook>, ShopError> {
    let head: Option<RefundHead> = refunds::table
        .filter(refunds::shop_id.eq(shop_id))
        .filter(refunds::refund_no.eq(refund_no))
        .select((
            refunds::id,
            refunds::plat_order_no,
            refunds::refund_status,
            refunds::has_goods_return,
            refunds::description,
            refunds::logistic_no,
            refunds::modified_at,
        ))
        .first(conn)
        .optional()?;
    let Some((id, plat_order_no, status, goods_back, description, logistic_no, modified)) = head
    else {
        return Ok(None);
    };
    if status != RefundStatus::Succeeded.code() || !goods_back {
        return Ok(Some(ToBook::Nothing(format!(
            "refund {refund_no} is {status}{}: only a successful refund (JH_06) with goods returned is booked",
            if goods_back { "" } else { " without goods returned" }
        ))));
    }
    let goods = refund_goods::table
        .filter(refund_goods::shop_id.eq(shop_id))
        .filter(refund_goods::refund_id.eq(id))
        .filter(refund_goods::product_num.gt(0))
        .select((
            refund_goods::id,
            (
                refund_goods::outer_id,
                refund_goods::product_num,
                refund_goods::refund_amount,
            ),
        ))
        .load::<(i64, (String, i64, i64))>(conn)?;
    let lines: Vec<ReturnedLine> = in_id_order(goods)
        .into_iter()
        .map(|(sku, qty, amount)| ReturnedLine {
            sku,
            qty,
            amount,
            batches: Vec::new(),
        })
        .collect();
    if lines.is_empty() {
        return Ok(Some(ToBook::Nothing(format!(
            "refund {refund_no} names no returned goods (RefundGoods with a ProductNum): nothing to book"
        ))));
    }
    Ok(Some(ToBook::Return(SalesReturn {
        number: refund_no.to_owned(),
        source: ReturnSource::StorefrontRefund,
        so_id: plat_order_no,
        date: modified,
        remark: description,
        tracking_no: logistic_no,
        warehouse: String::new(),
        lines,
    })))
}

/// How the books took a return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BookingOutcome {
    /// A bill was made now.
    Saved,
    /// The books already held a bill of this number (a resend).
    AlreadyBooked,
}

impl BookingOutcome {
    /// Stored code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Saved => "saved",
            Self::AlreadyBooked => "already_booked",
        }
    }
}

/// A return the books took, with the bill they made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Booking {
    /// The return's number (the bill number sent).
    pub bill_no: String,
    /// Where the return came from.
    pub source: ReturnSource,
    /// How the books took it.
    pub outcome: BookingOutcome,
    /// The bill's id in the books; empty when they only said it exists.
    pub bill_id: String,
    /// The bill's number in the books.
    pub bill_number: String,
}

/// Longest id or number of the books' kept.
const MAX_BOOKS_TEXT: usize = 100;

/// Keeps what the books answered for these returns in one transaction; a later answer
/// for the same number replaces an earlier one, except that "already booked" never
/// replaces the bill that was saved.
pub fn record_bookings(
    conn: &mut DbConnection,
    shop_id: i64,
    bookings: &[Booking],
) -> Result<(), ShopError> {
    crate::db::write_transaction(conn, |conn| {
        let now = now_utc();
        for booking in bookings {
            let bill_no = booking.bill_no.as_str();
            let row = kingdee_bookings::table
                .filter(kingdee_bookings::shop_id.eq(shop_id))
                .filter(kingdee_bookings::bill_no.eq(bill_no));
            let exists: i64 = row.count().get_result(conn)?;
            if exists > 0 && booking.outcome == BookingOutcome::AlreadyBooked {
                continue;
            }
            let values = (
                kingdee_bookings::source.eq(booking.source.code()),
                kingdee_bookings::outcome.eq(booking.outcome.code()),
                kingdee_bookings::kingdee_id.eq(kept_text(&booking.bill_id, MAX_BOOKS_TEXT)),
                kingdee_bookings::kingdee_number
                    .eq(kept_text(&booking.bill_number, MAX_BOOKS_TEXT)),
                kingdee_bookings::booked_at.eq(now),
            );
            if exists > 0 {
                diesel::update(row).set(values).execute(conn)?;
            } else {
                diesel::insert_into(kingdee_bookings::table)
                    .values((
                        kingdee_bookings::shop_id.eq(shop_id),
                        kingdee_bookings::bill_no.eq(bill_no),
                        values,
                    ))
                    .execute(conn)?;
            }
        }
        Ok(())
    })
}
