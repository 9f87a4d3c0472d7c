//! The transactional outbox shared by every outbound integration.
//!
//! A change that must reach another system writes (or re-arms) an outbox row in the
//! same transaction as the change. Rows are keyed by subject (an order number, a
//! product id), so a subject changed many times before it is sent is sent once, in
//! its latest state: the sender reads the subject's current state, not a snapshot.
//! Workers claim due rows with a lease; a crash leaves the lease to expire and the row
//! is claimed again (at-least-once delivery).

mod drain;
mod store;

pub use drain::{drain, lease, Adapter, DrainReport, Verdict};
pub use store::{
    backoff, claim, complete, enqueue, enqueue_many, explain_claim, fail, hold, hold_rows, list,
    retry, settle, Claimed, OutboxFilter, OutboxRow, RetryWhich,
};

/// Which system a row is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    /// 聚水潭.
    Jushuitan,
    /// The Qimen-standard warehouse.
    Wms,
    /// 金蝶云星空 (Kingdee K/3 Cloud), the shop's books.
    Kingdee,
}

impl Target {
    /// Every target, in the order pages show them.
    pub const ALL: [Self; 3] = [Self::Jushuitan, Self::Wms, Self::Kingdee];

    /// The kinds of rows queued for this target.
    pub fn kinds(self) -> impl Iterator<Item = Kind> {
        Kind::ALL
            .into_iter()
            .filter(move |kind| kind.target() == self)
    }

    /// Stored code.
    pub const fn code(self) -> &'static str {
        match self {
            Self::Jushuitan => "jushuitan",
            Self::Wms => "wms",
            Self::Kingdee => "kingdee",
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// Where a row stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Waiting to be sent (now or after its backoff).
    Pending,
    /// Breaks the target's rules as it is; sent again when the subject changes.
    Held,
    /// Refused, or failed too often; waits for an operator's retry.
    Dead,
    /// Taken by the target.
    Done,
}

impl State {
    /// Every state.
    pub const ALL: [Self; 4] = [Self::Pending, Self::Held, Self::Dead, Self::Done];

    /// Stored code.
    pub const fn code(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Held => "held",
            Self::Dead => "dead",
            Self::Done => "done",
        }
    }

    /// The state a stored code names.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.code() == code)
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

impl std::str::FromStr for State {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        Self::from_code(text.trim())
            .ok_or_else(|| format!("`{text}` is not one of pending, held, dead, done"))
    }
}

/// Read from the database, where a CHECK keeps the codes to the four.
impl TryFrom<String> for State {
    type Error = String;

    fn try_from(code: String) -> Result<Self, String> {
        code.parse()
    }
}

/// What a row asks the target to do with its subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Upload the order's current state (Jushuitan orders.upload).
    Order,
    /// Synchronise the product (WMS singleitem.synchronize).
    Item,
    /// Create the delivery order (WMS deliveryorder.create).
    DeliveryOrder,
    /// Cancel the delivery order (WMS order.cancel).
    Cancel,
    /// Book a confirmed return as a sales return (Kingdee SAL_RETURNSTOCK).
    SalesReturn,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Self; 5] = [
        Self::Order,
        Self::Item,
        Self::DeliveryOrder,
        Self::Cancel,
        Self::SalesReturn,
    ];

    /// The one target rows of this kind go to.
    pub const fn target(self) -> Target {
        match self {
            Self::Order => Target::Jushuitan,
            Self::Item | Self::DeliveryOrder | Self::Cancel => Target::Wms,
            Self::SalesReturn => Target::Kingdee,
        }
    }

    /// Stored code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Order => "order",
            Self::Item => "item",
            Self::DeliveryOrder => "delivery_order",
            Self::Cancel => "cancel",
            Self::SalesReturn => "sales_return",
        }
    }
}

/// Failures of the outbox.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    /// The database failed.
    #[error(transparent)]
    Db(#[from] crate::db::DbError),
    /// A row named by id does not exist.
    #[error("outbox row {0} does not exist")]
    NoSuchRow(i64),
    /// A row named by id is not dead or held, so there is nothing to retry.
    #[error("outbox row {id} is {state}; only dead or held rows can be retried")]
    NotRetryable {
        /// The row.
        id: i64,
        /// Its state.
        state: State,
    },
    /// A row named by id is done or already held, so it cannot be held.
    #[error("outbox row {id} is {state}; only pending or dead rows can be held")]
    NotHoldable {
        /// The row.
        id: i64,
        /// Its state.
        state: State,
    },
}

impl From<diesel::result::Error> for OutboxError {
    fn from(error: diesel::result::Error) -> Self {
        Self::Db(crate::db::DbError::from(error))
    }
}
