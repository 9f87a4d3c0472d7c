//! The documents polymall sends to the warehouse, named as the Qimen standard names
//! them. Lists are a plural wrapper with singular children; empty optionals are skipped.

use serde::Serialize;

/// `singleitem.synchronize`
#[derive(Debug, Clone, Serialize)]
pub struct ItemSynchronize {
    /// `add` or `update`.
    #[serde(rename = "actionType")]
    pub action_type: String,
    /// Warehouse code.
    #[serde(rename = "warehouseCode")]
    pub warehouse_code: String,
    /// Owner code.
    #[serde(rename = "ownerCode")]
    pub owner_code: String,
    /// The item.
    pub item: Item,
}

/// `<item>` of singleitem.synchronize.
#[derive(Debug, Clone, Serialize)]
pub struct Item {
    /// Merchant item code.
    #[serde(rename = "itemCode")]
    pub item_code: String,
    /// Item name.
    #[serde(rename = "itemName")]
    pub item_name: String,
    /// Specification.
    #[serde(rename = "skuProperty", skip_serializing_if = "String::is_empty")]
    pub sku_property: String,
    /// `ZC` (normal goods).
    #[serde(rename = "itemType")]
    pub item_type: String,
    /// Retail price, yuan.
    #[serde(rename = "retailPrice")]
    pub retail_price: String,
}

/// `deliveryorder.create`
#[derive(Debug, Clone, Serialize)]
pub struct DeliveryOrderCreate {
    /// The order.
    #[serde(rename = "deliveryOrder")]
    pub delivery_order: DeliveryOrder,
    /// Its lines.
    #[serde(rename = "orderLines")]
    pub order_lines: OrderLines,
}

/// `<deliveryOrder>`
#[derive(Debug, Clone, Serialize)]
pub struct DeliveryOrder {
    /// The shop's order number.
    #[serde(rename = "deliveryOrderCode")]
    pub delivery_order_code: String,
    /// `JYCK` (trade outbound).
    #[serde(rename = "orderType")]
    pub order_type: String,
    /// Warehouse code.
    #[serde(rename = "warehouseCode")]
    pub warehouse_code: String,
    /// `API`.
    #[serde(rename = "sourcePlatformCode")]
    pub source_platform_code: String,
    /// When this delivery order was made.
    #[serde(rename = "createTime")]
    pub create_time: String,
    /// When it was paid (the seed's placeOrderTime).
    #[serde(rename = "placeOrderTime")]
    pub place_order_time: String,
    /// When it was paid.
    #[serde(rename = "payTime", skip_serializing_if = "String::is_empty")]
    pub pay_time: String,
    /// When this document was made.
    #[serde(rename = "operateTime")]
    pub operate_time: String,
    /// The shop's name.
    #[serde(rename = "shopNick")]
    pub shop_nick: String,
    /// Carrier code.
    #[serde(rename = "logisticsCode")]
    pub logistics_code: String,
    /// Buyer's message.
    #[serde(rename = "buyerMessage", skip_serializing_if = "String::is_empty")]
    pub buyer_message: String,
    /// Seller's memo.
    #[serde(rename = "sellerMessage", skip_serializing_if = "String::is_empty")]
    pub seller_message: String,
    /// Sender.
    #[serde(rename = "senderInfo")]
    pub sender_info: Party,
    /// Receiver.
    #[serde(rename = "receiverInfo")]
    pub receiver_info: Party,
}

/// `<senderInfo>` / `<receiverInfo>`
#[derive(Debug, Clone, Default, Serialize)]
pub struct Party {
    /// Name.
    pub name: String,
    /// Mobile.
    pub mobile: String,
    /// Telephone.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub tel: String,
    /// Province.
    pub province: String,
    /// City.
    pub city: String,
    /// District.
    pub area: String,
    /// Street address.
    #[serde(rename = "detailAddress")]
    pub detail_address: String,
}

/// `<orderLines>`
#[derive(Debug, Clone, Serialize)]
pub struct OrderLines {
    /// `<orderLine>` elements.
    #[serde(rename = "orderLine")]
    pub order_line: Vec<OrderLine>,
}

/// `<orderLine>`
#[derive(Debug, Clone, Serialize)]
pub struct OrderLine {
    /// The sub-order number.
    #[serde(rename = "orderLineNo")]
    pub order_line_no: String,
    /// Owner code.
    #[serde(rename = "ownerCode")]
    pub owner_code: String,
    /// Merchant item code.
    #[serde(rename = "itemCode")]
    pub item_code: String,
    /// Item name.
    #[serde(rename = "itemName")]
    pub item_name: String,
    /// Quantity.
    #[serde(rename = "planQty")]
    pub plan_qty: i64,
    /// Unit price paid, yuan (the order's discount included).
    #[serde(rename = "actualPrice")]
    pub actual_price: String,
}

/// `order.cancel`
#[derive(Debug, Clone, Serialize)]
pub struct OrderCancel {
    /// Warehouse code.
    #[serde(rename = "warehouseCode")]
    pub warehouse_code: String,
    /// Owner code.
    #[serde(rename = "ownerCode")]
    pub owner_code: String,
    /// The shop's order number.
    #[serde(rename = "orderCode")]
    pub order_code: String,
    /// `JYCK`.
    #[serde(rename = "orderType")]
    pub order_type: String,
    /// Why.
    #[serde(rename = "cancelReason")]
    pub cancel_reason: String,
}

/// `inventory.query`
#[derive(Debug, Clone, Serialize)]
pub struct InventoryQuery {
    /// The criteria.
    #[serde(rename = "criteriaList")]
    pub criteria_list: CriteriaList,
}

/// `<criteriaList>`
#[derive(Debug, Clone, Serialize)]
pub struct CriteriaList {
    /// `<criteria>` elements.
    pub criteria: Vec<Criteria>,
}

/// `<criteria>`
#[derive(Debug, Clone, Serialize)]
pub struct Criteria {
    /// Warehouse code.
    #[serde(rename = "warehouseCode")]
    pub warehouse_code: String,
    /// Owner code.
    #[serde(rename = "ownerCode")]
    pub owner_code: String,
    /// Merchant item code.
    #[serde(rename = "itemCode")]
    pub item_code: String,
    /// `ZP` (saleable).
    #[serde(rename = "inventoryType")]
    pub inventory_type: String,
}

/// Writes a request document with the XML declaration, as it is signed and sent.
pub fn to_document<T: Serialize>(request: &T) -> Result<String, String> {
    let body = quick_xml::se::to_string_with_root("request", request).map_err(|e| e.to_string())?;
    Ok(format!("<?xml version=\"1.0\" encoding=\"utf-8\"?>{body}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_wrapped_and_text_escaped() {
        let request = OrderCancel {
            warehouse_code: "15".to_owned(),
            owner_code: "O".to_owned(),
            order_code: "A&B".to_owned(),
            order_type: "JYCK".to_owned(),
            cancel_reason: "<closed>".to_owned(),
        };
        let xml = to_document(&request).unwrap();
        assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?><request><warehouseCode>15</warehouseCode>"), "{xml}");
        assert!(xml.contains("<orderCode>A&amp;B</orderCode>"), "{xml}");
        assert!(xml.contains("&lt;closed&gt;"), "{xml}");
        let query = InventoryQuery {
            criteria_list: CriteriaList {
                criteria: vec![
                    Criteria {
                        warehouse_code: "w".into(),
                        owner_code: "o".into(),
                        item_code: "a".into(),
                        inventory_type: "ZP".into(),
                    },
                    Criteria {
                        warehouse_code: "w".into(),
                        owner_code: "o".into(),
                        item_code: "b".into(),
                        inventory_type: "ZP".into(),
                    },
                ],
            },
        };
        let xml = to_document(&query).unwrap();
        assert_eq!(xml.matches("<criteria>").count(), 2, "{xml}");
        assert!(xml.contains("<criteriaList><criteria>"), "{xml}");
    }
}
