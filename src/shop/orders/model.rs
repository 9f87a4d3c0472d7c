//! What an order is made of. Each part maps to its own table; codes are stored as text
//! and checked on the way in.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{
    order_customs, order_invoices, order_lines, order_receivers, orders, pickup_codes,
};

/// The order's own fields (table `orders`, without keys and modified time).
#[derive(Debug, Clone, PartialEq, Eq, Insertable, AsChangeset, Queryable, Selectable)]
#[diesel(table_name = orders, treat_none_as_null = true)]
pub struct OrderHeader {
    /// The platform order number (unique in the shop).
    pub plat_order_no: String,
    /// Trade status code (`JH_01`…`JH_05`).
    pub trade_status: String,
    /// When the buyer paid.
    pub pay_time: Option<NaiveDateTime>,
    /// Payment transaction number.
    pub pay_order_no: String,
    /// Buyer's nickname.
    pub nick: String,
    /// Settlement method (担保交易, 货到付款, …).
    pub should_pay_type: String,
    /// Order type code (`JH_01` normal, `JH_02` pre-sale).
    pub order_type: String,
    /// Planned shipping date, as given.
    pub send_date: String,
    /// Shipping method.
    pub send_style: String,
    /// Currency code.
    pub currency_code: String,
    /// Warehouse code.
    pub whse_code: String,
    /// Buyer's remark.
    pub customer_remark: String,
    /// Seller's remark (memo).
    pub seller_remark: String,
    /// Seller's flag code (`JH_None`, `JH_Red`, …).
    pub seller_flag: String,
    /// Postage, fen.
    pub post_fee: i64,
    /// Goods amount, fen.
    pub goods_fee: i64,
    /// Total receivable, fen.
    pub total_money: i64,
    /// What the buyer paid, fen.
    pub real_money: i64,
    /// Total discount, fen.
    pub favourable_money: i64,
    /// Commission, fen.
    pub commission_value: i64,
    /// Cash-on-delivery service fee, fen.
    pub cod_service_fee: i64,
    /// When the order was placed (the wire's `tradetime`).
    pub created_at: NaiveDateTime,
}

/// Where the order goes and who receives it (table `order_receivers`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Insertable, AsChangeset, Queryable, Selectable)]
#[diesel(table_name = order_receivers)]
pub struct Receiver {
    /// Country code or name.
    pub country: String,
    /// Province.
    pub province: String,
    /// City.
    pub city: String,
    /// District.
    pub area: String,
    /// Town or street.
    pub town: String,
    /// Address.
    pub address: String,
    /// Postcode.
    pub zip: String,
    /// Telephone.
    pub phone: String,
    /// Mobile.
    pub mobile: String,
    /// Email.
    pub email: String,
    /// QQ number.
    pub qq: String,
    /// The receiver's real name.
    pub receiver_name: String,
    /// Identity document type code.
    pub card_type: String,
    /// Identity document number.
    pub id_card: String,
    /// Name on the identity document.
    pub id_card_true_name: String,
}

/// The invoice the buyer asked for (table `order_invoices`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Insertable, AsChangeset, Queryable, Selectable)]
#[diesel(table_name = order_invoices)]
pub struct Invoice {
    /// 0 none, 1 paper, 2 electronic, 4 special paper.
    pub invoice_type: String,
    /// Invoice title.
    pub invoice_title: String,
    /// Taxpayer identification number.
    pub taxpayer_ident: String,
    /// Invoice content.
    pub invoice_content: String,
    /// Company registered address.
    pub registered_address: String,
    /// Company registered phone.
    pub registered_phone: String,
    /// Bank.
    pub deposit_bank: String,
    /// Bank account.
    pub bank_account: String,
}

/// Taxes and cross-border customs data (table `order_customs`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Insertable, AsChangeset, Queryable, Selectable)]
#[diesel(table_name = order_customs)]
pub struct Customs {
    /// Bought from overseas (海外购).
    pub is_overseas: bool,
    /// Total tax, fen.
    pub tax_amount: i64,
    /// Tariff, fen.
    pub tariff_amount: i64,
    /// Value-added tax, fen.
    pub added_value_amount: i64,
    /// Consumption duty, fen.
    pub consumption_duty_amount: i64,
    /// Payment company's customs registration number.
    pub pay_id: String,
    /// Payment company's customs registration name.
    pub pay_name: String,
    /// Platform's customs registration code.
    pub business_plat_code: String,
    /// Platform's customs registration name.
    pub business_plat_name: String,
}

/// One order line as the storefront writes it (table `order_lines`).
#[derive(Debug, Clone, PartialEq, Eq, Insertable, AsChangeset, Queryable, Selectable)]
#[diesel(table_name = order_lines, treat_none_as_null = true)]
pub struct OrderLineFields {
    /// Sub-order number, unique within the order.
    pub sub_order_no: String,
    /// Platform product or SKU id.
    pub product_id: String,
    /// Merchant's product or SKU code.
    pub outer_id: String,
    /// Product name.
    pub name: String,
    /// Specification.
    pub spec: String,
    /// Quantity ordered.
    pub goods_count: i64,
    /// Unit price, fen.
    pub price: i64,
    /// Discount on the line, fen.
    pub discount_money: i64,
    /// Tax on the line, fen.
    pub tax_amount: i64,
    /// Refund status code (`JH_07` when none).
    pub refund_status: String,
    /// The line's own trade status code, when it differs from the order's.
    pub status: Option<String>,
    /// Line remark.
    pub remark: String,
}

/// A stored order line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderLineRecord {
    /// Internal id.
    pub id: i64,
    /// The line.
    pub fields: OrderLineFields,
    /// Quantity shipped so far.
    pub shipped_count: i64,
}

/// A pickup code (核销码) and its redemption.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = pickup_codes)]
pub struct PickupCode {
    /// The code the buyer shows.
    pub code: String,
    /// When it was redeemed.
    pub redeemed_at: Option<NaiveDateTime>,
    /// Where it was redeemed.
    pub store_id: Option<String>,
    /// How it was redeemed.
    pub verify_way: Option<String>,
}

/// An order to create or replace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrder {
    /// The order's own fields.
    pub header: OrderHeader,
    /// Receiver.
    pub receiver: Receiver,
    /// Invoice.
    pub invoice: Invoice,
    /// Taxes and customs.
    pub customs: Customs,
    /// Every line of the order; stored lines not listed are removed (if unshipped).
    pub lines: Vec<OrderLineFields>,
    /// Pickup code, for orders collected in store.
    pub pickup_code: Option<String>,
}

/// A stored order with all its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRecord {
    /// Internal id.
    pub id: i64,
    /// The order's own fields.
    pub header: OrderHeader,
    /// Last change.
    pub modified_at: NaiveDateTime,
    /// Changes so far: moves with every change to the order or any of its parts.
    pub revision: i64,
    /// Receiver.
    pub receiver: Receiver,
    /// Invoice.
    pub invoice: Invoice,
    /// Taxes and customs.
    pub customs: Customs,
    /// Lines in insertion order.
    pub lines: Vec<OrderLineRecord>,
    /// Pickup code, if any.
    pub pickup_code: Option<PickupCode>,
}
