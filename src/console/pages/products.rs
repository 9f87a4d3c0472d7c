//! Products and stock: a search; a product's stock levels with where each last change
//! came from; operators set a level (recorded as the console's change, with its audit
//! entry in the same transaction).

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::{chosen_shop, chrome, render, shop_and_key, shops};
use crate::console::auth::{state_of, Posted, Signed};
use crate::console::done;
use crate::console::error::ConsoleError;
use crate::console::form::{clip, Form};
use crate::console::view::Chrome;
use crate::db::write_transaction;
use crate::operators::audit::{self, Action, Entry};
use crate::operators::Role;
use crate::reports::products as report;
use crate::shop::stock::{self, ProductKey, StockChange, StockSource, StockTarget, MAX_QUANTITY};

/// Products on one page.
const PAGE_SIZE: i64 = 50;
/// Deepest page.
const MAX_PAGE: i64 = 1_000;
/// Longest search text and product or SKU id.
const MAX_TEXT: usize = 100;

struct ProductRow {
    id: String,
    name: String,
    code: String,
    skus: usize,
    stock: i64,
    sale: &'static str,
}

#[derive(Template)]
#[template(path = "console/products.html")]
struct ProductsPage {
    chrome: Chrome,
    shops: Vec<(String, bool)>,
    shop: String,
    q: String,
    rows: Vec<ProductRow>,
    next_href: Option<String>,
}

/// `GET /console/products`
pub async fn list(request: HttpRequest, signed: Signed) -> Result<HttpResponse, ConsoleError> {
    let state = state_of(&request)?;
    let query = Form::parse(request.query_string().as_bytes())?;
    let all_shops = shops(&state);
    let shop = match chosen_shop(&state, &query, "shop")? {
        Some(shop) => Some(shop),
        None => all_shops.first().cloned(),
    };
    let q = query.text("q", MAX_TEXT)?.map(str::to_owned);
    let page = query.number("page", 1..=MAX_PAGE)?.unwrap_or(1);
    let chrome = chrome(
        &request,
        &state,
        &signed,
        "/console/products",
        "products.title",
    );
    let mut rows = Vec::new();
    let mut next_href = None;
    if let Some(shop) = &shop {
        let (shop_id, text) = (shop.id, q.clone());
        let mut found = state
            .db
            .run(move |conn| {
                report::search(
                    conn,
                    shop_id,
                    text.as_deref(),
                    (page - 1) * PAGE_SIZE,
                    PAGE_SIZE + 1,
                )
            })
            .await?;
        if found.len() as i64 > PAGE_SIZE && page < MAX_PAGE {
            found.truncate(PAGE_SIZE as usize);
            let mut next = form_urlencoded::Serializer::new(String::new());
            next.append_pair("shop", &shop.code);
            if let Some(q) = &q {
                next.append_pair("q", q);
            }
            next.append_pair("page", &(page + 1).to_string());
            next_href = Some(format!("/console/products?{}", next.finish()));
        }
        rows = found
            .into_iter()
            .map(|product| ProductRow {
                id: product.plat_product_id,
                name: product.name,
                code: product.outer_id,
                skus: product.sku_count,
                stock: product.quantity,
                sale: chrome.t(if product.on_sale {
                    "products.on_sale"
                } else {
                    "products.off_sale"
                }),
            })
            .collect();
    }
    let shop_code = shop.map(|shop| shop.code).unwrap_or_default();
    let page = ProductsPage {
        shops: all_shops
            .iter()
            .map(|s| (s.code.clone(), s.code == shop_code))
            .collect(),
        shop: shop_code,
        q: q.unwrap_or_default(),
        rows,
        next_href,
        chrome,
    };
    render(&page)
}

struct LineRow {
    sku_id: Option<String>,
    sku: String,
    spec: String,
    code: String,
    quantity: i64,
    source: String,
    changed: String,
}

#[derive(Template)]
#[template(path = "console/product.html")]
struct ProductPage {
    chrome: Chrome,
    shop: String,
    id: String,
    name: String,
    code: String,
    lines: Vec<LineRow>,
}

/// `GET /console/products/{shop}/{product}`
pub async fn detail(
    request: HttpRequest,
    signed: Signed,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ConsoleError> {
    let state = state_of(&request)?;
    let (shop, product) = shop_and_key(&state, path.into_inner(), "product", MAX_TEXT)?;
    let (shop_id, wanted) = (shop.id, product.clone());
    let found = state
        .db
        .run(move |conn| report::stock_of(conn, shop_id, &wanted))
        .await?
        .ok_or_else(|| ConsoleError::NotFound(format!("product `{}`", clip(&product))))?;
    let chrome = chrome(
        &request,
        &state,
        &signed,
        "/console/products",
        "product.title",
    );
    let lines = found
        .lines
        .into_iter()
        .map(|line| LineRow {
            sku: line
                .sku_id
                .clone()
                .unwrap_or_else(|| chrome.t("product.whole").to_owned()),
            sku_id: line.sku_id,
            spec: line.spec,
            code: line.outer_id,
            quantity: line.quantity,
            source: if line.source.is_empty() {
                chrome.t("source.none").to_owned()
            } else {
                chrome.code_label("source", &line.source)
            },
            changed: chrome.time_or_dash(line.changed_at),
        })
        .collect();
    let page = ProductPage {
        shop: shop.code,
        id: found.plat_product_id,
        name: found.name,
        code: found.outer_id,
        lines,
        chrome,
    };
    render(&page)
}

/// `POST /console/stock`: sets one stock level.
pub async fn set_stock(request: HttpRequest, posted: Posted) -> Result<HttpResponse, ConsoleError> {
    let state = state_of(&request)?;
    posted.signed.require(Role::Operator)?;
    let form = &posted.form;
    let shop = chosen_shop(&state, form, "shop")?
        .ok_or_else(|| ConsoleError::invalid("shop", "is required"))?;
    let product = form
        .text("product", MAX_TEXT)?
        .ok_or_else(|| ConsoleError::invalid("product", "is required"))?
        .to_owned();
    let sku = form.text("sku", MAX_TEXT)?.map(str::to_owned);
    let quantity = form
        .number("quantity", 0..=MAX_QUANTITY)?
        .ok_or_else(|| ConsoleError::invalid("quantity", "is required"))?;
    let actor = posted.signed.operator.name.clone();
    let shop_id = shop.id;
    let target = StockTarget {
        product: ProductKey::PlatProductId(product.clone()),
        sku_id: sku.clone(),
        out_sku_id: None,
    };
    let subject = match &sku {
        Some(sku) => format!("{product} / {sku}"),
        None => product.clone(),
    };
    let after = state
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| {
                let after = stock::sync_within(
                    conn,
                    shop_id,
                    &target,
                    StockChange::Set(quantity),
                    StockSource::Console,
                )?;
                audit::record(
                    conn,
                    &Entry::new(&actor, Action::StockSet, &subject)
                        .shop(shop_id)
                        .detail(&after.to_string()),
                )?;
                Ok::<_, ConsoleError>(after)
            })
        })
        .await?;
    let back = format!(
        "/console/products/{}/{}",
        segment(&shop.code),
        segment(&product)
    );
    Ok(done(&back, "stock_set", after))
}

/// Percent-encodes a path segment.
fn segment(text: &str) -> String {
    askama::filters::urlencode_strict(text)
        .map(|encoded| encoded.to_string())
        .unwrap_or_default()
}
