//! How warehouse callbacks authenticate: a warehouse that signs is checked by the Qimen
//! sign at `/qimen/callback`; one that does not (jxwms posts its confirmation as it is)
//! calls back at `/qimen/callback/<token>`, and anything without the right token or
//! sign is refused and writes nothing.

use polymall::config::{CallbackAuth, Secret};
use serde_json::json;

use crate::fake_wms::{post_unsigned_confirmation, wms_config};
use crate::helpers::{count_sql, Backend, TestApp, TestDb};
use crate::on_both_backends;
use crate::qimen_callback::{order, seed_order, CUSTOMER, SEED_CONFIRM};

on_both_backends! {
    an_unsigned_warehouse_calls_back_at_its_token_url => token_url;
    callbacks_without_the_right_token_are_refused_and_write_nothing => wrong_token;
    a_signing_warehouse_is_not_reachable_unsigned => signing_warehouse;
}

const TOKEN: &str = "jx7f3c0d9a1b2e4f6a8c0d2e4f6a8b0c2d4e6f";

async fn app(backend: Backend, auth: CallbackAuth) -> Option<TestApp> {
    let db = TestDb::new(backend)?;
    Some(
        TestApp::spawn_with(db, move |config| {
            let mut wms = wms_config("http://127.0.0.1:9/wms", CUSTOMER);
            if auth == CallbackAuth::UrlToken {
                wms.secret = Secret::new("");
                wms.callback_auth = CallbackAuth::UrlToken;
                wms.callback_token = Some(Secret::new(TOKEN));
            }
            config.shops[0].wms = Some(wms);
        })
        .await,
    )
}

fn confirmations(app: &TestApp) -> i64 {
    count_sql(app, "SELECT out_biz_code FROM wms_confirmations")
}

async fn token_url(backend: Backend) {
    let Some(app) = app(backend, CallbackAuth::UrlToken).await else {
        return;
    };
    app.admin_post("orders", &json!([seed_order()])).await;
    let url = format!("{}/qimen/callback/{TOKEN}", app.address);
    let answer = post_unsigned_confirmation(&app.client, &url, SEED_CONFIRM).await;
    assert!(answer.contains("<flag>success</flag>"), "{answer}");
    assert_eq!(order(&app, "JY2009260440").await["tradeStatus"], "JH_03");
    let again = post_unsigned_confirmation(&app.client, &url, SEED_CONFIRM).await;
    assert!(again.contains("already recorded"), "{again}");
    assert_eq!(confirmations(&app), 1);
}

async fn wrong_token(backend: Backend) {
    let Some(app) = app(backend, CallbackAuth::UrlToken).await else {
        return;
    };
    app.admin_post("orders", &json!([seed_order()])).await;
    let mut guessed = TOKEN.to_owned();
    guessed.pop();
    guessed.push('0');
    for url in [
        format!("{}/qimen/callback/{guessed}", app.address),
        format!("{}/qimen/callback/{}", app.address, &TOKEN[..20]),
        format!("{}/qimen/callback", app.address),
        format!("{}/qimen/callback?customerId={CUSTOMER}", app.address),
        format!(
            "{}/qimen/callback/{TOKEN}?customerId=someone-else",
            app.address
        ),
    ] {
        let answer = post_unsigned_confirmation(&app.client, &url, SEED_CONFIRM).await;
        assert!(
            answer.contains("<flag>failure</flag>") && answer.contains("<code>401</code>"),
            "{url}: {answer}"
        );
    }
    assert_eq!(order(&app, "JY2009260440").await["tradeStatus"], "JH_02");
    assert_eq!(confirmations(&app), 0, "nothing written");
}

async fn signing_warehouse(backend: Backend) {
    let Some(app) = app(backend, CallbackAuth::Sign).await else {
        return;
    };
    app.admin_post("orders", &json!([seed_order()])).await;
    for url in [
        format!("{}/qimen/callback?customerId={CUSTOMER}", app.address),
        format!("{}/qimen/callback/{TOKEN}", app.address),
    ] {
        let answer = post_unsigned_confirmation(&app.client, &url, SEED_CONFIRM).await;
        assert!(answer.contains("<flag>failure</flag>"), "{url}: {answer}");
    }
    assert_eq!(confirmations(&app), 0);
}
