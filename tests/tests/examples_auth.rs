//! The auth example (`examples/auth`): JWT checked on the handshake by a tower layer and on
//! `/admin` by namespace middleware, driven with fetch and several npm `socket.io-client`
//! sockets (`tests/node/examples-auth.mjs`).

#![allow(clippy::panic, reason = "tests fail by panicking")]

mod examples_common;

use examples_common::{node, serve};
use tower_socketio::SocketIoConfig;

async fn run(transports: &str) {
    let app = serve(auth::app(
        SocketIoConfig::default(),
        auth::Keys::new(b"test secret"),
    ))
    .await;
    node(
        "examples-auth.mjs",
        &app.url,
        &["--transports", transports],
        20,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_over_polling_upgraded_to_websocket() {
    run("polling,websocket").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_over_polling() {
    run("polling").await;
}
