//! Orders as the storefront posts them (GetOrder's `orders` shape, two lines each), and
//! the shop's local time they are written in.

use chrono::{NaiveDateTime, TimeDelta};

/// The bench shop's zone is +08:00; the database keeps UTC.
pub fn local(utc: NaiveDateTime) -> String {
    (utc + TimeDelta::hours(8))
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// Number `i` of the seeded orders: `B00000042`.
pub fn number(i: u64) -> String {
    format!("B{i:08}")
}

/// Every fifth seeded order is unpaid (JH_01), the others await shipment (JH_02).
pub fn paid(i: u64) -> bool {
    i % 5 != 0
}

/// The `k`-th seeded order awaiting shipment (0-based).
pub fn kth_paid(k: u64) -> u64 {
    k + k / 4 + 1
}

/// One order as a JSON document placed at `placed` (UTC).
pub fn order(no: &str, placed: NaiveDateTime, paid: bool) -> String {
    let tradetime = local(placed);
    let (status, paytime) = if paid {
        (
            "JH_02",
            format!(r#","paytime":"{}""#, local(placed + TimeDelta::seconds(20))),
        )
    } else {
        ("JH_01", String::new())
    };
    format!(
        r#"{{"PlatOrderNo":"{no}","tradeStatus":"{status}","tradetime":"{tradetime}"{paytime},"nick":"buyer{tail}","receivername":"张三","mobile":"15067888888","country":"CN","province":"浙江省","city":"杭州市","area":"西湖区","town":"三墩镇","address":"尚坤生态创业园A211","zip":"310000","postfee":10,"goodsfee":198,"totalmoney":208,"realMoney":208,"ShouldPayType":"担保交易","sendstyle":"快递","customerremark":"请尽快发货","goodinfos":[{{"ProductId":"P1","suborderno":"{no}-1","tradegoodsno":"SKU-1","tradegoodsname":"新款连衣裙","tradegoodsspec":"大号","goodscount":1,"price":99}},{{"ProductId":"P2","suborderno":"{no}-2","tradegoodsno":"SKU-2","tradegoodsname":"纯棉T恤","tradegoodsspec":"L","goodscount":1,"price":99}}]}}"#,
        tail = &no[no.len().saturating_sub(4)..],
    )
}

/// Writes `n` orders placed evenly over the hour before `until` as JSON lines.
pub fn write_burst(path: &std::path::Path, n: u64, until: NaiveDateTime) {
    use std::io::Write;
    let file = std::fs::File::create(path).expect("orders file");
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    let hour = 3_600_000_000_i64;
    for i in 0..n {
        let micros = hour * i64::try_from(i).unwrap_or(0) / i64::try_from(n).unwrap_or(1).max(1);
        let placed = until - TimeDelta::hours(1) + TimeDelta::microseconds(micros);
        writeln!(out, "{}", order(&number(i), placed, paid(i))).expect("write order");
    }
    out.flush().expect("flush orders");
}
