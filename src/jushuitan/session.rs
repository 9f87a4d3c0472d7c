//! A shop's Jushuitan session: the client plus its tokens, refreshed once on expiry and
//! persisted so a restart keeps them.

use diesel::prelude::*;
use serde_json::Value;
use tokio::sync::Mutex;

use super::client::{JstError, JushuitanClient, Operation, Tokens};
use crate::config::JushuitanApi;
use crate::db::schema::jushuitan_tokens;
use crate::db::{Database, DbError};
use crate::time::now_utc;

/// Failures of a job step: Jushuitan's or the database's.
#[derive(Debug, thiserror::Error)]
pub enum JstSyncError {
    /// Jushuitan failed or refused.
    #[error("jushuitan: {0}")]
    Remote(#[from] JstError),
    /// The shop database failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// A shop rule refused what Jushuitan sent.
    #[error(transparent)]
    Shop(#[from] crate::shop::ShopError),
    /// The outbox failed.
    #[error(transparent)]
    Outbox(#[from] crate::outbox::OutboxError),
}

impl From<diesel::result::Error> for JstSyncError {
    fn from(error: diesel::result::Error) -> Self {
        Self::Db(DbError::from(error))
    }
}

/// How long after a legacy refresh.token no other is asked for: Jushuitan applies a
/// refreshed token some minutes later (seed FAQ 3), and asking again does not hurry it.
const LEGACY_REFRESH_HOLD: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// One shop's connection to Jushuitan.
#[derive(Debug)]
pub struct Session {
    client: JushuitanClient,
    db: Database,
    shop_id: i64,
    tokens: Mutex<Option<Tokens>>,
    legacy_refreshed_at: Mutex<Option<std::time::Instant>>,
}

impl Session {
    /// A session for the shop; tokens are read from the database on first use.
    pub fn new(client: JushuitanClient, db: Database, shop_id: i64) -> Self {
        Self {
            client,
            db,
            shop_id,
            tokens: Mutex::new(None),
            legacy_refreshed_at: Mutex::new(None),
        }
    }

    async fn current_tokens(&self) -> Result<Tokens, JstSyncError> {
        let mut guard = self.tokens.lock().await;
        if let Some(tokens) = guard.as_ref() {
            return Ok(tokens.clone());
        }
        let shop_id = self.shop_id;
        let stored: Option<(String, String)> = self
            .db
            .run(move |conn| {
                jushuitan_tokens::table
                    .find(shop_id)
                    .select((
                        jushuitan_tokens::access_token,
                        jushuitan_tokens::refresh_token,
                    ))
                    .first(conn)
                    .optional()
                    .map_err(DbError::from)
            })
            .await?;
        let tokens = match stored {
            Some((access_token, refresh_token)) => Tokens {
                access_token,
                refresh_token,
            },
            None => self.client.configured_tokens(),
        };
        *guard = Some(tokens.clone());
        Ok(tokens)
    }

    /// Runs an operation. On an expired open-API access token, refreshes once, stores
    /// the new tokens and tries again. On a timed-out legacy token, asks for refresh.token
    /// (at most once per hold period) and answers a transient error: Jushuitan applies
    /// the refreshed token minutes later, so the work is retried then.
    pub async fn call(&self, operation: Operation, biz: &Value) -> Result<Value, JstSyncError> {
        let tokens = self.current_tokens().await?;
        match self.client.call(operation, biz, &tokens).await {
            Err(JstError::TokenExpired(msg)) if self.client.api() == JushuitanApi::Open => {
                tracing::info!(shop_id = self.shop_id, %msg, "jushuitan access token expired; refreshing");
                let fresh = self.refresh(&tokens).await?;
                Ok(self.client.call(operation, biz, &fresh).await?)
            }
            Err(JstError::TokenExpired(msg)) => Err(self.refresh_legacy(msg).await.into()),
            other => Ok(other?),
        }
    }

    /// Asks for refresh.token unless that was done within the hold period; answers the
    /// error the caller retries on.
    async fn refresh_legacy(&self, msg: String) -> JstError {
        let mut refreshed_at = self.legacy_refreshed_at.lock().await;
        if let Some(at) = *refreshed_at {
            if at.elapsed() < LEGACY_REFRESH_HOLD {
                return JstError::TokenRefreshPending(format!(
                    "{msg} (refresh.token asked {} s ago)",
                    at.elapsed().as_secs()
                ));
            }
        }
        tracing::info!(shop_id = self.shop_id, %msg, "jushuitan token timed out; calling refresh.token");
        match self.client.refresh_legacy().await {
            Ok(()) => {
                *refreshed_at = Some(std::time::Instant::now());
                JstError::TokenRefreshPending(format!("{msg} (refresh.token accepted)"))
            }
            Err(error) => error,
        }
    }

    async fn refresh(&self, stale: &Tokens) -> Result<Tokens, JstSyncError> {
        let mut guard = self.tokens.lock().await;
        // Another call may have refreshed while this one waited.
        if let Some(current) = guard.as_ref() {
            if current != stale {
                return Ok(current.clone());
            }
        }
        let (fresh, expires_in) = self.client.refresh(stale).await?;
        let shop_id = self.shop_id;
        let stored = fresh.clone();
        self.db
            .run(move |conn| {
                let now = now_utc();
                let expires_at = expires_in.map(|secs| now + chrono::Duration::seconds(secs));
                let updated = diesel::update(jushuitan_tokens::table.find(shop_id))
                    .set((
                        jushuitan_tokens::access_token.eq(&stored.access_token),
                        jushuitan_tokens::refresh_token.eq(&stored.refresh_token),
                        jushuitan_tokens::expires_at.eq(expires_at),
                        jushuitan_tokens::modified_at.eq(now),
                    ))
                    .execute(conn)?;
                if updated == 0 {
                    diesel::insert_into(jushuitan_tokens::table)
                        .values((
                            jushuitan_tokens::shop_id.eq(shop_id),
                            jushuitan_tokens::access_token.eq(&stored.access_token),
                            jushuitan_tokens::refresh_token.eq(&stored.refresh_token),
                            jushuitan_tokens::expires_at.eq(expires_at),
                            jushuitan_tokens::modified_at.eq(now),
                        ))
                        .execute(conn)?;
                }
                Ok::<_, DbError>(())
            })
            .await?;
        *guard = Some(fresh.clone());
        Ok(fresh)
    }
}
