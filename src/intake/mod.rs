//! Intake of the storefront's documents (products, orders, refunds) in the Polyapi
//! shapes, shared by the admin API and `polymall import`: parse, validate every
//! document, then write them all in one transaction or none.

use serde::de::DeserializeOwned;

use crate::db::Database;
use crate::polyapi::wire::{FieldError, GoodsItem, OrderItem, RefundItem};
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

/// Parses a JSON array of documents, or JSON lines (one document per non-empty line).
/// Errors carry the path of the offending field, starting with the document's index.
pub fn parse_documents<T: DeserializeOwned>(body: &[u8]) -> Result<Vec<T>, IntakeError> {
    let text = std::str::from_utf8(body).map_err(|e| {
        IntakeError::Malformed(FieldError::new("", format!("body is not UTF-8: {e}")))
    })?;
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if trimmed.is_empty() {
        return Err(IntakeError::Malformed(FieldError::new(
            "",
            "body is empty; send a JSON array",
        )));
    }
    if trimmed.starts_with('[') {
        let mut deserializer = serde_json::Deserializer::from_str(trimmed);
        let documents: Vec<T> =
            serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
                let path = e.path().to_string();
                let path = if path == "." { String::new() } else { path };
                IntakeError::Malformed(FieldError::new(path, e.inner().to_string()))
            })?;
        deserializer.end().map_err(|e| {
            IntakeError::Malformed(FieldError::new(
                "",
                format!("trailing data after the array: {e}"),
            ))
        })?;
        return Ok(documents);
    }
    let mut documents = Vec::new();
    for (number, line) in trimmed.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let index = documents.len();
        let mut deserializer = serde_json::Deserializer::from_str(line);
        let document: T = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
            let inner = e.path().to_string();
            let path = if inner == "." {
                format!("[{index}]")
            } else {
                format!("[{index}].{inner}")
            };
            IntakeError::Malformed(FieldError::new(
                path,
                format!("line {}: {}", number + 1, e.inner()),
            ))
        })?;
        documents.push(document);
    }
    Ok(documents)
}

/// Validates and stores one batch for `shop`, all or nothing.
pub async fn ingest(
    db: &Database,
    shop: &Shop,
    kind: DocumentKind,
    body: &[u8],
    limit: Option<usize>,
) -> Result<UpsertCounts, IntakeError> {
    let offset = shop_offset(shop);
    let shop_id = shop.id;
    let check_limit = |count: usize| match limit {
        Some(limit) if count > limit => Err(IntakeError::TooMany { count, limit }),
        _ => Ok(()),
    };
    match kind {
        DocumentKind::Products => {
            let documents: Vec<GoodsItem> = parse_documents(body)?;
            check_limit(documents.len())?;
            let items = convert(&documents, |d| d.to_new_product())?;
            db.run(move |conn| products::upsert(conn, shop_id, &items).map_err(IntakeError::from))
                .await
        }
        DocumentKind::Orders => {
            let documents: Vec<OrderItem> = parse_documents(body)?;
            check_limit(documents.len())?;
            let items = convert(&documents, |d| d.to_new_order(offset))?;
            db.run(move |conn| orders::upsert(conn, shop_id, &items).map_err(IntakeError::from))
                .await
        }
        DocumentKind::Refunds => {
            let documents: Vec<RefundItem> = parse_documents(body)?;
            check_limit(documents.len())?;
            let items = convert(&documents, |d| d.to_new_refund(offset))?;
            db.run(move |conn| refunds::upsert(conn, shop_id, &items).map_err(IntakeError::from))
                .await
        }
    }
}

/// The shop's zone as a chrono offset.
pub fn shop_offset(shop: &Shop) -> chrono::FixedOffset {
    crate::config::UtcOffset::from_minutes(shop.utc_offset_minutes)
        .unwrap_or_default()
        .fixed()
}

fn convert<D, T>(
    documents: &[D],
    each: impl Fn(&D) -> Result<T, FieldError>,
) -> Result<Vec<T>, IntakeError> {
    documents
        .iter()
        .enumerate()
        .map(|(index, document)| {
            each(document).map_err(|e| IntakeError::Invalid(e.within(&format!("[{index}]"))))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Doc {
        a: i64,
    }

    #[test]
    fn arrays_and_json_lines_both_parse() {
        let array: Vec<Doc> = parse_documents(b" [{\"a\":1},{\"a\":2}]").unwrap();
        assert_eq!(array, vec![Doc { a: 1 }, Doc { a: 2 }]);
        let lines: Vec<Doc> = parse_documents(b"{\"a\":1}\n\n{\"a\":2}\n").unwrap();
        assert_eq!(lines, vec![Doc { a: 1 }, Doc { a: 2 }]);
    }

    #[test]
    fn errors_name_the_field_path() {
        let err = parse_documents::<Doc>(b"[{\"a\":1},{\"a\":\"x\"}]").unwrap_err();
        assert!(err.to_string().starts_with("[1].a:"), "{err}");
        let err = parse_documents::<Doc>(b"[{\"a\":1,\"b\":2}]").unwrap_err();
        assert!(err.to_string().contains('b'), "{err}");
        let err = parse_documents::<Doc>(b"{\"a\":1}\n{\"a\":true}").unwrap_err();
        assert!(
            err.to_string().contains("[1].a") && err.to_string().contains("line 2"),
            "{err}"
        );
        assert!(parse_documents::<Doc>(b"  ").is_err());
        assert!(parse_documents::<Doc>(b"[{\"a\":1}] x").is_err());
    }
}
