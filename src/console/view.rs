//! What every console page shares: the navigation, the signed-in operator, the
//! language switch, the form token, a notice after an action, and how times and money
//! are written.

use actix_web::HttpRequest;
use chrono::{FixedOffset, NaiveDateTime};

use super::auth::{lang_of, Signed};
use super::form::Form;
use super::i18n::Lang;
use crate::operators::Role;

/// A section of the console in the navigation. A new section is one more entry here
/// and its page module.
struct Section {
    path: &'static str,
    label: &'static str,
    least: Role,
}

const SECTIONS: &[Section] = &[
    Section {
        path: "/console",
        label: "nav.overview",
        least: Role::Viewer,
    },
    Section {
        path: "/console/orders",
        label: "nav.orders",
        least: Role::Viewer,
    },
    Section {
        path: "/console/outbox",
        label: "nav.outbox",
        least: Role::Viewer,
    },
    Section {
        path: "/console/products",
        label: "nav.products",
        least: Role::Viewer,
    },
    Section {
        path: "/console/jobs",
        label: "nav.jobs",
        least: Role::Viewer,
    },
    Section {
        path: "/console/shops",
        label: "nav.shops",
        least: Role::Admin,
    },
    Section {
        path: "/console/operators",
        label: "nav.operators",
        least: Role::Admin,
    },
    Section {
        path: "/console/audit",
        label: "nav.audit",
        least: Role::Viewer,
    },
];

/// Notices a page shows after an action redirected to it (`?notice=…&n=…`).
const NOTICES: &[&str] = &[
    "retried",
    "held",
    "released",
    "stock_set",
    "operator_saved",
    "shop_saved",
    "shop_unchanged",
];

/// A navigation link.
pub struct NavItem {
    /// Where it goes.
    pub href: &'static str,
    /// Its label.
    pub label: &'static str,
    /// It is the section shown.
    pub current: bool,
}

/// The frame of every page.
pub struct Chrome {
    lang: Lang,
    offset: FixedOffset,
    /// `zh` or `en`, for `<html lang>`.
    pub lang_code: &'static str,
    /// The page title.
    pub title: String,
    /// The sections the operator may open.
    pub nav: Vec<NavItem>,
    /// The operator and role, when signed in.
    pub who: Option<String>,
    /// The token the page's forms carry.
    pub csrf: String,
    /// The link that switches the language and comes back here.
    pub lang_href: String,
    /// The time zone times are shown in, e.g. `UTC+08:00`.
    pub zone: String,
    /// polymall's version.
    pub version: &'static str,
    /// What the last action did.
    pub notice: Option<String>,
    /// The operator may act on the outbox and stock.
    pub can_act: bool,
}

impl Chrome {
    /// The frame of a page in section `section` titled by label `title`.
    pub fn new(
        request: &HttpRequest,
        offset: FixedOffset,
        signed: Option<&Signed>,
        section: &str,
        title: &str,
        csrf: String,
    ) -> Self {
        let lang = signed.map_or_else(|| lang_of(request), |signed| signed.lang);
        let role = signed.map(|signed| signed.operator.role);
        let nav = match role {
            None => Vec::new(),
            Some(role) => SECTIONS
                .iter()
                .filter(|s| role >= s.least)
                .map(|s| NavItem {
                    href: s.path,
                    label: lang.t(s.label),
                    current: s.path == section,
                })
                .collect(),
        };
        let here = match request.query_string() {
            "" => request.path().to_owned(),
            query => format!("{}?{query}", request.path()),
        };
        let back: String = form_urlencoded::byte_serialize(here.as_bytes()).collect();
        Self {
            lang,
            offset,
            lang_code: lang.code(),
            title: lang.t(title).to_owned(),
            nav,
            who: signed.map(|signed| {
                format!(
                    "{} · {}",
                    signed.operator.name,
                    lang.t(&format!("role.{}", signed.operator.role))
                )
            }),
            csrf,
            lang_href: format!("/console/lang/{}?back={back}", lang.other().code()),
            zone: format!("UTC{offset}"),
            version: env!("CARGO_PKG_VERSION"),
            notice: notice(request, lang),
            can_act: role.is_some_and(|role| role >= Role::Operator),
        }
    }

    /// The label of `key`.
    pub fn t(&self, key: &str) -> &'static str {
        self.lang.t(key)
    }

    /// The page's language.
    pub fn lang(&self) -> Lang {
        self.lang
    }

    /// A stored UTC time in the console's zone.
    pub fn time(&self, utc: NaiveDateTime) -> String {
        (utc + self.offset).format("%Y-%m-%d %H:%M:%S").to_string()
    }

    /// An optional time, or a dash.
    pub fn time_or_dash(&self, utc: Option<NaiveDateTime>) -> String {
        utc.map_or_else(|| "—".to_owned(), |utc| self.time(utc))
    }

    /// A label whose key is `prefix.code`, or the code itself when the table lacks it.
    pub fn code_label(&self, prefix: &str, code: &str) -> String {
        match self.lang.t(&format!("{prefix}.{code}")) {
            "?" => code.to_owned(),
            label => label.to_owned(),
        }
    }
}

/// Fen as yuan with two decimals.
pub fn money(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let fen = fen.unsigned_abs();
    format!("{sign}{}.{:02}", fen / 100, fen % 100)
}

/// A duration in whole units, e.g. `3 min`, `2 h`, `4 d`.
pub fn age(seconds: i64) -> String {
    let seconds = seconds.max(0);
    match seconds {
        s if s < 120 => format!("{s} s"),
        s if s < 2 * 3600 => format!("{} min", s / 60),
        s if s < 2 * 86_400 => format!("{} h", s / 3600),
        s => format!("{} d", s / 86_400),
    }
}

fn notice(request: &HttpRequest, lang: Lang) -> Option<String> {
    let query = Form::parse(request.query_string().as_bytes()).ok()?;
    let key = query.one("notice").ok()??;
    if !NOTICES.contains(&key) {
        return None;
    }
    let n = query.number("n", 0..=i64::MAX).ok().flatten().unwrap_or(0);
    Some(lang.t_n(&format!("notice.{key}"), n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_and_ages_read_well() {
        assert_eq!(money(5500), "55.00");
        assert_eq!(money(-7), "-0.07");
        assert_eq!(age(59), "59 s");
        assert_eq!(age(600), "10 min");
        assert_eq!(age(3 * 3600), "3 h");
        assert_eq!(age(5 * 86_400), "5 d");
    }
}
