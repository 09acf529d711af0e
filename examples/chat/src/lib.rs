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

use std::{
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
};

use serde_json::json;
use tower_http::services::ServeDir;
use tower_socketio::{
    DisconnectReason, Socket, SocketIo, SocketIoConfig,
    extract::{Data, State},
};

/// The number of logged-in users.
#[derive(Clone, Default)]
struct Users(Arc<AtomicUsize>);

/// A logged-in socket's name.
#[derive(Clone)]
struct Username(String);

fn username(socket: &Socket) -> Option<String> {
    socket.extensions().get::<Username>().map(|u| u.0.clone())
}

/// The chat's Socket.IO server.
///
/// Connection state recovery is on (unless `config` sets its own): a user whose connection
/// drops briefly gets every message sent meanwhile when the page reconnects.
pub fn socket_io(mut config: SocketIoConfig) -> SocketIo {
    if config.connection_state_recovery.is_none() {
        config = config.connection_state_recovery(tower_socketio::RecoveryConfig::default());
    }
    let io = SocketIo::builder()
        .config(config)
        .with_state(Users::default())
        .build();
    io.ns("/", |socket: Socket| async move {
        socket.on(
            "add user",
            |socket: Socket, Data(name): Data<String>, State(users): State<Users>| async move {
                if username(&socket).is_some() {
                    return;
                }
                socket.extensions().insert(Username(name.clone()));
                let n = users.0.fetch_add(1, Ordering::SeqCst) + 1;
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
            let users = socket.state::<Users>();
            let n = users.map_or(0, |u| u.0.fetch_sub(1, Ordering::SeqCst).saturating_sub(1));
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
    let io = socket_io(config);
    axum::Router::new()
        .fallback_service(ServeDir::new(dir().join("public")))
        .layer(io.layer())
}
