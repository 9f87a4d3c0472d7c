//! What the shop pulls from Jushuitan: available stock and after-sales (shipments are
//! pulled in [`super::shipping`]).

use std::collections::HashSet;

use chrono::NaiveDateTime;

use serde_json::{json, Value};

use super::after_sales::{after_sale_from, shop_of};
use super::client::{value_text, Operation};
use super::sync::JstSync;
use super::windows::{ChangedSince, Changes};
use super::JstSyncError;
use crate::shop::after_sales::{self, AfterSale};
use crate::shop::stock;

/// SKUs per inventory.query call.
const SKU_BATCH: usize = 100;
/// The after-sale records Jushuitan changed, by window (seed 002).
const AFTER_SALES_SINCE: Changes = Changes {
    operation: Operation::QueryRefunds,
    cursor: "jushuitan.refunds",
    list: "datas",
    also: &[],
};

/// Reads available stock (`qty - order_lock`, at least 0) for every merchant code of the
/// shop and writes it to the matching SKUs and SKU-less products. Answers how many
/// changed.
pub async fn pull_stock(sync: &JstSync) -> Result<usize, JstSyncError> {
    let (db, from) = (&sync.db, stock::StockSource::Jushuitan);
    stock::pull_levels(db, sync.shop.id, SKU_BATCH, from, |codes| async move {
        let data = sync
            .session
            .call(
                Operation::QueryInventory,
                &json!({"sku_ids": codes.join(",")}),
            )
            .await?;
        let rows = data
            .get("inventorys")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        Ok(rows
            .iter()
            .filter_map(|row| {
                let sku = row.get("sku_id").map(value_text)?;
                let qty = row.get("qty").and_then(Value::as_i64).unwrap_or(0);
                let locked = row.get("order_lock").and_then(Value::as_i64).unwrap_or(0);
                Some((sku, (qty - locked).max(0)))
            })
            .collect())
    })
    .await
}

/// Reads this shop's after-sale records changed since the last run (windows of their
/// modified times, see [`super::windows`]) into the shop's after-sales (returns and
/// refunds also into its refunds), a page at a time. Answers the records stored.
pub async fn pull_refunds(sync: &JstSync) -> Result<usize, JstSyncError> {
    let (shop_id, offset) = (sync.shop.id, sync.shop.offset());
    let mut changed = ChangedSince::start(sync, &AFTER_SALES_SINCE).await?;
    // A window's first page is read twice (see `windows`): a record is stored once a run.
    let mut seen: HashSet<(String, NaiveDateTime)> = HashSet::new();
    let mut stored = 0;
    while let Some(records) = changed.next_page().await? {
        let items: Vec<AfterSale> = records
            .iter()
            .filter(|record| {
                let ours = sync.holds(record);
                if !ours {
                    tracing::warn!(shop = %sync.shop.code, other = %shop_of(record).unwrap_or_default(), "jushuitan answered another shop's after-sale; ignored");
                }
                ours
            })
            .filter_map(|record| after_sale_from(record, offset))
            .filter(|sale| seen.insert((sale.as_id.clone(), sale.modified_at)))
            .collect();
        stored += items.len();
        if !items.is_empty() {
            sync.db
                .run(move |conn| after_sales::record(conn, shop_id, &items))
                .await?;
        }
    }
    Ok(stored)
}
