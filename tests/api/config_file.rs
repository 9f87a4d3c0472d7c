//! The binary as an operator meets it: config errors, `import`, `shop list`, `migrate`.

use std::process::Command;

use serde_json::json;

use crate::admin::full_order;

fn polymall(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_polymall"))
        .current_dir(dir)
        .env_remove("POLYMALL_CONFIG")
        .env("RUST_LOG", "warn")
        .args(args)
        .output()
        .expect("run polymall")
}

const CONFIG: &str = "[database]\nurl = \"shop.db\"\n[[shops]]\ncode = \"demo\"\nname = \"Demo\"\n";

#[test]
fn unknown_config_key_is_named_and_refused() {
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(
        dir.path().join("polymall.toml"),
        "[database]\nurl = \"x.db\"\npool = 3\n",
    )
    .expect("write");
    let output = polymall(dir.path(), &["migrate"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("database.pool"), "{stderr}");
    assert!(
        !dir.path().join("x.db").exists(),
        "nothing is created on a bad config"
    );
}

#[test]
fn import_then_list_shops_from_the_command_line() {
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("polymall.toml"), CONFIG).expect("write");
    let lines = format!("{}\n{}\n", full_order("CLI-1"), full_order("CLI-2"));
    std::fs::write(dir.path().join("orders.jsonl"), lines).expect("write");
    // Only serve and migrate create the database.
    assert!(polymall(dir.path(), &["migrate"]).status.success());
    let output = polymall(
        dir.path(),
        &["import", "--shop", "demo", "orders", "orders.jsonl"],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("2 created"));

    // A bad file imports nothing and says which document and field.
    let mut bad = full_order("CLI-3");
    bad["goodinfos"][0]["goodscount"] = json!(-4);
    std::fs::write(
        dir.path().join("bad.json"),
        json!([full_order("CLI-4"), bad]).to_string(),
    )
    .expect("write");
    let output = polymall(
        dir.path(),
        &["import", "--shop", "demo", "orders", "bad.json"],
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("[1].goodinfos[0].goodscount"), "{stderr}");

    let output = polymall(
        dir.path(),
        &["import", "--shop", "nope", "orders", "orders.jsonl"],
    );
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("nope"));

    let output = polymall(dir.path(), &["shop", "list"]);
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("demo") && stdout.contains("+08:00") && stdout.contains("enabled   file"),
        "{stdout}"
    );

    let output = polymall(dir.path(), &["migrate"]);
    assert!(output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).contains("up to date"));
}

#[test]
fn two_shops_with_one_appkey_are_refused_before_anything_is_created() {
    let dir = tempfile::tempdir().expect("dir");
    let shop = |code: &str, token: &str| {
        format!(
            "[[shops]]\ncode = \"{code}\"\nname = \"{code}\"\n[shops.polyapi]\nappkey = \"shared\"\nappsecret = \"s-{code}\"\ntoken = \"{token}\"\n"
        )
    };
    let config = format!(
        "[database]\nurl = \"shop.db\"\n{}{}",
        shop("a", "TA"),
        shop("b", "TB")
    );
    std::fs::write(dir.path().join("polymall.toml"), config).expect("write");
    for command in [&["migrate"][..], &["serve"][..]] {
        let output = polymall(dir.path(), command);
        assert_eq!(output.status.code(), Some(2), "{command:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("shops[1].polyapi.appkey"), "{stderr}");
    }
    assert!(!dir.path().join("shop.db").exists(), "nothing migrated");
}

#[test]
fn a_database_in_a_missing_directory_is_named() {
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(
        dir.path().join("polymall.toml"),
        "[database]\nurl = \"no/such/dir/shop.db\"\n",
    )
    .expect("write");
    let output = polymall(dir.path(), &["migrate"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("no/such/dir") && stderr.contains("does not exist"),
        "{stderr}"
    );
}

#[test]
fn placeholder_secrets_are_refused_when_listening_beyond_loopback() {
    let dir = tempfile::tempdir().expect("dir");
    let config = "[server]\nlisten = \"0.0.0.0:0\"\n[database]\nurl = \"shop.db\"\n[admin]\ntoken = \"demo-admin-token-change-me\"\n";
    std::fs::write(dir.path().join("polymall.toml"), config).expect("write");
    let output = polymall(dir.path(), &["serve"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("admin.token") && stderr.contains("placeholder"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("demo-admin-token"),
        "never the value: {stderr}"
    );
    assert!(!dir.path().join("shop.db").exists());
}

#[test]
fn retrying_an_outbox_row_that_does_not_exist_fails() {
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("polymall.toml"), CONFIG).expect("write");
    assert!(polymall(dir.path(), &["migrate"]).status.success());
    let output = polymall(dir.path(), &["outbox", "retry", "--id", "4242"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("4242") && stderr.contains("does not exist"),
        "{stderr}"
    );
}

/// SIGHUP is logged and ignored; a value with a line break stays on its log line.
#[test]
fn sighup_is_ignored_and_log_lines_cannot_be_forged() {
    let dir = tempfile::tempdir().expect("dir");
    let port = crate::helpers::free_port();
    let config = format!(
        "[server]\nlisten = \"127.0.0.1:{port}\"\n[database]\nurl = \"shop.db\"\n\
         [[shops]]\ncode = \"demo\"\nname = \"Demo\"\n[shops.polyapi]\nappkey = \"k\"\nappsecret = \"secret\"\ntoken = \"T\"\n"
    );
    std::fs::write(dir.path().join("polymall.toml"), config).expect("write");
    let log = std::fs::File::create(dir.path().join("stderr.log")).expect("log file");
    let mut child = Command::new(env!("CARGO_BIN_EXE_polymall"))
        .current_dir(dir.path())
        .env_remove("POLYMALL_CONFIG")
        .env("RUST_LOG", "info")
        .args(["serve"])
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start polymall");
    let base = format!("http://127.0.0.1:{port}");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let client = reqwest::Client::new();
        crate::helpers::wait_ready(&client, &base).await;
        let hup = Command::new("kill")
            .args(["-HUP", &child.id().to_string()])
            .status()
            .expect("kill");
        assert!(hup.success());
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let health = client
            .get(format!("{base}/healthz"))
            .send()
            .await
            .expect("still serving after SIGHUP");
        assert!(health.status().is_success());
        let forged = "GetOrder\n2026-01-01T00:00:00.000000Z  INFO polymall: forged line";
        let answer: serde_json::Value = client
            .post(format!("{base}/polyapi"))
            .form(&[
                ("method", forged),
                ("appkey", "k"),
                ("token", "T"),
                ("sign", "x"),
            ])
            .send()
            .await
            .expect("call")
            .json()
            .await
            .expect("envelope");
        assert_eq!(answer["code"], "40000");
    });
    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(term.success());
    let status = child.wait().expect("exit");
    assert!(status.success(), "exits cleanly after SIGTERM: {status}");
    let text = std::fs::read_to_string(dir.path().join("stderr.log")).expect("log");
    assert!(text.contains("SIGHUP ignored"), "{text}");
    // One line says what started, from which file, on which database, with which shops.
    let start = text
        .lines()
        .find(|line| line.contains("polymall starting"))
        .expect("the startup line");
    let database = dir.path().canonicalize().expect("dir").join("shop.db");
    for part in [
        format!("version=\"{}\"", env!("CARGO_PKG_VERSION")),
        "config=polymall.toml".to_owned(),
        "database=\"sqlite\"".to_owned(),
        format!("location={}", database.display()),
        "shops=demo (polyapi)".to_owned(),
    ] {
        assert!(start.contains(&part), "{part} in {start}");
    }
    assert!(!start.contains("secret"), "{start}");
    assert!(
        text.contains("created a new, empty SQLite database"),
        "{text}"
    );
    assert!(
        text.contains("GetOrder\\n2026"),
        "the value escaped: {text}"
    );
    assert!(
        !text
            .lines()
            .any(|line| line.contains("forged line") && !line.contains("polyapi call")),
        "no forged line of its own: {text}"
    );
}
