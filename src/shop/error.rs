//! Failures of the shop domain.

use crate::db::DbError;

/// Why a shop operation did not happen. Nothing was written when it fails.
#[derive(Debug, thiserror::Error)]
pub enum ShopError {
    /// The database failed; the operation may be retried.
    #[error(transparent)]
    Db(#[from] DbError),
    /// The input breaks a rule of the shop; `field` is the path of the offending field.
    #[error("{field}: {message}")]
    Rejected {
        /// Path of the field, e.g. `[2].goodinfos[0].goodscount`.
        field: String,
        /// The rule it breaks.
        message: String,
    },
    /// No shop has this code.
    #[error("shop `{0}` does not exist")]
    UnknownShop(String),
}

impl ShopError {
    /// A rule violation on `field`.
    pub fn rejected(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Rejected {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl From<diesel::result::Error> for ShopError {
    fn from(error: diesel::result::Error) -> Self {
        Self::Db(DbError::from(error))
    }
}
