//! One engine connection seen by Socket.IO (Node's `Client`): it decodes packets, routes them
//! to the namespaces the client joined, runs namespace connections, and enforces the connect
//! timeout.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex, MutexGuard, PoisonError, Weak},
};

use http::request::Parts;
use tower_socketio_engine::{
    CloseReason, Handler, Message, Sid, Socket as EngineSocket, TransportKind,
};
use tower_socketio_protocol::{
    Str,
    socketio::{Decoder, Packet, PacketKind},
};

use crate::{
    args::Args,
    error::{ConnectError, DisconnectReason},
    extract::ConnectContext,
    handler::{BoxFuture, spawn_now},
    io::IoInner,
    ns::NsInner,
    packet,
    socket::Socket,
};

/// The engine session of a client.
pub(crate) type Conn = Arc<EngineSocket<Client>>;

/// The most packets, and bytes, queued for a namespace whose connection is still being decided
/// (middleware running). A client that sends more is closed. (Node closes a connection at the
/// first packet for a namespace not connected yet; the JavaScript client never sends one,
/// as it buffers its emits until connected.)
const MAX_QUEUED_WHILE_CONNECTING: usize = 1024;
const MAX_QUEUED_BYTES_WHILE_CONNECTING: usize = 1 << 20;

/// The packets that arrived for a namespace while its connection is being decided.
#[derive(Default)]
struct Waiting {
    packets: VecDeque<Incoming>,
    bytes: usize,
}

/// A decoded packet, whatever the parser.
#[derive(Debug)]
pub(crate) enum Incoming {
    Connect {
        nsp: Str,
        auth: serde_json::Value,
    },
    Disconnect {
        nsp: Str,
    },
    Event {
        nsp: Str,
        event: Str,
        args: Args,
        id: Option<u64>,
    },
    Ack {
        nsp: Str,
        id: u64,
        args: Args,
    },
    ConnectError {
        nsp: Str,
    },
}

impl Incoming {
    /// About how many bytes the packet holds (its arguments, attachments included).
    fn size(&self) -> usize {
        match self {
            Incoming::Event { event, args, .. } => event.len() + args.wire_size(),
            Incoming::Ack { args, .. } => args.wire_size(),
            Incoming::Connect { nsp, .. }
            | Incoming::Disconnect { nsp }
            | Incoming::ConnectError { nsp } => nsp.len(),
        }
    }

    fn nsp(&self) -> &str {
        match self {
            Incoming::Connect { nsp, .. }
            | Incoming::Disconnect { nsp }
            | Incoming::Event { nsp, .. }
            | Incoming::Ack { nsp, .. }
            | Incoming::ConnectError { nsp } => nsp,
        }
    }
}

/// Per-connection state, the engine session's data.
pub(crate) struct Client {
    /// The handshake request.
    pub(crate) parts: Parts,
    /// The connection's span (`socketio.client`), which follows from the handshake request's
    /// span; socket spans are its children.
    pub(crate) span: tracing::Span,
    state: Mutex<ClientState>,
}

struct ClientState {
    decoder: Decoder,
    /// Connected namespaces.
    sockets: HashMap<String, Socket>,
    /// Namespaces whose connection is being decided, with the packets that arrived meanwhile.
    connecting: HashMap<String, Waiting>,
    joined_any: bool,
    /// Set when the engine connection closed.
    closed: Option<DisconnectReason>,
}

impl Client {
    fn lock(&self) -> MutexGuard<'_, ClientState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The connected sockets of a connection.
pub(crate) fn sockets_of(conn: &Conn) -> Vec<Socket> {
    conn.data().lock().sockets.values().cloned().collect()
}

/// Forgets the socket of `nsp` (it disconnected).
pub(crate) fn forget_socket(conn: &Conn, nsp: &str) {
    conn.data().lock().sockets.remove(nsp);
}

/// The engine handler running Socket.IO.
pub(crate) struct SioHandler {
    pub(crate) io: Weak<IoInner>,
    pub(crate) max_attachments: usize,
}

impl Handler for SioHandler {
    type Data = Client;

    fn session_data(&self, sid: Sid, request: Parts) -> Client {
        // The transport of the handshake request (`on_upgrade` records a later one).
        let transport = request
            .uri
            .query()
            .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("transport=")))
            .filter(|t| *t == "websocket")
            .unwrap_or("polling");
        let span = tracing::debug_span!(
            target: "socketio::client",
            "socketio.client",
            engine_sid = %sid,
            transport,
        );
        span.follows_from(tracing::Span::current());
        Client {
            parts: request,
            span,
            state: Mutex::new(ClientState {
                decoder: Decoder::new(self.max_attachments),
                sockets: HashMap::new(),
                connecting: HashMap::new(),
                joined_any: false,
                closed: None,
            }),
        }
    }

    fn on_open(&self, conn: &Conn) {
        let Some(io) = self.io.upgrade() else {
            conn.close(CloseReason::ServerShuttingDown);
            return;
        };
        io.connect_timeouts.add(&io, conn.id());
    }

    fn on_message(&self, conn: &Conn, message: Message) {
        let Some(io) = self.io.upgrade() else {
            return;
        };
        match decode(&io, conn, message) {
            Ok(Some(incoming)) => route(&io, conn, incoming),
            Ok(None) => {}
            Err(error) => {
                tracing::debug!(target: "socketio::client", sid = %conn.id(), %error, "invalid packet, closing");
                conn.close(CloseReason::ForcedClose);
            }
        }
    }

    fn on_upgrade(&self, conn: &Conn, transport: TransportKind) {
        conn.data().span.record("transport", transport.as_str());
    }

    fn on_close(&self, conn: &Conn, reason: CloseReason) {
        let reason = DisconnectReason::from(reason);
        let sockets: Vec<Socket> = {
            let mut st = conn.data().lock();
            st.closed = Some(reason);
            st.connecting.clear();
            st.sockets.drain().map(|(_, s)| s).collect()
        };
        for socket in sockets {
            socket.disconnect_with(reason);
        }
    }
}

/// The connect timeout of every connection (Node's `connectTimeout`: a connection that has
/// joined no namespace in time is closed), without a timer per connection: connections are
/// queued in arrival order with their deadline, and one task, running only while the queue is
/// not empty, closes those still without a namespace when their deadline passes.
#[derive(Default)]
pub(crate) struct ConnectTimeouts {
    state: Mutex<TimeoutQueue>,
}

#[derive(Default)]
struct TimeoutQueue {
    /// Deadlines in order: every connection gets the same timeout.
    queue: VecDeque<(tokio::time::Instant, Sid)>,
    sweeping: bool,
}

impl ConnectTimeouts {
    pub(crate) fn add(&self, io: &Arc<IoInner>, sid: Sid) {
        let deadline = tokio::time::Instant::now() + io.shared.config.connect_timeout;
        let mut st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        st.queue.push_back((deadline, sid));
        if !st.sweeping {
            st.sweeping = true;
            tokio::spawn(sweep(Arc::downgrade(io), deadline));
        }
    }
}

/// Sleeps until the next deadline, closes the connections due by then that joined no
/// namespace, and stops once the queue is empty.
async fn sweep(io: Weak<IoInner>, first: tokio::time::Instant) {
    let mut next = Some(first);
    while let Some(deadline) = next {
        tokio::time::sleep_until(deadline).await;
        let Some(io) = io.upgrade() else {
            return;
        };
        let now = tokio::time::Instant::now();
        let mut due = Vec::new();
        {
            let mut st = io
                .connect_timeouts
                .state
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            while let Some(&(deadline, sid)) = st.queue.front() {
                if deadline > now {
                    break;
                }
                st.queue.pop_front();
                due.push(sid);
            }
            next = st.queue.front().map(|&(deadline, _)| deadline);
            // Decided under the lock, so an `add` after this spawns a new sweeper.
            st.sweeping = next.is_some();
        }
        for sid in due {
            if let Some(conn) = io.engine.get(&sid)
                && !conn.data().lock().joined_any
            {
                tracing::debug!(target: "socketio::client", %sid, "no namespace joined in time");
                conn.close(CloseReason::ForcedServerClose);
            }
        }
    }
}

/// Why a packet was refused.
#[derive(Debug, thiserror::Error)]
enum InvalidPacket {
    #[error(transparent)]
    Decode(#[from] tower_socketio_protocol::socketio::DecodeError),
    #[error(transparent)]
    Args(#[from] crate::args::ArgsError),
    #[error("invalid CONNECT payload")]
    Auth,
    #[error("packet of the wrong format for the parser")]
    WrongFormat,
}

fn decode(io: &IoInner, conn: &Conn, message: Message) -> Result<Option<Incoming>, InvalidPacket> {
    match io.shared.config.parser {
        crate::config::ParserKind::Json => {
            let packet = {
                let mut st = conn.data().lock();
                match message {
                    Message::Text(text) => st.decoder.decode_text(&text)?,
                    Message::Binary(data) => st.decoder.decode_binary(data)?,
                }
            };
            match packet {
                Some(p) => incoming_json(p).map(Some),
                None => Ok(None),
            }
        }
        #[cfg(feature = "msgpack")]
        crate::config::ParserKind::Msgpack => match message {
            Message::Binary(data) => {
                let p = tower_socketio_protocol::socketio::msgpack::decode(&data)?;
                incoming_msgpack(p).map(Some)
            }
            Message::Text(_) => Err(InvalidPacket::WrongFormat),
        },
    }
}

fn incoming_json(p: Packet) -> Result<Incoming, InvalidPacket> {
    let nsp = p.nsp;
    Ok(match p.kind {
        PacketKind::Connect => {
            let auth = match &p.data {
                Some(d) => serde_json::from_str(d).map_err(|_| InvalidPacket::Auth)?,
                None => serde_json::Value::Object(serde_json::Map::new()),
            };
            Incoming::Connect { nsp, auth }
        }
        PacketKind::Disconnect => Incoming::Disconnect { nsp },
        PacketKind::Event | PacketKind::BinaryEvent => {
            let data = p.data.ok_or(InvalidPacket::WrongFormat)?;
            let (event, args) = Args::from_event_json(data, p.attachments)?;
            Incoming::Event {
                nsp,
                event,
                args,
                id: p.id,
            }
        }
        PacketKind::Ack | PacketKind::BinaryAck => {
            let data = p.data.ok_or(InvalidPacket::WrongFormat)?;
            let id = p.id.ok_or(InvalidPacket::WrongFormat)?;
            Incoming::Ack {
                nsp,
                id,
                args: Args::from_ack_json(data, p.attachments)?,
            }
        }
        PacketKind::ConnectError => Incoming::ConnectError { nsp },
    })
}

#[cfg(feature = "msgpack")]
fn incoming_msgpack(
    p: tower_socketio_protocol::socketio::msgpack::MsgpackPacket,
) -> Result<Incoming, InvalidPacket> {
    let nsp = p.nsp;
    Ok(match p.kind {
        PacketKind::Connect => {
            let auth = match p.data {
                Some(v) => serde_json::to_value(&v).map_err(|_| InvalidPacket::Auth)?,
                None => serde_json::Value::Object(serde_json::Map::new()),
            };
            if !auth.is_object() {
                return Err(InvalidPacket::Auth);
            }
            Incoming::Connect { nsp, auth }
        }
        PacketKind::Disconnect => Incoming::Disconnect { nsp },
        PacketKind::Event | PacketKind::BinaryEvent => {
            let data = p.data.ok_or(InvalidPacket::WrongFormat)?;
            let (event, args) = Args::from_msgpack_event(data)?;
            Incoming::Event {
                nsp,
                event: event.into(),
                args,
                id: p.id,
            }
        }
        PacketKind::Ack | PacketKind::BinaryAck => {
            let data = p.data.ok_or(InvalidPacket::WrongFormat)?;
            let id = p.id.ok_or(InvalidPacket::WrongFormat)?;
            Incoming::Ack {
                nsp,
                id,
                args: Args::from_msgpack_ack(data)?,
            }
        }
        PacketKind::ConnectError => Incoming::ConnectError { nsp },
    })
}

/// Routes a decoded packet: CONNECT starts a namespace connection; other packets go to the
/// socket of their namespace, or wait in order while that namespace's connection is decided.
fn route(io: &Arc<IoInner>, conn: &Conn, incoming: Incoming) {
    let mut st = conn.data().lock();
    match incoming {
        Incoming::Connect { nsp, auth } => {
            if st.sockets.contains_key(&*nsp) || st.connecting.contains_key(&*nsp) {
                drop(st);
                tracing::debug!(target: "socketio::client", sid = %conn.id(), ns = %nsp, "second CONNECT for a namespace");
                conn.close(CloseReason::ForcedServerClose);
                return;
            }
            let config = &io.shared.config;
            let refusal =
                if st.sockets.len() + st.connecting.len() >= config.max_sockets_per_connection {
                    Some("Too many namespaces for this connection")
                } else if st.connecting.len() >= config.max_pending_connects {
                    Some("Too many connections in progress")
                } else {
                    None
                };
            if let Some(message) = refusal {
                drop(st);
                tracing::debug!(target: "socketio::client", sid = %conn.id(), ns = %nsp, "connection refused: {message}");
                let err = ConnectError::new(message);
                let _ = conn.send(packet::connect_error(config.parser, &nsp, &err));
                return;
            }
            st.connecting.insert(nsp.to_string(), Waiting::default());
            drop(st);
            spawn_now(connect(io.clone(), conn.clone(), nsp.to_string(), auth));
        }
        Incoming::ConnectError { .. } => {
            drop(st);
            conn.close(CloseReason::ForcedServerClose);
        }
        other => {
            if let Some(waiting) = st.connecting.get_mut(other.nsp()) {
                let size = other.size();
                if waiting.packets.len() >= MAX_QUEUED_WHILE_CONNECTING
                    || waiting.bytes + size > MAX_QUEUED_BYTES_WHILE_CONNECTING
                {
                    drop(st);
                    tracing::debug!(target: "socketio::client", sid = %conn.id(), "too many packets for a namespace still connecting, closing");
                    conn.close(CloseReason::ForcedServerClose);
                } else {
                    waiting.bytes += size;
                    waiting.packets.push_back(other);
                }
                return;
            }
            let socket = st.sockets.get(other.nsp()).cloned();
            drop(st);
            match socket {
                Some(socket) => dispatch(&socket, other),
                None => {
                    tracing::debug!(target: "socketio::client", sid = %conn.id(), ns = other.nsp(), "packet for a namespace not joined");
                    conn.close(CloseReason::ForcedServerClose);
                }
            }
        }
    }
}

/// Hands a packet to its (connected) socket.
fn dispatch(socket: &Socket, incoming: Incoming) {
    match incoming {
        Incoming::Event {
            event, args, id, ..
        } => socket.on_event(event, args, id),
        Incoming::Ack { id, args, .. } => socket.on_ack(id, args),
        Incoming::Disconnect { .. } => {
            socket.disconnect_with(DisconnectReason::ClientNamespaceDisconnect)
        }
        Incoming::Connect { .. } | Incoming::ConnectError { .. } => {}
    }
}

/// A namespace connection: resolve the namespace, run its middleware and the connect
/// handler's extractors, then reply, start the handler, and release the packets that waited.
fn connect(io: Arc<IoInner>, conn: Conn, nsp: String, auth: serde_json::Value) -> BoxFuture<()> {
    Box::pin(async move {
        let parser = io.shared.config.parser;
        let refuse = |err: ConnectError| {
            tracing::debug!(target: "socketio::client", sid = %conn.id(), ns = %nsp, "connection refused: {err}");
            let _ = conn.send(packet::connect_error(parser, &nsp, &err));
            finish_connecting(&conn, &nsp, None);
        };
        let attempt = match io.resolve_namespace(&nsp, &auth).await {
            Some(Ok(attempt)) => attempt,
            Some(Err(e)) => {
                refuse(e);
                return;
            }
            None => {
                refuse(ConnectError::new("Invalid namespace"));
                return;
            }
        };
        // Held until the connection is decided: a refused one leaves no dynamic child behind.
        let ns = attempt.ns().clone();
        let recovery = io.shared.config.connection_state_recovery;
        let restored = match (recovery, auth.get("pid"), auth.get("offset")) {
            (
                Some(_),
                Some(serde_json::Value::String(pid)),
                Some(serde_json::Value::String(offset)),
            ) => ns.adapter().restore_session(pid, offset).await,
            _ => None,
        };
        let socket = Socket::new(
            ns.clone(),
            conn.clone(),
            auth,
            restored.as_ref().map(|r| &r.session),
        );
        let cx = Arc::new(ConnectContext {
            socket: socket.clone(),
        });
        let skip_middleware = restored.is_some() && recovery.is_some_and(|r| r.skip_middlewares);
        for middleware in ns.middleware().into_iter().filter(|_| !skip_middleware) {
            if let Err(e) = middleware(cx.clone()).await {
                socket.cleanup_refused();
                refuse(e);
                return;
            }
        }
        let body = match ns.connect_handler() {
            Some(handler) => match handler(cx).await {
                Ok(body) => Some(body),
                Err(e) => {
                    socket.cleanup_refused();
                    refuse(e);
                    return;
                }
            },
            None => None,
        };
        connected(&conn, &ns, &socket, body, restored);
    })
}

fn connected(
    conn: &Conn,
    ns: &Arc<NsInner>,
    socket: &Socket,
    body: Option<BoxFuture<()>>,
    restored: Option<crate::adapter::RestoredSession>,
) {
    {
        let mut st = conn.data().lock();
        if st.closed.is_some() {
            drop(st);
            socket.cleanup_refused();
            finish_connecting(conn, ns.name(), None);
            return;
        }
        st.joined_any = true;
    }
    socket.set_connected(true);
    let mut rooms = vec![crate::adapter::Room::from(socket.id().as_str())];
    if let Some(r) = &restored {
        rooms.extend(r.session.rooms.iter().cloned());
    }
    ns.adapter().add_all(socket.id(), &rooms);
    ns.add_socket(socket);
    let parser = ns.shared().config.parser;
    let pid = socket.inner.pid.map(|p| p.to_string());
    let _ = conn.send(packet::connect(
        parser,
        ns.name(),
        &socket.id(),
        pid.as_deref(),
    ));
    if let Some(r) = restored {
        tracing::debug!(target: "socketio::socket", sid = %socket.id(), missed = r.missed.len(), "session recovered");
        for packet in &r.missed {
            let _ = socket.send_frames(packet.frames(), false);
        }
    }
    tracing::debug!(target: "socketio::socket", sid = %socket.id(), ns = ns.name(), transport = socket.transport().as_str(), "connected");
    if let Some(body) = body {
        socket.run(body);
    }
    finish_connecting(conn, ns.name(), Some(socket));
}

/// Ends a namespace connection attempt: on success, dispatches the packets that waited (in
/// order, including any arriving meanwhile) and then routes later packets straight to the
/// socket; on failure, drops them.
fn finish_connecting(conn: &Conn, nsp: &str, socket: Option<&Socket>) {
    loop {
        let mut st = conn.data().lock();
        let batch = match st.connecting.get_mut(nsp) {
            Some(waiting) if !waiting.packets.is_empty() && socket.is_some() => {
                waiting.bytes = 0;
                std::mem::take(&mut waiting.packets)
            }
            _ => {
                st.connecting.remove(nsp);
                match (socket, st.closed) {
                    (Some(s), None) => {
                        // A DISCONNECT may have been among the waiting packets.
                        if s.connected() {
                            st.sockets.insert(nsp.to_owned(), s.clone());
                        }
                    }
                    (Some(s), Some(reason)) => {
                        drop(st);
                        s.disconnect_with(reason);
                    }
                    (None, _) => {}
                }
                return;
            }
        };
        drop(st);
        if let Some(socket) = socket {
            for incoming in batch {
                dispatch(socket, incoming);
            }
        }
    }
}
