//! Support for the broadcast micro-benchmark: a tower-socketio server and many WebSocket
//! clients in one process, connected through in-memory pipes (no TCP), so the benchmark
//! measures the library's fan-out path and little else.
//!
//! Each client is a raw reader of WebSocket frames (the server's frames are unmasked): it
//! counts the Socket.IO event frames it receives and answers Engine.IO pings, so the client
//! side costs a few instructions per frame.

use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

use futures_util::{SinkExt, StreamExt};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt, DuplexStream},
    sync::Notify,
};
use tokio_tungstenite::tungstenite::Message;
use tower_socketio::SocketIo;

/// Boxed errors.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// Counts the event frames received by all clients and wakes the waiter at a target.
#[derive(Debug, Default)]
pub struct Counter {
    received: AtomicU64,
    target: AtomicU64,
    reached: Notify,
}

impl Counter {
    /// Sets the target to `n` more frames than received so far and returns a future that
    /// completes when all arrived.
    pub async fn wait_for(&self, n: u64, emit: impl FnOnce()) {
        let target = self.received.load(Ordering::Acquire) + n;
        self.target.store(target, Ordering::Release);
        emit();
        while self.received.load(Ordering::Acquire) < target {
            self.reached.notified().await;
        }
    }

    fn add(&self) {
        let now = self.received.fetch_add(1, Ordering::AcqRel) + 1;
        if now == self.target.load(Ordering::Acquire) {
            self.reached.notify_one();
        }
    }
}

/// Serves `io` on one end of an in-memory pipe (HTTP/1.1 with upgrades, through hyper) and
/// returns the other end.
pub fn pipe(io: &SocketIo) -> DuplexStream {
    let (client, server) = tokio::io::duplex(64 * 1024);
    let app = axum::Router::new().layer(io.layer());
    let service = hyper_util::service::TowerToHyperService::new(app);
    tokio::spawn(async move {
        let _ = hyper::server::conn::http1::Builder::new()
            .serve_connection(hyper_util::rt::TokioIo::new(server), service)
            .with_upgrades()
            .await;
    });
    client
}

/// Connects a client to the main namespace over a pipe and spawns its reader.
pub async fn connect(io: &SocketIo, counter: Arc<Counter>) -> Result<(), Error> {
    let stream = pipe(io);
    let (mut ws, _) = tokio_tungstenite::client_async(
        "ws://localhost/socket.io/?EIO=4&transport=websocket",
        stream,
    )
    .await?;
    let mut connected = false;
    while let Some(msg) = ws.next().await {
        match msg? {
            Message::Text(t) if t.starts_with('0') => ws.send(Message::text("40")).await?,
            Message::Text(t) if t.starts_with("40") => {
                connected = true;
                break;
            }
            _ => {}
        }
    }
    if !connected {
        return Err("closed before connecting".into());
    }
    // Nothing else is in flight: the reader takes over the raw stream.
    tokio::spawn(read_frames(ws.into_inner(), counter));
    Ok(())
}

/// Reads unmasked server frames: counts text frames starting with `42`, answers `2` with a
/// masked `3`.
async fn read_frames(stream: DuplexStream, counter: Arc<Counter>) {
    let (mut rd, mut wr) = tokio::io::split(stream);
    let mut buf: Vec<u8> = Vec::with_capacity(16 * 1024);
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        let n = match rd.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        buf.extend_from_slice(&chunk[..n]);
        let mut pos = 0;
        while let Some(&[_op, len7]) = buf.get(pos..pos + 2) {
            let (len, header) = match len7 & 0x7f {
                126 => match buf.get(pos + 2..pos + 4) {
                    Some(b) => (usize::from(u16::from_be_bytes([b[0], b[1]])), 4),
                    None => break,
                },
                127 => match buf.get(pos + 2..pos + 10) {
                    Some(b) => {
                        let mut a = [0u8; 8];
                        a.copy_from_slice(b);
                        (
                            usize::try_from(u64::from_be_bytes(a)).unwrap_or(usize::MAX),
                            10,
                        )
                    }
                    None => break,
                },
                l => (usize::from(l), 2),
            };
            let Some(payload) = buf.get(pos + header..pos + header + len) else {
                break;
            };
            if payload.starts_with(b"42") {
                counter.add();
            } else if payload == b"2" {
                // FIN+text, masked, length 1, zero mask, "3".
                if wr.write_all(&[0x81, 0x81, 0, 0, 0, 0, b'3']).await.is_err() {
                    return;
                }
            }
            pos += header + len;
        }
        buf.drain(..pos);
    }
}
