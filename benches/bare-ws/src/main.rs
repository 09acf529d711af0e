//! The ceiling the benchmarks compare against: a bare WebSocket server (tokio-tungstenite)
//! that speaks just enough of the Engine.IO v4 / Socket.IO v5 wire protocol to do the work of
//! `examples/bench-server`, with no Socket.IO machinery.
//!
//! `bare-ws PORT` listens on `127.0.0.1:PORT` (backlog 1024, TCP_NODELAY). Every connection is
//! a WebSocket, whatever the request path (no long-polling, no upgrade, no heartbeat). It sends
//! the Engine.IO open packet, answers `40` with `40{"sid":...}`, and handles on `/`:
//!
//! * `42<id>["echo",...args]` -> `43<id>[...args]` (string slicing, no JSON parsing);
//! * `42["bcast",data]` -> `42["msg",data]`, encoded once and queued on every connection;
//! * `42<id>["join",room]` -> joins, `43<id>[]`;
//! * `42["room_bcast",room,data]` -> `42["msg",data]` to the room's connections.
//!
//! Each connection has a reader (this task) and a writer task draining an unbounded queue of
//! shared, pre-encoded messages (the same shape as the engine's per-connection writer), and
//! the same WebSocket buffer settings as the engine (4 KiB read buffer).

use std::{
    collections::{HashMap, HashSet},
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
};

use futures_util::{SinkExt, StreamExt};
use serde_json::value::RawValue;
use tokio::{net::TcpStream, sync::mpsc};
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes, protocol::WebSocketConfig};

type Tx = mpsc::UnboundedSender<Message>;

#[derive(Default)]
struct Hub {
    next_id: AtomicU64,
    clients: Mutex<HashMap<u64, Tx>>,
    rooms: Mutex<HashMap<String, HashSet<u64>>>,
}

impl Hub {
    fn broadcast(&self, msg: &Message) {
        let clients = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
        for tx in clients.values() {
            let _ = tx.send(msg.clone());
        }
    }

    fn room_broadcast(&self, room: &str, msg: &Message) {
        let rooms = self.rooms.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(members) = rooms.get(room) else {
            return;
        };
        let clients = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
        for id in members {
            if let Some(tx) = clients.get(id) {
                let _ = tx.send(msg.clone());
            }
        }
    }

    fn join(&self, id: u64, room: String) {
        let mut rooms = self.rooms.lock().unwrap_or_else(PoisonError::into_inner);
        rooms.entry(room).or_default().insert(id);
    }

    fn remove(&self, id: u64, joined: &[String]) {
        self.clients
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&id);
        let mut rooms = self.rooms.lock().unwrap_or_else(PoisonError::into_inner);
        for room in joined {
            if let Some(set) = rooms.get_mut(room) {
                set.remove(&id);
                if set.is_empty() {
                    rooms.remove(room);
                }
            }
        }
    }
}

/// Splits `42<id>["name"<rest>` into (id, name, rest) where `rest` is `]` or `,args...]`.
/// Event names with escapes are not supported (the benchmark does not send any).
fn split_event(text: &str) -> Option<(Option<&str>, &str, &str)> {
    let body = text.strip_prefix("42")?;
    let open = body.find('[')?;
    let id = body.get(..open).filter(|s| !s.is_empty());
    let after = body.get(open + 1..)?.strip_prefix('"')?;
    let end = after.find('"')?;
    Some((id, after.get(..end)?, after.get(end + 1..)?))
}

fn text(s: String) -> Message {
    Message::Text(Utf8Bytes::from(s))
}

async fn connection(hub: Arc<Hub>, stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let config = WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(64 * 1024);
    let Ok(ws) = tokio_tungstenite::accept_async_with_config(stream, Some(config)).await else {
        return;
    };
    let (mut sink, mut stream) = ws.split();
    let (tx, mut rx) = mpsc::unbounded_channel::<Message>();
    let id = hub.next_id.fetch_add(1, Ordering::Relaxed);
    let sid = format!("bare{id}");
    let _ = tx.send(text(format!(
        r#"0{{"sid":"{sid}","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}}"#
    )));
    hub.clients
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(id, tx.clone());
    let writer = tokio::spawn(async move {
        while let Some(msg) = rx.recv().await {
            if sink.feed(msg).await.is_err() {
                return;
            }
            while let Ok(msg) = rx.try_recv() {
                if sink.feed(msg).await.is_err() {
                    return;
                }
            }
            if sink.flush().await.is_err() {
                return;
            }
        }
    });
    let mut joined: Vec<String> = Vec::new();
    while let Some(Ok(msg)) = stream.next().await {
        let Message::Text(t) = msg else {
            if matches!(msg, Message::Close(_)) {
                break;
            }
            continue;
        };
        let t = t.as_str();
        if t == "40" || t.starts_with("40{") {
            let _ = tx.send(text(format!(r#"40{{"sid":"{sid}"}}"#)));
        } else if t == "2" {
            let _ = tx.send(text("3".to_owned()));
        } else if let Some((ack, name, rest)) = split_event(t) {
            match name {
                "echo" => {
                    if let Some(ack) = ack {
                        let args = rest.strip_prefix(',').unwrap_or(rest);
                        let _ = tx.send(text(format!("43{ack}[{args}")));
                    }
                }
                "bcast" => hub.broadcast(&text(format!(r#"42["msg"{rest}"#))),
                "join" => {
                    let Ok(args) = serde_json::from_str::<Vec<String>>(&format!(
                        "[{}",
                        rest.trim_start_matches(',')
                    )) else {
                        continue;
                    };
                    if let Some(room) = args.into_iter().next() {
                        hub.join(id, room.clone());
                        joined.push(room);
                    }
                    if let Some(ack) = ack {
                        let _ = tx.send(text(format!("43{ack}[]")));
                    }
                }
                "room_bcast" => {
                    let array = format!("[{}", rest.trim_start_matches(','));
                    let Ok(args) = serde_json::from_str::<Vec<&RawValue>>(&array) else {
                        continue;
                    };
                    let (Some(room), Some(data)) = (args.first(), args.get(1)) else {
                        continue;
                    };
                    let Ok(room) = serde_json::from_str::<String>(room.get()) else {
                        continue;
                    };
                    let msg = text(format!(r#"42["msg",{}]"#, data.get()));
                    hub.room_broadcast(&room, &msg);
                }
                _ => {}
            }
        }
    }
    hub.remove(id, &joined);
    drop(tx);
    writer.abort();
}

/// `bare-ws PORT [--current-thread]`, runtimes as in `bench-server`.
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
    let port: u16 = match std::env::args().nth(1).map(|p| p.parse()) {
        Some(Ok(port)) => port,
        _ => {
            eprintln!("usage: bare-ws PORT [--current-thread]");
            std::process::exit(2);
        }
    };
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(([127, 0, 0, 1], port).into())?;
    let listener = socket.listen(1024)?;
    eprintln!("bare-ws listening on 127.0.0.1:{port}");
    let hub = Arc::new(Hub::default());
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of descriptors and the like: wait a little instead of spinning.
                eprintln!("accept: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        tokio::spawn(connection(hub.clone(), stream));
    }
}

#[cfg(test)]
mod tests {
    use super::split_event;

    #[test]
    fn splits_events() {
        assert_eq!(
            split_event(r#"427["echo","a",1]"#),
            Some((Some("7"), "echo", r#","a",1]"#))
        );
        assert_eq!(
            split_event(r#"42["bcast",{"s":1}]"#),
            Some((None, "bcast", r#",{"s":1}]"#))
        );
        assert_eq!(
            split_event(r#"423["echo"]"#),
            Some((Some("3"), "echo", "]"))
        );
        assert_eq!(split_event("40"), None);
    }
}
