//! A console visitor over plain HTTP: signs in as a browser would (the sign-in form's
//! cookie and token), keeps the session cookie, and posts forms with the page's token.

use polymall::operators::{self, password, Role};
use reqwest::header::{HeaderMap, COOKIE, LOCATION, SET_COOKIE};

use crate::helpers::{connect, TestApp};

/// The password of every operator the tests create.
pub const PASSWORD: &str = "correct horse battery";

/// Creates an operator directly in the database, as `polymall operator add` does.
pub fn add_operator(app: &TestApp, name: &str, role: Role) {
    let hash = password::hash(PASSWORD).expect("hash");
    operators::add(&mut connect(&app.db.url), name, &hash, role, "cli").expect("operator");
}

/// A client that shows redirects instead of following them.
pub fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// The value of cookie `name` set by a response.
pub fn set_cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with(&format!("{name}=")))
}

/// The value a `Set-Cookie` line gives its cookie.
pub fn cookie_value(line: &str) -> String {
    line.split(';')
        .next()
        .and_then(|pair| pair.split_once('='))
        .map(|(_, value)| value.to_owned())
        .unwrap_or_default()
}

/// The first form token on a page.
pub fn form_token(page: &str) -> String {
    page.split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_default()
        .to_owned()
}

/// An answer: status, headers and body.
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn location(&self) -> &str {
        self.headers
            .get(LOCATION)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
    }
}

async fn answer(response: reqwest::Response) -> Answer {
    Answer {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        body: response.text().await.expect("body"),
    }
}

/// A signed-in operator's browser.
pub struct Console<'a> {
    pub app: &'a TestApp,
    pub client: reqwest::Client,
    pub session: String,
    pub csrf: String,
}

/// The sign-in form's cookie and token, as a browser gets them.
pub async fn sign_in_form(app: &TestApp) -> (String, String) {
    let page = answer(
        no_redirects()
            .get(format!("{}/console/sign-in", app.address))
            .send()
            .await
            .expect("sign-in page"),
    )
    .await;
    assert_eq!(page.status, 200, "{}", page.body);
    let cookie = cookie_value(set_cookie(&page.headers, "polymall_sign_in").expect("cookie"));
    (cookie, form_token(&page.body))
}

/// Posts the sign-in form with the browser's cookie and token.
pub async fn post_sign_in(
    app: &TestApp,
    cookie: &str,
    token: &str,
    name: &str,
    password: &str,
) -> Answer {
    answer(
        no_redirects()
            .post(format!("{}/console/sign-in", app.address))
            .header(COOKIE, format!("polymall_sign_in={cookie}"))
            .form(&[("csrf", token), ("name", name), ("password", password)])
            .send()
            .await
            .expect("sign in"),
    )
    .await
}

impl<'a> Console<'a> {
    /// Signs in as `name` with the test password.
    pub async fn sign_in(app: &'a TestApp, name: &str) -> Self {
        let (cookie, token) = sign_in_form(app).await;
        let signed = post_sign_in(app, &cookie, &token, name, PASSWORD).await;
        assert_eq!(signed.status, 303, "{}", signed.body);
        assert_eq!(signed.location(), "/console");
        let session =
            cookie_value(set_cookie(&signed.headers, "polymall_session").expect("session"));
        let mut console = Self {
            app,
            client: no_redirects(),
            session,
            csrf: String::new(),
        };
        let overview = console.get("/console").await;
        assert_eq!(overview.status, 200, "{}", overview.body);
        console.csrf = form_token(&overview.body);
        console
    }

    /// GETs a console path with the session.
    pub async fn get(&self, path: &str) -> Answer {
        answer(
            self.client
                .get(format!("{}{path}", self.app.address))
                .header(COOKIE, format!("polymall_session={}", self.session))
                .send()
                .await
                .expect("get"),
        )
        .await
    }

    /// POSTs a form with the session and its token.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let mut all = vec![("csrf", self.csrf.as_str())];
        all.extend_from_slice(fields);
        self.post_exactly(path, &all).await
    }

    /// POSTs exactly these fields (no token added).
    pub async fn post_exactly(&self, path: &str, fields: &[(&str, &str)]) -> Answer {
        answer(
            self.client
                .post(format!("{}{path}", self.app.address))
                .header(COOKIE, format!("polymall_session={}", self.session))
                .form(fields)
                .send()
                .await
                .expect("post"),
        )
        .await
    }
}

/// A Jushuitan connection at an address nothing answers (no job runs in tests): the
/// shop's orders get outbox rows that stay pending.
pub fn unreachable_jushuitan() -> polymall::config::JushuitanShopConfig {
    use polymall::config::{JushuitanApi, JushuitanShopConfig, Secret};
    JushuitanShopConfig {
        api: JushuitanApi::Open,
        base_url: "http://127.0.0.1:9".to_owned(),
        shop_id: 10_001,
        app_key: Some("app".to_owned()),
        app_secret: Some(Secret::new("jst-app-secret-value")),
        access_token: Some(Secret::new("jst-access-token-value")),
        refresh_token: Some(Secret::new("jst-refresh-token-value")),
        partner_id: None,
        partner_key: None,
        token: None,
        push_interval_secs: 3_600,
        stock_interval_secs: 3_600,
        shipping_interval_secs: 3_600,
        refund_interval_secs: 3_600,
        max_attempts: 3,
        timeout_secs: 5,
    }
}

/// A server whose shop `demo` pushes to [`unreachable_jushuitan`].
pub async fn spawn_with_outbox(backend: crate::helpers::Backend) -> Option<TestApp> {
    let db = crate::helpers::TestDb::new(backend)?;
    Some(
        TestApp::spawn_with(db, |config| {
            config.shops[0].jushuitan = Some(unreachable_jushuitan());
        })
        .await,
    )
}

/// Makes the pending Jushuitan row of `order` dead, as a refusal by Jushuitan would, and
/// answers its id.
pub fn kill_outbox_row(app: &TestApp, order: &str) -> i64 {
    use polymall::outbox::{self, Kind, Target};
    let (mut conn, shop) = crate::helpers::demo_shop(&app.db.url);
    let claimed = outbox::claim(
        &mut conn,
        shop.id,
        Target::Jushuitan,
        Kind::Order,
        "test",
        100,
        // The other rows claimed with it are free again at once.
        std::time::Duration::ZERO,
    )
    .expect("claim");
    let row = claimed
        .iter()
        .find(|row| row.subject == order)
        .expect("the order's row");
    outbox::fail(
        &mut conn,
        row,
        "订单金额不符 (refused by Jushuitan)",
        false,
        3,
    )
    .expect("fail");
    row.id
}
