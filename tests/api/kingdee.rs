//! Returns booked in 金蝶云星空 (Kingdee K/3 Cloud) against a local fake that checks the
//! login cookie, the form, the fields and that every bill reconciles with its return:
//! confirmed after-sales pulled from Jushuitan and the storefront's refunds, each
//! booked once; refusals, duplicates, missing mappings, lost sessions, garbage, and a
//! server killed while booking.

use std::collections::BTreeMap;
use std::time::Duration;

use polymall::config::{DatabaseConfig, JushuitanApi, KingdeeShopConfig, Secret};
use polymall::db::Database;
use polymall::jushuitan::{pulls, JstSync};
use polymall::kingdee::{push, BookingKeys, KingdeeSync};
use polymall::outbox::{self, OutboxFilter, OutboxRow, RetryWhich, State};
use polymall::shop::shops;
use serde_json::{json, Value};

use crate::admin::{full_order, full_refund};
use crate::fake_jst::{FakeApi, FakeJushuitan};
use crate::fake_kingdee::{FakeKingdee, Scripted, ToldLine};
use crate::helpers::{count_sql, execute_sql, Backend, TestApp, TestDb};
use crate::jushuitan::{an_hour_ago, jst_config};
use crate::on_both_backends;

on_both_backends! {
    a_confirmed_return_is_booked_once_with_its_lines_and_batches => booked_once;
    a_refusal_is_dead_with_kingdees_message_and_sent_again_after_retry => refused;
    a_missing_mapping_holds_the_return_before_anything_is_sent => missing_mapping;
    an_expired_session_logs_in_again_once => expired_session;
    garbage_errors_and_a_refused_login_are_retried => retried;
    storefront_refunds_with_returned_goods_become_sales_returns => storefront;
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(from, to)| (from.to_string(), to.to_string()))
        .collect()
}

/// The shop's Kingdee settings: password login, the Jushuitan shop 10001 and the
/// storefront (`demo`) mapped, warehouse 10086, sku-0 with a material number of its own.
fn kingdee_config(fake: &FakeKingdee) -> KingdeeShopConfig {
    KingdeeShopConfig {
        base_url: fake.base_url.clone(),
        acct_id: "62b0e2e4a2b0f1".to_owned(),
        username: "api-user".to_owned(),
        password: Some(Secret::new("pass-word-1")),
        app_id: None,
        app_secret: None,
        lcid: 2052,
        stock_org: "100".to_owned(),
        owner: "100".to_owned(),
        settle_currency: "PRE001".to_owned(),
        bill_type: "XSXSTHD".to_owned(),
        sale_org_by_shop: map(&[("10001", "101"), ("demo", "102")]),
        stock_by_warehouse: map(&[("10086", "CK01"), ("demo", "CK09")]),
        customer_by_shop: map(&[("10001", "CUST-JST"), ("demo", "CUST-WEB")]),
        material_by_sku: map(&[("sku-0", "MAT-0")]),
        push_interval_secs: 3_600,
        max_attempts: 8,
        timeout_secs: 5,
    }
}

struct Setup {
    app: TestApp,
    jst: FakeJushuitan,
    k3: FakeKingdee,
    /// The shop's Jushuitan jobs, when it uses Jushuitan.
    pulls: Option<JstSync>,
    books: KingdeeSync,
}

/// A server whose shop `demo` books in the fake Kingdee, with or without Jushuitan.
async fn setup(
    backend: Backend,
    with_jushuitan: bool,
    adjust: impl FnOnce(&mut KingdeeShopConfig),
) -> Option<Setup> {
    let db = TestDb::new(backend)?;
    let jst = FakeJushuitan::start(FakeApi::Open).await;
    let k3 = FakeKingdee::start().await;
    let jst_settings = jst_config(&jst, JushuitanApi::Open);
    let mut k3_settings = kingdee_config(&k3);
    adjust(&mut k3_settings);
    let (declared_jst, declared_k3) = (jst_settings.clone(), k3_settings.clone());
    let app = TestApp::spawn_with(db, move |config| {
        config.shops[0].jushuitan = with_jushuitan.then_some(declared_jst);
        config.shops[0].kingdee = Some(declared_k3);
    })
    .await;
    let database = Database::connect(&DatabaseConfig {
        url: Secret::new(app.db.url.clone()),
        ..DatabaseConfig::default()
    })
    .expect("connect");
    let shop = {
        let mut conn = database.get().expect("conn");
        shops::find_by_code(&mut conn, "demo").expect("shop")
    };
    let mut shop_config = crate::helpers::test_config(&app.db).shops.remove(0);
    shop_config.jushuitan = with_jushuitan.then(|| jst_settings.clone());
    let books = KingdeeSync::new(
        database.clone(),
        shop.clone(),
        k3_settings,
        BookingKeys::of(&shop_config),
    )
    .expect("kingdee");
    let pulls = with_jushuitan.then(|| JstSync::new(database, shop, jst_settings).expect("jst"));
    Some(Setup {
        app,
        jst,
        k3,
        pulls,
        books,
    })
}

impl Setup {
    /// A second connection to Kingdee with other settings, as after a configuration change.
    fn books_with(&self, adjust: impl FnOnce(&mut KingdeeShopConfig)) -> KingdeeSync {
        let mut config = self.books.config.clone();
        adjust(&mut config);
        KingdeeSync::new(
            self.books.db.clone(),
            self.books.shop.clone(),
            config,
            self.books.keys.clone(),
        )
        .expect("kingdee")
    }

    /// Pulls Jushuitan's after-sales from the start again.
    async fn pull_after_sales(&self) -> usize {
        execute_sql(&self.app, "DELETE FROM sync_cursors");
        let sync = self.pulls.as_ref().expect("a Jushuitan shop");
        pulls::pull_refunds(sync).await.expect("pull after-sales")
    }

    /// The shop's Kingdee rows.
    async fn rows(&self) -> Vec<OutboxRow> {
        let shop_id = self.books.shop.id;
        self.books
            .db
            .run(move |conn| {
                outbox::list(
                    conn,
                    &OutboxFilter {
                        shop_id: Some(shop_id),
                        state: None,
                        limit: 1_000,
                    },
                )
            })
            .await
            .expect("list")
            .into_iter()
            .filter(|row| row.target == "kingdee")
            .collect()
    }

    async fn row(&self, subject: &str) -> OutboxRow {
        self.rows()
            .await
            .into_iter()
            .find(|row| row.subject == subject)
            .unwrap_or_else(|| panic!("no kingdee row for {subject}"))
    }

    /// Makes every waiting row due now.
    fn force_due(&self) {
        execute_sql(
            &self.app,
            "UPDATE outbox SET next_attempt_at = '2000-01-01 00:00:00'",
        );
    }
}

/// An after-sale of shop 10001 as refund.single.query answers it, back in warehouse
/// 10086, confirmed an hour ago.
fn after_sale(as_id: &str, status: &str, items: Value) -> Value {
    let stamp = an_hour_ago();
    json!({"as_id": as_id, "so_id": format!("SO-{as_id}"), "o_id": 5501, "shop_id": 10_001,
           "status": status, "shop_status": "SUCCESS", "good_status": "SELLER_RECEIVED",
           "refund": 70, "payment": 0, "freight": 0, "wms_co_id": 10086, "warehouse": "杭州仓",
           "confirm_date": stamp.clone(), "created": stamp.clone(), "modified": stamp,
           "l_id": "YT-BACK", "logistics_company": "圆通", "remark": "退回", "question_type": "质量问题",
           "shop_buyer_id": "J1274551574", "items": items})
}

/// One returned item: a line of type 退货 received back `r_qty` times for `amount` yuan.
fn returned(sku: &str, r_qty: i64, amount: f64) -> Value {
    json!({"asi_id": format!("{sku}-{r_qty}"), "type": "退货", "sku_id": sku, "outer_oi_id": "",
           "name": sku, "qty": r_qty.max(1), "r_qty": r_qty, "price": amount, "amount": amount})
}

/// A confirmed after-sale `as_id` in Jushuitan with one line of `sku` received back
/// `qty` times for `fen`, and the fake Kingdee told about it.
fn confirmed_return(
    jst: &FakeJushuitan,
    k3: &FakeKingdee,
    as_id: &str,
    sku: &str,
    qty: i64,
    fen: i64,
) {
    jst.state().refunds.push(after_sale(
        as_id,
        "Confirmed",
        json!([returned(sku, qty, fen as f64 / 100.0)]),
    ));
    k3.state().tell(as_id, vec![ToldLine::new(sku, qty, fen)]);
}

fn count(s: &Setup, sql: &str) -> i64 {
    count_sql(&s.app, sql)
}

async fn booked_once(backend: Backend) {
    let Some(s) = setup(backend, true, |_| {}).await else {
        return;
    };
    {
        let mut jst = s.jst.state();
        let mut split = returned("sku-0", 3, 100.0);
        split["batchs"] = json!([
            {"sku_id": "sku-0", "qty": 1, "batch_no": "B-1", "product_date": "2024-01-01", "supplier_id": 9, "supplier_name": "义乌"},
            {"sku_id": "sku-0", "qty": 2, "batch_no": "B-2", "product_date": "2024-02-01", "supplier_id": 9, "supplier_name": "义乌"}]);
        jst.refunds.push(after_sale(
            "AS-RET",
            "Confirmed",
            json!([
                split,
                returned("sku-1", 0, 20.0),
                returned("sku-2", 2, 20.01)
            ]),
        ));
        jst.refunds.push(after_sale(
            "AS-WAIT",
            "WaitConfirm",
            json!([returned("sku-3", 1, 10.0)]),
        ));
        jst.refunds.push(after_sale(
            "AS-CAN",
            "Cancelled",
            json!([returned("sku-3", 1, 10.0)]),
        ));
        let mut exchanged = returned("sku-5", 0, 10.0);
        exchanged["type"] = json!("换货");
        jst.refunds.push(after_sale(
            "AS-EXC",
            "Confirmed",
            json!([returned("sku-4", 1, 10.0), exchanged]),
        ));
        let mut resent = returned("sku-6", 0, 0.0);
        resent["type"] = json!("补发");
        jst.refunds
            .push(after_sale("AS-RES", "Confirmed", json!([resent])));
    }
    s.k3.state().tell(
        "AS-RET",
        vec![
            ToldLine::new("MAT-0", 3, 10_000),
            ToldLine::new("sku-2", 2, 2_001),
        ],
    );
    assert_eq!(s.pull_after_sales().await, 5);
    let rows = s.rows().await;
    assert_eq!(
        rows.iter()
            .map(|row| (row.subject.as_str(), row.kind.as_str()))
            .collect::<Vec<_>>(),
        vec![("AS-RET", "sales_return")],
        "only the confirmed return with goods back is to book"
    );

    let report = push::push_returns(&s.books).await.expect("push");
    assert_eq!((report.sent, report.held, report.refused), (1, 0, 0));
    {
        let k3 = s.k3.state();
        assert_eq!(
            (k3.password_logins, k3.save_calls, k3.lost_sessions),
            (1, 1, 0)
        );
        assert!(k3.mismatches.is_empty(), "{:?}", k3.mismatches);
        let bill = &k3.saved["AS-RET"].model;
        assert_eq!(bill["FBillTypeID"]["FNumber"], "XSXSTHD");
        assert_eq!(bill["FSaleOrgId"]["FNumber"], "101");
        assert_eq!(bill["SubHeadEntity"]["FSettleOrgId"]["FNumber"], "101");
        assert_eq!(bill["SubHeadEntity"]["FSETTLECURRID"]["FNumber"], "PRE001");
        assert_eq!(bill["FStockOrgId"]["FNumber"], "100");
        assert_eq!(bill["FRetcustId"]["FNumber"], "CUST-JST");
        assert_eq!(bill["FHeadNote"], "退回");
        assert_eq!(bill["F_XC_Text"], "SO-AS-RET");
        let confirmed = s.jst.state().refunds[0]["confirm_date"].clone();
        assert_eq!(bill["FDate"], confirmed.as_str().unwrap_or_default()[..10]);
        let lines: Vec<(String, i64, String, String)> = bill["FEntity"]
            .as_array()
            .expect("entries")
            .iter()
            .map(|entry| {
                assert_eq!(entry["FStockId"]["FNumber"], "CK01");
                assert_eq!(entry["FOwnerTypeId"], "BD_OwnerOrg");
                assert_eq!(entry["FOwnerId"]["FNumber"], "100");
                assert_eq!(entry["F_XC_TEXT4"], "YT-BACK");
                assert_eq!(entry["F_XC_TEXT5"], "SO-AS-RET");
                (
                    entry["FMaterialId"]["FNumber"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    entry["FRealQty"].as_i64().unwrap_or_default(),
                    entry["FTaxPrice"].to_string(),
                    entry["FLot"]["FNumber"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                )
            })
            .collect();
        assert_eq!(
            lines,
            vec![
                ("MAT-0".to_owned(), 1, "33.33".to_owned(), "B-1".to_owned()),
                ("MAT-0".to_owned(), 2, "33.33".to_owned(), "B-2".to_owned()),
                ("sku-2".to_owned(), 2, "10.01".to_owned(), String::new()),
            ],
            "one entry per batch, none for a line received 0 times"
        );
        assert_eq!(bill["FEntity"][1]["FProduceDate"], "2024-02-01");
    }
    assert_eq!(s.row("AS-RET").await.state, State::Done);
    let kingdee_id = s.k3.state().saved["AS-RET"].id;
    assert_eq!(
        count(
            &s,
            &format!(
                "SELECT bill_no FROM kingdee_bookings WHERE bill_no = 'AS-RET' AND outcome = 'saved' \
                 AND source = 'after_sale' AND kingdee_id = '{kingdee_id}' AND kingdee_number = 'AS-RET'"
            )
        ),
        1,
        "Kingdee's id and number are kept"
    );

    // Pulled again: nothing is booked twice.
    assert_eq!(s.pull_after_sales().await, 5);
    assert_eq!(s.rows().await.len(), 1);
    assert_eq!(s.row("AS-RET").await.state, State::Done);
    assert_eq!(push::push_returns(&s.books).await.expect("push").sent, 0);
    assert_eq!(s.k3.state().save_calls, 1);

    // The waiting one is confirmed: booked then, and only it.
    {
        let mut jst = s.jst.state();
        let waiting = jst
            .refunds
            .iter_mut()
            .find(|record| record["as_id"] == "AS-WAIT")
            .expect("AS-WAIT");
        waiting["status"] = json!("Confirmed");
    }
    s.k3.state()
        .tell("AS-WAIT", vec![ToldLine::new("sku-3", 1, 1_000)]);
    s.pull_after_sales().await;
    assert_eq!(push::push_returns(&s.books).await.expect("push").sent, 1);
    {
        let k3 = s.k3.state();
        assert_eq!(
            k3.saved.keys().map(String::as_str).collect::<Vec<_>>(),
            vec!["AS-RET", "AS-WAIT"]
        );
        assert_eq!(
            (k3.password_logins, k3.save_calls),
            (1, 2),
            "one session for both"
        );
        assert!(k3.duplicates.is_empty() && k3.refusals.is_empty() && k3.mismatches.is_empty());
    }

    // A shop on Jushuitan books its returns from Jushuitan, not from storefront refunds.
    s.app
        .admin_post("orders", &json!([full_order("WEB-1")]))
        .await;
    let mut refund = full_refund("R-WEB-1", "WEB-1");
    refund["hasgoodsreturn"] = json!(true);
    let (status, _) = s.app.admin_post("refunds", &json!([refund])).await;
    assert_eq!(status, 200);
    assert_eq!(s.rows().await.len(), 2);
}

async fn refused(backend: Backend) {
    let Some(s) = setup(backend, true, |_| {}).await else {
        return;
    };
    confirmed_return(&s.jst, &s.k3, "AS-NEW", "sku-new", 2, 3_000);
    confirmed_return(&s.jst, &s.k3, "AS-OLD", "sku-2", 1, 500);
    {
        let mut k3 = s.k3.state();
        k3.unknown_materials.insert("sku-new".to_owned());
        // Booked already, by an earlier run whose answer was lost.
        k3.saved.insert(
            "AS-OLD".to_owned(),
            crate::fake_kingdee::SavedBill {
                id: 99,
                model: Value::Null,
            },
        );
    }
    s.pull_after_sales().await;
    let report = push::push_returns(&s.books).await.expect("push");
    assert_eq!((report.sent, report.refused), (1, 1));
    let refused = s.row("AS-NEW").await;
    assert_eq!(refused.state, State::Dead);
    let message = refused.last_error.unwrap_or_default();
    assert!(
        message.contains("物料编码“sku-new”在系统中不存在"),
        "Kingdee's message is kept for the operator: {message}"
    );
    assert_eq!(
        s.row("AS-OLD").await.state,
        State::Done,
        "a duplicate is booked"
    );
    assert_eq!(s.k3.state().duplicates, vec!["AS-OLD".to_owned()]);
    assert_eq!(
        count(&s, "SELECT bill_no FROM kingdee_bookings WHERE bill_no = 'AS-OLD' AND outcome = 'already_booked'"),
        1
    );
    // Dead stays dead until the operator retries.
    assert_eq!(push::push_returns(&s.books).await.expect("push").sent, 0);

    // The material is created in Kingdee; the operator retries.
    s.k3.state().unknown_materials.clear();
    let id = refused.id;
    s.books
        .db
        .run(move |conn| outbox::retry(conn, &RetryWhich::Ids(vec![id])))
        .await
        .expect("retry");
    assert_eq!(push::push_returns(&s.books).await.expect("push").sent, 1);
    assert_eq!(s.row("AS-NEW").await.state, State::Done);
    let k3 = s.k3.state();
    assert!(k3.saved.contains_key("AS-NEW"));
    assert!(k3.mismatches.is_empty(), "{:?}", k3.mismatches);
}

async fn missing_mapping(backend: Backend) {
    let Some(s) = setup(backend, true, |config| {
        config.stock_by_warehouse.clear();
    })
    .await
    else {
        return;
    };
    confirmed_return(&s.jst, &s.k3, "AS-MAP", "sku-2", 1, 800);
    s.pull_after_sales().await;
    let report = push::push_returns(&s.books).await.expect("push");
    assert_eq!((report.sent, report.held), (0, 1));
    let held = s.row("AS-MAP").await;
    assert_eq!(held.state, State::Held);
    let reason = held.last_error.unwrap_or_default();
    assert!(
        reason.contains("\"10086\" to [shops.kingdee] stock_by_warehouse"),
        "the missing key is named: {reason}"
    );
    {
        let k3 = s.k3.state();
        assert_eq!((k3.logins(), k3.save_calls), (0, 0), "nothing was sent");
    }
    let no_org = s.books_with(|config| {
        config.sale_org_by_shop.clear();
    });
    s.books
        .db
        .run(move |conn| outbox::retry(conn, &RetryWhich::Ids(vec![held.id])))
        .await
        .expect("retry");
    push::push_returns(&no_org).await.expect("push");
    let reason = s.row("AS-MAP").await.last_error.unwrap_or_default();
    assert!(
        reason.contains("\"10001\" to [shops.kingdee] sale_org_by_shop"),
        "{reason}"
    );

    // Mapped, and retried by the operator: booked.
    let mapped = s.books_with(|config| {
        config
            .stock_by_warehouse
            .insert("10086".to_owned(), "CK01".to_owned());
    });
    s.books
        .db
        .run(move |conn| outbox::retry(conn, &RetryWhich::Ids(vec![held.id])))
        .await
        .expect("retry");
    assert_eq!(push::push_returns(&mapped).await.expect("push").sent, 1);
    assert_eq!(
        s.k3.state().saved["AS-MAP"].model["FEntity"][0]["FStockId"]["FNumber"],
        "CK01"
    );
}

async fn expired_session(backend: Backend) {
    let Some(s) = setup(backend, true, |config| {
        config.password = None;
        config.app_id = Some("263219_x+5B0wAJ0lp".to_owned());
        config.app_secret = Some(Secret::new("app-secret-1"));
    })
    .await
    else {
        return;
    };
    let book = |as_id: &str, sku: &str| confirmed_return(&s.jst, &s.k3, as_id, sku, 1, 1_000);
    book("AS-S1", "sku-1");
    s.pull_after_sales().await;
    assert_eq!(push::push_returns(&s.books).await.expect("push").sent, 1);
    assert_eq!(s.k3.state().app_logins, 1, "the third-party app login");

    // The session expires: logged in again once, and the bill goes through.
    book("AS-S2", "sku-2");
    s.pull_after_sales().await;
    s.k3.state().script.push_back(Scripted::ExpireSession);
    assert_eq!(push::push_returns(&s.books).await.expect("push").sent, 1);
    {
        let k3 = s.k3.state();
        assert_eq!((k3.app_logins, k3.lost_sessions), (2, 1));
        assert!(k3.saved.contains_key("AS-S2"));
    }

    // Lost again right after logging in again: not a third login, the row waits.
    book("AS-S3", "sku-3");
    s.pull_after_sales().await;
    s.k3.state()
        .script
        .extend([Scripted::ExpireSession, Scripted::ExpireSession]);
    let report = push::push_returns(&s.books).await.expect("push");
    assert_eq!((report.sent, report.deferred), (0, 1));
    let waiting = s.row("AS-S3").await;
    assert_eq!((waiting.state, waiting.attempts), (State::Pending, 1));
    assert!(
        waiting
            .last_error
            .unwrap_or_default()
            .contains("session lost"),
        "said in words"
    );
    assert_eq!(s.k3.state().app_logins, 3);
    s.force_due();
    assert_eq!(push::push_returns(&s.books).await.expect("push").sent, 1);
    assert_eq!(s.k3.state().saved.len(), 3);
}

async fn retried(backend: Backend) {
    let Some(s) = setup(backend, true, |_| {}).await else {
        return;
    };
    confirmed_return(&s.jst, &s.k3, "AS-G", "sku-2", 1, 1_000);
    s.pull_after_sales().await;

    let wrong = s.books_with(|config| config.password = Some(Secret::new("wrong")));
    let report = push::push_returns(&wrong).await.expect("push");
    assert_eq!(report.deferred, 1);
    let row = s.row("AS-G").await;
    let error = row.last_error.unwrap_or_default();
    assert!(
        error.contains("login refused") && error.contains("用户名或密码错误"),
        "{error}"
    );
    assert!(
        !error.contains("wrong"),
        "the password is never told: {error}"
    );
    assert_eq!(s.k3.state().refused_logins, 1);
    s.force_due();
    s.k3.state().script.push_back(Scripted::EchoLogin);
    assert_eq!(push::push_returns(&wrong).await.expect("push").deferred, 1);
    let error = s.row("AS-G").await.last_error.unwrap_or_default();
    assert!(error.contains("login answer is not JSON"), "{error}");
    assert!(
        !error.contains("wrong"),
        "an echoed login is not quoted: {error}"
    );

    for (attempt, (failure, said)) in [
        (Scripted::Garbage, "unreadable answer"),
        (Scripted::ServerError, "HTTP status 500"),
        (Scripted::Huge, "larger than"),
    ]
    .into_iter()
    .enumerate()
    {
        s.force_due();
        s.k3.state().script.push_back(failure);
        let report = push::push_returns(&s.books).await.expect("push");
        assert_eq!((report.sent, report.deferred), (0, 1), "{failure:?}");
        let row = s.row("AS-G").await;
        assert_eq!(row.state, State::Pending, "{failure:?}");
        assert_eq!(row.attempts, attempt as i32 + 3);
        assert!(
            row.last_error.unwrap_or_default().contains(said),
            "{failure:?}"
        );
    }
    s.force_due();
    assert_eq!(push::push_returns(&s.books).await.expect("push").sent, 1);
    assert_eq!(s.row("AS-G").await.state, State::Done);
    assert_eq!(s.k3.state().saved.len(), 1);
}

/// A storefront refund of `order` that succeeded with these goods (SKU, count, yuan).
fn storefront_refund(
    no: &str,
    order: &str,
    status: &str,
    goods_back: bool,
    goods: &[(&str, i64, f64)],
) -> Value {
    let mut refund = full_refund(no, order);
    refund["refundstatus"] = json!(status);
    refund["hasgoodsreturn"] = json!(goods_back);
    refund["desc"] = json!("尺码不合适");
    refund["RefundGoods"] = goods
        .iter()
        .map(|(sku, count, amount)| {
            json!({"PlatProductId": "1", "OuterID": sku, "ProductName": sku, "RefundAmount": amount,
                   "ProductNum": count})
        })
        .collect();
    refund
}

async fn storefront(backend: Backend) {
    let Some(s) = setup(backend, false, |_| {}).await else {
        return;
    };
    s.app
        .admin_post(
            "orders",
            &json!([
                full_order("WEB-1"),
                full_order("WEB-2"),
                full_order("WEB-3")
            ]),
        )
        .await;
    let refunds = json!([
        storefront_refund(
            "R-1",
            "WEB-1",
            "JH_06",
            true,
            &[("sku-0", 2, 100.5), ("sku-9", 0, 0.0), ("sku-8", 1, 9.99)]
        ),
        storefront_refund("R-2", "WEB-2", "JH_02", true, &[("sku-1", 1, 10.0)]),
        storefront_refund("R-3", "WEB-3", "JH_06", false, &[("sku-1", 1, 10.0)]),
    ]);
    let (status, body) = s.app.admin_post("refunds", &refunds).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        s.rows()
            .await
            .iter()
            .map(|row| row.subject.as_str())
            .collect::<Vec<_>>(),
        vec!["R-1"],
        "only a successful refund with goods back is booked"
    );
    s.k3.state().tell(
        "R-1",
        vec![
            ToldLine::new("MAT-0", 2, 10_050),
            ToldLine::new("sku-8", 1, 999),
        ],
    );
    assert_eq!(push::push_returns(&s.books).await.expect("push").sent, 1);
    {
        let k3 = s.k3.state();
        assert!(k3.mismatches.is_empty(), "{:?}", k3.mismatches);
        let bill = &k3.saved["R-1"].model;
        assert_eq!(bill["FSaleOrgId"]["FNumber"], "102");
        assert_eq!(bill["FRetcustId"]["FNumber"], "CUST-WEB");
        assert_eq!(bill["F_XC_Text"], "WEB-1");
        assert_eq!(bill["FHeadNote"], "尺码不合适");
        assert_eq!(bill["FDate"], "2017-01-16");
        assert_eq!(bill["FEntity"][0]["FStockId"]["FNumber"], "CK09");
        assert_eq!(bill["FEntity"][0]["FRealQty"], 2);
        assert_eq!(bill["FEntity"][0]["FTaxPrice"].to_string(), "50.25");
        assert_eq!(bill["FEntity"][0]["F_XC_TEXT4"], "123456789");
        assert_eq!(bill["FEntity"].as_array().map(Vec::len), Some(2));
    }
    // Posted again as it is: not booked again. R-2 succeeds: booked.
    let again = json!([
        storefront_refund(
            "R-1",
            "WEB-1",
            "JH_06",
            true,
            &[("sku-0", 2, 100.5), ("sku-9", 0, 0.0), ("sku-8", 1, 9.99)]
        ),
        storefront_refund("R-2", "WEB-2", "JH_06", true, &[("sku-1", 1, 10.0)]),
    ]);
    let (status, _) = s.app.admin_post("refunds", &again).await;
    assert_eq!(status, 200);
    assert_eq!(s.row("R-1").await.state, State::Done);
    s.k3.state()
        .tell("R-2", vec![ToldLine::new("sku-1", 1, 1_000)]);
    assert_eq!(push::push_returns(&s.books).await.expect("push").sent, 1);
    let k3 = s.k3.state();
    assert_eq!(k3.saved.len(), 2);
    assert!(k3.duplicates.is_empty());
}

on_both_backends! {
    kill_9_while_booking_loses_nothing_and_books_nothing_twice => killed_mid_push;
}

/// The real server pulls thirty confirmed returns and books them; it is killed with
/// SIGKILL while Kingdee holds back the answer to a save it made, and restarted: every
/// return is booked once, and the bills in flight at the kill are recognised by their
/// numbers.
async fn killed_mid_push(backend: Backend) {
    let Some(db) = TestDb::new(backend) else {
        return;
    };
    let jst = FakeJushuitan::start(FakeApi::Open).await;
    let k3 = FakeKingdee::start().await;
    let expected: Vec<String> = (0..30).map(|n| format!("AS-K{n:02}")).collect();
    for (n, as_id) in expected.iter().enumerate() {
        confirmed_return(&jst, &k3, as_id, &format!("sku-{n}"), 1, 1_000);
    }
    k3.state().stall_next_save = Some(Duration::from_secs(30));
    let port = crate::helpers::free_port();
    let dir = tempfile::tempdir().expect("dir");
    let config_path = dir.path().join("polymall.toml");
    std::fs::write(
        &config_path,
        format!(
            "[server]\nlisten = \"127.0.0.1:{port}\"\n[database]\nurl = \"{}\"\n\
             [[shops]]\ncode = \"demo\"\nname = \"Demo\"\n\
             [shops.jushuitan]\napi = \"open\"\nbase_url = \"{}\"\nshop_id = 10001\napp_key = \"app\"\n\
             app_secret = \"secret\"\naccess_token = \"at-1\"\nrefresh_token = \"rt-1\"\nrefund_interval_secs = 1\n\
             [shops.kingdee]\nbase_url = \"{}\"\nacct_id = \"62b0e2e4a2b0f1\"\nusername = \"api-user\"\n\
             password = \"pass-word-1\"\npush_interval_secs = 1\ntimeout_secs = 2\n\
             sale_org_by_shop = {{ \"10001\" = \"101\" }}\ncustomer_by_shop = {{ \"10001\" = \"CUST-JST\" }}\n\
             stock_by_warehouse = {{ \"10086\" = \"CK01\" }}\n",
            db.url, jst.base_url, k3.base_url
        ),
    )
    .expect("config");
    let mut child = crate::helpers::start_server(&config_path);
    let mut waited = 0;
    while k3.state().stalled == 0 {
        waited += 1;
        assert!(waited < 1_500, "no save reached Kingdee");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("wait");
    let in_flight = k3.state().saved.len();
    assert!(in_flight > 0, "the save in flight was made");

    let mut child = crate::helpers::start_server(&config_path);
    let done = "SELECT id FROM outbox WHERE target = 'kingdee' AND state = 'done'";
    let mut waited = 0;
    while crate::helpers::count_sql_at(&db.url, done) < expected.len() as i64 {
        waited += 1;
        assert!(waited < 600, "returns were not all booked");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    child.kill().expect("kill");
    child.wait().expect("wait");
    let k3 = k3.state();
    assert_eq!(
        k3.saved.keys().cloned().collect::<Vec<_>>(),
        expected,
        "every return booked"
    );
    assert!(
        k3.duplicates.len() <= in_flight,
        "only the bills in flight were sent again: {:?}",
        k3.duplicates
    );
    let mut resent = k3.duplicates.clone();
    resent.sort();
    resent.dedup();
    assert_eq!(resent.len(), k3.duplicates.len(), "each at most once more");
    assert!(
        k3.refusals.is_empty() && k3.mismatches.is_empty(),
        "{:?}",
        k3.mismatches
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sync_command_books_and_outbox_list_shows_it() {
    let k3 = FakeKingdee::start().await;
    k3.state()
        .tell("R-CLI", vec![ToldLine::new("sku-1", 1, 1_000)]);
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(
        dir.path().join("orders.json"),
        json!([full_order("CLI-K1")]).to_string(),
    )
    .expect("write");
    std::fs::write(
        dir.path().join("refunds.json"),
        json!([storefront_refund(
            "R-CLI",
            "CLI-K1",
            "JH_06",
            true,
            &[("sku-1", 1, 10.0)]
        )])
        .to_string(),
    )
    .expect("write");
    std::fs::write(
        dir.path().join("polymall.toml"),
        format!(
            "[database]\nurl = \"shop.db\"\n[[shops]]\ncode = \"demo\"\nname = \"Demo\"\n[shops.kingdee]\n\
             base_url = \"{}\"\nacct_id = \"62b0e2e4a2b0f1\"\nusername = \"api-user\"\npassword = \"pass-word-1\"\n\
             sale_org_by_shop = {{ demo = \"102\" }}\ncustomer_by_shop = {{ demo = \"CUST-WEB\" }}\n\
             stock_by_warehouse = {{ demo = \"CK09\" }}\n",
            k3.base_url
        ),
    )
    .expect("write");
    let work_dir = dir.path().to_path_buf();
    let run = move |args: &[&str]| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_polymall"))
            .current_dir(&work_dir)
            .env_remove("POLYMALL_CONFIG")
            .env("RUST_LOG", "warn")
            .args(args)
            .output()
            .expect("run");
        assert!(
            output.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let (pending, pushed, done) = tokio::task::spawn_blocking(move || {
        run(&["migrate"]);
        run(&["import", "--shop", "demo", "orders", "orders.json"]);
        run(&["import", "--shop", "demo", "refunds", "refunds.json"]);
        let pending = run(&["outbox", "list", "--state", "pending"]);
        let pushed = run(&["sync", "kingdee", "push-returns", "--shop", "demo"]);
        (pending, pushed, run(&["outbox", "list", "--state", "done"]))
    })
    .await
    .expect("join");
    let listed = |text: &str| {
        text.lines().any(|line| {
            line.contains("kingdee") && line.contains("sales_return") && line.contains("R-CLI")
        })
    };
    assert!(listed(&pending), "{pending}");
    assert!(pushed.contains("kingdee.push-returns: 1 sent"), "{pushed}");
    assert!(listed(&done), "{done}");
    assert!(!pushed.contains("pass-word-1"));
    assert_eq!(k3.state().saved.len(), 1);
}
