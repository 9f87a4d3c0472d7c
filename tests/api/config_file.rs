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
        stdout.contains("demo") && stdout.contains("+08:00"),
        "{stdout}"
    );

    let output = polymall(dir.path(), &["migrate"]);
    assert!(output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).contains("up to date"));
}
