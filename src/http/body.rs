//! Reading a request body with a cap: a declared length over the cap is refused before
//! a byte is read, and a body that grows past it is refused as soon as it does.

use actix_web::http::header;
use actix_web::{web, HttpRequest};
use futures_util::StreamExt;

/// Why a body was not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// Larger than the cap (declared or actual).
    #[error("the body is larger than {limit} bytes")]
    TooLarge {
        /// The cap.
        limit: usize,
    },
    /// The connection failed or the body was malformed on the wire.
    #[error("the body could not be read: {0}")]
    Unreadable(String),
}

/// Reads the whole body of `request`, refusing more than `limit` bytes.
pub async fn read_capped(
    request: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
) -> Result<web::Bytes, BodyError> {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(BodyError::TooLarge { limit });
    }
    let mut body = web::BytesMut::with_capacity(declared.map_or(0, |length| length as usize));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| BodyError::Unreadable(e.to_string()))?;
        if body.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}
