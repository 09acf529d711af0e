//! `server_side_emit` with the in-memory adapter: no other server to reach.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use tower_socketio::{EmitError, SocketIo};

#[tokio::test]
async fn a_single_server_has_nobody_to_answer() {
    let io = SocketIo::new();
    io.server_side_emit("hello", &("a", 1)).unwrap();
    let answers = tokio::time::timeout(
        Duration::from_secs(1),
        io.server_side_emit_with_ack("ping", &()),
    )
    .await
    .expect("resolves at once, unlike Node's in-memory adapter")
    .unwrap();
    assert!(answers.is_empty());
}

#[tokio::test]
async fn reserved_names_are_refused() {
    let io = SocketIo::new();
    for name in ["connect", "connection", "new_namespace"] {
        assert!(matches!(
            io.server_side_emit(name, &()),
            Err(EmitError::ReservedEvent(_))
        ));
    }
}
