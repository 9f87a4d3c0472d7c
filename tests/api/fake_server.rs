//! What the fake partners share: an HTTP server of their own on a free port, and an answer
//! held back while a test has scripted the partner to stall.

use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::{web, App, HttpResponse, HttpServer};

/// Serves `routes` on a free port of 127.0.0.1 with one worker and no signal handling (the
/// test process owns its signals); answers the port and the handle that stops the server.
pub fn serve<F>(routes: F) -> (u16, ServerHandle)
where
    F: Fn(&mut web::ServiceConfig) + Clone + Send + 'static,
{
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let server = HttpServer::new(move || App::new().configure(routes.clone()))
        .workers(1)
        .disable_signals()
        .listen(listener)
        .expect("listen")
        .run();
    let handle = server.handle();
    tokio::spawn(server);
    (port, handle)
}

/// `answer`, once `stall` (when a test scripted one) has passed: a partner slower than
/// polymall's timeout, which has already done what it was asked when it answers.
pub async fn after_stall(answer: HttpResponse, stall: Option<Duration>) -> HttpResponse {
    if let Some(stall) = stall {
        tokio::time::sleep(stall).await;
    }
    answer
}
