//! What the shop pulls from Jushuitan: available stock and after-sales (shipments are
//! pulled in [`super::shipping`]).

use serde_json::{json, Value};

use super::after_sales::{after_sale_from, shop_of};
use super::client::{value_text, Operation, MAX_WINDOW_DAYS};
use super::sync::JstSync;
use super::JstSyncError;
use crate::shop::after_sales::{self, AfterSale};
use crate::shop::{cursors, stock};
use crate::time::now_utc;

/// SKUs per inventory.query call.
const SKU_BATCH: usize = 100;

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

/// Reads this shop's after-sale records changed since the stored cursor, in windows of
/// at most 7 days, into the shop's after-sales (returns and refunds also into its
/// refunds); the cursor moves only after a window is stored.
pub async fn pull_refunds(sync: &JstSync) -> Result<usize, JstSyncError> {
    const JOB: &str = "jushuitan.refunds";
    let shop_id = sync.shop.id;
    let offset = sync.shop.offset();
    let stored = sync
        .db
        .run(move |conn| cursors::position(conn, shop_id, JOB))
        .await?;
    let now = now_utc();
    let mut start = stored.unwrap_or(now - chrono::Duration::days(MAX_WINDOW_DAYS));
    let mut total = 0;
    while start < now {
        let end = (start + chrono::Duration::days(MAX_WINDOW_DAYS)).min(now);
        let mut page = 1;
        loop {
            let biz = json!({
                "shop_id": sync.config.shop_id,
                "modified_begin": crate::time::format_shop_time(start, offset),
                "modified_end": crate::time::format_shop_time(end, offset),
                "page_index": page,
                "page_size": 50,
            });
            let data = sync.session.call(Operation::QueryRefunds, &biz).await?;
            let records = data
                .get("datas")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
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
                .collect();
            total += items.len();
            if !items.is_empty() {
                sync.db
                    .run(move |conn| after_sales::record(conn, shop_id, &items))
                    .await?;
            }
            if !data
                .get("has_next")
                .and_then(Value::as_bool)
                .unwrap_or(false)
                || records.is_empty()
            {
                break;
            }
            page += 1;
        }
        sync.db
            .run(move |conn| cursors::advance(conn, shop_id, JOB, end))
            .await?;
        start = end;
    }
    Ok(total)
}
