//! Shops at runtime over HTTP: the console's shop editor refuses what it must (another
//! role, a form without its token, a shared appkey, invalid keys naming the field,
//! placeholder secrets on a reachable server), keeps secrets write-only, and what it
//! stores is served at once — a disabled shop is unknown to the ERP, the admin API and
//! the warehouse callback. A second server on the same database follows an edit within
//! seconds; a server started later keeps the console's settings over the file's.

use std::time::{Duration, Instant};

use polymall::operators::Role;
use serde_json::json;

use crate::console_client::{add_operator, Console};
use crate::helpers::{connect, count_sql, Backend, TestApp, TestDb, ADMIN_TOKEN};
use crate::on_both_backends;
use crate::polyapi_client::{fails, ok, PolyClient};

on_both_backends! {
    only_admins_change_shops_and_every_refusal_names_its_field => refusals;
    shops_are_created_edited_disabled_and_secrets_stay_write_only => editing;
    placeholder_secrets_are_refused_when_the_server_is_reachable => placeholders;
    another_server_follows_an_edit_and_a_later_one_keeps_it => two_servers;
    the_file_seeds_the_shops_and_a_console_edit_wins_over_it => seeding;
    a_warehouse_customer_belongs_to_one_shop => shared_customer;
}

/// The warehouse's callbacks find their shop by `customerId`: a second shop given the
/// same customer is refused, naming the key and the shop that has it.
async fn shared_customer(backend: Backend) {
    let Some(db) = TestDb::new(backend) else {
        return;
    };
    let app = TestApp::spawn_with(db, |config| {
        config.shops[0].wms = Some(crate::fake_wms::wms_config("http://127.0.0.1:9/wms", "C1"));
    })
    .await;
    add_operator(&app, "boss", Role::Admin);
    let admin = Console::sign_in(&app, "boss").await;
    let created = admin
        .post(
            "/console/shops",
            &[
                ("code", "north"),
                ("name", "北店"),
                ("utc_offset", "+08:00"),
            ],
        )
        .await;
    assert_eq!(created.status, 303, "{}", created.body);
    let warehouse = |customer: &'static str| {
        vec![
            ("url", "https://wms.example.com/qimen"),
            ("app_key", "k"),
            ("secret", "s"),
            ("customer_id", customer),
            ("owner_code", "O"),
            ("warehouse_code", "W"),
            ("sender.name", "仓"),
            ("sender.mobile", "13800000000"),
            ("sender.province", "浙江省"),
            ("sender.city", "杭州市"),
            ("sender.area", "西湖区"),
            ("sender.address", "文三路1号"),
        ]
    };
    let refused = admin
        .post(&shop_path("north", "/integrations/wms"), &warehouse("C1"))
        .await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(
        refused.body.contains("<strong>wms.customer_id</strong>") && refused.body.contains("demo"),
        "{}",
        refused.body
    );
    let taken = admin
        .post(&shop_path("north", "/integrations/wms"), &warehouse("C2"))
        .await;
    assert_eq!(taken.status, 303, "{}", taken.body);
}

/// The editor's forms post to these paths.
fn shop_path(code: &str, rest: &str) -> String {
    format!("/console/shops/{code}{rest}")
}

/// The calls of shop `demo` with another appsecret.
fn demo_signed_with<'a>(app: &'a TestApp, secret: &'static str) -> PolyClient<'a> {
    let mut client = PolyClient::demo(app);
    client.secret = secret;
    client
}

async fn get_order_page(client: &PolyClient<'_>) -> serde_json::Value {
    client.call("GetOrder", json!({"PageIndex": 1})).await
}

/// The shop's stored settings version.
fn version(app: &TestApp, code: &str) -> i64 {
    polymall::shop::settings::find(&mut connect(&app.db.url), code)
        .expect("shop")
        .version
}

async fn refusals(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    add_operator(&app, "boss", Role::Admin);
    add_operator(&app, "ops", Role::Operator);
    add_operator(&app, "look", Role::Viewer);
    let before = version(&app, "demo");

    // Viewers and operators neither see nor change shops.
    for name in ["look", "ops"] {
        let console = Console::sign_in(&app, name).await;
        assert_eq!(console.get("/console/shops").await.status, 403, "{name}");
        assert_eq!(console.get("/console/shops/demo").await.status, 403);
        let page = console.get("/console").await.body;
        assert!(!page.contains("href=\"/console/shops\""), "{name}: {page}");
        for (path, fields) in [
            (shop_path("demo", "/state"), vec![("enabled", "false")]),
            (
                shop_path("demo", "/rotate"),
                vec![("appsecret", "stolen-secret")],
            ),
            (
                shop_path("demo", ""),
                vec![("name", "x"), ("utc_offset", "+08:00")],
            ),
            (
                shop_path("demo", "/integrations/polyapi"),
                vec![("appkey", "x")],
            ),
            (
                "/console/shops".to_owned(),
                vec![("code", "x"), ("name", "x"), ("utc_offset", "+08:00")],
            ),
        ] {
            let refused = console.post(&path, &fields).await;
            assert_eq!(refused.status, 403, "{name} {path}: {}", refused.body);
        }
    }
    // An admin's form without its token, or with another's, is refused too.
    let admin = Console::sign_in(&app, "boss").await;
    let missing = admin
        .post_exactly(&shop_path("demo", "/state"), &[("enabled", "false")])
        .await;
    assert_eq!(missing.status, 403);
    let wrong = admin
        .post_exactly(
            &shop_path("demo", "/state"),
            &[("csrf", "0".repeat(64).as_str()), ("enabled", "false")],
        )
        .await;
    assert_eq!(wrong.status, 403);
    assert_eq!(version(&app, "demo"), before, "nothing changed");
    ok(get_order_page(&PolyClient::demo(&app)).await);
    assert_eq!(
        count_sql(&app, "SELECT id FROM audit_log WHERE action LIKE 'shop%'"),
        0
    );

    // Rules of the file apply, and each refusal names the key.
    let created = admin
        .post(
            "/console/shops",
            &[
                ("code", "north"),
                ("name", "北店"),
                ("utc_offset", "+08:00"),
            ],
        )
        .await;
    assert_eq!(created.status, 303, "{}", created.body);
    let refusal = |answer: &crate::console_client::Answer, field: &str| {
        assert_eq!(answer.status, 400, "{}", answer.body);
        assert!(
            answer.body.contains(&format!("<strong>{field}</strong>")),
            "{field}: {}",
            answer.body
        );
    };
    let shared = admin
        .post(
            &shop_path("north", "/integrations/polyapi"),
            &[
                ("appkey", "k"),
                ("appsecret", "north-secret"),
                ("token", "N"),
            ],
        )
        .await;
    refusal(&shared, "polyapi.appkey");
    assert!(
        shared.body.contains("demo"),
        "names the shop: {}",
        shared.body
    );
    for (integration, fields, field) in [
        (
            "jushuitan",
            vec![
                ("api", "open"),
                ("base_url", "ftp://jst.example.com"),
                ("shop_id", "10001"),
                ("app_key", "a"),
                ("app_secret", "s"),
                ("access_token", "t"),
            ],
            "jushuitan.base_url",
        ),
        (
            "jushuitan",
            vec![
                ("api", "open"),
                ("base_url", "https://openapi.jushuitan.com"),
                ("shop_id", "10001"),
                ("app_key", "a"),
                ("access_token", "t"),
            ],
            "jushuitan.app_secret",
        ),
        (
            "jushuitan",
            vec![("api", "open"), ("shop_id", "many")],
            "jushuitan.shop_id",
        ),
        ("jushuitan", vec![("api", "sideways")], "jushuitan.api"),
        (
            "wms",
            vec![
                ("url", "https://wms.example.com/qimen"),
                ("app_key", "k"),
                ("secret", "s"),
                ("customer_id", "C9"),
                ("owner_code", "O"),
                ("warehouse_code", "W"),
            ],
            "wms.sender.name",
        ),
        (
            "kingdee",
            vec![
                ("base_url", "https://k3.example.com/k3cloud/"),
                ("acct_id", "1"),
                ("username", "u"),
                ("password", "p"),
                ("app_id", "a"),
                ("app_secret", "s"),
            ],
            "kingdee.password",
        ),
        (
            "polyapi",
            vec![
                ("appkey", "k-north"),
                ("appsecret", "north-secret"),
                ("token", "N"),
                ("disabled_methods", "Consume, Teleport"),
            ],
            "polyapi.disabled_methods",
        ),
    ] {
        let answer = admin
            .post(
                &shop_path("north", &format!("/integrations/{integration}")),
                &fields,
            )
            .await;
        refusal(&answer, field);
    }
    let zone = admin
        .post(
            &shop_path("north", ""),
            &[("name", "北店"), ("utc_offset", "8")],
        )
        .await;
    refusal(&zone, "utc_offset");
    let code = admin
        .post(
            "/console/shops",
            &[
                ("code", "North Shop"),
                ("name", "x"),
                ("utc_offset", "+08:00"),
            ],
        )
        .await;
    refusal(&code, "code");
    let twice = admin
        .post(
            "/console/shops",
            &[("code", "north"), ("name", "x"), ("utc_offset", "+08:00")],
        )
        .await;
    assert_eq!(twice.status, 400, "{}", twice.body);
    let unknown = admin
        .post(&shop_path("nowhere", "/state"), &[("enabled", "false")])
        .await;
    assert_eq!(unknown.status, 404);
    // Nothing of the refused edits was stored.
    assert_eq!(version(&app, "north"), 1);
    assert_eq!(
        count_sql(
            &app,
            "SELECT shop_id FROM shop_settings WHERE settings LIKE '%north-secret%' OR settings LIKE '%jushuitan%'"
        ),
        0
    );
}

async fn editing(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    add_operator(&app, "boss", Role::Admin);
    let admin = Console::sign_in(&app, "boss").await;
    let created = admin
        .post(
            "/console/shops",
            &[
                ("code", "north"),
                ("name", "北店"),
                ("utc_offset", "+09:00"),
            ],
        )
        .await;
    assert_eq!(created.status, 303, "{}", created.body);
    assert_eq!(
        created.location(),
        "/console/shops/north?notice=shop_saved&n=1"
    );
    let polyapi = admin
        .post(
            &shop_path("north", "/integrations/polyapi"),
            &[
                ("appkey", "k-north"),
                ("appsecret", "north-appsecret-value"),
                ("token", "north-token-value"),
            ],
        )
        .await;
    assert_eq!(polyapi.status, 303, "{}", polyapi.body);
    // Served at once by this server.
    let north = PolyClient {
        app: &app,
        appkey: "k-north",
        secret: "north-appsecret-value",
        token: "north-token-value",
    };
    ok(get_order_page(&north).await);
    let posted = app
        .client
        .get(format!("{}/admin/v1/shops/north/orders", app.address))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .expect("admin");
    assert_eq!(posted.status(), 200);

    // A warehouse that calls back at its own URL.
    let callback_token = "cb".repeat(20);
    let wms = admin
        .post(
            &shop_path("north", "/integrations/wms"),
            &[
                ("url", "http://127.0.0.1:9/wms"),
                ("app_key", "north-wms"),
                ("customer_id", "C-NORTH"),
                ("owner_code", "O"),
                ("warehouse_code", "W"),
                ("callback_auth", "url_token"),
                ("callback_token", &callback_token),
                ("sender.name", "北仓"),
                ("sender.mobile", "13800000000"),
                ("sender.province", "浙江省"),
                ("sender.city", "杭州市"),
                ("sender.area", "西湖区"),
                ("sender.address", "文三路1号"),
            ],
        )
        .await;
    assert_eq!(wms.status, 303, "{}", wms.body);
    let callback = || async {
        app.client
            .post(format!("{}/qimen/callback/{callback_token}", app.address))
            .header("Content-Type", "text/xml")
            .body(include_str!("fixtures/deliveryorder_confirm.xml"))
            .send()
            .await
            .expect("callback")
            .text()
            .await
            .expect("body")
    };
    let known = callback().await;
    assert!(
        !known.contains("<code>401</code>"),
        "the warehouse is known: {known}"
    );

    // The editor shows whether a secret is set, never what it is; a blank field keeps it.
    let page = admin.get(&shop_path("north", "")).await;
    assert_eq!(page.status, 200);
    for secret in [
        "north-appsecret-value",
        "north-token-value",
        callback_token.as_str(),
    ] {
        assert!(!page.body.contains(secret), "{secret} shown: {}", page.body);
    }
    assert!(page.body.contains("已设置"), "{}", page.body);
    let renamed = admin
        .post(
            &shop_path("north", "/integrations/polyapi"),
            &[
                ("appkey", "k-north-2"),
                ("token", ""),
                ("disabled_methods", "Consume"),
            ],
        )
        .await;
    assert_eq!(renamed.status, 303, "{}", renamed.body);
    fails(
        &get_order_page(&north).await,
        "GSE.APPKEY_FAILURE",
        "k-north",
    );
    let north = PolyClient {
        appkey: "k-north-2",
        ..north
    };
    ok(get_order_page(&north).await);
    fails(
        &north
            .call("Consume", json!({"PlatOrderNo": "x", "VerifyCode": "1"}))
            .await,
        "GSE.PLAT_NOT_SUPPORT",
        "Consume",
    );
    let general = admin
        .post(
            &shop_path("north", ""),
            &[("name", "北方店"), ("utc_offset", "+08:00")],
        )
        .await;
    assert_eq!(general.status, 303);
    let unchanged = admin
        .post(
            &shop_path("north", ""),
            &[("name", "北方店"), ("utc_offset", "+08:00")],
        )
        .await;
    assert_eq!(
        unchanged.location(),
        "/console/shops/north?notice=shop_unchanged&n=1"
    );
    assert_eq!(
        count_sql(
            &app,
            "SELECT id FROM shops WHERE code = 'north' AND name = '北方店' AND utc_offset_minutes = 480"
        ),
        1
    );

    // Disabled: unknown to the ERP, the admin API and the warehouse; data and settings stay.
    let disabled = admin
        .post(&shop_path("north", "/state"), &[("enabled", "false")])
        .await;
    assert_eq!(disabled.status, 303);
    fails(
        &get_order_page(&north).await,
        "GSE.APPKEY_FAILURE",
        "k-north-2",
    );
    let admin_api = app
        .client
        .get(format!("{}/admin/v1/shops/north/orders", app.address))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .expect("admin");
    assert_eq!(admin_api.status(), 404);
    assert!(callback().await.contains("<code>401</code>"));
    let listed = admin.get("/console/shops").await.body;
    assert!(listed.contains("已停用"), "{listed}");
    let enabled = admin
        .post(&shop_path("north", "/state"), &[("enabled", "true")])
        .await;
    assert_eq!(enabled.status, 303);
    ok(get_order_page(&north).await);

    // Removing an integration.
    let removed = admin
        .post(&shop_path("north", "/integrations/wms/remove"), &[])
        .await;
    assert_eq!(removed.status, 303);
    assert!(callback().await.contains("<code>401</code>"));

    // The audit log names the shop and the keys, never a secret.
    let audit = admin.get("/console/audit").await.body;
    for secret in [
        "north-appsecret-value",
        "north-token-value",
        callback_token.as_str(),
    ] {
        assert!(!audit.contains(secret), "{secret} in the audit log");
    }
    assert!(audit.contains("polyapi.appkey"), "{audit}");
    assert!(audit.contains("wms.callback_token"), "{audit}");
    assert!(
        audit.contains("停用店铺") && audit.contains("启用店铺"),
        "{audit}"
    );
    for (action, times) in [
        ("shop_create", 1),
        ("shop_change", 5),
        ("shop_disable", 1),
        ("shop_enable", 1),
    ] {
        let sql = format!(
            "SELECT id FROM audit_log WHERE action = '{action}' AND actor = 'boss' \
             AND subject = 'north' AND shop_id IS NOT NULL"
        );
        assert_eq!(count_sql(&app, &sql), times, "{action}");
    }
}

async fn placeholders(backend: Backend) {
    let Some(db) = TestDb::new(backend) else {
        return;
    };
    let app = TestApp::spawn_with(db, |config| {
        config.server.listen = "0.0.0.0:0".to_owned();
    })
    .await;
    add_operator(&app, "boss", Role::Admin);
    let admin = Console::sign_in(&app, "boss").await;
    let rotated = admin
        .post(
            &shop_path("demo", "/rotate"),
            &[("appsecret", "change-me-later")],
        )
        .await;
    assert_eq!(rotated.status, 400, "{}", rotated.body);
    assert!(rotated.body.contains("<strong>polyapi.appsecret</strong>"));
    let token = admin
        .post(
            &shop_path("demo", "/integrations/polyapi"),
            &[("appkey", "k"), ("token", "CHANGE_ME")],
        )
        .await;
    assert_eq!(token.status, 400, "{}", token.body);
    assert!(token.body.contains("<strong>polyapi.token</strong>"));
    ok(get_order_page(&PolyClient::demo(&app)).await);
}

/// Calls `check` until it holds, for at most 20 seconds (the other server looks every
/// two).
async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(20) {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{what}: not within 20 seconds");
}

fn succeeded(answer: &serde_json::Value) -> bool {
    answer["code"] == "10000"
}

async fn two_servers(backend: Backend) {
    let Some(db) = TestDb::new(backend) else {
        return;
    };
    let shared = db.alias();
    let first = TestApp::spawn_with(db, |_| {}).await;
    let second = TestApp::spawn_with(shared, |_| {}).await;
    add_operator(&first, "boss", Role::Admin);
    let admin = Console::sign_in(&first, "boss").await;
    ok(get_order_page(&PolyClient::demo(&second)).await);

    // A rotation without overlap in the first: the second follows.
    let rotated = admin
        .post(
            &shop_path("demo", "/rotate"),
            &[("appsecret", "rotated-secret"), ("overlap_minutes", "0")],
        )
        .await;
    assert_eq!(rotated.status, 303, "{}", rotated.body);
    fails(
        &get_order_page(&PolyClient::demo(&first)).await,
        "GSE.VERIFYSIGN_FAILURE",
        "sign",
    );
    ok(get_order_page(&demo_signed_with(&first, "rotated-secret")).await);
    eventually("the second server takes the new secret", async || {
        succeeded(&get_order_page(&demo_signed_with(&second, "rotated-secret")).await)
            && !succeeded(&get_order_page(&PolyClient::demo(&second)).await)
    })
    .await;

    // Disabled in the first: unknown to the second too.
    let disabled = admin
        .post(&shop_path("demo", "/state"), &[("enabled", "false")])
        .await;
    assert_eq!(disabled.status, 303);
    eventually("the second server no longer knows the shop", async || {
        get_order_page(&demo_signed_with(&second, "rotated-secret")).await["subcode"]
            == "GSE.APPKEY_FAILURE"
    })
    .await;
    let enabled = admin
        .post(&shop_path("demo", "/state"), &[("enabled", "true")])
        .await;
    assert_eq!(enabled.status, 303);

    // A server started later with the same file keeps the console's settings: the
    // file's appsecret is not the one in force.
    let third = TestApp::spawn_with(second.db.alias(), |_| {}).await;
    ok(get_order_page(&demo_signed_with(&third, "rotated-secret")).await);
    fails(
        &get_order_page(&PolyClient::demo(&third)).await,
        "GSE.VERIFYSIGN_FAILURE",
        "sign",
    );
    assert_eq!(
        count_sql(
            &third,
            "SELECT shop_id FROM shop_settings WHERE origin = 'console' AND enabled"
        ),
        1
    );
}

/// The name a shop has in the database.
fn stored_name(app: &TestApp, code: &str) -> String {
    polymall::shop::settings::find(&mut connect(&app.db.url), code)
        .expect("shop")
        .settings
        .name
}

async fn seeding(backend: Backend) {
    let Some(db) = TestDb::new(backend) else {
        return;
    };
    let first = TestApp::spawn_with(db, |_| {}).await;
    // A server started with a changed file: a shop from the file follows it, a new one
    // is stored.
    let second = TestApp::spawn_with(first.db.alias(), |config| {
        config.shops[0].name = "Renamed in the file".to_owned();
        let mut east = config.shops[0].clone();
        east.code = "east".to_owned();
        east.polyapi = None;
        config.shops.push(east);
    })
    .await;
    assert_eq!(stored_name(&second, "demo"), "Renamed in the file");
    assert_eq!(version(&second, "east"), 1);

    add_operator(&second, "boss", Role::Admin);
    let admin = Console::sign_in(&second, "boss").await;
    let renamed = admin
        .post(
            &shop_path("demo", ""),
            &[("name", "Named in the console"), ("utc_offset", "+08:00")],
        )
        .await;
    assert_eq!(renamed.status, 303, "{}", renamed.body);

    // Another start with the file: the console's settings stay; a shop the file no
    // longer names keeps being served.
    let third = TestApp::spawn_with(first.db.alias(), |config| {
        config.shops[0].name = "The file again".to_owned();
    })
    .await;
    assert_eq!(stored_name(&third, "demo"), "Named in the console");
    let east = polymall::shop::settings::find(&mut connect(&third.db.url), "east").expect("east");
    assert!(east.enabled);

    // A command run with another file (here: none, so no shops) changes nothing.
    let dir = tempfile::tempdir().expect("dir");
    let listed = std::process::Command::new(env!("CARGO_BIN_EXE_polymall"))
        .current_dir(dir.path())
        .env_remove("POLYMALL_CONFIG")
        .env("POLYMALL__DATABASE__URL", &third.db.url)
        .args(["shop", "list"])
        .output()
        .expect("shop list");
    let said = String::from_utf8_lossy(&listed.stdout);
    assert!(
        listed.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&listed.stderr)
    );
    assert!(said.contains("console") && said.contains("east"), "{said}");
    assert_eq!(stored_name(&third, "demo"), "Named in the console");
    assert_eq!(version(&third, "east"), 1);
}
