//! After-sales (售后) as the ERP reports them: returns and refunds, exchanges, resends.
//! Every record is kept per item as it came — the quantity received back, batches,
//! warehouse, confirmation date — so the returns can be booked later line by line. A
//! return or refund also becomes the shop's refund of exactly the lines it names; an
//! exchange or a resend is kept for the operator and changes no refund status.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::codes::{GoodsStatus, RefundStatus};
use super::refunds::{self, NewRefund, RefundFields, RefundGoodsFields};
use super::sales_returns;
use super::{ShopError, UpsertCounts};
use crate::db::schema::{after_sale_batches, after_sale_lines, after_sales, order_lines, orders};
use crate::db::{in_id_order, write_transaction, DbConnection};
use crate::time::now_utc;

/// What an after-sale asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterSaleKind {
    /// Goods back and money back, or money back only: a refund.
    Return,
    /// Goods back, other goods out.
    Exchange,
    /// Goods sent again.
    Resend,
    /// Anything else (repair, other).
    Other,
}

impl AfterSaleKind {
    /// Stored code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Return => "return",
            Self::Exchange => "exchange",
            Self::Resend => "resend",
            Self::Other => "other",
        }
    }
}

/// One batch an item came back in.
#[derive(Debug, Clone, PartialEq, Eq, Insertable)]
#[diesel(table_name = after_sale_batches)]
pub struct AfterSaleBatch {
    /// Merchant's SKU code.
    pub sku_id: String,
    /// Quantity.
    pub qty: i64,
    /// Batch number.
    pub batch_no: String,
    /// Production date, as given.
    pub product_date: String,
    /// Supplier's id.
    pub supplier_id: String,
    /// Supplier's name.
    pub supplier_name: String,
}

/// One item of an after-sale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AfterSaleLine {
    /// The item's own id.
    pub asi_id: String,
    /// Its type as the ERP writes it: 退货 (return), 换货 (exchange), 补发 (resend).
    pub line_type: String,
    /// Merchant's SKU code.
    pub sku_id: String,
    /// The sub-order number it names, if any.
    pub outer_oi_id: String,
    /// Product name.
    pub name: String,
    /// Specification.
    pub properties_value: String,
    /// Quantity applied for.
    pub qty: i64,
    /// Quantity really received back.
    pub r_qty: i64,
    /// Unit price, fen.
    pub price: i64,
    /// Amount, fen.
    pub amount: i64,
    /// Batches it came back in.
    pub batches: Vec<AfterSaleBatch>,
}

impl AfterSaleLine {
    /// Whether the item is goods (or money) coming back rather than going out.
    fn is_return(&self) -> bool {
        matches!(self.line_type.trim(), "退货" | "")
    }
}

/// An after-sale record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AfterSale {
    /// The after-sale's id (as_id); a refund made of it carries it as refund number.
    pub as_id: String,
    /// The order's online number (so_id = PlatOrderNo).
    pub so_id: String,
    /// The ERP's internal order number.
    pub o_id: String,
    /// The record's own type, when the ERP gives one (普通退货, 仅退款, 换货…).
    pub as_type: String,
    /// The ERP's status (WaitConfirm, Confirmed, Cancelled…).
    pub status: String,
    /// The platform-side refund status, as given.
    pub shop_status: String,
    /// The goods status, as given.
    pub good_status: String,
    /// The refund status it means for the shop.
    pub refund_status: RefundStatus,
    /// The goods status it means for the shop.
    pub goods_status: GoodsStatus,
    /// Amount refunded, fen.
    pub refund: i64,
    /// Compensation, fen.
    pub payment: i64,
    /// Freight refunded, fen.
    pub freight: i64,
    /// The warehouse (分仓) the goods came back to.
    pub wms_co_id: String,
    /// The warehouse's name.
    pub warehouse: String,
    /// Tracking number of the goods coming back.
    pub l_id: String,
    /// Their carrier.
    pub logistics_company: String,
    /// Why (问题类型).
    pub question_type: String,
    /// Remark.
    pub remark: String,
    /// Buyer's account.
    pub buyer: String,
    /// When it was last confirmed.
    pub confirm_date: Option<NaiveDateTime>,
    /// When the buyer applied.
    pub as_date: Option<NaiveDateTime>,
    /// When it was registered.
    pub created_at: NaiveDateTime,
    /// When it last changed.
    pub modified_at: NaiveDateTime,
    /// Its items.
    pub lines: Vec<AfterSaleLine>,
}

impl AfterSale {
    /// What it asks for: an exchange or a resend when any item is one (or the record
    /// says so), a return for items coming back or a refund only, anything else other.
    pub fn kind(&self) -> AfterSaleKind {
        let types = || {
            self.lines
                .iter()
                .map(|line| line.line_type.as_str())
                .chain([self.as_type.as_str()])
        };
        if types().any(|t| t.contains("换货")) {
            AfterSaleKind::Exchange
        } else if types().any(|t| t.contains("补发")) {
            AfterSaleKind::Resend
        } else if self.as_type.trim().is_empty() || self.as_type.contains('退') {
            AfterSaleKind::Return
        } else {
            AfterSaleKind::Other
        }
    }
}

/// Stores after-sale records in one transaction: each replaces the one of its `as_id`
/// with all its items and batches; a return also creates or replaces the refund of the
/// same number, setting the refund status of the lines its items name and no other; a
/// return that has just become one to book is announced to the books (the outbox).
pub fn record(
    conn: &mut DbConnection,
    shop_id: i64,
    records: &[AfterSale],
) -> Result<UpsertCounts, ShopError> {
    write_transaction(conn, |conn| {
        let now = now_utc();
        let mut counts = UpsertCounts::default();
        for record in records {
            if record_one(conn, shop_id, record, now)? {
                counts.created += 1;
            } else {
                counts.updated += 1;
            }
        }
        Ok(counts)
    })
}

/// Stores one record; answers whether it is new.
fn record_one(
    conn: &mut DbConnection,
    shop_id: i64,
    record: &AfterSale,
    now: NaiveDateTime,
) -> Result<bool, ShopError> {
    let order_id: Option<i64> = orders::table
        .filter(orders::shop_id.eq(shop_id))
        .filter(orders::plat_order_no.eq(&record.so_id))
        .select(orders::id)
        .first(conn)
        .optional()?;
    let order_lines: Vec<(String, String)> = match order_id {
        Some(order_id) => in_id_order(
            order_lines::table
                .filter(order_lines::shop_id.eq(shop_id))
                .filter(order_lines::order_id.eq(order_id))
                .select((
                    order_lines::id,
                    (order_lines::sub_order_no, order_lines::outer_id),
                ))
                .load(conn)?,
        ),
        None => Vec::new(),
    };
    let matched = match_lines(&record.lines, &order_lines);
    let kind = record.kind();
    let refund_id = if kind == AfterSaleKind::Return {
        let refund = as_refund(record, &matched);
        Some(refunds::store(conn, shop_id, &refund, now)?.0)
    } else {
        tracing::info!(shop_id, as_id = %record.as_id, so_id = %record.so_id, kind = kind.code(), "after-sale kept for the operator; no refund");
        None
    };
    let existing: Option<i64> = after_sales::table
        .filter(after_sales::shop_id.eq(shop_id))
        .filter(after_sales::as_id.eq(&record.as_id))
        .select(after_sales::id)
        .first(conn)
        .optional()?;
    let was_bookable = match existing {
        Some(id) => sales_returns::stored_after_sale_is_bookable(conn, shop_id, id)?,
        None => false,
    };
    let values = (
        after_sales::so_id.eq(&record.so_id),
        after_sales::o_id.eq(&record.o_id),
        after_sales::kind.eq(kind.code()),
        after_sales::as_type.eq(&record.as_type),
        after_sales::status.eq(&record.status),
        after_sales::shop_status.eq(&record.shop_status),
        after_sales::good_status.eq(&record.good_status),
        after_sales::refund.eq(record.refund),
        after_sales::payment.eq(record.payment),
        after_sales::freight.eq(record.freight),
        after_sales::wms_co_id.eq(&record.wms_co_id),
        after_sales::warehouse.eq(&record.warehouse),
        after_sales::l_id.eq(&record.l_id),
        after_sales::logistics_company.eq(&record.logistics_company),
        after_sales::question_type.eq(&record.question_type),
        after_sales::remark.eq(&record.remark),
    );
    let when = (
        after_sales::confirm_date.eq(record.confirm_date),
        after_sales::as_date.eq(record.as_date),
        after_sales::order_id.eq(order_id),
        after_sales::refund_id.eq(refund_id),
        after_sales::created_at.eq(record.created_at),
        after_sales::modified_at.eq(record.modified_at),
        after_sales::received_at.eq(now),
    );
    let id = match existing {
        Some(id) => {
            diesel::update(after_sales::table.find(id))
                .set((values, when))
                .execute(conn)?;
            // Batches go with their lines (ON DELETE CASCADE).
            diesel::delete(after_sale_lines::table.filter(after_sale_lines::after_sale_id.eq(id)))
                .execute(conn)?;
            id
        }
        None => {
            diesel::insert_into(after_sales::table)
                .values((
                    after_sales::shop_id.eq(shop_id),
                    after_sales::as_id.eq(&record.as_id),
                    values,
                    when,
                ))
                .execute(conn)?;
            after_sales::table
                .filter(after_sales::shop_id.eq(shop_id))
                .filter(after_sales::as_id.eq(&record.as_id))
                .select(after_sales::id)
                .first(conn)?
        }
    };
    for (line, sub_order_no) in record.lines.iter().zip(&matched) {
        diesel::insert_into(after_sale_lines::table)
            .values((
                after_sale_lines::shop_id.eq(shop_id),
                after_sale_lines::after_sale_id.eq(id),
                after_sale_lines::asi_id.eq(&line.asi_id),
                after_sale_lines::line_type.eq(&line.line_type),
                after_sale_lines::sku_id.eq(&line.sku_id),
                after_sale_lines::outer_oi_id.eq(&line.outer_oi_id),
                after_sale_lines::sub_order_no.eq(sub_order_no.as_deref().unwrap_or_default()),
                after_sale_lines::name.eq(&line.name),
                after_sale_lines::properties_value.eq(&line.properties_value),
                after_sale_lines::qty.eq(line.qty),
                after_sale_lines::r_qty.eq(line.r_qty),
                after_sale_lines::price.eq(line.price),
                after_sale_lines::amount.eq(line.amount),
            ))
            .execute(conn)?;
        // The record's row is locked by this transaction, so its newest line is ours.
        let line_id: i64 = after_sale_lines::table
            .filter(after_sale_lines::shop_id.eq(shop_id))
            .filter(after_sale_lines::after_sale_id.eq(id))
            .order(after_sale_lines::id.desc())
            .select(after_sale_lines::id)
            .first(conn)?;
        for batch in &line.batches {
            diesel::insert_into(after_sale_batches::table)
                .values((
                    after_sale_batches::shop_id.eq(shop_id),
                    after_sale_batches::line_id.eq(line_id),
                    batch,
                ))
                .execute(conn)?;
        }
    }
    // Booked once, when it becomes a return to book (see `sales_returns`).
    if !was_bookable && sales_returns::after_sale_is_bookable(record) {
        sales_returns::announce_after_sale(conn, shop_id, &record.as_id)?;
    }
    Ok(existing.is_none())
}

/// The order line each item belongs to: the one its sub-order number names, else the
/// first line of its SKU not already taken by another item of the record.
fn match_lines(items: &[AfterSaleLine], lines: &[(String, String)]) -> Vec<Option<String>> {
    let mut taken: Vec<&str> = Vec::new();
    items
        .iter()
        .map(|item| {
            let named = lines
                .iter()
                .find(|(sub, _)| !item.outer_oi_id.is_empty() && *sub == item.outer_oi_id);
            let found = named.or_else(|| {
                lines
                    .iter()
                    .find(|(sub, code)| *code == item.sku_id && !taken.contains(&sub.as_str()))
            });
            found.map(|(sub, _)| {
                taken.push(sub);
                sub.clone()
            })
        })
        .collect()
}

/// The shop refund a return makes: its returned items as goods, covering the lines they
/// matched.
fn as_refund(record: &AfterSale, matched: &[Option<String>]) -> NewRefund {
    let returned: Vec<(&AfterSaleLine, &Option<String>)> = record
        .lines
        .iter()
        .zip(matched)
        .filter(|(line, _)| line.is_return())
        .collect();
    let covered: Vec<String> = returned
        .iter()
        .filter_map(|(_, sub)| (*sub).clone())
        .collect();
    let goods: Vec<RefundGoodsFields> = returned
        .iter()
        .map(|(line, sub)| RefundGoodsFields {
            plat_product_id: String::new(),
            outer_id: line.sku_id.clone(),
            sku: line.properties_value.clone(),
            product_name: line.name.clone(),
            refund_amount: line.amount,
            reason: record.question_type.clone(),
            product_num: line.qty,
            po_no: String::new(),
            sub_order_no: sub.as_deref().unwrap_or_default().to_owned(),
        })
        .collect();
    let single = match covered.as_slice() {
        [only] => only.clone(),
        _ => String::new(),
    };
    NewRefund {
        fields: RefundFields {
            refund_no: record.as_id.clone(),
            plat_order_no: record.so_id.clone(),
            sub_plat_order_no: single,
            total_amount: record.refund,
            pay_amount: record.refund,
            buyer_nick: record.buyer.clone(),
            seller_nick: String::new(),
            order_status: "JH_98".to_owned(),
            refund_status: record.refund_status.code().to_owned(),
            goods_status: record.goods_status.code().to_owned(),
            has_goods_return: record.goods_status == GoodsStatus::SentBack,
            reason: record.question_type.clone(),
            description: record.remark.clone(),
            product_num: goods.iter().map(|g| g.product_num).sum(),
            logistic_name: record.logistics_company.clone(),
            logistic_no: record.l_id.clone(),
            created_at: record.created_at,
            modified_at: record.modified_at,
        },
        goods,
        lines: Some(covered),
    }
}
