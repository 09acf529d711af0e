//! Socket.IO beside REST routes: the REST handlers reach the sockets through the `SocketIo`
//! handle, an axum extractor.
//!
//! `cargo run -p rest-and-socket`, then open <http://127.0.0.1:3000> (`PORT` changes the
//! port).
//!
//! * On connection to `/` the server emits `message` "I'm server", and logs every `message`
//!   the client sends.
//! * `GET /clients-count` answers `{"count": N}`, N being the number of connected clients
//!   (engine connections).
//! * `POST /client/{id}` emits `private message` "Message to client with id {id}" to the socket
//!   `{id}` of the main namespace and answers 200 `{"message": "Message was sent to client with
//!   id {id}"}`, or 404 `{"message": "Client not found"}`.
//! * The namespaces `/your-namespace1` and `/your-namespace2` accept every client and log its
//!   connection and its `message` events.

use std::path::Path;

use axum::{
    Json, Router,
    extract::Path as UrlPath,
    http::StatusCode,
    routing::{get, post},
};
use serde_json::{Value, json};
use tower_http::services::ServeDir;
use tower_socketio::{DisconnectReason, Sid, Socket, SocketIo, SocketIoConfig, extract::Data};

/// The namespaces beside the main one.
pub const NAMESPACES: [&str; 2] = ["/your-namespace1", "/your-namespace2"];

/// Logs the socket's `message` events and its disconnection.
fn log_events(socket: &Socket) {
    socket.on(
        "message",
        |socket: Socket, Data(message): Data<Value>| async move {
            tracing::info!(ns = socket.ns(), socket = %socket.id(), "message from the client: {message}");
        },
    );
    socket.on_disconnect(|socket: Socket, reason: DisconnectReason| async move {
        tracing::info!(ns = socket.ns(), socket = %socket.id(), "disconnected: {}", reason.as_str());
    });
}

/// The Socket.IO server: `/` and the two other namespaces.
pub fn socket_io(config: SocketIoConfig) -> SocketIo {
    let io = SocketIo::with_config(config);
    io.ns("/", |socket: Socket| async move {
        tracing::info!(ns = socket.ns(), socket = %socket.id(), "connected");
        log_events(&socket);
        socket.emit("message", "I'm server").ok();
    });
    for name in NAMESPACES {
        io.ns(name, |socket: Socket| async move {
            tracing::info!(ns = socket.ns(), socket = %socket.id(), "connected");
            log_events(&socket);
        });
    }
    io
}

/// `GET /clients-count`: `{"count": N}`.
async fn clients_count(io: SocketIo) -> Json<Value> {
    Json(json!({ "count": io.clients_count() }))
}

/// `POST /client/{id}`: a private message to the socket `id` of the main namespace.
async fn message_client(io: SocketIo, UrlPath(id): UrlPath<String>) -> (StatusCode, Json<Value>) {
    let socket = id
        .parse::<Sid>()
        .ok()
        .and_then(|sid| io.of("/")?.get_socket(&sid));
    let Some(socket) = socket else {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({ "message": "Client not found" })),
        );
    };
    let text = format!("Message to client with id {id}");
    if let Err(e) = socket.emit("private message", &text) {
        tracing::warn!(socket = %id, "private message not sent: {e}");
        return (
            StatusCode::NOT_FOUND,
            Json(json!({ "message": "Client not found" })),
        );
    }
    (
        StatusCode::OK,
        Json(json!({ "message": format!("Message was sent to client with id {id}") })),
    )
}

/// The directory of this example: its `public/` page and the npm `package.json` pinning the
/// browser client.
pub fn dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The whole app: the REST routes and the page at `/` (from `public/`) behind the Socket.IO
/// layer. `config` says where the client bundle is (`serve_client`).
pub fn app(config: SocketIoConfig) -> Router {
    let io = socket_io(config);
    Router::new()
        .route("/clients-count", get(clients_count))
        .route("/client/{id}", post(message_client))
        .fallback_service(ServeDir::new(dir().join("public")))
        .layer(io.layer())
}
