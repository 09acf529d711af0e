//! The tower-socketio server the load generator (`benches/loadgen`) measures.
//!
//! `bench-server PORT` listens on `127.0.0.1:PORT` with a listen backlog of 1024 and
//! TCP_NODELAY on accepted sockets, default engine settings, namespace `/`:
//!
//! * `echo`: acknowledges with exactly the received arguments;
//! * `bcast` (data): emits `msg` with data to every socket of the namespace, sender included;
//! * `join` (room): joins the room; acknowledges with no arguments when an ack was requested;
//! * `room_bcast` (room, data): emits `msg` with data to the room.
//!
//! The same handlers exist in `benches/bare-ws` (the ceiling) and `benches/node/server.mjs`
//! (the Node `socket.io` server), so `scripts/bench.sh` can run them side by side.
//!
//! With `REDIS_URL` set, the server is a node of a Redis cluster (the classic Redis adapter):
//! `scripts/bench-cluster.sh` measures cross-node broadcasts.

use tower_socketio::{AckSender, Args, Socket, SocketIo, extract::Data};

/// The Socket.IO server with the four benchmark handlers on `/`; with `adapter`, a node of a
/// Redis cluster (`REDIS_URL`).
fn socketio(adapter: Option<tower_socketio_redis::RedisAdapter>) -> SocketIo {
    let io = match adapter {
        Some(adapter) => SocketIo::builder().adapter(adapter).build(),
        None => SocketIo::new(),
    };
    io.ns("/", |socket: Socket| async move {
        socket.on("echo", |args: Args, ack: AckSender| async move {
            ack.send(&args).ok();
        });
        // `args` is `[data]`: re-emitting it sends `["msg", data]`, encoded once.
        socket.on("bcast", |socket: Socket, args: Args| async move {
            socket.io().emit("msg", &args).ok();
        });
        socket.on(
            "join",
            |socket: Socket, Data(room): Data<String>, ack: AckSender| async move {
                socket.join(room);
                if ack.is_requested() {
                    ack.send(&()).ok();
                }
            },
        );
        socket.on(
            "room_bcast",
            // The data is passed through as raw JSON text, never parsed into a tree.
            |socket: Socket,
             Data((room, data)): Data<(String, Box<serde_json::value::RawValue>)>| async move {
                socket.io().to(room).emit("msg", &data).ok();
            },
        );
    });
    io
}

/// `bench-server PORT [--current-thread]`: tokio's multi-thread runtime by default (what
/// `#[tokio::main]` gives); `--current-thread` runs everything on one thread, whose FIFO run
/// queue serves every socket evenly (see the fairness notes in docs/performance.md).
fn main() -> std::io::Result<()> {
    let runtime = if std::env::args().any(|a| a == "--current-thread") {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?
    };
    runtime.block_on(serve())
}

async fn serve() -> std::io::Result<()> {
    use axum::serve::ListenerExt;

    let port: u16 = match std::env::args().nth(1).map(|p| p.parse()) {
        Some(Ok(port)) => port,
        _ => {
            eprintln!("usage: bench-server PORT [--current-thread]");
            std::process::exit(2);
        }
    };
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(([127, 0, 0, 1], port).into())?;
    let listener = socket.listen(1024)?.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    // The layer wraps the whole router, so Socket.IO requests skip axum's routing (REST routes
    // would go in the router). `Router::new().layer(..)` works the same, at a small cost per
    // request: see docs/performance.md.
    let adapter = match std::env::var("REDIS_URL") {
        Ok(url) => Some(
            tower_socketio_redis::RedisAdapter::connect(&url)
                .await
                .map_err(std::io::Error::other)?,
        ),
        Err(_) => None,
    };
    let app = tower::ServiceBuilder::new()
        .map_response(|res: axum::http::Response<_>| res.map(axum::body::Body::new))
        .layer(socketio(adapter).layer())
        .service(axum::Router::new());
    eprintln!("bench-server listening on 127.0.0.1:{port}");
    axum::serve(
        listener,
        axum::ServiceExt::<axum::extract::Request>::into_make_service(app),
    )
    .await
}
