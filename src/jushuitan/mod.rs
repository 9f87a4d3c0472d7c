//! 聚水潭 (Jushuitan): push orders through the outbox; pull stock, shipping and refunds.

pub mod after_sales;
pub mod client;
pub mod jobs;
pub mod mapping;
pub mod scheduler;
pub mod session;
pub mod sign;

pub use client::{JstError, JushuitanClient, Operation, Tokens};
pub use session::{Session, SyncError};
