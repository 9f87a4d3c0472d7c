//! DownloadProduct and SyncStock.

use serde_json::{Map, Value};

use super::{field, listing, Call};
use crate::polyapi::biz::Biz;
use crate::polyapi::envelope::{Answer, PolyError, SubCode};
use crate::polyapi::wire::GoodsItem;
use crate::shop::codes::SaleStatus;
use crate::shop::products::{self, ProductFilter};
use crate::shop::stock::{self, ProductKey, StockChange, StockTarget, MAX_QUANTITY};

/// Largest DownloadProduct page.
pub const MAX_PRODUCT_PAGE: i64 = 100;

/// 商品下载: a stable page of products with their SKUs.
pub async fn download_product(call: &Call, biz: &Biz) -> Result<Answer, PolyError> {
    let page = biz.page(10, MAX_PRODUCT_PAGE)?;
    let on_sale = match biz.text("Status")? {
        None => None,
        Some(code) if code.eq_ignore_ascii_case("JH_99") => None,
        Some(code) => match SaleStatus::from_code(&code) {
            Some(SaleStatus::OnSale) => Some(true),
            Some(SaleStatus::OffSale) => Some(false),
            None => {
                return Err(PolyError::invalid(
                    "Status",
                    format!("`{code}` is not JH_01, JH_02 or JH_99"),
                ))
            }
        },
    };
    let filter = ProductFilter {
        on_sale,
        outer_id: biz.text("ProductId")?,
        name_contains: biz.text("ProductName")?,
    };
    let shop_id = call.shop.id;
    let found = call
        .db
        .run(move |conn| products::page(conn, shop_id, &filter, page))
        .await?;
    listing(
        "totalcount",
        found.total,
        "goodslist",
        found
            .items
            .iter()
            .map(|record| GoodsItem::from_record(record, false)),
    )
}

/// 库存同步: sets (JH_01, default) or adds to (JH_02) a SKU's or product's stock; the
/// product by PlatProductID or by OuterID.
pub async fn sync_stock(call: &Call, biz: &Biz) -> Result<Map<String, Value>, PolyError> {
    // The seed lists OuterID (外部商家编码) beside PlatProductID; ERPs that keep the
    // merchant's code send that alone.
    let product = match (biz.text("PlatProductID")?, biz.text("OuterID")?) {
        (Some(id), _) => ProductKey::PlatProductId(id),
        (None, Some(code)) => ProductKey::OuterId(code),
        (None, None) => {
            return Err(PolyError::new(
                SubCode::MissParameter,
                "PlatProductID (or OuterID, the merchant's product code) is required",
            ))
        }
    };
    let target = StockTarget {
        product,
        sku_id: biz.text("SkuID")?,
        out_sku_id: biz.text("OutSkuID")?,
    };
    let quantity = biz
        .int("Quantity")?
        .ok_or_else(|| PolyError::missing("Quantity"))?;
    if !(0..=MAX_QUANTITY).contains(&quantity) {
        return Err(PolyError::invalid(
            "Quantity",
            format!("{quantity} is not between 0 and {MAX_QUANTITY}"),
        ));
    }
    let change = match biz.text("SyncStockType")?.as_deref() {
        None => StockChange::Set(quantity),
        Some(code) if code.eq_ignore_ascii_case("JH_01") => StockChange::Set(quantity),
        Some(code) if code.eq_ignore_ascii_case("JH_02") => StockChange::Add(quantity),
        Some(code) => {
            return Err(PolyError::invalid(
                "SyncStockType",
                format!("`{code}` is not JH_01 (set) or JH_02 (add)"),
            ))
        }
    };
    let shop_id = call.shop.id;
    let after = call
        .db
        .run(move |conn| stock::sync(conn, shop_id, &target, change, stock::StockSource::Polyapi))
        .await?;
    let mut answer = Map::new();
    field(&mut answer, "Quantity", after);
    Ok(answer)
}
