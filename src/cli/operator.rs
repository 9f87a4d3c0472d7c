//! `polymall operator add|password`: console accounts from the command line (the first
//! admin is made here). The password is asked twice on a terminal, or read as the first
//! line of standard input.

use std::io::{IsTerminal, Read};

use anyhow::Context;

use super::open;
use crate::config::Config;
use crate::operators::{self, password, Role};

/// What the command line records as the actor of its changes in the audit log.
const ACTOR: &str = "cli";

/// Longest standard input read for a password.
const MAX_INPUT: u64 = 4096;

/// `polymall operator add NAME --role ROLE`
pub fn operator_add(config: &Config, name: &str, role: &str) -> anyhow::Result<()> {
    operators::check_name(name)?;
    let role = Role::from_code(role).context("--role must be viewer, operator or admin")?;
    let db = open(config)?;
    let hash = new_password_hash(name)?;
    let mut conn = db.get()?;
    operators::add(&mut conn, name, &hash, role, ACTOR)?;
    println!("operator {name} created ({role}); sign in at /console");
    Ok(())
}

/// `polymall operator password NAME`: a new password; their sessions end.
pub fn operator_password(config: &Config, name: &str) -> anyhow::Result<()> {
    let db = open(config)?;
    let hash = new_password_hash(name)?;
    let mut conn = db.get()?;
    operators::set_password(&mut conn, name, &hash, ACTOR)?;
    println!("password of {name} replaced; their sessions have ended");
    Ok(())
}

fn new_password_hash(name: &str) -> anyhow::Result<String> {
    let password = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password(format!("password for {name}: "))
            .context("cannot read the password")?;
        let second =
            rpassword::prompt_password("the same again: ").context("cannot read the password")?;
        anyhow::ensure!(
            first == second,
            "the two passwords differ; nothing was changed"
        );
        first
    } else {
        let mut input = String::new();
        std::io::stdin()
            .take(MAX_INPUT)
            .read_to_string(&mut input)
            .context("cannot read the password from standard input")?;
        input.lines().next().unwrap_or_default().to_owned()
    };
    operators::check_password(&password)?;
    password::hash(&password).map_err(anyhow::Error::msg)
}
