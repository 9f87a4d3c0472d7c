//! Creating and replacing orders.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::NewOrder;
use crate::db::schema::{
    order_customs, order_invoices, order_lines, order_receivers, orders, pickup_codes,
};
use crate::db::{write_transaction, DbConnection};
use crate::outbox::{self, Kind, Target};
use crate::shop::codes::TradeStatus;
use crate::shop::time::now_utc;
use crate::shop::{ShopError, UpsertCounts};

/// Creates or replaces `items` (keyed by platform order number) in one transaction.
///
/// Replacing keeps what polymall itself recorded: shipped quantities and a redeemed
/// pickup code. A line cannot shrink below what was shipped nor disappear once shipped.
pub fn upsert(
    conn: &mut DbConnection,
    shop_id: i64,
    items: &[NewOrder],
) -> Result<UpsertCounts, ShopError> {
    check_batch(items)?;
    write_transaction(conn, |conn| {
        let now = now_utc();
        let mut counts = UpsertCounts::default();
        for (index, item) in items.iter().enumerate() {
            let existing: Option<(i64, String)> = orders::table
                .filter(orders::shop_id.eq(shop_id))
                .filter(orders::plat_order_no.eq(&item.header.plat_order_no))
                .select((orders::id, orders::trade_status))
                .first(conn)
                .optional()?;
            let before = existing
                .as_ref()
                .and_then(|(_, status)| TradeStatus::from_code(status));
            match existing {
                Some((order_id, _)) => {
                    replace(conn, shop_id, order_id, index, item, now)?;
                    counts.updated += 1;
                }
                None => {
                    create(conn, shop_id, item, now)?;
                    counts.created += 1;
                }
            }
            let no = &item.header.plat_order_no;
            outbox::enqueue(conn, shop_id, Target::Jushuitan, Kind::Order, no)?;
            announce_to_warehouse(
                conn,
                shop_id,
                no,
                before,
                TradeStatus::from_code(&item.header.trade_status),
            )?;
        }
        Ok(counts)
    })
}

/// The warehouse learns of an order when it becomes payable-to-ship (JH_02) and of its
/// cancellation when an order it may hold is closed.
fn announce_to_warehouse(
    conn: &mut DbConnection,
    shop_id: i64,
    plat_order_no: &str,
    before: Option<TradeStatus>,
    after: Option<TradeStatus>,
) -> Result<(), ShopError> {
    match (before, after) {
        (before, Some(TradeStatus::AwaitingShipment))
            if before != Some(TradeStatus::AwaitingShipment) =>
        {
            outbox::enqueue(
                conn,
                shop_id,
                Target::Wms,
                Kind::DeliveryOrder,
                plat_order_no,
            )?;
        }
        (Some(TradeStatus::AwaitingShipment), Some(TradeStatus::Closed)) => {
            outbox::enqueue(conn, shop_id, Target::Wms, Kind::Cancel, plat_order_no)?;
        }
        _ => {}
    }
    Ok(())
}

fn check_batch(items: &[NewOrder]) -> Result<(), ShopError> {
    let mut seen = HashSet::new();
    for (index, item) in items.iter().enumerate() {
        if !seen.insert(item.header.plat_order_no.as_str()) {
            return Err(ShopError::rejected(
                format!("[{index}].PlatOrderNo"),
                format!(
                    "`{}` appears twice in this request",
                    item.header.plat_order_no
                ),
            ));
        }
        let mut subs = HashSet::new();
        for (line, fields) in item.lines.iter().enumerate() {
            if !subs.insert(fields.sub_order_no.as_str()) {
                return Err(ShopError::rejected(
                    format!("[{index}].goodinfos[{line}].suborderno"),
                    format!("`{}` appears twice in this order", fields.sub_order_no),
                ));
            }
        }
    }
    Ok(())
}

fn create(
    conn: &mut DbConnection,
    shop_id: i64,
    item: &NewOrder,
    now: NaiveDateTime,
) -> Result<(), ShopError> {
    diesel::insert_into(orders::table)
        .values((
            orders::shop_id.eq(shop_id),
            &item.header,
            orders::modified_at.eq(now),
        ))
        .execute(conn)?;
    let order_id: i64 = orders::table
        .filter(orders::shop_id.eq(shop_id))
        .filter(orders::plat_order_no.eq(&item.header.plat_order_no))
        .select(orders::id)
        .first(conn)?;
    diesel::insert_into(order_receivers::table)
        .values((
            order_receivers::order_id.eq(order_id),
            order_receivers::shop_id.eq(shop_id),
            &item.receiver,
        ))
        .execute(conn)?;
    diesel::insert_into(order_invoices::table)
        .values((
            order_invoices::order_id.eq(order_id),
            order_invoices::shop_id.eq(shop_id),
            &item.invoice,
        ))
        .execute(conn)?;
    diesel::insert_into(order_customs::table)
        .values((
            order_customs::order_id.eq(order_id),
            order_customs::shop_id.eq(shop_id),
            &item.customs,
        ))
        .execute(conn)?;
    for line in &item.lines {
        insert_line(conn, shop_id, order_id, line)?;
    }
    if let Some(code) = &item.pickup_code {
        diesel::insert_into(pickup_codes::table)
            .values((
                pickup_codes::order_id.eq(order_id),
                pickup_codes::shop_id.eq(shop_id),
                pickup_codes::code.eq(code),
            ))
            .execute(conn)?;
    }
    Ok(())
}

fn insert_line(
    conn: &mut DbConnection,
    shop_id: i64,
    order_id: i64,
    line: &super::OrderLineFields,
) -> Result<(), ShopError> {
    diesel::insert_into(order_lines::table)
        .values((
            order_lines::shop_id.eq(shop_id),
            order_lines::order_id.eq(order_id),
            line,
            order_lines::shipped_count.eq(0),
        ))
        .execute(conn)?;
    Ok(())
}

fn replace(
    conn: &mut DbConnection,
    shop_id: i64,
    order_id: i64,
    index: usize,
    item: &NewOrder,
    now: NaiveDateTime,
) -> Result<(), ShopError> {
    let stored: Vec<(i64, String, i64)> = order_lines::table
        .filter(order_lines::shop_id.eq(shop_id))
        .filter(order_lines::order_id.eq(order_id))
        .select((
            order_lines::id,
            order_lines::sub_order_no,
            order_lines::shipped_count,
        ))
        .load(conn)?;
    let stored: HashMap<String, (i64, i64)> = stored
        .into_iter()
        .map(|(id, sub, shipped)| (sub, (id, shipped)))
        .collect();
    let wanted: HashSet<&str> = item.lines.iter().map(|l| l.sub_order_no.as_str()).collect();
    for (sub, (id, shipped)) in &stored {
        if wanted.contains(sub.as_str()) {
            continue;
        }
        if *shipped > 0 {
            return Err(ShopError::rejected(
                format!("[{index}].goodinfos"),
                format!("line `{sub}` has {shipped} shipped and cannot be removed"),
            ));
        }
        diesel::delete(order_lines::table.find(*id)).execute(conn)?;
    }
    for (line_index, line) in item.lines.iter().enumerate() {
        match stored.get(&line.sub_order_no) {
            Some((id, shipped)) => {
                if line.goods_count < *shipped {
                    return Err(ShopError::rejected(
                        format!("[{index}].goodinfos[{line_index}].goodscount"),
                        format!(
                            "{} is less than the {shipped} already shipped",
                            line.goods_count
                        ),
                    ));
                }
                diesel::update(order_lines::table.find(*id))
                    .set(line)
                    .execute(conn)?;
            }
            None => insert_line(conn, shop_id, order_id, line)?,
        }
    }
    diesel::update(orders::table.find(order_id))
        .set((&item.header, orders::modified_at.eq(now)))
        .execute(conn)?;
    diesel::update(order_receivers::table.find(order_id))
        .set(&item.receiver)
        .execute(conn)?;
    diesel::update(order_invoices::table.find(order_id))
        .set(&item.invoice)
        .execute(conn)?;
    diesel::update(order_customs::table.find(order_id))
        .set(&item.customs)
        .execute(conn)?;
    replace_pickup_code(conn, shop_id, order_id, index, item.pickup_code.as_deref())
}

fn replace_pickup_code(
    conn: &mut DbConnection,
    shop_id: i64,
    order_id: i64,
    index: usize,
    wanted: Option<&str>,
) -> Result<(), ShopError> {
    let stored: Option<(String, Option<NaiveDateTime>)> = pickup_codes::table
        .find(order_id)
        .select((pickup_codes::code, pickup_codes::redeemed_at))
        .first(conn)
        .optional()?;
    match (stored, wanted) {
        (Some((code, Some(_))), wanted) if wanted != Some(code.as_str()) => {
            Err(ShopError::rejected(
                format!("[{index}].verifycode"),
                "the pickup code was already redeemed and cannot change",
            ))
        }
        (Some((_, Some(_))), _) => Ok(()),
        (Some(_), None) => {
            diesel::delete(pickup_codes::table.find(order_id)).execute(conn)?;
            Ok(())
        }
        (Some(_), Some(code)) => {
            diesel::update(pickup_codes::table.find(order_id))
                .set(pickup_codes::code.eq(code))
                .execute(conn)?;
            Ok(())
        }
        (None, Some(code)) => {
            diesel::insert_into(pickup_codes::table)
                .values((
                    pickup_codes::order_id.eq(order_id),
                    pickup_codes::shop_id.eq(shop_id),
                    pickup_codes::code.eq(code),
                ))
                .execute(conn)?;
            Ok(())
        }
        (None, None) => Ok(()),
    }
}
