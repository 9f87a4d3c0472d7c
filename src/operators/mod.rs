//! The console's operators: accounts with argon2id password hashes and a role, their
//! sessions, and the audit log of everything they do.

pub mod audit;
pub mod password;
pub mod sessions;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{operator_sessions, operators};
use crate::db::{write_transaction, DbConnection, DbError};
use crate::time::now_utc;
use audit::{Action, Entry};

/// Shortest password accepted.
pub const MIN_PASSWORD: usize = 10;
/// Longest password accepted (hashing cost does not depend on it, but input is bounded).
pub const MAX_PASSWORD: usize = 128;
/// Longest operator name.
pub const MAX_NAME: usize = 32;

/// What an operator may do. Each role may do what the ones before it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Looks at everything, changes nothing.
    Viewer,
    /// Also re-arms, holds and releases outbox rows and sets stock.
    Operator,
    /// Also manages operators.
    Admin,
}

impl Role {
    /// Every role, least first.
    pub const ALL: [Role; 3] = [Role::Viewer, Role::Operator, Role::Admin];

    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Viewer => "viewer",
            Self::Operator => "operator",
            Self::Admin => "admin",
        }
    }

    /// Reads a stored or typed code.
    pub fn from_code(text: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|role| role.code() == text.trim())
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// An operator account (its password hash stays in the database).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator {
    /// Internal id.
    pub id: i64,
    /// The name they sign in with.
    pub name: String,
    /// What they may do.
    pub role: Role,
    /// A disabled operator cannot sign in and has no sessions.
    pub disabled: bool,
    /// When the account was created.
    pub created_at: NaiveDateTime,
    /// When they last signed in.
    pub last_sign_in_at: Option<NaiveDateTime>,
}

type OperatorRow = (
    i64,
    String,
    String,
    bool,
    NaiveDateTime,
    Option<NaiveDateTime>,
);

const OPERATOR_COLUMNS: (
    operators::id,
    operators::name,
    operators::role,
    operators::disabled,
    operators::created_at,
    operators::last_sign_in_at,
) = (
    operators::id,
    operators::name,
    operators::role,
    operators::disabled,
    operators::created_at,
    operators::last_sign_in_at,
);

fn from_row((id, name, role, disabled, created_at, last_sign_in_at): OperatorRow) -> Operator {
    Operator {
        id,
        name,
        // The table only holds valid codes; anything else gets the least rights.
        role: Role::from_code(&role).unwrap_or(Role::Viewer),
        disabled,
        created_at,
        last_sign_in_at,
    }
}

/// Why an operator change did not happen; nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum OperatorError {
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// An input breaks a rule.
    #[error("{field}: {message}")]
    Invalid {
        /// The input's name.
        field: &'static str,
        /// The rule.
        message: String,
    },
    /// The name is taken.
    #[error("an operator named `{0}` already exists")]
    NameTaken(String),
    /// No such operator.
    #[error("operator `{0}` does not exist")]
    NoSuchOperator(String),
    /// The change would leave no enabled admin.
    #[error("this would leave no enabled admin; make another operator admin first")]
    LastAdmin,
}

impl From<diesel::result::Error> for OperatorError {
    fn from(error: diesel::result::Error) -> Self {
        Self::Db(DbError::from(error))
    }
}

/// Checks an operator name: 1 to 32 of `a-z A-Z 0-9 . _ -`.
pub fn check_name(name: &str) -> Result<(), OperatorError> {
    let valid = !name.is_empty()
        && name.len() <= MAX_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if valid {
        Ok(())
    } else {
        Err(OperatorError::Invalid {
            field: "name",
            message: format!("must be 1 to {MAX_NAME} of a-z, A-Z, 0-9, `.`, `_` or `-`"),
        })
    }
}

/// Checks a new password's length (in characters) and that it holds no control characters.
pub fn check_password(password: &str) -> Result<(), OperatorError> {
    let length = password.chars().count();
    let invalid = |message: String| OperatorError::Invalid {
        field: "password",
        message,
    };
    if !(MIN_PASSWORD..=MAX_PASSWORD).contains(&length) {
        return Err(invalid(format!(
            "must be {MIN_PASSWORD} to {MAX_PASSWORD} characters"
        )));
    }
    if password.chars().any(char::is_control) {
        return Err(invalid("must not contain control characters".to_owned()));
    }
    Ok(())
}

/// Every operator, by name.
pub fn list(conn: &mut DbConnection) -> Result<Vec<Operator>, OperatorError> {
    let rows: Vec<OperatorRow> = operators::table
        .order(operators::name.asc())
        .select(OPERATOR_COLUMNS)
        .load(conn)?;
    Ok(rows.into_iter().map(from_row).collect())
}

/// The operator with this name and their password hash, for signing in.
pub fn credentials(
    conn: &mut DbConnection,
    name: &str,
) -> Result<Option<(Operator, String)>, OperatorError> {
    let row: Option<(OperatorRow, String)> = operators::table
        .filter(operators::name.eq(name))
        .select((OPERATOR_COLUMNS, operators::password_hash))
        .first(conn)
        .optional()?;
    Ok(row.map(|(row, hash)| (from_row(row), hash)))
}

fn find(conn: &mut DbConnection, id: i64) -> Result<Operator, OperatorError> {
    let row: Option<OperatorRow> = operators::table
        .find(id)
        .select(OPERATOR_COLUMNS)
        .first(conn)
        .optional()?;
    row.map(from_row)
        .ok_or_else(|| OperatorError::NoSuchOperator(format!("#{id}")))
}

/// Creates an operator with an already hashed password; `actor` is who does it.
pub fn add(
    conn: &mut DbConnection,
    name: &str,
    password_hash: &str,
    role: Role,
    actor: &str,
) -> Result<Operator, OperatorError> {
    check_name(name)?;
    write_transaction(conn, |conn| {
        if credentials(conn, name)?.is_some() {
            return Err(OperatorError::NameTaken(name.to_owned()));
        }
        let now = now_utc();
        diesel::insert_into(operators::table)
            .values((
                operators::name.eq(name),
                operators::password_hash.eq(password_hash),
                operators::role.eq(role.code()),
                operators::disabled.eq(false),
                operators::created_at.eq(now),
                operators::modified_at.eq(now),
            ))
            .execute(conn)?;
        audit::record(
            conn,
            &Entry::new(actor, Action::OperatorAdd, name).detail(role.code()),
        )?;
        let (operator, _) = credentials(conn, name)?
            .ok_or_else(|| OperatorError::NoSuchOperator(name.to_owned()))?;
        Ok(operator)
    })
}

/// Replaces an operator's password (already hashed) and ends their sessions.
pub fn set_password(
    conn: &mut DbConnection,
    name: &str,
    password_hash: &str,
    actor: &str,
) -> Result<(), OperatorError> {
    write_transaction(conn, |conn| {
        let (operator, _) = credentials(conn, name)?
            .ok_or_else(|| OperatorError::NoSuchOperator(name.to_owned()))?;
        diesel::update(operators::table.find(operator.id))
            .set((
                operators::password_hash.eq(password_hash),
                operators::modified_at.eq(now_utc()),
            ))
            .execute(conn)?;
        end_sessions(conn, operator.id)?;
        audit::record(conn, &Entry::new(actor, Action::OperatorPassword, name))?;
        Ok(())
    })
}

/// Gives an operator another role.
pub fn set_role(
    conn: &mut DbConnection,
    id: i64,
    role: Role,
    actor: &str,
) -> Result<Operator, OperatorError> {
    write_transaction(conn, |conn| {
        let operator = find(conn, id)?;
        if operator.role == role {
            return Ok(operator);
        }
        if operator.role == Role::Admin && !operator.disabled {
            require_another_admin(conn, id)?;
        }
        diesel::update(operators::table.find(id))
            .set((
                operators::role.eq(role.code()),
                operators::modified_at.eq(now_utc()),
            ))
            .execute(conn)?;
        audit::record(
            conn,
            &Entry::new(actor, Action::OperatorRole, &operator.name)
                .detail(&format!("{} → {}", operator.role, role)),
        )?;
        find(conn, id)
    })
}

/// Disables (ending their sessions) or enables an operator.
pub fn set_disabled(
    conn: &mut DbConnection,
    id: i64,
    disabled: bool,
    actor: &str,
) -> Result<Operator, OperatorError> {
    write_transaction(conn, |conn| {
        let operator = find(conn, id)?;
        if operator.disabled == disabled {
            return Ok(operator);
        }
        if disabled && operator.role == Role::Admin {
            require_another_admin(conn, id)?;
        }
        diesel::update(operators::table.find(id))
            .set((
                operators::disabled.eq(disabled),
                operators::modified_at.eq(now_utc()),
            ))
            .execute(conn)?;
        if disabled {
            end_sessions(conn, id)?;
        }
        let action = if disabled {
            Action::OperatorDisable
        } else {
            Action::OperatorEnable
        };
        audit::record(conn, &Entry::new(actor, action, &operator.name))?;
        find(conn, id)
    })
}

fn require_another_admin(conn: &mut DbConnection, id: i64) -> Result<(), OperatorError> {
    let others: i64 = operators::table
        .filter(operators::role.eq(Role::Admin.code()))
        .filter(operators::disabled.eq(false))
        .filter(operators::id.ne(id))
        .count()
        .get_result(conn)?;
    if others == 0 {
        Err(OperatorError::LastAdmin)
    } else {
        Ok(())
    }
}

fn end_sessions(conn: &mut DbConnection, operator_id: i64) -> Result<(), OperatorError> {
    diesel::delete(operator_sessions::table.filter(operator_sessions::operator_id.eq(operator_id)))
        .execute(conn)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_passwords_are_checked() {
        assert!(check_name("li.wei-2").is_ok());
        for bad in ["", "with space", "名字", &"x".repeat(33), "a'b"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
        assert!(check_password("long enough pw").is_ok());
        assert!(check_password("密码密码密码密码密码").is_ok());
        assert!(check_password("short").is_err());
        assert!(check_password("ten chars\n!").is_err());
        assert!(check_password(&"x".repeat(129)).is_err());
    }

    #[test]
    fn roles_are_ordered() {
        assert!(Role::Viewer < Role::Operator && Role::Operator < Role::Admin);
        assert_eq!(Role::from_code("operator"), Some(Role::Operator));
        assert_eq!(Role::from_code("root"), None);
    }
}
