//! `ClusterAdapter` (and its heartbeat variant) over a [`Transport`].

use std::{
    collections::{HashMap, HashSet},
    fmt,
    sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError, Weak},
    time::Duration,
};

use tokio::sync::mpsc;
use tower_socketio::{
    Args, Sid,
    adapter::{
        Adapter, AdapterListener, AllSockets, BoxFuture, BroadcastOptions, EncodedPacket,
        LocalAdapter, LocalNamespace, PacketData, RemoteAcks, RemoteSocketData, RestoredSession,
        Room, ServerSideAck, SessionRecord,
    },
};

use crate::message::{self, Data, Message, MessageType};

/// The uid of messages from an emitter (not a node).
const EMITTER_UID: &str = "emitter";

/// How a transport carries a cluster's messages: Redis sharded Pub/Sub, Redis Streams,
/// PostgreSQL `NOTIFY`... One per namespace; it calls [`ClusterAdapter::on_message`] with what
/// it receives for that namespace.
pub trait Transport: Send + Sync + 'static {
    /// Sends `message` to the other nodes. The message is queued when this returns (messages
    /// leave in the order of the calls); the future resolves once it is published, with its
    /// offset when the transport has offsets (a Redis Streams entry id), and may be dropped.
    fn publish(&self, message: Message) -> BoxFuture<Option<String>>;

    /// Sends a response to the node `requester` only.
    fn publish_response(&self, requester: &str, message: Message);

    /// The number of nodes sharing the namespace, this one included, as the transport counts
    /// them (`PUBSUB SHARDNUMSUB`...); `None` when it cannot tell now. Not called for
    /// adapters with a heartbeat, which count the nodes they hear from.
    fn server_count(&self) -> BoxFuture<Option<usize>> {
        Box::pin(async { None })
    }

    /// The namespace is gone: unsubscribe.
    fn close(&self) {}

    /// Whether published broadcasts get an offset from the transport (see
    /// [`Transport::publish`]): with connection state recovery on, the adapter then delivers
    /// recoverable emits locally once published, with that offset, as Node does.
    fn assigns_offsets(&self) -> bool {
        false
    }

    /// Connection state recovery across nodes: keeps a disconnected socket's session where
    /// every node can find it, for `ttl`. `false`: the transport keeps no sessions (the
    /// adapter keeps them in memory, for this node only).
    fn persist_session(&self, session: &SessionRecord, ttl: Duration) -> bool {
        let _ = (session, ttl);
        false
    }

    /// Connection state recovery across nodes: the session `pid` (taken: it is single-use)
    /// with the events sent after `offset` that its rooms should get, each with its offset.
    /// `None`: the transport keeps no sessions.
    fn restore_session(&self, pid: &str, offset: &str) -> Option<BoxFuture<Option<StoredSession>>> {
        let _ = (pid, offset);
        None
    }
}

/// A session a transport kept, with the events it missed (each with its offset), in order.
#[derive(Debug)]
#[non_exhaustive]
pub struct StoredSession {
    /// The session.
    pub session: SessionRecord,
    /// The missed events.
    pub missed: Vec<(PacketData, String)>,
}

impl StoredSession {
    /// A kept session with the events it missed.
    pub fn new(session: SessionRecord, missed: Vec<(PacketData, String)>) -> Self {
        StoredSession { session, missed }
    }
}

/// Options of a [`ClusterAdapter`], with Node's defaults.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct ClusterOptions {
    /// How long requests (fetch sockets, server-side emit with acknowledgements) wait for the
    /// other nodes. Default 5 s.
    pub requests_timeout: Duration,
    /// Track the nodes by heartbeat (`ClusterAdapterWithHeartbeat`), instead of asking the
    /// transport for the server count. Default none.
    pub heartbeat: Option<HeartbeatOptions>,
}

impl ClusterOptions {
    /// Sets [`requests_timeout`](Self::requests_timeout).
    #[must_use]
    pub fn requests_timeout(mut self, timeout: Duration) -> Self {
        self.requests_timeout = timeout;
        self
    }

    /// Sets [`heartbeat`](Self::heartbeat).
    #[must_use]
    pub fn heartbeat(mut self, heartbeat: Option<HeartbeatOptions>) -> Self {
        self.heartbeat = heartbeat;
        self
    }
}

impl Default for ClusterOptions {
    fn default() -> Self {
        ClusterOptions {
            requests_timeout: Duration::from_secs(5),
            heartbeat: None,
        }
    }
}

/// The heartbeat of `ClusterAdapterWithHeartbeat`.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct HeartbeatOptions {
    /// A heartbeat is sent after this long without any message sent. Default 5 s.
    pub interval: Duration,
    /// A node silent this long is considered gone. Default 10 s.
    pub timeout: Duration,
}

impl Default for HeartbeatOptions {
    fn default() -> Self {
        HeartbeatOptions {
            interval: Duration::from_secs(5),
            timeout: Duration::from_secs(10),
        }
    }
}

impl HeartbeatOptions {
    /// Sets [`interval`](Self::interval).
    #[must_use]
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// Sets [`timeout`](Self::timeout).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

/// A node uid: 8 random bytes in hex, as Node's `randomId()`.
pub fn random_id() -> String {
    let bytes: [u8; 8] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// An event of a broadcast with acknowledgements, from another node.
enum AckEvent {
    Count(usize),
    Ack(PacketData),
}

/// A request of this node waiting for answers.
struct Pending {
    tx: mpsc::UnboundedSender<(String, Data)>,
    /// With a heartbeat: the nodes that have not answered (a node that goes away is removed).
    missing: Option<HashSet<String>>,
}

struct State {
    requests: HashMap<String, Pending>,
    ack_requests: HashMap<String, mpsc::UnboundedSender<AckEvent>>,
    /// Heartbeat: the nodes heard from, with when.
    nodes: HashMap<String, tokio::time::Instant>,
    last_publish: tokio::time::Instant,
}

struct Inner {
    uid: String,
    ns: LocalNamespace,
    local: LocalAdapter,
    transport: Arc<dyn Transport>,
    options: ClusterOptions,
    state: Mutex<State>,
    closed: std::sync::atomic::AtomicBool,
    /// Recoverable emits waiting for their offset, delivered locally in order.
    deliveries: OnceLock<mpsc::UnboundedSender<Delivery>>,
}

/// A recoverable emit being published: delivered locally once its offset is known.
struct Delivery {
    published: BoxFuture<Option<String>>,
    data: PacketData,
    opts: BroadcastOptions,
}

/// socket.io-adapter's `ClusterAdapter`: the cluster semantics Node's sharded Redis, Redis
/// Streams and PostgreSQL adapters share, over any [`Transport`].
///
/// Operations of this node are applied locally and published; messages of other nodes are
/// applied locally through the namespace's [`LocalNamespace`]; requests wait for the number of
/// nodes the transport counts (or, with a heartbeat, for every node heard from), at most the
/// requests timeout, and return what came.
#[derive(Clone)]
pub struct ClusterAdapter {
    inner: Arc<Inner>,
}

impl fmt::Debug for ClusterAdapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClusterAdapter")
            .field("uid", &self.inner.uid)
            .field("ns", &self.inner.ns.name())
            .finish_non_exhaustive()
    }
}

/// Removes a pending request when its waiter is done or dropped.
struct Forget<'a> {
    inner: &'a Inner,
    id: String,
    ack: bool,
}

impl Drop for Forget<'_> {
    fn drop(&mut self) {
        let mut st = self.inner.lock();
        if self.ack {
            st.ack_requests.remove(&self.id);
        } else {
            st.requests.remove(&self.id);
        }
    }
}

/// A namespace dropped without `close` (its server dropped) still releases the transport.
impl Drop for Inner {
    fn drop(&mut self) {
        if !self.closed.swap(true, std::sync::atomic::Ordering::AcqRel) {
            self.transport.close();
        }
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn message(&self, kind: MessageType, data: Option<Data>) -> Message {
        Message::new(kind, data, &self.uid, self.ns.name())
    }

    fn publish(&self, kind: MessageType, data: Option<Data>) -> BoxFuture<Option<String>> {
        self.lock().last_publish = tokio::time::Instant::now();
        self.transport.publish(self.message(kind, data))
    }

    fn respond(&self, requester: &str, kind: MessageType, data: Data) {
        self.transport
            .publish_response(requester, self.message(kind, Some(data)));
    }

    /// The other nodes to hear from: a count, and with a heartbeat their uids.
    async fn others(&self) -> (usize, Option<HashSet<String>>) {
        if self.options.heartbeat.is_some() {
            let nodes: HashSet<String> = self.lock().nodes.keys().cloned().collect();
            return (nodes.len(), Some(nodes));
        }
        let count = self.transport.server_count().await.unwrap_or(1);
        (count.saturating_sub(1), None)
    }

    /// Sends a request and gathers the answers of the other nodes, at most `timeout`.
    async fn ask(
        &self,
        what: &str,
        kind: MessageType,
        mut data: Data,
        timeout: Duration,
    ) -> Vec<Data> {
        let (count, missing) = self.others().await;
        if count == 0 {
            return Vec::new();
        }
        let id = random_id();
        let (tx, mut rx) = mpsc::unbounded_channel();
        self.lock().requests.insert(
            id.clone(),
            Pending {
                tx,
                missing: missing.clone(),
            },
        );
        let _forget = Forget {
            inner: self,
            id: id.clone(),
            ack: false,
        };
        data.request_id = Some(id);
        drop(self.publish(kind, Some(data)));
        let deadline = tokio::time::Instant::now() + timeout;
        let mut answers = Vec::new();
        loop {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some((_, answer))) => {
                    answers.push(answer);
                    if missing.is_none() && answers.len() >= count {
                        break;
                    }
                }
                // With a heartbeat, the sender is dropped once every node answered (or left).
                Ok(None) => break,
                Err(_) => {
                    tracing::warn!(target: "socketio::cluster", ns = self.ns.name(), "{what}: {} of {count} nodes answered within {timeout:?}", answers.len());
                    break;
                }
            }
        }
        answers
    }

    fn on_message(self: &Arc<Self>, message: Message, offset: Option<&str>) {
        if message.uid == self.uid || self.closed.load(std::sync::atomic::Ordering::Acquire) {
            return;
        }
        if message.nsp != self.ns.name() {
            return;
        }
        if self.options.heartbeat.is_some() && !message.uid.is_empty() && message.uid != EMITTER_UID
        {
            self.lock()
                .nodes
                .insert(message.uid.clone(), tokio::time::Instant::now());
        }
        if message.kind.is_response() {
            self.on_response(message);
            return;
        }
        let data = message.data.unwrap_or_default();
        let opts = data.opts.clone().unwrap_or_default();
        match message.kind {
            MessageType::InitialHeartbeat if self.options.heartbeat.is_some() => {
                drop(self.publish(MessageType::Heartbeat, None));
            }
            MessageType::InitialHeartbeat | MessageType::Heartbeat => {}
            MessageType::AdapterClose => self.remove_node(&message.uid),
            MessageType::Broadcast => {
                let Some(packet) = data.broadcast_event() else {
                    tracing::debug!(target: "socketio::cluster", "broadcast without a packet ignored");
                    return;
                };
                match (data.request_id, offset) {
                    (Some(id), _) => self.broadcast_with_ack(&message.uid, id, packet, &opts),
                    // Node's `addOffsetIfNecessary`: with recovery on, a packet with an offset
                    // carries it (not volatile ones).
                    (None, Some(offset))
                        if self.ns.recovery().is_some() && !opts.flags().volatile =>
                    {
                        self.ns.broadcast_with_offset(packet, &opts, offset);
                    }
                    (None, _) => self.ns.broadcast(packet, &opts),
                }
            }
            MessageType::SocketsJoin => {
                self.ns
                    .add_sockets(&opts, data.rooms.as_deref().unwrap_or_default());
            }
            MessageType::SocketsLeave => {
                self.ns
                    .del_sockets(&opts, data.rooms.as_deref().unwrap_or_default());
            }
            MessageType::DisconnectSockets => {
                self.ns
                    .disconnect_sockets(&opts, data.close.unwrap_or(false));
            }
            MessageType::FetchSockets => {
                let Some(id) = data.request_id else {
                    return;
                };
                let sockets = self.ns.fetch_sockets(&opts);
                self.respond(
                    &message.uid,
                    MessageType::FetchSocketsResponse,
                    Data {
                        request_id: Some(id),
                        sockets: Some(message::sockets_values(&sockets)),
                        ..Data::default()
                    },
                );
            }
            MessageType::ServerSideEmit => {
                let Some(packet) = data.packet.as_ref().and_then(message::array_data) else {
                    return;
                };
                let ack = data.request_id.map(|id| {
                    let inner = Arc::downgrade(self);
                    let requester = message.uid.clone();
                    ServerSideAck::new(move |answer: PacketData| {
                        if let Some(inner) = inner.upgrade() {
                            inner.respond(
                                &requester,
                                MessageType::ServerSideEmitResponse,
                                Data {
                                    request_id: Some(id),
                                    packet: message::first_value(&answer),
                                    ..Data::default()
                                },
                            );
                        }
                    })
                });
                self.ns.server_side_emit(packet, ack);
            }
            _ => {}
        }
    }

    fn broadcast_with_ack(
        self: &Arc<Self>,
        requester: &str,
        id: String,
        packet: PacketData,
        opts: &BroadcastOptions,
    ) {
        let timeout = opts
            .flags()
            .timeout
            .unwrap_or(self.options.requests_timeout);
        let mut acks = self.ns.broadcast_with_ack(packet, opts, timeout);
        let count = acks.count();
        self.respond(
            requester,
            MessageType::BroadcastClientCount,
            Data {
                request_id: Some(id.clone()),
                client_count: Some(count as u64),
                ..Data::default()
            },
        );
        if count == 0 {
            return;
        }
        let inner = self.clone();
        let requester = requester.to_owned();
        tokio::spawn(async move {
            while let Some((_, args)) = acks.next().await {
                let packet = PacketData::from_args(&args)
                    .ok()
                    .and_then(|d| message::first_value(&d));
                inner.respond(
                    &requester,
                    MessageType::BroadcastAck,
                    Data {
                        request_id: Some(id.clone()),
                        packet,
                        ..Data::default()
                    },
                );
            }
        });
    }

    fn on_response(&self, message: Message) {
        let Some(data) = message.data else {
            return;
        };
        let Some(id) = data.request_id.clone() else {
            return;
        };
        let mut st = self.lock();
        match message.kind {
            MessageType::BroadcastClientCount | MessageType::BroadcastAck => {
                let Some(tx) = st.ack_requests.get(&id) else {
                    return;
                };
                let event = if message.kind == MessageType::BroadcastClientCount {
                    AckEvent::Count(
                        usize::try_from(data.client_count.unwrap_or(0)).unwrap_or(usize::MAX),
                    )
                } else {
                    AckEvent::Ack(message::one_value(data.packet))
                };
                let _ = tx.send(event);
            }
            _ => {
                let Some(pending) = st.requests.get_mut(&id) else {
                    return;
                };
                let _ = pending.tx.send((message.uid.clone(), data));
                if let Some(missing) = &mut pending.missing {
                    missing.remove(&message.uid);
                    if missing.is_empty() {
                        // Everyone answered: ends the waiter's loop.
                        st.requests.remove(&id);
                    }
                }
            }
        }
    }

    fn remove_node(&self, uid: &str) {
        let mut st = self.lock();
        st.nodes.remove(uid);
        st.requests.retain(|_, pending| match &mut pending.missing {
            Some(missing) => {
                missing.remove(uid);
                !missing.is_empty()
            }
            None => true,
        });
    }
}

impl ClusterAdapter {
    /// The adapter of namespace `ns` over `transport`, as node `uid` (see [`random_id`]: the
    /// transport may need it first, for its response channel). With a heartbeat, announces
    /// itself (`INITIAL_HEARTBEAT`) and starts its timer (this needs a tokio runtime).
    pub fn new(
        ns: LocalNamespace,
        uid: String,
        transport: Arc<dyn Transport>,
        options: ClusterOptions,
    ) -> Self {
        let inner = Arc::new(Inner {
            uid,
            local: LocalAdapter::for_namespace(&ns),
            ns,
            transport,
            options,
            state: Mutex::new(State {
                requests: HashMap::new(),
                ack_requests: HashMap::new(),
                nodes: HashMap::new(),
                last_publish: tokio::time::Instant::now(),
            }),
            closed: std::sync::atomic::AtomicBool::new(false),
            deliveries: OnceLock::new(),
        });
        if let Some(heartbeat) = options.heartbeat {
            drop(inner.publish(MessageType::InitialHeartbeat, None));
            match tokio::runtime::Handle::try_current() {
                Ok(rt) => {
                    rt.spawn(heartbeat_task(Arc::downgrade(&inner), heartbeat));
                }
                Err(_) => {
                    tracing::warn!(target: "socketio::cluster", "no tokio runtime: the cluster heartbeat does not run");
                }
            }
        }
        ClusterAdapter { inner }
    }

    /// This node's uid (16 hex characters).
    pub fn uid(&self) -> &str {
        &self.inner.uid
    }

    /// The namespace.
    pub fn namespace(&self) -> &LocalNamespace {
        &self.inner.ns
    }

    /// A message from another node for this namespace (the transport calls this), with its
    /// offset when the transport has offsets. Own messages and other namespaces' are ignored.
    pub fn on_message(&self, message: Message, offset: Option<&str>) {
        self.inner.on_message(message, offset);
    }

    /// Whether `room` is the own room of a socket of this node (a private room).
    pub fn is_socket_room(&self, room: &str) -> bool {
        room.parse::<Sid>()
            .is_ok_and(|sid| !self.inner.local.socket_rooms(sid).is_empty())
    }

    /// A weak handle, for transports that must not keep the adapter alive.
    pub fn downgrade(&self) -> WeakClusterAdapter {
        WeakClusterAdapter(Arc::downgrade(&self.inner))
    }
}

/// A [`ClusterAdapter`] that does not keep it alive.
#[derive(Clone)]
pub struct WeakClusterAdapter(Weak<Inner>);

impl fmt::Debug for WeakClusterAdapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeakClusterAdapter").finish_non_exhaustive()
    }
}

impl WeakClusterAdapter {
    /// The adapter, if it is still there.
    pub fn upgrade(&self) -> Option<ClusterAdapter> {
        self.0.upgrade().map(|inner| ClusterAdapter { inner })
    }
}

/// Delivers recoverable emits locally, in the order they were published, each with its
/// offset (or without, if publishing failed: as Node, the local clients still get it).
async fn deliver_task(inner: Weak<Inner>, mut rx: mpsc::UnboundedReceiver<Delivery>) {
    while let Some(delivery) = rx.recv().await {
        let offset = delivery.published.await;
        let Some(inner) = inner.upgrade() else {
            return;
        };
        match offset {
            Some(offset) => inner
                .ns
                .broadcast_with_offset(delivery.data, &delivery.opts, &offset),
            None => inner.ns.broadcast(delivery.data, &delivery.opts),
        }
    }
}

async fn heartbeat_task(inner: Weak<Inner>, options: HeartbeatOptions) {
    let mut tick = tokio::time::interval(Duration::from_secs(1).min(options.interval));
    loop {
        tick.tick().await;
        let Some(inner) = inner.upgrade() else {
            return;
        };
        if inner.closed.load(std::sync::atomic::Ordering::Acquire) {
            return;
        }
        let now = tokio::time::Instant::now();
        let (silent, due) = {
            let st = inner.lock();
            let silent: Vec<String> = st
                .nodes
                .iter()
                .filter(|(_, seen)| now.duration_since(**seen) > options.timeout)
                .map(|(uid, _)| uid.clone())
                .collect();
            (
                silent,
                now.duration_since(st.last_publish) >= options.interval,
            )
        };
        for uid in silent {
            tracing::debug!(target: "socketio::cluster", ns = inner.ns.name(), %uid, "node silent, removed");
            inner.remove_node(&uid);
        }
        if due {
            drop(inner.publish(MessageType::Heartbeat, None));
        }
    }
}

impl Adapter for ClusterAdapter {
    fn add_all(&self, sid: Sid, rooms: &[Room]) {
        self.inner.local.add_all(sid, rooms);
    }

    fn del(&self, sid: Sid, room: &str) {
        self.inner.local.del(sid, room);
    }

    fn del_all(&self, sid: Sid) {
        self.inner.local.del_all(sid);
    }

    fn socket_rooms(&self, sid: Sid) -> Vec<Room> {
        self.inner.local.socket_rooms(sid)
    }

    fn rooms(&self) -> Vec<Room> {
        self.inner.local.rooms()
    }

    fn for_each(&self, opts: &BroadcastOptions, all: AllSockets<'_>, f: &mut dyn FnMut(Sid)) {
        self.inner.local.for_each(opts, all, f);
    }

    fn on_event(&self, listener: AdapterListener) {
        self.inner.local.on_event(listener);
    }

    fn server_count(&self) -> BoxFuture<usize> {
        let inner = self.inner.clone();
        Box::pin(async move { inner.others().await.0 + 1 })
    }

    fn is_cluster(&self) -> bool {
        true
    }

    fn broadcast_remote(&self, data: &PacketData, opts: &BroadcastOptions) {
        drop(self.inner.publish(
            MessageType::Broadcast,
            Some(Data {
                packet: Some(message::event_packet(data)),
                opts: Some(opts.clone()),
                ..Data::default()
            }),
        ));
    }

    fn broadcast_with_ack_remote(
        &self,
        data: &PacketData,
        opts: &BroadcastOptions,
        timeout: Duration,
    ) -> BoxFuture<RemoteAcks> {
        let inner = self.inner.clone();
        let data = Data {
            packet: Some(message::event_packet(data)),
            opts: Some(opts.clone()),
            ..Data::default()
        };
        Box::pin(async move {
            let id = random_id();
            let (tx, mut rx) = mpsc::unbounded_channel();
            inner.lock().ack_requests.insert(id.clone(), tx);
            let _forget = Forget {
                inner: &inner,
                id: id.clone(),
                ack: true,
            };
            let deadline = tokio::time::Instant::now() + timeout;
            let mut data = data;
            data.request_id = Some(id);
            drop(inner.publish(MessageType::Broadcast, Some(data)));
            let others = tokio::time::timeout_at(deadline, inner.others())
                .await
                .map_or(0, |(n, _)| n);
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
        let inner = self.inner.clone();
        let opts = opts.clone();
        Box::pin(async move {
            let timeout = opts
                .flags()
                .timeout
                .unwrap_or(inner.options.requests_timeout);
            let answers = inner
                .ask(
                    "fetch sockets",
                    MessageType::FetchSockets,
                    Data {
                        opts: Some(opts),
                        ..Data::default()
                    },
                    timeout,
                )
                .await;
            answers
                .into_iter()
                .flat_map(|a| message::sockets_of(a.sockets.unwrap_or_default()))
                .collect()
        })
    }

    fn add_sockets_remote(&self, opts: &BroadcastOptions, rooms: &[Room]) {
        drop(self.inner.publish(
            MessageType::SocketsJoin,
            Some(Data {
                opts: Some(opts.clone()),
                rooms: Some(rooms.to_vec()),
                ..Data::default()
            }),
        ));
    }

    fn del_sockets_remote(&self, opts: &BroadcastOptions, rooms: &[Room]) {
        drop(self.inner.publish(
            MessageType::SocketsLeave,
            Some(Data {
                opts: Some(opts.clone()),
                rooms: Some(rooms.to_vec()),
                ..Data::default()
            }),
        ));
    }

    fn disconnect_sockets_remote(&self, opts: &BroadcastOptions, close: bool) {
        drop(self.inner.publish(
            MessageType::DisconnectSockets,
            Some(Data {
                opts: Some(opts.clone()),
                close: Some(close),
                ..Data::default()
            }),
        ));
    }

    fn server_side_emit(&self, data: &PacketData) {
        drop(self.inner.publish(
            MessageType::ServerSideEmit,
            Some(Data {
                packet: rmpv::ext::to_value(data).ok(),
                ..Data::default()
            }),
        ));
    }

    fn server_side_emit_with_ack(&self, data: &PacketData) -> BoxFuture<Vec<Args>> {
        let inner = self.inner.clone();
        let packet = rmpv::ext::to_value(data).ok();
        Box::pin(async move {
            let timeout = inner.options.requests_timeout;
            let answers = inner
                .ask(
                    "server-side emit",
                    MessageType::ServerSideEmit,
                    Data {
                        packet,
                        ..Data::default()
                    },
                    timeout,
                )
                .await;
            answers
                .into_iter()
                .map(|a| message::one_value(a.packet).into_args())
                .collect()
        })
    }

    fn assigns_offsets(&self) -> bool {
        self.inner.transport.assigns_offsets()
    }

    fn broadcast_recoverable(&self, data: &PacketData, opts: &BroadcastOptions) {
        let published = self.inner.publish(
            MessageType::Broadcast,
            Some(Data {
                packet: Some(message::event_packet(data)),
                opts: Some(opts.clone()),
                ..Data::default()
            }),
        );
        let tx = self.inner.deliveries.get_or_init(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(deliver_task(Arc::downgrade(&self.inner), rx));
            tx
        });
        let _ = tx.send(Delivery {
            published,
            data: data.clone(),
            opts: opts.clone(),
        });
    }

    fn next_offset(&self) -> Option<String> {
        if self.inner.transport.assigns_offsets() {
            return None;
        }
        self.inner.local.next_offset()
    }

    fn store_packet(&self, offset: &str, opts: &BroadcastOptions, packet: &EncodedPacket) {
        self.inner.local.store_packet(offset, opts, packet);
    }

    fn persist_session(&self, session: SessionRecord) {
        let ttl = self
            .inner
            .ns
            .recovery()
            .map_or(Duration::ZERO, |r| r.max_disconnection_duration);
        if !self.inner.transport.persist_session(&session, ttl) {
            self.inner.local.persist_session(session);
        }
    }

    fn restore_session(&self, pid: &str, offset: &str) -> BoxFuture<Option<RestoredSession>> {
        let Some(stored) = self.inner.transport.restore_session(pid, offset) else {
            return self.inner.local.restore_session(pid, offset);
        };
        let ns = self.inner.ns.clone();
        Box::pin(async move {
            let stored = stored.await?;
            let missed = stored
                .missed
                .into_iter()
                .filter_map(|(data, offset)| ns.encode_event(data, &offset))
                .collect();
            Some(RestoredSession::new(stored.session, missed))
        })
    }

    fn close(&self) {
        if self
            .inner
            .closed
            .swap(true, std::sync::atomic::Ordering::AcqRel)
        {
            return;
        }
        if self.inner.options.heartbeat.is_some() {
            drop(self.inner.publish(MessageType::AdapterClose, None));
        }
        self.inner.transport.close();
    }
}
