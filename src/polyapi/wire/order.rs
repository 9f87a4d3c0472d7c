//! GetOrder's `orders` entry (OrderItem) and its `goodinfos` entries (GoodInfo).

use chrono::FixedOffset;
use serde::{Deserialize, Serialize};

use super::fields::{
    check_len, format_shop_time, parse_shop_time, required, FieldError, Money, WireInt,
};
use crate::shop::codes::{RefundStatus, SellerFlag, TradeStatus};
use crate::shop::orders::{
    Customs, Invoice, NewOrder, OrderHeader, OrderLineFields, OrderRecord, Receiver,
};

/// Longest identifier (order number, sub-order number, product id) accepted.
const MAX_ID: usize = 64;
/// Longest free text accepted.
const MAX_TEXT: usize = 1024;

/// An order as the seed's GetOrder table names it. The storefront posts it (plus an
/// optional `verifycode`), and the ERP reads it back.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderItem {
    /// 订单号
    #[serde(rename = "PlatOrderNo", default)]
    pub plat_order_no: String,
    /// 订单交易状态 JH_01…JH_05
    #[serde(rename = "tradeStatus", default)]
    pub trade_status: String,
    /// 订单交易说明 (written by polymall from the status)
    #[serde(rename = "tradeStatusdescription", default)]
    pub trade_status_description: String,
    /// 交易时间
    #[serde(default)]
    pub tradetime: String,
    /// 支付单号
    #[serde(default)]
    pub payorderno: String,
    /// 国家
    #[serde(default)]
    pub country: String,
    /// 州/省
    #[serde(default)]
    pub province: String,
    /// 城市
    #[serde(default)]
    pub city: String,
    /// 区县
    #[serde(default)]
    pub area: String,
    /// 镇/街道
    #[serde(default)]
    pub town: String,
    /// 地址
    #[serde(default)]
    pub address: String,
    /// 邮编
    #[serde(default)]
    pub zip: String,
    /// 电话
    #[serde(default)]
    pub phone: String,
    /// 手机
    #[serde(default)]
    pub mobile: String,
    /// Email
    #[serde(default)]
    pub email: String,
    /// 买家备注
    #[serde(default)]
    pub customerremark: String,
    /// 卖家备注
    #[serde(default)]
    pub sellerremark: String,
    /// 邮资
    #[serde(default)]
    pub postfee: Money,
    /// 货款金额
    #[serde(default)]
    pub goodsfee: Money,
    /// 合计应收
    #[serde(default)]
    pub totalmoney: Money,
    /// 用户实付金额
    #[serde(rename = "realMoney", default)]
    pub real_money: Money,
    /// 订单总优惠金额
    #[serde(default)]
    pub favourablemoney: Money,
    /// 佣金
    #[serde(default)]
    pub commissionvalue: Money,
    /// 订单税费总额
    #[serde(default)]
    pub taxamount: Money,
    /// 订单关税金额
    #[serde(default)]
    pub tariffamount: Money,
    /// 订单增值税金额
    #[serde(default)]
    pub addedvalueamount: Money,
    /// 订单消费税金额
    #[serde(default)]
    pub consumptiondutyamount: Money,
    /// 货运方式
    #[serde(default)]
    pub sendstyle: String,
    /// QQ
    #[serde(default)]
    pub qq: String,
    /// 支付时间
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paytime: Option<String>,
    /// 发票抬头
    #[serde(default)]
    pub invoicetitle: String,
    /// 纳税人识别号
    #[serde(default)]
    pub taxpayerident: String,
    /// 发票类型
    #[serde(default)]
    pub invoicetype: String,
    /// 发票内容
    #[serde(default)]
    pub invoicecontent: String,
    /// 公司注册地址
    #[serde(default)]
    pub registeredaddress: String,
    /// 公司注册电话
    #[serde(default)]
    pub registeredphone: String,
    /// 开户行
    #[serde(default)]
    pub depositbank: String,
    /// 开户行账号
    #[serde(default)]
    pub bankaccount: String,
    /// COD服务费
    #[serde(default)]
    pub codservicefee: Money,
    /// 货币类型
    #[serde(default)]
    pub currencycode: String,
    /// 证件类型
    #[serde(default)]
    pub cardtype: String,
    /// 证件号码
    #[serde(default)]
    pub idcard: String,
    /// 证件真实姓名
    #[serde(default)]
    pub idcardtruename: String,
    /// 收货人真实姓名
    #[serde(default)]
    pub receivername: String,
    /// 买家昵称
    #[serde(default)]
    pub nick: String,
    /// 商品所在仓库编号
    #[serde(default)]
    pub whsecode: String,
    /// 是否为海外购 (1/0)
    #[serde(rename = "IsHwgFlag", default)]
    pub is_hwg_flag: WireInt,
    /// 结算方式
    #[serde(rename = "ShouldPayType", default)]
    pub should_pay_type: String,
    /// 支付公司海关备案号
    #[serde(rename = "payID", default)]
    pub pay_id: String,
    /// 支付公司海关备案名称
    #[serde(rename = "payName", default)]
    pub pay_name: String,
    /// 电商平台海关备案编码
    #[serde(rename = "businessPlatCode", default)]
    pub business_plat_code: String,
    /// 电商平台海关备案名称
    #[serde(rename = "businessPlatName", default)]
    pub business_plat_name: String,
    /// 订单类型 JH_01 普通 / JH_02 预售
    #[serde(rename = "orderType", default)]
    pub order_type: String,
    /// 发货日期
    #[serde(rename = "sendDate", default)]
    pub send_date: String,
    /// 商品信息集合
    #[serde(default)]
    pub goodinfos: Vec<GoodInfo>,
    /// Pickup code (核销码) for in-store collection; intake and admin only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verifycode: Option<String>,
}

/// One order line as GetOrder's `goodinfos` names it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoodInfo {
    /// 平台商品ID或SKUID
    #[serde(rename = "ProductId", default)]
    pub product_id: String,
    /// 子订单号
    #[serde(default)]
    pub suborderno: String,
    /// 外部商家编码
    #[serde(default)]
    pub tradegoodsno: String,
    /// 商品交易名称
    #[serde(default)]
    pub tradegoodsname: String,
    /// 商品交易规格
    #[serde(default)]
    pub tradegoodsspec: String,
    /// 商品数量
    #[serde(default)]
    pub goodscount: WireInt,
    /// 单价
    #[serde(default)]
    pub price: Money,
    /// 子订单优惠金额
    #[serde(default)]
    pub discountmoney: Money,
    /// 商品税费
    #[serde(default)]
    pub taxamount: Money,
    /// 退款状态
    #[serde(rename = "refundStatus", default)]
    pub refund_status: String,
    /// 子订单交易状态
    #[serde(rename = "Status", default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// 货品备注
    #[serde(default)]
    pub remark: String,
}

impl OrderItem {
    /// Validates the document and turns it into the domain's order; times are read in
    /// the shop's zone. The error names the offending field's path.
    pub fn to_new_order(&self, offset: FixedOffset) -> Result<NewOrder, FieldError> {
        required("PlatOrderNo", &self.plat_order_no, MAX_ID)?;
        let status = TradeStatus::from_code(&self.trade_status).ok_or_else(|| {
            FieldError::new(
                "tradeStatus",
                format!(
                    "`{}` is not one of {}",
                    self.trade_status,
                    TradeStatus::expected()
                ),
            )
        })?;
        let created_at = parse_shop_time(&self.tradetime, offset)
            .map_err(|m| FieldError::new("tradetime", m))?;
        let pay_time = match self.paytime.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => {
                Some(parse_shop_time(text, offset).map_err(|m| FieldError::new("paytime", m))?)
            }
        };
        if self.phone.trim().is_empty() && self.mobile.trim().is_empty() {
            return Err(FieldError::new("mobile", "phone or mobile is required"));
        }
        let texts: [(&str, &str); 41] = [
            ("payorderno", &self.payorderno),
            ("country", &self.country),
            ("province", &self.province),
            ("city", &self.city),
            ("area", &self.area),
            ("town", &self.town),
            ("address", &self.address),
            ("zip", &self.zip),
            ("phone", &self.phone),
            ("mobile", &self.mobile),
            ("email", &self.email),
            ("customerremark", &self.customerremark),
            ("sellerremark", &self.sellerremark),
            ("sendstyle", &self.sendstyle),
            ("qq", &self.qq),
            ("invoicetitle", &self.invoicetitle),
            ("taxpayerident", &self.taxpayerident),
            ("invoicetype", &self.invoicetype),
            ("invoicecontent", &self.invoicecontent),
            ("registeredaddress", &self.registeredaddress),
            ("registeredphone", &self.registeredphone),
            ("depositbank", &self.depositbank),
            ("bankaccount", &self.bankaccount),
            ("currencycode", &self.currencycode),
            ("cardtype", &self.cardtype),
            ("idcard", &self.idcard),
            ("idcardtruename", &self.idcardtruename),
            ("receivername", &self.receivername),
            ("nick", &self.nick),
            ("whsecode", &self.whsecode),
            ("ShouldPayType", &self.should_pay_type),
            ("payID", &self.pay_id),
            ("payName", &self.pay_name),
            ("businessPlatCode", &self.business_plat_code),
            ("businessPlatName", &self.business_plat_name),
            ("orderType", &self.order_type),
            ("sendDate", &self.send_date),
            ("tradeStatusdescription", &self.trade_status_description),
            ("tradetime", &self.tradetime),
            ("PlatOrderNo", &self.plat_order_no),
            ("tradeStatus", &self.trade_status),
        ];
        for (path, value) in texts {
            check_len(path, value, MAX_TEXT)?;
        }
        if !matches!(self.is_hwg_flag.0, 0 | 1) {
            return Err(FieldError::new(
                "IsHwgFlag",
                format!("`{}` is not 0 or 1", self.is_hwg_flag.0),
            ));
        }
        if !matches!(self.order_type.as_str(), "" | "JH_01" | "JH_02") {
            return Err(FieldError::new(
                "orderType",
                format!("`{}` is not JH_01 or JH_02", self.order_type),
            ));
        }
        if let Some(code) = &self.verifycode {
            required("verifycode", code, MAX_ID)?;
        }
        if self.goodinfos.is_empty() {
            return Err(FieldError::new(
                "goodinfos",
                "an order needs at least one line",
            ));
        }
        let lines = self
            .goodinfos
            .iter()
            .enumerate()
            .map(|(index, line)| {
                line.to_line_fields()
                    .map_err(|e| e.within(&format!("goodinfos[{index}]")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(NewOrder {
            header: OrderHeader {
                plat_order_no: self.plat_order_no.trim().to_owned(),
                trade_status: status.code().to_owned(),
                pay_time,
                pay_order_no: self.payorderno.clone(),
                nick: self.nick.clone(),
                should_pay_type: self.should_pay_type.clone(),
                order_type: if self.order_type.is_empty() {
                    "JH_01".to_owned()
                } else {
                    self.order_type.clone()
                },
                send_date: self.send_date.clone(),
                send_style: self.sendstyle.clone(),
                currency_code: self.currencycode.clone(),
                whse_code: self.whsecode.clone(),
                customer_remark: self.customerremark.clone(),
                seller_remark: self.sellerremark.clone(),
                seller_flag: SellerFlag::None.code().to_owned(),
                post_fee: self.postfee.fen(),
                goods_fee: self.goodsfee.fen(),
                total_money: self.totalmoney.fen(),
                real_money: self.real_money.fen(),
                favourable_money: self.favourablemoney.fen(),
                commission_value: self.commissionvalue.fen(),
                cod_service_fee: self.codservicefee.fen(),
                created_at,
            },
            receiver: Receiver {
                country: self.country.clone(),
                province: self.province.clone(),
                city: self.city.clone(),
                area: self.area.clone(),
                town: self.town.clone(),
                address: self.address.clone(),
                zip: self.zip.clone(),
                phone: self.phone.clone(),
                mobile: self.mobile.clone(),
                email: self.email.clone(),
                qq: self.qq.clone(),
                receiver_name: self.receivername.clone(),
                card_type: self.cardtype.clone(),
                id_card: self.idcard.clone(),
                id_card_true_name: self.idcardtruename.clone(),
            },
            invoice: Invoice {
                invoice_type: self.invoicetype.clone(),
                invoice_title: self.invoicetitle.clone(),
                taxpayer_ident: self.taxpayerident.clone(),
                invoice_content: self.invoicecontent.clone(),
                registered_address: self.registeredaddress.clone(),
                registered_phone: self.registeredphone.clone(),
                deposit_bank: self.depositbank.clone(),
                bank_account: self.bankaccount.clone(),
            },
            customs: Customs {
                is_overseas: self.is_hwg_flag.0 == 1,
                tax_amount: self.taxamount.fen(),
                tariff_amount: self.tariffamount.fen(),
                added_value_amount: self.addedvalueamount.fen(),
                consumption_duty_amount: self.consumptiondutyamount.fen(),
                pay_id: self.pay_id.clone(),
                pay_name: self.pay_name.clone(),
                business_plat_code: self.business_plat_code.clone(),
                business_plat_name: self.business_plat_name.clone(),
            },
            lines,
            pickup_code: self.verifycode.as_ref().map(|code| code.trim().to_owned()),
        })
    }

    /// The document for a stored order, times in the shop's zone. The pickup code is
    /// included only when `with_pickup_code` (never for the ERP).
    pub fn from_record(record: OrderRecord, offset: FixedOffset, with_pickup_code: bool) -> Self {
        let OrderRecord {
            header,
            receiver,
            invoice,
            customs,
            lines,
            pickup_code,
            ..
        } = record;
        let status = TradeStatus::from_code(&header.trade_status);
        Self {
            plat_order_no: header.plat_order_no,
            trade_status: header.trade_status,
            trade_status_description: status
                .map(|s| s.description().to_owned())
                .unwrap_or_default(),
            tradetime: format_shop_time(header.created_at, offset),
            payorderno: header.pay_order_no,
            country: receiver.country,
            province: receiver.province,
            city: receiver.city,
            area: receiver.area,
            town: receiver.town,
            address: receiver.address,
            zip: receiver.zip,
            phone: receiver.phone,
            mobile: receiver.mobile,
            email: receiver.email,
            customerremark: header.customer_remark,
            sellerremark: header.seller_remark,
            postfee: Money(header.post_fee),
            goodsfee: Money(header.goods_fee),
            totalmoney: Money(header.total_money),
            real_money: Money(header.real_money),
            favourablemoney: Money(header.favourable_money),
            commissionvalue: Money(header.commission_value),
            taxamount: Money(customs.tax_amount),
            tariffamount: Money(customs.tariff_amount),
            addedvalueamount: Money(customs.added_value_amount),
            consumptiondutyamount: Money(customs.consumption_duty_amount),
            sendstyle: header.send_style,
            qq: receiver.qq,
            paytime: header.pay_time.map(|t| format_shop_time(t, offset)),
            invoicetitle: invoice.invoice_title,
            taxpayerident: invoice.taxpayer_ident,
            invoicetype: invoice.invoice_type,
            invoicecontent: invoice.invoice_content,
            registeredaddress: invoice.registered_address,
            registeredphone: invoice.registered_phone,
            depositbank: invoice.deposit_bank,
            bankaccount: invoice.bank_account,
            codservicefee: Money(header.cod_service_fee),
            currencycode: header.currency_code,
            cardtype: receiver.card_type,
            idcard: receiver.id_card,
            idcardtruename: receiver.id_card_true_name,
            receivername: receiver.receiver_name,
            nick: header.nick,
            whsecode: header.whse_code,
            is_hwg_flag: WireInt(i64::from(customs.is_overseas)),
            should_pay_type: header.should_pay_type,
            pay_id: customs.pay_id,
            pay_name: customs.pay_name,
            business_plat_code: customs.business_plat_code,
            business_plat_name: customs.business_plat_name,
            order_type: header.order_type,
            send_date: header.send_date,
            goodinfos: lines
                .into_iter()
                .map(|line| GoodInfo::from_line(line.fields))
                .collect(),
            verifycode: if with_pickup_code {
                pickup_code.map(|p| p.code)
            } else {
                None
            },
        }
    }
}

impl GoodInfo {
    fn to_line_fields(&self) -> Result<OrderLineFields, FieldError> {
        required("suborderno", &self.suborderno, MAX_ID)?;
        required("ProductId", &self.product_id, MAX_ID)?;
        required("tradegoodsname", &self.tradegoodsname, MAX_TEXT)?;
        for (path, value) in [
            ("tradegoodsno", &self.tradegoodsno),
            ("tradegoodsspec", &self.tradegoodsspec),
            ("remark", &self.remark),
        ] {
            check_len(path, value, MAX_TEXT)?;
        }
        if self.goodscount.0 < 1 {
            return Err(FieldError::new(
                "goodscount",
                format!("{} is not a positive count", self.goodscount.0),
            ));
        }
        let refund_status = if self.refund_status.trim().is_empty() {
            RefundStatus::None
        } else {
            RefundStatus::from_code(&self.refund_status).ok_or_else(|| {
                FieldError::new(
                    "refundStatus",
                    format!(
                        "`{}` is not one of {}",
                        self.refund_status,
                        RefundStatus::expected()
                    ),
                )
            })?
        };
        let status = match self.status.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) if text == "99" || text.eq_ignore_ascii_case("JH_99") => {
                Some("JH_99".to_owned())
            }
            Some(text) => Some(
                TradeStatus::from_code(text)
                    .ok_or_else(|| {
                        FieldError::new(
                            "Status",
                            format!("`{text}` is not one of {}, JH_99", TradeStatus::expected()),
                        )
                    })?
                    .code()
                    .to_owned(),
            ),
        };
        Ok(OrderLineFields {
            sub_order_no: self.suborderno.trim().to_owned(),
            product_id: self.product_id.trim().to_owned(),
            outer_id: self.tradegoodsno.clone(),
            name: self.tradegoodsname.clone(),
            spec: self.tradegoodsspec.clone(),
            goods_count: self.goodscount.0,
            price: self.price.fen(),
            discount_money: self.discountmoney.fen(),
            tax_amount: self.taxamount.fen(),
            refund_status: refund_status.code().to_owned(),
            status,
            remark: self.remark.clone(),
        })
    }

    fn from_line(line: OrderLineFields) -> Self {
        Self {
            product_id: line.product_id,
            suborderno: line.sub_order_no,
            tradegoodsno: line.outer_id,
            tradegoodsname: line.name,
            tradegoodsspec: line.spec,
            goodscount: WireInt(line.goods_count),
            price: Money(line.price),
            discountmoney: Money(line.discount_money),
            taxamount: Money(line.tax_amount),
            refund_status: line.refund_status,
            status: line.status,
            remark: line.remark,
        }
    }
}
