//! A fake Jushuitan for the tests: both API generations, every signature checked with
//! this file's own md5 code, answers shaped like the real service's, and a script of
//! failures (rate limit, expired token, garbage, server error) to play.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use actix_web::{web, HttpRequest, HttpResponse};
use md5::{Digest, Md5};
use serde_json::{json, Value};

use crate::fake_server::{after_stall, serve};

/// Which generation the fake speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FakeApi {
    /// `/open/...` with form parameters.
    Open,
    /// `/api/open/query.aspx?method=…` with a JSON body.
    Legacy,
}

/// A failure to play instead of the next answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scripted {
    /// Code 199.
    RateLimit,
    /// Code 100 (open API).
    TokenExpired,
    /// HTTP 200 with an HTML body.
    Garbage,
    /// HTTP 502.
    ServerError,
}

/// A waybill: tracking number and carrier, as Jushuitan reports them.
#[derive(Debug, Clone)]
pub struct Waybill {
    /// Tracking number.
    pub l_id: String,
    /// Logistics company code (Jushuitan's `lc_id`, e.g. `SF`).
    pub lc_id: String,
    /// Logistics company name.
    pub logistics_company: String,
}

impl Waybill {
    /// A waybill of this tracking number, carrier code and carrier name.
    pub fn new(l_id: &str, lc_id: &str, logistics_company: &str) -> Self {
        Self {
            l_id: l_id.to_owned(),
            lc_id: lc_id.to_owned(),
            logistics_company: logistics_company.to_owned(),
        }
    }
}

/// A parcel of a split order: Jushuitan's child order with its own status, waybill and
/// items (outer_oi_id, sku_id, qty).
#[derive(Debug, Clone)]
pub struct FakeParcel {
    /// Its ERP status (Sent once it left the warehouse).
    pub status: String,
    /// Its waybill.
    pub waybill: Waybill,
    /// (outer_oi_id, sku_id, qty); an empty outer_oi_id is how Jushuitan reports an item
    /// it added or re-coded itself.
    pub items: Vec<(String, String, i64)>,
}

/// What the fake accepts, received, and will answer.
#[derive(Debug)]
pub struct FakeState {
    pub api: FakeApi,
    pub app_key: String,
    pub app_secret: String,
    pub access_token: String,
    pub refresh_token: String,
    pub partner_id: String,
    pub partner_key: String,
    pub token: String,
    /// Every order accepted by orders.upload, in arrival order.
    pub uploaded: Vec<Value>,
    /// orders.upload calls that passed the sign check.
    pub upload_calls: usize,
    /// Requests refused for a wrong sign.
    pub bad_signs: usize,
    /// Successful token refreshes.
    pub refreshes: usize,
    /// Legacy API: the token has timed out and answers so until renewed.
    pub legacy_token_timed_out: bool,
    /// Legacy API: refresh.token calls.
    pub legacy_refreshes: usize,
    /// Legacy API: how long after refresh.token the token works again ("过几分钟后生效").
    pub legacy_refresh_delay: std::time::Duration,
    /// Legacy API: when the renewed token works again.
    pub legacy_valid_from: Option<std::time::Instant>,
    /// orders.upload refuses these so_ids.
    pub reject_so_ids: HashSet<String>,
    /// Played one per request before normal handling.
    pub script: VecDeque<Scripted>,
    /// sku_id → (qty, order_lock).
    pub inventory: HashMap<String, (i64, i64)>,
    /// After-sale records answered by refund.single.query, each with its `shop_id`.
    pub refunds: Vec<Value>,
    /// The orders as Jushuitan holds them, by (shop_id, so_id): one order per shop and
    /// online number (FAQ 4 and 12), so two shops may hold the same so_id.
    pub orders: HashMap<(i64, String), ErpOrder>,
    /// Every well-signed open-API call: its path and when it arrived.
    pub calls: Vec<(String, std::time::Instant)>,
    /// Each order or after-sale record a query by window answers is changed again at once
    /// (its modified moves to now), as the upload of a shipment the shop recorded does,
    /// or a person handling after-sales in Jushuitan, while a run reads on: it leaves the
    /// window, and the records after it move back a place.
    pub change_what_windows_answer: bool,
    /// The `biz` of every orders.single.query answered (either generation), and when.
    pub order_queries: Vec<(Value, std::time::Instant)>,
    /// The next orders.upload is taken but answered only after this long (a slow
    /// Jushuitan, so a caller can be killed in the middle of its call).
    pub stall_next_upload: Option<std::time::Duration>,
    /// The hold of the answer being made.
    stalling: Option<std::time::Duration>,
}

/// An order as Jushuitan holds it after an upload.
#[derive(Debug, Clone)]
pub struct ErpOrder {
    /// Jushuitan's internal number.
    pub o_id: i64,
    /// Its ERP status: WaitPay, WaitConfirm, Delivering, Sent, Question, Cancelled…
    pub status: String,
    /// The waybill, once one is printed (it is, before the order is Sent).
    pub waybill: Option<Waybill>,
    /// The parcels it was split into; the order itself is then `Split`.
    pub parcels: Vec<FakeParcel>,
    /// The order as last uploaded.
    pub uploaded: Value,
    /// When Jushuitan last changed it (China time, as its `modified`): an upload, a new
    /// status, a split.
    pub modified: chrono::NaiveDateTime,
}

/// Jushuitan's clock: China time, whole seconds.
fn china_now() -> chrono::NaiveDateTime {
    use chrono::Timelike;
    let now = chrono::Utc::now().naive_utc() + chrono::Duration::hours(8);
    now.with_nanosecond(0).unwrap_or(now)
}

/// Jushuitan's time format.
const TIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// The running fake.
pub struct FakeJushuitan {
    /// Where it listens.
    pub base_url: String,
    state: Arc<Mutex<FakeState>>,
    handle: actix_web::dev::ServerHandle,
}

impl Drop for FakeJushuitan {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

fn md5_hex(text: &str) -> String {
    Md5::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The open API sign: secret, then every parameter but sign as key+value, sorted by key.
fn open_sign(secret: &str, params: &HashMap<String, String>) -> String {
    let mut keys: Vec<&String> = params.keys().filter(|k| k.as_str() != "sign").collect();
    keys.sort();
    let mut text = secret.to_owned();
    for key in keys {
        text += key;
        text += &params[key];
    }
    md5_hex(&text)
}

fn legacy_sign(method: &str, partner: &str, token: &str, ts: &str, key: &str) -> String {
    md5_hex(&format!("{method}{partner}token{token}ts{ts}{key}"))
}

fn cents(value: &Value) -> Option<i64> {
    let number = match value {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.parse().ok()?,
        _ => return None,
    };
    Some((number * 100.0).round() as i64)
}

const STATUSES: [&str; 5] = [
    "WAIT_BUYER_PAY",
    "WAIT_SELLER_SEND_GOODS",
    "WAIT_BUYER_CONFIRM_GOODS",
    "TRADE_FINISHED",
    "TRADE_CLOSED",
];

/// Why the real service would refuse this order, if it would.
fn refusal(order: &Value) -> Option<String> {
    for field in ["shop_id", "so_id", "order_date", "shop_status"] {
        if order.get(field).is_none_or(|v| v.is_null() || v == "") {
            return Some(format!("{field} 不能为空"));
        }
    }
    let status = order["shop_status"].as_str().unwrap_or_default();
    if !STATUSES.contains(&status) {
        return Some(format!("shop_status {status} 无效"));
    }
    let items = order["items"]
        .as_array()
        .filter(|items| !items.is_empty())?;
    let total: Option<i64> = items.iter().map(|item| cents(&item["amount"])).sum();
    let freight = cents(&order["freight"]).unwrap_or(0);
    if total.map(|t| t + freight) != cents(&order["pay_amount"]) {
        return Some("商品金额+运费不等于应付金额".to_owned());
    }
    if items
        .iter()
        .any(|item| cents(&item["amount"]).is_none_or(|amount| amount < 0))
    {
        return Some("商品金额不能为负".to_owned());
    }
    None
}

/// The ERP status an upload leaves the order in. A paid shop status counts as paid only
/// with a `pay` node whose amount equals `pay_amount`; otherwise the order lands as
/// unpaid (FAQ 10 and 15). An order already past review keeps its status.
fn status_after_upload(order: &Value, before: Option<&str>) -> String {
    let paid = order["pay"].is_object()
        && cents(&order["pay"]["amount"]).is_some()
        && cents(&order["pay"]["amount"]) == cents(&order["pay_amount"]);
    let target = match order["shop_status"].as_str().unwrap_or_default() {
        "TRADE_CLOSED" => "Cancelled",
        "WAIT_BUYER_PAY" => "WaitPay",
        _ if paid => "WaitConfirm",
        _ => "WaitPay",
    };
    match before {
        Some(status) if !matches!(status, "WaitPay" | "WaitConfirm") => status.to_owned(),
        _ => target.to_owned(),
    }
}

impl FakeState {
    /// orders.upload: each order accepted or refused on its own.
    pub fn upload(&mut self, orders: &[Value]) -> Vec<Value> {
        self.upload_calls += 1;
        orders
            .iter()
            .map(|order| {
                let so_id = order["so_id"].as_str().unwrap_or_default().to_owned();
                let refused = if order["items"].as_array().is_none_or(|i| i.is_empty()) {
                    Some("items 不能为空".to_owned())
                } else if self.reject_so_ids.contains(&so_id) {
                    Some("店铺商品未匹配".to_owned())
                } else {
                    refusal(order)
                };
                if let Some(msg) = refused {
                    return json!({"so_id": so_id, "o_id": 0, "issuccess": false, "msg": msg});
                }
                let shop_id = order["shop_id"].as_i64().unwrap_or_default();
                let next = self.orders.len() as i64 + 1;
                let held = self
                    .orders
                    .entry((shop_id, so_id.clone()))
                    .or_insert(ErpOrder {
                        o_id: next,
                        status: String::new(),
                        waybill: None,
                        parcels: Vec::new(),
                        uploaded: Value::Null,
                        modified: china_now(),
                    });
                let before = (!held.status.is_empty()).then_some(held.status.as_str());
                held.status = status_after_upload(order, before);
                held.uploaded = order.clone();
                held.modified = china_now();
                let o_id = held.o_id;
                self.uploaded.push(order.clone());
                json!({"so_id": so_id, "o_id": o_id, "issuccess": true, "msg": ""})
            })
            .collect()
    }

    /// orders.single.query: the orders of these so_ids, or those Jushuitan changed in a
    /// window of modified times (at most 7 days; one of the two is required), in one
    /// status when the query names one, of `shop_id` when the query names one and of every
    /// shop otherwise; a split order is answered as itself (status Split) and one order
    /// per parcel. Paged like the real service: at most 50 a page, with `data_count`.
    fn query_orders(&mut self, biz: &Value) -> Result<Value, String> {
        self.order_queries
            .push((biz.clone(), std::time::Instant::now()));
        let so_ids: Vec<&str> = biz["so_ids"]
            .as_array()
            .map(|ids| ids.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if so_ids.len() > 50 {
            return Err("so_ids 最多50个".to_owned());
        }
        let window = modified_window(biz)?;
        if window.is_none() && so_ids.is_empty() {
            return Err("so_ids 和 modified_begin/modified_end 不能同时为空".to_owned());
        }
        let status = biz["status"].as_str();
        let shop = biz["shop_id"].as_i64();
        let mut keys: Vec<&(i64, String)> = self
            .orders
            .iter()
            .filter(|((shop_id, so_id), held)| {
                (so_ids.is_empty() || so_ids.contains(&so_id.as_str()))
                    && window
                        .is_none_or(|(begin, end)| held.modified >= begin && held.modified <= end)
                    && shop.is_none_or(|wanted| wanted == *shop_id)
            })
            .map(|(key, _)| key)
            .collect();
        keys.sort_by_key(|key| (self.orders[*key].modified, self.orders[*key].o_id));
        let mut rows = Vec::new();
        for key in keys {
            let held = &self.orders[key];
            let items = |list: Vec<(String, String, i64)>| -> Vec<Value> {
                list.into_iter()
                    .enumerate()
                    .map(|(i, (outer_oi_id, sku_id, qty))| {
                        json!({"oi_id": held.o_id * 100 + i as i64, "outer_oi_id": outer_oi_id,
                               "sku_id": sku_id, "qty": qty})
                    })
                    .collect()
            };
            let uploaded_items: Vec<(String, String, i64)> = held.uploaded["items"]
                .as_array()
                .map(|list| {
                    list.iter()
                        .map(|item| {
                            (
                                item["outer_oi_id"].as_str().unwrap_or_default().to_owned(),
                                item["sku_id"].as_str().unwrap_or_default().to_owned(),
                                item["qty"].as_i64().unwrap_or_default(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            let waybill = held.waybill.clone().unwrap_or(Waybill::new("", "", ""));
            let modified = held.modified.format(TIME_FORMAT).to_string();
            rows.push(json!({"so_id": key.1, "o_id": held.o_id, "shop_id": key.0,
                "status": if held.parcels.is_empty() { held.status.as_str() } else { "Split" },
                "l_id": waybill.l_id, "lc_id": waybill.lc_id, "logistics_company": waybill.logistics_company,
                "modified": modified, "items": items(uploaded_items)}));
            for (n, parcel) in held.parcels.iter().enumerate() {
                rows.push(json!({"so_id": key.1, "o_id": held.o_id * 1_000 + n as i64 + 1, "shop_id": key.0,
                    "status": parcel.status, "l_id": parcel.waybill.l_id, "lc_id": parcel.waybill.lc_id,
                    "logistics_company": parcel.waybill.logistics_company, "modified": modified,
                    "items": items(parcel.items.clone())}));
            }
        }
        if let Some(status) = status {
            rows.retain(|row| row["status"] == status);
        }
        let (page, answer) = one_page(rows, biz, "orders");
        if window.is_some() && self.change_what_windows_answer {
            for row in &page {
                let key = (
                    row["shop_id"].as_i64().unwrap_or_default(),
                    row["so_id"].as_str().unwrap_or_default().to_owned(),
                );
                if let Some(held) = self.orders.get_mut(&key) {
                    held.modified = china_now();
                }
            }
        }
        Ok(answer)
    }

    /// Moves a shop's order to `status`, with a waybill when one is printed.
    pub fn set_status(
        &mut self,
        shop_id: i64,
        so_id: &str,
        status: &str,
        waybill: Option<Waybill>,
    ) {
        let held = self
            .orders
            .get_mut(&(shop_id, so_id.to_owned()))
            .unwrap_or_else(|| panic!("{so_id} was not uploaded by shop {shop_id}"));
        held.status = status.to_owned();
        held.waybill = waybill;
        held.modified = china_now();
    }

    /// Sets when Jushuitan last changed a shop's order to `ago` before now.
    pub fn changed_ago(&mut self, shop_id: i64, so_id: &str, ago: chrono::Duration) {
        let held = self
            .orders
            .get_mut(&(shop_id, so_id.to_owned()))
            .unwrap_or_else(|| panic!("{so_id} was not uploaded by shop {shop_id}"));
        held.modified = china_now() - ago;
    }

    /// Splits a shop's order into these parcels (replacing earlier ones).
    pub fn split(&mut self, shop_id: i64, so_id: &str, parcels: Vec<FakeParcel>) {
        let held = self
            .orders
            .get_mut(&(shop_id, so_id.to_owned()))
            .unwrap_or_else(|| panic!("{so_id} was not uploaded by shop {shop_id}"));
        held.parcels = parcels;
        held.modified = china_now();
    }

    /// The ERP status of a shop's order, if it was uploaded.
    pub fn status_of(&self, shop_id: i64, so_id: &str) -> Option<String> {
        self.orders
            .get(&(shop_id, so_id.to_owned()))
            .map(|held| held.status.clone())
    }

    fn inventory(&self, skus: &str) -> Result<Vec<Value>, String> {
        let wanted: Vec<&str> = skus.split(',').filter(|s| !s.is_empty()).collect();
        if wanted.len() > 100 {
            return Err("sku_ids 最多100个".to_owned());
        }
        Ok(wanted
            .into_iter()
            .filter_map(|sku| self.inventory.get(sku).map(|(qty, lock)| (sku, qty, lock)))
            .map(|(sku, qty, lock)| json!({"sku_id": sku, "qty": qty, "order_lock": lock, "pick_lock": 0}))
            .collect())
    }

    /// refund.single.query: the after-sale records changed in a window (at most 7 days,
    /// required), of `shop_id` when the query names one (seed 002) and of every shop
    /// otherwise, by modified time; paged like orders.single.query.
    fn refunds_in(&mut self, biz: &Value) -> Result<Value, String> {
        let (begin, end) =
            modified_window(biz)?.ok_or_else(|| "modified_begin 不能为空".to_owned())?;
        let shop = biz["shop_id"].as_i64();
        let modified = |record: &Value| {
            chrono::NaiveDateTime::parse_from_str(
                record["modified"].as_str().unwrap_or_default(),
                TIME_FORMAT,
            )
            .ok()
        };
        let mut rows: Vec<Value> = self
            .refunds
            .iter()
            .filter(|record| shop.is_none_or(|wanted| record["shop_id"].as_i64() == Some(wanted)))
            .filter(|record| modified(record).is_some_and(|at| at >= begin && at <= end))
            .cloned()
            .collect();
        rows.sort_by_key(|record| (modified(record), record["as_id"].to_string()));
        let (page, answer) = one_page(rows, biz, "datas");
        if self.change_what_windows_answer {
            let now = china_now().format(TIME_FORMAT).to_string();
            for record in self.refunds.iter_mut() {
                if page
                    .iter()
                    .any(|answered| answered["as_id"] == record["as_id"])
                {
                    record["modified"] = json!(now);
                }
            }
        }
        Ok(answer)
    }
}

/// Page `page_index` (from 1) of `rows`, `page_size` a page and at most 50, as Jushuitan
/// answers it: the rows under `list`, with `data_count`, `page_count` and `has_next`.
fn one_page(rows: Vec<Value>, biz: &Value, list: &str) -> (Vec<Value>, Value) {
    let size = biz["page_size"].as_u64().unwrap_or(30).clamp(1, 50) as usize;
    let index = biz["page_index"].as_u64().unwrap_or(1).max(1) as usize;
    let total = rows.len();
    let page: Vec<Value> = rows
        .into_iter()
        .skip((index - 1) * size)
        .take(size)
        .collect();
    let mut answer = json!({"page_index": index, "page_size": size, "data_count": total,
                            "page_count": total.div_ceil(size), "has_next": index * size < total});
    answer[list] = json!(page);
    (page, answer)
}

/// The window of modified times a query names, if it names one: both ends in
/// Jushuitan's format, at most 7 days apart.
fn modified_window(
    biz: &Value,
) -> Result<Option<(chrono::NaiveDateTime, chrono::NaiveDateTime)>, String> {
    let (begin, end) = match (biz.get("modified_begin"), biz.get("modified_end")) {
        (None, None) => return Ok(None),
        (Some(begin), Some(end)) => (begin, end),
        _ => return Err("modified_begin 和 modified_end 必须同时传".to_owned()),
    };
    let parse = |value: &Value, name: &str| {
        chrono::NaiveDateTime::parse_from_str(value.as_str().unwrap_or_default(), TIME_FORMAT)
            .map_err(|_| format!("{name} 格式错误"))
    };
    let (begin, end) = (parse(begin, "modified_begin")?, parse(end, "modified_end")?);
    if end < begin || end - begin > chrono::Duration::days(7) {
        return Err("时间间隔不能超过7天".to_owned());
    }
    Ok(Some((begin, end)))
}

fn json_answer(body: Value) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(body.to_string())
}

/// Plays the next scripted failure, if any.
fn scripted(state: &mut FakeState) -> Option<HttpResponse> {
    let legacy = state.api == FakeApi::Legacy;
    match state.script.pop_front()? {
        Scripted::RateLimit => Some(json_answer(if legacy {
            json!({"code": 199, "msg": "请求过于频繁", "issuccess": false})
        } else {
            json!({"code": 199, "msg": "请求过于频繁"})
        })),
        Scripted::TokenExpired if legacy => {
            // The legacy token times out until refresh.token renews it (seed FAQ 3).
            state.legacy_token_timed_out = true;
            state.legacy_valid_from = None;
            None
        }
        Scripted::TokenExpired => {
            state.access_token = format!("{}-expired", state.access_token);
            Some(json_answer(
                json!({"code": 100, "msg": "access_token已过期"}),
            ))
        }
        Scripted::Garbage => Some(
            HttpResponse::Ok()
                .content_type("text/html")
                .body("<html>oops</html>"),
        ),
        Scripted::ServerError => Some(HttpResponse::BadGateway().finish()),
    }
}

async fn open(
    state: web::Data<Arc<Mutex<FakeState>>>,
    request: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let (answer, stall) = {
        let mut state = state.lock().expect("state");
        let answer = open_answer(&mut state, &request, &body);
        (answer, state.stalling.take())
    };
    after_stall(answer, stall).await
}

fn open_answer(state: &mut FakeState, request: &HttpRequest, body: &[u8]) -> HttpResponse {
    let params: HashMap<String, String> = serde_urlencoded::from_bytes(body).unwrap_or_default();
    if let Some(answer) = scripted(state) {
        return answer;
    }
    if params.get("sign").map(String::as_str)
        != Some(open_sign(&state.app_secret, &params).as_str())
        || params.get("app_key") != Some(&state.app_key)
    {
        state.bad_signs += 1;
        return json_answer(json!({"code": 10, "msg": "签名错误", "data": null}));
    }
    let path = request.path().to_owned();
    state.calls.push((path.clone(), std::time::Instant::now()));
    if path == "/openWeb/auth/refreshToken" {
        if params.get("refresh_token") != Some(&state.refresh_token)
            || params.get("grant_type").map(String::as_str) != Some("refresh_token")
        {
            return json_answer(json!({"code": 1, "msg": "refresh_token无效"}));
        }
        state.refreshes += 1;
        let n = state.refreshes + 1;
        state.access_token = format!("at-{n}");
        state.refresh_token = format!("rt-{n}");
        return json_answer(json!({"code": 0, "msg": "success", "data": {
            "access_token": state.access_token, "refresh_token": state.refresh_token, "expires_in": 2_592_000, "scope": "all"}}));
    }
    if params.get("access_token") != Some(&state.access_token) {
        return json_answer(json!({"code": 100, "msg": "access_token已过期"}));
    }
    let biz: Value = serde_json::from_str(params.get("biz").map(String::as_str).unwrap_or("null"))
        .unwrap_or(Value::Null);
    let data = match path.as_str() {
        "/open/jushuitan/orders/upload" => {
            let orders = biz
                .as_array()
                .cloned()
                .or_else(|| biz["orders"].as_array().cloned())
                .unwrap_or_default();
            let datas = state.upload(&orders);
            state.stalling = state.stall_next_upload.take();
            json!({"datas": datas})
        }
        "/open/orders/single/query" => match state.query_orders(&biz) {
            Ok(page) => page,
            Err(msg) => return json_answer(json!({"code": 1, "msg": msg})),
        },
        "/open/inventory/query" => {
            match state.inventory(biz["sku_ids"].as_str().unwrap_or_default()) {
                Ok(rows) => json!({"inventorys": rows}),
                Err(msg) => return json_answer(json!({"code": 1, "msg": msg})),
            }
        }
        "/open/refund/single/query" => match state.refunds_in(&biz) {
            Ok(page) => page,
            Err(msg) => return json_answer(json!({"code": 1, "msg": msg})),
        },
        _ => return json_answer(json!({"code": 404, "msg": "unknown path"})),
    };
    json_answer(json!({"code": 0, "msg": "执行成功", "data": data}))
}

async fn legacy(
    state: web::Data<Arc<Mutex<FakeState>>>,
    request: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let query: HashMap<String, String> =
        serde_urlencoded::from_str(request.query_string()).unwrap_or_default();
    let mut state = state.lock().expect("state");
    if let Some(answer) = scripted(&mut state) {
        return answer;
    }
    let get = |k: &str| query.get(k).cloned().unwrap_or_default();
    let method = get("method");
    let expected = legacy_sign(
        &method,
        &state.partner_id,
        &state.token,
        &get("ts"),
        &state.partner_key,
    );
    if get("sign") != expected
        || get("partnerid") != state.partner_id
        || get("token") != state.token
    {
        state.bad_signs += 1;
        return json_answer(json!({"code": -1, "msg": "签名错误", "issuccess": false}));
    }
    if method == "refresh.token" {
        state.legacy_refreshes += 1;
        state.legacy_valid_from = Some(std::time::Instant::now() + state.legacy_refresh_delay);
        return json_answer(json!({"code": 0, "issuccess": true, "msg": "执行成功"}));
    }
    if state.legacy_token_timed_out {
        if state
            .legacy_valid_from
            .is_some_and(|from| std::time::Instant::now() >= from)
        {
            state.legacy_token_timed_out = false;
        } else {
            return json_answer(json!({"code": -1, "issuccess": false, "msg": "token已超时"}));
        }
    }
    let biz: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let answer = match method.as_str() {
        "jushuitan.orders.upload" => {
            let orders = biz.as_array().cloned().unwrap_or_default();
            json!({"code": 0, "issuccess": true, "msg": null, "datas": state.upload(&orders)})
        }
        "orders.single.query" => match state.query_orders(&biz) {
            Ok(mut page) => {
                page["code"] = json!(0);
                page["issuccess"] = json!(true);
                page
            }
            Err(msg) => json!({"code": 1, "issuccess": false, "msg": msg}),
        },
        "inventory.query" => match state.inventory(biz["sku_ids"].as_str().unwrap_or_default()) {
            Ok(rows) => json!({"code": 0, "issuccess": true, "inventorys": rows}),
            Err(msg) => json!({"code": 1, "issuccess": false, "msg": msg}),
        },
        "refund.single.query" => match state.refunds_in(&biz) {
            Ok(mut page) => {
                page["code"] = json!(0);
                page["issuccess"] = json!(true);
                page
            }
            Err(msg) => json!({"code": 1, "issuccess": false, "msg": msg}),
        },
        _ => json!({"code": 404, "issuccess": false, "msg": "unknown method"}),
    };
    json_answer(answer)
}

impl FakeJushuitan {
    /// Starts a fake on a free port.
    pub async fn start(api: FakeApi) -> Self {
        let state = Arc::new(Mutex::new(FakeState {
            api,
            app_key: "app".to_owned(),
            app_secret: "secret".to_owned(),
            access_token: "at-1".to_owned(),
            refresh_token: "rt-1".to_owned(),
            partner_id: "pid".to_owned(),
            partner_key: "pkey".to_owned(),
            token: "tok".to_owned(),
            uploaded: Vec::new(),
            upload_calls: 0,
            bad_signs: 0,
            refreshes: 0,
            legacy_token_timed_out: false,
            legacy_refreshes: 0,
            legacy_refresh_delay: std::time::Duration::ZERO,
            legacy_valid_from: None,
            reject_so_ids: HashSet::new(),
            script: VecDeque::new(),
            inventory: HashMap::new(),
            refunds: Vec::new(),
            orders: HashMap::new(),
            calls: Vec::new(),
            order_queries: Vec::new(),
            change_what_windows_answer: false,
            stall_next_upload: None,
            stalling: None,
        }));
        let data = web::Data::new(state.clone());
        let (port, handle) = serve(move |routes| {
            routes
                .app_data(data.clone())
                .route("/api/open/query.aspx", web::post().to(legacy))
                .default_service(web::post().to(open));
        });
        Self {
            base_url: format!("http://127.0.0.1:{port}"),
            state,
            handle,
        }
    }

    /// The fake's state, to script it or read what arrived.
    pub fn state(&self) -> MutexGuard<'_, FakeState> {
        self.state.lock().expect("state")
    }
}

#[test]
fn the_fake_signs_the_spec_vectors() {
    let params: HashMap<String, String> = [
        ("timestamp", "100"),
        ("app_key", "app"),
        ("charset", "utf-8"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(
        open_sign("secret", &params),
        "706427ca94e342781ac36d501151cb10"
    );
    assert_eq!(
        legacy_sign(
            "shops.query",
            "ywv5jGT8ge6Pvlq3FZSPol345asd",
            "181ee8952a88f5a57db52587472c3798",
            "1608000837",
            "ywv5jGT8ge6Pvlq3FZSPol2323"
        ),
        "403697654caffbbfe21a841782b6af8f"
    );
}
