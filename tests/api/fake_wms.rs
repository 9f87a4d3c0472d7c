//! A fake Qimen-format warehouse: checks each request's sign with the tests' own code
//! and the required fields of each method, records what arrived, and answers like a
//! warehouse, refusals and outages included. It also calls back as jxwms does: the
//! confirmation posted as it is, unsigned, to the URL it was given.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use actix_web::{web, HttpRequest, HttpResponse};
use polymall::config::{CallbackAuth, Secret, WmsSender, WmsShopConfig};

use crate::fake_server::serve;
use crate::qimen_callback::qimen_sign;

/// The shop's warehouse settings for a warehouse at `url` with this customer id:
/// signed callbacks with the secret `wms-secret`.
pub fn wms_config(url: &str, customer_id: &str) -> WmsShopConfig {
    WmsShopConfig {
        url: url.to_owned(),
        app_key: "testerp_appkey".to_owned(),
        secret: Secret::new("wms-secret"),
        customer_id: customer_id.to_owned(),
        owner_code: customer_id.to_owned(),
        warehouse_code: "15".to_owned(),
        method_prefix: String::new(),
        logistics_code: "ZTO".to_owned(),
        sender: WmsSender {
            name: "杭州仓".to_owned(),
            mobile: "13800000000".to_owned(),
            province: "浙江省".to_owned(),
            city: "杭州市".to_owned(),
            area: "西湖区".to_owned(),
            address: "文三路1号".to_owned(),
        },
        push_interval_secs: 3_600,
        stock_interval_secs: 86_400,
        max_attempts: 3,
        timeout_secs: 5,
        callback_auth: CallbackAuth::Sign,
        callback_token: None,
    }
}

/// Posts a confirmation as jxwms does: the XML as the body of a POST to the URL it
/// was given, no sign and no query. Answers the body of the reply.
pub async fn post_unsigned_confirmation(client: &reqwest::Client, url: &str, body: &str) -> String {
    let response = client
        .post(url)
        .header("content-type", "text/xml;charset=utf-8")
        .body(body.to_owned())
        .send()
        .await
        .expect("callback");
    assert_eq!(
        response.status().as_u16(),
        200,
        "Qimen answers are HTTP 200"
    );
    response.text().await.expect("answer")
}

/// A failure to play instead of the next answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WmsScripted {
    /// HTTP 502.
    BadGateway,
    /// A gateway `<error_response>` for trouble on the warehouse's side (`isp.*`).
    ServiceBusy,
    /// The seed's `<error_response>` for a request the gateway finds wrong (`isv.*`).
    WrongRequest,
}

/// What the fake received and will answer.
#[derive(Debug, Default)]
pub struct WmsState {
    /// (method, body) of every request with a good sign and all required fields.
    pub received: Vec<(String, String)>,
    /// Requests refused for their sign.
    pub bad_signs: usize,
    /// Requests refused for a missing field (with the field).
    pub missing: Vec<String>,
    /// deliveryorder.create answers failure for these order codes.
    pub refuse_orders: HashSet<String>,
    /// Played one per request.
    pub script: VecDeque<WmsScripted>,
    /// itemCode → (quantity, lockQuantity).
    pub inventory: HashMap<String, (i64, i64)>,
    /// Every well-signed call: its method and when it arrived.
    pub calls: Vec<(String, std::time::Instant)>,
}

/// The running fake.
pub struct FakeWms {
    /// The URL to configure as `[shops.wms] url`.
    pub url: String,
    state: Arc<Mutex<WmsState>>,
    handle: actix_web::dev::ServerHandle,
}

impl Drop for FakeWms {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

const REQUIRED: &[(&str, &[&str])] = &[
    (
        "singleitem.synchronize",
        &[
            "<actionType>",
            "<warehouseCode>",
            "<ownerCode>",
            "<itemCode>",
            "<itemName>",
            "<itemType>",
        ],
    ),
    (
        "deliveryorder.create",
        &[
            "<deliveryOrderCode>",
            "<orderType>JYCK",
            "<warehouseCode>",
            "<createTime>",
            "<placeOrderTime>",
            "<operateTime>",
            "<shopNick>",
            "<logisticsCode>",
            "<senderInfo>",
            "<receiverInfo><name>",
            "<province>",
            "<city>",
            "<area>",
            "<detailAddress>",
            "<orderLine><orderLineNo>",
            "<itemCode>",
            "<planQty>",
        ],
    ),
    (
        "order.cancel",
        &[
            "<warehouseCode>",
            "<ownerCode>",
            "<orderCode>",
            "<orderType>JYCK",
            "<cancelReason>",
        ],
    ),
    (
        "inventory.query",
        &[
            "<criteriaList><criteria>",
            "<itemCode>",
            "<inventoryType>ZP",
        ],
    ),
];

fn xml(body: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/xml;charset=utf-8")
        .body(body)
}

fn between<'a>(text: &'a str, open: &str, close: &str) -> Vec<&'a str> {
    text.split(open)
        .skip(1)
        .filter_map(|part| part.split(close).next())
        .collect()
}

/// The first required sender or receiver field that is absent or empty: the Qimen
/// standard requires name, mobile, province, city and detailAddress of both, and the
/// seed adds that names and phones must never be empty.
fn empty_party_field(body: &str) -> Option<String> {
    for party in ["senderInfo", "receiverInfo"] {
        let inner = between(body, &format!("<{party}>"), &format!("</{party}>"))
            .first()
            .copied()
            .unwrap_or_default();
        for field in [
            "name",
            "mobile",
            "province",
            "city",
            "area",
            "detailAddress",
        ] {
            let value = between(inner, &format!("<{field}>"), &format!("</{field}>"));
            if value.first().is_none_or(|v| v.trim().is_empty()) {
                return Some(format!("{party}.{field}"));
            }
        }
    }
    None
}

async fn answer(
    state: web::Data<Arc<Mutex<WmsState>>>,
    request: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let query: Vec<(String, String)> =
        serde_urlencoded::from_str(request.query_string()).unwrap_or_default();
    let get = |k: &str| {
        query
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let mut state = state.lock().expect("state");
    match state.script.pop_front() {
        Some(WmsScripted::BadGateway) => return HttpResponse::BadGateway().finish(),
        Some(WmsScripted::ServiceBusy) => {
            return xml("<error_response><code>50</code><msg>Remote service error</msg><sub_code>isp.timeout</sub_code><sub_msg>busy</sub_msg></error_response>".to_owned())
        }
        Some(WmsScripted::WrongRequest) => {
            return xml("<error_response><code>50</code><msg>Remote service error</msg><sub_code>isv.invalid-parameter</sub_code><sub_msg>非法参数</sub_msg></error_response>".to_owned())
        }
        None => {}
    }
    let body = String::from_utf8_lossy(&body).into_owned();
    let signed: Vec<(&str, &str)> = query
        .iter()
        .filter(|(k, _)| k != "sign")
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    if get("sign") != qimen_sign("wms-secret", &signed, &body) {
        state.bad_signs += 1;
        return xml("<response><flag>failure</flag><code>sign-check-failure</code><message>Illegal request</message></response>".to_owned());
    }
    let method = get("method");
    let Some((_, fields)) = REQUIRED.iter().find(|(name, _)| *name == method) else {
        return xml(format!("<response><flag>failure</flag><code>404</code><message>unknown method {method}</message></response>"));
    };
    let missing = fields
        .iter()
        .find(|field| !body.contains(*field))
        .map(|field| field.to_string())
        .or_else(|| {
            (method == "deliveryorder.create")
                .then(|| empty_party_field(&body))
                .flatten()
        });
    if let Some(field) = missing {
        state.missing.push(field.clone());
        return xml(format!("<response><flag>failure</flag><code>400</code><message>missing {field}</message></response>"));
    }
    state.received.push((method.clone(), body.clone()));
    state
        .calls
        .push((method.clone(), std::time::Instant::now()));
    if method == "deliveryorder.create" {
        let code = between(&body, "<deliveryOrderCode>", "</deliveryOrderCode>")
            .first()
            .map(|c| c.to_string())
            .unwrap_or_default();
        if state.refuse_orders.contains(&code) {
            return xml("<response><flag>failure</flag><code>E101</code><message>收件人地址无法识别</message></response>".to_owned());
        }
    }
    if method == "inventory.query" {
        let items: String = between(&body, "<itemCode>", "</itemCode>")
            .into_iter()
            .filter_map(|code| state.inventory.get(code).map(|(q, l)| format!("<item><itemCode>{code}</itemCode><quantity>{q}</quantity><lockQuantity>{l}</lockQuantity></item>")))
            .collect();
        return xml(format!("<response><flag>success</flag><code>0</code><message>ok</message><items>{items}</items></response>"));
    }
    xml("<response><flag>success</flag><code>0</code><message>ok</message></response>".to_owned())
}

impl FakeWms {
    /// Starts a fake on a free port.
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(WmsState::default()));
        let data = web::Data::new(state.clone());
        let (port, handle) = serve(move |routes| {
            routes
                .app_data(data.clone())
                .route("/wms", web::post().to(answer));
        });
        Self {
            url: format!("http://127.0.0.1:{port}/wms"),
            state,
            handle,
        }
    }

    /// The fake's state.
    pub fn state(&self) -> MutexGuard<'_, WmsState> {
        self.state.lock().expect("state")
    }
}
