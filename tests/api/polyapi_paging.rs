//! GetOrder pages served from remembered anchors are the pages a walk from the first order
//! gives, while orders arrive, ship and change status between the requests.

use serde_json::{json, Value};

use crate::helpers::{
    assert_no_sort_nor_walk, connect, count_sql, execute_sql, fold_order_counts, only_index_paths,
    strings_sql, Backend, TestApp,
};
use crate::on_both_backends;
use crate::polyapi_client::{ok, PolyClient};
use crate::polyapi_orders::order_at;

on_both_backends! {
    get_order_pages_the_same_with_and_without_anchors => anchored_pages;
    a_page_after_an_anchor_inside_a_batch_seeks_to_it => seek_inside_a_batch;
    pages_found_through_the_counts_are_the_pages_the_walk_gives => counted_pages;
    an_order_counts_in_the_millisecond_its_time_is_cut_down_to => counted_milliseconds;
    a_remembered_count_inside_a_batch_holds_only_while_nothing_there_changes => remembered_millisecond;
}

/// Orders in the listings below: enough that a middle page is further from both ends than
/// an anchor is worth checking.
const ORDERS: usize = 1_400;

/// A listing of GetOrder, the same listing as polymall's filter, and its rows in SQL
/// (`FROM … ORDER BY …`), as the contract defines their order.
struct Listing {
    biz: Value,
    filter: polymall::shop::orders::OrderFilter,
    size: i64,
    rows: String,
}

fn local(t: chrono::NaiveDateTime) -> String {
    (t + chrono::TimeDelta::hours(8))
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

fn utc(t: chrono::NaiveDateTime) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

fn listings() -> Vec<Listing> {
    use polymall::shop::codes::TradeStatus;
    use polymall::shop::orders::{OrderFilter, OrderTime, TimeWindow};

    let now = chrono::Utc::now().naive_utc();
    let (from, until) = (
        now - chrono::TimeDelta::days(1),
        now + chrono::TimeDelta::days(1),
    );
    let placed_from = chrono::NaiveDate::from_ymd_opt(2024, 2, 29)
        .and_then(|day| day.and_hms_opt(16, 0, 0))
        .expect("time");
    vec![
        Listing {
            biz: json!({"OrderStatus": "JH_99", "TimeType": "JH_01", "StartTime": local(from),
                        "EndTime": local(until)}),
            // Starts inside a millisecond (the wire's window starts at its second; no order
            // lies between the two): the counts' millisecond may begin before it.
            filter: modified_within_a_day_of(now),
            size: 7,
            rows: format!(
                "FROM orders WHERE modified_at >= '{}' AND modified_at < '{}' \
                 ORDER BY modified_at, id",
                utc(from),
                utc(until + chrono::TimeDelta::seconds(1))
            ),
        },
        Listing {
            biz: json!({"OrderStatus": "JH_02", "TimeType": "JH_02",
                        "StartTime": "2024-03-01 00:00:00", "EndTime": "2024-03-02 23:59:59"}),
            filter: OrderFilter {
                status: Some(TradeStatus::AwaitingShipment),
                window: Some(TimeWindow {
                    time: OrderTime::Created,
                    from: placed_from,
                    until: placed_from + chrono::TimeDelta::days(2),
                }),
                plat_order_no: None,
            },
            size: 5,
            rows: "FROM orders WHERE trade_status = 'JH_02' \
                   AND created_at >= '2024-02-29 16:00:00' AND created_at < '2024-03-02 16:00:00' \
                   ORDER BY created_at, id"
                .to_owned(),
        },
        Listing {
            biz: json!({"OrderStatus": "JH_02"}),
            filter: OrderFilter {
                status: Some(TradeStatus::AwaitingShipment),
                window: None,
                plat_order_no: None,
            },
            size: 9,
            rows: "FROM orders WHERE trade_status = 'JH_02' ORDER BY modified_at, id".to_owned(),
        },
    ]
}

fn numbers(answer: &Value) -> Vec<String> {
    answer["orders"]
        .as_array()
        .expect("orders")
        .iter()
        .map(|o| o["PlatOrderNo"].as_str().expect("no").to_owned())
        .collect()
}

/// Three orders placed in every second of a minute: many share a time, and a batch shares
/// its modified time.
fn placed(no: &str, i: usize, status: &str) -> Value {
    let second = i / 3 % 60;
    let minute = i / 180;
    order_at(
        no,
        &format!("2024-03-01 10:{minute:02}:{second:02}"),
        status,
    )
}

/// The test shop's id.
fn demo_shop_id(app: &TestApp) -> i64 {
    strings_sql(
        app,
        "SELECT CAST(id AS TEXT) AS s FROM shops WHERE code = 'demo'",
    )[0]
    .parse()
    .expect("shop id")
}

/// Every order modified within a day of `now`, by modified time.
fn modified_within_a_day_of(now: chrono::NaiveDateTime) -> polymall::shop::orders::OrderFilter {
    use polymall::shop::orders::{OrderFilter, OrderTime, TimeWindow};
    OrderFilter {
        status: None,
        window: Some(TimeWindow::through_second(
            OrderTime::Modified,
            now - chrono::TimeDelta::days(1),
            now + chrono::TimeDelta::days(1),
        )),
        plat_order_no: None,
    }
}

/// `ORDERS` orders in requests of 350, a quarter unpaid; the counts of the first two
/// requests folded, the rest pending.
async fn post_orders(app: &TestApp) {
    for batch in 0..ORDERS / 350 {
        let orders: Vec<Value> = (0..350)
            .map(|i| {
                let n = batch * 350 + i;
                let status = if n % 4 == 0 { "JH_01" } else { "JH_02" };
                placed(&format!("A{n:05}"), n, status)
            })
            .collect();
        let (status, body) = app.admin_post("orders", &Value::Array(orders)).await;
        assert_eq!(status, 200, "{body}");
        if batch == 1 {
            fold_order_counts(app);
        }
    }
}

async fn anchored_pages(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    post_orders(&app).await;
    let client = PolyClient::demo(&app);
    let mut changes = 0;
    for listing in listings() {
        let total = |answer: &Value| answer["numtotalorder"].as_i64().expect("total");
        let call = |index: i64| {
            let mut biz = listing.biz.clone();
            biz["PageIndex"] = json!(index);
            biz["PageSize"] = json!(listing.size);
            biz
        };
        let first = ok(client.call("GetOrder", call(1)).await);
        let middle = total(&first) / listing.size / 2;
        // As an ERP pages: forward from the middle, the same page again, a step back, then
        // the end.
        let mut sequence = vec![2, middle, middle + 1, middle + 2, middle + 2, middle + 1];
        sequence.extend([middle + 3, middle - 1, -1, 1, middle + 4]);
        for index in sequence {
            let index = if index < 0 {
                (total(&first) + listing.size - 1) / listing.size
            } else {
                index
            };
            let warm = ok(client.call("GetOrder", call(index)).await);
            let cold = {
                let beside = app.beside().await;
                ok(PolyClient::demo(&beside)
                    .call("GetOrder", call(index))
                    .await)
            };
            let expected = strings_sql(
                &app,
                &format!(
                    "SELECT plat_order_no AS s {} LIMIT {} OFFSET {}",
                    listing.rows,
                    listing.size,
                    (index - 1) * listing.size
                ),
            );
            assert_eq!(numbers(&warm), expected, "page {index} of {}", listing.biz);
            assert_eq!(
                numbers(&cold),
                expected,
                "page {index} of {} (cold)",
                listing.biz
            );
            assert_eq!(warm["numtotalorder"], cold["numtotalorder"]);
            change_something(&app, &client, changes).await;
            changes += 1;
        }
    }
}

/// A page far from the first order, the last and every anchor finds where it starts
/// through the counts (halving the time between the first and last order, counting the
/// orders before each middle) and walks only inside one millisecond: forced here for every
/// page but the first and the last, the pages are the ones SQL gives in the contract's
/// order, with counts partly folded and partly pending, while orders arrive, ship and
/// change status between the pages, and windows that do not start on a millisecond.
async fn counted_pages(backend: Backend) {
    use polymall::shop::orders::page_ids_by_counts;
    use polymall::shop::Page;

    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    post_orders(&app).await;
    let shop_id = demo_shop_id(&app);
    let client = PolyClient::demo(&app);
    let mut changes = 0;
    for Listing {
        filter, size, rows, ..
    } in listings()
    {
        for step in 0..6 {
            let total = count_sql(&app, &format!("SELECT id {rows}"));
            let pages = (total + size - 1) / size;
            let index = [2, pages / 2 - 1, pages / 2, pages / 2 + 1, pages - 1, 3][step];
            let found = page_ids_by_counts(
                &mut connect(&app.db.url),
                shop_id,
                &filter,
                Page { index, size },
            )
            .expect("page");
            let expected = strings_sql(
                &app,
                &format!(
                    "SELECT CAST(id AS TEXT) AS s {rows} LIMIT {size} OFFSET {}",
                    (index - 1) * size
                ),
            );
            let ids: Vec<String> = found.items.iter().map(ToString::to_string).collect();
            assert_eq!(ids, expected, "page {index} of {rows}");
            assert_eq!(found.total, total, "total of {rows}");
            change_something(&app, &client, changes).await;
            changes += 1;
            if changes % 5 == 0 {
                fold_order_counts(&app);
            }
        }
    }
}

/// Forty orders 0.7 ms apart, each in the second half of a millisecond or near it (at
/// 10:00:00.000600, .001300, … .027900): each is counted in the millisecond its time is
/// cut down to, pending and folded, so every one of them, one per page, is found through
/// the counts at its place (rounded to the nearest millisecond, as SQLite's `%f` does, the
/// order at .0279 was counted in .028 and a count up to .028 missed it).
async fn counted_milliseconds(backend: Backend) {
    use polymall::shop::orders::{page_ids_by_counts, OrderFilter, OrderTime, TimeWindow};
    use polymall::shop::Page;

    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let orders: Vec<Value> = (0..40)
        .map(|i| placed(&format!("M{i:02}"), i, "JH_02"))
        .collect();
    let (status, body) = app.admin_post("orders", &Value::Array(orders)).await;
    assert_eq!(status, 200, "{body}");
    fold_order_counts(&app);
    let at = |i: usize| format!("2025-06-01 10:00:00.{:06}", i * 700 + 600);
    for i in 0..40 {
        execute_sql(
            &app,
            &format!(
                "UPDATE orders SET modified_at = '{}' WHERE plat_order_no = 'M{i:02}'",
                at(i)
            ),
        );
        if i == 19 {
            fold_order_counts(&app);
        }
    }
    let pending = |millisecond: &str| {
        count_sql(
            &app,
            &format!(
                "SELECT at FROM order_count_changes WHERE time_kind = 'modified' \
                 AND at = '2025-06-01 10:00:00.{millisecond}' GROUP BY at HAVING SUM(delta) > 0"
            ),
        )
    };
    assert_eq!(pending("027"), 1, "10:00:00.027900 is in .027");
    assert_eq!(pending("028"), 0, "not in .028");
    let shop_id = demo_shop_id(&app);
    let from = chrono::NaiveDate::from_ymd_opt(2025, 6, 1)
        .and_then(|day| day.and_hms_opt(9, 0, 0))
        .expect("time");
    let filter = OrderFilter {
        status: None,
        window: Some(TimeWindow {
            time: OrderTime::Modified,
            from,
            until: from + chrono::TimeDelta::hours(2),
        }),
        plat_order_no: None,
    };
    for index in 1..=40 {
        let found = page_ids_by_counts(
            &mut connect(&app.db.url),
            shop_id,
            &filter,
            Page { index, size: 1 },
        )
        .expect("page");
        let expected = strings_sql(
            &app,
            &format!(
                "SELECT plat_order_no AS s FROM orders WHERE id = {}",
                found.items.first().copied().unwrap_or(0)
            ),
        );
        assert_eq!(expected, vec![format!("M{:02}", index - 1)], "page {index}");
        assert_eq!(found.total, 40);
    }
}

/// Between two requests: new orders (some placed early, so they land before the pages
/// already served), a shipment (the order leaves the paid listing and moves to the end
/// of the modified one), or a payment (an unpaid order joins the paid listing).
async fn change_something(app: &TestApp, client: &PolyClient<'_>, step: usize) {
    match step % 3 {
        0 => {
            let orders: Vec<Value> = (0..4)
                .map(|i| placed(&format!("N{step:03}{i}"), i * 7 + step, "JH_02"))
                .collect();
            let (status, body) = app.admin_post("orders", &Value::Array(orders)).await;
            assert_eq!(status, 200, "{body}");
        }
        1 => {
            let no = format!("A{:05}", 1 + step * 37 % ORDERS / 4 * 4);
            ok(client
                .call(
                    "Send",
                    json!({"PlatOrderNo": no, "LogisticType": "JH_001", "LogisticNo": format!("T{step}")}),
                )
                .await);
        }
        _ => {
            let n = step * 53 % ORDERS / 4 * 4;
            let order = placed(&format!("A{n:05}"), n, "JH_02");
            let (status, body) = app.admin_post("orders", &json!([order])).await;
            assert_eq!(status, 200, "{body}");
        }
    }
}

/// The orders of one request share their modified time, so an anchor is most often inside
/// such a batch. The page after it seeks to the anchor's own order, by time and id, both for
/// the count of the orders before it and for the walk from it: no statement reads the
/// batch's orders before the anchor one by one, and none sorts (on PostgreSQL shown with the
/// other ways disabled, since tables this small are cheaper read whole).
async fn seek_inside_a_batch(backend: Backend) {
    use diesel::connection::Connection;
    use polymall::shop::orders::{explain_page, PageAnchors};
    use polymall::shop::Page;

    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    for batch in 0..2 {
        let orders: Vec<Value> = (0..350)
            .map(|i| placed(&format!("B{batch}{i:03}"), batch * 350 + i, "JH_02"))
            .collect();
        let (status, body) = app.admin_post("orders", &Value::Array(orders)).await;
        assert_eq!(status, 200, "{body}");
    }
    let shop_id = demo_shop_id(&app);
    let now = chrono::Utc::now().naive_utc();
    let filter = modified_within_a_day_of(now);
    let mut conn = connect(&app.db.url);
    let plans = conn
        .transaction::<_, polymall::shop::ShopError, _>(|conn| {
            only_index_paths(conn)?;
            let anchors = PageAnchors::default();
            // Page 12 of 30 ends at order 360, inside the second batch; page 13 starts there.
            let mut plans = Vec::new();
            for index in [12, 13] {
                plans = explain_page(conn, &anchors, shop_id, &filter, Page { index, size: 30 })?;
            }
            Ok(plans)
        })
        .expect("plans");
    let plan_of = |label: &str| -> String {
        plans
            .iter()
            .find(|(what, _)| what == label)
            .map(|(_, lines)| lines.join("\n"))
            .unwrap_or_else(|| panic!("no `{label}` in {plans:#?}"))
    };
    // The count and the walk from the anchor are one statement.
    let plan = plan_of(
        "total of the listing, orders before an anchor and the ids and revisions of the page, walking from it",
    );
    assert_no_sort_nor_walk(&plan, "orders");
    match backend {
        Backend::Sqlite => {
            assert!(plan.contains("modified_at=? AND id<?"), "{plan}");
            assert!(plan.contains("modified_at=? AND id>?"), "{plan}");
        }
        Backend::Postgres => {
            assert!(plan.contains("id < "), "{plan}");
            assert!(plan.contains("ROW(modified_at, id) >="), "{plan}");
        }
    }
}

/// A page after an anchor inside a batch remembers how many orders of the anchor's
/// millisecond lie before it, and counts them again once anything there may have moved:
/// a status change folded since (nothing pending there, but a fold ran), and one statement
/// that moves one order out of the millisecond's status and another in (nothing summed:
/// PostgreSQL's statement trigger kept no change of such a statement before). Each time
/// the page is the one SQL gives.
async fn remembered_millisecond(backend: Backend) {
    use polymall::shop::codes::TradeStatus;
    use polymall::shop::orders::{page, OrderFilter, OrderTime, PageAnchors, TimeWindow};
    use polymall::shop::Page;

    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    // 900 orders placed in one second, so one millisecond: every other one paid.
    for batch in 0..3 {
        let orders: Vec<Value> = (0..300)
            .map(|i| {
                let status = if i % 2 == 0 { "JH_02" } else { "JH_01" };
                order_at(&format!("T{batch}{i:03}"), "2024-03-01 10:00:00", status)
            })
            .collect();
        let (status, body) = app.admin_post("orders", &Value::Array(orders)).await;
        assert_eq!(status, 200, "{body}");
    }
    fold_order_counts(&app);
    let shop_id = demo_shop_id(&app);
    let from = chrono::NaiveDate::from_ymd_opt(2024, 2, 29)
        .and_then(|day| day.and_hms_opt(16, 0, 0))
        .expect("time");
    let filter = OrderFilter {
        status: Some(TradeStatus::AwaitingShipment),
        window: Some(TimeWindow {
            time: OrderTime::Created,
            from,
            until: from + chrono::TimeDelta::days(2),
        }),
        plat_order_no: None,
    };
    let rows = "FROM orders WHERE trade_status = 'JH_02' AND created_at >= '2024-02-29 16:00:00' \
                AND created_at < '2024-03-02 16:00:00' ORDER BY created_at, id";
    let paid = strings_sql(&app, &format!("SELECT CAST(id AS TEXT) AS s {rows}"));
    assert_eq!(paid.len(), 450);
    let anchors = PageAnchors::default();
    // Page 12 of 30 starts at 330: far enough from the first order for its anchor to be
    // used, and inside the batch.
    let twelve = Page {
        index: 12,
        size: 30,
    };
    let check = |step: &str| {
        let found = page(
            &mut connect(&app.db.url),
            &anchors,
            shop_id,
            &filter,
            twelve,
        )
        .expect("page");
        let expected = strings_sql(
            &app,
            &format!("SELECT CAST(id AS TEXT) AS s {rows} LIMIT 30 OFFSET 330"),
        );
        let ids: Vec<String> = found.items.iter().map(|o| o.id.to_string()).collect();
        assert_eq!(ids, expected, "{step}");
        assert_eq!(
            found.total,
            count_sql(&app, &format!("SELECT id {rows}")),
            "{step}"
        );
    };
    // Walked, then from its anchor (counted and remembered), then remembered.
    for step in ["first", "from the anchor", "remembered"] {
        check(step);
    }
    // An order before the anchor leaves; the change is folded, so nothing is pending.
    let before = &paid[4];
    execute_sql(
        &app,
        &format!("UPDATE orders SET trade_status = 'JH_01' WHERE id = {before}"),
    );
    fold_order_counts(&app);
    check("after a fold");
    check("remembered again");
    // One statement: the order before the anchor comes back, one after it leaves.
    let after = &paid[400];
    execute_sql(
        &app,
        &format!(
            "UPDATE orders SET trade_status = CASE WHEN id = {before} THEN 'JH_02' ELSE 'JH_01' END \
             WHERE id IN ({before}, {after})"
        ),
    );
    check("after a statement that moved orders both ways");
    check("once more");
    fold_order_counts(&app);
    check("folded");
}
