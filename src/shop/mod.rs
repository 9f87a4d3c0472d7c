//! The shop domain: shops, catalogue, orders, refunds. Plain functions over a
//! connection; each write is one database transaction.

pub mod after_sales;
pub mod amounts;
pub mod carriers;
pub mod codes;
pub mod cursors;
mod error;
pub mod orders;
mod paging;
pub mod parcels;
pub mod pickup;
pub mod products;
pub mod refunds;
pub mod sales_returns;
pub mod settings;
pub mod shipments;
pub mod shops;
pub mod stock;

pub use error::ShopError;
pub use paging::{Page, PageOf};

/// What a batch upsert did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct UpsertCounts {
    /// Records that did not exist before.
    pub created: usize,
    /// Records that existed and were replaced.
    pub updated: usize,
}
