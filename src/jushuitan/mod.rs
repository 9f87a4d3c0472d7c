//! 聚水潭 (Jushuitan): push orders through the outbox; pull stock, shipping and refunds.

pub mod after_sales;
pub mod client;
pub mod fields;
pub mod jobs;
pub mod mapping;
pub mod pulls;
pub mod push;
pub mod session;
pub mod shipping;
pub mod sign;
pub mod sync;
pub mod windows;

pub use client::{JstError, JushuitanClient, Operation, Tokens};
pub use jobs::jobs;
pub use session::{JstSyncError, Session};
pub use sync::JstSync;
