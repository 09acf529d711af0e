//! The rest-and-socket example (`examples/rest-and-socket`): REST routes that count clients
//! and message one socket, driven with fetch and several npm `socket.io-client` sockets
//! (`tests/node/examples-rest-and-socket.mjs`).

#![allow(clippy::panic, reason = "tests fail by panicking")]

mod examples_common;

use examples_common::{node, serve};
use tower_socketio::SocketIoConfig;

async fn rest_and_socket(transports: &str) {
    let app = serve(rest_and_socket::app(SocketIoConfig::default())).await;
    node(
        "examples-rest-and-socket.mjs",
        &app.url,
        &["--transports", transports],
        20,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_and_socket_over_websocket() {
    rest_and_socket("websocket").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_and_socket_over_polling() {
    rest_and_socket("polling,websocket").await;
}
