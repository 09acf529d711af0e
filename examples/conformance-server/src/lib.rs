//! The server that the official Engine.IO and Socket.IO protocol test suites run against.
//!
//! `conformance-server MODE PORT` binds `127.0.0.1:PORT` with ping interval 300 ms, ping timeout
//! 200 ms, max payload 1 000 000 bytes, both transports, permissive CORS and a connect timeout
//! of 1000 ms.
//!
//! * `engineio`: a bare Engine.IO v4 server at `/engine.io/` that echoes every message back.
//! * `engineio-v3`: the same, with Engine.IO v3 clients accepted too.
//! * `socketio`: a Socket.IO server at `/socket.io/`.

use std::{net::SocketAddr, str::FromStr, sync::Arc, time::Duration};

use tower_http::cors::CorsLayer;
use tower_socketio::{AckSender, Args, SocketIo, SocketIoConfig};
use tower_socketio_engine::{
    CloseReason, Engine, EngineConfig, EngineIoLayer, Frame, Handler, Message, Sid, Socket,
};

/// What the server speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Bare Engine.IO v4 echo server at `/engine.io/`.
    EngineIo,
    /// Bare Engine.IO echo server at `/engine.io/` accepting v3 and v4 clients.
    EngineIoV3,
    /// Socket.IO server at `/socket.io/`.
    SocketIo,
}

impl FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "engineio" => Ok(Mode::EngineIo),
            "engineio-v3" => Ok(Mode::EngineIoV3),
            "socketio" => Ok(Mode::SocketIo),
            other => Err(format!(
                "unknown mode {other:?}: expected engineio, engineio-v3 or socketio"
            )),
        }
    }
}

/// The engine settings the test suites expect.
pub fn engine_config() -> EngineConfig {
    EngineConfig::default()
        .ping_interval(Duration::from_millis(300))
        .ping_timeout(Duration::from_millis(200))
        .max_payload(1_000_000)
}

/// A bare Engine.IO handler echoing every message back to its sender, text as text and
/// binary as binary.
#[derive(Debug, Clone, Copy, Default)]
pub struct Echo;

impl Handler for Echo {
    type Data = ();

    fn session_data(&self, _sid: Sid, _request: http::request::Parts) {}

    fn on_open(&self, _socket: &Arc<Socket<()>>) {}

    fn on_message(&self, socket: &Arc<Socket<()>>, message: Message) {
        let frame = match message {
            Message::Text(text) => Frame::message(&text),
            Message::Binary(data) => Frame::Binary(data),
        };
        let _ = socket.send(frame);
    }

    fn on_close(&self, _socket: &Arc<Socket<()>>, _reason: CloseReason) {}
}

/// The Socket.IO server of the `socketio` mode.
///
/// * `/` emits `auth` with the CONNECT auth payload right after connecting, answers
///   `message` with `message-back` carrying exactly the received arguments, and acknowledges
///   `message-with-ack` with exactly the received arguments.
/// * `/custom` emits `auth` the same way.
/// * Every other namespace is refused (`Invalid namespace`).
pub fn socketio() -> SocketIo {
    let config = SocketIoConfig::default()
        .engine(engine_config().path("/socket.io/"))
        .connect_timeout(Duration::from_millis(1000));
    let io = SocketIo::with_config(config);
    io.ns("/", |socket: tower_socketio::Socket| async move {
        socket.emit("auth", &socket.handshake().auth).ok();
        socket.on(
            "message",
            |socket: tower_socketio::Socket, args: Args| async move {
                socket.emit("message-back", &args).ok();
            },
        );
        socket.on(
            "message-with-ack",
            |args: Args, ack: AckSender| async move {
                ack.send(&args).ok();
            },
        );
    });
    io.ns("/custom", |socket: tower_socketio::Socket| async move {
        socket.emit("auth", &socket.handshake().auth).ok();
    });
    io
}

/// The application for `mode`.
pub fn router(mode: Mode) -> axum::Router {
    let app = axum::Router::new();
    let app = match mode {
        Mode::EngineIo | Mode::EngineIoV3 => {
            let config = engine_config().allow_eio3(mode == Mode::EngineIoV3);
            app.layer(EngineIoLayer::new(Engine::new(config, Echo)))
        }
        Mode::SocketIo => app.layer(socketio().layer()),
    };
    app.layer(CorsLayer::permissive())
}

/// Serves `mode` on `listener` until the process ends.
pub async fn serve(listener: tokio::net::TcpListener, mode: Mode) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, router(mode)).await
}

/// Binds `127.0.0.1` on a free port, serves `mode` on the current tokio runtime in the
/// background, and returns the address. For tests.
pub async fn spawn(mode: Mode) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        if let Err(e) = serve(listener, mode).await {
            tracing::error!("conformance server stopped: {e}");
        }
    });
    Ok(addr)
}
