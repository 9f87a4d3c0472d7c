//! The console in a real browser: headless Chromium driven over WebDriver (Debian's
//! `chromium` and `chromium-driver`) against the real server. An admin creates
//! operators; an operator finds an order posted through the admin API, sees the
//! shipment a Polyapi Send recorded, retries a dead outbox row and sees it pending; a
//! viewer cannot; a form without its token and a request without a session are
//! refused. In the shop editor an admin rotates the Polyapi appsecret: calls signed
//! with either secret are answered during the overlap, only the new one's after it
//! ends. Each page is photographed (desktop, and one at phone width) into
//! `$POLYMALL_SCREENSHOT_DIR` (default: a folder under `target/`).

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use fantoccini::elements::Element;
use fantoccini::error::CmdError;
use fantoccini::{Client, ClientBuilder, Locator};
use polymall::operators::Role;
use serde_json::json;

use crate::admin::full_order;
use crate::console_client::{add_operator, kill_outbox_row, spawn_with_outbox, PASSWORD};
use crate::helpers::{count_sql, free_port, Backend, TestApp};
use crate::on_both_backends;
use crate::polyapi_client::{ok, PolyClient};

const CHROMIUM: &str = "/usr/bin/chromium";
const DRIVER: &str = "/usr/bin/chromedriver";
const DESKTOP: (u32, u32) = (1280, 900);
const PHONE: (u32, u32) = (390, 844);

on_both_backends! {
    operators_work_the_console_in_a_real_browser => in_chromium;
    the_shop_editor_rotates_the_appsecret_with_an_overlap => rotation_in_chromium;
}

/// Says once per run that the browser tests pass without running.
fn note_browser_skipped() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "\nNOTE: {CHROMIUM} or {DRIVER} is missing, so the browser tests of the console are \
             SKIPPED (they pass without running). Install Debian's `chromium` and \
             `chromium-driver` to run them.\n"
        );
    });
}

/// chromedriver in a process group of its own, with the Chromium it starts: ended
/// together, also when a test fails half-way.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.0.id())])
            .status();
        let _ = self.0.wait();
    }
}

/// Chromium under chromedriver, each on its own port and profile.
struct Browser {
    client: Client,
    _driver: Driver,
    _profile: tempfile::TempDir,
}

impl Browser {
    async fn start() -> Option<Self> {
        if !Path::new(CHROMIUM).exists() || !Path::new(DRIVER).exists() {
            note_browser_skipped();
            return None;
        }
        let port = free_port();
        let driver = Driver(
            Command::new(DRIVER)
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .process_group(0)
                .spawn()
                .expect("start chromedriver"),
        );
        let url = format!("http://127.0.0.1:{port}");
        let probe = reqwest::Client::new();
        for _ in 0..200 {
            if probe.get(format!("{url}/status")).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let profile = tempfile::tempdir().expect("profile");
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".to_owned(),
            json!({
                "binary": CHROMIUM,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                    "--disable-breakpad",
                    format!("--user-data-dir={}", profile.path().display()),
                    format!("--window-size={},{}", DESKTOP.0, DESKTOP.1),
                ],
            }),
        );
        // chromedriver speaks plain HTTP on the loopback: no TLS stack is needed.
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&url)
            .await
            .expect("a Chromium session");
        Some(Self {
            client,
            _driver: driver,
            _profile: profile,
        })
    }

    /// Ends the session (Chromium closes), then the driver.
    async fn stop(self) {
        let _ = self.client.clone().close().await;
    }
}

/// One visit: the browser, the server, and where its pictures go (none on PostgreSQL,
/// whose pages look the same).
struct Visit<'a> {
    client: &'a Client,
    base: &'a str,
    shots: Option<PathBuf>,
}

impl Visit<'_> {
    async fn open(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .expect("goto");
    }

    async fn path(&self) -> String {
        self.client
            .current_url()
            .await
            .expect("url")
            .path()
            .to_owned()
    }

    async fn page(&self) -> String {
        self.client.source().await.expect("source")
    }

    async fn fill(&self, css: &str, text: &str) {
        self.on_element(css, |field| async move {
            field.clear().await?;
            field.send_keys(text).await
        })
        .await;
    }

    async fn click(&self, css: &str) {
        self.on_element(css, |element| async move { element.click().await })
            .await;
    }

    /// Does `act` to the element `css` finds, waiting for it to appear. When the page was
    /// replaced between finding and acting (a form's navigation still under way when an
    /// element of the same selector was found on the page before it), the element is
    /// found again on the new page; all within ten seconds.
    async fn on_element<F, Fut>(&self, css: &str, act: F)
    where
        F: Fn(Element) -> Fut,
        Fut: std::future::Future<Output = Result<(), CmdError>>,
    {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let element = self
                .client
                .wait()
                .at_most(deadline.saturating_duration_since(std::time::Instant::now()))
                .for_element(Locator::Css(css))
                .await
                .expect(css);
            match act(element).await {
                Ok(()) => return,
                Err(error)
                    if error.is_stale_element_reference()
                        && std::time::Instant::now() < deadline =>
                {
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
                Err(error) => panic!("{css}: {error}"),
            }
        }
    }

    /// Waits until the page shows `css` (after a form's navigation).
    async fn wait_for(&self, css: &str) {
        self.client
            .wait()
            .at_most(std::time::Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await
            .expect(css);
    }

    /// Waits until the page shows nothing `css` finds (after a form's navigation).
    async fn wait_gone(&self, css: &str) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !self
            .client
            .find_all(Locator::Css(css))
            .await
            .expect("find")
            .is_empty()
        {
            assert!(std::time::Instant::now() < deadline, "{css} still shown");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }

    async fn sign_in(&self, name: &str) {
        self.open("/console/sign-in").await;
        self.fill("input[name=name]", name).await;
        self.fill("input[name=password]", PASSWORD).await;
        self.click("form[action='/console/sign-in'] button").await;
        self.wait_for("form[action='/console/sign-out']").await;
        assert_eq!(self.path().await, "/console", "{name} signed in");
    }

    async fn sign_out(&self) {
        self.click("form[action='/console/sign-out'] button").await;
        self.wait_for("form[action='/console/sign-in']").await;
        assert_eq!(self.path().await, "/console/sign-in");
    }

    /// A picture of the whole page, at the window's width.
    async fn shot(&self, name: &str, (width, height): (u32, u32)) {
        let Some(dir) = &self.shots else { return };
        self.client
            .set_window_size(width, height)
            .await
            .expect("size");
        // The window is the page's height plus the browser's own frame.
        let sizes = self
            .client
            .execute(
                "return [document.documentElement.scrollHeight, window.outerHeight - window.innerHeight];",
                vec![],
            )
            .await
            .expect("height");
        let pixels = |i: usize| sizes[i].as_u64().unwrap_or(0) as u32;
        self.client
            .set_window_size(width, (pixels(0) + pixels(1)).clamp(height, 3000))
            .await
            .expect("size");
        let png = self.client.screenshot().await.expect("screenshot");
        std::fs::write(dir.join(format!("{name}.png")), png).expect("write screenshot");
        self.client
            .set_window_size(DESKTOP.0, DESKTOP.1)
            .await
            .expect("size");
    }
}

fn screenshot_dir(backend: Backend) -> Option<PathBuf> {
    if backend != Backend::Sqlite {
        return None;
    }
    let dir = std::env::var_os("POLYMALL_SCREENSHOT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_TARGET_TMPDIR")).join("console-screenshots"));
    std::fs::create_dir_all(&dir).expect("screenshot folder");
    Some(dir)
}

/// Products, orders, a shipment, a dead row and some polling, as a shop has them.
async fn a_working_shop(app: &TestApp) -> i64 {
    let products = json!([
        {"PlatProductID": "1964645294", "name": "绿茶精萃系列 补水保湿套装", "OuterID": "sd0001", "price": 45,
         "num": 0, "pictureurl": "", "whsecode": "", "skus": [
            {"SkuID": "1964645294-L", "skuOuterID": "sd0001-L", "skuprice": 45, "skuQuantity": 120,
             "skuname": "大号", "skuproperty": "规格:大号", "skupictureurl": ""},
            {"SkuID": "1964645294-S", "skuOuterID": "sd0001-S", "skuprice": 39, "skuQuantity": 80,
             "skuname": "小号", "skuproperty": "规格:小号", "skupictureurl": ""}]},
        {"PlatProductID": "2088001", "name": "手工竹编收纳篮", "OuterID": "zb-01", "price": 68, "num": 15,
         "pictureurl": "", "whsecode": "", "skus": []}
    ]);
    assert_eq!(app.admin_post("products", &products).await.0, 200);
    let now = (chrono::Utc::now() + chrono::Duration::hours(8))
        .format("%Y-%m-%d %H:%M:%S")
        .to_string();
    let mut orders = Vec::new();
    for no in ["B-1001", "B-1002", "B-1003"] {
        let mut order = full_order(no);
        order["tradetime"] = json!(now);
        orders.push(order);
    }
    assert_eq!(app.admin_post("orders", &json!(orders)).await.0, 200);
    let client = PolyClient::demo(app);
    ok(client
        .call(
            "Send",
            json!({"PlatOrderNo": "B-1001", "LogisticType": "JH_002", "LogisticName": "圆通",
                   "LogisticNo": "YT8800112233", "IsSplit": 0, "SubPlatOrderNo": ""}),
        )
        .await);
    ok(client
        .call(
            "SyncStock",
            json!({"PlatProductID": "1964645294", "SkuID": "1964645294-L", "Quantity": 96}),
        )
        .await);
    for _ in 0..3 {
        ok(client
            .call("GetOrder", json!({"OrderStatus": "JH_02", "PageIndex": 1}))
            .await);
    }
    let mut wrong = PolyClient::demo(app);
    wrong.secret = "not-the-secret";
    wrong.call("GetOrder", json!({"PageIndex": 1})).await;
    kill_outbox_row(app, "B-1002")
}

async fn in_chromium(backend: Backend) {
    let Some(app) = spawn_with_outbox(backend).await else {
        return;
    };
    let Some(browser) = Browser::start().await else {
        return;
    };
    add_operator(&app, "admin", Role::Admin);
    let dead = a_working_shop(&app).await;
    let visit = Visit {
        client: &browser.client,
        base: &app.address,
        shots: screenshot_dir(backend),
    };

    // Without a session the console shows only its sign-in page.
    visit.open("/console/orders").await;
    assert_eq!(visit.path().await, "/console/sign-in");
    visit.shot("sign-in", DESKTOP).await;

    // The admin creates an operator and a viewer.
    visit.sign_in("admin").await;
    for (name, role) in [("li.wei", "operator"), ("zhao.min", "viewer")] {
        visit.open("/console/operators").await;
        visit.fill("#new-operator input[name=name]", name).await;
        visit
            .fill("#new-operator input[name=password]", PASSWORD)
            .await;
        visit
            .click(&format!("#new-operator option[value={role}]"))
            .await;
        visit.click("#new-operator button").await;
        visit.wait_for("p.notice").await;
        let page = visit.page().await;
        assert!(
            page.contains("操作员已保存") && page.contains(name),
            "{page}"
        );
    }
    visit.shot("operators", DESKTOP).await;
    visit.sign_out().await;

    // The operator finds the order and the shipment the ERP sent.
    visit.sign_in("li.wei").await;
    let overview = visit.page().await;
    assert!(overview.contains("GetOrder") && overview.contains("GSE.VERIFYSIGN_FAILURE"));
    visit.shot("overview", DESKTOP).await;
    visit.open("/console/orders").await;
    visit.fill("input[name=number]", "B-1001").await;
    visit.click("form.filters button").await;
    // The search's answer: the number is in the field as the server wrote it (the page
    // before it shows the order's link too).
    visit.wait_for("input[name=number][value='B-1001']").await;
    visit
        .wait_for("a[href='/console/orders/demo/B-1001']")
        .await;
    visit.shot("orders", DESKTOP).await;
    visit.click("a[href='/console/orders/demo/B-1001']").await;
    visit.wait_for("tr.shipment").await;
    let order = visit.page().await;
    assert!(order.contains("YT8800112233"), "the shipment: {order}");
    assert!(order.contains("ERP（菠萝派）"), "its source: {order}");
    visit.shot("order", DESKTOP).await;
    visit.shot("order-phone", PHONE).await;

    // It retries the dead row and sees it pending.
    visit.open("/console/outbox?state=dead").await;
    assert!(visit.page().await.contains("订单金额不符"));
    visit.shot("outbox", DESKTOP).await;
    visit
        .click(&format!("input[name=id][value='{dead}']"))
        .await;
    visit
        .click("button[formaction='/console/outbox/retry']")
        .await;
    visit.wait_for("p.notice").await;
    let after = visit.page().await;
    assert!(after.contains("已重新排队 1 行。"), "{after}");
    visit.open("/console/outbox?shop=demo").await;
    let listed = visit
        .client
        .find(Locator::Css(&format!("#row-{dead} .badge")))
        .await
        .expect("the row")
        .text()
        .await
        .expect("state");
    assert_eq!(listed, "待发送");
    let pending = format!("SELECT id FROM outbox WHERE id = {dead} AND state = 'pending'");
    assert_eq!(count_sql(&app, &pending), 1);

    // A form whose token was removed is refused, and changes nothing.
    visit.open("/console/outbox?shop=demo").await;
    visit
        .client
        .execute(
            "document.querySelector('form[action=\"/console/outbox/retry\"] input[name=csrf]').remove();\
             document.querySelector('input[name=id]').checked = true;\
             document.querySelector('input[name=reason]').value = '等待核对';",
            vec![],
        )
        .await
        .expect("script");
    visit
        .click("button[formaction='/console/outbox/hold']")
        .await;
    visit.wait_for("p.error").await;
    let refused = visit.page().await;
    assert!(refused.contains("(403)"), "{refused}");
    assert_eq!(
        count_sql(&app, "SELECT id FROM outbox WHERE state = 'held'"),
        0
    );
    visit.open("/console/products").await;
    visit.shot("products", DESKTOP).await;
    visit.open("/console/products/demo/1964645294").await;
    let product = visit.page().await;
    assert!(
        product.contains("ERP（菠萝派）") && product.contains("商城后台"),
        "{product}"
    );
    visit.shot("product", DESKTOP).await;
    visit.open("/console/audit").await;
    assert!(visit.page().await.contains("重试出站行"));
    visit.shot("audit", DESKTOP).await;
    visit.open("/console/lang/en?back=/console").await;
    assert!(visit.page().await.contains("ERP polling (last hour)"));
    visit.shot("overview-en", DESKTOP).await;
    visit.open("/console/lang/zh?back=/console").await;
    visit.sign_out().await;

    // The viewer sees the outbox but cannot act, even by posting the form itself.
    kill_outbox_row(&app, "B-1003");
    visit.sign_in("zhao.min").await;
    visit.open("/console/outbox?state=dead").await;
    let page = visit.page().await;
    assert!(
        page.contains("B-1003") && !page.contains("formaction"),
        "{page}"
    );
    let forged = format!(
        "var token = document.querySelector('input[name=csrf]').value;\
         var form = document.createElement('form');\
         form.method = 'post'; form.action = '/console/outbox/retry';\
         form.innerHTML = '<input name=csrf value=' + token + '><input name=id value={dead}>';\
         document.body.appendChild(form); form.submit();"
    );
    visit.client.execute(&forged, vec![]).await.expect("script");
    visit.wait_for("p.error").await;
    assert!(visit.page().await.contains("(403)"));

    // Without a session cookie, pages send the browser to sign in and forms are refused.
    visit.client.delete_all_cookies().await.expect("cookies");
    visit.open("/console/outbox").await;
    assert_eq!(visit.path().await, "/console/sign-in");
    let anonymous = format!(
        "var form = document.createElement('form');\
         form.method = 'post'; form.action = '/console/outbox/retry';\
         form.innerHTML = '<input name=id value={dead}>';\
         document.body.appendChild(form); form.submit();"
    );
    visit
        .client
        .execute(&anonymous, vec![])
        .await
        .expect("script");
    visit.wait_for("p.error").await;
    assert!(visit.page().await.contains("(401)"));
    assert_eq!(
        count_sql(
            &app,
            "SELECT id FROM audit_log WHERE actor = 'zhao.min' AND action LIKE 'outbox%'"
        ),
        0
    );
    browser.stop().await;
}

/// Runs one of shop `demo`'s jobs now, as `polymall sync` does, so the job table has
/// runs to show.
async fn run_job(app: &TestApp, name: &str) {
    let db = polymall::db::Database::connect(&polymall::config::DatabaseConfig {
        url: polymall::config::Secret::new(app.db.url.clone()),
        ..polymall::config::DatabaseConfig::default()
    })
    .expect("database");
    let stored =
        polymall::shop::settings::find(&mut db.get().expect("connection"), "demo").expect("demo");
    let jobs =
        polymall::integrations::shop_jobs(&db, &stored.shop, &stored.settings, stored.version)
            .expect("jobs");
    let job = jobs.iter().find(|job| job.name == name).expect("the job");
    // Its outcome is recorded either way (Jushuitan is unreachable here).
    let _ = polymall::schedule::run_now(&db, job).await;
}

async fn rotation_in_chromium(backend: Backend) {
    let Some(app) = spawn_with_outbox(backend).await else {
        return;
    };
    let Some(browser) = Browser::start().await else {
        return;
    };
    add_operator(&app, "admin", Role::Admin);
    app.admin_post("orders", &json!([full_order("R-1")])).await;
    run_job(&app, "jushuitan.push-orders").await;
    run_job(&app, "jushuitan.pull-refunds").await;
    let visit = Visit {
        client: &browser.client,
        base: &app.address,
        shots: screenshot_dir(backend),
    };
    visit.sign_in("admin").await;
    visit.open("/console/jobs").await;
    let jobs = visit.page().await;
    assert!(
        jobs.contains("jushuitan.push-orders") && jobs.contains("fold-order-counts"),
        "{jobs}"
    );
    visit.shot("jobs", DESKTOP).await;
    // A second shop, made in the console.
    visit.open("/console/shops").await;
    visit.fill("#new-shop input[name=code]", "north").await;
    visit.fill("#new-shop input[name=name]", "北方旗舰店").await;
    visit.click("#new-shop button").await;
    visit.wait_for("#section-general").await;
    assert_eq!(visit.path().await, "/console/shops/north");
    visit.open("/console/shops").await;
    visit.shot("shops", DESKTOP).await;
    visit.click("a[href='/console/shops/demo']").await;
    visit.wait_for("#rotate").await;
    let before = visit.page().await;
    for secret in [
        "jst-app-secret-value",
        "jst-access-token-value",
        ">secret<",
        "value=\"secret\"",
    ] {
        assert!(!before.contains(secret), "{secret} shown: {before}");
    }

    // The new secret is in force at once; the previous one still verifies.
    visit
        .fill("#rotate input[name=appsecret]", "rotated-appsecret-2026")
        .await;
    visit.click("#rotate button").await;
    visit.wait_for("#overlap").await;
    let rotated = visit.page().await;
    assert!(rotated.contains("店铺设置已保存并生效"), "{rotated}");
    assert!(!rotated.contains("rotated-appsecret-2026"));
    visit.shot("shop", DESKTOP).await;
    let old = PolyClient::demo(&app);
    let mut new = PolyClient::demo(&app);
    new.secret = "rotated-appsecret-2026";
    ok(old.call("GetOrder", json!({"PageIndex": 1})).await);
    ok(new.call("GetOrder", json!({"PageIndex": 1})).await);

    // Ended: only the new secret verifies.
    visit.click("#end-overlap button").await;
    // The page before showed a notice too (the rotation's): wait for the overlap to go.
    visit.wait_gone("#overlap").await;
    visit.wait_for("p.notice").await;
    let refused = old.call("GetOrder", json!({"PageIndex": 1})).await;
    assert_eq!(refused["subcode"], "GSE.VERIFYSIGN_FAILURE", "{refused}");
    ok(new.call("GetOrder", json!({"PageIndex": 1})).await);
    visit.open("/console/audit").await;
    let audit = visit.page().await;
    assert!(
        audit.contains("轮换 appsecret") && audit.contains("结束旧 appsecret 重叠期"),
        "{audit}"
    );
    assert!(!audit.contains("rotated-appsecret-2026"));
    browser.stop().await;
}
