//! Graceful shutdown with axum's `with_graceful_shutdown` and `io.close_after`: every socket
//! leaves with `server shutting down`, what was queued reaches the npm clients before their
//! connections close, and the server future completes in time. (That handshakes are refused
//! from the start of the shutdown is tested in-process: `crates/socketio/tests/shutdown.rs`.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use integration_tests::harness::{Client, Harness};
use serde_json::json;
use tower_socketio::{DisconnectReason, Socket, SocketIo};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_flushes_then_disconnects_every_client() {
    let io = SocketIo::new();
    let reasons = Arc::new(Mutex::new(Vec::new()));
    let seen = reasons.clone();
    io.ns("/", move |socket: Socket| {
        let seen = seen.clone();
        async move {
            socket.on_disconnect(move |_s: Socket, reason: DisconnectReason| {
                let seen = seen.clone();
                async move { seen.lock().unwrap().push(reason) }
            });
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (trigger, signal) = tokio::sync::oneshot::channel::<()>();
    let app = axum::Router::new().layer(io.layer());
    let shutdown = io.close_after(async move {
        let _ = signal.await;
    });
    let server = tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await
        .unwrap();
        Instant::now()
    });

    let url = integration_tests::http_url(addr);
    let h = Harness::start(60).await.unwrap();
    let mut clients = Vec::new();
    for (name, transports) in [
        ("polling", json!(["polling"])),
        ("websocket", json!(["websocket"])),
        ("upgraded", json!(["polling", "websocket"])),
    ] {
        let (c, _) = Client::connect(&h, name, &url, "/", json!({ "transports": transports }))
            .await
            .unwrap();
        clients.push(c);
    }
    // Let the upgrade complete.
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Queue 100 messages for everyone, then shut down at once.
    for i in 0..100 {
        io.emit("msg", &i).unwrap();
    }
    let started = Instant::now();
    trigger.send(()).unwrap();

    for c in &clients {
        for i in 0..100 {
            assert_eq!(c.next("msg", 5000).await.unwrap(), json!([i]), "{}", c.name);
        }
        assert_eq!(
            c.next("disconnect", 5000).await.unwrap(),
            json!(["transport close"]),
            "{}",
            c.name
        );
    }
    let finished = tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("the server stopped")
        .unwrap();
    let took = finished - started;
    assert!(took < Duration::from_secs(6), "shutdown took {took:?}");
    eprintln!("shutdown took {took:?}");
    let reasons = reasons.lock().unwrap().clone();
    assert_eq!(reasons, vec![DisconnectReason::ServerShuttingDown; 3]);
}
