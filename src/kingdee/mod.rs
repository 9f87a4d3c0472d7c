//! 金蝶云星空 (Kingdee K/3 Cloud): confirmed returns booked as sales returns
//! (`SAL_RETURNSTOCK`) through the WebAPI's BatchSave (seed 002), through the outbox.

pub mod answer;
pub mod bill;
pub mod client;
pub mod jobs;
pub mod push;

pub use bill::BookingKeys;
pub use client::KingdeeClient;
pub use jobs::jobs;
pub use push::KingdeeSync;

/// What can go wrong talking to Kingdee.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KingdeeError {
    /// No answer: connection, timeout, TLS.
    #[error("transport: {0}")]
    Transport(String),
    /// An HTTP status other than 200.
    #[error("HTTP status {0}")]
    Status(u16),
    /// An answer larger than the limit.
    #[error("answer larger than {0} bytes")]
    TooLarge(usize),
    /// An answer that is not what Kingdee answers.
    #[error("unreadable answer: {0}")]
    Garbage(String),
    /// The login was refused (wrong data centre, user, password or app secret).
    #[error("login refused: {0}")]
    LoginRefused(String),
    /// The session was lost again right after logging in again.
    #[error("session lost again after logging in again: {0}")]
    SessionLost(String),
    /// The whole push took longer than the configured timeout.
    #[error("no answer within {0} s")]
    TimedOut(u64),
}
