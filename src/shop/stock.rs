//! Stock updates from the ERP: set or add, atomic in the database so concurrent
//! updates never lose one another.

use diesel::prelude::*;

use super::ShopError;
use crate::db::schema::{products, skus};
use crate::db::{write_transaction, DbConnection};
use crate::time::now_utc;

/// Largest quantity accepted, far above any real stock and far below overflow.
pub const MAX_QUANTITY: i64 = 1_000_000_000;

/// Where a stock level came from; kept with each SKU (or SKU-less product) so the
/// operator sees who set it last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StockSource {
    /// The ERP, through Polyapi SyncStock.
    Polyapi,
    /// Pulled from Jushuitan.
    Jushuitan,
    /// Pulled from the warehouse (inventory.query).
    Warehouse,
    /// The storefront's product post (admin API or import).
    Admin,
    /// An operator, in the console.
    Console,
}

impl StockSource {
    /// Every source.
    pub const ALL: [StockSource; 5] = [
        Self::Polyapi,
        Self::Jushuitan,
        Self::Warehouse,
        Self::Admin,
        Self::Console,
    ];

    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Polyapi => "polyapi",
            Self::Jushuitan => "jushuitan",
            Self::Warehouse => "wms",
            Self::Admin => "admin",
            Self::Console => "console",
        }
    }

    /// Reads a stored code.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|source| source.code() == code)
    }
}

/// How to apply a quantity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StockChange {
    /// Replace the stock (SyncStockType JH_01, the default).
    Set(i64),
    /// Add to the stock (JH_02).
    Add(i64),
}

/// How the ERP names a product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProductKey {
    /// By the platform product id (`PlatProductID`).
    PlatProductId(String),
    /// By the merchant's product code (`OuterID`).
    OuterId(String),
}

impl std::fmt::Display for ProductKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::PlatProductId(id) => write!(f, "`{id}`"),
            Self::OuterId(code) => write!(f, "coded `{code}`"),
        }
    }
}

/// Which product or SKU the change is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockTarget {
    /// The product.
    pub product: ProductKey,
    /// Platform SKU id.
    pub sku_id: Option<String>,
    /// Merchant's SKU code, used when no SKU id is given.
    pub out_sku_id: Option<String>,
}

/// Applies `change` from `source` in a transaction of its own and answers the quantity
/// after it.
pub fn sync(
    conn: &mut DbConnection,
    shop_id: i64,
    target: &StockTarget,
    change: StockChange,
    source: StockSource,
) -> Result<i64, ShopError> {
    write_transaction(conn, |conn| {
        sync_within(conn, shop_id, target, change, source)
    })
}

/// [`sync`] inside the caller's write transaction (an operator's change is recorded
/// with its audit entry).
pub fn sync_within(
    conn: &mut DbConnection,
    shop_id: i64,
    target: &StockTarget,
    change: StockChange,
    source: StockSource,
) -> Result<i64, ShopError> {
    let amount = match change {
        StockChange::Set(n) | StockChange::Add(n) => n,
    };
    if !(0..=MAX_QUANTITY).contains(&amount) {
        return Err(ShopError::rejected(
            "Quantity",
            format!("{amount} is not between 0 and {MAX_QUANTITY}"),
        ));
    }
    {
        let now = now_utc();
        let product_id = find_product(conn, shop_id, &target.product)?;
        let sku_count: i64 = skus::table
            .filter(skus::shop_id.eq(shop_id))
            .filter(skus::product_id.eq(product_id))
            .count()
            .get_result(conn)?;
        let quantity = if sku_count == 0 {
            let row = products::table.find(product_id);
            let marked = (
                products::stock_source.eq(source.code()),
                products::stock_changed_at.eq(Some(now)),
            );
            let updated = match change {
                StockChange::Set(n) => diesel::update(row)
                    .set((products::quantity.eq(n), marked))
                    .execute(conn)?,
                StockChange::Add(n) => diesel::update(row)
                    .filter(products::quantity.le(MAX_QUANTITY - n))
                    .set((products::quantity.eq(products::quantity + n), marked))
                    .execute(conn)?,
            };
            if updated != 1 {
                return Err(ShopError::rejected(
                    "Quantity",
                    format!("the stock would exceed {MAX_QUANTITY}"),
                ));
            }
            products::table
                .find(product_id)
                .select(products::quantity)
                .first(conn)?
        } else {
            let sku_row_id = find_sku(conn, shop_id, product_id, target)?;
            let row = skus::table.find(sku_row_id);
            let marked = (
                skus::modified_at.eq(now),
                skus::stock_source.eq(source.code()),
                skus::stock_changed_at.eq(Some(now)),
            );
            let updated = match change {
                StockChange::Set(n) => diesel::update(row)
                    .set((skus::quantity.eq(n), marked))
                    .execute(conn)?,
                StockChange::Add(n) => diesel::update(row)
                    .filter(skus::quantity.le(MAX_QUANTITY - n))
                    .set((skus::quantity.eq(skus::quantity + n), marked))
                    .execute(conn)?,
            };
            if updated != 1 {
                return Err(ShopError::rejected(
                    "Quantity",
                    format!("the stock would exceed {MAX_QUANTITY}"),
                ));
            }
            skus::table
                .find(sku_row_id)
                .select(skus::quantity)
                .first(conn)?
        };
        diesel::update(products::table.find(product_id))
            .set(products::modified_at.eq(now))
            .execute(conn)?;
        Ok(quantity)
    }
}

/// The product the key names; an `OuterID` must name exactly one.
fn find_product(conn: &mut DbConnection, shop_id: i64, key: &ProductKey) -> Result<i64, ShopError> {
    let shop_products = products::table
        .filter(products::shop_id.eq(shop_id))
        .select(products::id);
    let (field, found): (&str, Vec<i64>) = match key {
        ProductKey::PlatProductId(id) => (
            "PlatProductID",
            shop_products
                .filter(products::plat_product_id.eq(id))
                .limit(2)
                .load(conn)?,
        ),
        ProductKey::OuterId(code) => (
            "OuterID",
            shop_products
                .filter(products::outer_id.eq(code))
                .limit(2)
                .load(conn)?,
        ),
    };
    match found.as_slice() {
        [one] => Ok(*one),
        [] => Err(ShopError::rejected(
            field,
            format!("no product {key} in this shop"),
        )),
        _ => Err(ShopError::rejected(
            field,
            format!("several products are {key}; send PlatProductID"),
        )),
    }
}

fn find_sku(
    conn: &mut DbConnection,
    shop_id: i64,
    product_id: i64,
    target: &StockTarget,
) -> Result<i64, ShopError> {
    let base = || {
        skus::table
            .filter(skus::shop_id.eq(shop_id))
            .filter(skus::product_id.eq(product_id))
            .select(skus::id)
    };
    if let Some(sku_id) = target.sku_id.as_deref().filter(|s| !s.is_empty()) {
        return base()
            .filter(skus::sku_id.eq(sku_id))
            .first(conn)
            .optional()?
            .ok_or_else(|| {
                ShopError::rejected(
                    "SkuID",
                    format!("product {} has no SKU `{sku_id}`", target.product),
                )
            });
    }
    if let Some(outer) = target.out_sku_id.as_deref().filter(|s| !s.is_empty()) {
        let found: Vec<i64> = base()
            .filter(skus::outer_id.eq(outer))
            .limit(2)
            .load(conn)?;
        return match found.as_slice() {
            [one] => Ok(*one),
            [] => Err(ShopError::rejected(
                "OutSkuID",
                format!("product {} has no SKU coded `{outer}`", target.product),
            )),
            _ => Err(ShopError::rejected(
                "OutSkuID",
                format!("`{outer}` names several SKUs; send SkuID"),
            )),
        };
    }
    Err(ShopError::rejected(
        "SkuID",
        format!("product {} has SKUs: SkuID is required", target.product),
    ))
}

/// Every merchant code that names stock in the shop: SKU codes, and the codes of
/// products without SKUs.
pub fn outer_codes(conn: &mut DbConnection, shop_id: i64) -> Result<Vec<String>, ShopError> {
    let mut codes: Vec<String> = skus::table
        .filter(skus::shop_id.eq(shop_id))
        .filter(skus::outer_id.ne(""))
        .select(skus::outer_id)
        .distinct()
        .load(conn)?;
    let with_skus = skus::table
        .filter(skus::shop_id.eq(shop_id))
        .select(skus::product_id);
    let plain: Vec<String> = products::table
        .filter(products::shop_id.eq(shop_id))
        .filter(products::outer_id.ne(""))
        .filter(diesel::dsl::not(products::id.eq_any(with_skus)))
        .select(products::outer_id)
        .distinct()
        .load(conn)?;
    codes.extend(plain);
    codes.sort();
    codes.dedup();
    Ok(codes)
}

/// Pulls stock from a partner: every merchant code of the shop, `chunk` codes at a time,
/// asked of `fetch`, which answers (code, available quantity) levels; each chunk's
/// levels are set as it comes ([`set_levels`]). Answers how many SKUs and products
/// changed. The first failure ends the pull; what was set stays.
pub async fn pull_levels<F, Fut, E>(
    db: &crate::db::Database,
    shop_id: i64,
    chunk: usize,
    source: StockSource,
    fetch: F,
) -> Result<usize, E>
where
    F: Fn(Vec<String>) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<(String, i64)>, E>>,
    E: From<ShopError>,
{
    let codes = db.run(move |conn| outer_codes(conn, shop_id)).await?;
    let mut changed = 0;
    for codes in codes.chunks(chunk.max(1)) {
        let levels = fetch(codes.to_vec()).await?;
        changed += db
            .run(move |conn| set_levels(conn, shop_id, &levels, source))
            .await?;
    }
    Ok(changed)
}

/// Sets the stock levels a partner (`source`) reports, (merchant code, available
/// quantity), in one transaction: every SKU, and every product without SKUs, with that code. Answers
/// how many SKUs and products changed.
pub fn set_levels(
    conn: &mut DbConnection,
    shop_id: i64,
    levels: &[(String, i64)],
    source: StockSource,
) -> Result<usize, ShopError> {
    write_transaction(conn, |conn| {
        let now = now_utc();
        let mut changed = 0;
        for (code, quantity) in levels {
            let quantity = (*quantity).clamp(0, MAX_QUANTITY);
            changed += diesel::update(
                skus::table
                    .filter(skus::shop_id.eq(shop_id))
                    .filter(skus::outer_id.eq(code))
                    .filter(skus::quantity.ne(quantity)),
            )
            .set((
                skus::quantity.eq(quantity),
                skus::modified_at.eq(now),
                skus::stock_source.eq(source.code()),
                skus::stock_changed_at.eq(Some(now)),
            ))
            .execute(conn)?;
            let with_skus = skus::table
                .filter(skus::shop_id.eq(shop_id))
                .select(skus::product_id);
            changed += diesel::update(
                products::table
                    .filter(products::shop_id.eq(shop_id))
                    .filter(products::outer_id.eq(code))
                    .filter(products::quantity.ne(quantity))
                    .filter(diesel::dsl::not(products::id.eq_any(with_skus))),
            )
            .set((
                products::quantity.eq(quantity),
                products::modified_at.eq(now),
                products::stock_source.eq(source.code()),
                products::stock_changed_at.eq(Some(now)),
            ))
            .execute(conn)?;
        }
        Ok(changed)
    })
}
