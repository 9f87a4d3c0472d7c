//! Console sessions. The browser holds a random token; the database holds only its
//! SHA-256, so a copy of the table does not sign anyone in. A session ends when it has
//! not been used for the idle time, at its maximum age, at sign-out, and when its
//! operator is disabled or gets a new password.

use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;
use password_hash::rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};

use super::audit::{self, Action, Entry};
use super::{from_row, Operator, OperatorError, OperatorRow, OPERATOR_COLUMNS};
use crate::db::schema::{operator_sessions, operators};
use crate::db::{write_transaction, DbConnection, DbError};
use crate::time::now_utc;

/// Bytes of randomness in a token.
const TOKEN_BYTES: usize = 32;

/// How often the last use of a session is written (not on every page).
const TOUCH_EVERY: TimeDelta = TimeDelta::seconds(60);

/// How long sessions last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetime {
    /// Unused for this long, a session ends.
    pub idle: TimeDelta,
    /// A session ends this long after sign-in, used or not.
    pub max: TimeDelta,
}

/// A fresh random token: 32 bytes from the operating system, as 64 hex digits.
pub fn new_token() -> Result<String, DbError> {
    let mut bytes = [0_u8; TOKEN_BYTES];
    OsRng
        .try_fill_bytes(&mut bytes)
        .map_err(|e| DbError::Task(format!("no randomness for a session token: {e}")))?;
    Ok(hex::encode(bytes))
}

/// Whether `token` has the shape of one from [`new_token`] (checked before any lookup).
pub fn well_formed(token: &str) -> bool {
    token.len() == TOKEN_BYTES * 2 && token.bytes().all(|b| b.is_ascii_hexdigit())
}

/// SHA-256 of `text` with a purpose prefix, as hex: the stored form of a session token,
/// and the base of values derived from it.
pub fn digest(purpose: &str, text: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(purpose.as_bytes());
    hasher.update([0]);
    hasher.update(text.as_bytes());
    hex::encode(hasher.finalize())
}

fn stored_form(token: &str) -> String {
    digest("polymall session", token)
}

/// Starts a session for `operator` (already authenticated) and answers its token;
/// records the sign-in and drops sessions that have ended.
pub fn start(
    conn: &mut DbConnection,
    operator: &Operator,
    lifetime: Lifetime,
) -> Result<String, OperatorError> {
    let token = new_token()?;
    write_transaction(conn, |conn| {
        let now = now_utc();
        diesel::delete(
            operator_sessions::table.filter(
                operator_sessions::expires_at
                    .le(now)
                    .or(operator_sessions::last_seen_at.le(now - lifetime.idle)),
            ),
        )
        .execute(conn)?;
        diesel::insert_into(operator_sessions::table)
            .values((
                operator_sessions::id_hash.eq(stored_form(&token)),
                operator_sessions::operator_id.eq(operator.id),
                operator_sessions::created_at.eq(now),
                operator_sessions::last_seen_at.eq(now),
                operator_sessions::expires_at.eq(now + lifetime.max),
            ))
            .execute(conn)?;
        diesel::update(operators::table.find(operator.id))
            .set(operators::last_sign_in_at.eq(now))
            .execute(conn)?;
        audit::record(
            conn,
            &Entry::new(&operator.name, Action::SignIn, &operator.name),
        )?;
        Ok(token)
    })
}

/// The operator of a live session, or `None` (unknown, ended, or operator disabled).
/// An ended session is deleted; a live one's last use is brought up to date.
pub fn operator_of(
    conn: &mut DbConnection,
    token: &str,
    lifetime: Lifetime,
) -> Result<Option<Operator>, OperatorError> {
    if !well_formed(token) {
        return Ok(None);
    }
    let id_hash = stored_form(token);
    let found: Option<(NaiveDateTime, NaiveDateTime, OperatorRow)> = operator_sessions::table
        .inner_join(operators::table)
        .filter(operator_sessions::id_hash.eq(&id_hash))
        .select((
            operator_sessions::last_seen_at,
            operator_sessions::expires_at,
            OPERATOR_COLUMNS,
        ))
        .first(conn)
        .optional()?;
    let Some((last_seen_at, expires_at, row)) = found else {
        return Ok(None);
    };
    let operator = from_row(row);
    let now = now_utc();
    let session = operator_sessions::table.find(&id_hash);
    if operator.disabled || expires_at <= now || last_seen_at + lifetime.idle <= now {
        diesel::delete(session).execute(conn)?;
        return Ok(None);
    }
    if now - last_seen_at >= TOUCH_EVERY {
        diesel::update(session)
            .set(operator_sessions::last_seen_at.eq(now))
            .execute(conn)?;
    }
    Ok(Some(operator))
}

/// Ends the session of `token` (signing out), recording it for `operator`.
pub fn end(conn: &mut DbConnection, token: &str, operator: &Operator) -> Result<(), OperatorError> {
    write_transaction(conn, |conn| {
        diesel::delete(operator_sessions::table.find(stored_form(token))).execute(conn)?;
        audit::record(
            conn,
            &Entry::new(&operator.name, Action::SignOut, &operator.name),
        )?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_hex_and_stored_hashed() {
        let first = new_token().unwrap();
        let second = new_token().unwrap();
        assert!(well_formed(&first) && well_formed(&second));
        assert_ne!(first, second);
        assert_ne!(stored_form(&first), first);
        assert_ne!(digest("a", &first), digest("b", &first), "purposes differ");
        assert!(!well_formed("../../etc"));
        assert!(!well_formed(&"g".repeat(64)));
    }
}
