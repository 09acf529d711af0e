//! `SocketIo::close`: handshakes are refused (503) from the moment it is called, while and
//! after the connections close.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use axum::{Router, body::Body};
use http::Request;
use http_body_util::BodyExt;
use tower::ServiceExt;
use tower_socketio::{Socket, SocketIo};

async fn handshake(app: &Router) -> (u16, String) {
    let req = Request::get("/socket.io/?EIO=4&transport=polling")
        .body(Body::empty())
        .unwrap();
    let res = tokio::time::timeout(Duration::from_secs(5), app.clone().oneshot(req))
        .await
        .unwrap()
        .unwrap();
    let status = res.status().as_u16();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn handshakes_are_refused_from_the_start_of_a_shutdown() {
    let io = SocketIo::new();
    io.ns("/", |_socket: Socket| async move {});
    let app = Router::new().layer(io.layer());
    assert_eq!(handshake(&app).await.0, 200);
    // A session whose client never comes back for its last payload holds the close open
    // for the grace period: handshakes during it are refused.
    let closing = tokio::spawn({
        let io = io.clone();
        async move { io.close().await }
    });
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(
        handshake(&app).await,
        (
            503,
            r#"{"code":4,"message":"Server shutting down"}"#.to_owned()
        )
    );
    tokio::time::timeout(Duration::from_secs(10), closing)
        .await
        .expect("close resolves within the grace period")
        .unwrap();
    assert_eq!(io.clients_count(), 0);
    assert_eq!(handshake(&app).await.0, 503);
}
