//! The hello example (`examples/hello`): a counter every second per socket, checked with two
//! npm `socket.io-client` sockets (`tests/node/examples-hello.mjs`, about 4 s of real time).

#![allow(clippy::panic, reason = "tests fail by panicking")]

mod examples_common;

use examples_common::{node, serve};
use tower_socketio::SocketIoConfig;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hello_counts_every_second_per_socket() {
    let app = serve(hello::app(SocketIoConfig::default())).await;
    let result = node("examples-hello.mjs", &app.url, &[], 20).await;
    assert_eq!(result["a"], serde_json::json!([1, 2, 3]), "{result}");
}
