//! The sharded Redis adapter: `@socket.io/redis-adapter` 8.x's `createShardedAdapter`
//! (Redis 7 sharded Pub/Sub on a Redis Cluster), on the cluster core.

use std::{
    collections::{HashMap, HashSet},
    fmt,
    sync::{
        Arc, Mutex, OnceLock, PoisonError, RwLock, Weak,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use redis::{
    ProtocolVersion, PushInfo, PushKind, RedisError,
    cluster::{ClusterClient, ClusterClientBuilder},
    cluster_async::ClusterConnection,
};
use tokio::sync::mpsc;
use tower_socketio::adapter::{Adapter, AdapterEvent, AdapterFactory, BoxFuture, LocalNamespace};
use tower_socketio_cluster::{
    ClusterAdapter, ClusterOptions, Message, MessageType, Transport, WeakClusterAdapter, random_id,
};

use crate::conn::{COMMAND_TIMEOUT, Health, MAX_RECONNECT_DELAY, MIN_RECONNECT_DELAY, bulk};

/// Most messages sent in one pipeline.
const MAX_BATCH: usize = 512;

/// Which channels a namespace subscribes to (Node's `subscriptionMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SubscriptionMode {
    /// Two channels per namespace: `<prefix>#<nsp>#` and this node's response channel.
    Static,
    /// Plus one channel per public room (a room that is not a socket's own), so a broadcast to
    /// one room reaches only the nodes that have it. The default.
    #[default]
    Dynamic,
    /// Plus one channel per room, private rooms (sockets' own) included.
    DynamicPrivate,
}

/// Configuration of a [`ShardedRedisAdapter`], with Node's defaults.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ShardedConfig {
    /// The prefix of every channel. Default `socket.io` (Node's `channelPrefix`).
    pub channel_prefix: String,
    /// Default [`SubscriptionMode::Dynamic`].
    pub subscription_mode: SubscriptionMode,
    /// How long requests to the other nodes wait. Default 5 s.
    pub requests_timeout: Duration,
    /// Most messages waiting to be published; beyond, new ones are dropped. Default 10 000.
    pub max_queued_publishes: usize,
    /// Most received messages waiting to be handled; beyond, new ones are dropped. Default
    /// 10 000.
    pub max_queued_messages: usize,
}

impl Default for ShardedConfig {
    fn default() -> Self {
        ShardedConfig {
            channel_prefix: "socket.io".to_owned(),
            subscription_mode: SubscriptionMode::Dynamic,
            requests_timeout: Duration::from_secs(5),
            max_queued_publishes: 10_000,
            max_queued_messages: 10_000,
        }
    }
}

impl ShardedConfig {
    /// Sets [`channel_prefix`](Self::channel_prefix).
    #[must_use]
    pub fn channel_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.channel_prefix = prefix.into();
        self
    }

    /// Sets [`subscription_mode`](Self::subscription_mode).
    #[must_use]
    pub fn subscription_mode(mut self, mode: SubscriptionMode) -> Self {
        self.subscription_mode = mode;
        self
    }

    /// Sets [`requests_timeout`](Self::requests_timeout).
    #[must_use]
    pub fn requests_timeout(mut self, timeout: Duration) -> Self {
        self.requests_timeout = timeout;
        self
    }
}

/// The sharded Redis adapter, wire-compatible with `@socket.io/redis-adapter` 8.x's
/// `createShardedAdapter`: `SPUBLISH`/`SSUBSCRIBE` on a Redis Cluster (Redis 7 or newer), the
/// cluster envelope `{"type","data","uid","nsp"}` in JSON unless it holds binary (then
/// msgpack), the server count from `PUBSUB SHARDNUMSUB`.
///
/// One value serves every namespace of a server. The cluster client discovers every node from
/// the one it is given, follows slot moves, and re-subscribes after a reconnection.
///
/// ```no_run
/// # async fn f() -> Result<(), tower_socketio_redis::redis::RedisError> {
/// use tower_socketio::SocketIo;
/// use tower_socketio_redis::ShardedRedisAdapter;
///
/// let adapter = ShardedRedisAdapter::connect(&["redis://127.0.0.1:7000"]).await?;
/// let io = SocketIo::builder().adapter(adapter).build();
/// # drop(io); Ok(()) }
/// ```
#[derive(Clone)]
pub struct ShardedRedisAdapter {
    shared: Arc<Shared>,
}

impl fmt::Debug for ShardedRedisAdapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShardedRedisAdapter")
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

/// A subscription change.
enum Control {
    Subscribe(Vec<String>),
    Unsubscribe(Vec<String>),
}

struct Shared {
    config: ShardedConfig,
    conn: ClusterConnection,
    publisher: mpsc::Sender<(String, Vec<u8>)>,
    control: mpsc::UnboundedSender<Control>,
    router: RwLock<HashMap<Vec<u8>, Weak<ShardedTransport>>>,
    health: Arc<Health>,
}

impl ShardedRedisAdapter {
    /// Connects to the Redis Cluster one of whose nodes is at each of `urls`, with the
    /// default configuration.
    ///
    /// # Errors
    ///
    /// When the URLs are invalid or the cluster cannot be reached.
    pub async fn connect(urls: &[&str]) -> Result<Self, RedisError> {
        Self::new(
            ClusterClientBuilder::new(urls.iter().copied()),
            ShardedConfig::default(),
        )
        .await
    }

    /// Connects with a cluster client `builder` of your own (credentials, TLS...); the
    /// adapter sets the protocol (RESP3) and its push handling.
    ///
    /// # Errors
    ///
    /// When the cluster cannot be reached.
    pub async fn new(
        builder: ClusterClientBuilder,
        config: ShardedConfig,
    ) -> Result<Self, RedisError> {
        let health = Arc::new(Health::default());
        let (push_tx, push_rx) = mpsc::channel::<PushInfo>(config.max_queued_messages.max(1));
        let intake = health.clone();
        let client: ClusterClient = builder
            .use_protocol(ProtocolVersion::RESP3)
            .retries(u32::MAX)
            .min_retry_wait(MIN_RECONNECT_DELAY.as_millis() as u64)
            .max_retry_wait(MAX_RECONNECT_DELAY.as_millis() as u64)
            .connection_timeout(COMMAND_TIMEOUT)
            .response_timeout(COMMAND_TIMEOUT)
            .push_sender(move |info: PushInfo| -> Result<(), ()> {
                if info.kind == PushKind::Disconnection {
                    let tx = push_tx.clone();
                    tokio::spawn(async move {
                        let _ = tx.send(info).await;
                    });
                    return Ok(());
                }
                intake.take_in(&push_tx, info)
            })
            .build()?;
        let conn = tokio::time::timeout(COMMAND_TIMEOUT * 2, client.get_async_connection())
            .await
            .map_err(|_| {
                RedisError::from((
                    redis::ErrorKind::Io,
                    "the Redis Cluster did not answer",
                    format!("within {:?}", COMMAND_TIMEOUT * 2),
                ))
            })??;
        let (publisher, outgoing) = mpsc::channel(config.max_queued_publishes.max(1));
        let (control, control_rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            config,
            conn: conn.clone(),
            publisher,
            control,
            router: RwLock::new(HashMap::new()),
            health: health.clone(),
        });
        tokio::spawn(publish_task(conn.clone(), outgoing, health.clone()));
        tokio::spawn(subscribe_task(conn, control_rx));
        tokio::spawn(dispatch_task(push_rx, Arc::downgrade(&shared), health));
        Ok(ShardedRedisAdapter { shared })
    }

    /// The configuration.
    pub fn config(&self) -> &ShardedConfig {
        &self.shared.config
    }
}

impl Shared {
    fn publish(&self, channel: String, payload: Vec<u8>) {
        match self.publisher.try_send((channel, payload)) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => self.health.queue_overflow(),
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
    }

    fn subscribe(&self, transport: &Arc<ShardedTransport>, channels: Vec<String>) {
        {
            let mut router = self.router.write().unwrap_or_else(PoisonError::into_inner);
            for c in &channels {
                router.insert(c.clone().into_bytes(), Arc::downgrade(transport));
            }
        }
        let _ = self.control.send(Control::Subscribe(channels));
    }

    fn unsubscribe(&self, channels: Vec<String>) {
        {
            let mut router = self.router.write().unwrap_or_else(PoisonError::into_inner);
            for c in &channels {
                router.remove(c.as_bytes());
            }
        }
        let _ = self.control.send(Control::Unsubscribe(channels));
    }

    fn route(&self, channel: &[u8]) -> Option<Arc<ShardedTransport>> {
        self.router
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(channel)
            .and_then(Weak::upgrade)
    }
}

/// A 20-character string, the shape of a socket id (Node's `looksLikeASocketId`).
fn looks_like_a_socket_id(room: &str) -> bool {
    room.chars().count() == 20
}

/// The transport of one namespace.
struct ShardedTransport {
    shared: Arc<Shared>,
    /// `<prefix>#<nsp>#`.
    channel: String,
    /// `<prefix>#<nsp>#<uid>#`.
    response_channel: String,
    adapter: OnceLock<WeakClusterAdapter>,
    /// Whether Redis confirmed the main channel's subscription (so `SHARDNUMSUB` counts us).
    subscribed: AtomicBool,
    /// The room channels subscribed to (dynamic modes).
    rooms: Mutex<HashSet<String>>,
    closed: AtomicBool,
}

impl ShardedTransport {
    fn dynamic_channel(&self, room: &str) -> String {
        format!("{}{room}#", self.channel)
    }

    /// Node's `computeChannel`: a broadcast to one room goes to the room's channel in the
    /// dynamic modes (not with acknowledgements: those count every server).
    fn channel_of(&self, message: &Message) -> String {
        if message.kind == MessageType::Broadcast
            && let Some(data) = &message.data
            && data.request_id.is_none()
            && let Some(opts) = &data.opts
            && let [room] = opts.rooms()
        {
            let dynamic = match self.shared.config.subscription_mode {
                SubscriptionMode::Static => false,
                SubscriptionMode::Dynamic => !looks_like_a_socket_id(room),
                SubscriptionMode::DynamicPrivate => true,
            };
            if dynamic {
                return self.dynamic_channel(room);
            }
        }
        self.channel.clone()
    }

    /// A room appeared or disappeared on this node: its channel is subscribed while it exists
    /// (dynamic modes).
    fn on_room_event(self: &Arc<Self>, event: &AdapterEvent) {
        let mode = self.shared.config.subscription_mode;
        if mode == SubscriptionMode::Static || self.closed.load(Ordering::Acquire) {
            return;
        }
        match event {
            AdapterEvent::CreateRoom(room) => {
                let private = self
                    .adapter
                    .get()
                    .and_then(WeakClusterAdapter::upgrade)
                    .is_some_and(|a| a.is_socket_room(room));
                if mode == SubscriptionMode::Dynamic && private {
                    return;
                }
                let channel = self.dynamic_channel(room);
                let new = self
                    .rooms
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(channel.clone());
                if new {
                    self.shared.subscribe(self, vec![channel]);
                }
            }
            AdapterEvent::DeleteRoom(room) => {
                let channel = self.dynamic_channel(room);
                let had = self
                    .rooms
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .remove(&channel);
                if had {
                    self.shared.unsubscribe(vec![channel]);
                }
            }
            _ => {}
        }
    }

    /// Every channel this namespace listens to.
    fn channels(&self) -> Vec<String> {
        let mut channels = vec![self.channel.clone(), self.response_channel.clone()];
        channels.extend(
            self.rooms
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .iter()
                .cloned(),
        );
        channels
    }

    /// Subscribes again (after a lost connection, or when Redis dropped a subscription
    /// because its slot moved): each `SSUBSCRIBE` goes to the node owning the channel now, and
    /// is retried until it confirms.
    fn resubscribe(&self, channels: Vec<String>) {
        if !self.closed.load(Ordering::Acquire) {
            let _ = self.shared.control.send(Control::Subscribe(channels));
        }
    }

    fn on_message(&self, payload: &[u8]) {
        let Some(adapter) = self.adapter.get().and_then(WeakClusterAdapter::upgrade) else {
            return;
        };
        match Message::decode(payload) {
            Ok(message) => adapter.on_message(message, None),
            Err(e) => {
                tracing::debug!(target: "socketio::redis", ns = adapter.namespace().name(), "malformed message ignored: {e}");
            }
        }
    }
}

impl Transport for ShardedTransport {
    fn publish(&self, message: Message) -> BoxFuture<Option<String>> {
        let channel = self.channel_of(&message);
        self.shared.publish(channel, message.encode());
        Box::pin(async { None })
    }

    fn publish_response(&self, requester: &str, message: Message) {
        self.shared
            .publish(format!("{}{requester}#", self.channel), message.encode());
    }

    fn server_count(&self) -> BoxFuture<Option<usize>> {
        let mut conn = self.shared.conn.clone();
        let channel = self.channel.clone();
        let subscribed = self.subscribed.load(Ordering::Acquire);
        let down = self.shared.health.subscribe_down.load(Ordering::Acquire);
        Box::pin(async move {
            if down {
                return None;
            }
            let answer = tokio::time::timeout(
                COMMAND_TIMEOUT,
                redis::cmd("PUBSUB")
                    .arg("SHARDNUMSUB")
                    .arg(&channel)
                    .query_async::<HashMap<String, usize>>(&mut conn),
            )
            .await;
            match answer {
                // Count this node even before Redis confirmed its subscription.
                Ok(Ok(counts)) => {
                    Some(counts.get(&channel).copied().unwrap_or(0) + usize::from(!subscribed))
                }
                Ok(Err(e)) => {
                    tracing::debug!(target: "socketio::redis", "PUBSUB SHARDNUMSUB failed: {e}");
                    None
                }
                Err(_) => None,
            }
        })
    }

    fn close(&self) {
        if self.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        let channels = self.channels();
        self.shared.unsubscribe(channels);
    }
}

impl AdapterFactory for ShardedRedisAdapter {
    fn create_adapter(&self, ns: LocalNamespace) -> Arc<dyn Adapter> {
        let uid = random_id();
        let prefix = &self.shared.config.channel_prefix;
        let channel = format!("{prefix}#{}#", ns.name());
        let transport = Arc::new(ShardedTransport {
            shared: self.shared.clone(),
            response_channel: format!("{channel}{uid}#"),
            channel,
            adapter: OnceLock::new(),
            subscribed: AtomicBool::new(false),
            rooms: Mutex::new(HashSet::new()),
            closed: AtomicBool::new(false),
        });
        let adapter = ClusterAdapter::new(
            ns,
            uid,
            transport.clone(),
            ClusterOptions::default().requests_timeout(self.shared.config.requests_timeout),
        );
        let _ = transport.adapter.set(adapter.downgrade());
        self.shared.subscribe(
            &transport,
            vec![
                transport.channel.clone(),
                transport.response_channel.clone(),
            ],
        );
        let weak = Arc::downgrade(&transport);
        adapter.on_event(Arc::new(move |event| {
            if let Some(t) = weak.upgrade() {
                t.on_room_event(event);
            }
        }));
        Arc::new(adapter)
    }
}

/// Publishes what is queued: the messages of one channel (one shard) in one pipeline, in
/// order; while the cluster is away, what waited is dropped.
async fn publish_task(
    mut conn: ClusterConnection,
    mut queue: mpsc::Receiver<(String, Vec<u8>)>,
    health: Arc<Health>,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        // Consecutive messages of the same channel share a pipeline.
        let mut start = 0;
        let mut failed = None;
        while start < batch.len() {
            let channel = &batch[start].0;
            let end = batch[start..]
                .iter()
                .position(|(c, _)| c != channel)
                .map_or(batch.len(), |n| start + n);
            let mut pipe = redis::pipe();
            for (channel, payload) in &batch[start..end] {
                pipe.cmd("SPUBLISH").arg(channel).arg(payload).ignore();
            }
            match tokio::time::timeout(COMMAND_TIMEOUT, pipe.query_async::<()>(&mut conn)).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => failed = Some(e.to_string()),
                Err(_) => failed = Some("no answer in time".to_owned()),
            }
            start = end;
        }
        match failed {
            None => health.publish_ok(),
            Some(e) => health.publish_failed(&e, batch.len()),
        }
        batch.clear();
    }
}

/// Applies subscription changes in order, retrying each until the cluster confirms it.
async fn subscribe_task(
    mut conn: ClusterConnection,
    mut control: mpsc::UnboundedReceiver<Control>,
) {
    while let Some(change) = control.recv().await {
        let mut delay = MIN_RECONNECT_DELAY;
        loop {
            let attempt = async {
                match &change {
                    Control::Subscribe(channels) => {
                        for c in channels {
                            conn.ssubscribe(c).await?;
                        }
                    }
                    Control::Unsubscribe(channels) => {
                        for c in channels {
                            conn.sunsubscribe(c).await?;
                        }
                    }
                }
                Ok::<(), RedisError>(())
            };
            match tokio::time::timeout(COMMAND_TIMEOUT, attempt).await {
                Ok(Ok(())) => break,
                Ok(Err(e)) => {
                    tracing::debug!(target: "socketio::redis", "shard subscription change failed, retrying: {e}");
                }
                Err(_) => {
                    tracing::debug!(target: "socketio::redis", "shard subscription change timed out, retrying");
                }
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(MAX_RECONNECT_DELAY);
        }
    }
}

async fn dispatch_task(
    mut rx: mpsc::Receiver<PushInfo>,
    shared: Weak<Shared>,
    health: Arc<Health>,
) {
    while let Some(push) = rx.recv().await {
        let Some(shared) = shared.upgrade() else {
            return;
        };
        match push.kind {
            PushKind::SMessage => {
                if let [channel, payload, ..] = push.data.as_slice()
                    && let (Some(channel), Some(payload)) = (bulk(channel), bulk(payload))
                    && let Some(transport) = shared.route(channel)
                {
                    transport.on_message(payload);
                }
            }
            PushKind::SSubscribe => {
                health.subscription_back();
                if let Some(channel) = push.data.first().and_then(bulk)
                    && let Some(transport) = shared.route(channel)
                    && channel == transport.channel.as_bytes()
                {
                    transport.subscribed.store(true, Ordering::Release);
                }
            }
            PushKind::SUnsubscribe => {
                // Not ours (ours are out of the router first): the slot moved, or its node
                // dropped us. Subscribe again, at its new owner.
                if let Some(channel) = push.data.first().and_then(bulk)
                    && let Some(transport) = shared.route(channel)
                {
                    if channel == transport.channel.as_bytes() {
                        transport.subscribed.store(false, Ordering::Release);
                    }
                    transport.resubscribe(vec![String::from_utf8_lossy(channel).into_owned()]);
                }
            }
            PushKind::Disconnection => {
                health.subscription_lost();
                // Every namespace once (the router has an entry per channel).
                let mut transports: Vec<Arc<ShardedTransport>> = Vec::new();
                for t in shared
                    .router
                    .read()
                    .unwrap_or_else(PoisonError::into_inner)
                    .values()
                    .filter_map(Weak::upgrade)
                {
                    if !transports.iter().any(|seen| Arc::ptr_eq(seen, &t)) {
                        transports.push(t);
                    }
                }
                for t in transports {
                    t.subscribed.store(false, Ordering::Release);
                    t.resubscribe(t.channels());
                }
            }
            _ => {}
        }
    }
}
