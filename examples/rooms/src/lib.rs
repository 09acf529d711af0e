//! Rooms: a client joins a room, and the server greets everyone, the room, and the client.
//!
//! `cargo run -p rooms`, then open <http://127.0.0.1:3000> (`PORT` changes the port).
//!
//! * `IO_CLIENT_JOIN_ROOM` (room): the socket joins `room`, then the server emits
//!   `IO_SERVER_HELLO` three times, in this order: "Hello everyone!" to every socket,
//!   "Hello clients of room {room}!" to the sockets in the room (the joining one included),
//!   and "Hello you!" to the joining socket.
//! * `IO_CLIENT_HELLO` (message): logged.

use std::path::Path;

use serde_json::Value;
use tower_http::services::ServeDir;
use tower_socketio::{DisconnectReason, Socket, SocketIo, SocketIoConfig, extract::Data};

/// The longest room name accepted, in bytes.
pub const MAX_ROOM_LEN: usize = 128;

/// The Socket.IO server.
pub fn socket_io(config: SocketIoConfig) -> SocketIo {
    let io = SocketIo::with_config(config);
    io.ns("/", |socket: Socket| async move {
        tracing::info!(socket = %socket.id(), "a client connected");

        socket.on(
            "IO_CLIENT_JOIN_ROOM",
            |socket: Socket, Data(room): Data<String>| async move {
                if room.is_empty() || room.len() > MAX_ROOM_LEN {
                    tracing::warn!(socket = %socket.id(), "refused room name of {} bytes", room.len());
                    return;
                }
                socket.join(&room);
                tracing::info!(socket = %socket.id(), "a client joined room {room}");
                let io = socket.io();
                io.emit("IO_SERVER_HELLO", "Hello everyone!").ok();
                io.to(&room)
                    .emit("IO_SERVER_HELLO", &format!("Hello clients of room {room}!"))
                    .ok();
                socket.emit("IO_SERVER_HELLO", "Hello you!").ok();
            },
        );

        socket.on(
            "IO_CLIENT_HELLO",
            |socket: Socket, Data(message): Data<Value>| async move {
                let text = message
                    .as_str()
                    .map_or_else(|| message.to_string(), str::to_owned);
                tracing::info!(socket = %socket.id(), "client says: {text}");
            },
        );

        socket.on_disconnect(|socket: Socket, reason: DisconnectReason| async move {
            tracing::info!(socket = %socket.id(), "a client disconnected ({})", reason.as_str());
        });
    });
    io
}

/// The directory of this example: its `public/` page and the npm `package.json` pinning the
/// browser client.
pub fn dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The whole app: the page at `/` (from `public/`) behind the Socket.IO layer. `config` says
/// where the client bundle is (`serve_client`).
pub fn app(config: SocketIoConfig) -> axum::Router {
    let io = socket_io(config);
    axum::Router::new()
        .fallback_service(ServeDir::new(dir().join("public")))
        .layer(io.layer())
}
