//! A return as a 销售退货单 (`SAL_RETURNSTOCK`) bill, with seed 002's field names. The
//! organisation, customer and warehouse come from the shop's maps; a missing one
//! names the key to add, and nothing is sent.

use chrono::{FixedOffset, NaiveDateTime, TimeZone};
use serde_json::{json, Map, Value};

use crate::config::{KingdeeShopConfig, ShopConfig};
use crate::shop::sales_returns::{ReturnSource, ReturnedLine, SalesReturn};

/// The form a sales return is saved as.
pub const FORM_ID: &str = "SAL_RETURNSTOCK";
/// 货主类型 of every line: an organisation.
const OWNER_TYPE: &str = "BD_OwnerOrg";
/// Longest remark sent (FHeadNote); a longer one is cut.
const MAX_REMARK: usize = 255;

/// What the shop's maps are looked up by, beyond the return itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookingKeys {
    /// The shop's id at Jushuitan (the key of its after-sales), if it uses Jushuitan.
    pub jushuitan_shop: Option<String>,
    /// The shop's code (the key of its storefront refunds).
    pub shop_code: String,
    /// The warehouse of its storefront refunds: its Qimen warehouse code, or its code.
    pub storefront_warehouse: String,
}

impl BookingKeys {
    /// The keys of a configured shop: its Jushuitan shop id, its code, and its
    /// warehouse's code (or its code when it has no warehouse).
    pub fn of(shop: &ShopConfig) -> Self {
        Self {
            jushuitan_shop: shop.jushuitan.as_ref().map(|jst| jst.shop_id.to_string()),
            shop_code: shop.code.clone(),
            storefront_warehouse: shop
                .wms
                .as_ref()
                .map(|wms| wms.warehouse_code.clone())
                .unwrap_or_else(|| shop.code.clone()),
        }
    }
}

/// A base-data field: Kingdee finds it by number.
fn number(value: &str) -> Value {
    json!({ "FNumber": value })
}

/// Fen as a yuan amount, exactly as written (1999 → 19.99).
fn yuan(fen: i64) -> Value {
    serde_json::Number::from_f64(fen as f64 / 100.0)
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

/// The unit price of a line to the fen, rounded half up: amount / quantity.
pub fn unit_price(amount: i64, qty: i64) -> i64 {
    if qty <= 0 {
        return 0;
    }
    (2 * amount + qty) / (2 * qty)
}

/// A UTC time as the shop's calendar day.
fn shop_day(utc: NaiveDateTime, offset: FixedOffset) -> String {
    offset
        .from_utc_datetime(&utc)
        .format("%Y-%m-%d")
        .to_string()
}

/// Looks `key` up in one of the shop's maps, or says what to add where.
fn mapped<'a>(
    map: &'a std::collections::BTreeMap<String, String>,
    name: &str,
    what: &str,
    key: &str,
) -> Result<&'a str, String> {
    map.get(key)
        .map(String::as_str)
        .ok_or_else(|| format!("no {what} for `{key}`: add \"{key}\" to [shops.kingdee] {name}"))
}

/// The bill of `sales_return`, or why it cannot be sent (a missing mapping or a line
/// that does not add up), before anything is sent.
pub fn sales_return_bill(
    sales_return: &SalesReturn,
    config: &KingdeeShopConfig,
    keys: &BookingKeys,
    offset: FixedOffset,
) -> Result<Value, String> {
    let (shop_key, warehouse_key) = match sales_return.source {
        ReturnSource::AfterSale => {
            let shop = keys.jushuitan_shop.as_deref().ok_or_else(|| {
                "the shop has no [shops.jushuitan] shop_id to look its after-sales up by".to_owned()
            })?;
            if sales_return.warehouse.trim().is_empty() {
                return Err(format!(
                    "after-sale {} names no warehouse (wms_co_id) to look up in [shops.kingdee] stock_by_warehouse",
                    sales_return.number
                ));
            }
            (shop, sales_return.warehouse.trim())
        }
        ReturnSource::StorefrontRefund => {
            (keys.shop_code.as_str(), keys.storefront_warehouse.as_str())
        }
    };
    let sale_org = mapped(
        &config.sale_org_by_shop,
        "sale_org_by_shop",
        "销售组织",
        shop_key,
    )?;
    let customer = mapped(
        &config.customer_by_shop,
        "customer_by_shop",
        "退货客户",
        shop_key,
    )?;
    let stock = mapped(
        &config.stock_by_warehouse,
        "stock_by_warehouse",
        "仓库",
        warehouse_key,
    )?;
    let mut entries = Vec::new();
    for line in &sales_return.lines {
        entries.extend(line_entries(sales_return, line, config, stock)?);
    }
    if entries.is_empty() {
        return Err(format!(
            "{} has no goods that came back: nothing to book",
            sales_return.number
        ));
    }
    let remark: String = sales_return.remark.chars().take(MAX_REMARK).collect();
    Ok(json!({
        "FBillTypeID": number(&config.bill_type),
        "FBillNo": sales_return.number,
        "FDate": shop_day(sales_return.date, offset),
        "FSaleOrgId": number(sale_org),
        "FStockOrgId": number(&config.stock_org),
        "FRetcustId": number(customer),
        "FHeadNote": remark,
        "F_XC_Text": sales_return.so_id,
        "SubHeadEntity": {
            "FSettleOrgId": number(sale_org),
            "FSETTLECURRID": number(&config.settle_currency),
        },
        "FEntity": entries,
    }))
}

/// The `FEntity` rows of one line: one, or one per batch when its batches split it.
fn line_entries(
    sales_return: &SalesReturn,
    line: &ReturnedLine,
    config: &KingdeeShopConfig,
    stock: &str,
) -> Result<Vec<Value>, String> {
    if line.qty <= 0 {
        return Ok(Vec::new());
    }
    let sku = line.sku.trim();
    if sku.is_empty() {
        return Err(format!(
            "{}: a line that came back has no SKU to book it by",
            sales_return.number
        ));
    }
    let material = config
        .material_by_sku
        .get(sku)
        .map(String::as_str)
        .unwrap_or(sku);
    let price = unit_price(line.amount, line.qty);
    let entry = |qty: i64, lot: Option<(&str, &str)>| {
        let mut entry = Map::new();
        entry.insert("FMaterialId".into(), number(material));
        entry.insert("FRealQty".into(), json!(qty));
        entry.insert("FTaxPrice".into(), yuan(price));
        entry.insert("FOwnerTypeId".into(), json!(OWNER_TYPE));
        entry.insert("FOwnerId".into(), number(&config.owner));
        entry.insert("FStockId".into(), number(stock));
        if let Some((batch_no, product_date)) = lot {
            if !batch_no.is_empty() {
                entry.insert("FLot".into(), number(batch_no));
            }
            if !product_date.is_empty() {
                entry.insert("FProduceDate".into(), json!(product_date));
            }
        }
        entry.insert("F_XC_TEXT4".into(), json!(sales_return.tracking_no));
        entry.insert("F_XC_TEXT5".into(), json!(sales_return.so_id));
        Value::Object(entry)
    };
    // One batch (or none) names the lot of the whole quantity received; several split
    // it, and must add up to it.
    if let [] | [_] = line.batches.as_slice() {
        let lot = line
            .batches
            .first()
            .map(|batch| (batch.batch_no.trim(), batch.product_date.trim()));
        return Ok(vec![entry(line.qty, lot)]);
    }
    let several: Vec<_> = line.batches.iter().filter(|batch| batch.qty > 0).collect();
    let in_batches: i64 = several.iter().map(|batch| batch.qty).sum();
    if in_batches != line.qty {
        return Err(format!(
            "{}: SKU {sku} came back {} times but its batches hold {in_batches}; correct the batches in Jushuitan",
            sales_return.number, line.qty
        ));
    }
    Ok(several
        .iter()
        .map(|batch| {
            entry(
                batch.qty,
                Some((batch.batch_no.trim(), batch.product_date.trim())),
            )
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shop::sales_returns::ReturnedBatch;

    fn config() -> KingdeeShopConfig {
        toml::from_str(
            "base_url = \"http://k3/\"\nacct_id = \"a\"\nusername = \"u\"\npassword = \"p\"\n\
             sale_org_by_shop = { \"10001\" = \"101\", \"demo\" = \"102\" }\n\
             customer_by_shop = { \"10001\" = \"CUST-JST\", \"demo\" = \"CUST-WEB\" }\n\
             stock_by_warehouse = { \"10086\" = \"CK01\", \"WH-1\" = \"CK02\" }\n\
             material_by_sku = { \"sku-1\" = \"MAT-1\" }\n",
        )
        .expect("config")
    }

    fn keys() -> BookingKeys {
        BookingKeys {
            jushuitan_shop: Some("10001".to_owned()),
            shop_code: "demo".to_owned(),
            storefront_warehouse: "WH-1".to_owned(),
        }
    }

    fn batch(batch_no: &str, qty: i64) -> ReturnedBatch {
        ReturnedBatch {
            batch_no: batch_no.to_owned(),
            product_date: "2024-01-01".to_owned(),
            qty,
        }
    }

    fn after_sale(lines: Vec<ReturnedLine>) -> SalesReturn {
        SalesReturn {
            number: "AS-1".to_owned(),
            source: ReturnSource::AfterSale,
            so_id: "SO-1".to_owned(),
            // 20:30 UTC is the next day in China.
            date: chrono::NaiveDate::from_ymd_opt(2024, 5, 1)
                .and_then(|day| day.and_hms_opt(20, 30, 0))
                .expect("time"),
            remark: "退回".to_owned(),
            tracking_no: "YT-1".to_owned(),
            warehouse: "10086".to_owned(),
            lines,
        }
    }

    fn line(sku: &str, qty: i64, amount: i64, batches: Vec<ReturnedBatch>) -> ReturnedLine {
        ReturnedLine {
            sku: sku.to_owned(),
            qty,
            amount,
            batches,
        }
    }

    fn china() -> FixedOffset {
        FixedOffset::east_opt(8 * 3600).expect("offset")
    }

    #[test]
    fn unit_prices_round_to_the_fen() {
        assert_eq!(unit_price(10_000, 3), 3_333);
        assert_eq!(unit_price(10_001, 2), 5_001);
        assert_eq!(unit_price(5, 2), 3);
        assert_eq!(unit_price(0, 4), 0);
        assert_eq!(yuan(1_999).to_string(), "19.99");
        assert_eq!(yuan(5_000).to_string(), "50.0");
    }

    #[test]
    fn an_after_sale_becomes_the_seeds_bill() {
        let bill = sales_return_bill(
            &after_sale(vec![
                line("sku-1", 3, 10_000, vec![batch("B1", 1), batch("B2", 2)]),
                line("sku-2", 1, 1_999, vec![batch("B3", 0)]),
                line("sku-3", 0, 500, vec![]),
            ]),
            &config(),
            &keys(),
            china(),
        )
        .expect("bill");
        assert_eq!(bill["FBillNo"], "AS-1");
        assert_eq!(bill["FBillTypeID"]["FNumber"], "XSXSTHD");
        assert_eq!(bill["FDate"], "2024-05-02");
        assert_eq!(bill["FSaleOrgId"]["FNumber"], "101");
        assert_eq!(bill["SubHeadEntity"]["FSettleOrgId"]["FNumber"], "101");
        assert_eq!(bill["SubHeadEntity"]["FSETTLECURRID"]["FNumber"], "PRE001");
        assert_eq!(bill["FStockOrgId"]["FNumber"], "100");
        assert_eq!(bill["FRetcustId"]["FNumber"], "CUST-JST");
        assert_eq!(bill["F_XC_Text"], "SO-1");
        let entries = bill["FEntity"].as_array().expect("entries");
        assert_eq!(entries.len(), 3, "two batches, one line, none for r_qty 0");
        assert_eq!(entries[0]["FMaterialId"]["FNumber"], "MAT-1");
        assert_eq!(entries[0]["FRealQty"], 1);
        assert_eq!(entries[1]["FRealQty"], 2);
        assert_eq!(entries[1]["FLot"]["FNumber"], "B2");
        assert_eq!(entries[0]["FTaxPrice"].to_string(), "33.33");
        assert_eq!(entries[2]["FMaterialId"]["FNumber"], "sku-2");
        assert_eq!(entries[2]["FRealQty"], 1);
        assert_eq!(entries[2]["FLot"]["FNumber"], "B3");
        assert_eq!(entries[2]["FProduceDate"], "2024-01-01");
        assert_eq!(entries[2]["FTaxPrice"].to_string(), "19.99");
        for entry in entries {
            assert_eq!(entry["FOwnerTypeId"], "BD_OwnerOrg");
            assert_eq!(entry["FOwnerId"]["FNumber"], "100");
            assert_eq!(entry["FStockId"]["FNumber"], "CK01");
            assert_eq!(entry["F_XC_TEXT4"], "YT-1");
            assert_eq!(entry["F_XC_TEXT5"], "SO-1");
        }
    }

    #[test]
    fn a_storefront_refund_uses_the_shop_code_and_its_warehouse() {
        let mut refund = after_sale(vec![line("sku-9", 2, 3_000, vec![])]);
        refund.source = ReturnSource::StorefrontRefund;
        refund.warehouse = String::new();
        let bill = sales_return_bill(&refund, &config(), &keys(), china()).expect("bill");
        assert_eq!(bill["FSaleOrgId"]["FNumber"], "102");
        assert_eq!(bill["FRetcustId"]["FNumber"], "CUST-WEB");
        assert_eq!(bill["FEntity"][0]["FStockId"]["FNumber"], "CK02");
        assert_eq!(bill["FEntity"][0]["FTaxPrice"].to_string(), "15.0");
        assert!(bill["FEntity"][0].get("FLot").is_none());
    }

    #[test]
    fn a_missing_mapping_names_its_key() {
        let one = || after_sale(vec![line("sku-1", 1, 100, vec![])]);
        let hold = |sales_return: &SalesReturn, config: &KingdeeShopConfig| {
            sales_return_bill(sales_return, config, &keys(), china()).unwrap_err()
        };
        let mut no_org = config();
        no_org.sale_org_by_shop.clear();
        assert!(hold(&one(), &no_org).contains("\"10001\" to [shops.kingdee] sale_org_by_shop"));
        let mut no_customer = config();
        no_customer.customer_by_shop.remove("10001");
        assert!(hold(&one(), &no_customer).contains("customer_by_shop"));
        let mut elsewhere = one();
        elsewhere.warehouse = "20002".to_owned();
        assert!(
            hold(&elsewhere, &config()).contains("\"20002\" to [shops.kingdee] stock_by_warehouse")
        );
        let mut nowhere = one();
        nowhere.warehouse = String::new();
        assert!(hold(&nowhere, &config()).contains("wms_co_id"));
        let uneven = after_sale(vec![line(
            "sku-1",
            3,
            300,
            vec![batch("B1", 1), batch("B2", 1)],
        )]);
        assert!(hold(&uneven, &config()).contains("batches hold 2"));
        let no_sku = after_sale(vec![line(" ", 1, 100, vec![])]);
        assert!(hold(&no_sku, &config()).contains("no SKU"));
    }
}
