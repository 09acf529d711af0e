//! A Rust node of a Redis cluster for the cluster tests: the twin of the Node server of
//! `tests/node/harness.mjs` (`server.start`).
//!
//! Namespaces `/` and `/chat` answer client events `join` (room), `leave` (room), `set data`
//! (data), each acknowledged with no argument, and `whoami` (acknowledged with
//! `{id, rooms, data}`). Server-side events named `ping` are answered with `["pong", ...args]`;
//! every server-side event received is recorded.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use serde_json::{Value, json};
use tokio::sync::{Mutex, mpsc};
use tower_socketio::{
    AckSender, Args, ServerSideEvent, Socket, SocketIo, SocketIoConfig, adapter::AdapterFactory,
    extract::Data,
};
use tower_socketio_redis::{RedisAdapter, RedisAdapterConfig};

/// A server-side event a node received: namespace, event, arguments.
pub type ServerSideRecord = (String, String, Value);

/// A running Rust node.
pub struct RustNode {
    /// The server.
    pub io: SocketIo,
    /// Where it listens.
    pub addr: SocketAddr,
    server: tokio::task::JoinHandle<()>,
    server_side: Mutex<mpsc::UnboundedReceiver<ServerSideRecord>>,
}

impl std::fmt::Debug for RustNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RustNode")
            .field("addr", &self.addr)
            .finish()
    }
}

fn register(socket: &Socket) {
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
    socket.on(
        "set data",
        |socket: Socket, Data(data): Data<Value>, ack: AckSender| async move {
            socket.set_data(data);
            ack.send(&()).ok();
        },
    );
    socket.on("whoami", |socket: Socket, ack: AckSender| async move {
        let rooms: Vec<String> = socket.rooms().iter().map(|r| r.to_string()).collect();
        ack.send(&json!({ "id": socket.id().to_string(), "rooms": rooms, "data": socket.data() }))
            .ok();
    });
}

/// Starts a Rust node on a free port of 127.0.0.1, a node of the cluster of the Redis at
/// `redis_url`.
pub async fn start_rust_node(
    redis_url: &str,
    config: RedisAdapterConfig,
) -> Result<RustNode, String> {
    start_rust_node_with(SocketIoConfig::default(), redis_url, config).await
}

/// [`start_rust_node`] with the server configuration `io` (see [`start_node_with`]).
pub async fn start_rust_node_with(
    io: SocketIoConfig,
    redis_url: &str,
    config: RedisAdapterConfig,
) -> Result<RustNode, String> {
    let client = tower_socketio_redis::redis::Client::open(redis_url).map_err(|e| e.to_string())?;
    let adapter = RedisAdapter::new(client, config)
        .await
        .map_err(|e| format!("cannot connect the adapter: {e}"))?;
    start_node_with(io, adapter).await
}

/// Starts a Rust node on a free port of 127.0.0.1 with `adapter` (any cluster adapter).
pub async fn start_node(adapter: impl AdapterFactory) -> Result<RustNode, String> {
    start_node_with(SocketIoConfig::default(), adapter).await
}

/// [`start_node`] with `config` (its acknowledgement timeout set to 5 s).
pub async fn start_node_with(
    config: SocketIoConfig,
    adapter: impl AdapterFactory,
) -> Result<RustNode, String> {
    let io = SocketIo::builder()
        .config(config.ack_timeout(Duration::from_secs(5)))
        .adapter(adapter)
        .build();
    let (tx, rx) = mpsc::unbounded_channel();
    for nsp in ["/", "/chat"] {
        let ns = io.ns(nsp, |socket: Socket| async move { register(&socket) });
        let tx = tx.clone();
        let name = nsp.to_owned();
        let record = move |e: &ServerSideEvent| {
            let args: Value = serde_json::to_value(e.args()).unwrap_or(Value::Null);
            let _ = tx.send((name.clone(), e.event().to_owned(), args));
        };
        let record = Arc::new(record);
        for event in ["ping", "news"] {
            let record = record.clone();
            ns.on_server_side(event, move |e: ServerSideEvent| {
                let record = record.clone();
                async move {
                    record(&e);
                    if e.event() == "ping" {
                        let mut answer = vec![Value::from("pong")];
                        if let Ok(Value::Array(args)) = serde_json::to_value(e.args()) {
                            answer.extend(args);
                        }
                        e.ack(&Value::Array(answer)).ok();
                    }
                }
            });
        }
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let app = axum::Router::new().layer(io.layer());
    let server = tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await;
    });
    Ok(RustNode {
        io,
        addr,
        server,
        server_side: Mutex::new(rx),
    })
}

impl RustNode {
    /// `http://addr`.
    pub fn url(&self) -> String {
        crate::http_url(self.addr)
    }

    /// The next server-side event this node received (within `timeout`).
    pub async fn next_server_side(&self, timeout: Duration) -> Result<ServerSideRecord, String> {
        let mut rx = self.server_side.lock().await;
        match tokio::time::timeout(timeout, rx.recv()).await {
            Ok(Some(record)) => Ok(record),
            Ok(None) => Err("the node is gone".to_owned()),
            Err(_) => Err(format!("no server-side event within {timeout:?}")),
        }
    }

    /// Stops serving and closes every connection (the Redis connections go once the last
    /// handle is dropped).
    pub async fn stop(self) {
        self.io.close().await;
        self.server.abort();
    }
}

/// The arguments `args` as JSON (binary as arrays of numbers).
pub fn args_json(args: &Args) -> Value {
    serde_json::to_value(args).unwrap_or(Value::Null)
}

/// A Rust node in a process of its own (the `cluster-node` binary of this crate), killed when
/// dropped.
#[derive(Debug)]
pub struct NodeProcess {
    child: tokio::process::Child,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl NodeProcess {
    /// Starts `binary` (the path of `cluster-node`) for the Redis at `redis_url`.
    pub async fn start(
        binary: &str,
        redis_url: &str,
        requests_timeout_ms: u64,
    ) -> Result<NodeProcess, String> {
        let timeout = requests_timeout_ms.to_string();
        Self::start_with(binary, &[redis_url, &timeout]).await
    }

    /// Starts `binary` (the path of `cluster-node`) with `args` (see the binary's usage).
    pub async fn start_with(binary: &str, args: &[&str]) -> Result<NodeProcess, String> {
        use tokio::io::AsyncBufReadExt;
        let mut child = tokio::process::Command::new(binary)
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start {binary}: {e}"))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
            .await
            .map_err(|_| "the node did not start within 20 s".to_owned())?
            .map_err(|e| e.to_string())?
            .ok_or("the node exited before listening")?;
        let port: u16 = line
            .strip_prefix("PORT ")
            .and_then(|p| p.trim().parse().ok())
            .ok_or_else(|| format!("unexpected first line {line:?}"))?;
        Ok(NodeProcess {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
        })
    }

    /// `http://addr`.
    pub fn url(&self) -> String {
        crate::http_url(self.addr)
    }

    /// The process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Kills it (SIGKILL).
    pub async fn kill(&mut self) {
        let _ = self.child.start_kill();
        let _ = tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await;
    }

    /// Asks it to shut down (SIGTERM: `io.close()`, then exit) and waits for the exit, up to
    /// `timeout`; whether it exited successfully.
    pub async fn terminate(&mut self, timeout: Duration) -> Result<bool, String> {
        let pid = self.pid().ok_or("the node is not running")?;
        signal(pid, "TERM")?;
        match tokio::time::timeout(timeout, self.child.wait()).await {
            Ok(status) => Ok(status.map_err(|e| e.to_string())?.success()),
            Err(_) => Err(format!(
                "the node did not exit within {timeout:?} of SIGTERM"
            )),
        }
    }
}

/// Sends `signal` (`STOP`, `CONT`...) to process `pid` with `kill(1)`.
pub fn signal(pid: u32, signal: &str) -> Result<(), String> {
    let status = std::process::Command::new("kill")
        .args([format!("-{signal}"), pid.to_string()])
        .status()
        .map_err(|e| e.to_string())?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("kill -{signal} {pid}: {status}"))
    }
}
