//! The connect timeout: a connection that joins no namespace in time is closed, each on its own
//! deadline; one that joined stays. Driven through the service with raw long-polling requests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use axum::Router;
use common::{connect, send, session};
use tower_socketio::{Socket, SocketIo, SocketIoConfig};

/// Holds a poll on `client` and returns what it got and when (since `started`).
async fn poll(app: &Router, client: &str, started: Instant) -> (String, Duration) {
    let body = send(app, "GET", client, "").await;
    (body, started.elapsed())
}

#[tokio::test]
async fn connections_without_a_namespace_close_on_their_own_deadline() {
    let timeout = Duration::from_millis(400);
    let io = SocketIo::with_config(SocketIoConfig::default().connect_timeout(timeout));
    io.ns("/", |_socket: Socket| async move {});
    let app: Router = Router::new().layer(io.layer());

    let started = Instant::now();
    let early = session(&app).await;
    let joined = session(&app).await;
    connect(&app, &joined, "/").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let late = session(&app).await;

    // Each idle connection's held poll is answered with the close packet at its own deadline
    // (the server closed it); the joined one's poll stays held (answered only by a ping, 25 s
    // later), so it is still waiting when the test ends.
    let joined_poll = tokio::spawn({
        let (app, joined) = (app.clone(), joined.clone());
        async move { send(&app, "GET", &joined, "").await }
    });
    let ((early_body, early_at), (late_body, late_at)) =
        tokio::join!(poll(&app, &early, started), poll(&app, &late, started));
    assert_eq!(early_body, "1", "the early connection got {early_body:?}");
    assert_eq!(late_body, "1", "the late connection got {late_body:?}");
    assert!(
        early_at >= timeout && early_at < Duration::from_millis(580),
        "early closed after {early_at:?}"
    );
    assert!(
        late_at >= Duration::from_millis(600) && late_at < Duration::from_millis(800),
        "late closed after {late_at:?}"
    );

    tokio::time::sleep(timeout).await;
    assert!(
        !joined_poll.is_finished(),
        "the joined connection was answered"
    );
    assert_eq!(io.of("/").unwrap().sockets().len(), 1);
    joined_poll.abort();
}
