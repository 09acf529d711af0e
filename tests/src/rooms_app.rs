//! The app of the rooms and broadcasting tests (`tests/tests/rooms.rs`), driven by the real npm
//! socket.io-client in `tests/node/sio-rooms.mjs` (exact recipient sets, fetch_sockets, remote
//! operations, broadcast acks) and `tests/node/sio-rooms-load.mjs` (floods with healthy and
//! stalled clients), plus [`RawClient`], a minimal WebSocket Socket.IO client that can stop
//! reading its socket.
//!
//! Namespaces `/`, `/other` and `/mw` have the same handlers; `/mw` also has a middleware that
//! joins the rooms of `auth.mwJoin` and then refuses the connection if `auth.refuse` is true. A client may join rooms when it connects
//! with `auth: { join: ["room", ...] }`. The events below answer through the ack callback:
//! `join`, `leave` and `rooms` with the rooms list, `set-data` with nothing, the others with
//! `{ok: true, value}` or `{ok: false, error}`.
//!
//! - `join` (room or a list of rooms), `leave` (room), `rooms`: the socket's rooms afterwards, sorted.
//! - `set-data` (value): `socket.set_data(value)`.
//! - `op` (Op): one emit through the operator chain the Op describes (a dropped volatile
//!   packet is not an error).
//! - `ack-op` (Op + `timeout` in the chain): `emit_with_ack` through the chain; answers
//!   `{responses: [{id, args}], missing: [id], elapsedMs}` (sorted by id).
//! - `fetch` (Op): `fetch_sockets()`; answers `[{id, rooms, data, handshake}]` sorted by id.
//! - `remote` (Op + `action`): `fetch_sockets()`, then on each result `emit` (`event`, `data`),
//!   `join` (`rooms`), `leave` (`room`) or `disconnect` (`close`); answers the count.
//! - `sockets-op` (Op + `action`): `sockets_join` / `sockets_leave` (`rooms`) or
//!   `disconnect_sockets` (`close`) on the chain.
//! - `count` (Op): the chain's `count()`.
//! - `ns-rooms` (nsp): the rooms of a namespace, sorted.
//! - `observed`: what the `disconnecting` and `disconnect` handlers saw so far (see
//!   [`Observed`]).
//! - `flood` and `volatile-flood`: see [`flood`] and [`volatile_flood`].
//!
//! An Op is `{target: "io"|"ns"|"socket", nsp, chain: [[step, arg]...], event, data, marker}`.
//! `target` picks where the chain starts: the `SocketIo` handle, `io.of(nsp)`, or the socket
//! that sent the Op. The steps are the operators, in order: `to` / `in` (a room or a list),
//! `except` (a room or a list), `broadcast`, `local`, `volatile`, `compress` (bool), `timeout`
//! (ms). The first step is called on the entry point itself (`io.to`, `socket.within`,
//! `socket.except`, `ns.broadcast()`...); an empty chain emits straight from it (`io.emit`,
//! `socket.emit`; with only `volatile`/`compress`/`timeout` on a socket, through
//! `socket.volatile()`...). With a `marker`, once the operation is done the server emits
//! `end` (marker) privately to every socket of every namespace: a client has received
//! everything the operation sent it when it sees that marker.

use std::{
    collections::VecDeque,
    net::SocketAddr,
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use serde_json::{Value, json};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpSocket, TcpStream},
};
use tower_socketio::{
    AckSender, BroadcastOperator, DisconnectReason, EmitError, Namespace, Socket, SocketIo,
    SocketIoConfig, extract::Data,
};

/// The namespaces of the app.
pub const ROOMS_NAMESPACES: [&str; 3] = ["/", "/other", "/mw"];

/// What the `disconnecting` and `disconnect` handlers saw, in order:
/// `{kind: "disconnecting"|"disconnect", id, nsp, rooms (sorted), reason}`.
#[derive(Clone, Debug, Default)]
pub struct Observed(Arc<Mutex<Vec<Value>>>);

impl Observed {
    fn push(&self, entry: Value) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(entry);
    }

    /// Everything seen so far.
    pub fn snapshot(&self) -> Vec<Value> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The reason of the `disconnect` of socket `id`, if it disconnected.
    pub fn disconnect_reason(&self, id: &str) -> Option<String> {
        self.snapshot()
            .iter()
            .find(|e| e["kind"] == "disconnect" && e["id"] == id)
            .and_then(|e| e["reason"].as_str().map(str::to_owned))
    }
}

fn sorted_rooms(socket: &Socket) -> Vec<String> {
    let mut rooms: Vec<String> = socket.rooms().iter().map(|r| r.to_string()).collect();
    rooms.sort();
    rooms
}

fn record(socket: &Socket, kind: &str, reason: DisconnectReason) {
    if let Some(observed) = socket.state::<Observed>() {
        observed.push(json!({
            "kind": kind,
            "id": socket.id().to_string(),
            "nsp": socket.ns(),
            "rooms": sorted_rooms(socket),
            "reason": reason.as_str(),
        }));
    }
}

/// Room arguments: one name (given to the API as a `String`) or a list (as a `Vec<String>`).
enum Rooms {
    One(String),
    Many(Vec<String>),
}

fn rooms_arg(v: &Value) -> Result<Rooms, String> {
    match v {
        Value::String(s) => Ok(Rooms::One(s.clone())),
        Value::Array(list) => list
            .iter()
            .map(|r| {
                r.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| format!("room {r} is not a string"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Rooms::Many),
        other => Err(format!("rooms must be a string or a list, got {other}")),
    }
}

/// Calls `$f` with the rooms as the API takes them (`String` or `Vec<String>`).
macro_rules! with_rooms {
    ($rooms:expr, $f:expr) => {
        match $rooms {
            Rooms::One(r) => $f(r),
            Rooms::Many(r) => $f(r),
        }
    };
}

/// Where a chain stands: still on its entry point, or an operator.
enum Chain {
    Io(SocketIo),
    Ns(Namespace),
    Socket {
        socket: Socket,
        volatile: bool,
        compress: Option<bool>,
        timeout: Option<Duration>,
    },
    Op(BroadcastOperator),
}

fn namespace(io: &SocketIo, nsp: &str) -> Result<Namespace, String> {
    io.of(nsp).ok_or_else(|| format!("no namespace {nsp}"))
}

fn timeout_arg(arg: &Value) -> Result<Duration, String> {
    arg.as_u64()
        .map(Duration::from_millis)
        .ok_or_else(|| format!("timeout must be milliseconds, got {arg}"))
}

fn flag(op: BroadcastOperator, step: &str, arg: &Value) -> Result<BroadcastOperator, String> {
    Ok(match step {
        "local" => op.local(),
        "volatile" => op.volatile(),
        "compress" => op.compress(arg.as_bool().unwrap_or(true)),
        "timeout" => op.timeout(timeout_arg(arg)?),
        other => return Err(format!("unknown step {other:?}")),
    })
}

impl Chain {
    fn start(socket: &Socket, desc: &Value) -> Result<Chain, String> {
        let io = socket.io();
        Ok(match desc["target"].as_str().unwrap_or("io") {
            "io" => Chain::Io(io),
            "ns" => Chain::Ns(namespace(&io, desc["nsp"].as_str().unwrap_or("/"))?),
            "socket" => Chain::Socket {
                socket: socket.clone(),
                volatile: false,
                compress: None,
                timeout: None,
            },
            other => return Err(format!("unknown target {other:?}")),
        })
    }

    fn step(self, step: &str, arg: &Value) -> Result<Chain, String> {
        let rooms = || rooms_arg(arg);
        Ok(Chain::Op(match self {
            Chain::Io(io) => match step {
                "to" | "in" => with_rooms!(rooms()?, |r| io.to(r)),
                "except" => with_rooms!(rooms()?, |r| io.except(r)),
                "broadcast" => io.broadcast(),
                _ => flag(io.broadcast(), step, arg)?,
            },
            Chain::Ns(ns) => match step {
                "to" | "in" => with_rooms!(rooms()?, |r| ns.to(r)),
                "except" => with_rooms!(rooms()?, |r| ns.except(r)),
                "broadcast" => ns.broadcast(),
                _ => flag(ns.broadcast(), step, arg)?,
            },
            Chain::Socket {
                socket,
                mut volatile,
                mut compress,
                mut timeout,
            } => {
                let op = match step {
                    "to" => with_rooms!(rooms()?, |r| socket.to(r)),
                    "in" => with_rooms!(rooms()?, |r| socket.within(r)),
                    "except" => with_rooms!(rooms()?, |r| socket.except(r)),
                    "broadcast" => socket.broadcast(),
                    "local" => socket.broadcast().local(),
                    "volatile" | "compress" | "timeout" => {
                        match step {
                            "volatile" => volatile = true,
                            "compress" => compress = Some(arg.as_bool().unwrap_or(true)),
                            _ => timeout = Some(timeout_arg(arg)?),
                        }
                        return Ok(Chain::Socket {
                            socket,
                            volatile,
                            compress,
                            timeout,
                        });
                    }
                    other => return Err(format!("unknown step {other:?}")),
                };
                // Flags given before the first room step carry over to the operator.
                let mut op = op;
                if volatile {
                    op = op.volatile();
                }
                if let Some(c) = compress {
                    op = op.compress(c);
                }
                if let Some(t) = timeout {
                    op = op.timeout(t);
                }
                op
            }
            Chain::Op(op) => match step {
                "to" => with_rooms!(rooms()?, |r| op.to(r)),
                "in" => with_rooms!(rooms()?, |r| op.within(r)),
                "except" => with_rooms!(rooms()?, |r| op.except(r)),
                _ => flag(op, step, arg)?,
            },
        }))
    }

    fn build(socket: &Socket, desc: &Value) -> Result<Chain, String> {
        let mut chain = Chain::start(socket, desc)?;
        if let Some(steps) = desc["chain"].as_array() {
            for step in steps {
                let name = step[0].as_str().ok_or_else(|| format!("bad step {step}"))?;
                chain = chain.step(name, &step[1])?;
            }
        }
        Ok(chain)
    }

    /// The chain as an operator (`io` and namespaces: their `broadcast()`).
    fn operator(self) -> Result<BroadcastOperator, String> {
        match self {
            Chain::Io(io) => Ok(io.broadcast()),
            Chain::Ns(ns) => Ok(ns.broadcast()),
            Chain::Op(op) => Ok(op),
            Chain::Socket { .. } => Err("a socket alone is not a selection".to_owned()),
        }
    }

    fn emit(self, event: &str, data: &Value) -> Result<(), String> {
        let res = match self {
            Chain::Io(io) => io.emit(event, data),
            Chain::Ns(ns) => ns.emit(event, data),
            Chain::Op(op) => op.emit(event, data),
            Chain::Socket {
                socket,
                volatile,
                compress,
                timeout,
            } => {
                if !volatile && compress.is_none() && timeout.is_none() {
                    socket.emit(event, data)
                } else {
                    let mut e = socket.compress(compress.unwrap_or(true));
                    if volatile {
                        e = e.volatile();
                    }
                    if let Some(t) = timeout {
                        e = e.timeout(t);
                    }
                    e.emit(event, data)
                }
            }
        };
        match res {
            // Not an error: what volatile means (Node says nothing either).
            Ok(()) | Err(EmitError::Dropped) => Ok(()),
            Err(e) => Err(e.to_string()),
        }
    }
}

fn event_of(desc: &Value) -> &str {
    desc["event"].as_str().unwrap_or("cs")
}

/// Emits `end` (marker) to every socket of every namespace, if the Op has a marker.
fn end_markers(io: &SocketIo, desc: &Value) {
    let marker = &desc["marker"];
    if marker.is_null() {
        return;
    }
    for nsp in ROOMS_NAMESPACES {
        if let Some(ns) = io.of(nsp) {
            for s in ns.sockets() {
                s.emit("end", marker).ok();
            }
        }
    }
}

fn answer(ack: AckSender, result: Result<Value, String>) {
    let value = match result {
        Ok(v) => json!({ "ok": true, "value": v }),
        Err(e) => json!({ "ok": false, "error": e }),
    };
    ack.send(&value).ok();
}

fn op(socket: &Socket, desc: &Value) -> Result<Value, String> {
    Chain::build(socket, desc)?.emit(event_of(desc), &desc["data"])?;
    Ok(Value::Null)
}

async fn ack_op(socket: &Socket, desc: &Value) -> Result<Value, String> {
    let chain = Chain::build(socket, desc)?;
    let started = Instant::now();
    let event = event_of(desc);
    let (mut responses, mut missing) = match chain {
        Chain::Socket {
            socket, timeout, ..
        } => {
            let emitter = match timeout {
                Some(t) => socket.timeout(t),
                None => socket.compress(true),
            };
            match emitter
                .emit_with_ack::<Value, _>(event, &desc["data"])
                .await
            {
                Ok(v) => (vec![(socket.id().to_string(), json!([v]))], vec![]),
                Err(_) => (vec![], vec![socket.id().to_string()]),
            }
        }
        chain => {
            let acks = chain
                .operator()?
                .emit_with_ack(event, &desc["data"])
                .await
                .map_err(|e| e.to_string())?;
            let responses = acks
                .responses
                .iter()
                .map(|(id, args)| {
                    let args = serde_json::to_value(args).unwrap_or(Value::Null);
                    (id.to_string(), args)
                })
                .collect();
            let missing = acks.missing.iter().map(ToString::to_string).collect();
            (responses, missing)
        }
    };
    let elapsed = started.elapsed();
    responses.sort_by(|a, b| a.0.cmp(&b.0));
    missing.sort();
    let responses: Vec<Value> = responses
        .into_iter()
        .map(|(id, args)| json!({ "id": id, "args": args }))
        .collect();
    Ok(json!({
        "responses": responses,
        "missing": missing,
        "elapsedMs": u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
    }))
}

async fn fetch(socket: &Socket, desc: &Value) -> Result<Value, String> {
    let sockets = Chain::build(socket, desc)?
        .operator()?
        .fetch_sockets()
        .await;
    let mut out: Vec<Value> = sockets
        .iter()
        .map(|s| {
            let mut rooms: Vec<String> = s.rooms().iter().map(|r| r.to_string()).collect();
            rooms.sort();
            let h = s.handshake();
            let headers: serde_json::Map<String, Value> = h
                .headers
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_owned(),
                        Value::String(String::from_utf8_lossy(v.as_bytes()).into_owned()),
                    )
                })
                .collect();
            json!({
                "id": s.id().to_string(),
                "rooms": rooms,
                "data": s.data(),
                "handshake": {
                    "auth": h.auth,
                    "query": h.query,
                    "url": h.url,
                    "headers": headers,
                    "issued": h.issued,
                    "time": h.time,
                    "xdomain": h.xdomain,
                    "secure": h.secure,
                },
            })
        })
        .collect();
    out.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    Ok(Value::Array(out))
}

async fn remote(socket: &Socket, desc: &Value) -> Result<Value, String> {
    let sockets = Chain::build(socket, desc)?
        .operator()?
        .fetch_sockets()
        .await;
    for s in &sockets {
        match desc["action"].as_str().unwrap_or_default() {
            "emit" => s
                .emit(event_of(desc), &desc["data"])
                .map_err(|e| e.to_string())?,
            "join" => with_rooms!(rooms_arg(&desc["rooms"])?, |r| s.join(r)),
            "leave" => s.leave(desc["room"].as_str().ok_or("leave needs a room")?),
            "disconnect" => s.disconnect(desc["close"].as_bool().unwrap_or(false)),
            other => return Err(format!("unknown remote action {other:?}")),
        }
    }
    Ok(json!(sockets.len()))
}

fn sockets_op(socket: &Socket, desc: &Value) -> Result<Value, String> {
    let op = Chain::build(socket, desc)?.operator()?;
    match desc["action"].as_str().unwrap_or_default() {
        "join" => with_rooms!(rooms_arg(&desc["rooms"])?, |r| op.sockets_join(r)),
        "leave" => with_rooms!(rooms_arg(&desc["rooms"])?, |r| op.sockets_leave(r)),
        "disconnect" => op.disconnect_sockets(desc["close"].as_bool().unwrap_or(false)),
        other => return Err(format!("unknown sockets action {other:?}")),
    }
    Ok(Value::Null)
}

fn u64_of(v: &Value, key: &str, default: u64) -> u64 {
    v[key].as_u64().unwrap_or(default)
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// `flood` ({count, size, batch, window, room, syncRoom}): broadcasts `m` (seq, payload of
/// `size` bytes) `count` times to `room` (default `flood`), as fast as the sockets of
/// `syncRoom` (default `healthy`) take them: after each `batch` messages it sends them `sync`
/// (seq) with an acknowledgement request, and it never has more than `window` syncs
/// unanswered. A client that stops reading is thus no brake: it is only in `room`. Answers
/// `{elapsedMs, syncs, incomplete}` (`incomplete`: syncs some healthy socket did not answer).
pub async fn flood(io: SocketIo, params: Value) -> Value {
    let count = u64_of(&params, "count", 1000);
    let size = usize::try_from(u64_of(&params, "size", 1024)).unwrap_or(1024);
    let batch = u64_of(&params, "batch", 200).max(1);
    let window = usize::try_from(u64_of(&params, "window", 2)).unwrap_or(2);
    let room = params["room"].as_str().unwrap_or("flood").to_owned();
    let sync_room = params["syncRoom"].as_str().unwrap_or("healthy").to_owned();
    let payload = "x".repeat(size);
    let started = Instant::now();
    let mut pending = VecDeque::new();
    let (mut syncs, mut incomplete) = (0u64, 0u64);
    let mut settle = |res: Result<Result<tower_socketio::BroadcastAcks, _>, _>| match res {
        Ok(Ok(acks)) if acks.is_complete() && !acks.responses.is_empty() => syncs += 1,
        _ => incomplete += 1,
    };
    let mut seq = 0;
    while seq < count {
        let end = (seq + batch).min(count);
        let op = io.to(room.as_str());
        for i in seq..end {
            op.emit("m", &(i, payload.as_str())).ok();
        }
        seq = end;
        let sync = io.to(sync_room.as_str()).timeout(Duration::from_secs(10));
        pending.push_back(tokio::spawn(async move {
            sync.emit_with_ack("sync", &end).await
        }));
        while pending.len() > window {
            if let Some(task) = pending.pop_front() {
                settle(task.await);
            }
        }
    }
    while let Some(task) = pending.pop_front() {
        settle(task.await);
    }
    json!({ "elapsedMs": ms(started.elapsed()), "syncs": syncs, "incomplete": incomplete })
}

/// `volatile-flood` ({count, size, everyMs, room, doneRoom}): emits `v` (seq, payload) with
/// the volatile flag to `room` (default `flood`) `count` times, one every `everyMs`, then
/// `vdone` (count), not volatile, to `doneRoom` (default `healthy`). Answers `{elapsedMs}`.
pub async fn volatile_flood(io: SocketIo, params: Value) -> Value {
    let count = u64_of(&params, "count", 1000);
    let size = usize::try_from(u64_of(&params, "size", 1024)).unwrap_or(1024);
    let every = Duration::from_millis(u64_of(&params, "everyMs", 1));
    let room = params["room"].as_str().unwrap_or("flood").to_owned();
    let done_room = params["doneRoom"].as_str().unwrap_or("healthy").to_owned();
    let payload = "v".repeat(size);
    let started = Instant::now();
    let op = io.to(room.as_str()).volatile();
    for i in 0..count {
        op.emit("v", &(i, payload.as_str())).ok();
        if !every.is_zero() {
            tokio::time::sleep(every).await;
        }
    }
    io.to(done_room.as_str()).emit("vdone", &count).ok();
    json!({ "elapsedMs": ms(started.elapsed()) })
}

fn setup(socket: &Socket) {
    if let Some(list) = socket.handshake().auth.get("join")
        && let Ok(rooms) = rooms_arg(list)
    {
        with_rooms!(rooms, |r| socket.join(r));
    }
    socket.on_disconnecting(|socket: Socket, reason: DisconnectReason| async move {
        record(&socket, "disconnecting", reason);
    });
    socket.on_disconnect(|socket: Socket, reason: DisconnectReason| async move {
        record(&socket, "disconnect", reason);
    });
    socket.on(
        "join",
        |socket: Socket, Data(rooms): Data<Value>, ack: AckSender| async move {
            if let Ok(rooms) = rooms_arg(&rooms) {
                with_rooms!(rooms, |r| socket.join(r));
            }
            ack.send(&(sorted_rooms(&socket),)).ok();
        },
    );
    socket.on(
        "leave",
        |socket: Socket, Data(room): Data<String>, ack: AckSender| async move {
            socket.leave(&room);
            ack.send(&(sorted_rooms(&socket),)).ok();
        },
    );
    socket.on("rooms", |socket: Socket, ack: AckSender| async move {
        ack.send(&(sorted_rooms(&socket),)).ok();
    });
    socket.on(
        "set-data",
        |socket: Socket, Data(data): Data<Value>, ack: AckSender| async move {
            socket.set_data(data);
            ack.send(&()).ok();
        },
    );
    socket.on(
        "op",
        |socket: Socket, Data(desc): Data<Value>, ack: AckSender| async move {
            let result = op(&socket, &desc);
            end_markers(&socket.io(), &desc);
            answer(ack, result);
        },
    );
    socket.on(
        "ack-op",
        |socket: Socket, Data(desc): Data<Value>, ack: AckSender| async move {
            answer(ack, ack_op(&socket, &desc).await);
        },
    );
    socket.on(
        "fetch",
        |socket: Socket, Data(desc): Data<Value>, ack: AckSender| async move {
            answer(ack, fetch(&socket, &desc).await);
        },
    );
    socket.on(
        "remote",
        |socket: Socket, Data(desc): Data<Value>, ack: AckSender| async move {
            let result = remote(&socket, &desc).await;
            end_markers(&socket.io(), &desc);
            answer(ack, result);
        },
    );
    socket.on(
        "sockets-op",
        |socket: Socket, Data(desc): Data<Value>, ack: AckSender| async move {
            let result = sockets_op(&socket, &desc);
            end_markers(&socket.io(), &desc);
            answer(ack, result);
        },
    );
    socket.on(
        "count",
        |socket: Socket, Data(desc): Data<Value>, ack: AckSender| async move {
            let result = Chain::build(&socket, &desc)
                .and_then(Chain::operator)
                .map(|op| json!(op.count()));
            answer(ack, result);
        },
    );
    socket.on(
        "ns-rooms",
        |socket: Socket, Data(nsp): Data<String>, ack: AckSender| async move {
            let result = namespace(&socket.io(), &nsp).map(|ns| {
                let mut rooms: Vec<String> = ns.rooms().iter().map(|r| r.to_string()).collect();
                rooms.sort();
                json!(rooms)
            });
            answer(ack, result);
        },
    );
    socket.on("observed", |socket: Socket, ack: AckSender| async move {
        let list = socket.state::<Observed>().unwrap_or_default().snapshot();
        answer(ack, Ok(Value::Array(list)));
    });
    socket.on(
        "flood",
        |socket: Socket, Data(params): Data<Value>, ack: AckSender| async move {
            answer(ack, Ok(flood(socket.io(), params).await));
        },
    );
    socket.on(
        "volatile-flood",
        |socket: Socket, Data(params): Data<Value>, ack: AckSender| async move {
            answer(ack, Ok(volatile_flood(socket.io(), params).await));
        },
    );
}

/// The app's configuration for the functional tests: the defaults, with a 2 s ack timeout.
pub fn rooms_config() -> SocketIoConfig {
    SocketIoConfig::default().ack_timeout(Duration::from_secs(2))
}

/// The app's configuration with each client's send queue bounded to `packets` packets and
/// `bytes` bytes (the engine settings are otherwise the defaults of [`SocketIoConfig`]).
pub fn bounded_config(packets: usize, bytes: usize) -> SocketIoConfig {
    let config = rooms_config();
    // Keep the Socket.IO path: `EngineConfig::default()` would serve `/engine.io/`.
    let engine = config.engine.clone().max_buffered(packets, bytes);
    config.engine(engine)
}

/// The app's server and what its handlers observed.
pub fn rooms_app(config: SocketIoConfig) -> (SocketIo, Observed) {
    let observed = Observed::default();
    let io = SocketIo::builder()
        .config(config)
        .with_state(observed.clone())
        .build();
    for nsp in ROOMS_NAMESPACES {
        io.ns(nsp, |socket: Socket| async move { setup(&socket) });
    }
    // `/mw`: a namespace middleware joins the rooms of `auth.mwJoin`, then refuses the
    // connection if `auth.refuse` (Node lets a middleware join rooms; a refused socket leaves
    // them).
    if let Some(mw) = io.of("/mw") {
        mw.middleware(|socket: Socket| async move {
            let auth = &socket.handshake().auth;
            if let Some(list) = auth.get("mwJoin")
                && let Ok(rooms) = rooms_arg(list)
            {
                with_rooms!(rooms, |r| socket.join(r));
            }
            if auth.get("refuse") == Some(&Value::Bool(true)) {
                Err(tower_socketio::ConnectError::new("refused"))
            } else {
                Ok(())
            }
        });
    }
    (io, observed)
}

/// A running rooms app.
#[derive(Debug, Clone)]
pub struct RoomsServer {
    /// Where it listens (127.0.0.1).
    pub addr: SocketAddr,
    /// Its server handle.
    pub io: SocketIo,
    /// What its disconnect handlers saw.
    pub observed: Observed,
}

/// Serves the app on 127.0.0.1 (free port) in the background.
pub async fn spawn_rooms_app(config: SocketIoConfig) -> std::io::Result<RoomsServer> {
    use axum::serve::ListenerExt;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    let (io, observed) = rooms_app(config);
    let app = axum::Router::new().layer(io.layer());
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(RoomsServer { addr, io, observed })
}

// ---------------------------------------------------------------------------------------------
// A raw client

fn protocol_error(what: impl Into<String>) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, what.into())
}

/// A minimal Socket.IO client over a raw WebSocket (Engine.IO v4, namespace `/`, JSON parser),
/// written on a bare `TcpStream` so that a test controls exactly when it reads: between calls
/// it reads nothing, so the server's writes pile up in the kernel buffers and then in the
/// server's send queue for it. Not a general client: text frames only, no binary attachments.
#[derive(Debug)]
pub struct RawClient {
    stream: TcpStream,
    buf: Vec<u8>,
    /// The Socket.IO socket id in `/`.
    pub sid: String,
    /// Socket.IO events read so far, by [`RawClient::next_event`].
    pub events_read: u64,
    /// WebSocket payload bytes read so far.
    pub bytes_read: u64,
}

impl RawClient {
    /// Connects over WebSocket to `addr` (`/socket.io/`), joins `/` with `auth`, and waits for
    /// the CONNECT reply. With `recv_buffer`, the TCP receive buffer is set to that size before
    /// connecting (the kernel may round it), so that a client that stops reading stops the
    /// server's writes early.
    pub async fn connect(
        addr: SocketAddr,
        auth: &Value,
        recv_buffer: Option<u32>,
    ) -> std::io::Result<RawClient> {
        if !addr.ip().is_loopback() {
            return Err(protocol_error("tests use 127.0.0.1 only"));
        }
        let socket = TcpSocket::new_v4()?;
        if let Some(size) = recv_buffer {
            socket.set_recv_buffer_size(size)?;
        }
        let mut stream = socket.connect(addr).await?;
        stream.set_nodelay(true)?;
        let request = format!(
            "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: {addr}\r\n\
             Upgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await?;
        let mut client = RawClient {
            stream,
            buf: Vec::new(),
            sid: String::new(),
            events_read: 0,
            bytes_read: 0,
        };
        let head_end = loop {
            if let Some(i) = client.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            if client.buf.len() > 16 * 1024 {
                return Err(protocol_error("no end of the HTTP response head"));
            }
            client.read_more().await?;
        };
        let head = String::from_utf8_lossy(&client.buf[..head_end]).into_owned();
        if !head.starts_with("HTTP/1.1 101") {
            return Err(protocol_error(format!("upgrade refused: {head}")));
        }
        client.buf.drain(..head_end);
        let open = client.next_text().await?;
        if !open.starts_with('0') {
            return Err(protocol_error(format!(
                "expected an OPEN packet, got {open}"
            )));
        }
        client.send_text(&format!("40{auth}")).await?;
        loop {
            let text = client.next_text().await?;
            if let Some(body) = text.strip_prefix("40") {
                let reply: Value = serde_json::from_str(body)
                    .map_err(|e| protocol_error(format!("CONNECT reply {body}: {e}")))?;
                client.sid = reply["sid"]
                    .as_str()
                    .ok_or_else(|| protocol_error(format!("CONNECT reply without sid: {body}")))?
                    .to_owned();
                return Ok(client);
            }
            if text.starts_with("44") {
                return Err(protocol_error(format!("connect refused: {text}")));
            }
        }
    }

    async fn read_more(&mut self) -> std::io::Result<()> {
        let mut chunk = [0u8; 16 * 1024];
        let n = self.stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }

    async fn fill(&mut self, n: usize) -> std::io::Result<()> {
        while self.buf.len() < n {
            self.read_more().await?;
        }
        Ok(())
    }

    /// Reads one WebSocket frame: (fin, opcode, payload).
    async fn read_frame(&mut self) -> std::io::Result<(bool, u8, Vec<u8>)> {
        self.fill(2).await?;
        let (b0, b1) = (self.buf[0], self.buf[1]);
        if b1 & 0x80 != 0 {
            return Err(protocol_error("masked frame from the server"));
        }
        let (header, len) = match b1 & 0x7f {
            126 => {
                self.fill(4).await?;
                (
                    4,
                    usize::from(u16::from_be_bytes([self.buf[2], self.buf[3]])),
                )
            }
            127 => {
                self.fill(10).await?;
                let mut n = [0u8; 8];
                n.copy_from_slice(&self.buf[2..10]);
                let len = usize::try_from(u64::from_be_bytes(n))
                    .map_err(|_| protocol_error("frame too long"))?;
                (10, len)
            }
            n => (2, usize::from(n)),
        };
        if len > 64 << 20 {
            return Err(protocol_error("frame too long"));
        }
        self.fill(header + len).await?;
        let payload = self.buf[header..header + len].to_vec();
        self.buf.drain(..header + len);
        self.bytes_read += len as u64;
        Ok((b0 & 0x80 != 0, b0 & 0x0f, payload))
    }

    async fn send_frame(&mut self, opcode: u8, payload: &[u8]) -> std::io::Result<()> {
        let mask = [0x37u8, 0xfa, 0x21, 0x3d];
        let mut frame = Vec::with_capacity(payload.len() + 14);
        frame.push(0x80 | opcode);
        match payload.len() {
            n if n < 126 => frame.push(0x80 | u8::try_from(n).unwrap_or(0)),
            n if n <= usize::from(u16::MAX) => {
                frame.push(0x80 | 126);
                frame.extend_from_slice(&u16::try_from(n).unwrap_or(0).to_be_bytes());
            }
            n => {
                frame.push(0x80 | 127);
                frame.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        frame.extend_from_slice(&mask);
        frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        self.stream.write_all(&frame).await
    }

    /// Sends one Engine.IO packet as a text frame.
    pub async fn send_text(&mut self, text: &str) -> std::io::Result<()> {
        self.send_frame(0x1, text.as_bytes()).await
    }

    /// Reads the next text message (an Engine.IO packet), answering WebSocket pings and
    /// Engine.IO pings (`2`) on the way. A close frame is an `UnexpectedEof` error.
    pub async fn next_text(&mut self) -> std::io::Result<String> {
        let mut message: Vec<u8> = Vec::new();
        loop {
            let (fin, opcode, payload) = self.read_frame().await?;
            match opcode {
                0x0..=0x2 => {
                    message.extend_from_slice(&payload);
                    if !fin {
                        continue;
                    }
                    let text = String::from_utf8(std::mem::take(&mut message))
                        .map_err(|_| protocol_error("binary message"))?;
                    if text == "2" {
                        self.send_text("3").await?;
                        continue;
                    }
                    return Ok(text);
                }
                0x8 => return Err(std::io::ErrorKind::UnexpectedEof.into()),
                0x9 => self.send_frame(0xA, &payload).await?,
                _ => {}
            }
        }
    }

    /// Reads until the next Socket.IO EVENT of `/`; returns its name and arguments.
    pub async fn next_event(&mut self) -> std::io::Result<(String, Vec<Value>)> {
        loop {
            let text = self.next_text().await?;
            let Some(body) = text.strip_prefix("42") else {
                if text.starts_with("41") {
                    return Err(std::io::ErrorKind::ConnectionReset.into());
                }
                continue;
            };
            let Ok(Value::Array(mut items)) = serde_json::from_str::<Value>(body) else {
                return Err(protocol_error(format!("bad EVENT {body}")));
            };
            if items.is_empty() {
                return Err(protocol_error("EVENT without a name"));
            }
            let name = items.remove(0);
            self.events_read += 1;
            return Ok((name.as_str().unwrap_or_default().to_owned(), items));
        }
    }
}

/// The resident set size of this process, in bytes (`VmRSS` of `/proc/self/status`).
pub fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
