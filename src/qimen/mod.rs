//! The Qimen (奇门) ERP↔WMS standard as a Qimen-format warehouse such as 聚星OS speaks it:
//! the sign, the shipment confirmation callback, and the `<response>` answer.

pub mod callback;
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
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><response><flag>{}</flag><code>{}</code><message>{}</message></response>",
        if success { "success" } else { "failure" },
        crate::xml_text::escape(code),
        crate::xml_text::escape(message)
    )
}
