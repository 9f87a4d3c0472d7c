//! What the shop pulls from the warehouse: available stock, once per stock interval.

use super::client::WmsError;
use super::requests::{to_document, Criteria, CriteriaList, InventoryQuery};
use super::sync::{WmsSync, WmsSyncError};
use crate::shop::stock;

/// Item codes per inventory.query.
const STOCK_BATCH: usize = 50;

/// Reads stock (quantity − locked, at least 0) for every merchant code of the shop.
pub async fn pull_stock(sync: &WmsSync) -> Result<usize, WmsSyncError> {
    let (db, from) = (&sync.db, stock::StockSource::Warehouse);
    stock::pull_levels(db, sync.shop.id, STOCK_BATCH, from, |codes| async move {
        let query = InventoryQuery {
            criteria_list: CriteriaList {
                criteria: codes
                    .into_iter()
                    .map(|code| Criteria {
                        warehouse_code: sync.config.warehouse_code.clone(),
                        owner_code: sync.config.owner_code.clone(),
                        item_code: code,
                        inventory_type: "ZP".to_owned(),
                    })
                    .collect(),
            },
        };
        let document = to_document(&query).map_err(WmsError::Garbage)?;
        let answer = sync
            .client
            .call("inventory.query", &document, &sync.timestamp())
            .await?;
        Ok(answer
            .items
            .map(|items| items.item)
            .unwrap_or_default()
            .into_iter()
            .filter(|item| !item.item_code.trim().is_empty())
            .map(|item| {
                let number = |text: &str| text.trim().parse::<i64>().unwrap_or(0);
                (
                    item.item_code.trim().to_owned(),
                    (number(&item.quantity) - number(&item.lock_quantity)).max(0),
                )
            })
            .collect())
    })
    .await
}
