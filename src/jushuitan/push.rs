//! Orders to Jushuitan: the adapter the outbox drain hands claimed order rows to. Each
//! batch is one `orders.upload`; each order's own result is its row's verdict.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::Value;

use super::client::{value_text, Operation};
use super::mapping::upload_order;
use super::sync::JstSync;
use super::JstSyncError;
use crate::outbox::{self, Adapter, Claimed, DrainReport, Kind, Target, Verdict};
use crate::shop::orders as shop_orders;

/// Orders per orders.upload call.
const UPLOAD_BATCH: i64 = 50;

/// Uploads the shop's changed orders, latest state only.
pub async fn push_orders(sync: &JstSync) -> Result<DrainReport, JstSyncError> {
    Ok(outbox::drain(&sync.db, &sync.owner, sync, &[Kind::Order]).await?)
}

impl Adapter for JstSync {
    fn target(&self) -> Target {
        Target::Jushuitan
    }

    fn shop_id(&self) -> i64 {
        self.shop.id
    }

    fn shop_code(&self) -> &str {
        &self.shop.code
    }

    fn batch_size(&self, _kind: Kind) -> i64 {
        UPLOAD_BATCH
    }

    fn call_timeout(&self) -> Duration {
        Duration::from_secs(self.config.timeout_secs)
    }

    fn max_attempts(&self) -> i32 {
        self.config.max_attempts
    }

    /// Jushuitan refuses an order for reasons that often pass (a busy shop, an order it
    /// is still processing), so a refusal is retried until the attempts are used up.
    fn retries_refusals(&self) -> bool {
        true
    }

    async fn send(&self, _kind: Kind, rows: &[Claimed]) -> Vec<(i64, Verdict)> {
        let shop_id = self.shop.id;
        let numbers: Vec<String> = rows.iter().map(|row| row.subject.clone()).collect();
        let records = self
            .db
            .run(move |conn| {
                numbers
                    .iter()
                    .map(|no| shop_orders::find(conn, shop_id, no).map(|found| (no.clone(), found)))
                    .collect::<Result<HashMap<_, _>, _>>()
            })
            .await;
        let records = match records {
            Ok(records) => records,
            Err(error) => return every(rows, Verdict::Retry(error.to_string())),
        };
        let offset = self.shop.offset();
        let mut verdicts = Vec::new();
        let mut batch = Vec::new();
        let mut waiting: HashMap<&str, i64> = HashMap::new();
        for row in rows {
            match records.get(&row.subject).and_then(Option::as_ref) {
                None => verdicts.push((row.id, Verdict::Hold("the order no longer exists".into()))),
                Some(record) => match upload_order(record, self.config.shop_id, offset) {
                    Ok(document) => {
                        batch.push(document);
                        waiting.insert(&row.subject, row.id);
                    }
                    Err(reason) => verdicts.push((row.id, Verdict::Hold(reason))),
                },
            }
        }
        if batch.is_empty() {
            return verdicts;
        }
        let data = match self
            .session
            .call(Operation::UploadOrders, &Value::Array(batch))
            .await
        {
            Ok(data) => data,
            Err(error) => {
                let error = error.to_string();
                verdicts.extend(
                    waiting
                        .values()
                        .map(|id| (*id, Verdict::Retry(error.clone()))),
                );
                return verdicts;
            }
        };
        let results = data
            .get("datas")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for result in results {
            let so_id = result.get("so_id").map(value_text).unwrap_or_default();
            let Some(id) = waiting.remove(so_id.as_str()) else {
                continue;
            };
            let taken = result
                .get("issuccess")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            verdicts.push((
                id,
                if taken {
                    Verdict::Done
                } else {
                    let msg = result.get("msg").map(value_text).unwrap_or_default();
                    Verdict::Refuse(format!("jushuitan refused the order: {msg}"))
                },
            ));
        }
        verdicts.extend(waiting.values().map(|id| {
            (
                *id,
                Verdict::Retry("jushuitan answered no result for this order".to_owned()),
            )
        }));
        verdicts
    }
}

fn every(rows: &[Claimed], verdict: Verdict) -> Vec<(i64, Verdict)> {
    rows.iter().map(|row| (row.id, verdict.clone())).collect()
}
