//! Returns to Kingdee: the adapter the outbox drain hands claimed `sales_return` rows
//! to. Each batch is one BatchSave of the returns that can be sent; each bill's own
//! result is its row's verdict, and what Kingdee made of it is kept.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::Value;

use super::answer::BillOutcome;
use super::bill::{sales_return_bill, BookingKeys, FORM_ID};
use super::{KingdeeClient, KingdeeError};
use crate::config::KingdeeShopConfig;
use crate::db::Database;
use crate::outbox::{self, Adapter, Claimed, DrainReport, Kind, OutboxError, Target, Verdict};
use crate::shop::sales_returns::{self, Booking, BookingOutcome, ReturnSource, ToBook};
use crate::shop::shops::Shop;

/// Returns per BatchSave call.
const SAVE_BATCH: i64 = 20;

/// Everything the Kingdee job of one shop needs.
#[derive(Debug)]
pub struct KingdeeSync {
    /// The shop database.
    pub db: Database,
    /// The shop.
    pub shop: Shop,
    /// Its Kingdee settings.
    pub config: KingdeeShopConfig,
    /// What its maps are looked up by.
    pub keys: BookingKeys,
    /// Its connection (and session) to Kingdee.
    pub client: KingdeeClient,
    /// Who claims outbox rows (host and process).
    pub owner: String,
}

impl KingdeeSync {
    /// Everything the job of `shop` needs, with a client (and cookie store) of its own.
    pub fn new(
        db: Database,
        shop: Shop,
        config: KingdeeShopConfig,
        keys: BookingKeys,
    ) -> Result<Self, KingdeeError> {
        let client = KingdeeClient::new(&config)?;
        Ok(Self {
            db,
            shop,
            config,
            keys,
            client,
            owner: crate::schedule::worker_name(),
        })
    }
}

/// Books the shop's confirmed returns that are due.
pub async fn push_returns(sync: &KingdeeSync) -> Result<DrainReport, OutboxError> {
    outbox::drain(&sync.db, &sync.owner, sync, &[Kind::SalesReturn]).await
}

impl Adapter for KingdeeSync {
    fn target(&self) -> Target {
        Target::Kingdee
    }

    fn shop_id(&self) -> i64 {
        self.shop.id
    }

    fn shop_code(&self) -> &str {
        &self.shop.code
    }

    fn batch_size(&self, _kind: Kind) -> i64 {
        SAVE_BATCH
    }

    fn call_timeout(&self) -> Duration {
        Duration::from_secs(self.config.timeout_secs)
    }

    fn max_attempts(&self) -> i32 {
        self.config.max_attempts
    }

    async fn send(&self, _kind: Kind, rows: &[Claimed]) -> Vec<(i64, Verdict)> {
        let shop_id = self.shop.id;
        let numbers: Vec<String> = rows.iter().map(|row| row.subject.clone()).collect();
        let found = self
            .db
            .run(move |conn| {
                numbers
                    .iter()
                    .map(|no| {
                        sales_returns::find(conn, shop_id, no).map(|found| (no.clone(), found))
                    })
                    .collect::<Result<HashMap<_, _>, _>>()
            })
            .await;
        let mut found = match found {
            Ok(found) => found,
            Err(error) => return every(rows, Verdict::Retry(error.to_string())),
        };
        let offset = self.shop.offset();
        let mut verdicts = Vec::new();
        let mut bills: Vec<Value> = Vec::new();
        let mut sent: Vec<(i64, String, ReturnSource)> = Vec::new();
        for row in rows {
            match found.remove(&row.subject).flatten() {
                None => verdicts.push((
                    row.id,
                    Verdict::Hold(format!(
                        "no after-sale or storefront refund {} in this shop",
                        row.subject
                    )),
                )),
                Some(ToBook::Nothing(why)) => verdicts.push((row.id, Verdict::Hold(why))),
                Some(ToBook::Return(sales_return)) => {
                    match sales_return_bill(&sales_return, &self.config, &self.keys, offset) {
                        Ok(bill) => {
                            bills.push(bill);
                            sent.push((row.id, sales_return.number, sales_return.source));
                        }
                        Err(reason) => verdicts.push((row.id, Verdict::Hold(reason))),
                    }
                }
            }
        }
        if bills.is_empty() {
            return verdicts;
        }
        let timeout = self.config.timeout_secs;
        let answer =
            tokio::time::timeout(self.call_timeout(), self.client.batch_save(FORM_ID, &bills))
                .await
                .unwrap_or(Err(KingdeeError::TimedOut(timeout)));
        let answer = match answer {
            Ok(answer) => answer,
            Err(error) => {
                if matches!(error, KingdeeError::LoginRefused(_)) {
                    tracing::warn!(shop = %self.shop.code, %error, "kingdee refused the login; check [shops.kingdee]");
                }
                let error = format!("kingdee: {error}");
                verdicts.extend(
                    sent.iter()
                        .map(|(id, _, _)| (*id, Verdict::Retry(error.clone()))),
                );
                return verdicts;
            }
        };
        let bill_numbers: Vec<String> = sent.iter().map(|(_, no, _)| no.clone()).collect();
        let mut bookings = Vec::new();
        let mut settled = Vec::new();
        for ((id, bill_no, source), outcome) in sent.into_iter().zip(answer.outcomes(&bill_numbers))
        {
            let verdict = match outcome {
                BillOutcome::Saved {
                    id: bill_id,
                    number,
                } => {
                    tracing::info!(shop = %self.shop.code, %bill_no, kingdee_number = %number, kingdee_id = %bill_id, "sales return booked");
                    bookings.push(Booking {
                        bill_no,
                        source,
                        outcome: BookingOutcome::Saved,
                        bill_id,
                        bill_number: number,
                    });
                    Verdict::Done
                }
                BillOutcome::AlreadyBooked => {
                    tracing::info!(shop = %self.shop.code, %bill_no, "sales return already booked in kingdee");
                    bookings.push(Booking {
                        bill_number: bill_no.clone(),
                        bill_no,
                        source,
                        outcome: BookingOutcome::AlreadyBooked,
                        bill_id: String::new(),
                    });
                    Verdict::Done
                }
                BillOutcome::Refused(message) => {
                    Verdict::Refuse(format!("kingdee refused the sales return: {message}"))
                }
                BillOutcome::Unanswered => Verdict::Retry(format!(
                    "kingdee answered nothing for this bill{}",
                    if answer.is_success {
                        ""
                    } else {
                        " in a failed save"
                    }
                )),
            };
            settled.push((id, verdict));
        }
        if !bookings.is_empty() {
            let kept = self
                .db
                .run(move |conn| sales_returns::record_bookings(conn, shop_id, &bookings))
                .await;
            if let Err(error) = kept {
                // Sent again, Kingdee says it holds the bill, and that is kept then.
                let error = format!("booked in kingdee, but not recorded: {error}");
                for (_, verdict) in &mut settled {
                    if *verdict == Verdict::Done {
                        *verdict = Verdict::Retry(error.clone());
                    }
                }
            }
        }
        verdicts.extend(settled);
        verdicts
    }
}

fn every(rows: &[Claimed], verdict: Verdict) -> Vec<(i64, Verdict)> {
    rows.iter().map(|row| (row.id, verdict.clone())).collect()
}
