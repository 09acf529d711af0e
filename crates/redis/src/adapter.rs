//! The classic Redis adapter: `@socket.io/redis-adapter` 8.x's `createAdapter` (Pub/Sub).

use std::{
    collections::HashMap,
    fmt,
    sync::{
        Arc, Mutex, PoisonError, Weak,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use serde::Serialize;
use tokio::sync::mpsc;
use tower_socketio::{
    Args, Sid,
    adapter::{
        Adapter, AdapterFactory, AdapterListener, AllSockets, BoxFuture, BroadcastOptions,
        EncodedPacket, LocalAdapter, LocalNamespace, PacketData, RemoteAcks, RemoteSocketData,
        RestoredSession, Room, ServerSideAck, SessionRecord,
    },
};

use crate::{
    RedisAdapterConfig,
    conn::{Connections, Limits, Receiver, Role},
    wire::{self, Packet, Request, RequestId, Response, Targets, kind},
};

/// How long a broadcast with acknowledgements from another server waits for this server's
/// sockets when the request gives no timeout.
const DEFAULT_ACK_TIMEOUT: Duration = Duration::from_secs(5);

/// The Redis adapter, wire-compatible with Node's `@socket.io/redis-adapter` 8.x
/// (`createAdapter`, classic Pub/Sub) and reachable by `@socket.io/redis-emitter` 5.x.
///
/// One value serves every namespace of a server: hand it to
/// [`SocketIoBuilder::adapter`](tower_socketio::SocketIoBuilder::adapter). It holds two
/// connections to Redis (one to publish, one to subscribe) and their tasks; clones share them.
///
/// ```no_run
/// # async fn f() -> Result<(), tower_socketio_redis::redis::RedisError> {
/// use tower_socketio::SocketIo;
/// use tower_socketio_redis::RedisAdapter;
///
/// let adapter = RedisAdapter::connect("redis://127.0.0.1:6379").await?;
/// let io = SocketIo::builder().adapter(adapter).build();
/// # drop(io); Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisAdapter {
    shared: Arc<Shared>,
}

struct Shared {
    conns: Arc<Connections>,
    config: RedisAdapterConfig,
}

impl fmt::Debug for RedisAdapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisAdapter")
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

impl RedisAdapter {
    /// Connects to the Redis at `url` (`redis://host:port/db`) with the default
    /// configuration.
    ///
    /// # Errors
    ///
    /// When the URL is invalid or Redis does not answer.
    pub async fn connect(url: &str) -> Result<Self, redis::RedisError> {
        Self::new(redis::Client::open(url)?, RedisAdapterConfig::default()).await
    }

    /// Connects to Redis through `client` (two connections: one publishes, one subscribes,
    /// both reconnect on their own).
    ///
    /// # Errors
    ///
    /// When Redis does not answer a `PING` within 2 seconds.
    pub async fn new(
        client: redis::Client,
        config: RedisAdapterConfig,
    ) -> Result<Self, redis::RedisError> {
        let conns = Connections::connect(
            &client,
            Limits {
                outgoing: config.max_queued_publishes,
                incoming: config.max_queued_messages,
            },
        )
        .await?;
        Ok(RedisAdapter {
            shared: Arc::new(Shared { conns, config }),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &RedisAdapterConfig {
        &self.shared.config
    }

    /// Messages dropped so far because Redis was away or too slow: (to other servers, from
    /// other servers).
    pub fn dropped_messages(&self) -> (u64, u64) {
        self.shared.conns.dropped()
    }
}

impl AdapterFactory for RedisAdapter {
    fn create_adapter(&self, ns: LocalNamespace) -> Arc<dyn Adapter> {
        let state = Arc::new(NsState::new(ns, self.shared.clone()));
        let receiver: Weak<dyn Receiver> = Arc::downgrade(&state) as Weak<dyn Receiver>;
        let c = &state.channels;
        self.shared.conns.subscribe(
            receiver,
            vec![
                (c.request.clone(), Role::Request),
                (c.response.clone(), Role::Response),
                (c.specific_response.clone(), Role::Response),
            ],
            vec![(c.pattern.clone(), Role::Broadcast)],
        );
        Arc::new(ClassicAdapter(state))
    }
}

/// The channels of one namespace.
struct Channels {
    /// `socket.io#<nsp>#`: broadcasts, and the prefix of the single-room channels.
    broadcast: String,
    /// The pattern of every broadcast channel (`socket.io#<nsp>#*`, glob characters of the
    /// namespace name escaped).
    pattern: String,
    request: String,
    response: String,
    /// `socket.io-response#<nsp>#<uid>#`.
    specific_response: String,
}

impl Channels {
    fn new(key: &str, nsp: &str, uid: &str) -> Self {
        let broadcast = format!("{key}#{nsp}#");
        let mut pattern = String::with_capacity(broadcast.len() + 1);
        for c in broadcast.chars() {
            if matches!(c, '*' | '?' | '[' | ']' | '\\') {
                pattern.push('\\');
            }
            pattern.push(c);
        }
        pattern.push('*');
        let response = format!("{key}-response#{nsp}#");
        Channels {
            broadcast,
            pattern,
            request: format!("{key}-request#{nsp}#"),
            specific_response: format!("{response}{uid}#"),
            response,
        }
    }
}

/// An event of a broadcast with acknowledgements, from another server.
enum AckEvent {
    /// How many of its sockets a server reached.
    Count(usize),
    /// One socket's acknowledgement.
    Ack(PacketData),
}

/// The adapter of one namespace: the local rooms, and the cluster side.
struct NsState {
    uid: String,
    ns: LocalNamespace,
    local: LocalAdapter,
    shared: Arc<Shared>,
    channels: Channels,
    /// This server's requests waiting for responses, by request id.
    requests: Mutex<HashMap<String, mpsc::UnboundedSender<Response>>>,
    /// This server's broadcasts with acknowledgements, by request id.
    ack_requests: Mutex<HashMap<String, mpsc::UnboundedSender<AckEvent>>>,
    /// Whether Redis confirmed our subscription to the request channel (so `PUBSUB NUMSUB`
    /// counts this server).
    subscribed: AtomicBool,
    closed: AtomicBool,
}

/// Removes a pending request when its waiter is done (or dropped).
struct Pending<'a, T> {
    map: &'a Mutex<HashMap<String, mpsc::UnboundedSender<T>>>,
    id: String,
}

impl<T> Drop for Pending<'_, T> {
    fn drop(&mut self) {
        self.map
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.id);
    }
}

impl NsState {
    fn new(ns: LocalNamespace, shared: Arc<Shared>) -> Self {
        let uid = wire::uid2(6);
        let channels = Channels::new(&shared.config.key, ns.name(), &uid);
        NsState {
            local: LocalAdapter::for_namespace(&ns),
            uid,
            ns,
            shared,
            channels,
            requests: Mutex::new(HashMap::new()),
            ack_requests: Mutex::new(HashMap::new()),
            subscribed: AtomicBool::new(false),
            closed: AtomicBool::new(false),
        }
    }

    fn publish(&self, channel: String, payload: Vec<u8>) {
        self.shared.conns.publish(channel, payload);
    }

    fn publish_request(&self, payload: Vec<u8>) {
        self.publish(self.channels.request.clone(), payload);
    }

    /// Publishes the response to `request`: on the requester's own channel when configured
    /// (`publishOnSpecificResponseChannel`), on the common one otherwise.
    fn respond(&self, request: &Request, payload: Vec<u8>) {
        let channel = match (
            &request.uid,
            self.shared.config.publish_on_specific_response_channel,
        ) {
            (Some(uid), true) => format!("{}{uid}#", self.channels.response),
            _ => self.channels.response.clone(),
        };
        self.publish(channel, payload);
    }

    fn register<T>(
        map: &Mutex<HashMap<String, mpsc::UnboundedSender<T>>>,
    ) -> (Pending<'_, T>, mpsc::UnboundedReceiver<T>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut requests = map.lock().unwrap_or_else(PoisonError::into_inner);
        let id = loop {
            let id = wire::uid2(6);
            if !requests.contains_key(&id) {
                break id;
            }
        };
        requests.insert(id.clone(), tx);
        (Pending { map, id }, rx)
    }

    fn is_own_request(&self, id: &Option<RequestId>) -> bool {
        id.as_ref().is_some_and(|id| {
            self.requests
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .contains_key(&id.0)
                || self
                    .ack_requests
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .contains_key(&id.0)
        })
    }

    /// How many other servers share the namespace (`PUBSUB NUMSUB` of the request channel,
    /// minus this one once subscribed). `None` when Redis does not answer.
    async fn others(&self) -> Option<usize> {
        let n = self.shared.conns.numsub(&self.channels.request).await?;
        Some(n.saturating_sub(usize::from(self.subscribed.load(Ordering::Acquire))))
    }

    /// Sends a request and gathers one response from each of `others` servers, at most
    /// `requests_timeout`.
    async fn ask(&self, what: &str, build: impl FnOnce(&str) -> Vec<u8>) -> Vec<Response> {
        let Some(others) = self.others().await.filter(|n| *n > 0) else {
            return Vec::new();
        };
        let (pending, mut rx) = Self::register(&self.requests);
        self.publish_request(build(&pending.id));
        let timeout = self.shared.config.requests_timeout;
        let deadline = tokio::time::Instant::now() + timeout;
        let mut responses = Vec::with_capacity(others);
        while responses.len() < others {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(response)) => responses.push(response),
                Ok(None) | Err(_) => {
                    tracing::warn!(target: "socketio::redis", ns = self.ns.name(), "{what}: {} of {others} servers answered within {timeout:?}", responses.len());
                    break;
                }
            }
        }
        responses
    }

    // -----------------------------------------------------------------------------------------
    // Received

    fn on_broadcast(&self, channel: &[u8], payload: &[u8]) {
        let Some(rest) = channel.strip_prefix(self.channels.broadcast.as_bytes()) else {
            return;
        };
        let room = rest.split_last().map_or(&[][..], |(_, room)| room);
        if !room.is_empty() {
            // A single-room broadcast: skipped without decoding unless the room is here.
            match std::str::from_utf8(room) {
                Ok(room) if self.local.room_len(room) > 0 => {}
                _ => return,
            }
        }
        let (uid, packet, opts): wire::Broadcast = match rmp_serde::from_slice(payload) {
            Ok(message) => message,
            Err(e) => {
                tracing::debug!(target: "socketio::redis", ns = self.ns.name(), "malformed broadcast ignored: {e}");
                return;
            }
        };
        if uid == self.uid || !packet.is_event_of(self.ns.name()) {
            return;
        }
        self.ns.broadcast(packet.data, &opts);
    }

    fn on_request(self: &Arc<Self>, payload: &[u8]) {
        let request: Request = match wire::decode(payload) {
            Ok(request) => request,
            Err(e) => {
                tracing::debug!(target: "socketio::redis", ns = self.ns.name(), "malformed request ignored: {e}");
                return;
            }
        };
        let own = request.uid.as_deref() == Some(self.uid.as_str());
        match request.kind {
            kind::SOCKETS | kind::ALL_ROOMS | kind::REMOTE_FETCH => {
                if own || self.is_own_request(&request.request_id) {
                    return;
                }
                self.answer(&request);
            }
            kind::REMOTE_JOIN | kind::REMOTE_LEAVE | kind::REMOTE_DISCONNECT => {
                // This server applied its own operations already.
                if !own {
                    self.apply(&request);
                }
            }
            kind::SERVER_SIDE_EMIT => {
                if !own {
                    self.server_side_event(request);
                }
            }
            kind::BROADCAST => {
                if !own && !self.is_own_request(&request.request_id) {
                    self.broadcast_with_ack(request);
                }
            }
            other => {
                tracing::debug!(target: "socketio::redis", ns = self.ns.name(), "request of unknown type {other} ignored");
            }
        }
    }

    /// SOCKETS, ALL_ROOMS and REMOTE_FETCH: this server's part.
    fn answer(&self, request: &Request) {
        #[derive(Serialize)]
        struct Answer<'a, T: Serialize> {
            #[serde(rename = "requestId")]
            request_id: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            sockets: Option<T>,
            #[serde(skip_serializing_if = "Option::is_none")]
            rooms: Option<Vec<Room>>,
        }
        let Some(id) = &request.request_id else {
            return;
        };
        let opts = request.opts.clone().unwrap_or_default();
        let payload = match request.kind {
            kind::SOCKETS => {
                let opts = BroadcastOptions::new().with_rooms(request.rooms.iter().cloned());
                let ids: Vec<Sid> = self.ns.fetch_sockets(&opts).iter().map(|s| s.id).collect();
                wire::json(&Answer {
                    request_id: &id.0,
                    sockets: Some(ids),
                    rooms: None,
                })
            }
            kind::ALL_ROOMS => wire::json(&Answer::<()> {
                request_id: &id.0,
                sockets: None,
                rooms: Some(self.local.rooms()),
            }),
            _ => wire::json(&Answer {
                request_id: &id.0,
                sockets: Some(self.ns.fetch_sockets(&opts)),
                rooms: None,
            }),
        };
        self.respond(request, payload);
    }

    /// REMOTE_JOIN, REMOTE_LEAVE and REMOTE_DISCONNECT.
    fn apply(&self, request: &Request) {
        if let Some(opts) = &request.opts {
            match request.kind {
                kind::REMOTE_JOIN => self.ns.add_sockets(opts, &request.rooms),
                kind::REMOTE_LEAVE => self.ns.del_sockets(opts, &request.rooms),
                _ => self
                    .ns
                    .disconnect_sockets(opts, request.close.unwrap_or(false)),
            }
            return;
        }
        // The legacy single-socket form, answered by the server that has the socket.
        let Some(sid) = request.sid.as_deref().and_then(|s| s.parse::<Sid>().ok()) else {
            return;
        };
        if !self.ns.has_socket(sid) {
            return;
        }
        let opts = BroadcastOptions::new().with_rooms([Room::from(sid.as_str())]);
        let room = request.room.as_deref().map(Room::from);
        match (request.kind, room) {
            (kind::REMOTE_JOIN, Some(room)) => self.ns.add_sockets(&opts, &[room]),
            (kind::REMOTE_LEAVE, Some(room)) => self.ns.del_sockets(&opts, &[room]),
            (kind::REMOTE_DISCONNECT, _) => self
                .ns
                .disconnect_sockets(&opts, request.close.unwrap_or(false)),
            _ => return,
        }
        if let Some(id) = &request.request_id {
            #[derive(Serialize)]
            struct Done<'a> {
                #[serde(rename = "requestId")]
                request_id: &'a str,
            }
            self.respond(request, wire::json(&Done { request_id: &id.0 }));
        }
    }

    /// SERVER_SIDE_EMIT from another server: to the namespace's listeners; the first answer
    /// goes back on the common response channel (as Node does, whatever the configuration).
    fn server_side_event(self: &Arc<Self>, request: Request) {
        let Some(data) = request.data else {
            return;
        };
        let ack = request.request_id.map(|id| {
            let state = Arc::downgrade(self);
            ServerSideAck::new(move |answer: PacketData| {
                #[derive(Serialize)]
                struct Answer {
                    #[serde(rename = "type")]
                    kind: u8,
                    #[serde(rename = "requestId")]
                    request_id: String,
                    #[serde(skip_serializing_if = "Option::is_none")]
                    data: Option<serde_json::Value>,
                }
                if let Some(state) = state.upgrade() {
                    let payload = wire::json(&Answer {
                        kind: kind::SERVER_SIDE_EMIT,
                        request_id: id.0,
                        data: wire::first_as_json(&answer),
                    });
                    state.publish(state.channels.response.clone(), payload);
                }
            })
        });
        self.ns.server_side_emit(data, ack);
    }

    /// BROADCAST (with acknowledgements) from another server: tell how many sockets here
    /// got it, then forward each acknowledgement (its first argument).
    fn broadcast_with_ack(self: &Arc<Self>, request: Request) {
        #[derive(Serialize)]
        struct Count<'a> {
            #[serde(rename = "type")]
            kind: u8,
            #[serde(rename = "requestId")]
            request_id: &'a str,
            #[serde(rename = "clientCount")]
            client_count: usize,
        }
        #[derive(Serialize)]
        struct Ack<'a> {
            #[serde(rename = "type")]
            kind: u8,
            #[serde(rename = "requestId")]
            request_id: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            packet: Option<rmpv::Value>,
        }
        let (Some(id), Some(packet)) = (request.request_id.clone(), request.packet.as_ref()) else {
            return;
        };
        let opts = request.opts.clone().unwrap_or_default();
        let timeout = opts.flags().timeout.unwrap_or(DEFAULT_ACK_TIMEOUT);
        let mut acks = self
            .ns
            .broadcast_with_ack(packet.data.clone(), &opts, timeout);
        let count = acks.count();
        self.respond(
            &request,
            wire::json(&Count {
                kind: kind::BROADCAST_CLIENT_COUNT,
                request_id: &id.0,
                client_count: count,
            }),
        );
        if count == 0 {
            return;
        }
        let state = self.clone();
        tokio::spawn(async move {
            while let Some((_, args)) = acks.next().await {
                let packet = PacketData::from_args(&args)
                    .ok()
                    .and_then(|data| wire::first_as_msgpack(&data));
                state.respond(
                    &request,
                    wire::msgpack(&Ack {
                        kind: kind::BROADCAST_ACK,
                        request_id: &id.0,
                        packet,
                    }),
                );
            }
        });
    }

    fn on_response(&self, payload: &[u8]) {
        let response: Response = match wire::decode(payload) {
            Ok(response) => response,
            Err(e) => {
                tracing::debug!(target: "socketio::redis", ns = self.ns.name(), "malformed response ignored: {e}");
                return;
            }
        };
        let Some(id) = &response.request_id else {
            return;
        };
        let ack = self
            .ack_requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&id.0)
            .cloned();
        if let Some(tx) = ack {
            let event = match response.kind {
                Some(kind::BROADCAST_CLIENT_COUNT) => {
                    let n = response.client_count.unwrap_or(0.0);
                    AckEvent::Count(if n.is_finite() && n > 0.0 {
                        n as usize
                    } else {
                        0
                    })
                }
                Some(kind::BROADCAST_ACK) => {
                    AckEvent::Ack(response.packet.map(wire::one_value).unwrap_or_default())
                }
                _ => return,
            };
            let _ = tx.send(event);
            return;
        }
        let waiting = self
            .requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&id.0)
            .cloned();
        if let Some(tx) = waiting {
            let _ = tx.send(response);
        }
    }
}

impl Receiver for NsState {
    fn on_message(self: Arc<Self>, role: Role, channel: &[u8], payload: &[u8]) {
        if self.closed.load(Ordering::Acquire) {
            return;
        }
        match role {
            Role::Broadcast => self.on_broadcast(channel, payload),
            Role::Response => self.on_response(payload),
            Role::Request => self.on_request(payload),
        }
    }

    fn on_subscribed(&self, role: Role) {
        if role == Role::Request {
            self.subscribed.store(true, Ordering::Release);
        }
    }

    fn on_disconnected(&self) {
        self.subscribed.store(false, Ordering::Release);
    }
}

/// The `Adapter` of one namespace.
struct ClassicAdapter(Arc<NsState>);

impl Drop for ClassicAdapter {
    fn drop(&mut self) {
        self.close();
    }
}

impl Adapter for ClassicAdapter {
    fn add_all(&self, sid: Sid, rooms: &[Room]) {
        self.0.local.add_all(sid, rooms);
    }

    fn del(&self, sid: Sid, room: &str) {
        self.0.local.del(sid, room);
    }

    fn del_all(&self, sid: Sid) {
        self.0.local.del_all(sid);
    }

    fn socket_rooms(&self, sid: Sid) -> Vec<Room> {
        self.0.local.socket_rooms(sid)
    }

    fn rooms(&self) -> Vec<Room> {
        self.0.local.rooms()
    }

    fn for_each(&self, opts: &BroadcastOptions, all: AllSockets<'_>, f: &mut dyn FnMut(Sid)) {
        self.0.local.for_each(opts, all, f);
    }

    fn on_event(&self, listener: AdapterListener) {
        self.0.local.on_event(listener);
    }

    fn server_count(&self) -> BoxFuture<usize> {
        let state = self.0.clone();
        Box::pin(async move { state.others().await.map_or(1, |n| n + 1) })
    }

    fn is_cluster(&self) -> bool {
        true
    }

    fn broadcast_remote(&self, data: &PacketData, opts: &BroadcastOptions) {
        #[derive(Serialize)]
        struct PacketRef<'a> {
            #[serde(rename = "type")]
            kind: u8,
            data: &'a PacketData,
            nsp: &'a str,
        }
        let state = &self.0;
        let packet = PacketRef {
            kind: wire::EVENT,
            data,
            nsp: state.ns.name(),
        };
        let payload = wire::msgpack(&(&state.uid, packet, opts));
        let channel = match opts.rooms() {
            [room] => format!("{}{room}#", state.channels.broadcast),
            _ => state.channels.broadcast.clone(),
        };
        state.publish(channel, payload);
    }

    fn broadcast_with_ack_remote(
        &self,
        data: &PacketData,
        opts: &BroadcastOptions,
        timeout: Duration,
    ) -> BoxFuture<RemoteAcks> {
        #[derive(Serialize)]
        struct BroadcastRequest<'a> {
            uid: &'a str,
            #[serde(rename = "requestId")]
            request_id: &'a str,
            #[serde(rename = "type")]
            kind: u8,
            packet: Packet,
            opts: &'a BroadcastOptions,
        }
        let state = self.0.clone();
        let packet = Packet::event(data.clone(), state.ns.name());
        let opts = opts.clone();
        Box::pin(async move {
            let (pending, mut rx) = NsState::register(&state.ack_requests);
            state.publish_request(wire::msgpack(&BroadcastRequest {
                uid: &state.uid,
                request_id: &pending.id,
                kind: kind::BROADCAST,
                packet,
                opts: &opts,
            }));
            let deadline = tokio::time::Instant::now() + timeout;
            let others = tokio::time::timeout_at(deadline, state.others())
                .await
                .ok()
                .flatten()
                .unwrap_or(0);
            let (mut servers, mut expected, mut responses) = (0usize, 0usize, Vec::new());
            while servers < others || responses.len() < expected {
                match tokio::time::timeout_at(deadline, rx.recv()).await {
                    Ok(Some(AckEvent::Count(n))) => {
                        servers += 1;
                        expected = expected.saturating_add(n);
                    }
                    Ok(Some(AckEvent::Ack(data))) => responses.push(data.into_args()),
                    Ok(None) | Err(_) => break,
                }
            }
            let missing = expected.saturating_sub(responses.len());
            RemoteAcks::new(responses, missing, others.saturating_sub(servers))
        })
    }

    fn fetch_sockets_remote(&self, opts: &BroadcastOptions) -> BoxFuture<Vec<RemoteSocketData>> {
        #[derive(Serialize)]
        struct FetchRequest<'a> {
            uid: &'a str,
            #[serde(rename = "requestId")]
            request_id: &'a str,
            #[serde(rename = "type")]
            kind: u8,
            opts: Targets<'a>,
        }
        let state = self.0.clone();
        let opts = opts.clone();
        Box::pin(async move {
            let responses = state
                .ask("fetch sockets", |id| {
                    wire::json(&FetchRequest {
                        uid: &state.uid,
                        request_id: id,
                        kind: kind::REMOTE_FETCH,
                        opts: Targets::from(&opts),
                    })
                })
                .await;
            responses
                .into_iter()
                .flat_map(|r| wire::fetched_sockets(r.sockets.unwrap_or_default()))
                .collect()
        })
    }

    fn all_rooms_remote(&self) -> BoxFuture<Vec<Room>> {
        #[derive(Serialize)]
        struct RoomsRequest<'a> {
            uid: &'a str,
            #[serde(rename = "requestId")]
            request_id: &'a str,
            #[serde(rename = "type")]
            kind: u8,
        }
        let state = self.0.clone();
        Box::pin(async move {
            let responses = state
                .ask("all rooms", |id| {
                    wire::json(&RoomsRequest {
                        uid: &state.uid,
                        request_id: id,
                        kind: kind::ALL_ROOMS,
                    })
                })
                .await;
            responses.into_iter().flat_map(|r| r.rooms).collect()
        })
    }

    fn add_sockets_remote(&self, opts: &BroadcastOptions, rooms: &[Room]) {
        self.0.rooms_request(kind::REMOTE_JOIN, opts, rooms);
    }

    fn del_sockets_remote(&self, opts: &BroadcastOptions, rooms: &[Room]) {
        self.0.rooms_request(kind::REMOTE_LEAVE, opts, rooms);
    }

    fn disconnect_sockets_remote(&self, opts: &BroadcastOptions, close: bool) {
        #[derive(Serialize)]
        struct DisconnectRequest<'a> {
            uid: &'a str,
            #[serde(rename = "type")]
            kind: u8,
            opts: Targets<'a>,
            close: bool,
        }
        let state = &self.0;
        state.publish_request(wire::json(&DisconnectRequest {
            uid: &state.uid,
            kind: kind::REMOTE_DISCONNECT,
            opts: Targets::from(opts),
            close,
        }));
    }

    fn server_side_emit(&self, data: &PacketData) {
        let state = &self.0;
        state.publish_request(state.server_side_request(None, data));
    }

    fn server_side_emit_with_ack(&self, data: &PacketData) -> BoxFuture<Vec<Args>> {
        let state = self.0.clone();
        let data = data.clone();
        Box::pin(async move {
            let responses = state
                .ask("server-side emit", |id| {
                    state.server_side_request(Some(id), &data)
                })
                .await;
            responses
                .into_iter()
                .map(|r| r.data.map(wire::one_value).unwrap_or_default().into_args())
                .collect()
        })
    }

    fn next_offset(&self) -> Option<String> {
        self.0.local.next_offset()
    }

    fn store_packet(&self, offset: &str, opts: &BroadcastOptions, packet: &EncodedPacket) {
        self.0.local.store_packet(offset, opts, packet);
    }

    fn persist_session(&self, session: SessionRecord) {
        self.0.local.persist_session(session);
    }

    fn restore_session(&self, pid: &str, offset: &str) -> BoxFuture<Option<RestoredSession>> {
        self.0.local.restore_session(pid, offset)
    }

    fn close(&self) {
        let state = &self.0;
        if state.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        let c = &state.channels;
        state.shared.conns.unsubscribe(
            vec![
                c.request.clone(),
                c.response.clone(),
                c.specific_response.clone(),
            ],
            vec![c.pattern.clone()],
        );
    }
}

impl NsState {
    fn rooms_request(&self, kind: u8, opts: &BroadcastOptions, rooms: &[Room]) {
        #[derive(Serialize)]
        struct RoomsRequest<'a> {
            uid: &'a str,
            #[serde(rename = "type")]
            kind: u8,
            opts: Targets<'a>,
            rooms: &'a [Room],
        }
        self.publish_request(wire::json(&RoomsRequest {
            uid: &self.uid,
            kind,
            opts: Targets::from(opts),
            rooms,
        }));
    }

    fn server_side_request(&self, request_id: Option<&str>, data: &PacketData) -> Vec<u8> {
        #[derive(Serialize)]
        struct ServerSideRequest<'a> {
            uid: &'a str,
            #[serde(rename = "requestId", skip_serializing_if = "Option::is_none")]
            request_id: Option<&'a str>,
            #[serde(rename = "type")]
            kind: u8,
            data: serde_json::Value,
        }
        wire::json(&ServerSideRequest {
            uid: &self.uid,
            request_id,
            kind: kind::SERVER_SIDE_EMIT,
            data: wire::as_json(data),
        })
    }
}
