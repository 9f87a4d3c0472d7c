//! Intake of the storefront's documents (products, orders, refunds) in the Polyapi
//! shapes, shared by the admin API and `polymall import`: parse, validate every
//! document, then write a batch in one transaction or not at all.

mod documents;
mod import;

use chrono::FixedOffset;
use serde::de::DeserializeOwned;

pub use documents::{check_documents, read_documents, ReadError};
pub use import::{import, ImportError, ImportSource, Imported, Progress, Quiet, IMPORT_BATCH};

use crate::db::{Database, DbConnection};
use crate::polyapi::wire::{FieldError, GoodsItem, OrderItem, RefundItem};
use crate::shop::orders::NewOrder;
use crate::shop::products::NewProduct;
use crate::shop::refunds::NewRefund;
use crate::shop::shops::Shop;
use crate::shop::{orders, products, refunds, ShopError, UpsertCounts};

/// What kind of document a batch holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DocumentKind {
    /// DownloadProduct `goodslist` entries.
    Products,
    /// GetOrder `orders` entries.
    Orders,
    /// GetRefund `refunds` entries.
    Refunds,
}

impl DocumentKind {
    /// The tables storing documents of this kind writes (the queue of count changes its
    /// triggers fill included).
    pub fn tables(self) -> &'static [&'static str] {
        match self {
            Self::Products => &["products", "skus", "outbox"],
            // The large tables alternate, as an import refreshes every other one on each of
            // two connections.
            Self::Orders => &[
                "orders",
                "order_lines",
                "order_receivers",
                "outbox",
                "order_invoices",
                "order_customs",
                "pickup_codes",
                "order_count_changes",
                "order_counts",
            ],
            Self::Refunds => &["refunds", "refund_goods", "order_lines", "outbox"],
        }
    }
}

/// Why a batch was not taken. Nothing of the batch was written.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    /// The body is not JSON of the expected shape (wrong type, unknown field, bad syntax).
    #[error("{0}")]
    Malformed(FieldError),
    /// A document is well-formed but breaks a rule (missing value, bad code, too long…).
    #[error("{0}")]
    Invalid(FieldError),
    /// The batch is larger than allowed.
    #[error("{count} documents in one batch; at most {limit} are allowed")]
    TooMany {
        /// Documents sent.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// The shop refused or the database failed.
    #[error(transparent)]
    Shop(#[from] ShopError),
}

impl From<crate::db::DbError> for IntakeError {
    fn from(error: crate::db::DbError) -> Self {
        Self::Shop(ShopError::Db(error))
    }
}

/// One kind of document: its wire shape, how it becomes a record to store, and how a
/// batch of them is stored.
trait Document: Sized + Send + 'static {
    /// The shape on the wire.
    type Wire: DeserializeOwned;
    /// The wire field holding the key (for "appears twice").
    const KEY_FIELD: &'static str;
    /// Validates and converts one document.
    fn convert(wire: &Self::Wire, offset: FixedOffset) -> Result<Self, FieldError>;
    /// The key a batch upserts by.
    fn key(&self) -> &str;
    /// The checks a batch makes of each document on its own (as a batch of one).
    fn check(&self) -> Result<(), ShopError>;
    /// Stores a batch in one transaction.
    fn store(
        conn: &mut DbConnection,
        shop_id: i64,
        items: &[Self],
    ) -> Result<UpsertCounts, ShopError>;
}

impl Document for NewProduct {
    type Wire = GoodsItem;
    const KEY_FIELD: &'static str = "PlatProductID";
    fn convert(wire: &GoodsItem, _: FixedOffset) -> Result<Self, FieldError> {
        wire.to_new_product()
    }
    fn key(&self) -> &str {
        &self.fields.plat_product_id
    }
    fn check(&self) -> Result<(), ShopError> {
        products::check_batch(std::slice::from_ref(self))
    }
    fn store(
        conn: &mut DbConnection,
        shop_id: i64,
        items: &[Self],
    ) -> Result<UpsertCounts, ShopError> {
        products::upsert(conn, shop_id, items)
    }
}

impl Document for NewOrder {
    type Wire = OrderItem;
    const KEY_FIELD: &'static str = "PlatOrderNo";
    fn convert(wire: &OrderItem, offset: FixedOffset) -> Result<Self, FieldError> {
        wire.to_new_order(offset)
    }
    fn key(&self) -> &str {
        &self.header.plat_order_no
    }
    fn check(&self) -> Result<(), ShopError> {
        orders::check_batch(std::slice::from_ref(self))
    }
    fn store(
        conn: &mut DbConnection,
        shop_id: i64,
        items: &[Self],
    ) -> Result<UpsertCounts, ShopError> {
        orders::upsert(conn, shop_id, items)
    }
}

impl Document for NewRefund {
    type Wire = RefundItem;
    const KEY_FIELD: &'static str = "refundno";
    fn convert(wire: &RefundItem, offset: FixedOffset) -> Result<Self, FieldError> {
        wire.to_new_refund(offset)
    }
    fn key(&self) -> &str {
        &self.fields.refund_no
    }
    fn check(&self) -> Result<(), ShopError> {
        Ok(())
    }
    fn store(
        conn: &mut DbConnection,
        shop_id: i64,
        items: &[Self],
    ) -> Result<UpsertCounts, ShopError> {
        // Orders are never deleted, so one found now is there when the batch is written.
        refunds::require_known_orders(conn, shop_id, items)?;
        refunds::upsert(conn, shop_id, items)
    }
}

/// Parses a JSON array of documents, or JSON lines (one document per non-empty line).
/// Errors carry the path of the offending field, starting with the document's index.
pub fn parse_documents<T: DeserializeOwned>(body: &[u8]) -> Result<Vec<T>, IntakeError> {
    documents::parse_body(body).map_err(IntakeError::Malformed)
}

/// Validates and stores one batch for `shop`, all or nothing.
pub async fn ingest(
    db: &Database,
    shop: &Shop,
    kind: DocumentKind,
    body: &[u8],
    limit: Option<usize>,
) -> Result<UpsertCounts, IntakeError> {
    match kind {
        DocumentKind::Products => ingest_as::<NewProduct>(db, shop, body, limit).await,
        DocumentKind::Orders => ingest_as::<NewOrder>(db, shop, body, limit).await,
        DocumentKind::Refunds => ingest_as::<NewRefund>(db, shop, body, limit).await,
    }
}

async fn ingest_as<D: Document>(
    db: &Database,
    shop: &Shop,
    body: &[u8],
    limit: Option<usize>,
) -> Result<UpsertCounts, IntakeError> {
    let documents: Vec<D::Wire> = parse_documents(body)?;
    if let Some(limit) = limit.filter(|limit| documents.len() > *limit) {
        return Err(IntakeError::TooMany {
            count: documents.len(),
            limit,
        });
    }
    let offset = shop.offset();
    let items = documents
        .iter()
        .enumerate()
        .map(|(index, document)| convert::<D>(index, document, offset))
        .collect::<Result<Vec<D>, _>>()?;
    let shop_id = shop.id;
    let postgres = db.backend() == crate::db::Backend::Postgres;
    db.run(move |conn| {
        let counts = D::store(conn, shop_id, &items).map_err(IntakeError::from)?;
        // As an import does after each batch: a sale posted through the API grows the
        // tables from nothing, and PostgreSQL's cached plans keep the statistics of the
        // empty tables until someone analyses them.
        if postgres && items.len() >= STATISTICS_AFTER {
            if let Err(error) = crate::db::refresh_statistics(conn, crate::db::Refresh::Statistics)
            {
                tracing::warn!(%error, "statistics not refreshed after a batch");
            }
        }
        Ok(counts)
    })
    .await
}

/// Documents in a batch after which the statistics are checked.
const STATISTICS_AFTER: usize = 100;

/// One document converted, its errors under its index.
fn convert<D: Document>(
    index: usize,
    document: &D::Wire,
    offset: FixedOffset,
) -> Result<D, IntakeError> {
    D::convert(document, offset).map_err(|e| IntakeError::Invalid(e.within(&format!("[{index}]"))))
}
