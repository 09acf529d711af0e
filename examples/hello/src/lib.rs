//! The smallest app: the server counts, for each socket, and the client says hi.
//!
//! `cargo run -p hello`, then open <http://127.0.0.1:3000> (`PORT` changes the port).
//!
//! * Every second the server emits `hello` with a counter (1, 2, 3...) to each socket; each
//!   socket has its own counter, which starts when it connects and stops when it disconnects.
//! * The server logs the client's `hi` events (`{counter}`).

use std::{path::Path, sync::Arc, time::Duration};

use serde_json::Value;
use tokio::{sync::Notify, time::MissedTickBehavior};
use tower_http::services::ServeDir;
use tower_socketio::{DisconnectReason, Socket, SocketIo, SocketIoConfig, extract::Data};

/// How often `hello` goes out.
pub const PERIOD: Duration = Duration::from_secs(1);

/// Emits `hello` 1, 2, 3... to `socket` every `period` until it disconnects.
fn count(socket: &Socket, period: Duration) {
    let stop = Arc::new(Notify::new());
    let stopper = stop.clone();
    socket.on_disconnect(move |socket: Socket, reason: DisconnectReason| {
        // `notify_one` keeps a permit, so the counter stops even if it is not waiting yet.
        stopper.notify_one();
        async move {
            tracing::info!(socket = %socket.id(), "disconnected ({})", reason.as_str());
        }
    });
    let socket = socket.clone();
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut counter: u64 = 0;
        loop {
            tokio::select! {
                _ = stop.notified() => break,
                _ = ticks.tick() => {}
            }
            if !socket.connected() {
                break;
            }
            counter += 1;
            if socket.emit("hello", &counter).is_err() {
                break;
            }
        }
    });
}

/// The Socket.IO server, emitting `hello` every `period` (the app uses [`PERIOD`]).
pub fn socket_io(config: SocketIoConfig, period: Duration) -> SocketIo {
    let io = SocketIo::with_config(config);
    io.ns("/", move |socket: Socket| async move {
        tracing::info!(socket = %socket.id(), "connected");
        socket.on("hi", |socket: Socket, Data(data): Data<Value>| async move {
            match data.get("counter") {
                Some(counter) => tracing::info!(socket = %socket.id(), "hi {counter}"),
                None => tracing::info!(socket = %socket.id(), "hi {data}"),
            }
        });
        count(&socket, period);
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
    let io = socket_io(config, PERIOD);
    axum::Router::new()
        .fallback_service(ServeDir::new(dir().join("public")))
        .layer(io.layer())
}
