//! The console over HTTP: what it refuses (no session, a wrong or missing form token,
//! the wrong role, too many sign-ins, hostile input, ended sessions) and what it does
//! (outbox actions, stock changes, operators), each action in the audit log.

use polymall::operators::Role;
use serde_json::json;

use crate::admin::full_order;
use crate::console_client::{
    add_operator, kill_outbox_row, no_redirects, post_sign_in, set_cookie, sign_in_form,
    spawn_with_outbox, Console, PASSWORD,
};
use crate::helpers::{count_sql, execute_sql, Backend, TestApp, ADMIN_TOKEN};
use crate::on_both_backends;
use crate::polyapi_client::{ok, PolyClient};

on_both_backends! {
    console_needs_a_session_and_every_form_its_token => needs_session_and_token;
    sign_in_attempts_are_limited_per_account_and_address => sign_in_limits;
    viewers_look_operators_act_admins_manage => roles;
    sessions_end_when_idle_disabled_or_signed_out => sessions_end;
    outbox_actions_and_stock_changes_are_audited => actions_audited;
    hostile_console_input_is_refused_naming_the_field => hostile_input;
    the_overview_shows_orders_polling_and_the_outbox => overview;
    the_overviews_orders_placed_are_the_orders_counted => placed_counts;
}

/// The overview's orders placed since a time come from the counts the database keeps: for
/// boundaries inside a second, a minute, an hour and a day, before and after the counts
/// are folded and after orders change status, they are the orders there are.
async fn placed_counts(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let now = polymall::time::now_utc();
    let ago = |secs: i64, millis: i64| {
        now - chrono::Duration::seconds(secs) - chrono::Duration::milliseconds(millis)
    };
    // The demo shop is at +08:00; the wire's times are whole seconds.
    let local = |t: chrono::NaiveDateTime| {
        (t + chrono::Duration::hours(8))
            .format("%Y-%m-%d %H:%M:%S")
            .to_string()
    };
    let placed = [9 * 86_400, 3 * 86_400 + 17, 5 * 3_600 + 3, 4_200, 59, 1];
    let mut orders = Vec::new();
    for (i, secs) in placed.iter().enumerate() {
        for k in 0..3 {
            let mut order = full_order(&format!("PS-{i}-{k}"));
            order["tradetime"] = json!(local(ago(*secs, 0)));
            orders.push(order);
        }
    }
    assert_eq!(app.admin_post("orders", &json!(orders)).await.0, 200);
    let boundaries = [
        ago(10 * 86_400, 500),
        ago(7 * 86_400, 0),
        ago(3 * 86_400 + 17, 500),
        ago(5 * 3_600, 250),
        ago(4_200, 750),
        ago(30, 500),
    ];
    let check = |label: &str| {
        let (mut conn, shop) = crate::helpers::demo_shop(&app.db.url);
        for since in boundaries {
            let counts =
                polymall::reports::orders::placed_since(&mut conn, shop.id, since).expect("counts");
            for (status, n) in counts {
                let exact = count_sql(
                    &app,
                    &format!(
                        "SELECT id FROM orders WHERE shop_id = {} AND trade_status = '{status}' \
                         AND created_at >= '{}'",
                        shop.id,
                        since.format("%Y-%m-%d %H:%M:%S%.6f")
                    ),
                );
                assert_eq!(n, exact, "{label}: {status} since {since}");
            }
        }
    };
    let fold = || {
        let (mut conn, _) = crate::helpers::demo_shop(&app.db.url);
        polymall::shop::orders::fold_order_counts(&mut conn).expect("fold");
    };
    check("as written");
    fold();
    check("folded");
    let closed: Vec<_> = ["PS-1-0", "PS-3-1", "PS-5-2"]
        .iter()
        .map(|no| {
            let mut order = orders
                .iter()
                .find(|order| order["PlatOrderNo"] == *no)
                .cloned()
                .expect("posted");
            order["tradeStatus"] = json!("JH_05");
            order
        })
        .collect();
    assert_eq!(app.admin_post("orders", &json!(closed)).await.0, 200);
    check("closed, not folded");
    fold();
    check("closed and folded");
    assert_eq!(
        count_sql(&app, "SELECT id FROM orders WHERE trade_status = 'JH_05'"),
        3,
        "three closed"
    );
}

async fn needs_session_and_token(backend: Backend) {
    let Some(app) = spawn_with_outbox(backend).await else {
        return;
    };
    add_operator(&app, "ops", Role::Operator);
    app.admin_post("orders", &json!([full_order("C-1")])).await;
    let row = kill_outbox_row(&app, "C-1");
    let client = no_redirects();
    let url = |path: &str| format!("{}{path}", app.address);

    // No session: pages send the browser to sign in; actions are refused.
    for path in [
        "/console",
        "/console/orders",
        "/console/outbox",
        "/console/audit",
    ] {
        let response = client.get(url(path)).send().await.unwrap();
        assert_eq!(response.status(), 303, "{path}");
        assert_eq!(response.headers()["location"], "/console/sign-in");
    }
    let id = row.to_string();
    let anonymous = client
        .post(url("/console/outbox/retry"))
        .form(&[("id", id.as_str()), ("csrf", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    let forged = client
        .get(url("/console/orders"))
        .header("cookie", format!("polymall_session={}", "ab".repeat(32)))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 303, "an unknown session is no session");

    // The sign-in form itself needs its cookie and token.
    let (cookie, token) = sign_in_form(&app).await;
    let without_cookie = client
        .post(url("/console/sign-in"))
        .form(&[
            ("csrf", token.as_str()),
            ("name", "ops"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(without_cookie.status(), 403);
    let wrong_token = post_sign_in(&app, &cookie, &"0".repeat(64), "ops", PASSWORD).await;
    assert_eq!(wrong_token.status, 403);
    let wrong_password = post_sign_in(&app, &cookie, &token, "ops", "not the password").await;
    assert_eq!(wrong_password.status, 401);
    assert!(
        wrong_password.body.contains("用户名或密码错误"),
        "{}",
        wrong_password.body
    );
    assert!(set_cookie(&wrong_password.headers, "polymall_session").is_none());

    // Signed in, a form without its token, with another session's token, or with a
    // token given twice is refused and changes nothing.
    let ops = Console::sign_in(&app, "ops").await;
    let other = Console::sign_in(&app, "ops").await;
    assert_ne!(ops.csrf, other.csrf, "each session has its own form token");
    let missing = ops
        .post_exactly("/console/outbox/retry", &[("id", &id)])
        .await;
    assert_eq!(missing.status, 403, "{}", missing.body);
    let foreign = ops
        .post_exactly(
            "/console/outbox/retry",
            &[("id", &id), ("csrf", &other.csrf)],
        )
        .await;
    assert_eq!(foreign.status, 403);
    let doubled = ops
        .post_exactly(
            "/console/outbox/retry",
            &[("id", &id), ("csrf", &ops.csrf), ("csrf", &ops.csrf)],
        )
        .await;
    assert_eq!(doubled.status, 403);
    let sign_out_without_token = ops.post_exactly("/console/sign-out", &[]).await;
    assert_eq!(sign_out_without_token.status, 403);
    assert_eq!(
        count_sql(
            &app,
            &format!("SELECT id FROM outbox WHERE id = {row} AND state = 'dead'")
        ),
        1,
        "nothing was retried"
    );
    assert_eq!(
        count_sql(
            &app,
            "SELECT id FROM audit_log WHERE action = 'outbox_retry'"
        ),
        0
    );

    // The session cookie's attributes, and the pages' protective headers.
    let (cookie, token) = sign_in_form(&app).await;
    let signed = post_sign_in(&app, &cookie, &token, "ops", PASSWORD).await;
    let line = set_cookie(&signed.headers, "polymall_session").unwrap();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/console"] {
        assert!(line.contains(attribute), "{line}");
    }
    assert!(
        !line.contains("Secure"),
        "plain HTTP unless configured: {line}"
    );
    let page = ops.get("/console/outbox").await;
    for header in [
        "content-security-policy",
        "x-frame-options",
        "x-content-type-options",
    ] {
        assert!(page.headers.contains_key(header), "{header}");
    }
    assert_eq!(page.headers["cache-control"], "no-store");
}

async fn sign_in_limits(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    add_operator(&app, "ops", Role::Operator);
    let (cookie, token) = sign_in_form(&app).await;
    // Five wrong guesses for one name; the sixth attempt is refused even with the right
    // password, before the password is looked at.
    for _ in 0..polymall::console::SIGN_INS_PER_ACCOUNT {
        let wrong = post_sign_in(&app, &cookie, &token, "ops", "wrong password").await;
        assert_eq!(wrong.status, 401);
    }
    let limited = post_sign_in(&app, &cookie, &token, "ops", PASSWORD).await;
    assert_eq!(limited.status, 429, "{}", limited.body);
    assert!(set_cookie(&limited.headers, "polymall_session").is_none());
    // Another name from the same address still gets its attempts, until the address
    // has used its own.
    add_operator(&app, "other", Role::Viewer);
    let other = post_sign_in(&app, &cookie, &token, "other", PASSWORD).await;
    assert_eq!(other.status, 303);
    let mut refused = 0;
    for n in 0..polymall::console::SIGN_INS_PER_ADDRESS {
        let name = format!("guess{n}");
        if post_sign_in(&app, &cookie, &token, &name, "wrong password")
            .await
            .status
            == 429
        {
            refused += 1;
        }
    }
    assert!(refused > 0, "the address ran out of attempts");
    let after = post_sign_in(&app, &cookie, &token, "other", PASSWORD).await;
    assert_eq!(after.status, 429);
}

async fn roles(backend: Backend) {
    let Some(app) = spawn_with_outbox(backend).await else {
        return;
    };
    add_operator(&app, "boss", Role::Admin);
    add_operator(&app, "look", Role::Viewer);
    add_operator(&app, "ops", Role::Operator);
    app.admin_post("orders", &json!([full_order("R-1")])).await;
    let row = kill_outbox_row(&app, "R-1").to_string();
    let look = Console::sign_in(&app, "look").await;
    let ops = Console::sign_in(&app, "ops").await;
    let boss = Console::sign_in(&app, "boss").await;

    // A viewer sees the outbox without its actions, and is refused when posting anyway.
    let seen = look.get("/console/outbox?state=dead").await;
    assert_eq!(seen.status, 200);
    assert!(seen.body.contains("R-1") && !seen.body.contains("/console/outbox/hold"));
    for path in ["/console/outbox/retry", "/console/outbox/release"] {
        assert_eq!(look.post(path, &[("id", &row)]).await.status, 403, "{path}");
    }
    let stock = look
        .post(
            "/console/stock",
            &[("shop", "demo"), ("product", "P"), ("quantity", "1")],
        )
        .await;
    assert_eq!(stock.status, 403);
    // Operators act on the outbox, but do not manage operators.
    assert_eq!(look.get("/console/operators").await.status, 403);
    assert_eq!(ops.get("/console/operators").await.status, 403);
    let made = ops
        .post(
            "/console/operators",
            &[
                ("name", "sneaky"),
                ("password", PASSWORD),
                ("role", "admin"),
            ],
        )
        .await;
    assert_eq!(made.status, 403);
    assert_eq!(
        count_sql(&app, "SELECT id FROM operators WHERE name = 'sneaky'"),
        0
    );
    assert!(!ops
        .get("/console")
        .await
        .body
        .contains("/console/operators"));

    let retried = ops.post("/console/outbox/retry", &[("id", &row)]).await;
    assert_eq!(retried.status, 303, "{}", retried.body);
    assert!(retried.location().contains("notice=retried&n=1"));

    // An admin creates an operator, changes a role, and cannot remove the last admin.
    let created = boss
        .post(
            "/console/operators",
            &[
                ("name", "newbie"),
                ("password", PASSWORD),
                ("role", "viewer"),
            ],
        )
        .await;
    assert_eq!(created.status, 303, "{}", created.body);
    let listed = boss.get("/console/operators").await.body;
    assert!(listed.contains("newbie"));
    assert!(!listed.contains("argon2"), "no password hash is shown");
    let newbie = Console::sign_in(&app, "newbie").await;
    assert_eq!(newbie.get("/console/outbox").await.status, 200);
    let taken = boss
        .post(
            "/console/operators",
            &[
                ("name", "newbie"),
                ("password", PASSWORD),
                ("role", "viewer"),
            ],
        )
        .await;
    assert_eq!(taken.status, 409);
    assert_eq!(
        count_sql(
            &app,
            "SELECT id FROM operators WHERE name = 'boss' AND id = 1"
        ),
        1
    );
    let demote_self = boss
        .post("/console/operators/1", &[("role", "viewer")])
        .await;
    assert_eq!(demote_self.status, 409, "{}", demote_self.body);
    assert!(demote_self.body.contains("admin"));
}

async fn sessions_end(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    add_operator(&app, "boss", Role::Admin);
    add_operator(&app, "ops", Role::Operator);
    // Unused past the idle time.
    let idle = Console::sign_in(&app, "ops").await;
    execute_sql(
        &app,
        "UPDATE operator_sessions SET last_seen_at = '2000-01-01 00:00:00'",
    );
    assert_eq!(idle.get("/console").await.status, 303);
    assert_eq!(
        count_sql(&app, "SELECT id_hash FROM operator_sessions"),
        0,
        "the ended session is deleted"
    );
    // Past its maximum age.
    let old = Console::sign_in(&app, "ops").await;
    execute_sql(
        &app,
        "UPDATE operator_sessions SET expires_at = '2000-01-01 00:00:00'",
    );
    assert_eq!(old.get("/console").await.status, 303);
    // Signed out: the cookie no longer works.
    let out = Console::sign_in(&app, "ops").await;
    let signed_out = out.post("/console/sign-out", &[]).await;
    assert_eq!(signed_out.status, 303);
    assert_eq!(out.get("/console").await.status, 303);
    // Disabled by an admin: the session ends and sign-in is refused.
    let ops = Console::sign_in(&app, "ops").await;
    let boss = Console::sign_in(&app, "boss").await;
    let id: i64 = {
        use diesel::prelude::*;
        polymall::db::schema::operators::table
            .filter(polymall::db::schema::operators::name.eq("ops"))
            .select(polymall::db::schema::operators::id)
            .first(&mut crate::helpers::connect(&app.db.url))
            .unwrap()
    };
    let disabled = boss
        .post(&format!("/console/operators/{id}"), &[("disabled", "true")])
        .await;
    assert_eq!(disabled.status, 303, "{}", disabled.body);
    assert_eq!(ops.get("/console").await.status, 303);
    let (cookie, token) = sign_in_form(&app).await;
    assert_eq!(
        post_sign_in(&app, &cookie, &token, "ops", PASSWORD)
            .await
            .status,
        401
    );
    // Session ids are stored hashed.
    let stored = count_sql(
        &app,
        &format!(
            "SELECT id_hash FROM operator_sessions WHERE id_hash = '{}'",
            boss.session
        ),
    );
    assert_eq!(stored, 0, "the cookie value is not what the database holds");
}

async fn actions_audited(backend: Backend) {
    let Some(app) = spawn_with_outbox(backend).await else {
        return;
    };
    add_operator(&app, "ops", Role::Operator);
    app.admin_post("orders", &json!([full_order("A-1"), full_order("A-2")]))
        .await;
    let dead = kill_outbox_row(&app, "A-1").to_string();
    let ops = Console::sign_in(&app, "ops").await;

    // Hold needs a reason; a held row is released; a dead one retried.
    let no_reason = ops.post("/console/outbox/hold", &[("id", &dead)]).await;
    assert_eq!(no_reason.status, 400);
    assert!(no_reason.body.contains("reason"));
    let held = ops
        .post(
            "/console/outbox/hold",
            &[("id", &dead), ("reason", "客户要求暂停")],
        )
        .await;
    assert_eq!(held.status, 303, "{}", held.body);
    let page = ops.get("/console/outbox?state=held").await.body;
    assert!(page.contains("held by ops: 客户要求暂停"), "{page}");
    let retry_held_as_release = ops.post("/console/outbox/release", &[("id", &dead)]).await;
    assert_eq!(retry_held_as_release.status, 303);
    assert_eq!(
        count_sql(
            &app,
            &format!("SELECT id FROM outbox WHERE id = {dead} AND state = 'pending'")
        ),
        1
    );
    let release_pending = ops.post("/console/outbox/release", &[("id", &dead)]).await;
    assert_eq!(release_pending.status, 409, "only held rows are released");
    let retry_pending = ops.post("/console/outbox/retry", &[("id", &dead)]).await;
    assert_eq!(retry_pending.status, 409, "{}", retry_pending.body);

    // Stock set in the console shows where it came from; SyncStock moves it on.
    app.admin_post(
        "products",
        &json!([{"PlatProductID": "P-9", "name": "茶杯", "OuterID": "CUP", "price": 9.9, "num": 7,
                 "pictureurl": "", "whsecode": "", "skus": [
                    {"SkuID": "P-9-a", "skuOuterID": "CUP-A", "skuprice": 9.9, "skuQuantity": 4,
                     "skuname": "白色", "skuproperty": "颜色:白色", "skupictureurl": ""}]}]),
    )
    .await;
    let product = ops.get("/console/products/demo/P-9").await.body;
    assert!(
        product.contains("商城后台"),
        "posted stock comes from the storefront: {product}"
    );
    let set = ops
        .post(
            "/console/stock",
            &[
                ("shop", "demo"),
                ("product", "P-9"),
                ("sku", "P-9-a"),
                ("quantity", "25"),
            ],
        )
        .await;
    assert_eq!(set.status, 303, "{}", set.body);
    let product = ops.get(set.location()).await.body;
    assert!(product.contains("库存已设置为 25"), "{product}");
    assert!(product.contains("控制台操作员"), "{product}");
    ok(PolyClient::demo(&app)
        .call(
            "SyncStock",
            json!({"PlatProductID": "P-9", "SkuID": "P-9-a", "Quantity": 3, "SyncStockType": "JH_02"}),
        )
        .await);
    let product = ops.get("/console/products/demo/P-9").await.body;
    assert!(
        product.contains(">28<") && product.contains("ERP（菠萝派）"),
        "{product}"
    );
    let unknown_sku = ops
        .post(
            "/console/stock",
            &[
                ("shop", "demo"),
                ("product", "P-9"),
                ("sku", "nope"),
                ("quantity", "1"),
            ],
        )
        .await;
    assert_eq!(unknown_sku.status, 400);
    assert!(unknown_sku.body.contains("SkuID"));

    // Every action is in the audit log, with who did it.
    for action in ["sign_in", "outbox_hold", "outbox_release", "stock_set"] {
        assert_eq!(
            count_sql(
                &app,
                &format!("SELECT id FROM audit_log WHERE action = '{action}' AND actor = 'ops'")
            ),
            1,
            "{action}"
        );
    }
    let audit = ops.get("/console/audit").await.body;
    assert!(
        audit.contains("P-9 / P-9-a") && audit.contains("客户要求暂停"),
        "{audit}"
    );
    let english = ops
        .client
        .get(format!("{}/console/audit", app.address))
        .header(
            "cookie",
            format!("polymall_session={}; polymall_lang=en", ops.session),
        )
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        english.contains("Set stock") && english.contains("Held outbox rows"),
        "{english}"
    );
}

async fn hostile_input(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    add_operator(&app, "boss", Role::Admin);
    let boss = Console::sign_in(&app, "boss").await;
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);
    let cases: &[Case] = &[
        (
            "/console/stock",
            &[("shop", "demo"), ("product", "P"), ("quantity", "12x")],
            "quantity",
        ),
        (
            "/console/stock",
            &[("shop", "demo"), ("product", "P"), ("quantity", "-1")],
            "quantity",
        ),
        (
            "/console/stock",
            &[("shop", "nowhere"), ("product", "P"), ("quantity", "1")],
            "shop",
        ),
        (
            "/console/stock",
            &[("shop", "demo"), ("product", "P\u{0}"), ("quantity", "1")],
            "product",
        ),
        (
            "/console/outbox/retry",
            &[("id", "1; DROP TABLE outbox")],
            "id",
        ),
        ("/console/outbox/retry", &[], "id"),
        (
            "/console/operators",
            &[
                ("name", "with space"),
                ("password", PASSWORD),
                ("role", "viewer"),
            ],
            "name",
        ),
        (
            "/console/operators",
            &[("name", "short"), ("password", "short"), ("role", "viewer")],
            "password",
        ),
        (
            "/console/operators",
            &[("name", "x"), ("password", PASSWORD), ("role", "root")],
            "role",
        ),
        ("/console/operators/1", &[("disabled", "maybe")], "disabled"),
    ];
    for (path, fields, field) in cases {
        let refused = boss.post(path, fields).await;
        assert_eq!(refused.status, 400, "{path} {fields:?}: {}", refused.body);
        assert!(
            refused.body.contains(field),
            "{path} names {field}: {}",
            refused.body
        );
    }
    let missing_row = boss
        .post("/console/outbox/retry", &[("id", "999999")])
        .await;
    assert_eq!(missing_row.status, 404);
    for query in [
        "/console/orders?status=JH_99",
        "/console/orders?from=2024-13-01",
        "/console/orders?page=0",
        "/console/outbox?state=lost",
        "/console/orders?shop=nowhere",
        "/console/orders?number=a%00b",
    ] {
        let refused = boss.get(query).await;
        assert_eq!(refused.status, 400, "{query}");
    }
    let huge = "x".repeat(70 * 1024);
    let too_large = boss
        .post("/console/stock", &[("shop", huge.as_str())])
        .await;
    assert_eq!(too_large.status, 413);
    // Redirects stay inside the console.
    let lang = no_redirects()
        .get(format!(
            "{}/console/lang/en?back=https://evil.example/",
            app.address
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(lang.headers()["location"], "/console");
    let bad_lang = boss.get("/console/lang/fr").await;
    assert_eq!(bad_lang.status, 400);
    // Names and text come back escaped.
    let mut hostile = full_order("<script>x</script>");
    hostile["nick"] = json!("<img src=x onerror=alert(1)>");
    app.admin_post("orders", &json!([hostile])).await;
    let page = boss
        .get("/console/orders?number=%3Cscript%3Ex%3C%2Fscript%3E")
        .await;
    assert!(!page.body.contains("<script>x"), "{}", page.body);
    assert!(
        page.body.contains("&#60;script&#62;x") || page.body.contains("&lt;script&gt;x"),
        "{}",
        page.body
    );
}

async fn overview(backend: Backend) {
    let Some(app) = spawn_with_outbox(backend).await else {
        return;
    };
    add_operator(&app, "look", Role::Viewer);
    let mut today = full_order("O-1");
    today["tradetime"] = json!((chrono::Utc::now() + chrono::Duration::hours(8))
        .format("%Y-%m-%d %H:%M:%S")
        .to_string());
    app.admin_post("orders", &json!([today, full_order("O-2")]))
        .await;
    kill_outbox_row(&app, "O-2");
    let client = PolyClient::demo(&app);
    for _ in 0..3 {
        ok(client
            .call("GetOrder", json!({"PlatOrderNo": "O-1", "PageIndex": 1}))
            .await);
    }
    let mut wrong = PolyClient::demo(&app);
    wrong.secret = "not-the-secret";
    wrong.call("GetOrder", json!({"PlatOrderNo": "O-1"})).await;
    let look = Console::sign_in(&app, "look").await;
    let page = look.get("/console").await.body;
    assert!(
        page.contains(
            "<td>demo</td><td>GetOrder</td><td class=\"num\">3</td><td class=\"num\">0</td>"
        ),
        "{page}"
    );
    assert!(
        page.contains(
            "<td>—</td><td>GetOrder</td><td class=\"num\">1</td><td class=\"num\">1</td>"
        ),
        "a call refused before its shop was known: {page}"
    );
    assert!(
        page.contains("<td>GSE.VERIFYSIGN_FAILURE</td><td class=\"num\">1</td>"),
        "{page}"
    );
    assert!(
        page.contains("订单金额不符"),
        "the dead row's reason: {page}"
    );
    assert!(page.contains("<td>demo</td><td>今天</td>"), "{page}");
    assert_eq!(
        count_sql(
            &app,
            "SELECT shop_id FROM polyapi_calls WHERE method = 'GetOrder'"
        ),
        2,
        "stored per outcome"
    );
    // No secret of the configuration appears on any page.
    for path in [
        "/console",
        "/console/orders",
        "/console/outbox",
        "/console/products",
        "/console/audit",
    ] {
        let body = look.get(path).await.body;
        for secret in [
            "jst-app-secret-value",
            "jst-access-token-value",
            ADMIN_TOKEN,
            "secret\"",
        ] {
            assert!(!body.contains(secret), "{path} shows {secret}");
        }
    }
    let detail = look.get("/console/orders/demo/O-1").await.body;
    assert!(
        !detail.contains("13553758444") && !detail.contains("312055199001014872"),
        "no phone or id card"
    );
}
