//! The everyday tools of the command line: `check`, `backup`, `operator`, and commands
//! that refuse a database file that does not exist instead of creating one.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::json;

use crate::admin::full_order;
use crate::helpers::{count_sql, start_server, wait_ready, Backend, TestApp, TestDb, ADMIN_TOKEN};
use crate::on_both_backends;

fn polymall(dir: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_polymall"))
        .current_dir(dir)
        .env_remove("POLYMALL_CONFIG")
        .env("RUST_LOG", "warn")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run polymall");
    if let Some(mut pipe) = child.stdin.take() {
        if let Some(input) = stdin {
            pipe.write_all(input.as_bytes()).expect("stdin");
        }
    }
    child.wait_with_output().expect("wait")
}

fn said(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

const CONFIG: &str = "[database]\nurl = \"shop.db\"\n[[shops]]\ncode = \"demo\"\nname = \"Demo\"\n";

#[test]
fn commands_other_than_serve_and_migrate_create_no_database() {
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("polymall.toml"), CONFIG).expect("write");
    for args in [
        &["outbox", "list"][..],
        &["shop", "list"],
        &["operator", "add", "boss", "--role", "admin"],
        &["backup", "copy.db"],
    ] {
        let output = polymall(dir.path(), args, Some("a long enough password\n"));
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        let text = said(&output);
        assert!(
            text.contains("shop.db") && text.contains("does not exist"),
            "{args:?}: {text}"
        );
        assert!(
            !dir.path().join("shop.db").exists(),
            "{args:?} created the file"
        );
    }
    let migrated = polymall(dir.path(), &["migrate"], None);
    assert!(migrated.status.success(), "{}", said(&migrated));
    assert!(dir.path().join("shop.db").exists());
}

#[test]
fn operator_add_takes_the_password_from_standard_input() {
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("polymall.toml"), CONFIG).expect("write");
    assert!(polymall(dir.path(), &["migrate"], None).status.success());
    let short = polymall(
        dir.path(),
        &["operator", "add", "boss", "--role", "admin"],
        Some("short\n"),
    );
    assert_eq!(short.status.code(), Some(1));
    assert!(said(&short).contains("password"), "{}", said(&short));
    let bad_name = polymall(
        dir.path(),
        &["operator", "add", "b o s s", "--role", "admin"],
        Some("a long enough password\n"),
    );
    assert!(said(&bad_name).contains("name"), "{}", said(&bad_name));
    let bad_role = polymall(
        dir.path(),
        &["operator", "add", "boss", "--role", "root"],
        None,
    );
    assert_eq!(bad_role.status.code(), Some(2), "clap refuses the role");
    let added = polymall(
        dir.path(),
        &["operator", "add", "boss", "--role", "admin"],
        Some("a long enough password\nignored\n"),
    );
    assert!(added.status.success(), "{}", said(&added));
    let again = polymall(
        dir.path(),
        &["operator", "add", "boss", "--role", "viewer"],
        Some("a long enough password\n"),
    );
    assert_eq!(again.status.code(), Some(1));
    assert!(said(&again).contains("already exists"));
    let changed = polymall(
        dir.path(),
        &["operator", "password", "boss"],
        Some("another long password\n"),
    );
    assert!(changed.status.success(), "{}", said(&changed));
    let unknown = polymall(
        dir.path(),
        &["operator", "password", "nobody"],
        Some("another long password\n"),
    );
    assert!(said(&unknown).contains("does not exist"));

    use diesel::prelude::*;
    use polymall::db::schema::{audit_log, operators};
    let mut conn = crate::helpers::connect(&dir.path().join("shop.db").display().to_string());
    let (role, hash): (String, String) = operators::table
        .filter(operators::name.eq("boss"))
        .select((operators::role, operators::password_hash))
        .first(&mut conn)
        .expect("boss");
    assert_eq!(role, "admin");
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(polymall::operators::password::verify(
        "another long password",
        &hash
    ));
    let audited: Vec<String> = audit_log::table
        .filter(audit_log::actor.eq("cli"))
        .select(audit_log::action)
        .load(&mut conn)
        .expect("audit");
    assert_eq!(audited, ["operator_add", "operator_password"]);
}

/// A server process, stopped when dropped (also when the test fails).
struct Stopped(std::process::Child);

impl Drop for Stopped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_copies_a_database_in_use() {
    let dir = tempfile::tempdir().expect("dir");
    let port = crate::helpers::free_port();
    // The server runs elsewhere: its database is named by its full path.
    let config = format!(
        "[server]\nlisten = \"127.0.0.1:{port}\"\n[database]\nurl = {:?}\n[admin]\ntoken = \"{ADMIN_TOKEN}\"\n{}",
        dir.path().join("shop.db").display().to_string(),
        CONFIG.replace("[database]\nurl = \"shop.db\"\n", "")
    );
    let config_path = dir.path().join("polymall.toml");
    std::fs::write(&config_path, config).expect("write");
    let server = Stopped(start_server(&config_path));
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    wait_ready(&client, &base).await;
    let posted = client
        .post(format!("{base}/admin/v1/shops/demo/orders"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!([full_order("BK-1"), full_order("BK-2")]))
        .send()
        .await
        .expect("post");
    assert_eq!(posted.status(), 200);
    let work = dir.path().to_path_buf();
    let (copied, again, missing_dir) = tokio::task::spawn_blocking(move || {
        (
            polymall(&work, &["backup", "copy.db"], None),
            polymall(&work, &["backup", "copy.db"], None),
            polymall(&work, &["backup", "no/such/dir/copy.db"], None),
        )
    })
    .await
    .expect("join");
    assert!(copied.status.success(), "{}", said(&copied));
    assert!(said(&copied).contains("copy.db"));
    assert_eq!(again.status.code(), Some(1));
    assert!(
        said(&again).contains("exists"),
        "never overwrites: {}",
        said(&again)
    );
    assert!(said(&missing_dir).contains("does not exist"));
    // The server keeps serving, and the copy is a whole database with the orders.
    assert!(client
        .get(format!("{base}/readyz"))
        .send()
        .await
        .expect("ready")
        .status()
        .is_success());
    drop(server);
    let copy = dir.path().join("copy.db").display().to_string();
    let mut conn = crate::helpers::connect(&copy);
    use diesel::prelude::*;
    let orders: i64 = polymall::db::schema::orders::table
        .count()
        .get_result(&mut conn)
        .expect("count");
    assert_eq!(orders, 2);
}

on_both_backends! {
    check_reports_the_configuration_and_the_database => check;
}

async fn check(backend: Backend) {
    let Some(db) = TestDb::new(backend) else {
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    let config = format!(
        "[database]\nurl = {:?}\n[admin]\ntoken = \"{ADMIN_TOKEN}\"\n{}",
        db.url,
        CONFIG.replace("[database]\nurl = \"shop.db\"\n", "")
    );
    std::fs::write(dir.path().join("polymall.toml"), &config).expect("write");
    let work = dir.path().to_path_buf();
    let before = polymall(&work, &["check"], None);
    assert!(before.status.success(), "{}", said(&before));
    let text = said(&before);
    assert!(text.contains("shop         demo ()"), "{text}");
    match backend {
        Backend::Sqlite => {
            assert!(text.contains("does not exist yet"), "{text}");
            assert!(!Path::new(&db.url).exists(), "check creates nothing");
        }
        Backend::Postgres => {
            assert!(text.contains("postgres postgres://"), "{text}");
            assert!(text.contains("migration(s) pending"), "{text}");
        }
    }
    // With a server's migrations applied, nothing is pending.
    let app = TestApp::spawn_with(db, |_| {}).await;
    let after = polymall(&work, &["check"], None);
    assert!(
        said(&after).contains("answers; 0 migration(s) pending"),
        "{}",
        said(&after)
    );
    assert_eq!(count_sql(&app, "SELECT id FROM shops"), 1);
    // What serve would refuse is a problem: exit 1, naming the key.
    std::fs::write(
        dir.path().join("polymall.toml"),
        format!(
            "[server]\nlisten = \"0.0.0.0:8080\"\n{}",
            config.replace(ADMIN_TOKEN, "change-me-please-0123")
        ),
    )
    .expect("write");
    let refused = polymall(&work, &["check"], None);
    assert_eq!(refused.status.code(), Some(1));
    assert!(said(&refused).contains("admin.token"), "{}", said(&refused));
    // A directory that does not exist, and a PostgreSQL server that does not answer.
    let unreachable = match backend {
        Backend::Sqlite => "no/such/dir/shop.db".to_owned(),
        Backend::Postgres => format!(
            "postgres://postgres@127.0.0.1:{}/test",
            crate::helpers::free_port()
        ),
    };
    std::fs::write(
        dir.path().join("polymall.toml"),
        format!("[database]\nurl = {unreachable:?}\npool_timeout_ms = 1000\n"),
    )
    .expect("write");
    let down = polymall(&work, &["check"], None);
    assert_eq!(down.status.code(), Some(1), "{}", said(&down));
    assert!(said(&down).contains("PROBLEM"), "{}", said(&down));
}
