//! The eight Polyapi methods: names, the per-shop switch, and dispatch.

mod catalogue;
mod fulfilment;
mod orders;
mod refunds;

use std::sync::Arc;

use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::biz::Biz;
use super::envelope::{Answer, PolyError, SubCode};
use crate::db::Database;
use crate::shop::shops::Shop;
use crate::shop::ShopError;

/// The methods of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// 订单下载
    GetOrder,
    /// 退款检测
    CheckRefundStatus,
    /// 订单发货
    Send,
    /// 修改订单备注
    UpdateSellerMemo,
    /// 核销订单
    Consume,
    /// 商品下载
    DownloadProduct,
    /// 库存同步
    SyncStock,
    /// 退货退款单下载
    GetRefund,
}

const PREFIX: &str = "Differ.JH.Business.";

impl Method {
    /// Every method.
    pub const ALL: [Self; 8] = [
        Self::GetOrder,
        Self::CheckRefundStatus,
        Self::Send,
        Self::UpdateSellerMemo,
        Self::Consume,
        Self::DownloadProduct,
        Self::SyncStock,
        Self::GetRefund,
    ];

    /// The short name, e.g. `GetOrder`.
    pub fn short_name(self) -> &'static str {
        match self {
            Self::GetOrder => "GetOrder",
            Self::CheckRefundStatus => "CheckRefundStatus",
            Self::Send => "Send",
            Self::UpdateSellerMemo => "UpdateSellerMemo",
            Self::Consume => "Consume",
            Self::DownloadProduct => "DownloadProduct",
            Self::SyncStock => "SyncStock",
            Self::GetRefund => "GetRefund",
        }
    }

    /// Reads `Differ.JH.Business.GetOrder` or `GetOrder`, in any case.
    pub fn from_name(name: &str) -> Option<Self> {
        let name = name.trim();
        let short =
            if name.len() > PREFIX.len() && name[..PREFIX.len()].eq_ignore_ascii_case(PREFIX) {
                &name[PREFIX.len()..]
            } else {
                name
            };
        Self::ALL
            .into_iter()
            .find(|method| method.short_name().eq_ignore_ascii_case(short))
    }
}

/// What a method runs with.
#[derive(Debug, Clone)]
pub struct Call {
    /// The shop database.
    pub db: Database,
    /// The shop the token selected.
    pub shop: Shop,
    /// The shop's time zone.
    pub offset: chrono::FixedOffset,
}

/// Runs `method`.
pub async fn dispatch(method: Method, call: &Call, biz: &Biz) -> Result<Answer, PolyError> {
    match method {
        Method::GetOrder => orders::get_order(call, biz).await,
        Method::CheckRefundStatus => orders::check_refund_status(call, biz)
            .await
            .map(Answer::from),
        Method::Send => fulfilment::send(call, biz).await.map(Answer::from),
        Method::UpdateSellerMemo => fulfilment::update_seller_memo(call, biz)
            .await
            .map(Answer::from),
        Method::Consume => fulfilment::consume(call, biz).await.map(Answer::from),
        Method::DownloadProduct => catalogue::download_product(call, biz).await,
        Method::SyncStock => catalogue::sync_stock(call, biz).await.map(Answer::from),
        Method::GetRefund => refunds::get_refund(call, biz).await,
    }
}

/// Rule refusals are LOGIC_ERROR; a failing database is SYSTEM_ERROR (details logged, not
/// sent), saying that nothing was written wherever that is certain: the deadline passed
/// and the work was rolled back, or no connection came free for it.
impl From<ShopError> for PolyError {
    fn from(error: ShopError) -> Self {
        match error {
            ShopError::Rejected { field, message } => {
                Self::new(SubCode::LogicError, format!("{field}: {message}"))
            }
            ShopError::UnknownShop(code) => Self::new(
                SubCode::SystemError,
                format!("shop `{code}` is not in the database"),
            ),
            ShopError::Db(crate::db::DbError::DeadlinePassed) => Self::new(
                SubCode::SystemError,
                "the call ran out of time before it could finish; nothing was written; retry later",
            ),
            // No connection came free in time: the work never started.
            ShopError::Db(crate::db::DbError::Pool(error)) => {
                tracing::error!(%error, "polyapi call found no free database connection");
                Self::new(
                    SubCode::SystemError,
                    "the shop database is busy or unavailable; nothing was written; retry later",
                )
            }
            ShopError::Db(error) => {
                tracing::error!(%error, "polyapi call failed on the database");
                Self::new(
                    SubCode::SystemError,
                    "the shop database is unavailable; retry later",
                )
            }
        }
    }
}

impl From<crate::db::DbError> for PolyError {
    fn from(error: crate::db::DbError) -> Self {
        ShopError::Db(error).into()
    }
}

/// Puts one field into an answer.
fn field(map: &mut Map<String, Value>, name: &str, value: impl Into<Value>) {
    map.insert(name.to_owned(), value.into());
}

/// A listing's answer: the total across pages named `total_name`, then the page's wire
/// documents named `list_name`, each rendered straight to JSON text — building pages of
/// large documents as `Value`s first cost as much as rendering them.
fn listing<T: serde::Serialize>(
    total_name: &str,
    total: i64,
    list_name: &str,
    documents: impl Iterator<Item = T>,
) -> Result<Answer, PolyError> {
    let rendered = documents
        .map(|document| render(&document))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rendered_listing(total_name, total, list_name, rendered))
}

/// One wire document as JSON text.
fn render<T: serde::Serialize>(document: &T) -> Result<Arc<RawValue>, PolyError> {
    serde_json::value::to_raw_value(document)
        .map(Arc::from)
        .map_err(|e| {
            PolyError::new(
                SubCode::SystemError,
                format!("cannot render the answer: {e}"),
            )
        })
}

/// A listing's answer of documents already rendered.
fn rendered_listing(
    total_name: &str,
    total: i64,
    list_name: &str,
    rendered: Vec<Arc<RawValue>>,
) -> Answer {
    let mut fields = Map::new();
    field(&mut fields, total_name, total);
    Answer {
        fields,
        rendered: Some((list_name.to_owned(), rendered)),
    }
}

#[cfg(test)]
mod tests {
    use super::Method;

    #[test]
    fn names() {
        assert_eq!(
            Method::from_name("Differ.JH.Business.GetOrder"),
            Some(Method::GetOrder)
        );
        assert_eq!(
            Method::from_name("differ.jh.business.syncstock"),
            Some(Method::SyncStock)
        );
        assert_eq!(Method::from_name("Consume"), Some(Method::Consume));
        assert_eq!(
            Method::from_name("Differ.JH.Business.DeleteEverything"),
            None
        );
        assert_eq!(Method::from_name(""), None);
    }
}
