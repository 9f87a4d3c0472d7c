//! The Qimen (奇门) ERP↔WMS standard as a Qimen-format warehouse such as 聚星OS speaks it:
//! the sign, the shipment confirmation callback, and the `<response>` answer.

pub mod client;
pub mod confirm;
pub mod documents;
pub mod jobs;
pub mod pulls;
pub mod push;
pub mod requests;
pub mod sign;
pub mod sync;

pub use jobs::jobs;
pub use sync::{WmsSync, WmsSyncError};

/// The `<response>` a Qimen endpoint answers.
pub fn response(success: bool, code: &str, message: &str) -> String {
    let mut escaped = String::with_capacity(message.len());
    for c in message.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => escaped.push(c),
        }
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><response><flag>{}</flag><code>{code}</code><message>{escaped}</message></response>",
        if success { "success" } else { "failure" }
    )
}
