//! PostgreSQL on the same host, reached over TCP: no TLS unless the operator asks for it.
//!
//! libpq's default `sslmode=prefer` encrypts a connection to 127.0.0.1 whenever the server
//! offers TLS (Debian's does, with its snake-oil certificate). On loopback that protects
//! nothing: the traffic never leaves the host, and whoever can read it there can read the
//! server's memory too; `prefer` verifies no certificate either. It costs a page of
//! GetOrder about a quarter of its time (the handshake's and every round trip's
//! encryption on both ends). So a URL whose hosts are all loopback, and that says nothing
//! about TLS, is given `sslmode=allow`: libpq connects without TLS first and still
//! negotiates it when the server refuses a plain connection (`hostssl` in `pg_hba.conf`).

use std::borrow::Cow;
use std::net::{Ipv4Addr, Ipv6Addr};

/// libpq's environment variables that say something about TLS (`PGSSLMODE`,
/// `PGSSLROOTCERT`, `PGREQUIRESSL`, `PGCHANNELBINDING`, …): libpq reads them for what the
/// URL leaves out, so with any of them set the URL is used as written.
pub(super) fn tls_environment() -> bool {
    std::env::vars_os().any(|(name, _)| {
        name.to_str().is_some_and(|name| {
            name.starts_with("PGSSL")
                || name == "PGREQUIRESSL"
                || name == "PGCHANNELBINDING"
                || name == "PGGSSENCMODE"
        })
    })
}

/// The URL to connect with: `url` with `sslmode=allow` added when every host it names is
/// loopback (`localhost`, 127.0.0.0/8, `::1`) and neither it nor the environment
/// (`tls_environment`) says anything about TLS; otherwise `url` unchanged. A URL without
/// a host (the Unix socket) or naming its host in the query is left alone too.
pub(super) fn without_loopback_tls(url: &str, tls_environment: bool) -> Cow<'_, str> {
    if tls_environment {
        return Cow::Borrowed(url);
    }
    let Some(rest) = url
        .strip_prefix("postgres://")
        .or_else(|| url.strip_prefix("postgresql://"))
    else {
        return Cow::Borrowed(url);
    };
    let (before_query, query) = rest.split_once('?').unwrap_or((rest, ""));
    let authority = before_query.split('/').next().unwrap_or("");
    let hosts = authority
        .rsplit_once('@')
        .map_or(authority, |(_, hosts)| hosts);
    let mut names = query
        .split('&')
        .map(|pair| pair.split_once('=').map_or(pair, |(name, _)| name));
    // The host named in the query wins over the URL's; a parameter about TLS (`sslmode`,
    // `sslrootcert`, …) is the operator's choice, and so may be a name percent-encoded
    // (libpq decodes names too).
    let query_decides = names.any(|name| {
        name.starts_with("ssl")
            || name.contains('%')
            || matches!(
                name,
                "host" | "hostaddr" | "requiressl" | "channel_binding" | "gssencmode"
            )
    });
    if query_decides || hosts.is_empty() || !hosts.split(',').all(is_loopback) {
        return Cow::Borrowed(url);
    }
    let separator = if !url.contains('?') {
        "?"
    } else if url.ends_with('?') || url.ends_with('&') {
        ""
    } else {
        "&"
    };
    Cow::Owned(format!("{url}{separator}sslmode=allow"))
}

/// Whether one host of a URL's host list (with its port, if any) is a loopback one.
fn is_loopback(host_and_port: &str) -> bool {
    let host = if let Some(bracketed) = host_and_port.strip_prefix('[') {
        match bracketed.split_once(']') {
            Some((address, _port)) => {
                return address.parse::<Ipv6Addr>().is_ok_and(|ip| ip.is_loopback())
            }
            None => return false,
        }
    } else {
        host_and_port
            .split_once(':')
            .map_or(host_and_port, |(host, _port)| host)
    };
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::without_loopback_tls;

    fn rewritten(url: &str) -> String {
        without_loopback_tls(url, false).into_owned()
    }

    #[test]
    fn loopback_hosts_connect_without_tls_first() {
        for (url, expected) in [
            (
                "postgres://postgres@127.0.0.1:5432/test",
                "postgres://postgres@127.0.0.1:5432/test?sslmode=allow",
            ),
            (
                "postgresql://shop:pw@localhost/shop",
                "postgresql://shop:pw@localhost/shop?sslmode=allow",
            ),
            ("postgres://LOCALHOST", "postgres://LOCALHOST?sslmode=allow"),
            (
                "postgres://[::1]:5433/shop?application_name=polymall",
                "postgres://[::1]:5433/shop?application_name=polymall&sslmode=allow",
            ),
            (
                "postgres://127.0.0.2,localhost:5433/shop?",
                "postgres://127.0.0.2,localhost:5433/shop?sslmode=allow",
            ),
            (
                "postgres://u@127.0.0.1/test?options=-csearch_path%3Ds",
                "postgres://u@127.0.0.1/test?options=-csearch_path%3Ds&sslmode=allow",
            ),
        ] {
            assert_eq!(rewritten(url), expected, "{url}");
        }
    }

    #[test]
    fn other_hosts_and_stated_choices_are_used_as_written() {
        for url in [
            // Another host: TLS as libpq negotiates it.
            "postgres://shop@db.internal/shop",
            "postgres://shop@10.0.0.5:5432/shop",
            "postgres://shop@[2001:db8::1]/shop",
            // One loopback host among others.
            "postgres://127.0.0.1,db.internal/shop",
            // A name that only starts like a loopback one.
            "postgres://localhost.example.com/shop",
            "postgres://127.0.0.1.example.com/shop",
            // The Unix socket, by default or named.
            "postgres:///shop",
            "postgres:///shop?host=/var/run/postgresql",
            "postgres://%2Fvar%2Frun%2Fpostgresql/shop",
            // The host named in the query, which libpq takes over the URL's.
            "postgres://127.0.0.1/shop?host=db.internal",
            "postgres://127.0.0.1/shop?hostaddr=10.0.0.5",
            // The operator's own word on TLS.
            "postgres://127.0.0.1/shop?sslmode=require",
            "postgres://127.0.0.1/shop?sslmode=disable",
            "postgres://127.0.0.1/shop?sslrootcert=/etc/ssl/root.crt",
            "postgres://127.0.0.1/shop?requiressl=1",
            "postgres://localhost/shop?channel_binding=require",
            "postgres://localhost/shop?gssencmode=require",
            "postgres://localhost/shop?%73slmode=require",
            // Not PostgreSQL.
            "shop.db",
            "sqlite://127.0.0.1",
        ] {
            assert_eq!(rewritten(url), url, "{url}");
        }
    }

    #[test]
    fn the_environment_s_word_on_tls_is_kept() {
        let url = "postgres://postgres@127.0.0.1:5432/test";
        assert_eq!(without_loopback_tls(url, true), url);
    }
}
