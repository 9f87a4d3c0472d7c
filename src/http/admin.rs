//! `/admin/v1/shops/{code}/…`: the storefront's intake and the operator's view.
//! Bodies are the Polyapi shapes; every batch is all or nothing.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use serde::Deserialize;
use serde_json::json;

use super::body::{read_capped, BodyError};
use super::AppState;
use crate::intake::{self, DocumentKind, IntakeError};
use crate::polyapi::wire::{GoodsItem, OrderItem, RefundItem};
use crate::shop::codes::TradeStatus;
use crate::shop::orders::{OrderFilter, PageAnchors};
use crate::shop::shops::Shop;
use crate::shop::{orders, products, refunds, Page, ShopError};

/// Documents accepted in one request.
const MAX_BATCH: usize = 1_000;
/// Largest request body.
const MAX_BODY: usize = 32 * 1024 * 1024;
/// Largest page.
const MAX_PAGE_SIZE: i64 = 500;

/// The admin scope with its routes; every answer, unknown paths and methods included,
/// is the JSON error document.
pub fn scope() -> actix_web::Scope {
    web::scope("/admin/v1")
        .service(
            web::resource("/shops/{code}/products")
                .route(web::post().to(post_products))
                .route(web::get().to(get_products))
                .default_service(web::to(method_not_allowed)),
        )
        .service(
            web::resource("/shops/{code}/orders")
                .route(web::post().to(post_orders))
                .route(web::get().to(get_orders))
                .default_service(web::to(method_not_allowed)),
        )
        .service(
            web::resource("/shops/{code}/refunds")
                .route(web::post().to(post_refunds))
                .route(web::get().to(get_refunds))
                .default_service(web::to(method_not_allowed)),
        )
        .default_service(web::to(not_found))
}

async fn not_found() -> HttpResponse {
    AdminError::NotFound.error_response()
}

async fn method_not_allowed() -> HttpResponse {
    AdminError::MethodNotAllowed.error_response()
}

/// Failures of the admin API, answered as `{"error", "field", "message"}`.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The admin API has no token configured.
    #[error("the admin API is disabled: set [admin] token in the configuration")]
    Disabled,
    /// Missing or wrong bearer token.
    #[error("missing or wrong bearer token")]
    Unauthorized,
    /// No such shop.
    #[error("shop `{0}` is not configured")]
    UnknownShop(String),
    /// A query parameter is wrong.
    #[error("{field}: {message}")]
    BadQuery {
        /// The parameter.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// The body is larger than allowed.
    #[error("the body is larger than {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: usize,
    },
    /// The body could not be read.
    #[error("{0}")]
    Unreadable(String),
    /// No such path.
    #[error("no such path in the admin API")]
    NotFound,
    /// The path does not take this HTTP method.
    #[error("this path does not take this HTTP method (GET lists, POST stores)")]
    MethodNotAllowed,
    /// The batch was refused or failed.
    #[error(transparent)]
    Intake(#[from] IntakeError),
}

impl From<BodyError> for AdminError {
    fn from(error: BodyError) -> Self {
        match error {
            BodyError::TooLarge { limit } => Self::TooLarge { limit },
            BodyError::Unreadable(_) => Self::Unreadable(error.to_string()),
        }
    }
}

impl From<ShopError> for AdminError {
    fn from(error: ShopError) -> Self {
        Self::Intake(IntakeError::Shop(error))
    }
}

impl ResponseError for AdminError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Disabled => StatusCode::FORBIDDEN,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::UnknownShop(_) => StatusCode::NOT_FOUND,
            Self::BadQuery { .. } => StatusCode::BAD_REQUEST,
            Self::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unreadable(_) => StatusCode::BAD_REQUEST,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Intake(IntakeError::Malformed(_)) => StatusCode::BAD_REQUEST,
            Self::Intake(IntakeError::TooMany { .. }) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Intake(IntakeError::Invalid(_)) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Intake(IntakeError::Shop(ShopError::Rejected { .. })) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            Self::Intake(IntakeError::Shop(ShopError::UnknownShop(_))) => StatusCode::NOT_FOUND,
            Self::Intake(IntakeError::Shop(ShopError::Db(_))) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let (kind, field, message) = match self {
            Self::Disabled => ("disabled", None, self.to_string()),
            Self::Unauthorized => ("unauthorized", None, self.to_string()),
            Self::UnknownShop(_) => ("unknown_shop", None, self.to_string()),
            Self::BadQuery { field, message } => {
                ("bad_query", Some(field.clone()), message.clone())
            }
            Self::TooLarge { .. } => ("too_large", None, self.to_string()),
            Self::Unreadable(_) => ("unreadable", None, self.to_string()),
            Self::NotFound => ("not_found", None, self.to_string()),
            Self::MethodNotAllowed => ("method_not_allowed", None, self.to_string()),
            Self::Intake(IntakeError::Malformed(e)) => {
                ("malformed", Some(e.path.clone()), e.message.clone())
            }
            Self::Intake(IntakeError::Invalid(e)) => {
                ("invalid", Some(e.path.clone()), e.message.clone())
            }
            Self::Intake(IntakeError::TooMany { .. }) => ("too_many", None, self.to_string()),
            Self::Intake(IntakeError::Shop(ShopError::Rejected { field, message })) => {
                ("rejected", Some(field.clone()), message.clone())
            }
            Self::Intake(IntakeError::Shop(ShopError::UnknownShop(code))) => (
                "unknown_shop",
                None,
                format!("shop `{code}` does not exist"),
            ),
            // No connection came free in time: the batch never started.
            Self::Intake(IntakeError::Shop(ShopError::Db(crate::db::DbError::Pool(error)))) => {
                tracing::error!(%error, "admin request found no free database connection");
                (
                    "unavailable",
                    None,
                    "the database is busy or unavailable; nothing of this request was stored; \
                     retry later"
                        .to_owned(),
                )
            }
            Self::Intake(IntakeError::Shop(ShopError::Db(error))) => {
                tracing::error!(%error, "admin request failed on the database");
                (
                    "unavailable",
                    None,
                    "the database is unavailable; retry later".to_owned(),
                )
            }
        };
        HttpResponse::build(self.status_code()).json(json!({
            "error": kind,
            "field": field,
            "message": message,
        }))
    }
}

/// Checks the bearer token (constant time) and finds the shop.
fn authorize(state: &AppState, request: &HttpRequest, code: &str) -> Result<Shop, AdminError> {
    let expected = state.admin_token.as_ref().ok_or(AdminError::Disabled)?;
    let matches = super::bearer_matches(request, expected);
    if !matches {
        return Err(AdminError::Unauthorized);
    }
    state
        .directory
        .current()
        .shop(code)
        .cloned()
        .ok_or_else(|| AdminError::UnknownShop(code.to_owned()))
}

async fn post(
    state: web::Data<AppState>,
    request: HttpRequest,
    code: web::Path<String>,
    payload: web::Payload,
    kind: DocumentKind,
) -> Result<HttpResponse, AdminError> {
    let shop = authorize(&state, &request, &code)?;
    let body = read_capped(&request, payload, MAX_BODY).await?;
    let counts = intake::ingest(&state.db, &shop, kind, &body, Some(MAX_BATCH)).await?;
    if kind == DocumentKind::Orders {
        crate::metrics::orders_taken(&shop.code, counts.created);
    }
    tracing::info!(shop = %shop.code, ?kind, created = counts.created, updated = counts.updated, "batch stored");
    Ok(HttpResponse::Ok().json(counts))
}

async fn post_products(
    state: web::Data<AppState>,
    request: HttpRequest,
    code: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, AdminError> {
    post(state, request, code, payload, DocumentKind::Products).await
}

async fn post_orders(
    state: web::Data<AppState>,
    request: HttpRequest,
    code: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, AdminError> {
    post(state, request, code, payload, DocumentKind::Orders).await
}

async fn post_refunds(
    state: web::Data<AppState>,
    request: HttpRequest,
    code: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, AdminError> {
    post(state, request, code, payload, DocumentKind::Refunds).await
}

/// Query of every listing.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    page: Option<String>,
    page_size: Option<String>,
    /// Orders only: exact order number.
    #[serde(rename = "PlatOrderNo")]
    plat_order_no: Option<String>,
    /// Orders only: trade status code.
    status: Option<String>,
}

impl ListQuery {
    fn parse(request: &HttpRequest) -> Result<Self, AdminError> {
        let query: Self = serde_urlencoded::from_str(request.query_string()).map_err(|e| {
            AdminError::BadQuery {
                field: "query".to_owned(),
                message: e.to_string(),
            }
        })?;
        // PostgreSQL text cannot hold NUL: refused here, not answered as a database failure.
        for (field, value) in [
            ("page", &query.page),
            ("page_size", &query.page_size),
            ("PlatOrderNo", &query.plat_order_no),
            ("status", &query.status),
        ] {
            if value.as_deref().is_some_and(|text| text.contains('\0')) {
                return Err(AdminError::BadQuery {
                    field: field.to_owned(),
                    message: "contains a NUL character".to_owned(),
                });
            }
        }
        Ok(query)
    }

    fn page(&self) -> Result<Page, AdminError> {
        let number = |field: &str,
                      text: &Option<String>,
                      default: i64,
                      max: i64|
         -> Result<i64, AdminError> {
            let Some(text) = text else { return Ok(default) };
            match text.trim().parse::<i64>() {
                Ok(value) if (1..=max).contains(&value) => Ok(value),
                _ => Err(AdminError::BadQuery {
                    field: field.to_owned(),
                    message: format!("`{text}` is not a number from 1 to {max}"),
                }),
            }
        };
        Ok(Page {
            index: number("page", &self.page, 1, i64::from(i32::MAX))?,
            size: number("page_size", &self.page_size, 50, MAX_PAGE_SIZE)?,
        })
    }

    fn only_paging(&self) -> Result<(), AdminError> {
        for (field, value) in [
            ("PlatOrderNo", &self.plat_order_no),
            ("status", &self.status),
        ] {
            if value.is_some() {
                return Err(AdminError::BadQuery {
                    field: field.to_owned(),
                    message: "filters orders only".to_owned(),
                });
            }
        }
        Ok(())
    }
}

async fn get_products(
    state: web::Data<AppState>,
    request: HttpRequest,
    code: web::Path<String>,
) -> Result<HttpResponse, AdminError> {
    let shop = authorize(&state, &request, &code)?;
    let query = ListQuery::parse(&request)?;
    query.only_paging()?;
    let page = query.page()?;
    let found = state
        .db
        .run(move |conn| products::page(conn, shop.id, &Default::default(), page))
        .await?;
    let items: Vec<GoodsItem> = found
        .items
        .iter()
        .map(|r| GoodsItem::from_record(r, true))
        .collect();
    Ok(HttpResponse::Ok().json(json!({
        "total": found.total, "page": page.index, "page_size": page.size, "products": items,
    })))
}

async fn get_orders(
    state: web::Data<AppState>,
    request: HttpRequest,
    code: web::Path<String>,
) -> Result<HttpResponse, AdminError> {
    let shop = authorize(&state, &request, &code)?;
    let query = ListQuery::parse(&request)?;
    let page = query.page()?;
    let status = match &query.status {
        None => None,
        Some(text) => Some(
            TradeStatus::from_code(text).ok_or_else(|| AdminError::BadQuery {
                field: "status".to_owned(),
                message: format!("`{text}` is not one of {}", TradeStatus::expected()),
            })?,
        ),
    };
    let filter = OrderFilter {
        status,
        window: None,
        plat_order_no: query.plat_order_no.clone(),
    };
    let offset = shop.offset();
    let anchors = state.db.shared::<PageAnchors>();
    let found = state
        .db
        .run(move |conn| orders::page(conn, &anchors, shop.id, &filter, page))
        .await?;
    let items: Vec<OrderItem> = found
        .items
        .into_iter()
        .map(|r| OrderItem::from_record(r, offset, true))
        .collect();
    Ok(HttpResponse::Ok().json(json!({
        "total": found.total, "page": page.index, "page_size": page.size, "orders": items,
    })))
}

async fn get_refunds(
    state: web::Data<AppState>,
    request: HttpRequest,
    code: web::Path<String>,
) -> Result<HttpResponse, AdminError> {
    let shop = authorize(&state, &request, &code)?;
    let query = ListQuery::parse(&request)?;
    query.only_paging()?;
    let page = query.page()?;
    let offset = shop.offset();
    let found = state
        .db
        .run(move |conn| refunds::page(conn, shop.id, None, page))
        .await?;
    let items: Vec<RefundItem> = found
        .items
        .iter()
        .map(|r| RefundItem::from_record(r, offset))
        .collect();
    Ok(HttpResponse::Ok().json(json!({
        "total": found.total, "page": page.index, "page_size": page.size, "refunds": items,
    })))
}
