//! Times at the edges: the wire speaks the shop's local time, the database keeps UTC.

use chrono::{FixedOffset, NaiveDateTime, TimeZone};

/// The wire's time format.
const WIRE_TIME: &str = "%Y-%m-%d %H:%M:%S";

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
