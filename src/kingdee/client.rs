//! A client of one shop's Kingdee WebAPI: logs in (password or third-party app), keeps
//! the session in its own cookie store, and logs in again once when an answer says the
//! session is gone. Answers are read bounded and as hostile input.

use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::Mutex;

use super::answer::{self, SaveAnswer};
use super::KingdeeError;
use crate::config::{KingdeeLogin, KingdeeShopConfig};

/// Largest answer read; Kingdee's answers to a login or a save are a few kilobytes.
const MAX_ANSWER: usize = 1024 * 1024;

const VALIDATE_USER: &str = "Kingdee.BOS.WebApi.ServicesStub.AuthService.ValidateUser.common.kdsvc";
const LOGIN_BY_APP_SECRET: &str =
    "Kingdee.BOS.WebApi.ServicesStub.AuthService.LoginByAppSecret.common.kdsvc";
const BATCH_SAVE: &str =
    "Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.BatchSave.common.kdsvc";

/// Where the session stands: logged in or not, and how many logins there were (so a
/// call that saw a lost session logs in again only if no other call did meanwhile).
#[derive(Debug, Default)]
struct SessionState {
    logged_in: bool,
    logins: u64,
}

/// One shop's connection to Kingdee; its cookie store is the session.
#[derive(Debug)]
pub struct KingdeeClient {
    http: reqwest::Client,
    base_url: String,
    config: KingdeeShopConfig,
    session: Mutex<SessionState>,
}

impl KingdeeClient {
    /// A client for the shop's configuration, with a cookie store of its own.
    pub fn new(config: &KingdeeShopConfig) -> Result<Self, KingdeeError> {
        let timeout = Duration::from_secs(config.timeout_secs);
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|e| KingdeeError::Transport(e.to_string()))?;
        let mut base_url = config.base_url.trim().to_owned();
        if !base_url.ends_with('/') {
            base_url.push('/');
        }
        Ok(Self {
            http,
            base_url,
            config: config.clone(),
            session: Mutex::new(SessionState::default()),
        })
    }

    /// Saves `model` (BatchSave's `Model`: bills of `form_id`) with the seed's options:
    /// submitted and audited, base data looked up by number. Logs in first if needed,
    /// and once more when Kingdee says the session is gone.
    pub async fn batch_save(
        &self,
        form_id: &str,
        model: &[Value],
    ) -> Result<SaveAnswer, KingdeeError> {
        let data = json!({
            "NeedUpDateFields": [],
            "NeedReturnFields": [],
            "IsDeleteEntry": "true",
            "SubSystemId": "",
            "IsVerifyBaseDataField": "false",
            "IsEntryBatchFill": "true",
            "ValidateFlag": "true",
            "NumberSearch": "true",
            "IsAutoSubmitAndAudit": "true",
            "Model": model,
        });
        let body = json!({"formid": form_id, "data": data.to_string()});
        let seen = self.logged_in().await?;
        let answer = answer::save(&self.post(BATCH_SAVE, &body).await?)?;
        if !answer.session_lost() {
            return Ok(answer);
        }
        tracing::info!(acct_id = %self.config.acct_id, message = %answer.messages(), "kingdee session lost; logging in again");
        self.log_in_again(seen).await?;
        let answer = answer::save(&self.post(BATCH_SAVE, &body).await?)?;
        if answer.session_lost() {
            return Err(KingdeeError::SessionLost(answer.messages()));
        }
        Ok(answer)
    }

    /// Logs in unless logged in; answers the login count seen.
    async fn logged_in(&self) -> Result<u64, KingdeeError> {
        let mut session = self.session.lock().await;
        if !session.logged_in {
            self.log_in().await?;
            session.logged_in = true;
            session.logins += 1;
        }
        Ok(session.logins)
    }

    /// Logs in again, unless another call did since login `seen`.
    async fn log_in_again(&self, seen: u64) -> Result<(), KingdeeError> {
        let mut session = self.session.lock().await;
        if session.logins == seen {
            session.logged_in = false;
            self.log_in().await?;
            session.logged_in = true;
            session.logins += 1;
        }
        Ok(())
    }

    /// One login; the answer's cookies land in the client's store.
    async fn log_in(&self) -> Result<(), KingdeeError> {
        let config = &self.config;
        let (path, body) = match config.login() {
            Some(KingdeeLogin::Password(password)) => (
                VALIDATE_USER,
                json!({"acctID": config.acct_id, "username": config.username,
                       "password": password.expose(), "lcid": config.lcid}),
            ),
            Some(KingdeeLogin::AppSecret { app_id, app_secret }) => (
                LOGIN_BY_APP_SECRET,
                json!({"acctID": config.acct_id, "username": config.username,
                       "appId": app_id, "appSecret": app_secret.expose(), "lcid": config.lcid}),
            ),
            None => {
                return Err(KingdeeError::LoginRefused(
                    "no password or app_id with app_secret is configured".to_owned(),
                ))
            }
        };
        let answer = self.post(path, &body).await.map_err(|error| match error {
            // Not quoted: an answer that echoes the request would carry the password.
            KingdeeError::Garbage(_) => {
                KingdeeError::Garbage("the login answer is not JSON".to_owned())
            }
            other => other,
        })?;
        answer::login(&answer)
    }

    /// Posts JSON and reads the answer, bounded.
    async fn post(&self, path: &str, body: &Value) -> Result<Value, KingdeeError> {
        let response = self
            .http
            .post(format!("{}{path}", self.base_url))
            .header("content-type", "application/json;charset=utf-8")
            .body(body.to_string())
            .send()
            .await
            .map_err(transport)?;
        let status = response.status().as_u16();
        if status != 200 {
            return Err(KingdeeError::Status(status));
        }
        answer::json(&read_bounded(response).await?)
    }
}

/// The body, refused as soon as it passes [`MAX_ANSWER`].
async fn read_bounded(mut response: reqwest::Response) -> Result<Vec<u8>, KingdeeError> {
    if response
        .content_length()
        .is_some_and(|length| length > MAX_ANSWER as u64)
    {
        return Err(KingdeeError::TooLarge(MAX_ANSWER));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(transport)? {
        if body.len() + chunk.len() > MAX_ANSWER {
            return Err(KingdeeError::TooLarge(MAX_ANSWER));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A transport failure in words, with its causes (refused, timed out, TLS…).
fn transport(error: reqwest::Error) -> KingdeeError {
    let mut words = error.to_string();
    let mut cause = std::error::Error::source(&error);
    while let Some(inner) = cause {
        words.push_str(": ");
        words.push_str(&inner.to_string());
        cause = inner.source();
    }
    KingdeeError::Transport(words)
}
