//! What one connection may make the server hold: dynamic namespaces created for refused
//! connections, children per dynamic namespace, namespaces and connections in progress per
//! connection, packets waiting for a namespace decision. Driven through the service with raw
//! long-polling requests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use axum::Router;
use common::{connect, send, session};
use tower_socketio::{ConnectError, Socket, SocketIo, SocketIoConfig, extract::Auth};

fn app(config: SocketIoConfig) -> (SocketIo, Router) {
    let io = SocketIo::with_config(config);
    let rooms = io
        .dyn_ns(r"^/room-\d+$", |_socket: Socket| async move {})
        .unwrap();
    rooms.middleware(|Auth(auth): Auth<serde_json::Value>| async move {
        if auth["token"] == "ok" {
            Ok(())
        } else {
            Err(ConnectError::new("not authorized"))
        }
    });
    // Namespaces whose middleware takes long (a connection stays in progress).
    io.dyn_ns(r"^/slow-\d+$", |_socket: Socket| async move {})
        .unwrap()
        .middleware(|| async move {
            tokio::time::sleep(Duration::from_secs(30)).await;
            Ok::<(), ConnectError>(())
        });
    for name in ["/a", "/b", "/c"] {
        io.ns(name, |_socket: Socket| async move {});
    }
    let app = Router::new().layer(io.layer());
    (io, app)
}

/// POSTs `body` and returns the next poll's answer.
async fn exchange(app: &Router, client: &str, body: &str) -> String {
    assert_eq!(send(app, "POST", client, body).await, "ok");
    send(app, "GET", client, "").await
}

#[tokio::test]
async fn refused_connections_leave_no_dynamic_child() {
    let (io, app) = app(SocketIoConfig::default());
    let client = session(&app).await;
    for i in 0..200 {
        let answer = exchange(&app, &client, &format!("40/room-{i},{{\"token\":\"no\"}}")).await;
        assert_eq!(
            answer,
            format!("44/room-{i},{{\"message\":\"not authorized\"}}")
        );
    }
    for i in 0..200 {
        assert!(
            io.of(format!("/room-{i}")).is_none(),
            "/room-{i} left behind"
        );
    }
    // An accepted connection creates (and keeps) its child.
    let answer = exchange(&app, &client, "40/room-7,{\"token\":\"ok\"}").await;
    assert!(answer.starts_with("40/room-7,{\"sid\""), "{answer}");
    assert_eq!(io.of("/room-7").unwrap().len(), 1);
    // A refused attempt on a child that has sockets changes nothing.
    let other = session(&app).await;
    exchange(&app, &other, "40/room-7,{\"token\":\"no\"}").await;
    assert_eq!(io.of("/room-7").unwrap().len(), 1);
    // Without cleanup (the default, as Node), a child that had a socket stays once empty,
    // even after a refused attempt.
    assert_eq!(send(&app, "POST", &client, "41/room-7,").await, "ok");
    exchange(&app, &other, "40/room-7,{\"token\":\"no\"}").await;
    assert!(io.of("/room-7").is_some());
}

#[tokio::test]
async fn dynamic_children_are_bounded() {
    let (io, app) = app(SocketIoConfig::default()
        .max_dynamic_children(3)
        .cleanup_empty_child_namespaces(true));
    let client = session(&app).await;
    for i in 0..3 {
        let answer = exchange(&app, &client, &format!("40/room-{i},{{\"token\":\"ok\"}}")).await;
        assert!(
            answer.starts_with(&format!("40/room-{i},{{\"sid\"")),
            "{answer}"
        );
    }
    let answer = exchange(&app, &client, "40/room-3,{\"token\":\"ok\"}").await;
    assert_eq!(answer, "44/room-3,{\"message\":\"Too many namespaces\"}");
    assert!(io.of("/room-3").is_none());
    // An existing child still takes new sockets; a removed one frees a place.
    let other = session(&app).await;
    connect_with_token(&app, &other, "/room-0").await;
    assert_eq!(send(&app, "POST", &client, "41/room-1,").await, "ok");
    let answer = exchange(&app, &client, "40/room-3,{\"token\":\"ok\"}").await;
    assert!(answer.starts_with("40/room-3,{\"sid\""), "{answer}");
}

async fn connect_with_token(app: &Router, client: &str, nsp: &str) {
    let answer = exchange(app, client, &format!("40{nsp},{{\"token\":\"ok\"}}")).await;
    assert!(
        answer.starts_with(&format!("40{nsp},{{\"sid\"")),
        "{answer}"
    );
}

#[tokio::test]
async fn namespaces_per_connection_are_bounded() {
    let (_io, app) = app(SocketIoConfig::default().max_sockets_per_connection(2));
    let client = session(&app).await;
    connect(&app, &client, "/a").await;
    connect(&app, &client, "/b").await;
    let answer = exchange(&app, &client, "40/c,").await;
    assert_eq!(
        answer,
        "44/c,{\"message\":\"Too many namespaces for this connection\"}"
    );
    // Leaving one makes room.
    assert_eq!(send(&app, "POST", &client, "41/b,").await, "ok");
    connect(&app, &client, "/c").await;
}

#[tokio::test]
async fn connections_in_progress_are_bounded() {
    let (_io, app) = app(SocketIoConfig::default().max_pending_connects(2));
    let client = session(&app).await;
    let answer = exchange(&app, &client, "40/slow-1,\u{1e}40/slow-2,\u{1e}40/slow-3,").await;
    assert_eq!(
        answer,
        "44/slow-3,{\"message\":\"Too many connections in progress\"}"
    );
    // A namespace that answers at once is refused too while two are in progress.
    let answer = exchange(&app, &client, "40/a,").await;
    assert_eq!(
        answer,
        "44/a,{\"message\":\"Too many connections in progress\"}"
    );
}

#[tokio::test]
async fn packets_waiting_for_a_namespace_are_bounded_in_bytes() {
    let (_io, app) = app(SocketIoConfig::default());
    let client = session(&app).await;
    assert_eq!(send(&app, "POST", &client, "40/slow-1,").await, "ok");
    // 400 KB of events per POST (under max_payload): the third crosses 1 MiB.
    let event = format!("42/slow-1,[\"e\",\"{}\"]", "x".repeat(40_000));
    let body = vec![event; 10].join("\u{1e}");
    for _ in 0..2 {
        assert_eq!(send(&app, "POST", &client, &body).await, "ok");
    }
    let _ = send(&app, "POST", &client, &body).await;
    // The connection was closed: its poll gets the close packet.
    assert_eq!(send(&app, "GET", &client, "").await, "1");
}
