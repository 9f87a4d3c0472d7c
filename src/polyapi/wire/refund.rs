//! GetRefund's `refunds` entry and its `RefundGoods`.

use chrono::FixedOffset;
use serde::{Deserialize, Serialize};

use super::fields::{
    check_len, format_shop_time, parse_shop_time, required, FieldError, Money, WireInt,
};
use crate::shop::codes::{GoodsStatus, RefundOrderStatus, RefundStatus};
use crate::shop::refunds::{
    default_modified_at, NewRefund, RefundFields, RefundGoodsFields, RefundRecord,
};

const MAX_ID: usize = 64;
const MAX_TEXT: usize = 1024;

/// A refund as GetRefund's `refunds` table names it. The capitalised spellings of the
/// seed's example answer are accepted on the way in.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefundItem {
    /// 退款单号
    #[serde(default, alias = "RefundNo")]
    pub refundno: String,
    /// 平台订单号
    #[serde(default, alias = "PlatOrderNo")]
    pub platorderno: String,
    /// 平台子订单号
    #[serde(default, alias = "SubPlatOrderNo")]
    pub subplatorderno: String,
    /// 订单总金额
    #[serde(default, alias = "TotalAmount")]
    pub totalamount: Money,
    /// 支付金额
    #[serde(default, alias = "PayAmount")]
    pub payamount: Money,
    /// 买家昵称
    #[serde(default, alias = "BuyerNick")]
    pub buyernick: String,
    /// 卖家昵称
    #[serde(default, alias = "SellerNick")]
    pub sellernick: String,
    /// 退款申请时间
    #[serde(default, alias = "CreateTime")]
    pub createtime: String,
    /// 退款修改时间
    #[serde(default, alias = "UpdateTime")]
    pub updatetime: String,
    /// 订单状态
    #[serde(default, alias = "OrderStatus")]
    pub orderstatus: String,
    /// 订单状态描述 (written by polymall from the code)
    #[serde(default, alias = "OrderStatusDesc")]
    pub orderstatusdesc: String,
    /// 退款状态
    #[serde(default, alias = "RefundStatus")]
    pub refundstatus: String,
    /// 退款状态描述 (written by polymall from the code)
    #[serde(default, alias = "RefundStatusDesc")]
    pub refundstatusdesc: String,
    /// 商品状态
    #[serde(default, alias = "GoodsStatus")]
    pub goodsstatus: String,
    /// 商品状态描述 (written by polymall from the code)
    #[serde(default, alias = "GoodsStatusDesc")]
    pub goodsstatusdesc: String,
    /// 买家是否需要退货
    #[serde(default, alias = "HasGoodsReturn")]
    pub hasgoodsreturn: bool,
    /// 退款原因
    #[serde(default, alias = "Reason")]
    pub reason: String,
    /// 退款描述
    #[serde(default, alias = "Desc")]
    pub desc: String,
    /// 商品购买数量
    #[serde(default, alias = "ProductNum")]
    pub productnum: WireInt,
    /// 物流公司名称
    #[serde(default, alias = "LogisticName")]
    pub logisticname: String,
    /// 退货运单号
    #[serde(default, alias = "LogisticNo")]
    pub logisticno: String,
    /// (退款/退货)商品信息集合
    #[serde(rename = "RefundGoods", default)]
    pub refund_goods: Vec<RefundGoodsItem>,
}

/// One refunded item as `RefundGoods` names it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefundGoodsItem {
    /// 平台商品编码
    #[serde(rename = "PlatProductId", default)]
    pub plat_product_id: String,
    /// 商品外部商家编码
    #[serde(rename = "OuterID", default)]
    pub outer_id: String,
    /// 商品SKU信息
    #[serde(rename = "Sku", default)]
    pub sku: String,
    /// 商品名称
    #[serde(rename = "ProductName", default)]
    pub product_name: String,
    /// 退款金额
    #[serde(rename = "RefundAmount", default)]
    pub refund_amount: Money,
    /// 退款原因
    #[serde(rename = "Reason", default)]
    pub reason: String,
    /// 商品购买数量
    #[serde(rename = "ProductNum", default)]
    pub product_num: WireInt,
    /// 采购订单号
    #[serde(rename = "PoNo", default)]
    pub po_no: String,
}

fn code<T>(
    path: &str,
    text: &str,
    default: T,
    parse: fn(&str) -> Option<T>,
    expected: fn() -> String,
) -> Result<T, FieldError> {
    if text.trim().is_empty() {
        return Ok(default);
    }
    parse(text)
        .ok_or_else(|| FieldError::new(path, format!("`{text}` is not one of {}", expected())))
}

impl RefundItem {
    /// Validates the document and turns it into the domain's refund.
    pub fn to_new_refund(&self, offset: FixedOffset) -> Result<NewRefund, FieldError> {
        required("refundno", &self.refundno, MAX_ID)?;
        required("platorderno", &self.platorderno, MAX_ID)?;
        check_len("subplatorderno", &self.subplatorderno, MAX_ID)?;
        for (path, value) in [
            ("buyernick", &self.buyernick),
            ("sellernick", &self.sellernick),
            ("reason", &self.reason),
            ("desc", &self.desc),
            ("logisticname", &self.logisticname),
            ("logisticno", &self.logisticno),
        ] {
            check_len(path, value, MAX_TEXT)?;
        }
        let refund_status = code(
            "refundstatus",
            &self.refundstatus,
            RefundStatus::Requested,
            RefundStatus::from_code,
            RefundStatus::expected,
        )?;
        let order_status = code(
            "orderstatus",
            &self.orderstatus,
            RefundOrderStatus::AwaitingShipment,
            RefundOrderStatus::from_code,
            RefundOrderStatus::expected,
        )?;
        let goods_status = code(
            "goodsstatus",
            &self.goodsstatus,
            GoodsStatus::NotReceived,
            GoodsStatus::from_code,
            GoodsStatus::expected,
        )?;
        let created_at = parse_shop_time(&self.createtime, offset)
            .map_err(|m| FieldError::new("createtime", m))?;
        let modified_at = if self.updatetime.trim().is_empty() {
            default_modified_at()
        } else {
            parse_shop_time(&self.updatetime, offset)
                .map_err(|m| FieldError::new("updatetime", m))?
        };
        if self.productnum.0 < 0 {
            return Err(FieldError::new("productnum", "is negative"));
        }
        let goods = self
            .refund_goods
            .iter()
            .enumerate()
            .map(|(index, goods)| {
                goods
                    .to_fields()
                    .map_err(|e| e.within(&format!("RefundGoods[{index}]")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(NewRefund {
            fields: RefundFields {
                refund_no: self.refundno.trim().to_owned(),
                plat_order_no: self.platorderno.trim().to_owned(),
                sub_plat_order_no: self.subplatorderno.trim().to_owned(),
                total_amount: self.totalamount.fen(),
                pay_amount: self.payamount.fen(),
                buyer_nick: self.buyernick.clone(),
                seller_nick: self.sellernick.clone(),
                order_status: order_status.code().to_owned(),
                refund_status: refund_status.code().to_owned(),
                goods_status: goods_status.code().to_owned(),
                has_goods_return: self.hasgoodsreturn,
                reason: self.reason.clone(),
                description: self.desc.clone(),
                product_num: self.productnum.0,
                logistic_name: self.logisticname.clone(),
                logistic_no: self.logisticno.clone(),
                created_at,
                modified_at,
            },
            goods,
            lines: None,
        })
    }

    /// The document for a stored refund, times in the shop's zone.
    pub fn from_record(record: &RefundRecord, offset: FixedOffset) -> Self {
        let fields = &record.fields;
        let describe = |found: Option<&'static str>| found.unwrap_or_default().to_owned();
        Self {
            refundno: fields.refund_no.clone(),
            platorderno: fields.plat_order_no.clone(),
            subplatorderno: fields.sub_plat_order_no.clone(),
            totalamount: Money(fields.total_amount),
            payamount: Money(fields.pay_amount),
            buyernick: fields.buyer_nick.clone(),
            sellernick: fields.seller_nick.clone(),
            createtime: format_shop_time(fields.created_at, offset),
            updatetime: format_shop_time(fields.modified_at, offset),
            orderstatus: fields.order_status.clone(),
            orderstatusdesc: describe(
                RefundOrderStatus::from_code(&fields.order_status)
                    .map(RefundOrderStatus::description),
            ),
            refundstatus: fields.refund_status.clone(),
            refundstatusdesc: describe(
                RefundStatus::from_code(&fields.refund_status).map(RefundStatus::description),
            ),
            goodsstatus: fields.goods_status.clone(),
            goodsstatusdesc: describe(
                GoodsStatus::from_code(&fields.goods_status).map(GoodsStatus::description),
            ),
            hasgoodsreturn: fields.has_goods_return,
            reason: fields.reason.clone(),
            desc: fields.description.clone(),
            productnum: WireInt(fields.product_num),
            logisticname: fields.logistic_name.clone(),
            logisticno: fields.logistic_no.clone(),
            refund_goods: record
                .goods
                .iter()
                .map(RefundGoodsItem::from_fields)
                .collect(),
        }
    }
}

impl RefundGoodsItem {
    fn to_fields(&self) -> Result<RefundGoodsFields, FieldError> {
        for (path, value, max) in [
            ("PlatProductId", &self.plat_product_id, MAX_ID),
            ("OuterID", &self.outer_id, MAX_ID),
            ("Sku", &self.sku, MAX_TEXT),
            ("ProductName", &self.product_name, MAX_TEXT),
            ("Reason", &self.reason, MAX_TEXT),
            ("PoNo", &self.po_no, MAX_ID),
        ] {
            check_len(path, value, max)?;
        }
        if self.product_num.0 < 0 {
            return Err(FieldError::new("ProductNum", "is negative"));
        }
        Ok(RefundGoodsFields {
            plat_product_id: self.plat_product_id.clone(),
            outer_id: self.outer_id.clone(),
            sku: self.sku.clone(),
            product_name: self.product_name.clone(),
            refund_amount: self.refund_amount.fen(),
            reason: self.reason.clone(),
            product_num: self.product_num.0,
            po_no: self.po_no.clone(),
            sub_order_no: String::new(),
        })
    }

    fn from_fields(fields: &RefundGoodsFields) -> Self {
        Self {
            plat_product_id: fields.plat_product_id.clone(),
            outer_id: fields.outer_id.clone(),
            sku: fields.sku.clone(),
            product_name: fields.product_name.clone(),
            refund_amount: Money(fields.refund_amount),
            reason: fields.reason.clone(),
            product_num: WireInt(fields.product_num),
            po_no: fields.po_no.clone(),
        }
    }
}
