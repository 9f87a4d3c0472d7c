//! SIGTERM while writes are in flight: every write the server acknowledged is stored.

use std::io::Write;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use polymall::shop::orders;
use serde_json::json;
use tokio::sync::Mutex;

use crate::admin::full_order;
use crate::helpers::{
    demo_shop, free_port, start_server, wait_ready, Backend, TestDb, ADMIN_TOKEN,
};
use crate::on_both_backends;

on_both_backends! {
    sigterm_drops_no_acknowledged_write => sigterm_under_load;
}

async fn sigterm_under_load(backend: Backend) {
    let Some(db) = TestDb::new(backend) else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let config_path = dir.path().join("polymall.toml");
    let mut file = std::fs::File::create(&config_path).expect("config file");
    write!(
        file,
        "[server]\nlisten = \"127.0.0.1:{port}\"\n[database]\nurl = \"{}\"\n[admin]\ntoken = \"{ADMIN_TOKEN}\"\n\
         [[shops]]\ncode = \"demo\"\nname = \"Demo\"\n",
        db.url
    )
    .expect("write config");
    drop(file);

    let mut child = start_server(&config_path);
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    wait_ready(&client, &base).await;

    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut writers = Vec::new();
    for writer in 0..6 {
        let client = client.clone();
        let base = base.clone();
        let acknowledged = acknowledged.clone();
        writers.push(tokio::spawn(async move {
            for n in 0.. {
                let batch: Vec<_> = (0..5)
                    .map(|i| full_order(&format!("W{writer}-{n}-{i}")))
                    .collect();
                let sent = client
                    .post(format!("{base}/admin/v1/shops/demo/orders"))
                    .bearer_auth(ADMIN_TOKEN)
                    .json(&json!(batch))
                    .send()
                    .await;
                match sent {
                    Ok(response) if response.status().is_success() => {
                        let mut done = acknowledged.lock().await;
                        done.extend((0..5).map(|i| format!("W{writer}-{n}-{i}")));
                    }
                    // Refused or cut off after the stop: not acknowledged, so not owed.
                    _ => break,
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    for writer in writers {
        writer.await.expect("writer");
    }
    let exit = tokio::task::spawn_blocking(move || child.wait())
        .await
        .expect("join")
        .expect("wait");
    assert!(exit.success(), "server exited with {exit:?}");

    let acknowledged = acknowledged.lock().await.clone();
    assert!(
        !acknowledged.is_empty(),
        "no write was acknowledged before the stop"
    );
    let url = db.url.clone();
    let missing = tokio::task::spawn_blocking(move || {
        let (mut conn, shop) = demo_shop(&url);
        acknowledged
            .iter()
            .filter(|no| {
                orders::find(&mut conn, shop.id, no)
                    .expect("query")
                    .is_none()
            })
            .cloned()
            .collect::<Vec<_>>()
    })
    .await
    .expect("join");
    assert!(missing.is_empty(), "acknowledged but missing: {missing:?}");
}
