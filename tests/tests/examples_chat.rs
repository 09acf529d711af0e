//! The chat example (`examples/chat`) driven by three and more npm `socket.io-client` sockets:
//! logins and counts, joins and departures, messages and typing to everyone but the sender
//! (`tests/node/examples-chat.mjs`), over each transport choice.

#![allow(clippy::panic, reason = "tests fail by panicking")]

mod examples_common;

use examples_common::{node, serve};
use tower_socketio::SocketIoConfig;

async fn chat(transports: &str) {
    let app = serve(chat::app(SocketIoConfig::default())).await;
    let result = node(
        "examples-chat.mjs",
        &app.url,
        &["--transports", transports],
        30,
    )
    .await;
    let last = transports.rsplit(',').next().unwrap_or(transports);
    assert_eq!(
        result["finalTransport"], last,
        "the sockets should end on {last}: {result}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_over_websocket() {
    chat("websocket").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_over_polling() {
    chat("polling").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_polling_upgraded_to_websocket() {
    chat("polling,websocket").await;
}
