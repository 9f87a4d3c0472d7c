//! A fake 金蝶云星空 (Kingdee K/3 Cloud) WebAPI for the tests: the password and the
//! third-party app login, the session cookie every later call must carry, and
//! BatchSave of `SAL_RETURNSTOCK` bills. It checks the form id, the save options, the
//! fields a sales return needs, and that quantities and prices reconcile with the
//! return it was told about; it answers success, "already exists" for a bill number it
//! holds, validation errors, a lost session and garbage, and plays a script of failures.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use crate::fake_server::{after_stall, serve};

/// Where the fake's WebAPI lives under its address, as on a real server.
const SITE: &str = "/k3cloud/";

/// A failure to play instead of the next BatchSave's normal answer (the next login's,
/// for [`Scripted::EchoLogin`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scripted {
    /// The next login is answered with its own request as an HTML page (a broken proxy).
    EchoLogin,
    /// Every session is dropped first, so the call answers "会话信息已丢失".
    ExpireSession,
    /// HTTP 200 with an HTML body.
    Garbage,
    /// HTTP 500.
    ServerError,
    /// HTTP 200 with a body of several megabytes.
    Huge,
}

/// A line of a return the fake was told about: material, quantity and amount in fen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToldLine {
    pub material: String,
    pub qty: i64,
    pub amount: i64,
}

impl ToldLine {
    pub fn new(material: &str, qty: i64, amount: i64) -> Self {
        Self {
            material: material.to_owned(),
            qty,
            amount,
        }
    }
}

/// A bill the fake saved.
#[derive(Debug, Clone)]
pub struct SavedBill {
    pub id: i64,
    pub model: Value,
}

/// What the fake accepts, received, and will answer.
#[derive(Debug)]
pub struct FakeState {
    pub acct_id: String,
    pub username: String,
    pub password: String,
    pub app_id: String,
    pub app_secret: String,
    /// Live session ids (the `kdservice-sessionid` cookie).
    pub sessions: HashSet<String>,
    /// Successful logins by ValidateUser.
    pub password_logins: usize,
    /// Successful logins by LoginByAppSecret.
    pub app_logins: usize,
    /// Refused logins.
    pub refused_logins: usize,
    /// BatchSave calls with a live session.
    pub save_calls: usize,
    /// BatchSave calls answered "session lost".
    pub lost_sessions: usize,
    /// Bills saved, by bill number.
    pub saved: BTreeMap<String, SavedBill>,
    /// Bills answered "already exists", by bill number, in arrival order.
    pub duplicates: Vec<String>,
    /// Validation errors answered, in arrival order.
    pub refusals: Vec<String>,
    /// Materials Kingdee does not know.
    pub unknown_materials: HashSet<String>,
    /// What each return the fake was told about holds, by bill number.
    pub told: HashMap<String, Vec<ToldLine>>,
    /// Bills that did not reconcile with what the fake was told (each also refused).
    pub mismatches: Vec<String>,
    /// Played one per BatchSave before normal handling.
    pub script: VecDeque<Scripted>,
    /// The next BatchSave is saved but answered only after this long (a slow Kingdee,
    /// so the caller can be killed in the middle of its call).
    pub stall_next_save: Option<std::time::Duration>,
    /// Saves held back so far.
    pub stalled: usize,
    stalling: Option<std::time::Duration>,
    next_id: i64,
}

impl FakeState {
    /// Tells the fake what a return holds, so its bill is checked against it.
    pub fn tell(&mut self, bill_no: &str, lines: Vec<ToldLine>) {
        self.told.insert(bill_no.to_owned(), lines);
    }

    /// Every login, either kind.
    pub fn logins(&self) -> usize {
        self.password_logins + self.app_logins
    }

    fn new_session(&mut self) -> String {
        let id = format!("sid-{}-{}", self.logins(), self.sessions.len());
        self.sessions.insert(id.clone());
        id
    }
}

/// The running fake.
pub struct FakeKingdee {
    /// The WebAPI's base URL (`http://127.0.0.1:PORT/k3cloud/`).
    pub base_url: String,
    state: Arc<Mutex<FakeState>>,
    handle: actix_web::dev::ServerHandle,
}

impl Drop for FakeKingdee {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

fn json_answer(body: Value) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json; charset=utf-8")
        .body(body.to_string())
}

fn text<'a>(value: &'a Value, name: &str) -> &'a str {
    value.get(name).and_then(Value::as_str).unwrap_or_default()
}

/// A login's parameters: named, or positional under `parameters` as some clients send.
fn login_params(body: &Value, names: &[&str]) -> Vec<Value> {
    match body.get("parameters").and_then(Value::as_array) {
        Some(list) => list.clone(),
        None => names
            .iter()
            .map(|name| body.get(*name).cloned().unwrap_or(Value::Null))
            .collect(),
    }
}

fn logged_in(state: &mut FakeState) -> HttpResponse {
    let session = state.new_session();
    HttpResponse::Ok()
        .content_type("application/json; charset=utf-8")
        .append_header((
            "set-cookie",
            format!("kdservice-sessionid={session}; path=/"),
        ))
        .append_header((
            "set-cookie",
            format!("ASP.NET_SessionId=asp-{session}; path=/; HttpOnly"),
        ))
        .body(
            json!({"Message": null, "MessageCode": "CheckPasswordPolicy", "LoginResultType": 1,
                   "Context": {"UserName": state.username, "DBid": state.acct_id},
                   "KDSVCSessionId": session, "IsSuccessByAPI": true})
            .to_string(),
        )
}

fn refused_login(state: &mut FakeState) -> HttpResponse {
    state.refused_logins += 1;
    json_answer(
        json!({"Message": "用户名或密码错误！", "LoginResultType": 0,
                       "KDSVCSessionId": null, "IsSuccessByAPI": false}),
    )
}

fn validate_user(state: &mut FakeState, body: &Value) -> HttpResponse {
    let params = login_params(body, &["acctID", "username", "password", "lcid"]);
    let expected = [
        json!(state.acct_id),
        json!(state.username),
        json!(state.password),
        json!(2052),
    ];
    if params.len() != 4 || params.iter().zip(&expected).any(|(got, want)| got != want) {
        return refused_login(state);
    }
    state.password_logins += 1;
    logged_in(state)
}

fn login_by_app_secret(state: &mut FakeState, body: &Value) -> HttpResponse {
    let params = login_params(body, &["acctID", "username", "appId", "appSecret", "lcid"]);
    let expected = [
        json!(state.acct_id),
        json!(state.username),
        json!(state.app_id),
        json!(state.app_secret),
        json!(2052),
    ];
    if params.len() != 5 || params.iter().zip(&expected).any(|(got, want)| got != want) {
        return refused_login(state);
    }
    state.app_logins += 1;
    logged_in(state)
}

fn save_answer(errors: Vec<Value>, saved: Vec<Value>, msg_code: i64) -> HttpResponse {
    json_answer(json!({"Result": {"ResponseStatus": {
        "ErrorCode": if errors.is_empty() { 0 } else { 500 },
        "IsSuccess": errors.is_empty(),
        "Errors": errors,
        "SuccessEntitys": saved,
        "SuccessMessages": [],
        "MsgCode": msg_code,
    }}}))
}

fn error(field: &str, message: String, index: usize) -> Value {
    json!({"FieldName": field, "Message": message, "DIndex": index})
}

/// The `FNumber` of a base-data field.
fn number<'a>(value: &'a Value, name: &str) -> &'a str {
    value
        .get(name)
        .and_then(|field| field.get("FNumber"))
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// Why the real service would refuse this bill's fields, if it would.
fn field_errors(bill: &Value, index: usize, unknown: &HashSet<String>) -> Vec<Value> {
    let mut errors = Vec::new();
    for field in ["FBillTypeID", "FSaleOrgId", "FStockOrgId", "FRetcustId"] {
        if number(bill, field).is_empty() {
            errors.push(error(field, format!("字段“{field}”是必填项"), index));
        }
    }
    for field in ["FBillNo", "FDate"] {
        if text(bill, field).is_empty() {
            errors.push(error(field, format!("字段“{field}”是必填项"), index));
        }
    }
    let finance = &bill["SubHeadEntity"];
    for field in ["FSettleOrgId", "FSETTLECURRID"] {
        if number(finance, field).is_empty() {
            errors.push(error(field, format!("财务信息“{field}”是必填项"), index));
        }
    }
    let entries = bill["FEntity"].as_array().cloned().unwrap_or_default();
    if entries.is_empty() {
        errors.push(error("FEntity", "单据体明细不能为空".to_owned(), index));
    }
    for (row, entry) in entries.iter().enumerate() {
        let row = row + 1;
        for field in ["FMaterialId", "FOwnerId", "FStockId"] {
            if number(entry, field).is_empty() {
                errors.push(error(field, format!("第{row}行“{field}”是必填项"), index));
            }
        }
        if text(entry, "FOwnerTypeId") != "BD_OwnerOrg" {
            errors.push(error(
                "FOwnerTypeId",
                format!("第{row}行货主类型无效"),
                index,
            ));
        }
        if entry["FRealQty"].as_i64().is_none_or(|qty| qty <= 0) {
            errors.push(error(
                "FRealQty",
                format!("第{row}行实退数量必须大于0"),
                index,
            ));
        }
        if entry["FTaxPrice"].as_f64().is_none_or(|price| price < 0.0) {
            errors.push(error("FTaxPrice", format!("第{row}行含税单价无效"), index));
        }
        let material = number(entry, "FMaterialId");
        if unknown.contains(material) {
            errors.push(error(
                "FMaterialId",
                format!("第{row}行物料编码“{material}”在系统中不存在"),
                index,
            ));
        }
    }
    errors
}

/// Whether the bill's lines reconcile with the return the fake was told about: per
/// material, the quantities add up to the quantity returned and each unit price is the
/// amount over that quantity, to the fen.
fn reconciles(bill: &Value, told: Option<&Vec<ToldLine>>) -> Result<(), String> {
    let no = text(bill, "FBillNo");
    let told = told.ok_or_else(|| format!("{no}: the fake was not told about this return"))?;
    let mut sent: BTreeMap<String, (i64, Vec<i64>)> = BTreeMap::new();
    for entry in bill["FEntity"].as_array().into_iter().flatten() {
        let at = sent
            .entry(number(entry, "FMaterialId").to_owned())
            .or_default();
        at.0 += entry["FRealQty"].as_i64().unwrap_or_default();
        at.1.push((entry["FTaxPrice"].as_f64().unwrap_or(-1.0) * 100.0).round() as i64);
    }
    let mut expected: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for line in told {
        let at = expected.entry(line.material.clone()).or_default();
        at.0 += line.qty;
        at.1 += line.amount;
    }
    if sent.keys().collect::<Vec<_>>() != expected.keys().collect::<Vec<_>>() {
        return Err(format!(
            "{no}: materials {:?}, told {:?}",
            sent.keys().collect::<Vec<_>>(),
            expected.keys().collect::<Vec<_>>()
        ));
    }
    for (material, (qty, amount)) in &expected {
        let (sent_qty, prices) = &sent[material];
        let price = (2 * amount + qty) / (2 * qty);
        if sent_qty != qty || prices.iter().any(|sent_price| *sent_price != price) {
            return Err(format!(
                "{no}: {material} sent {sent_qty} at {prices:?} fen, told {qty} for {amount} fen"
            ));
        }
    }
    Ok(())
}

fn batch_save(state: &mut FakeState, request: &HttpRequest, body: &Value) -> HttpResponse {
    match state.script.pop_front() {
        Some(Scripted::ExpireSession) => state.sessions.clear(),
        Some(Scripted::Garbage) => {
            return HttpResponse::Ok()
                .content_type("text/html")
                .body("<html><body>Server Error in '/k3cloud' Application.</body></html>")
        }
        Some(Scripted::ServerError) => return HttpResponse::InternalServerError().finish(),
        Some(Scripted::EchoLogin) => state.script.push_front(Scripted::EchoLogin),
        Some(Scripted::Huge) => {
            return HttpResponse::Ok()
                .content_type("application/json")
                .body(format!(
                    "{{\"Result\":\"{}\"}}",
                    "x".repeat(4 * 1024 * 1024)
                ))
        }
        None => {}
    }
    let session = request
        .headers()
        .get_all("cookie")
        .filter_map(|header| header.to_str().ok())
        .flat_map(|header| header.split(';'))
        .find_map(|pair| pair.trim().strip_prefix("kdservice-sessionid="))
        .map(str::to_owned);
    if !session.is_some_and(|id| state.sessions.contains(&id)) {
        state.lost_sessions += 1;
        return save_answer(
            vec![json!({"FieldName": null, "Message": "会话信息已丢失，请重新登录", "DIndex": 0})],
            Vec::new(),
            1,
        );
    }
    state.save_calls += 1;
    if text(body, "formid") != "SAL_RETURNSTOCK" {
        return save_answer(
            vec![error(
                "formid",
                format!("业务对象“{}”不存在", text(body, "formid")),
                0,
            )],
            Vec::new(),
            0,
        );
    }
    // `data` is JSON text, not an object.
    let Some(data) = body
        .get("data")
        .and_then(Value::as_str)
        .and_then(|data| serde_json::from_str::<Value>(data).ok())
    else {
        return save_answer(
            vec![error("data", "data 不是有效的JSON字符串".to_owned(), 0)],
            Vec::new(),
            0,
        );
    };
    for (option, wanted) in [
        ("IsAutoSubmitAndAudit", "true"),
        ("IsVerifyBaseDataField", "false"),
        ("NumberSearch", "true"),
    ] {
        if text(&data, option) != wanted {
            return save_answer(
                vec![error(option, format!("{option} 应为 {wanted}"), 0)],
                Vec::new(),
                0,
            );
        }
    }
    let bills = data["Model"].as_array().cloned().unwrap_or_default();
    let mut errors = Vec::new();
    let mut saved = Vec::new();
    for (index, bill) in bills.iter().enumerate() {
        let no = text(bill, "FBillNo").to_owned();
        let mut own = field_errors(bill, index, &state.unknown_materials);
        if own.is_empty() && state.saved.contains_key(&no) {
            state.duplicates.push(no.clone());
            own.push(error(
                "FBillNo",
                format!("单据编号\"{no}\"已经存在，违反字段唯一性要求：编码唯一"),
                index,
            ));
        }
        if own.is_empty() {
            if let Err(mismatch) = reconciles(bill, state.told.get(&no)) {
                state.mismatches.push(mismatch.clone());
                own.push(error("FEntity", mismatch, index));
            }
        }
        if own.is_empty() {
            state.next_id += 1;
            let id = state.next_id;
            state.saved.insert(
                no.clone(),
                SavedBill {
                    id,
                    model: bill.clone(),
                },
            );
            saved.push(json!({"Id": id, "Number": no, "DIndex": index}));
        } else {
            state.refusals.extend(
                own.iter()
                    .filter(|e| e["FieldName"] != "FBillNo")
                    .map(|e| text(e, "Message").to_owned()),
            );
            errors.extend(own);
        }
    }
    if let Some(stall) = state.stall_next_save.take() {
        state.stalled += 1;
        state.stalling = Some(stall);
    }
    save_answer(errors, saved, 0)
}

async fn service(
    state: web::Data<Arc<Mutex<FakeState>>>,
    request: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let (answer, stall) = {
        let mut state = state.lock().expect("state");
        let answer = answer(&mut state, &request, &body);
        (answer, state.stalling.take())
    };
    after_stall(answer, stall).await
}

fn answer(state: &mut FakeState, request: &HttpRequest, body: &[u8]) -> HttpResponse {
    let Some(service) = request.path().strip_prefix(SITE) else {
        return HttpResponse::NotFound().finish();
    };
    let Ok(body) = serde_json::from_slice::<Value>(body) else {
        return json_answer(
            json!({"Result": {"ResponseStatus": {"IsSuccess": false, "MsgCode": 0,
            "Errors": [{"Message": "请求不是有效的JSON"}]}}}),
        );
    };
    let login = service.contains(".AuthService.");
    if login && state.script.front() == Some(&Scripted::EchoLogin) {
        state.script.pop_front();
        return HttpResponse::Ok()
            .content_type("text/html")
            .body(format!("<html><pre>{body}</pre></html>"));
    }
    match service {
        "Kingdee.BOS.WebApi.ServicesStub.AuthService.ValidateUser.common.kdsvc" => {
            validate_user(state, &body)
        }
        "Kingdee.BOS.WebApi.ServicesStub.AuthService.LoginByAppSecret.common.kdsvc" => {
            login_by_app_secret(state, &body)
        }
        "Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.BatchSave.common.kdsvc" => {
            batch_save(state, request, &body)
        }
        _ => HttpResponse::NotFound().finish(),
    }
}

impl FakeKingdee {
    /// Starts a fake on a free port.
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(FakeState {
            acct_id: "62b0e2e4a2b0f1".to_owned(),
            username: "api-user".to_owned(),
            password: "pass-word-1".to_owned(),
            app_id: "263219_x+5B0wAJ0lp".to_owned(),
            app_secret: "app-secret-1".to_owned(),
            sessions: HashSet::new(),
            password_logins: 0,
            app_logins: 0,
            refused_logins: 0,
            save_calls: 0,
            lost_sessions: 0,
            saved: BTreeMap::new(),
            duplicates: Vec::new(),
            refusals: Vec::new(),
            unknown_materials: HashSet::new(),
            told: HashMap::new(),
            mismatches: Vec::new(),
            script: VecDeque::new(),
            stall_next_save: None,
            stalled: 0,
            stalling: None,
            next_id: 100_000,
        }));
        let data = web::Data::new(state.clone());
        let (port, handle) = serve(move |routes| {
            routes
                .app_data(data.clone())
                .app_data(web::PayloadConfig::new(16 * 1024 * 1024))
                .default_service(web::post().to(service));
        });
        Self {
            base_url: format!("http://127.0.0.1:{port}{SITE}"),
            state,
            handle,
        }
    }

    /// The fake's state, to script it or read what arrived.
    pub fn state(&self) -> MutexGuard<'_, FakeState> {
        self.state.lock().expect("state")
    }
}
