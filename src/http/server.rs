//! The HTTP server: the actix-web application on actix's HTTP/1 service, with one look
//! at each new connection first.
//!
//! The HTTP layer refuses a request line longer than 64 KiB (the longest URI it takes)
//! with a bare 400 before any handler runs, so an ERP that put a huge bizcontent in the
//! query string would get no envelope. The first request line of every connection is
//! therefore peeked at (never consumed): one too long is answered here in the shape of
//! the path it asked for — the Polyapi envelope, the admin API's JSON error — and the
//! connection closed; anything else goes to the HTTP service unchanged.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use actix_http::body::MessageBody;
use actix_http::{HttpService, Protocol, Request, Response};
use actix_server::Server;
use actix_service::{
    fn_service, map_config, IntoServiceFactory, ServiceFactory, ServiceFactoryExt,
};
use actix_web::dev::AppConfig;
use actix_web::rt::net::TcpStream;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::polyapi::envelope::{envelope, PolyError};

/// Longest request line the HTTP layer takes (`http::Uri` refuses longer ones).
const MAX_REQUEST_LINE: usize = 64 * 1024;
/// How long a connection may take to send its first request line.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// How much of a refused request is read (and dropped) before closing, so the caller
/// reads the answer rather than a reset connection.
const DRAIN_LIMIT: usize = 2 * 1024 * 1024;

/// How the server runs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Worker threads; 0 means one per CPU.
    pub workers: usize,
    /// Seconds in-flight requests get after a stop.
    pub shutdown_timeout_secs: u64,
    /// The Polyapi endpoint's path.
    pub polyapi_path: String,
}

/// Serves `app` on `listener` until stopped through the returned server's handle.
pub fn serve<F, I, S, B>(
    listener: TcpListener,
    settings: Settings,
    app: F,
) -> std::io::Result<Server>
where
    F: Fn() -> I + Send + Clone + 'static,
    I: IntoServiceFactory<S, Request>,
    S: ServiceFactory<Request, Config = AppConfig> + 'static,
    S::Error: Into<actix_web::Error>,
    S::InitError: std::fmt::Debug,
    S::Response: Into<Response<B>>,
    B: MessageBody + 'static,
{
    let address = listener.local_addr()?;
    let mut builder = Server::build()
        .disable_signals()
        .shutdown_timeout(settings.shutdown_timeout_secs);
    if settings.workers > 0 {
        builder = builder.workers(settings.workers);
    }
    let shutdown = builder.graceful_shutdown_signal();
    let polyapi_path = settings.polyapi_path;
    Ok(builder
        .listen("polymall-http", listener, move || {
            let shutdown = shutdown.clone();
            let http = HttpService::build()
                .client_request_timeout(REQUEST_TIMEOUT)
                .client_disconnect_timeout(Duration::from_secs(1))
                .h1_allow_half_closed(true)
                .local_addr(address)
                .graceful_shutdown_signal(move || {
                    let shutdown = shutdown.clone();
                    async move { shutdown.notified().await }
                })
                .finish(map_config(
                    app()
                        .into_factory()
                        .map_err(|error| error.into().error_response()),
                    |_| AppConfig::default(),
                ));
            let polyapi_path = polyapi_path.clone();
            fn_service(move |stream: TcpStream| {
                let polyapi_path = polyapi_path.clone();
                async move {
                    if let Some(head) = overlong_request_line(&stream).await {
                        refuse(stream, &head, &polyapi_path).await;
                        return Err(actix_http::error::DispatchError::Io(std::io::Error::other(
                            "request line too long; answered",
                        )));
                    }
                    let peer = stream.peer_addr().ok();
                    Ok((stream, Protocol::Http1, peer))
                }
            })
            .and_then(http)
        })?
        .run())
}

/// The start of the first request when its request line is longer than the HTTP layer
/// takes; `None` when it fits (or the client went quiet or away: the HTTP layer deals
/// with that). The bytes are peeked at, not consumed.
async fn overlong_request_line(stream: &TcpStream) -> Option<Vec<u8>> {
    let started = Instant::now();
    // Nearly every request line ends within the first read; a small look first.
    let mut head = vec![0_u8; 4096];
    loop {
        let seen = stream.peek(&mut head).await.ok()?;
        if seen == 0 || head[..seen].windows(2).any(|w| w == b"\r\n") {
            return None;
        }
        if seen > MAX_REQUEST_LINE {
            head.truncate(seen);
            return Some(head);
        }
        if seen == head.len() {
            head.resize(MAX_REQUEST_LINE + 1, 0);
            continue;
        }
        if started.elapsed() > REQUEST_TIMEOUT {
            return None;
        }
        // A line still arriving: look again shortly.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Answers a request whose line is too long in its path's protocol, then reads what the
/// client still sends (up to a bound) and closes.
async fn refuse(mut stream: TcpStream, head: &[u8], polyapi_path: &str) {
    let text = String::from_utf8_lossy(&head[..head.len().min(8192)]);
    let target = text.split(' ').nth(1).unwrap_or_default();
    let path = target.split('?').next().unwrap_or_default();
    let why = format!(
        "the request line is longer than {MAX_REQUEST_LINE} bytes; send the parameters in the body"
    );
    let (status, content_type, body) = if path == polyapi_path {
        let document = envelope(Err(PolyError::invalid("query string", &why)));
        if target.to_ascii_lowercase().contains("contenttype=xml") {
            (
                "200 OK",
                "application/xml; charset=utf-8",
                document.to_xml(),
            )
        } else {
            ("200 OK", "application/json", document.to_json())
        }
    } else if path.starts_with("/admin/") {
        let body = serde_json::json!({"error": "too_large", "field": null, "message": why});
        ("414 URI Too Long", "application/json", body.to_string())
    } else {
        ("414 URI Too Long", "text/plain; charset=utf-8", why)
    };
    tracing::warn!(path = %path.chars().take(100).collect::<String>(), "request line too long; answered and closed");
    let response = format!(
        "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    if stream.write_all(response.as_bytes()).await.is_err() {
        return;
    }
    // End our side at once (the caller sees the whole answer), but keep reading what it
    // still sends for a moment, so closing does not reset the answer away.
    let _ = stream.shutdown().await;
    let mut sink = vec![0_u8; 16 * 1024];
    let mut drained = 0;
    let until = Instant::now() + Duration::from_secs(1);
    while drained < DRAIN_LIMIT {
        let left = until.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut sink)).await {
            Ok(Ok(read)) if read > 0 => drained += read,
            _ => break,
        }
    }
}
