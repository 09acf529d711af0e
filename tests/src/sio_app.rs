//! The Socket.IO app the interop scenarios (`tests/node/sio-*.mjs`, `tests/python/sio_client.py`)
//! exercise; `tests/node/reference-sio-server.mjs` is its twin on the Node server, used to
//! validate the scenarios themselves.
//!
//! Served at `/socket.io/` with ping interval 300 ms, ping timeout 200 ms, connect timeout
//! 1000 ms.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use serde_json::{Value, json};
use tower_socketio::{
    AckSender, Args, ConnectError, DisconnectReason, ParserKind, Socket, SocketIo, SocketIoConfig,
    extract::{Data, State},
};

/// The server-side disconnect reasons seen so far, in order.
#[derive(Clone, Default)]
struct Reasons(Arc<Mutex<Vec<Value>>>);

impl Reasons {
    fn record(&self, socket: &Socket, reason: DisconnectReason) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).push(
            json!({ "id": socket.id().to_string(), "nsp": socket.ns(), "reason": reason.as_str() }),
        );
    }
}

fn welcome(socket: &Socket) {
    let id = socket.id().to_string();
    socket
        .emit(
            "welcome",
            &json!({ "id": id, "auth": socket.handshake().auth }),
        )
        .ok();
}

fn track(socket: &Socket) {
    socket.on_disconnect(|socket: Socket, reason: DisconnectReason| async move {
        if let Some(reasons) = socket.state::<Reasons>() {
            reasons.record(&socket, reason);
        }
    });
}

fn echo(socket: &Socket) {
    socket.on("echo", |socket: Socket, args: Args| async move {
        socket.emit("echo", &args).ok();
    });
}

/// The app's Socket.IO server.
pub fn sio_app(msgpack: bool) -> SocketIo {
    let mut config = SocketIoConfig::default()
        .ping_interval(Duration::from_millis(300))
        .ping_timeout(Duration::from_millis(200))
        .connect_timeout(Duration::from_millis(1000));
    if msgpack {
        config = config.parser(ParserKind::Msgpack);
    }
    let io = SocketIo::builder()
        .config(config)
        .with_state(Reasons::default())
        .build();

    io.ns("/", |socket: Socket| async move {
        welcome(&socket);
        track(&socket);
        echo(&socket);
        socket.on("echo-ack", |args: Args, ack: AckSender| async move {
            ack.send(&args).ok();
        });
        socket.on("ask", |socket: Socket, Data(ms): Data<u64>| async move {
            let answer = match socket
                .timeout(Duration::from_millis(ms))
                .emit_with_ack::<Value, _>("question", &42)
                .await
            {
                Ok(value) => json!({ "ok": true, "value": value }),
                Err(_) => json!({ "ok": false, "error": "timeout" }),
            };
            socket.emit("answer", &answer).ok();
        });
        socket.on(
            "join",
            |socket: Socket, Data(room): Data<String>, ack: AckSender| async move {
                socket.join(room);
                ack.send(&()).ok();
            },
        );
        socket.on(
            "leave",
            |socket: Socket, Data(room): Data<String>, ack: AckSender| async move {
                socket.leave(&room);
                ack.send(&()).ok();
            },
        );
        socket.on("rooms", |socket: Socket, ack: AckSender| async move {
            let mut rooms: Vec<String> = socket.rooms().iter().map(|r| r.to_string()).collect();
            rooms.sort();
            ack.send(&(rooms,)).ok();
        });
        socket.on(
            "to-room",
            // `rmpv::Value` is a dynamic value that can hold binary (serde_json's cannot).
            |socket: Socket, Data((room, msg)): Data<(String, rmpv::Value)>| async move {
                socket.io().to(room).emit("room-msg", &msg).ok();
            },
        );
        socket.on(
            "broadcast",
            |socket: Socket, Data(msg): Data<rmpv::Value>| async move {
                socket.broadcast().emit("broadcast", &msg).ok();
            },
        );
        socket.on(
            "volatile",
            |socket: Socket, Data(n): Data<u64>| async move {
                for i in 0..n {
                    socket.volatile().emit("v", &i).ok();
                }
            },
        );
        socket.on("disconnect-me", |socket: Socket| async move {
            socket.disconnect(false);
        });
        socket.on("close-me", |socket: Socket| async move {
            socket.disconnect(true);
        });
        socket.on(
            "reasons",
            |State(reasons): State<Reasons>, ack: AckSender| async move {
                let list = reasons
                    .0
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .clone();
                ack.send(&(list,)).ok();
            },
        );
    });

    io.ns("/auth", |socket: Socket| async move {
        welcome(&socket);
        track(&socket);
    })
    .middleware(|socket: Socket| async move {
        if socket.handshake().auth.get("token") == Some(&json!("secret")) {
            Ok(())
        } else {
            Err(ConnectError::new("unauthorized").with_data(json!({ "code": 401 })))
        }
    });

    if let Ok(dynamic) = io.dyn_ns(r"^/dyn-\d+$", |socket: Socket| async move {
        socket.emit("ns", socket.ns()).ok();
        track(&socket);
    }) {
        let _ = dynamic;
    }

    io.ns("/slow", |socket: Socket| async move {
        track(&socket);
        echo(&socket);
    })
    .middleware(|| async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        Ok::<(), ConnectError>(())
    });

    io
}

/// Serves the app on 127.0.0.1 (free port) in the background; returns the address.
pub async fn spawn_sio_app(msgpack: bool) -> std::io::Result<SocketAddr> {
    use axum::serve::ListenerExt;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    let app = axum::Router::new().layer(sio_app(msgpack).layer());
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(addr)
}
