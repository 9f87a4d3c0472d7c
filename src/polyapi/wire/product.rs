//! DownloadProduct's `goodslist` entry and its `skus`.

use serde::{Deserialize, Serialize};

use super::fields::{check_len, required, FieldError, Money, WireInt};
use crate::shop::codes::SaleStatus;
use crate::shop::products::{NewProduct, ProductFields, ProductRecord, SkuFields};

const MAX_ID: usize = 64;
const MAX_TEXT: usize = 1024;

/// A product as DownloadProduct's `goodslist` names it, plus its sale `status`
/// (JH_01 on sale, JH_02 off sale) for the storefront's intake.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoodsItem {
    /// 平台商品ID
    #[serde(rename = "PlatProductID", default)]
    pub plat_product_id: String,
    /// 商品名称
    #[serde(default)]
    pub name: String,
    /// 外部商家编码
    #[serde(rename = "OuterID", default)]
    pub outer_id: String,
    /// 商品价格
    #[serde(default)]
    pub price: Money,
    /// 商品数量: the sum of the SKUs when there are SKUs
    #[serde(default)]
    pub num: WireInt,
    /// 图片URL
    #[serde(default)]
    pub pictureurl: String,
    /// 商品所在仓库编号
    #[serde(default)]
    pub whsecode: String,
    /// 规格集合
    #[serde(default)]
    pub skus: Vec<SkuItem>,
    /// JH_01 on sale (default), JH_02 off sale
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

/// One SKU as DownloadProduct's `skus` names it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SkuItem {
    /// 平台规格ID
    #[serde(rename = "SkuID", default)]
    pub sku_id: String,
    /// 规格外部商家编码
    #[serde(rename = "skuOuterID", default)]
    pub sku_outer_id: String,
    /// 规格价格
    #[serde(default)]
    pub skuprice: Money,
    /// 规格数量
    #[serde(rename = "skuQuantity", default)]
    pub sku_quantity: WireInt,
    /// 规格名称
    #[serde(default)]
    pub skuname: String,
    /// 规格属性
    #[serde(default)]
    pub skuproperty: String,
    /// 规格图片URL
    #[serde(default)]
    pub skupictureurl: String,
}

impl GoodsItem {
    /// Validates the document and turns it into the domain's product. With SKUs, the
    /// product's stock is theirs and `num` is not stored.
    pub fn to_new_product(&self) -> Result<NewProduct, FieldError> {
        required("PlatProductID", &self.plat_product_id, MAX_ID)?;
        required("name", &self.name, MAX_TEXT)?;
        check_len("OuterID", &self.outer_id, MAX_ID)?;
        check_len("pictureurl", &self.pictureurl, MAX_TEXT)?;
        check_len("whsecode", &self.whsecode, MAX_ID)?;
        let on_sale = match self.status.as_deref().map(str::trim) {
            None | Some("") => true,
            Some(text) => match SaleStatus::from_code(text) {
                Some(SaleStatus::OnSale) => true,
                Some(SaleStatus::OffSale) => false,
                None => {
                    return Err(FieldError::new(
                        "status",
                        format!("`{text}` is not one of {}", SaleStatus::expected()),
                    ))
                }
            },
        };
        let skus = self
            .skus
            .iter()
            .enumerate()
            .map(|(index, sku)| {
                sku.to_sku_fields()
                    .map_err(|e| e.within(&format!("skus[{index}]")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let quantity = if skus.is_empty() {
            if self.num.0 < 0 {
                return Err(FieldError::new(
                    "num",
                    format!("{} is negative", self.num.0),
                ));
            }
            self.num.0
        } else {
            0
        };
        Ok(NewProduct {
            fields: ProductFields {
                plat_product_id: self.plat_product_id.trim().to_owned(),
                name: self.name.clone(),
                outer_id: self.outer_id.clone(),
                price: self.price.fen(),
                quantity,
                picture_url: self.pictureurl.clone(),
                whse_code: self.whsecode.clone(),
                on_sale,
            },
            skus,
        })
    }

    /// The document for a stored product.
    pub fn from_record(record: &ProductRecord, with_status: bool) -> Self {
        let status = if record.fields.on_sale {
            SaleStatus::OnSale
        } else {
            SaleStatus::OffSale
        };
        Self {
            plat_product_id: record.fields.plat_product_id.clone(),
            name: record.fields.name.clone(),
            outer_id: record.fields.outer_id.clone(),
            price: Money(record.fields.price),
            num: WireInt(record.quantity()),
            pictureurl: record.fields.picture_url.clone(),
            whsecode: record.fields.whse_code.clone(),
            skus: record
                .skus
                .iter()
                .map(|sku| SkuItem::from_fields(&sku.fields))
                .collect(),
            status: with_status.then(|| status.code().to_owned()),
        }
    }
}

impl SkuItem {
    fn to_sku_fields(&self) -> Result<SkuFields, FieldError> {
        required("SkuID", &self.sku_id, MAX_ID)?;
        check_len("skuOuterID", &self.sku_outer_id, MAX_ID)?;
        check_len("skuname", &self.skuname, MAX_TEXT)?;
        check_len("skuproperty", &self.skuproperty, MAX_TEXT)?;
        check_len("skupictureurl", &self.skupictureurl, MAX_TEXT)?;
        if self.sku_quantity.0 < 0 {
            return Err(FieldError::new(
                "skuQuantity",
                format!("{} is negative", self.sku_quantity.0),
            ));
        }
        Ok(SkuFields {
            sku_id: self.sku_id.trim().to_owned(),
            outer_id: self.sku_outer_id.clone(),
            price: self.skuprice.fen(),
            quantity: self.sku_quantity.0,
            name: self.skuname.clone(),
            property: self.skuproperty.clone(),
            picture_url: self.skupictureurl.clone(),
        })
    }

    fn from_fields(fields: &SkuFields) -> Self {
        Self {
            sku_id: fields.sku_id.clone(),
            sku_outer_id: fields.outer_id.clone(),
            skuprice: Money(fields.price),
            sku_quantity: WireInt(fields.quantity),
            skuname: fields.name.clone(),
            skuproperty: fields.property.clone(),
            skupictureurl: fields.picture_url.clone(),
        }
    }
}
