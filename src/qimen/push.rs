//! Items, delivery orders and cancellations to the warehouse: the adapter the outbox
//! drain hands claimed rows to. Each row is one or more calls; a document that breaks
//! the warehouse's rules is held, a `failure` answer is a refusal, transport and
//! gateway errors are retried.

use std::time::Duration;

use super::client::WmsError;
use super::documents::{delivery_order, item_documents};
use super::requests::{to_document, OrderCancel};
use super::sync::{WmsSync, WmsSyncError};
use crate::outbox::{self, Adapter, Claimed, DrainReport, Kind, Target, Verdict};
use crate::shop::{orders, products};

/// Rows claimed per step.
const BATCH: i64 = 20;

/// Sends changed products as singleitem.synchronize.
pub async fn push_items(sync: &WmsSync) -> Result<DrainReport, WmsSyncError> {
    Ok(outbox::drain(&sync.db, &sync.owner, sync, &[Kind::Item]).await?)
}

/// Sends paid orders as deliveryorder.create and closed or refunded ones as order.cancel.
pub async fn push_orders(sync: &WmsSync) -> Result<DrainReport, WmsSyncError> {
    Ok(outbox::drain(
        &sync.db,
        &sync.owner,
        sync,
        &[Kind::DeliveryOrder, Kind::Cancel],
    )
    .await?)
}

impl Adapter for WmsSync {
    fn target(&self) -> Target {
        Target::Wms
    }

    fn shop_id(&self) -> i64 {
        self.shop.id
    }

    fn shop_code(&self) -> &str {
        &self.shop.code
    }

    fn batch_size(&self, _kind: Kind) -> i64 {
        BATCH
    }

    fn call_timeout(&self) -> Duration {
        Duration::from_secs(self.config.timeout_secs)
    }

    fn max_attempts(&self) -> i32 {
        self.config.max_attempts
    }

    async fn send(&self, kind: Kind, rows: &[Claimed]) -> Vec<(i64, Verdict)> {
        let mut verdicts = Vec::with_capacity(rows.len());
        for row in rows {
            let verdict = match self.documents(kind, row).await {
                Err(verdict) => verdict,
                Ok((method, documents)) => self.call_all(method, &documents).await,
            };
            verdicts.push((row.id, verdict));
        }
        verdicts
    }
}

impl WmsSync {
    /// The method and documents a row stands for, or the verdict when there are none.
    async fn documents(
        &self,
        kind: Kind,
        row: &Claimed,
    ) -> Result<(&'static str, Vec<String>), Verdict> {
        let (shop_id, subject) = (self.shop.id, row.subject.clone());
        if kind == Kind::Item {
            let product = self
                .db
                .run(move |conn| products::find(conn, shop_id, &subject))
                .await
                .map_err(|error| Verdict::Retry(error.to_string()))?
                .ok_or_else(|| Verdict::Hold("the product no longer exists".to_owned()))?;
            // The first version of a product is new to the warehouse.
            let action = if row.version == 1 { "add" } else { "update" };
            let documents =
                item_documents(&product, &self.config, action).map_err(Verdict::Hold)?;
            return Ok(("singleitem.synchronize", documents));
        }
        let order = self
            .db
            .run(move |conn| orders::find(conn, shop_id, &subject))
            .await
            .map_err(|error| Verdict::Retry(error.to_string()))?
            .ok_or_else(|| Verdict::Hold("the order no longer exists".to_owned()))?;
        if kind == Kind::Cancel {
            let document = to_document(&OrderCancel {
                warehouse_code: self.config.warehouse_code.clone(),
                owner_code: self.config.owner_code.clone(),
                order_code: order.header.plat_order_no.clone(),
                order_type: "JYCK".to_owned(),
                cancel_reason: "订单已关闭或已全额退款".to_owned(),
            })
            .map_err(Verdict::Hold)?;
            return Ok(("order.cancel", vec![document]));
        }
        let document = delivery_order(&order, &self.shop, &self.config, self.offset())
            .map_err(Verdict::Hold)?;
        Ok(("deliveryorder.create", vec![document]))
    }

    /// Sends the documents one after another; the first failure is the verdict.
    async fn call_all(&self, method: &str, documents: &[String]) -> Verdict {
        for document in documents {
            if let Err(error) = self.client.call(method, document, &self.timestamp()).await {
                return verdict_of(&error);
            }
        }
        Verdict::Done
    }
}

fn verdict_of(error: &WmsError) -> Verdict {
    if error.is_transient() {
        Verdict::Retry(error.to_string())
    } else {
        Verdict::Refuse(error.to_string())
    }
}
