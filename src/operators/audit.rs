//! The audit log: one row per operator action, written in the transaction of the action.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::audit_log;
use crate::db::DbConnection;
use crate::time::now_utc;

/// Longest subject or detail kept.
const MAX_TEXT: usize = 500;

/// What an operator did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Signed in to the console.
    SignIn,
    /// Signed out.
    SignOut,
    /// Re-armed dead outbox rows.
    OutboxRetry,
    /// Held outbox rows.
    OutboxHold,
    /// Released held outbox rows.
    OutboxRelease,
    /// Set a stock level.
    StockSet,
    /// Created an operator.
    OperatorAdd,
    /// Changed an operator's role.
    OperatorRole,
    /// Disabled an operator.
    OperatorDisable,
    /// Enabled an operator.
    OperatorEnable,
    /// Replaced an operator's password.
    OperatorPassword,
    /// Created a shop.
    ShopCreate,
    /// Changed a shop's settings (the keys changed are named, never secret values).
    ShopChange,
    /// Disabled a shop.
    ShopDisable,
    /// Enabled a shop.
    ShopEnable,
    /// Rotated a shop's Polyapi appsecret.
    ShopRotateSecret,
    /// Ended the overlap in which a rotated appsecret still verifies.
    ShopEndOverlap,
}

impl Action {
    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            Self::SignIn => "sign_in",
            Self::SignOut => "sign_out",
            Self::OutboxRetry => "outbox_retry",
            Self::OutboxHold => "outbox_hold",
            Self::OutboxRelease => "outbox_release",
            Self::StockSet => "stock_set",
            Self::OperatorAdd => "operator_add",
            Self::OperatorRole => "operator_role",
            Self::OperatorDisable => "operator_disable",
            Self::OperatorEnable => "operator_enable",
            Self::OperatorPassword => "operator_password",
            Self::ShopCreate => "shop_create",
            Self::ShopChange => "shop_change",
            Self::ShopDisable => "shop_disable",
            Self::ShopEnable => "shop_enable",
            Self::ShopRotateSecret => "shop_rotate_secret",
            Self::ShopEndOverlap => "shop_end_overlap",
        }
    }
}

/// One action to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry<'a> {
    actor: &'a str,
    action: Action,
    shop_id: Option<i64>,
    subject: &'a str,
    detail: String,
}

impl<'a> Entry<'a> {
    /// `actor` (an operator's name, or `cli`) did `action` to `subject`.
    pub fn new(actor: &'a str, action: Action, subject: &'a str) -> Self {
        Self {
            actor,
            action,
            shop_id: None,
            subject,
            detail: String::new(),
        }
    }

    /// The shop the subject belongs to.
    pub fn shop(mut self, shop_id: i64) -> Self {
        self.shop_id = Some(shop_id);
        self
    }

    /// What exactly changed.
    pub fn detail(mut self, detail: &str) -> Self {
        self.detail = detail.to_owned();
        self
    }
}

fn bounded(text: &str) -> String {
    text.chars().take(MAX_TEXT).collect()
}

/// Writes `entry`; call it inside the transaction of the action.
pub fn record(conn: &mut DbConnection, entry: &Entry<'_>) -> Result<(), diesel::result::Error> {
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::at.eq(now_utc()),
            audit_log::actor.eq(bounded(entry.actor)),
            audit_log::action.eq(entry.action.code()),
            audit_log::shop_id.eq(entry.shop_id),
            audit_log::subject.eq(bounded(entry.subject)),
            audit_log::detail.eq(bounded(&entry.detail)),
        ))
        .execute(conn)?;
    Ok(())
}

/// A recorded action.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = audit_log)]
pub struct AuditRecord {
    /// Row id (later actions have larger ids).
    pub id: i64,
    /// When.
    pub at: NaiveDateTime,
    /// Who.
    pub actor: String,
    /// The action's code.
    pub action: String,
    /// The shop, when the subject belongs to one.
    pub shop_id: Option<i64>,
    /// What it was done to.
    pub subject: String,
    /// What changed.
    pub detail: String,
}

/// The latest `limit` actions, newest first, before the row `before` when given.
pub fn recent(
    conn: &mut DbConnection,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<AuditRecord>, diesel::result::Error> {
    let mut query = audit_log::table.into_boxed();
    if let Some(before) = before {
        query = query.filter(audit_log::id.lt(before));
    }
    query
        .order(audit_log::id.desc())
        .limit(limit)
        .select(AuditRecord::as_select())
        .load(conn)
}
