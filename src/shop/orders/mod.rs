//! Orders: what the storefront sells, the ERP downloads, and shipments fulfil.

mod anchors;
mod awaiting;
mod counts;
mod filter;
mod listing;
mod memo;
mod model;
mod read;
mod write;

pub use anchors::PageAnchors;
pub use awaiting::{
    awaiting_shipment_after, awaiting_shipment_among, explain_awaiting_shipment, Awaiting,
};
pub use counts::{fold as fold_order_counts, placed_since};
pub use filter::{OrderFilter, OrderTime, TimeWindow};
pub use memo::{update_memo, MAX_MEMO};
pub use model::{
    Customs, Invoice, NewOrder, OrderHeader, OrderLineFields, OrderLineRecord, OrderRecord,
    PickupCode, Receiver,
};
pub use read::{explain_page, find, page, page_ids_by_counts, page_kept, KeptOrders, Listed};
pub use write::{check_batch, upsert};
