//! Creating and replacing orders, a batch at a time.
//!
//! A batch is one transaction of multi-row statements: for each run of orders (256, 64,
//! 16, 4 or 1 at a time, so each statement text is prepared once per connection) one
//! lookup of what is stored, one upsert per table, one outbox upsert per target. The
//! triggers add the orders to the counts, a few change rows per statement. Orders are
//! written in the order of the request, so new orders get ids in that order (the
//! tie-break of equal times in GetOrder). An order's invoice and customs data have a row
//! only when the order has any (every field empty reads the same as no row).

use std::collections::{HashMap, HashSet};

use chrono::NaiveDateTime;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};
use diesel::QueryableByName;

use super::model::{Customs, Invoice, NewOrder};
use crate::db::{runs, write_transaction, DbConnection, Row, Statement};
use crate::outbox::{self, Kind, Target};
use crate::shop::codes::TradeStatus;
use crate::shop::{ShopError, UpsertCounts};
use crate::time::now_utc;

/// Columns of `orders` after `shop_id`, in the order of their values.
const ORDER_COLUMNS: [&str; 23] = [
    "plat_order_no",
    "trade_status",
    "pay_time",
    "pay_order_no",
    "nick",
    "should_pay_type",
    "order_type",
    "send_date",
    "send_style",
    "currency_code",
    "whse_code",
    "customer_remark",
    "seller_remark",
    "seller_flag",
    "post_fee",
    "goods_fee",
    "total_money",
    "real_money",
    "favourable_money",
    "commission_value",
    "cod_service_fee",
    "created_at",
    "modified_at",
];

/// Columns of `order_receivers` after `order_id, shop_id`.
const RECEIVER_COLUMNS: [&str; 15] = [
    "country",
    "province",
    "city",
    "area",
    "town",
    "address",
    "zip",
    "phone",
    "mobile",
    "email",
    "qq",
    "receiver_name",
    "card_type",
    "id_card",
    "id_card_true_name",
];

/// Columns of `order_invoices` after `order_id, shop_id`.
const INVOICE_COLUMNS: [&str; 8] = [
    "invoice_type",
    "invoice_title",
    "taxpayer_ident",
    "invoice_content",
    "registered_address",
    "registered_phone",
    "deposit_bank",
    "bank_account",
];

/// Columns of `order_customs` after `order_id, shop_id`.
const CUSTOMS_COLUMNS: [&str; 9] = [
    "is_overseas",
    "tax_amount",
    "tariff_amount",
    "added_value_amount",
    "consumption_duty_amount",
    "pay_id",
    "pay_name",
    "business_plat_code",
    "business_plat_name",
];

/// Columns of `order_lines` after `shop_id, order_id` that the storefront writes.
const LINE_COLUMNS: [&str; 12] = [
    "sub_order_no",
    "product_id",
    "outer_id",
    "name",
    "spec",
    "goods_count",
    "price",
    "discount_money",
    "tax_amount",
    "refund_status",
    "status",
    "remark",
];

/// Creates or replaces `items` (keyed by platform order number) in one transaction.
///
/// Replacing keeps what polymall itself recorded: shipped quantities and a redeemed
/// pickup code. A line cannot shrink below what was shipped nor disappear once shipped.
pub fn upsert(
    conn: &mut DbConnection,
    shop_id: i64,
    items: &[NewOrder],
) -> Result<UpsertCounts, ShopError> {
    check_batch(items)?;
    let indexed: Vec<(usize, &NewOrder)> = items.iter().enumerate().collect();
    write_transaction(conn, |conn| {
        let now = now_utc();
        let mut counts = UpsertCounts::default();
        for run in runs(&indexed) {
            write_run(conn, shop_id, run, now, &mut counts)?;
        }
        Ok(counts)
    })
}

/// What is stored of an order a batch replaces.
#[derive(Debug, QueryableByName)]
struct Stored {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    plat_order_no: String,
    #[diesel(sql_type = Text)]
    trade_status: String,
}

/// A stored line of an order a batch replaces.
#[derive(Debug, QueryableByName)]
struct StoredLine {
    #[diesel(sql_type = BigInt)]
    order_id: i64,
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    sub_order_no: String,
    #[diesel(sql_type = BigInt)]
    shipped_count: i64,
}

/// A stored pickup code of an order a batch replaces.
#[derive(Debug, QueryableByName)]
struct StoredPickup {
    #[diesel(sql_type = BigInt)]
    order_id: i64,
    #[diesel(sql_type = Text)]
    code: String,
    #[diesel(sql_type = Nullable<Timestamp>)]
    redeemed_at: Option<NaiveDateTime>,
}

/// An order's id as the upsert answers it.
#[derive(Debug, QueryableByName)]
struct Written {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    plat_order_no: String,
}

/// Writes one run of orders (each with its index in the request).
fn write_run(
    conn: &mut DbConnection,
    shop_id: i64,
    run: &[(usize, &NewOrder)],
    now: NaiveDateTime,
    counts: &mut UpsertCounts,
) -> Result<(), ShopError> {
    let stored: HashMap<String, Stored> = {
        let mut lookup = Statement::new();
        lookup
            .sql("SELECT id, plat_order_no, trade_status FROM orders WHERE shop_id = ")
            .bind(shop_id)
            .sql(" AND plat_order_no IN ")
            .tuple(
                run.iter()
                    .map(|(_, item)| item.header.plat_order_no.as_str()),
            );
        lookup
            .rows::<Stored>(conn)?
            .into_iter()
            .map(|row| (row.plat_order_no.clone(), row))
            .collect()
    };
    let stored_ids: Vec<i64> = stored.values().map(|row| row.id).collect();
    let lines = stored_lines(conn, shop_id, &stored_ids)?;
    let pickups = stored_pickups(conn, &stored_ids)?;
    let mut removed_lines = Vec::new();
    let mut removed_pickups = Vec::new();
    let mut kept_pickups = HashSet::new();
    for (index, item) in run {
        let Some(order) = stored.get(&item.header.plat_order_no) else {
            continue;
        };
        removed_lines.extend(check_lines(*index, item, lines.get(&order.id))?);
        match check_pickup(*index, item, pickups.get(&order.id))? {
            Pickup::Write => {}
            Pickup::Keep => {
                kept_pickups.insert(order.id);
            }
            Pickup::Remove => removed_pickups.push(order.id),
        }
    }
    counts.created += run.len() - stored.len();
    counts.updated += stored.len();

    let ids = upsert_orders(conn, shop_id, run, now)?;
    let id_of = |item: &NewOrder| -> Result<i64, ShopError> {
        ids.get(&item.header.plat_order_no).copied().ok_or_else(|| {
            ShopError::Db(crate::db::DbError::Query(diesel::result::Error::NotFound))
        })
    };
    let with_ids: Vec<(i64, &NewOrder)> = run
        .iter()
        .map(|(_, item)| Ok((id_of(item)?, *item)))
        .collect::<Result<_, ShopError>>()?;
    upsert_parts(conn, shop_id, &with_ids, &stored)?;
    delete_where_in(conn, "order_lines", "id", &removed_lines)?;
    upsert_lines(conn, shop_id, &with_ids)?;
    delete_where_in(conn, "pickup_codes", "order_id", &removed_pickups)?;
    let codes: Vec<(i64, &str)> = with_ids
        .iter()
        .filter(|(id, _)| !kept_pickups.contains(id))
        .filter_map(|(id, item)| item.pickup_code.as_deref().map(|code| (*id, code)))
        .collect();
    upsert_pickups(conn, shop_id, &codes)?;
    announce(conn, shop_id, run, &stored)
}

/// The outbox rows of a run: every order goes to Jushuitan; the warehouse learns of an
/// order when it becomes payable-to-ship (JH_02) and of its cancellation when an order
/// it may hold is closed.
fn announce(
    conn: &mut DbConnection,
    shop_id: i64,
    run: &[(usize, &NewOrder)],
    stored: &HashMap<String, Stored>,
) -> Result<(), ShopError> {
    let mut orders = Vec::with_capacity(run.len());
    let mut deliveries = Vec::new();
    let mut cancels = Vec::new();
    for (_, item) in run {
        let no = item.header.plat_order_no.as_str();
        orders.push(no);
        let before = stored
            .get(no)
            .and_then(|row| TradeStatus::from_code(&row.trade_status));
        match (before, TradeStatus::from_code(&item.header.trade_status)) {
            (before, Some(TradeStatus::AwaitingShipment))
                if before != Some(TradeStatus::AwaitingShipment) =>
            {
                deliveries.push(no);
            }
            (Some(TradeStatus::AwaitingShipment), Some(TradeStatus::Closed)) => cancels.push(no),
            _ => {}
        }
    }
    outbox::enqueue_many(conn, shop_id, Target::Jushuitan, Kind::Order, &orders)?;
    outbox::enqueue_many(conn, shop_id, Target::Wms, Kind::DeliveryOrder, &deliveries)?;
    outbox::enqueue_many(conn, shop_id, Target::Wms, Kind::Cancel, &cancels)?;
    Ok(())
}

fn stored_lines(
    conn: &mut DbConnection,
    shop_id: i64,
    order_ids: &[i64],
) -> Result<HashMap<i64, Vec<StoredLine>>, ShopError> {
    let mut lines: HashMap<i64, Vec<StoredLine>> = HashMap::new();
    for run in runs(order_ids) {
        let mut lookup = Statement::new();
        lookup
            .sql(
                "SELECT order_id, id, sub_order_no, shipped_count FROM order_lines \
                 WHERE shop_id = ",
            )
            .bind(shop_id)
            .sql(" AND order_id IN ")
            .tuple(run.iter().copied());
        for line in lookup.rows::<StoredLine>(conn)? {
            lines.entry(line.order_id).or_default().push(line);
        }
    }
    Ok(lines)
}

fn stored_pickups(
    conn: &mut DbConnection,
    order_ids: &[i64],
) -> Result<HashMap<i64, StoredPickup>, ShopError> {
    let mut pickups = HashMap::new();
    for run in runs(order_ids) {
        let mut lookup = Statement::new();
        lookup
            .sql("SELECT order_id, code, redeemed_at FROM pickup_codes WHERE order_id IN ")
            .tuple(run.iter().copied());
        for pickup in lookup.rows::<StoredPickup>(conn)? {
            pickups.insert(pickup.order_id, pickup);
        }
    }
    Ok(pickups)
}

/// Checks a replacement against the stored lines; answers the ids of lines to remove.
fn check_lines(
    index: usize,
    item: &NewOrder,
    stored: Option<&Vec<StoredLine>>,
) -> Result<Vec<i64>, ShopError> {
    let stored = stored.map(Vec::as_slice).unwrap_or_default();
    let wanted: HashSet<&str> = item.lines.iter().map(|l| l.sub_order_no.as_str()).collect();
    let mut removed = Vec::new();
    for line in stored {
        if wanted.contains(line.sub_order_no.as_str()) {
            continue;
        }
        if line.shipped_count > 0 {
            return Err(ShopError::rejected(
                format!("[{index}].goodinfos"),
                format!(
                    "line `{}` has {} shipped and cannot be removed",
                    line.sub_order_no, line.shipped_count
                ),
            ));
        }
        removed.push(line.id);
    }
    let shipped: HashMap<&str, i64> = stored
        .iter()
        .map(|line| (line.sub_order_no.as_str(), line.shipped_count))
        .collect();
    for (line_index, line) in item.lines.iter().enumerate() {
        if let Some(shipped) = shipped.get(line.sub_order_no.as_str()) {
            if line.goods_count < *shipped {
                return Err(ShopError::rejected(
                    format!("[{index}].goodinfos[{line_index}].goodscount"),
                    format!(
                        "{} is less than the {shipped} already shipped",
                        line.goods_count
                    ),
                ));
            }
        }
    }
    Ok(removed)
}

/// What becomes of a replaced order's pickup code.
enum Pickup {
    /// Write the one sent, if any (nothing stored, or stored and not redeemed).
    Write,
    /// Leave the stored one: redeemed, and sent again unchanged.
    Keep,
    /// Remove the stored one: not redeemed, and none sent.
    Remove,
}

fn check_pickup(
    index: usize,
    item: &NewOrder,
    stored: Option<&StoredPickup>,
) -> Result<Pickup, ShopError> {
    let wanted = item.pickup_code.as_deref();
    match stored {
        Some(stored) if stored.redeemed_at.is_some() => {
            if wanted == Some(stored.code.as_str()) {
                Ok(Pickup::Keep)
            } else {
                Err(ShopError::rejected(
                    format!("[{index}].verifycode"),
                    "the pickup code was already redeemed and cannot change",
                ))
            }
        }
        Some(_) if wanted.is_none() => Ok(Pickup::Remove),
        _ => Ok(Pickup::Write),
    }
}

/// Upserts the orders' own rows; answers their ids by order number.
fn upsert_orders(
    conn: &mut DbConnection,
    shop_id: i64,
    run: &[(usize, &NewOrder)],
    now: NaiveDateTime,
) -> Result<HashMap<String, i64>, ShopError> {
    let mut upsert = Statement::new();
    upsert
        .sql("INSERT INTO orders (shop_id, ")
        .sql(&ORDER_COLUMNS.join(", "))
        .sql(") VALUES ")
        .tuples(run, |row, (_, item)| {
            let h = &item.header;
            row.value(shop_id)
                .value(&h.plat_order_no)
                .value(&h.trade_status)
                .value(h.pay_time)
                .value(&h.pay_order_no)
                .value(&h.nick)
                .value(&h.should_pay_type)
                .value(&h.order_type)
                .value(&h.send_date)
                .value(&h.send_style)
                .value(&h.currency_code)
                .value(&h.whse_code)
                .value(&h.customer_remark)
                .value(&h.seller_remark)
                .value(&h.seller_flag)
                .value(h.post_fee)
                .value(h.goods_fee)
                .value(h.total_money)
                .value(h.real_money)
                .value(h.favourable_money)
                .value(h.commission_value)
                .value(h.cod_service_fee)
                .value(h.created_at)
                .value(now);
        })
        .sql(" ON CONFLICT (shop_id, plat_order_no) DO UPDATE SET ")
        .set_excluded(&ORDER_COLUMNS[1..])
        .sql(", revision = orders.revision + 1")
        .sql(" RETURNING id, plat_order_no");
    Ok(upsert
        .rows::<Written>(conn)?
        .into_iter()
        .map(|row| (row.plat_order_no, row.id))
        .collect())
}

/// Upserts receivers (one row an order), and invoices and customs where an order has
/// them; `stored` are the orders of the run that were stored before.
fn upsert_parts(
    conn: &mut DbConnection,
    shop_id: i64,
    orders: &[(i64, &NewOrder)],
    stored: &HashMap<String, Stored>,
) -> Result<(), ShopError> {
    let part = PartTable { shop_id, orders };
    part.upsert(
        conn,
        "order_receivers",
        &RECEIVER_COLUMNS,
        |_| true,
        |row, item| {
            let r = &item.receiver;
            row.value(&r.country)
                .value(&r.province)
                .value(&r.city)
                .value(&r.area)
                .value(&r.town)
                .value(&r.address)
                .value(&r.zip)
                .value(&r.phone)
                .value(&r.mobile)
                .value(&r.email)
                .value(&r.qq)
                .value(&r.receiver_name)
                .value(&r.card_type)
                .value(&r.id_card)
                .value(&r.id_card_true_name);
        },
    )?;
    // Most orders have no invoice and no customs data: no row (read as empty), so a sale's
    // orders write two rows fewer each.
    let (no_invoice, no_customs) = (Invoice::default(), Customs::default());
    let invoiced = |item: &NewOrder| item.invoice != no_invoice;
    let declared = |item: &NewOrder| item.customs != no_customs;
    part.upsert(
        conn,
        "order_invoices",
        &INVOICE_COLUMNS,
        invoiced,
        |row, item| {
            let i = &item.invoice;
            row.value(&i.invoice_type)
                .value(&i.invoice_title)
                .value(&i.taxpayer_ident)
                .value(&i.invoice_content)
                .value(&i.registered_address)
                .value(&i.registered_phone)
                .value(&i.deposit_bank)
                .value(&i.bank_account);
        },
    )?;
    part.upsert(
        conn,
        "order_customs",
        &CUSTOMS_COLUMNS,
        declared,
        |row, item| {
            let c = &item.customs;
            row.value(c.is_overseas)
                .value(c.tax_amount)
                .value(c.tariff_amount)
                .value(c.added_value_amount)
                .value(c.consumption_duty_amount)
                .value(&c.pay_id)
                .value(&c.pay_name)
                .value(&c.business_plat_code)
                .value(&c.business_plat_name);
        },
    )?;
    // A replacement without them drops what the order had.
    let dropped = |has: &dyn Fn(&NewOrder) -> bool| -> Vec<i64> {
        orders
            .iter()
            .filter(|(_, item)| stored.contains_key(&item.header.plat_order_no) && !has(item))
            .map(|(id, _)| *id)
            .collect()
    };
    delete_where_in(conn, "order_invoices", "order_id", &dropped(&invoiced))?;
    delete_where_in(conn, "order_customs", "order_id", &dropped(&declared))?;
    Ok(())
}

/// A run of orders whose one-to-one part rows are written (`order_id, shop_id`, then the
/// part's columns).
struct PartTable<'o, 'a> {
    shop_id: i64,
    orders: &'o [(i64, &'a NewOrder)],
}

impl<'a> PartTable<'_, 'a> {
    /// Upserts `table`'s row of each order that `has` one, its `columns` filled by
    /// `values`, in runs of the usual sizes.
    fn upsert(
        &self,
        conn: &mut DbConnection,
        table: &str,
        columns: &[&str],
        has: impl Fn(&NewOrder) -> bool,
        values: impl Fn(&mut Row<'_, 'a>, &'a NewOrder),
    ) -> Result<(), ShopError> {
        let rows: Vec<(i64, &'a NewOrder)> = self
            .orders
            .iter()
            .filter(|(_, item)| has(item))
            .copied()
            .collect();
        for run in runs(&rows) {
            let mut upsert = Statement::new();
            upsert
                .sql(&format!(
                    "INSERT INTO {table} (order_id, shop_id, {}) VALUES ",
                    columns.join(", ")
                ))
                .tuples(run, |row, (id, item)| {
                    row.value(*id).value(self.shop_id);
                    values(row, item);
                })
                .sql(" ON CONFLICT (order_id) DO UPDATE SET ")
                .set_excluded(columns);
            upsert.run(conn)?;
        }
        Ok(())
    }
}

/// Upserts every line sent; a stored line keeps its id and shipped quantity.
fn upsert_lines(
    conn: &mut DbConnection,
    shop_id: i64,
    orders: &[(i64, &NewOrder)],
) -> Result<(), ShopError> {
    let lines: Vec<(i64, &super::OrderLineFields)> = orders
        .iter()
        .flat_map(|(id, item)| item.lines.iter().map(move |line| (*id, line)))
        .collect();
    for run in runs(&lines) {
        let mut upsert = Statement::new();
        upsert
            .sql("INSERT INTO order_lines (shop_id, order_id, shipped_count, ")
            .sql(&LINE_COLUMNS.join(", "))
            .sql(") VALUES ")
            .tuples(run, |row, (order_id, line)| {
                row.value(shop_id)
                    .value(*order_id)
                    .value(0_i64)
                    .value(&line.sub_order_no)
                    .value(&line.product_id)
                    .value(&line.outer_id)
                    .value(&line.name)
                    .value(&line.spec)
                    .value(line.goods_count)
                    .value(line.price)
                    .value(line.discount_money)
                    .value(line.tax_amount)
                    .value(&line.refund_status)
                    .value(&line.status)
                    .value(&line.remark);
            })
            .sql(" ON CONFLICT (shop_id, order_id, sub_order_no) DO UPDATE SET ")
            .set_excluded(&LINE_COLUMNS[1..]);
        upsert.run(conn)?;
    }
    Ok(())
}

fn upsert_pickups(
    conn: &mut DbConnection,
    shop_id: i64,
    codes: &[(i64, &str)],
) -> Result<(), ShopError> {
    for run in runs(codes) {
        let mut upsert = Statement::new();
        upsert
            .sql("INSERT INTO pickup_codes (order_id, shop_id, code) VALUES ")
            .tuples(run, |row, (order_id, code)| {
                row.value(*order_id).value(shop_id).value(*code);
            })
            .sql(" ON CONFLICT (order_id) DO UPDATE SET code = excluded.code");
        upsert.run(conn)?;
    }
    Ok(())
}

/// `DELETE FROM table WHERE column IN (ids)`, a run at a time.
fn delete_where_in(
    conn: &mut DbConnection,
    table: &str,
    column: &str,
    ids: &[i64],
) -> Result<(), ShopError> {
    for run in runs(ids) {
        let mut delete = Statement::new();
        delete
            .sql(&format!("DELETE FROM {table} WHERE {column} IN "))
            .tuple(run.iter().copied());
        delete.run(conn)?;
    }
    Ok(())
}

/// Refuses a batch that names an order twice, or a line twice within an order.
pub fn check_batch(items: &[NewOrder]) -> Result<(), ShopError> {
    let mut seen = HashSet::new();
    for (index, item) in items.iter().enumerate() {
        if !seen.insert(item.header.plat_order_no.as_str()) {
            return Err(ShopError::rejected(
                format!("[{index}].PlatOrderNo"),
                format!(
                    "`{}` appears twice in this request",
                    item.header.plat_order_no
                ),
            ));
        }
        let mut subs = HashSet::new();
        for (line, fields) in item.lines.iter().enumerate() {
            if !subs.insert(fields.sub_order_no.as_str()) {
                return Err(ShopError::rejected(
                    format!("[{index}].goodinfos[{line}].suborderno"),
                    format!("`{}` appears twice in this order", fields.sub_order_no),
                ));
            }
        }
    }
    Ok(())
}
