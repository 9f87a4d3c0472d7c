//! Times: the wire speaks the shop's local time, the database keeps UTC (to the
//! microsecond, as both databases keep it).

use chrono::{FixedOffset, NaiveDateTime, TimeZone};

/// The wire's time format.
const WIRE_TIME: &str = "%Y-%m-%d %H:%M:%S";

/// Years a time on the wire may have, in the shop's zone. Orders, payments and refunds
/// fall in it, and so do the open-ended query windows ERPs send (`2100-01-01`); outside
/// it a time is a typo, a sentinel such as `9999-12-31` or an attack, and the per-day
/// order counts (a UTC date per order) could not be kept for it.
pub const YEARS: std::ops::RangeInclusive<i32> = 1970..=2999;

/// Reads `yyyy-MM-dd HH:mm:ss` in the shop's zone (also with `T` or `+` between date
/// and time, as peers send) and answers the UTC time.
pub fn parse_shop_time(text: &str, offset: FixedOffset) -> Result<NaiveDateTime, String> {
    let trimmed = text.trim();
    let bad = || format!("`{text}` is not a time like 2024-05-01 13:45:00");
    if trimmed.len() < 11 {
        return Err(bad());
    }
    let mut normalised = String::with_capacity(trimmed.len());
    for (i, c) in trimmed.chars().enumerate() {
        normalised.push(if i == 10 && matches!(c, 'T' | 't' | '+') {
            ' '
        } else {
            c
        });
    }
    let local = NaiveDateTime::parse_from_str(&normalised, WIRE_TIME)
        .or_else(|_| NaiveDateTime::parse_from_str(&normalised, "%Y-%m-%d %H:%M:%S%.f"))
        .map_err(|_| bad())?;
    if !YEARS.contains(&chrono::Datelike::year(&local)) {
        return Err(format!(
            "`{text}` is outside the years {} to {}",
            YEARS.start(),
            YEARS.end()
        ));
    }
    offset
        .from_local_datetime(&local)
        .single()
        .map(|time| time.naive_utc())
        .ok_or_else(bad)
}

/// Writes a UTC time as `yyyy-MM-dd HH:mm:ss` in the shop's zone.
pub fn format_shop_time(utc: NaiveDateTime, offset: FixedOffset) -> String {
    offset.from_utc_datetime(&utc).format(WIRE_TIME).to_string()
}

/// The current time as stored: UTC, microsecond precision (what both backends keep).
pub fn now_utc() -> chrono::NaiveDateTime {
    use chrono::Timelike;
    let now = chrono::Utc::now().naive_utc();
    let micros = now.nanosecond() / 1_000 * 1_000;
    now.with_nanosecond(micros).unwrap_or(now)
}
