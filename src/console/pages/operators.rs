//! Operators (admins only): the accounts, a new one, another role, disabled or enabled.
//! A password is hashed (argon2id) off the async executor; none is ever shown.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::{chrome, render};
use crate::console::auth::{state_of, Posted, Signed};
use crate::console::done;
use crate::console::error::ConsoleError;
use crate::console::form::clip;
use crate::console::view::Chrome;
use crate::operators::{self, password, Role};

struct OperatorRow {
    id: i64,
    name: String,
    roles: Vec<(&'static str, &'static str, bool)>,
    disabled: bool,
    state: &'static str,
    created: String,
    last_sign_in: String,
}

#[derive(Template)]
#[template(path = "console/operators.html")]
struct OperatorsPage {
    chrome: Chrome,
    rows: Vec<OperatorRow>,
    roles: Vec<(&'static str, &'static str, bool)>,
}

fn role_options(chrome: &Chrome, chosen: Role) -> Vec<(&'static str, &'static str, bool)> {
    Role::ALL
        .into_iter()
        .map(|role| {
            (
                role.code(),
                chrome.t(&format!("role.{}", role.code())),
                role == chosen,
            )
        })
        .collect()
}

fn role_in(form: &crate::console::form::Form) -> Result<Role, ConsoleError> {
    let code = form.required("role")?;
    Role::from_code(code).ok_or_else(|| {
        ConsoleError::invalid(
            "role",
            format!("`{}` is not viewer, operator or admin", clip(code)),
        )
    })
}

/// `GET /console/operators`
pub async fn list(request: HttpRequest, signed: Signed) -> Result<HttpResponse, ConsoleError> {
    let state = state_of(&request)?;
    signed.require(Role::Admin)?;
    let all = state
        .db
        .run(|conn| operators::list(conn).map_err(ConsoleError::from))
        .await?;
    let chrome = chrome(
        &request,
        &state,
        &signed,
        "/console/operators",
        "operators.title",
    );
    let page = OperatorsPage {
        rows: all
            .into_iter()
            .map(|operator| OperatorRow {
                id: operator.id,
                roles: role_options(&chrome, operator.role),
                disabled: operator.disabled,
                state: chrome.t(if operator.disabled {
                    "operators.disabled"
                } else {
                    "operators.enabled"
                }),
                created: chrome.time(operator.created_at),
                last_sign_in: chrome.time_or_dash(operator.last_sign_in_at),
                name: operator.name,
            })
            .collect(),
        roles: role_options(&chrome, Role::Viewer),
        chrome,
    };
    render(&page)
}

/// `POST /console/operators`: a new operator.
pub async fn create(request: HttpRequest, posted: Posted) -> Result<HttpResponse, ConsoleError> {
    let state = state_of(&request)?;
    posted.signed.require(Role::Admin)?;
    let form = &posted.form;
    let name = form.required("name")?.to_owned();
    operators::check_name(&name)?;
    let secret = form.exact("password")?.to_owned();
    operators::check_password(&secret)?;
    let role = role_in(form)?;
    let hash = web::block(move || password::hash(&secret))
        .await
        .map_err(|_| ConsoleError::Unavailable)?
        .map_err(|error| {
            tracing::error!(%error, "password hashing failed");
            ConsoleError::Unavailable
        })?;
    let actor = posted.signed.operator.name.clone();
    state
        .db
        .run(move |conn| {
            operators::add(conn, &name, &hash, role, &actor).map_err(ConsoleError::from)
        })
        .await?;
    Ok(done("/console/operators", "operator_saved", 1))
}

/// `POST /console/operators/{id}`: another role (`role`) or disabled/enabled
/// (`disabled` = true/false).
pub async fn change(
    request: HttpRequest,
    posted: Posted,
    id: web::Path<i64>,
) -> Result<HttpResponse, ConsoleError> {
    let state = state_of(&request)?;
    posted.signed.require(Role::Admin)?;
    let form = &posted.form;
    let id = id.into_inner();
    let actor = posted.signed.operator.name.clone();
    let role = match form.one("role")? {
        Some(_) => Some(role_in(form)?),
        None => None,
    };
    let disabled = match form.one("disabled")? {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(other) => {
            return Err(ConsoleError::invalid(
                "disabled",
                format!("`{}` is not true or false", clip(other)),
            ))
        }
    };
    if role.is_none() && disabled.is_none() {
        return Err(ConsoleError::invalid("role", "give a role or disabled"));
    }
    state
        .db
        .run(move |conn| {
            if let Some(role) = role {
                operators::set_role(conn, id, role, &actor)?;
            }
            if let Some(disabled) = disabled {
                operators::set_disabled(conn, id, disabled, &actor)?;
            }
            Ok::<_, ConsoleError>(())
        })
        .await?;
    Ok(done("/console/operators", "operator_saved", 1))
}
