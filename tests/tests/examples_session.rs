//! The session example (`examples/session`): axum-login sessions seen by Socket.IO, driven with fetch and several npm `socket.io-client`
//! sockets (`tests/node/examples-session.mjs`).

#![allow(clippy::panic, reason = "tests fail by panicking")]

mod examples_common;

use examples_common::{node, serve};
use tower_socketio::SocketIoConfig;

async fn run(transports: &str) {
    let app = serve(session::app(SocketIoConfig::default())).await;
    node(
        "examples-session.mjs",
        &app.url,
        &["--transports", transports],
        20,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_over_polling_upgraded_to_websocket() {
    run("polling,websocket").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_over_polling() {
    run("polling").await;
}
