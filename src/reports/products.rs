//! Products and their stock as the operator looks for them, with where each stock level
//! last came from.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{products, skus};
use crate::db::{DbConnection, DbError};
use crate::shop::products::like_pattern;

/// A product in a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductSummary {
    /// Platform product id.
    pub plat_product_id: String,
    /// Name.
    pub name: String,
    /// Merchant code.
    pub outer_id: String,
    /// On sale.
    pub on_sale: bool,
    /// How many SKUs it has.
    pub sku_count: usize,
    /// Its stock: the sum of its SKUs, or its own without SKUs.
    pub quantity: i64,
}

/// Products of a shop whose name contains `text`, or whose product id, merchant code or
/// a SKU's merchant code is `text`; newest first.
pub fn search(
    conn: &mut DbConnection,
    shop_id: i64,
    text: Option<&str>,
    offset: i64,
    limit: i64,
) -> Result<Vec<ProductSummary>, DbError> {
    let mut query = products::table
        .filter(products::shop_id.eq(shop_id))
        .into_boxed();
    if let Some(text) = text {
        let by_sku_code = skus::table
            .filter(skus::shop_id.eq(shop_id))
            .filter(skus::outer_id.eq(text.to_owned()))
            .select(skus::product_id);
        query = query.filter(
            products::name
                .like(like_pattern(text))
                .escape('\\')
                .or(products::plat_product_id.eq(text.to_owned()))
                .or(products::outer_id.eq(text.to_owned()))
                .or(products::id.eq_any(by_sku_code)),
        );
    }
    let rows: Vec<(i64, String, String, String, bool, i64)> = query
        .order(products::id.desc())
        .offset(offset)
        .limit(limit)
        .select((
            products::id,
            products::plat_product_id,
            products::name,
            products::outer_id,
            products::on_sale,
            products::quantity,
        ))
        .load(conn)?;
    let ids: Vec<i64> = rows.iter().map(|row| row.0).collect();
    let sku_stock: Vec<(i64, i64)> = skus::table
        .filter(skus::shop_id.eq(shop_id))
        .filter(skus::product_id.eq_any(&ids))
        .select((skus::product_id, skus::quantity))
        .load(conn)?;
    let mut by_product: HashMap<i64, (usize, i64)> = HashMap::new();
    for (product_id, quantity) in sku_stock {
        let entry = by_product.entry(product_id).or_default();
        entry.0 += 1;
        entry.1 += quantity;
    }
    Ok(rows
        .into_iter()
        .map(|(id, plat_product_id, name, outer_id, on_sale, own)| {
            let (sku_count, sum) = by_product.get(&id).copied().unwrap_or((0, own));
            ProductSummary {
                plat_product_id,
                name,
                outer_id,
                on_sale,
                sku_count,
                quantity: sum,
            }
        })
        .collect())
}

/// One stock level: a SKU's, or a SKU-less product's own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockLine {
    /// The SKU id; `None` for the product's own stock.
    pub sku_id: Option<String>,
    /// SKU name and properties.
    pub spec: String,
    /// Merchant code.
    pub outer_id: String,
    /// Quantity.
    pub quantity: i64,
    /// Where the last change came from (a `StockSource` code; empty: not recorded).
    pub source: String,
    /// When.
    pub changed_at: Option<NaiveDateTime>,
}

/// A product with its stock levels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductStock {
    /// Platform product id.
    pub plat_product_id: String,
    /// Name.
    pub name: String,
    /// Merchant code.
    pub outer_id: String,
    /// Its SKUs' stock, or its own when it has none.
    pub lines: Vec<StockLine>,
}

/// The stock of one product, if the shop has it.
pub fn stock_of(
    conn: &mut DbConnection,
    shop_id: i64,
    plat_product_id: &str,
) -> Result<Option<ProductStock>, DbError> {
    type Head = (i64, String, String, i64, String, Option<NaiveDateTime>);
    let head: Option<Head> = products::table
        .filter(products::shop_id.eq(shop_id))
        .filter(products::plat_product_id.eq(plat_product_id))
        .select((
            products::id,
            products::name,
            products::outer_id,
            products::quantity,
            products::stock_source,
            products::stock_changed_at,
        ))
        .first(conn)
        .optional()?;
    let Some((id, name, outer_id, quantity, source, changed_at)) = head else {
        return Ok(None);
    };
    type Sku = (
        i64,
        String,
        String,
        String,
        String,
        i64,
        String,
        Option<NaiveDateTime>,
    );
    // In id order after reading, not by ORDER BY (see `crate::db::in_id_order`).
    let mut sku_rows: Vec<Sku> = skus::table
        .filter(skus::shop_id.eq(shop_id))
        .filter(skus::product_id.eq(id))
        .select((
            skus::id,
            skus::sku_id,
            skus::name,
            skus::property,
            skus::outer_id,
            skus::quantity,
            skus::stock_source,
            skus::stock_changed_at,
        ))
        .load(conn)?;
    sku_rows.sort_unstable_by_key(|row| row.0);
    let lines = if sku_rows.is_empty() {
        vec![StockLine {
            sku_id: None,
            spec: String::new(),
            outer_id: outer_id.clone(),
            quantity,
            source,
            changed_at,
        }]
    } else {
        sku_rows
            .into_iter()
            .map(
                |(_, sku_id, sku_name, property, outer_id, quantity, source, changed_at)| {
                    StockLine {
                        sku_id: Some(sku_id),
                        spec: [sku_name, property]
                            .into_iter()
                            .filter(|part| !part.is_empty())
                            .collect::<Vec<_>>()
                            .join(" · "),
                        outer_id,
                        quantity,
                        source,
                        changed_at,
                    }
                },
            )
            .collect()
    };
    Ok(Some(ProductStock {
        plat_product_id: plat_product_id.to_owned(),
        name,
        outer_id,
        lines,
    }))
}
