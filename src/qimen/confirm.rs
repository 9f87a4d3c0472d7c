//! `deliveryorder.confirm`: the warehouse's shipment confirmation, read with quick-xml.

use serde::Deserialize;

use crate::shop::carriers;
use crate::shop::parcels::{Parcel, ParcelItem};

/// The confirmation document (`<request>`), the parts the shop uses.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename = "request")]
pub struct ConfirmRequest {
    /// The delivery order.
    #[serde(rename = "deliveryOrder")]
    pub delivery_order: Option<ConfirmOrder>,
    /// The packages sent.
    #[serde(default)]
    pub packages: Option<Packages>,
}

/// `<deliveryOrder>`
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ConfirmOrder {
    /// The shop's order number.
    #[serde(rename = "deliveryOrderCode", default)]
    pub delivery_order_code: String,
    /// DELIVERED, PARTDELIVERED, …
    #[serde(default)]
    pub status: String,
    /// The confirmation's unique key.
    #[serde(rename = "outBizCode", default)]
    pub out_biz_code: String,
    /// 0 final, 1 partial.
    #[serde(rename = "confirmType", default)]
    pub confirm_type: String,
}

/// `<packages>`
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Packages {
    /// `<package>` elements.
    #[serde(rename = "package", default)]
    pub package: Vec<Package>,
}

/// `<package>`
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Package {
    /// Carrier code.
    #[serde(rename = "logisticsCode", default)]
    pub logistics_code: String,
    /// Carrier name.
    #[serde(rename = "logisticsName", default)]
    pub logistics_name: String,
    /// Tracking number.
    #[serde(rename = "expressCode", default)]
    pub express_code: String,
    /// Items in the package.
    #[serde(default)]
    pub items: Option<Items>,
}

/// `<items>`
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Items {
    /// `<item>` elements.
    #[serde(rename = "item", default)]
    pub item: Vec<Item>,
}

/// `<item>`: quantities arrive as text (possibly empty), so they are read as text.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Item {
    /// Merchant item code.
    #[serde(rename = "itemCode", default)]
    pub item_code: String,
    /// Quantity.
    #[serde(default)]
    pub quantity: String,
}

/// A confirmation ready for the shop: order, key, status and packages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirmation {
    /// The shop's order number.
    pub plat_order_no: String,
    /// The confirmation's unique key.
    pub out_biz_code: String,
    /// The warehouse status.
    pub status: String,
    /// Packages with items, as parcels of the shop's carrier codes.
    pub packages: Vec<Parcel>,
}

/// The statuses the Qimen standard gives a delivery order's confirmation.
const STATUSES: [&str; 9] = [
    "NEW",
    "ACCEPT",
    "PARTDELIVERED",
    "DELIVERED",
    "EXCEPTION",
    "CANCELED",
    "CLOSED",
    "REJECT",
    "CANCELEDFAIL",
];

/// Reads and checks a confirmation; the error says what is wrong.
pub fn parse(body: &[u8]) -> Result<Confirmation, String> {
    let text = std::str::from_utf8(body).map_err(|_| "the body is not UTF-8".to_owned())?;
    let request: ConfirmRequest =
        quick_xml::de::from_str(text).map_err(|e| format!("the XML cannot be read: {e}"))?;
    let order = request.delivery_order.ok_or("deliveryOrder is missing")?;
    let required = |name: &str, value: &str| {
        if value.trim().is_empty() {
            Err(format!("deliveryOrder.{name} is required"))
        } else {
            Ok(value.trim().to_owned())
        }
    };
    let plat_order_no = required("deliveryOrderCode", &order.delivery_order_code)?;
    let out_biz_code = required("outBizCode", &order.out_biz_code)?;
    let status = required("status", &order.status)?.to_ascii_uppercase();
    if !STATUSES.contains(&status.as_str()) {
        return Err(format!(
            "deliveryOrder.status `{status}` is not a Qimen delivery status ({})",
            STATUSES.join(", ")
        ));
    }
    let mut packages = Vec::new();
    for (index, package) in request
        .packages
        .map(|p| p.package)
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
        let mut items = Vec::new();
        for (item_index, item) in package
            .items
            .map(|i| i.item)
            .unwrap_or_default()
            .into_iter()
            .enumerate()
        {
            let code = item.item_code.trim().to_owned();
            let quantity: i64 = item.quantity.trim().parse().ok().filter(|q| *q > 0).ok_or_else(|| {
                format!("packages.package[{index}].items.item[{item_index}].quantity `{}` is not a positive integer", item.quantity)
            })?;
            if code.is_empty() {
                return Err(format!(
                    "packages.package[{index}].items.item[{item_index}].itemCode is required"
                ));
            }
            items.push(ParcelItem {
                sub_order_no: None,
                outer_id: code,
                quantity,
            });
        }
        if package.express_code.trim().is_empty() && !items.is_empty() {
            return Err(format!("packages.package[{index}].expressCode is required"));
        }
        if items.is_empty() {
            continue;
        }
        let code = package.logistics_code.trim();
        let name = package.logistics_name.trim();
        packages.push(Parcel {
            logistic_type: carriers::code_for_partner(code, name).unwrap_or_default(),
            logistic_name: if name.is_empty() { code } else { name }.to_owned(),
            logistic_no: package.express_code.trim().to_owned(),
            items,
        });
    }
    if status == "DELIVERED" && packages.is_empty() {
        return Err("a DELIVERED confirmation needs packages with items".to_owned());
    }
    let texts = [&plat_order_no, &out_biz_code, &status]
        .into_iter()
        .chain(
            packages
                .iter()
                .flat_map(|p| [&p.logistic_type, &p.logistic_name, &p.logistic_no]),
        )
        .chain(
            packages
                .iter()
                .flat_map(|p| p.items.iter().map(|item| &item.outer_id)),
        );
    if texts.into_iter().any(|text| text.contains('\0')) {
        return Err("the confirmation contains a NUL character".to_owned());
    }
    Ok(Confirmation {
        plat_order_no,
        out_biz_code,
        status,
        packages,
    })
}
