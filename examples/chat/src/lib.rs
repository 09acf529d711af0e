//! The classic Socket.IO chat: a login page asking for a nickname, then a chat room with
//! participant counts, typing indicators, and join/leave notices.
//!
//! `cargo run -p chat`, then open <http://127.0.0.1:3000> (`PORT` changes the port). The
//! library half ([`app`]) is what the binary serves, and what the integration tests serve
//! in-process.
//!
//! Client events: `add user` (name), `new message` (text), `typing`, `stop typing`.
//! Server events: `login` `{users}` to the new user; `user joined` / `user left`
//! `{username, users}`, `new message` `{username, message}`, `typing` / `stop typing`
//! `{username}` to everyone but the sender. (`numUsers` carries the count too, as in the
//! original demo.)
//!
//! The binary reads its deployment from the environment: `PORT` (3000), `REDIS_URL` (one node
//! of a Redis cluster: the chat is then one node of a cluster whose `users` counts are
//! cluster-wide), `REDIS_ADAPTER` (`classic`, the default: Node's `@socket.io/redis-adapter`
//! Pub/Sub format) and `RECOVERY_MS` (the connection state recovery window, 120000).

use std::path::Path;

use serde_json::json;
use tower_http::services::ServeDir;
use tower_socketio::{
    DisconnectReason, Socket, SocketIo, SocketIoConfig, adapter::AdapterFactory, extract::Data,
};

/// A logged-in socket's name: `socket.data.username` (the JSON data other nodes of a cluster
/// see through fetch-sockets).
fn username(socket: &Socket) -> Option<String> {
    socket.data()["username"].as_str().map(str::to_owned)
}

/// The number of logged-in users: the sockets whose `data.username` is a string, on every
/// node of the cluster (with a cluster adapter), as a Node chat node counts them.
async fn users(io: &SocketIo) -> usize {
    io.fetch_sockets()
        .await
        .iter()
        .filter(|s| s.data()["username"].is_string())
        .count()
}

/// The chat's Socket.IO server, on one machine.
///
/// Connection state recovery is on (unless `config` sets its own): a user whose connection
/// drops briefly gets every message sent meanwhile when the page reconnects.
pub fn socket_io(config: SocketIoConfig) -> SocketIo {
    build(SocketIo::builder().config(with_recovery(config)))
}

/// The chat's Socket.IO server as one node of a cluster: `adapter` (the Redis adapter, say)
/// shares rooms, broadcasts and the user count with the other nodes.
pub fn socket_io_with_adapter(config: SocketIoConfig, adapter: impl AdapterFactory) -> SocketIo {
    build(
        SocketIo::builder()
            .config(with_recovery(config))
            .adapter(adapter),
    )
}

fn with_recovery(config: SocketIoConfig) -> SocketIoConfig {
    if config.connection_state_recovery.is_none() {
        config.connection_state_recovery(tower_socketio::RecoveryConfig::default())
    } else {
        config
    }
}

fn build(builder: tower_socketio::SocketIoBuilder) -> SocketIo {
    let io = builder.build();
    io.ns("/", |socket: Socket| async move {
        socket.on(
            "add user",
            |socket: Socket, Data(name): Data<String>| async move {
                if username(&socket).is_some() {
                    return;
                }
                socket.set_data(json!({ "username": name }));
                let n = users(&socket.io()).await;
                socket
                    .emit("login", &json!({ "users": n, "numUsers": n }))
                    .ok();
                socket
                    .broadcast()
                    .emit(
                        "user joined",
                        &json!({ "username": name, "users": n, "numUsers": n }),
                    )
                    .ok();
            },
        );

        socket.on(
            "new message",
            |socket: Socket, Data(message): Data<String>| async move {
                if let Some(name) = username(&socket) {
                    socket
                        .broadcast()
                        .emit(
                            "new message",
                            &json!({ "username": name, "message": message }),
                        )
                        .ok();
                }
            },
        );

        for event in ["typing", "stop typing"] {
            socket.on(event, move |socket: Socket| async move {
                if let Some(name) = username(&socket) {
                    socket
                        .broadcast()
                        .emit(event, &json!({ "username": name }))
                        .ok();
                }
            });
        }

        socket.on_disconnect(|socket: Socket, _reason: DisconnectReason| async move {
            let Some(name) = username(&socket) else {
                return;
            };
            // The socket has left: the count no longer includes it.
            let n = users(&socket.io()).await;
            socket
                .broadcast()
                .emit(
                    "user left",
                    &json!({ "username": name, "users": n, "numUsers": n }),
                )
                .ok();
        });
    });
    io
}

/// The directory of this example: its `public/` page and the npm `package.json` pinning the
/// browser client.
pub fn dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The whole app: the chat page at `/` (from `public/`) behind the Socket.IO layer.
/// `config` says where the client bundle is (`serve_client`).
pub fn app(config: SocketIoConfig) -> axum::Router {
    router(socket_io(config))
}

/// The whole app around `io` (see [`socket_io`] and [`socket_io_with_adapter`]).
pub fn router(io: SocketIo) -> axum::Router {
    axum::Router::new()
        .fallback_service(ServeDir::new(dir().join("public")))
        .layer(io.layer())
}
