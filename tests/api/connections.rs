//! How polymall's connections reach PostgreSQL: on the same host over TCP, without TLS
//! unless the URL asks for it.

use diesel::sql_types::{Bool, Text};
use diesel::RunQueryDsl;
use polymall::db::DbConnection;

use crate::helpers::{connect, note_postgres_skipped, postgres_url, with_parameter};

#[derive(diesel::QueryableByName)]
struct Encrypted {
    #[diesel(sql_type = Bool)]
    ssl: bool,
}

#[derive(diesel::QueryableByName)]
struct Setting {
    #[diesel(sql_type = Text)]
    ssl: String,
}

/// Whether the connection polymall opens with `url` is encrypted, as the server sees it.
fn encrypted(url: &str) -> bool {
    let mut conn = connect(url);
    let DbConnection::Pg(conn) = &mut *conn else {
        panic!("a PostgreSQL URL gives a PostgreSQL connection")
    };
    diesel::sql_query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .get_result::<Encrypted>(conn)
        .expect("pg_stat_ssl")
        .ssl
}

#[test]
fn loopback_connections_skip_tls_unless_the_url_asks_for_it() {
    let Some(url) = postgres_url() else {
        note_postgres_skipped();
        return;
    };
    let host = url.split("://").nth(1).unwrap_or("");
    let host = host.rsplit_once('@').map_or(host, |(_, host)| host);
    let tls_named =
        url.contains("ssl") || std::env::vars().any(|(name, _)| name.starts_with("PGSSL"));
    if !(host.starts_with("127.0.0.1") || host.starts_with("localhost")) || tls_named {
        // The rule is about a server on this host, with nothing said about TLS; another,
        // or one whose URL says, is reached as libpq negotiates.
        return;
    }
    assert!(
        !encrypted(&url),
        "a connection to PostgreSQL on 127.0.0.1 should not be encrypted by default"
    );
    let mut conn = connect(&url);
    let DbConnection::Pg(pg) = &mut *conn else {
        unreachable!()
    };
    let offered = diesel::sql_query("SHOW ssl")
        .get_result::<Setting>(pg)
        .expect("SHOW ssl")
        .ssl;
    if offered == "on" {
        // The operator's word on TLS is kept, whichever way it goes.
        assert!(encrypted(&with_parameter(&url, "sslmode=require")));
        assert!(encrypted(&with_parameter(&url, "sslmode=prefer")));
        assert!(!encrypted(&with_parameter(&url, "sslmode=disable")));
    }
}
