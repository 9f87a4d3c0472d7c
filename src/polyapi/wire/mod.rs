//! Wire documents of the Polyapi contract and their conversion to and from the shop domain.
//!
//! The same shapes serve the ERP (GetOrder, DownloadProduct, GetRefund answers) and the
//! storefront's intake API, so what the storefront posts is what the ERP later reads.

mod fields;
mod order;
mod product;
mod refund;

pub use fields::{format_shop_time, parse_shop_time, FieldError, Money, WireInt};
pub use order::{GoodInfo, OrderItem};
pub use product::{GoodsItem, SkuItem};
pub use refund::{RefundGoodsItem, RefundItem};
