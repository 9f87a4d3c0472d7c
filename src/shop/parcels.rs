//! Parcels a partner reports — a warehouse's packages, Jushuitan's split orders — each
//! recorded as a shipment of the order lines it holds. Items are matched to lines by
//! sub-order number when the partner names one, else by merchant code, and checked like
//! any shipment: never more than ordered, never a refunded line, JH_03 once all shipped.

use std::collections::BTreeMap;

use diesel::prelude::*;

use super::shipments::{self, Line, ShipOutcome, ShipmentRequest, ShipmentSource};
use super::ShopError;
use crate::db::schema::{orders, shipments as shipment_rows, wms_confirmations};
use crate::db::{write_transaction, DbConnection};
use crate::time::now_utc;

/// One item of a parcel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParcelItem {
    /// The order line as the partner names it (our sub-order number), when it does.
    pub sub_order_no: Option<String>,
    /// The merchant's code of the item.
    pub outer_id: String,
    /// Quantity in the parcel.
    pub quantity: i64,
}

/// A parcel: carrier, tracking number and the items in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parcel {
    /// Carrier code of the table (`JH_002`…); empty when the carrier is not in it.
    pub logistic_type: String,
    /// Carrier name.
    pub logistic_name: String,
    /// Tracking number.
    pub logistic_no: String,
    /// Items; empty means everything the order has left to ship.
    pub items: Vec<ParcelItem>,
}

/// Records the parcels of one order in one transaction; answers how many were new. A
/// parcel whose tracking number the order already has is taken as recorded, so pulling
/// the same parcels again changes nothing.
pub fn ship_parcels(
    conn: &mut DbConnection,
    shop_id: i64,
    plat_order_no: &str,
    parcels: &[Parcel],
    source: ShipmentSource,
    field: &str,
) -> Result<usize, ShopError> {
    write_transaction(conn, |conn| {
        ship_parcels_within(conn, shop_id, plat_order_no, parcels, source, field)
    })
}

/// [`ship_parcels`] inside the caller's transaction; `field` names the items in errors.
fn ship_parcels_within(
    conn: &mut DbConnection,
    shop_id: i64,
    plat_order_no: &str,
    parcels: &[Parcel],
    source: ShipmentSource,
    field: &str,
) -> Result<usize, ShopError> {
    let (order_id, _) = shipments::lock_order(conn, shop_id, plat_order_no, now_utc())?;
    let mut lines = shipments::load_lines(conn, shop_id, order_id)?;
    let mut shipped = 0;
    for parcel in parcels {
        let known: i64 = shipment_rows::table
            .filter(shipment_rows::shop_id.eq(shop_id))
            .filter(shipment_rows::order_id.eq(order_id))
            .filter(shipment_rows::logistic_no.eq(&parcel.logistic_no))
            .count()
            .get_result(conn)?;
        if known > 0 {
            continue;
        }
        let parts = if parcel.items.is_empty() {
            None
        } else {
            Some(match_items(&parcel.items, &mut lines, field)?)
        };
        let request = ShipmentRequest {
            plat_order_no: plat_order_no.to_owned(),
            logistic_type: parcel.logistic_type.clone(),
            logistic_name: parcel.logistic_name.clone(),
            logistic_no: parcel.logistic_no.clone(),
            send_type: String::new(),
            sender_name: String::new(),
            sender_tel: String::new(),
            sender_address: String::new(),
            lines: parts,
            order_type: String::new(),
            is_hwg_flag: false,
            source,
        };
        if let ShipOutcome::Shipped { .. } = shipments::ship_within(conn, shop_id, &request)? {
            shipped += 1;
        }
        lines = shipments::load_lines(conn, shop_id, order_id)?;
    }
    Ok(shipped)
}

/// The (sub-order number, count) a parcel's items ship, taken from what is left on
/// each line; lines not refunded are used first.
fn match_items(
    items: &[ParcelItem],
    lines: &mut [Line],
    field: &str,
) -> Result<Vec<(String, i64)>, ShopError> {
    let mut taken: BTreeMap<usize, i64> = BTreeMap::new();
    let left = |line: &Line, taken: &BTreeMap<usize, i64>, index: usize| {
        line.goods_count - line.shipped_count - taken.get(&index).copied().unwrap_or(0)
    };
    for item in items {
        let named = item
            .sub_order_no
            .as_deref()
            .filter(|sub| !sub.is_empty())
            .and_then(|sub| lines.iter().position(|line| line.sub_order_no == sub));
        let candidates: Vec<usize> = match named {
            Some(index) => vec![index],
            None => {
                let mut matching: Vec<usize> = (0..lines.len())
                    .filter(|&index| lines[index].outer_id == item.outer_id)
                    .collect();
                matching.sort_by_key(|&index| lines[index].refunded);
                matching
            }
        };
        if candidates.is_empty() {
            return Err(ShopError::rejected(
                field,
                format!("item `{}` is not on the order", item.outer_id),
            ));
        }
        let mut wanted = item.quantity;
        let mut available = 0;
        for index in candidates {
            let free = left(&lines[index], &taken, index).max(0);
            available += free;
            let take = wanted.min(free);
            if take > 0 {
                *taken.entry(index).or_insert(0) += take;
                wanted -= take;
            }
        }
        if wanted > 0 {
            return Err(ShopError::rejected(
                field,
                format!(
                    "item `{}`: {} shipped but the order has only {available} left to ship",
                    item.outer_id, item.quantity
                ),
            ));
        }
    }
    Ok(taken
        .into_iter()
        .map(|(index, count)| (lines[index].sub_order_no.clone(), count))
        .collect())
}

/// What a warehouse confirmation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfirmOutcome {
    /// Recorded now, with this many packages shipped.
    Recorded(usize),
    /// This confirmation (by its outBizCode) was recorded before; nothing changed.
    Repeated,
}

/// Whether a warehouse status ships the packages it confirms.
fn ships(status: &str) -> bool {
    matches!(status, "DELIVERED" | "PARTDELIVERED")
}

/// Records a warehouse's shipment confirmation in one transaction, once per
/// `out_biz_code`: a DELIVERED or PARTDELIVERED one ships its packages as parcels, any
/// other status is only recorded.
pub fn confirm_from_warehouse(
    conn: &mut DbConnection,
    shop_id: i64,
    plat_order_no: &str,
    out_biz_code: &str,
    status: &str,
    packages: &[Parcel],
) -> Result<ConfirmOutcome, ShopError> {
    write_transaction(conn, |conn| {
        let seen: Option<String> = wms_confirmations::table
            .find((shop_id, out_biz_code))
            .select(wms_confirmations::plat_order_no)
            .first(conn)
            .optional()?;
        if seen.is_some() {
            return Ok(ConfirmOutcome::Repeated);
        }
        let known: i64 = orders::table
            .filter(orders::shop_id.eq(shop_id))
            .filter(orders::plat_order_no.eq(plat_order_no))
            .count()
            .get_result(conn)?;
        if known == 0 {
            return Err(ShopError::rejected(
                "deliveryOrderCode",
                format!("no order `{plat_order_no}` in this shop"),
            ));
        }
        let shipped = if ships(status) {
            ship_parcels_within(
                conn,
                shop_id,
                plat_order_no,
                packages,
                ShipmentSource::Warehouse,
                "packages.items",
            )?
        } else {
            0
        };
        diesel::insert_into(wms_confirmations::table)
            .values((
                wms_confirmations::shop_id.eq(shop_id),
                wms_confirmations::out_biz_code.eq(out_biz_code),
                wms_confirmations::plat_order_no.eq(plat_order_no),
                wms_confirmations::status.eq(status),
                wms_confirmations::received_at.eq(now_utc()),
            ))
            .execute(conn)?;
        Ok(ConfirmOutcome::Recorded(shipped))
    })
}
