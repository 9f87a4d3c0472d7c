//! The transactional outbox shared by every outbound integration.
//!
//! A change that must reach another system writes (or re-arms) an outbox row in the
//! same transaction as the change. Rows are keyed by subject (an order number, a
//! product id), so a subject changed many times before it is sent is sent once, in
//! its latest state: the sender reads the subject's current state, not a snapshot.
//! Workers claim due rows with a lease; a crash leaves the lease to expire and the row
//! is claimed again (at-least-once delivery).

mod store;

pub use store::{
    backoff, claim, complete, enqueue, enqueue_many, fail, hold, list, retry, Claimed,
    OutboxFilter, OutboxRow, RetryWhich,
};

/// Which system a row is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    /// 聚水潭.
    Jushuitan,
    /// The Qimen-standard warehouse.
    Wms,
}

impl Target {
    /// Stored code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Jushuitan => "jushuitan",
            Self::Wms => "wms",
        }
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
}

impl Kind {
    /// Stored code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Order => "order",
            Self::Item => "item",
            Self::DeliveryOrder => "delivery_order",
            Self::Cancel => "cancel",
        }
    }
}

/// Failures of the outbox.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    /// The database failed.
    #[error(transparent)]
    Db(#[from] crate::db::DbError),
}

impl From<diesel::result::Error> for OutboxError {
    fn from(error: diesel::result::Error) -> Self {
        Self::Db(crate::db::DbError::Query(error))
    }
}
