//! polymall's own upkeep of a PostgreSQL database where autovacuum is off or behind:
//! which tables its refresh vacuums, and when.

use diesel::connection::SimpleConnection;
use polymall::db::{explain, refresh_statistics, DbConnection, PooledConnection, Refresh};

use crate::helpers::{connect, count_sql_at, database, Backend, TestDb};

/// Times `table` was vacuumed, as the statistics views tell it now.
fn vacuums(url: &str, table: &str) -> i64 {
    times(url, table, "vacuum_count")
}

/// Times `table` was analysed (by itself or with a vacuum).
fn analyses(url: &str, table: &str) -> i64 {
    times(url, table, "analyze_count")
}

/// The value of `counter` of `table` in `pg_stat_user_tables`.
fn times(url: &str, table: &str, counter: &str) -> i64 {
    count_sql_at(
        url,
        &format!(
            "SELECT generate_series(1, {counter}) FROM pg_stat_user_tables \
             WHERE schemaname = current_schema() AND relname = '{table}'"
        ),
    )
}

/// Runs `sql` and makes the session's activity counters visible to the statistics views
/// at once (they are otherwise reported up to a second later).
fn write(conn: &mut DbConnection, sql: &str) {
    conn.batch_execute(&format!("{sql}; SELECT pg_stat_force_next_flush()"))
        .expect("write");
    // The flush happens when the session next goes idle, after this statement.
    conn.batch_execute("SELECT 1").expect("idle");
}

/// A fresh PostgreSQL schema with the table `create` makes, and a connection to it; `None`
/// where PostgreSQL is not available.
fn database_with(create: &str) -> Option<(TestDb, PooledConnection)> {
    let db = TestDb::new(Backend::Postgres)?;
    let mut conn = connect(&db.url);
    write(&mut conn, create);
    Some((db, conn))
}

/// The table `grown`, which only grows.
const GROWN: &str = "CREATE TABLE grown (n BIGINT NOT NULL) WITH (autovacuum_enabled = false)";

/// Inserts `rows` rows into `grown`.
fn insert(conn: &mut DbConnection, rows: i64) {
    write(
        conn,
        &format!("INSERT INTO grown SELECT generate_series(1, {rows})"),
    );
}

/// A table that grew by more than a fifth since its last vacuum (autovacuum's default
/// threshold for inserts: 1,000 plus a fifth of the table) is vacuumed by the scheduled
/// refresh, so index-only scans of a sale's orders stay index-only; the refresh between
/// the batches of a large write only analyses, and a table grown by less is left alone.
#[test]
fn a_table_grown_by_a_fifth_is_vacuumed_on_schedule_not_between_batches() {
    let Some((db, mut conn)) = database_with(GROWN) else {
        return;
    };
    insert(&mut conn, 10_000);
    refresh_statistics(&mut conn, Refresh::StatisticsAndVisibility).expect("refresh");
    assert_eq!(vacuums(&db.url, "grown"), 1, "a new table of 10,000 rows");

    // 2,500 more: under 1,000 + 10,000 / 5.
    insert(&mut conn, 2_500);
    refresh_statistics(&mut conn, Refresh::StatisticsAndVisibility).expect("refresh");
    assert_eq!(vacuums(&db.url, "grown"), 1, "grown by a quarter of 10,000");

    // 2,000 more: 4,500 since the vacuum, over 1,000 + 14,500 / 5 but far from doubling
    // the table.
    insert(&mut conn, 2_000);
    refresh_statistics(&mut conn, Refresh::Statistics).expect("refresh");
    assert_eq!(
        vacuums(&db.url, "grown"),
        1,
        "between the batches of a write"
    );
    refresh_statistics(&mut conn, Refresh::StatisticsAndVisibility).expect("refresh");
    assert_eq!(vacuums(&db.url, "grown"), 2, "on schedule");
}

/// Bounds of the histogram PostgreSQL keeps of `grown.n`: one more than the statistics
/// target of its last analyse, for a column of distinct values.
fn histogram_bounds(url: &str) -> i64 {
    count_sql_at(
        url,
        "SELECT generate_series(1, array_length(histogram_bounds::text::bigint[], 1)) \
         FROM pg_stats WHERE schemaname = current_schema() AND tablename = 'grown' \
         AND attname = 'n'",
    )
}

/// The connection's `default_statistics_target`.
fn statistics_target(conn: &mut DbConnection) -> String {
    #[derive(diesel::QueryableByName)]
    struct Setting {
        #[diesel(sql_type = diesel::sql_types::Text)]
        target: String,
    }
    let DbConnection::Pg(pg) = conn else {
        panic!("a PostgreSQL connection");
    };
    diesel::RunQueryDsl::get_result::<Setting>(
        diesel::sql_query("SELECT current_setting('default_statistics_target') AS target"),
        pg,
    )
    .expect("setting")
    .target
}

/// A table that doubled since PostgreSQL last counted it is analysed between the batches
/// of a write, so the next batches are planned for its size; from a small sample, which
/// tells the size as well for a tenth of the work, and leaving the connection's own target
/// as it was.
#[test]
fn a_table_that_doubled_is_analysed_between_batches() {
    let Some((db, mut conn)) = database_with(GROWN) else {
        return;
    };
    let target = statistics_target(&mut conn);
    insert(&mut conn, 1_000);
    refresh_statistics(&mut conn, Refresh::Statistics).expect("refresh");
    assert_eq!(analyses(&db.url, "grown"), 1, "never analysed");
    assert_eq!(histogram_bounds(&db.url), 11, "sampled with a target of 10");
    assert_eq!(statistics_target(&mut conn), target);
    insert(&mut conn, 800);
    refresh_statistics(&mut conn, Refresh::Statistics).expect("refresh");
    assert_eq!(
        analyses(&db.url, "grown"),
        1,
        "1,800 rows, counted at 1,000"
    );
    insert(&mut conn, 400);
    refresh_statistics(&mut conn, Refresh::Statistics).expect("refresh");
    assert_eq!(
        analyses(&db.url, "grown"),
        2,
        "2,200 rows, counted at 1,000"
    );
    assert_eq!(vacuums(&db.url, "grown"), 0, "no vacuum between batches");
}

/// A table with autovacuum settings of its own (as the queue of count changes has: vacuumed
/// after 1,000 dead rows, not 50 plus a fifth) is vacuumed at those; a table that churns
/// without growing (that queue again) is analysed on schedule, not between the batches of
/// a write, where each analyse made every connection plan the statements reading it anew.
#[test]
fn a_queue_is_vacuumed_at_its_own_settings_and_analysed_on_schedule() {
    let Some((db, mut conn)) = database_with(
        "CREATE TABLE queue (n BIGINT NOT NULL) WITH (autovacuum_enabled = false, \
         autovacuum_vacuum_threshold = 1000, autovacuum_vacuum_scale_factor = 0, \
         autovacuum_vacuum_insert_threshold = -1)",
    ) else {
        return;
    };
    let churn = "INSERT INTO queue SELECT generate_series(1, 600); DELETE FROM queue";
    write(&mut conn, churn);
    refresh_statistics(&mut conn, Refresh::StatisticsAndVisibility).expect("refresh");
    assert_eq!(vacuums(&db.url, "queue"), 0, "600 dead rows");
    assert_eq!(analyses(&db.url, "queue"), 1, "never analysed");
    write(&mut conn, churn);
    refresh_statistics(&mut conn, Refresh::Statistics).expect("refresh");
    assert_eq!(analyses(&db.url, "queue"), 1, "churned, between batches");
    refresh_statistics(&mut conn, Refresh::StatisticsAndVisibility).expect("refresh");
    assert_eq!(vacuums(&db.url, "queue"), 1, "1,200 dead rows");
    assert_eq!(analyses(&db.url, "queue"), 2, "churned, on schedule");
}

/// The plan a connection keeps of the foreign-key check PostgreSQL runs for every line,
/// receiver and pickup code written (`SELECT 1 FROM ONLY orders x WHERE $1 = shop_id AND
/// $2 = id FOR KEY SHARE OF x`, made once for any shop and order), one line per step.
fn order_key_check(conn: &mut DbConnection) -> Vec<String> {
    conn.batch_execute(
        "SET plan_cache_mode = force_generic_plan; \
         PREPARE order_key_check (bigint, bigint) AS \
         SELECT 1 FROM ONLY orders x WHERE $1 = shop_id AND $2 = id FOR KEY SHARE OF x",
    )
    .expect("prepare");
    let plan = explain(conn, &diesel::sql_query("EXECUTE order_key_check (1, 1)")).expect("plan");
    conn.batch_execute("DEALLOCATE order_key_check; RESET plan_cache_mode")
        .expect("deallocate");
    plan
}

/// Orders a session wrote are analysed by the next refresh between batches even before
/// the statistics views count them (a writing session reports its activity only every
/// second or so). Until then the foreign-key check of every line written walks the shop's
/// entries of a time index, as its plan, made while the table was nearly empty, ties every
/// index that starts with `shop_id`; an import stored its first seconds of orders so.
#[test]
fn orders_not_yet_counted_are_analysed_between_batches_and_their_key_checks_seek() {
    let Some(db) = TestDb::new(Backend::Postgres) else {
        return;
    };
    database(&db.url).migrate().expect("migrate");
    let mut conn = connect(&db.url);
    write(
        &mut conn,
        "INSERT INTO shops (code, name, utc_offset_minutes, created_at, modified_at) \
         VALUES ('s', 'S', 480, now(), now()); \
         INSERT INTO orders (shop_id, plat_order_no, trade_status, pay_order_no, nick, \
         should_pay_type, order_type, send_date, send_style, currency_code, whse_code, \
         customer_remark, seller_remark, seller_flag, post_fee, goods_fee, total_money, \
         real_money, favourable_money, commission_value, cod_service_fee, created_at, \
         modified_at) \
         SELECT 1, 'N' || n, 'JH_02', '', '', '', '', '', '', '', '', '', '', 0, 0, 0, 0, 0, \
         0, 0, 0, now(), now() FROM generate_series(1, 200) AS n",
    );
    // As when the writing session has not reported its inserts yet.
    write(
        &mut conn,
        "SELECT pg_stat_reset_single_table_counters('orders'::regclass)",
    );
    let seeks = |plan: &[String]| {
        plan.iter()
            .any(|step| step.contains("orders_shop_id_id_key") || step.contains("orders_pkey"))
    };
    let walking = order_key_check(&mut conn);
    assert!(
        !seeks(&walking),
        "unanalysed, the check reads a time index: {walking:#?}"
    );

    refresh_statistics(&mut conn, Refresh::Statistics).expect("refresh");
    assert_eq!(analyses(&db.url, "orders"), 1, "orders analysed");
    let seeking = order_key_check(&mut conn);
    assert!(seeks(&seeking), "analysed: {seeking:#?}");
}
