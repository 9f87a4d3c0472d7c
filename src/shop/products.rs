//! Products and their SKUs: the catalogue the ERP downloads and whose stock it sets.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDateTime;
use diesel::dsl::case_when;
use diesel::prelude::*;
use diesel::sql_types::Text;

use super::{Page, PageOf, ShopError, UpsertCounts};
use crate::db::schema::{products, skus};
use crate::db::{write_transaction, DbBackend, DbConnection};
use crate::outbox::{self, Kind, Target};
use crate::shop::stock::StockSource;
use crate::time::now_utc;

/// A product's own fields, as written by the storefront.
#[derive(Debug, Clone, PartialEq, Eq, Insertable, AsChangeset, Queryable, Selectable)]
#[diesel(table_name = products)]
pub struct ProductFields {
    /// The platform's product id (unique in the shop).
    pub plat_product_id: String,
    /// Product name.
    pub name: String,
    /// The merchant's outer code.
    pub outer_id: String,
    /// Price in fen.
    pub price: i64,
    /// Stock of a product without SKUs; ignored (kept 0) when it has SKUs.
    pub quantity: i64,
    /// Picture URL.
    pub picture_url: String,
    /// Warehouse code.
    pub whse_code: String,
    /// On sale (JH_01) or off sale (JH_02).
    pub on_sale: bool,
}

/// A SKU's own fields.
#[derive(Debug, Clone, PartialEq, Eq, Insertable, AsChangeset, Queryable, Selectable)]
#[diesel(table_name = skus)]
pub struct SkuFields {
    /// The platform's SKU id (unique within the product).
    pub sku_id: String,
    /// The merchant's SKU outer code.
    pub outer_id: String,
    /// Price in fen.
    pub price: i64,
    /// Stock.
    pub quantity: i64,
    /// SKU name.
    pub name: String,
    /// Properties, e.g. `颜色:白色`.
    pub property: String,
    /// Picture URL.
    pub picture_url: String,
}

/// A product to create or replace, with its complete SKU list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewProduct {
    /// The product.
    pub fields: ProductFields,
    /// Its SKUs; SKUs stored but not listed here are removed.
    pub skus: Vec<SkuFields>,
}

/// A stored SKU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkuRecord {
    /// Internal id.
    pub id: i64,
    /// The SKU.
    pub fields: SkuFields,
    /// Last change.
    pub modified_at: NaiveDateTime,
}

/// A stored product with its SKUs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductRecord {
    /// Internal id.
    pub id: i64,
    /// The product.
    pub fields: ProductFields,
    /// Its SKUs, in insertion order.
    pub skus: Vec<SkuRecord>,
    /// First stored.
    pub created_at: NaiveDateTime,
    /// Last change.
    pub modified_at: NaiveDateTime,
}

impl ProductRecord {
    /// Stock of the product: the sum of its SKUs, or its own when it has none.
    pub fn quantity(&self) -> i64 {
        if self.skus.is_empty() {
            self.fields.quantity
        } else {
            self.skus.iter().map(|sku| sku.fields.quantity).sum()
        }
    }
}

/// Which products a listing wants.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProductFilter {
    /// Only on-sale (`Some(true)`) or off-sale (`Some(false)`) products.
    pub on_sale: Option<bool>,
    /// Exact outer code.
    pub outer_id: Option<String>,
    /// Substring of the name.
    pub name_contains: Option<String>,
}

/// Creates or replaces `items` (keyed by platform product id) in one transaction.
pub fn upsert(
    conn: &mut DbConnection,
    shop_id: i64,
    items: &[NewProduct],
) -> Result<UpsertCounts, ShopError> {
    check_batch(items)?;
    write_transaction(conn, |conn| {
        let now = now_utc();
        let mut counts = UpsertCounts::default();
        for item in items {
            let existing: Option<i64> = products::table
                .filter(products::shop_id.eq(shop_id))
                .filter(products::plat_product_id.eq(&item.fields.plat_product_id))
                .select(products::id)
                .first(conn)
                .optional()?;
            let product_id = match existing {
                Some(id) => {
                    let changed = products::quantity.ne(item.fields.quantity);
                    diesel::update(products::table.find(id))
                        .set((
                            products::stock_source.eq(case_when::<_, _, Text>(
                                changed,
                                StockSource::Admin.code(),
                            )
                            .otherwise(products::stock_source)),
                            products::stock_changed_at
                                .eq(case_when(changed, Some(now))
                                    .otherwise(products::stock_changed_at)),
                            &item.fields,
                            products::modified_at.eq(now),
                        ))
                        .execute(conn)?;
                    counts.updated += 1;
                    id
                }
                None => {
                    diesel::insert_into(products::table)
                        .values((
                            products::shop_id.eq(shop_id),
                            &item.fields,
                            products::created_at.eq(now),
                            products::modified_at.eq(now),
                            products::stock_source.eq(StockSource::Admin.code()),
                            products::stock_changed_at.eq(Some(now)),
                        ))
                        .execute(conn)?;
                    counts.created += 1;
                    products::table
                        .filter(products::shop_id.eq(shop_id))
                        .filter(products::plat_product_id.eq(&item.fields.plat_product_id))
                        .select(products::id)
                        .first(conn)?
                }
            };
            replace_skus(conn, shop_id, product_id, &item.skus, now)?;
            outbox::enqueue(
                conn,
                shop_id,
                Target::Wms,
                Kind::Item,
                &item.fields.plat_product_id,
            )?;
        }
        Ok(counts)
    })
}

/// Refuses a batch that names a product twice, or a SKU twice within a product.
pub fn check_batch(items: &[NewProduct]) -> Result<(), ShopError> {
    let mut seen = HashSet::new();
    for (index, item) in items.iter().enumerate() {
        if !seen.insert(item.fields.plat_product_id.as_str()) {
            return Err(ShopError::rejected(
                format!("[{index}].PlatProductID"),
                format!(
                    "`{}` appears twice in this request",
                    item.fields.plat_product_id
                ),
            ));
        }
        let mut sku_ids = HashSet::new();
        for (sku_index, sku) in item.skus.iter().enumerate() {
            if !sku_ids.insert(sku.sku_id.as_str()) {
                return Err(ShopError::rejected(
                    format!("[{index}].skus[{sku_index}].SkuID"),
                    format!("`{}` appears twice in this product", sku.sku_id),
                ));
            }
        }
    }
    Ok(())
}

fn replace_skus(
    conn: &mut DbConnection,
    shop_id: i64,
    product_id: i64,
    wanted: &[SkuFields],
    now: NaiveDateTime,
) -> Result<(), ShopError> {
    let stored: Vec<(i64, String)> = skus::table
        .filter(skus::shop_id.eq(shop_id))
        .filter(skus::product_id.eq(product_id))
        .select((skus::id, skus::sku_id))
        .load(conn)?;
    let stored: HashMap<String, i64> = stored.into_iter().map(|(id, sku)| (sku, id)).collect();
    let wanted_ids: HashSet<&str> = wanted.iter().map(|sku| sku.sku_id.as_str()).collect();
    let removed: Vec<i64> = stored
        .iter()
        .filter(|(sku, _)| !wanted_ids.contains(sku.as_str()))
        .map(|(_, id)| *id)
        .collect();
    if !removed.is_empty() {
        diesel::delete(skus::table.filter(skus::id.eq_any(&removed))).execute(conn)?;
    }
    for sku in wanted {
        match stored.get(&sku.sku_id) {
            Some(id) => {
                // Only a quantity that changes makes the storefront the stock's source.
                let changed = skus::quantity.ne(sku.quantity);
                diesel::update(skus::table.find(*id))
                    .set((
                        skus::stock_source.eq(case_when::<_, _, Text>(
                            changed,
                            StockSource::Admin.code(),
                        )
                        .otherwise(skus::stock_source)),
                        skus::stock_changed_at
                            .eq(case_when(changed, Some(now)).otherwise(skus::stock_changed_at)),
                        sku,
                        skus::modified_at.eq(now),
                    ))
                    .execute(conn)?;
            }
            None => {
                diesel::insert_into(skus::table)
                    .values((
                        skus::shop_id.eq(shop_id),
                        skus::product_id.eq(product_id),
                        sku,
                        skus::created_at.eq(now),
                        skus::modified_at.eq(now),
                        skus::stock_source.eq(StockSource::Admin.code()),
                        skus::stock_changed_at.eq(Some(now)),
                    ))
                    .execute(conn)?;
            }
        }
    }
    Ok(())
}

/// One page of products, ordered by internal id, with the total across pages.
pub fn page(
    conn: &mut DbConnection,
    shop_id: i64,
    filter: &ProductFilter,
    page: Page,
) -> Result<PageOf<ProductRecord>, ShopError> {
    conn.transaction(|conn| {
        let total: i64 = filtered(shop_id, filter).count().get_result(conn)?;
        let rows: Vec<(i64, ProductFields, NaiveDateTime, NaiveDateTime)> =
            filtered(shop_id, filter)
                .order(products::id.asc())
                .limit(page.size)
                .offset(page.offset())
                .select((
                    products::id,
                    ProductFields::as_select(),
                    products::created_at,
                    products::modified_at,
                ))
                .load(conn)?;
        let items = with_skus(conn, shop_id, rows)?;
        Ok(PageOf { total, items })
    })
}

/// The product with this platform id, if stored.
pub fn find(
    conn: &mut DbConnection,
    shop_id: i64,
    plat_product_id: &str,
) -> Result<Option<ProductRecord>, ShopError> {
    let rows: Vec<(i64, ProductFields, NaiveDateTime, NaiveDateTime)> = products::table
        .filter(products::shop_id.eq(shop_id))
        .filter(products::plat_product_id.eq(plat_product_id))
        .select((
            products::id,
            ProductFields::as_select(),
            products::created_at,
            products::modified_at,
        ))
        .load(conn)?;
    Ok(with_skus(conn, shop_id, rows)?.into_iter().next())
}

fn filtered<'a>(shop_id: i64, filter: &'a ProductFilter) -> products::BoxedQuery<'a, DbBackend> {
    let mut query = products::table
        .filter(products::shop_id.eq(shop_id))
        .into_boxed();
    if let Some(on_sale) = filter.on_sale {
        query = query.filter(products::on_sale.eq(on_sale));
    }
    if let Some(outer_id) = &filter.outer_id {
        query = query.filter(products::outer_id.eq(outer_id));
    }
    if let Some(name) = &filter.name_contains {
        query = query.filter(products::name.like(like_pattern(name)).escape('\\'));
    }
    query
}

/// A LIKE pattern matching `text` anywhere, with LIKE's own metacharacters escaped.
pub(crate) fn like_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

fn with_skus(
    conn: &mut DbConnection,
    shop_id: i64,
    rows: Vec<(i64, ProductFields, NaiveDateTime, NaiveDateTime)>,
) -> Result<Vec<ProductRecord>, ShopError> {
    let ids: Vec<i64> = rows.iter().map(|row| row.0).collect();
    // In id order after reading, not by ORDER BY (see `crate::db::in_id_order`).
    let mut sku_rows: Vec<(i64, i64, SkuFields, NaiveDateTime)> = skus::table
        .filter(skus::shop_id.eq(shop_id))
        .filter(skus::product_id.eq_any(&ids))
        .select((
            skus::product_id,
            skus::id,
            SkuFields::as_select(),
            skus::modified_at,
        ))
        .load(conn)?;
    sku_rows.sort_unstable_by_key(|row| row.1);
    let mut by_product: HashMap<i64, Vec<SkuRecord>> = HashMap::new();
    for (product_id, id, fields, modified_at) in sku_rows {
        by_product.entry(product_id).or_default().push(SkuRecord {
            id,
            fields,
            modified_at,
        });
    }
    Ok(rows
        .into_iter()
        .map(|(id, fields, created_at, modified_at)| ProductRecord {
            id,
            fields,
            skus: by_product.remove(&id).unwrap_or_default(),
            created_at,
            modified_at,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::like_pattern;

    #[test]
    fn like_metacharacters_are_escaped() {
        assert_eq!(like_pattern("50%_off\\"), "%50\\%\\_off\\\\%");
        assert_eq!(like_pattern("牙刷"), "%牙刷%");
    }
}
