//! The query plans of the statements GetOrder pages run, and of the Jushuitan push's claim
//! of the outbox rows due and its shipping pull's turn through the orders awaiting
//! shipment, as the database chooses them with the statistics polymall left and with none
//! at all.
//!
//! "None at all" is shown inside a transaction that removes the statistics (SQLite's
//! `sqlite_stat1`, PostgreSQL's `pg_statistic` and the sizes in `pg_class`) and is rolled
//! back: nothing of it stays. On PostgreSQL that needs a superuser.

use diesel::Connection;
use polymall::config::{DatabaseConfig, Secret};
use polymall::db::{Database, DbConnection};
use polymall::outbox::{explain_claim, Kind, Target};
use polymall::shop::orders::{explain_awaiting_shipment, explain_page, OrderFilter, PageAnchors};
use polymall::shop::Page;

/// A request whose plans are printed; `after` is a page served just before it (so its
/// anchor is remembered).
pub struct Planned {
    pub label: String,
    pub filter: OrderFilter,
    pub page: Page,
    pub after: Option<Page>,
}

/// Prints the plans of every request, with the statistics as they are and without.
pub fn print(url: &str, requests: &[Planned]) {
    let db = Database::connect(&DatabaseConfig {
        url: Secret::new(url),
        ..DatabaseConfig::default()
    })
    .expect("connect");
    let mut pooled = db.get().expect("connection");
    let conn: &mut DbConnection = &mut pooled;
    let shop = polymall::shop::shops::find_by_code(conn, super::server::SHOP).expect("shop");
    let statistics = has_statistics(conn);
    println!("plans with the statistics polymall left ({statistics}):");
    show(conn, shop.id, requests);
    let without = conn.transaction(|conn| {
        match polymall::db::forget_statistics(conn) {
            Ok(()) => {
                println!("plans without statistics:");
                show(conn, shop.id, requests);
            }
            Err(error) => println!("plans without statistics: not shown ({error})"),
        }
        Err::<(), _>(diesel::result::Error::RollbackTransaction)
    });
    debug_assert!(without.is_err());
}

fn show(conn: &mut DbConnection, shop_id: i64, requests: &[Planned]) {
    for request in requests {
        let anchors = PageAnchors::default();
        if let Some(before) = request.after {
            explain_page(conn, &anchors, shop_id, &request.filter, before).expect("page before");
        }
        let plans =
            explain_page(conn, &anchors, shop_id, &request.filter, request.page).expect("plans");
        println!("  {}:", request.label);
        for (statement, lines) in plans {
            println!("    {statement}:");
            for line in lines {
                println!("      {line}");
            }
        }
    }
    // Every order of the sale is queued for Jushuitan: the claim must not walk them.
    println!("  the Jushuitan push's claim of the orders due:");
    for line in explain_claim(conn, shop_id, Target::Jushuitan, Kind::Order).expect("claim plan") {
        println!("    {line}");
    }
    println!("  the Jushuitan shipping pull's next orders awaiting shipment:");
    for line in explain_awaiting_shipment(conn, shop_id, Target::Jushuitan).expect("turn plan") {
        println!("    {line}");
    }
}

fn has_statistics(conn: &mut DbConnection) -> String {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let sql = match conn {
        DbConnection::Sqlite(_) => {
            "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM sqlite_schema WHERE name = 'sqlite_stat1'"
        }
        DbConnection::Pg(_) => {
            "SELECT COUNT(*) AS n FROM pg_stats WHERE schemaname = current_schema() \
             AND tablename = 'orders'"
        }
    };
    let found = diesel::sql_query(sql)
        .get_result::<Count>(conn)
        .map(|count| count.n)
        .unwrap_or(0);
    if found > 0 {
        "the tables are analysed".to_owned()
    } else {
        "none".to_owned()
    }
}
