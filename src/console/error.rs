//! Why a console request was refused, answered as a page in both languages (the error
//! may come before the operator's language is known) with the field named.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use askama::Template;

use crate::db::DbError;
use crate::operators::OperatorError;
use crate::outbox::OutboxError;
use crate::shop::ShopError;

/// A refused or failed console request.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// No live session: a page sends the browser to sign in, anything else is refused.
    #[error("sign in first")]
    NoSession {
        /// A page view (sent to the sign-in page) rather than an action.
        page: bool,
    },
    /// The operator's role does not allow this.
    #[error("your role does not allow this")]
    Forbidden,
    /// The form did not carry this session's token.
    #[error("the form's security token is missing or wrong; reload the page and try again")]
    Csrf,
    /// An input breaks a rule.
    #[error("{field}: {message}")]
    Invalid {
        /// The field.
        field: String,
        /// The rule.
        message: String,
    },
    /// The body is too large.
    #[error("the form is too large")]
    TooLarge,
    /// The thing asked for does not exist.
    #[error("{0} does not exist")]
    NotFound(String),
    /// Too many sign-in attempts.
    #[error("too many sign-in attempts; wait a minute and try again")]
    TooManyAttempts,
    /// A rule of the data refused the change; nothing was written.
    #[error("{0}")]
    Refused(String),
    /// The database did not answer; nothing was written.
    #[error("the database is unavailable; nothing was changed, try again")]
    Unavailable,
}

impl ConsoleError {
    /// An input rule broken on `field`.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.chars().take(64).collect(),
            message: message.into(),
        }
    }
}

impl From<DbError> for ConsoleError {
    fn from(error: DbError) -> Self {
        tracing::error!(%error, "console request failed on the database");
        Self::Unavailable
    }
}

impl From<diesel::result::Error> for ConsoleError {
    fn from(error: diesel::result::Error) -> Self {
        Self::from(DbError::from(error))
    }
}

impl From<OperatorError> for ConsoleError {
    fn from(error: OperatorError) -> Self {
        match error {
            OperatorError::Db(error) => Self::from(error),
            OperatorError::Invalid { field, message } => Self::invalid(field, message),
            OperatorError::NoSuchOperator(name) => Self::NotFound(format!("operator `{name}`")),
            other @ (OperatorError::NameTaken(_) | OperatorError::LastAdmin) => {
                Self::Refused(other.to_string())
            }
        }
    }
}

impl From<OutboxError> for ConsoleError {
    fn from(error: OutboxError) -> Self {
        match error {
            OutboxError::Db(error) => Self::from(error),
            OutboxError::NoSuchRow(id) => Self::NotFound(format!("outbox row {id}")),
            other => Self::Refused(other.to_string()),
        }
    }
}

impl From<ShopError> for ConsoleError {
    fn from(error: ShopError) -> Self {
        match error {
            ShopError::Db(error) => Self::from(error),
            ShopError::Rejected { field, message } => Self::invalid(&field, message),
            ShopError::UnknownShop(code) => Self::NotFound(format!("shop `{code}`")),
        }
    }
}

#[derive(Template)]
#[template(path = "console/error.html")]
struct ErrorPage<'a> {
    status: u16,
    field: Option<&'a str>,
    message: String,
}

impl ResponseError for ConsoleError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::NoSession { page: true } => StatusCode::SEE_OTHER,
            Self::NoSession { page: false } => StatusCode::UNAUTHORIZED,
            Self::Forbidden | Self::Csrf => StatusCode::FORBIDDEN,
            Self::Invalid { .. } => StatusCode::BAD_REQUEST,
            Self::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::TooManyAttempts => StatusCode::TOO_MANY_REQUESTS,
            Self::Refused(_) => StatusCode::CONFLICT,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        if let Self::NoSession { page: true } = self {
            return HttpResponse::SeeOther()
                .insert_header((header::LOCATION, "/console/sign-in"))
                .finish();
        }
        let (field, message) = match self {
            Self::Invalid { field, message } => (Some(field.as_str()), message.clone()),
            other => (None, other.to_string()),
        };
        let page = ErrorPage {
            status: status.as_u16(),
            field,
            message,
        };
        match page.render() {
            Ok(html) => HttpResponse::build(status)
                .content_type("text/html; charset=utf-8")
                .body(html),
            Err(error) => {
                tracing::error!(%error, "console error page did not render");
                HttpResponse::build(status).finish()
            }
        }
    }
}
