//! `cleanup_empty_child_namespaces`: a child of a dynamic namespace is removed when its last
//! socket leaves (and only then), or kept, as in Node. Driven through the service with raw
//! long-polling requests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use axum::Router;
use common::{connect, send, session};
use tower_socketio::{Socket, SocketIo, SocketIoConfig};

/// Waits (bounded) until `done` holds.
async fn eventually(what: &str, done: impl Fn() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < Duration::from_secs(5), "never: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn app(cleanup: bool) -> (SocketIo, Router) {
    let config = SocketIoConfig::default().cleanup_empty_child_namespaces(cleanup);
    let io = SocketIo::with_config(config);
    io.dyn_ns(r"^/room-\d+$", |_socket: Socket| async move {})
        .unwrap();
    let app = Router::new().layer(io.layer());
    (io, app)
}

#[tokio::test]
async fn an_empty_child_is_removed_when_its_last_socket_leaves() {
    let (io, app) = app(true);
    let (a, b) = (session(&app).await, session(&app).await);
    connect(&app, &a, "/room-1").await;
    connect(&app, &b, "/room-1").await;
    assert_eq!(io.of("/room-1").expect("created").sockets().len(), 2);

    // One of two leaves: the child stays.
    assert_eq!(send(&app, "POST", &a, "41/room-1,").await, "ok");
    eventually("one socket left", || {
        io.of("/room-1").is_some_and(|ns| ns.sockets().len() == 1)
    })
    .await;

    // The last one leaves: the child is gone, and `of` no longer finds it.
    assert_eq!(send(&app, "POST", &b, "41/room-1,").await, "ok");
    eventually("the child removed", || io.of("/room-1").is_none()).await;

    // A new connection creates it again.
    connect(&app, &a, "/room-1").await;
    assert_eq!(io.of("/room-1").expect("created again").sockets().len(), 1);
}

#[tokio::test]
async fn without_the_option_an_empty_child_stays() {
    let (io, app) = app(false);
    let a = session(&app).await;
    connect(&app, &a, "/room-2").await;
    assert_eq!(send(&app, "POST", &a, "41/room-2,").await, "ok");
    eventually("the socket left", || {
        io.of("/room-2").is_some_and(|ns| ns.sockets().is_empty())
    })
    .await;
    // Give a wrong removal every chance to happen.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(io.of("/room-2").is_some());
}
