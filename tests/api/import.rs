//! `polymall import` of files larger than a batch: the whole file is checked before
//! anything is stored, then stored batch by batch, counts included.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::{json, Value};

use crate::helpers::{count_sql, strings_sql, Backend, TestApp, TestDb};
use crate::on_both_backends;
use crate::polyapi_client::{ok, PolyClient};
use crate::polyapi_orders::order_at;

on_both_backends! {
    import_checks_the_whole_file_then_stores_batches => batches;
}

/// More than two batches of the import.
const ORDERS: usize = 2_600;

fn import(dir: &std::path::Path, file: &str, stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_polymall"))
        .current_dir(dir)
        .env_remove("POLYMALL_CONFIG")
        .env("RUST_LOG", "warn")
        .args(["import", "--shop", "demo", "orders", file])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run polymall");
    if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(input).expect("stdin");
    }
    child.wait_with_output().expect("wait")
}

fn lines(orders: &[Value]) -> String {
    orders.iter().map(|order| format!("{order}\n")).collect()
}

fn says(output: &Output, text: &str) {
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(all.contains(text), "wanted `{text}` in: {all}");
}

async fn batches(backend: Backend) {
    let Some(db) = TestDb::new(backend) else {
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(
        dir.path().join("polymall.toml"),
        format!(
            "[database]\nurl = {:?}\n[[shops]]\ncode = \"demo\"\nname = \"Demo\"\n",
            db.url
        ),
    )
    .expect("config");
    let mut orders: Vec<Value> = (0..ORDERS)
        .map(|i| order_at(&format!("I{i:05}"), "2024-03-01 10:00:00", "JH_02"))
        .collect();
    let path = dir.path().to_path_buf();
    let run = move |file: &'static str, stdin: Option<Vec<u8>>| {
        let path = path.clone();
        tokio::task::spawn_blocking(move || import(&path, file, stdin.as_deref()))
    };

    // The server creates the database; import only fills one that exists.
    let app = TestApp::spawn_with(db.alias(), |_| {}).await;

    // A key twice in the file, in different batches: refused before anything is stored.
    let mut twice = orders.clone();
    twice.push(order_at("I00003", "2024-03-01 10:00:00", "JH_02"));
    std::fs::write(dir.path().join("twice.jsonl"), lines(&twice)).expect("write");
    let output = run("twice.jsonl", None).await.expect("join");
    assert!(!output.status.success());
    says(&output, &format!("[{ORDERS}].PlatOrderNo"));
    says(&output, "nothing imported");
    assert_eq!(count_sql(&app, "SELECT id FROM orders"), 0);

    // Documents are checked on several threads, but the first wrong one in the file is
    // named, whatever comes after it: here a status no order has, then the key twice and
    // a line that is not JSON, each in a later part of the file.
    let mut wrong = twice.clone();
    for (status, named) in [
        ("JH_99", "[1700].tradeStatus".to_owned()),
        // Without it, the key twice is the first wrong document.
        ("JH_02", format!("[{ORDERS}].PlatOrderNo")),
    ] {
        wrong[1_700]["tradeStatus"] = json!(status);
        let mut text = lines(&wrong);
        text.push_str("{\"PlatOrderNo\": \n");
        std::fs::write(dir.path().join("wrong.jsonl"), text).expect("write");
        let output = run("wrong.jsonl", None).await.expect("join");
        assert!(!output.status.success());
        says(&output, &named);
        says(&output, "nothing imported");
        assert_eq!(count_sql(&app, "SELECT id FROM orders"), 0);
    }

    // From standard input, all of it, with the counts GetOrder reads.
    let output = run("-", Some(lines(&orders).into_bytes()))
        .await
        .expect("join");
    assert!(output.status.success(), "{output:?}");
    says(&output, &format!("{ORDERS} created, 0 updated"));
    assert_eq!(
        count_sql(&app, "SELECT id FROM order_lines"),
        2 * ORDERS as i64
    );
    let client = PolyClient::demo(&app);
    let answer = ok(client
        .call(
            "GetOrder",
            json!({"OrderStatus": "JH_02", "TimeType": "JH_02", "StartTime": "2024-03-01 00:00:00",
                   "EndTime": "2024-03-01 23:59:59", "PageIndex": 1, "PageSize": 1}),
        )
        .await);
    assert_eq!(answer["numtotalorder"], ORDERS);
    // The import left the planner statistics of the tables it filled.
    let analysed = match backend {
        Backend::Sqlite => "SELECT idx FROM sqlite_stat1 WHERE tbl = 'orders'",
        Backend::Postgres => {
            "SELECT relname FROM pg_stat_user_tables WHERE schemaname = current_schema() \
             AND relname = 'orders' AND last_analyze IS NOT NULL"
        }
    };
    assert!(
        count_sql(&app, analysed) > 0,
        "no statistics after the import"
    );
    // On PostgreSQL it also vacuumed them, the queue of count changes it emptied among them
    // (half of them on a second connection): the server's scheduled refresh has nothing of
    // it left to do while it serves.
    if backend == Backend::Postgres {
        let mut filled = polymall::intake::DocumentKind::Orders.tables().to_vec();
        filled.sort_unstable();
        let mut vacuumed = strings_sql(
            &app,
            "SELECT relname AS s FROM pg_stat_user_tables WHERE schemaname = current_schema() \
             AND last_vacuum IS NOT NULL ORDER BY relname",
        );
        vacuumed.retain(|table| filled.contains(&table.as_str()));
        assert_eq!(vacuumed, filled);
    }

    // Ship one order of the second batch, then import a file that would take its line
    // below what shipped: the first batch is stored, nothing from the second on.
    ok(client
        .call(
            "Send",
            json!({"PlatOrderNo": "I01500", "LogisticType": "JH_001", "LogisticNo": "T1500"}),
        )
        .await);
    for order in &mut orders {
        order["sellerremark"] = json!("second import");
    }
    orders[1500]["goodinfos"]
        .as_array_mut()
        .expect("lines")
        .truncate(1);
    std::fs::write(
        dir.path().join("again.json"),
        Value::Array(orders.clone()).to_string(),
    )
    .expect("write");
    let output = run("again.json", None).await.expect("join");
    assert!(!output.status.success());
    says(
        &output,
        "documents [0] to [999] are stored; nothing from [1000] on",
    );
    says(&output, "[1500].goodinfos");
    assert_eq!(
        count_sql(
            &app,
            "SELECT id FROM orders WHERE seller_remark = 'second import'"
        ),
        1_000
    );
}

/// On a terminal, import shows how far it got on one rewritten line (standard error),
/// and ends with its summary on standard output. The terminal comes from `script`.
#[test]
fn import_shows_progress_on_a_terminal() {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("`script` (util-linux) is missing: the terminal progress test is skipped");
        return;
    }
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(
        dir.path().join("polymall.toml"),
        "[database]\nurl = \"shop.db\"\n[[shops]]\ncode = \"demo\"\nname = \"Demo\"\n",
    )
    .expect("config");
    let orders: Vec<Value> = (0..1_500)
        .map(|i| order_at(&format!("T{i:05}"), "2024-03-01 10:00:00", "JH_02"))
        .collect();
    std::fs::write(dir.path().join("orders.jsonl"), lines(&orders)).expect("write");
    let polymall = env!("CARGO_BIN_EXE_polymall");
    let migrate = Command::new(polymall)
        .current_dir(dir.path())
        .env_remove("POLYMALL_CONFIG")
        .arg("migrate")
        .output()
        .expect("migrate");
    assert!(migrate.status.success());
    let output = Command::new("script")
        .current_dir(dir.path())
        .env_remove("POLYMALL_CONFIG")
        .env("RUST_LOG", "warn")
        .args(["-qec"])
        .arg(format!("{polymall} import --shop demo orders orders.jsonl"))
        .arg("/dev/null")
        .output()
        .expect("script");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{text}");
    assert!(
        text.contains("checking: 1500 documents")
            && text.contains("storing: 1500 of 1500 documents (100 %)"),
        "{text}"
    );
    assert!(text.contains("demo: 1500 created, 0 updated"), "{text}");
}
