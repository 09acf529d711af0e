//! The rooms example (`examples/rooms`): greetings to everyone, to a room and to the joiner,
//! checked exactly for four npm `socket.io-client` sockets (`tests/node/examples-rooms.mjs`).

#![allow(clippy::panic, reason = "tests fail by panicking")]

mod examples_common;

use examples_common::{node, serve};
use tower_socketio::SocketIoConfig;

async fn rooms(transports: &str) {
    let app = serve(rooms::app(SocketIoConfig::default())).await;
    node(
        "examples-rooms.mjs",
        &app.url,
        &["--transports", transports],
        20,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rooms_over_websocket() {
    rooms("websocket").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rooms_over_polling() {
    rooms("polling").await;
}
