//! Send, UpdateSellerMemo and Consume: what the ERP changes on an order.

use serde_json::{Map, Value};

use super::{field, Call};
use crate::polyapi::biz::Biz;
use crate::polyapi::envelope::{PolyError, SubCode};
use crate::polyapi::wire::format_shop_time;
use crate::shop::carriers;
use crate::shop::codes::SellerFlag;
use crate::shop::orders::{self, MAX_MEMO};
use crate::shop::pickup::{self, RedeemOutcome, Redemption};
use crate::shop::shipments::{self, ShipOutcome, ShipmentRequest, ShipmentSource};

/// Longest tracking number and sender field accepted.
const MAX_FIELD: usize = 256;

/// Parses `SubPlatOrderNo`: `sub1:count1|sub2:count2`; empty means the whole order.
pub fn parse_split(text: &str) -> Result<Option<Vec<(String, i64)>>, PolyError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let mut parts = Vec::new();
    for part in text
        .split(['|', '\n'])
        .map(str::trim)
        .filter(|part| !part.is_empty())
    {
        let (sub, count) = part.rsplit_once(':').ok_or_else(|| {
            PolyError::invalid(
                "SubPlatOrderNo",
                format!("`{part}` is not suborderno:count"),
            )
        })?;
        let sub = sub.trim();
        if sub.is_empty() {
            return Err(PolyError::invalid(
                "SubPlatOrderNo",
                format!("`{part}` has no sub-order number"),
            ));
        }
        let count: i64 = count
            .trim()
            .parse()
            .ok()
            .filter(|count| *count > 0)
            .ok_or_else(|| {
                PolyError::invalid(
                    "SubPlatOrderNo",
                    format!("`{part}`: the count must be a positive integer"),
                )
            })?;
        parts.push((sub.to_owned(), count));
    }
    if parts.is_empty() {
        return Ok(None);
    }
    Ok(Some(parts))
}

fn bounded(biz: &Biz, name: &str) -> Result<String, PolyError> {
    let value = biz.text(name)?.unwrap_or_default();
    if value.chars().count() > MAX_FIELD {
        return Err(PolyError::invalid(
            name,
            format!("is longer than {MAX_FIELD} characters"),
        ));
    }
    Ok(value)
}

/// 订单发货: records a shipment (whole order or split), idempotent for a repeated call.
pub async fn send(call: &Call, biz: &Biz) -> Result<Map<String, Value>, PolyError> {
    let plat_order_no = biz.required_text("PlatOrderNo")?;
    let (logistic_type, logistic_name) = carrier(biz)?;
    let logistic_no = biz.required_text("LogisticNo")?;
    if logistic_no.chars().count() > MAX_FIELD {
        return Err(PolyError::invalid(
            "LogisticNo",
            format!("is longer than {MAX_FIELD} characters"),
        ));
    }
    let is_hwg_flag = match biz.int("IsHwgFlag")?.unwrap_or(0) {
        0 => false,
        1 => true,
        other => {
            return Err(PolyError::invalid(
                "IsHwgFlag",
                format!("{other} is not 0 or 1"),
            ))
        }
    };
    let is_split = biz.int("IsSplit")?.unwrap_or(0);
    if !matches!(is_split, 0 | 1) {
        return Err(PolyError::invalid(
            "IsSplit",
            format!("{is_split} is not 0 or 1"),
        ));
    }
    let lines = parse_split(&biz.text("SubPlatOrderNo")?.unwrap_or_default())?;
    if is_split == 1 && lines.is_none() {
        return Err(PolyError::new(
            SubCode::MissParameter,
            "SubPlatOrderNo is required when IsSplit is 1",
        ));
    }
    let request = ShipmentRequest {
        plat_order_no,
        logistic_type,
        logistic_name: truncate(logistic_name),
        logistic_no,
        send_type: bounded(biz, "SendType")?,
        sender_name: bounded(biz, "SenderName")?,
        sender_tel: bounded(biz, "SenderTel")?,
        sender_address: bounded(biz, "SenderAddress")?,
        lines,
        order_type: bounded(biz, "OrderType")?,
        is_hwg_flag,
        source: ShipmentSource::Polyapi,
    };
    let shop_id = call.shop.id;
    let outcome = call
        .db
        .run(move |conn| shipments::ship(conn, shop_id, &request))
        .await?;
    let mut answer = Map::new();
    let note = match outcome {
        ShipOutcome::Shipped { .. } => "发货成功",
        ShipOutcome::AlreadyRecorded { .. } => "发货成功(重复发货请求，未重复记录)",
    };
    field(&mut answer, "submessage", note);
    Ok(answer)
}

/// `LogisticType` and `LogisticName`. A code of the table takes its name when none is
/// sent. Polyapi adds carriers after the table was printed, so a code of the table's
/// shape that it lacks is taken as sent, with the name sent (required then), and logged
/// once; only a code of another shape is refused.
fn carrier(biz: &Biz) -> Result<(String, String), PolyError> {
    let code = biz.required_text("LogisticType")?;
    let name = biz.text("LogisticName")?;
    if let Some(known) = carriers::canonical_code(&code) {
        let name = name.unwrap_or_else(|| {
            carriers::carrier_name(&known)
                .unwrap_or_default()
                .to_owned()
        });
        return Ok((known, name));
    }
    if !carriers::has_code_shape(&code) || code.chars().count() > MAX_FIELD {
        return Err(PolyError::invalid(
            "LogisticType",
            format!("`{code}` is not a carrier code: JH_ or JHI_ and digits (JH_001…, JHI_001…)"),
        ));
    }
    let name = name.ok_or_else(|| {
        PolyError::new(
            SubCode::MissParameter,
            format!("LogisticName is required: the carrier table does not list `{code}`"),
        )
    })?;
    carriers::note_unlisted(&code, &name);
    Ok((code, name))
}

fn truncate(text: String) -> String {
    if text.chars().count() > MAX_FIELD {
        text.chars().take(MAX_FIELD).collect()
    } else {
        text
    }
}

/// 修改订单备注
pub async fn update_seller_memo(call: &Call, biz: &Biz) -> Result<Map<String, Value>, PolyError> {
    let plat_order_no = biz.required_text("PlatOrderNo")?;
    let memo = biz
        .verbatim("SellerMemo")?
        .ok_or_else(|| PolyError::missing("SellerMemo"))?;
    if memo.chars().count() > MAX_MEMO {
        return Err(PolyError::invalid(
            "SellerMemo",
            format!("is longer than {MAX_MEMO} characters"),
        ));
    }
    let flag = match biz.text("SellerFlag")? {
        None => SellerFlag::None,
        Some(code) => SellerFlag::from_code(&code).ok_or_else(|| {
            PolyError::invalid(
                "SellerFlag",
                format!("`{code}` is not one of {}", SellerFlag::expected()),
            )
        })?,
    };
    let shop_id = call.shop.id;
    call.db
        .run(move |conn| orders::update_memo(conn, shop_id, &plat_order_no, &memo, flag))
        .await?;
    Ok(Map::new())
}

/// 核销订单: redeems the order's pickup code once.
pub async fn consume(call: &Call, biz: &Biz) -> Result<Map<String, Value>, PolyError> {
    let redemption = Redemption {
        plat_order_no: biz.required_text("PlatOrderNo")?,
        code: biz.required_text("VerifyCode")?,
        store_id: bounded(biz, "StoreId")?,
        verify_way: bounded(biz, "HXVerifyWay")?,
    };
    let shop_id = call.shop.id;
    let outcome = call
        .db
        .run(move |conn| pickup::redeem(conn, shop_id, &redemption))
        .await?;
    match outcome {
        RedeemOutcome::Redeemed => Ok(Map::new()),
        RedeemOutcome::AlreadyRedeemed { at, store_id, verify_way } => Err(PolyError::new(
            SubCode::LogicError,
            format!(
                "VerifyCode: the pickup code was already used at {} (store `{store_id}`, {verify_way})",
                format_shop_time(at, call.offset)
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_split;

    #[test]
    fn split_shipments_parse() {
        assert_eq!(parse_split("").unwrap(), None);
        assert_eq!(
            parse_split("ST568555:2|ST598855:5").unwrap(),
            Some(vec![("ST568555".to_owned(), 2), ("ST598855".to_owned(), 5)])
        );
        assert_eq!(
            parse_split(" a:1 | ").unwrap(),
            Some(vec![("a".to_owned(), 1)])
        );
        for bad in ["a", "a:0", "a:-1", ":3", "a:x", "a:1.5"] {
            assert!(parse_split(bad).is_err(), "{bad}");
        }
    }
}
