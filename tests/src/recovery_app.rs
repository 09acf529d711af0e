//! A server with connection state recovery, for `tests/node/sio-recovery.mjs`.
//!
//! Namespace `/`: `burst` (n, delay_ms) makes the server broadcast `m` with 0..n to every
//! socket, one every `delay_ms`; `info` acks with `{id, recovered, rooms}`; `join` (room)
//! joins a room and acks.

use std::{net::SocketAddr, time::Duration};

use serde_json::json;
use tower_socketio::{AckSender, RecoveryConfig, Socket, SocketIo, SocketIoConfig, extract::Data};

/// The app, with sessions kept `window`.
pub fn recovery_app(window: Duration) -> SocketIo {
    let config = SocketIoConfig::default()
        .ping_interval(Duration::from_millis(300))
        .ping_timeout(Duration::from_millis(200))
        .connection_state_recovery(RecoveryConfig::default().max_disconnection_duration(window));
    let io = SocketIo::with_config(config);
    io.ns("/", |socket: Socket| async move {
        socket.on("burst", |socket: Socket, Data((n, delay)): Data<(u64, u64)>| async move {
            let io = socket.io();
            for i in 0..n {
                io.emit("m", &i).ok();
                tokio::time::sleep(Duration::from_millis(delay)).await;
            }
            io.emit("burst-done", &n).ok();
        });
        socket.on("info", |socket: Socket, ack: AckSender| async move {
            let mut rooms: Vec<String> = socket.rooms().iter().map(|r| r.to_string()).collect();
            rooms.sort();
            ack.send(&json!({ "id": socket.id().to_string(), "recovered": socket.recovered(), "rooms": rooms }))
                .ok();
        });
        socket.on("join", |socket: Socket, Data(room): Data<String>, ack: AckSender| async move {
            socket.join(room);
            ack.send(&()).ok();
        });
    });
    io
}

/// Serves the app on 127.0.0.1 (free port) in the background; returns the address.
pub async fn spawn_recovery_app(window: Duration) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    let app = axum::Router::new().layer(recovery_app(window).layer());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(addr)
}
