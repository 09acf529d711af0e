//! The Redis Streams adapter: `@socket.io/redis-streams-adapter` 0.3.x, on the cluster core,
//! with connection state recovery across nodes.

use std::{
    collections::HashMap,
    fmt,
    sync::{
        Arc, OnceLock, PoisonError, RwLock, Weak,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use base64::{Engine as _, engine::general_purpose::STANDARD as BASE64};
use redis::{RedisError, Value, aio::ConnectionManager};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};
use tower_socketio::{
    Sid,
    adapter::{
        Adapter, AdapterFactory, BoxFuture, BroadcastOptions, LocalNamespace, Room, SessionRecord,
    },
};
use tower_socketio_cluster::{
    ClusterAdapter, ClusterOptions, Data, Message, MessageType, StoredSession, Transport,
    WeakClusterAdapter, random_id,
};

use crate::conn::{
    COMMAND_TIMEOUT, Connections, Limits, MAX_RECONNECT_DELAY, MIN_RECONNECT_DELAY, Receiver, Role,
    manager_config,
};

/// Most `XRANGE` pages read while restoring a session (Node's limit).
const RESTORE_MAX_PAGES: usize = 100;
/// Entries per `XRANGE` page while restoring.
const RESTORE_PAGE: usize = 1000;
/// Most entries published in one pipeline.
const MAX_BATCH: usize = 256;

/// Configuration of a [`RedisStreamsAdapter`], with the defaults of Node's
/// `@socket.io/redis-streams-adapter` 0.3.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct StreamsConfig {
    /// The stream's name. Default `socket.io`.
    pub stream_name: String,
    /// How many streams the namespaces are spread over (`<name>-<i>` when more than one, `i`
    /// from Java's `hashCode` of the namespace name, as Node). Default 1.
    ///
    /// As in Node, a namespace whose hash is negative goes to a stream with a negative index
    /// (`socket.io--1`); Node's nodes never read those, so such namespaces reach only the Rust
    /// nodes (which read them) in a mixed cluster with more than one stream.
    pub stream_count: usize,
    /// The prefix of the Pub/Sub channels. Default `socket.io`.
    pub channel_prefix: String,
    /// `MAXLEN ~` of every `XADD`. Default 10 000.
    pub max_len: usize,
    /// `COUNT` of every `XREAD`. Default 100.
    pub read_count: usize,
    /// `BLOCK` of every `XREAD`. Default 5 s.
    pub block_time: Duration,
    /// The prefix of the session keys. Default `sio:session:`.
    pub session_key_prefix: String,
    /// Never msgpack in the stream, even for binary data. Default `false`.
    pub only_plaintext: bool,
    /// How long requests to the other nodes wait. Default 5 s.
    pub requests_timeout: Duration,
}

impl Default for StreamsConfig {
    fn default() -> Self {
        StreamsConfig {
            stream_name: "socket.io".to_owned(),
            stream_count: 1,
            channel_prefix: "socket.io".to_owned(),
            max_len: 10_000,
            read_count: 100,
            block_time: Duration::from_secs(5),
            session_key_prefix: "sio:session:".to_owned(),
            only_plaintext: false,
            requests_timeout: Duration::from_secs(5),
        }
    }
}

impl StreamsConfig {
    /// Sets [`stream_name`](Self::stream_name).
    #[must_use]
    pub fn stream_name(mut self, name: impl Into<String>) -> Self {
        self.stream_name = name.into();
        self
    }

    /// Sets [`stream_count`](Self::stream_count).
    #[must_use]
    pub fn stream_count(mut self, count: usize) -> Self {
        self.stream_count = count.max(1);
        self
    }

    /// Sets [`max_len`](Self::max_len).
    #[must_use]
    pub fn max_len(mut self, max_len: usize) -> Self {
        self.max_len = max_len;
        self
    }

    /// Sets [`requests_timeout`](Self::requests_timeout).
    #[must_use]
    pub fn requests_timeout(mut self, timeout: Duration) -> Self {
        self.requests_timeout = timeout;
        self
    }
}

/// The Redis Streams adapter, wire-compatible with `@socket.io/redis-streams-adapter` 0.3:
/// broadcasts, joins, leaves and disconnects are `XADD`ed to a stream every node reads with
/// `XREAD BLOCK`; requests and responses travel over Pub/Sub in msgpack; the server count comes
/// from `PUBSUB NUMSUB`.
///
/// With connection state recovery on, it is the adapter with which **recovery works across
/// nodes**: a disconnected socket's session is kept in Redis (`sio:session:<pid>`, as Node
/// keeps it), every recoverable packet's offset is its stream entry id, and a client that comes
/// back on any node — Rust or Node — gets its id, rooms and data back with every packet it
/// missed, in order.
///
/// ```no_run
/// # async fn f() -> Result<(), tower_socketio_redis::redis::RedisError> {
/// use tower_socketio::{RecoveryConfig, SocketIo, SocketIoConfig};
/// use tower_socketio_redis::RedisStreamsAdapter;
///
/// let adapter = RedisStreamsAdapter::connect("redis://127.0.0.1:6379").await?;
/// let io = SocketIo::builder()
///     .config(SocketIoConfig::default().connection_state_recovery(RecoveryConfig::default()))
///     .adapter(adapter)
///     .build();
/// # drop(io); Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisStreamsAdapter {
    shared: Arc<Shared>,
}

impl fmt::Debug for RedisStreamsAdapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStreamsAdapter")
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

/// An `XADD` waiting to be sent, and where its entry id goes.
struct Append {
    stream: String,
    fields: Vec<(&'static str, String)>,
    id: oneshot::Sender<Option<String>>,
}

struct Shared {
    config: StreamsConfig,
    conns: Arc<Connections>,
    commands: ConnectionManager,
    appends: mpsc::Sender<Append>,
    /// Namespace name to its transport, for the entries read from the streams.
    namespaces: RwLock<HashMap<String, Weak<StreamsTransport>>>,
}

impl RedisStreamsAdapter {
    /// Connects to the Redis at `url` with the default configuration.
    ///
    /// # Errors
    ///
    /// When the URL is invalid or Redis does not answer.
    pub async fn connect(url: &str) -> Result<Self, RedisError> {
        Self::new(redis::Client::open(url)?, StreamsConfig::default()).await
    }

    /// Connects through `client`: connections to publish and subscribe, one for commands, and
    /// one per stream for its blocking reads.
    ///
    /// # Errors
    ///
    /// When Redis does not answer a `PING` within 2 seconds.
    pub async fn new(client: redis::Client, config: StreamsConfig) -> Result<Self, RedisError> {
        let conns = Connections::connect(
            &client,
            Limits {
                outgoing: 10_000,
                incoming: 10_000,
            },
        )
        .await?;
        let commands = conns.commands();
        let (appends, queue) = mpsc::channel(10_000);
        let shared = Arc::new(Shared {
            config,
            conns,
            commands: commands.clone(),
            appends,
            namespaces: RwLock::new(HashMap::new()),
        });
        tokio::spawn(append_task(commands, queue, shared.config.max_len));
        // With several streams, the negative ones too: namespaces with a negative hash are
        // written there (Node's quirk, see `stream_of`), which Node's nodes never read.
        let streams: Vec<String> = if shared.config.stream_count <= 1 {
            vec![shared.config.stream_name.clone()]
        } else {
            let n = i64::try_from(shared.config.stream_count).unwrap_or(i64::MAX);
            (0..n)
                .chain((1..n).map(|i| -i))
                .map(|i| format!("{}-{i}", shared.config.stream_name))
                .collect()
        };
        for stream in streams {
            let reader = ConnectionManager::new_lazy_with_config(
                client.clone(),
                manager_config()
                    .set_response_timeout(Some(shared.config.block_time + COMMAND_TIMEOUT)),
            )?;
            tokio::spawn(read_task(reader, stream, Arc::downgrade(&shared)));
        }
        Ok(RedisStreamsAdapter { shared })
    }

    /// The configuration.
    pub fn config(&self) -> &StreamsConfig {
        &self.shared.config
    }
}

/// Java's `String#hashCode` over UTF-16 units with 32-bit overflow, as Node computes it.
fn hash_code(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)))
}

/// The stream of namespace `nsp` (Node's `computeStreamName`, its sign quirk included: a
/// negative hash gives a negative index, as JavaScript's `%` does).
fn stream_of(config: &StreamsConfig, nsp: &str) -> String {
    if config.stream_count <= 1 {
        return config.stream_name.clone();
    }
    let count = i64::try_from(config.stream_count).unwrap_or(i64::MAX);
    format!(
        "{}-{}",
        config.stream_name,
        i64::from(hash_code(nsp)) % count
    )
}

/// The transport of one namespace.
struct StreamsTransport {
    shared: Arc<Shared>,
    stream: String,
    /// `<prefix>#<nsp>#`.
    public_channel: String,
    /// `<prefix>#<nsp>#<uid>#`.
    private_channel: String,
    adapter: OnceLock<WeakClusterAdapter>,
    /// Whether Redis confirmed the public channel's subscription (so `NUMSUB` counts us).
    subscribed: AtomicBool,
    closed: AtomicBool,
}

/// Node's `isEphemeral`: what goes over Pub/Sub instead of the stream.
fn is_ephemeral(message: &Message) -> bool {
    match message.kind {
        MessageType::Broadcast => message
            .data
            .as_ref()
            .is_some_and(|d| d.request_id.is_some()),
        MessageType::ServerSideEmit | MessageType::FetchSockets => true,
        _ => false,
    }
}

impl StreamsTransport {
    fn adapter(&self) -> Option<ClusterAdapter> {
        self.adapter.get().and_then(WeakClusterAdapter::upgrade)
    }

    /// The fields of a stream entry: `uid`, `nsp`, `type` and `data` (JSON, or base64 msgpack
    /// for binary data unless `only_plaintext`).
    fn fields(&self, message: &Message) -> Vec<(&'static str, String)> {
        let mut fields = vec![
            ("uid", message.uid.clone()),
            ("nsp", message.nsp.clone()),
            ("type", (message.kind as u8).to_string()),
        ];
        if let Some(data) = &message.data {
            let binary = !self.shared.config.only_plaintext
                && message.kind.may_contain_binary()
                && message.has_binary();
            let text = if binary {
                BASE64.encode(rmp_serde::to_vec_named(data).unwrap_or_default())
            } else {
                serde_json::to_string(data).unwrap_or_default()
            };
            fields.push(("data", text));
        }
        fields
    }
}

/// A stream entry's fields as a message.
fn entry_message(fields: &HashMap<String, Vec<u8>>) -> Option<Message> {
    let text = |k: &str| {
        fields
            .get(k)
            .map(|v| String::from_utf8_lossy(v).into_owned())
    };
    let kind = MessageType::from_u8(text("type")?.parse().ok()?)?;
    let data = match fields.get("data") {
        None => None,
        Some(raw) if raw.first() == Some(&b'{') => serde_json::from_slice::<Data>(raw).ok(),
        Some(raw) => {
            let bytes = BASE64.decode(raw).ok()?;
            rmp_serde::from_slice::<Data>(&bytes).ok()
        }
    };
    if data.is_none() && fields.contains_key("data") {
        tracing::debug!(target: "socketio::redis", "stream entry with unreadable data ignored");
        return None;
    }
    Some(Message::new(
        kind,
        data,
        &text("uid").unwrap_or_default(),
        &text("nsp")?,
    ))
}

impl Receiver for StreamsTransport {
    fn on_message(self: Arc<Self>, _role: Role, _channel: &[u8], payload: &[u8]) {
        let Some(adapter) = self.adapter() else {
            return;
        };
        match rmp_serde::from_slice::<Message>(payload) {
            Ok(message) => adapter.on_message(message, None),
            Err(e) => {
                tracing::debug!(target: "socketio::redis", ns = adapter.namespace().name(), "malformed message ignored: {e}");
            }
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

/// A session as Node's streams adapter keeps it: `{sid, pid, rooms, data}` in msgpack, in
/// base64.
#[derive(Serialize, Deserialize)]
struct WireSession {
    sid: String,
    pid: String,
    rooms: Vec<String>,
    #[serde(default = "nil")]
    data: rmpv::Value,
}

fn nil() -> rmpv::Value {
    rmpv::Value::Nil
}

fn is_offset(offset: &str) -> bool {
    offset.split_once('-').is_some_and(|(ms, seq)| {
        !ms.is_empty()
            && !seq.is_empty()
            && ms.bytes().all(|b| b.is_ascii_digit())
            && seq.bytes().all(|b| b.is_ascii_digit())
    })
}

/// The stream id right after `offset` (Node's `nextOffset`).
fn next_offset(offset: &str) -> Option<String> {
    let (ms, seq) = offset.split_once('-')?;
    Some(format!("{ms}-{}", seq.parse::<u64>().ok()?.checked_add(1)?))
}

/// Node's `shouldIncludePacket`.
fn should_include(rooms: &[Room], opts: &BroadcastOptions) -> bool {
    (opts.rooms().is_empty() || rooms.iter().any(|r| opts.rooms().contains(r)))
        && rooms.iter().all(|r| !opts.except().contains(r))
}

type Entries = Vec<(String, HashMap<String, Vec<u8>>)>;

/// Reads `XRANGE`/`XREAD` entries: `[[id, [field, value, ...]], ...]`.
fn parse_entries(value: &Value) -> Entries {
    let Value::Array(entries) = value else {
        return Vec::new();
    };
    entries
        .iter()
        .filter_map(|entry| {
            let Value::Array(parts) = entry else {
                return None;
            };
            let id = match parts.first()? {
                Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
                Value::SimpleString(s) => s.clone(),
                _ => return None,
            };
            let mut fields = HashMap::new();
            if let Some(Value::Array(kv)) = parts.get(1) {
                for pair in kv.chunks(2) {
                    if let [Value::BulkString(k), Value::BulkString(v)] = pair {
                        fields.insert(String::from_utf8_lossy(k).into_owned(), v.clone());
                    }
                }
            }
            Some((id, fields))
        })
        .collect()
}

impl StreamsTransport {
    async fn restore(
        shared: Arc<Shared>,
        stream: String,
        nsp: String,
        pid: String,
        offset: String,
    ) -> Option<StoredSession> {
        if !is_offset(&offset) {
            return None;
        }
        let mut conn = shared.commands.clone();
        let key = format!("{}{pid}", shared.config.session_key_prefix);
        let (raw, _): (Option<String>, i64) = tokio::time::timeout(
            COMMAND_TIMEOUT,
            redis::pipe()
                .atomic()
                .cmd("GET")
                .arg(&key)
                .cmd("DEL")
                .arg(&key)
                .query_async(&mut conn),
        )
        .await
        .ok()?
        .ok()?;
        let at_offset: Value = tokio::time::timeout(
            COMMAND_TIMEOUT,
            redis::cmd("XRANGE")
                .arg(&stream)
                .arg(&offset)
                .arg(&offset)
                .query_async(&mut conn),
        )
        .await
        .ok()?
        .ok()?;
        let raw = raw?;
        if parse_entries(&at_offset).is_empty() {
            tracing::debug!(target: "socketio::redis", %offset, "recovery offset not in the stream");
            return None;
        }
        let wire: WireSession = rmp_serde::from_slice(&BASE64.decode(raw.as_bytes()).ok()?).ok()?;
        let data = crate::wire::value_to_json(wire.data);
        let session = SessionRecord::new(
            wire.sid.parse::<Sid>().ok()?,
            wire.pid.parse::<Sid>().ok()?,
            wire.rooms.into_iter().map(Room::from).collect(),
            data,
        );
        let mut missed = Vec::new();
        let mut from = offset;
        for _ in 0..RESTORE_MAX_PAGES {
            let start = next_offset(&from)?;
            let page: Value = tokio::time::timeout(
                COMMAND_TIMEOUT,
                redis::cmd("XRANGE")
                    .arg(&stream)
                    .arg(&start)
                    .arg("+")
                    .arg("COUNT")
                    .arg(RESTORE_PAGE)
                    .query_async(&mut conn),
            )
            .await
            .ok()?
            .ok()?;
            let entries = parse_entries(&page);
            if entries.is_empty() {
                break;
            }
            for (id, fields) in entries {
                if fields.get("nsp").map(Vec::as_slice) == Some(nsp.as_bytes())
                    && fields.get("type").map(Vec::as_slice) == Some(b"3")
                    && let Some(message) = entry_message(&fields)
                    && let Some(data) = message.data
                    && let Some(opts) = &data.opts
                    && should_include(&session.rooms, opts)
                    && let Some(packet) = data.broadcast_event()
                {
                    missed.push((packet, id.clone()));
                }
                from = id;
            }
        }
        Some(StoredSession::new(session, missed))
    }
}

impl Transport for StreamsTransport {
    fn publish(&self, message: Message) -> BoxFuture<Option<String>> {
        if is_ephemeral(&message) {
            self.shared
                .conns
                .publish(self.public_channel.clone(), message.to_msgpack());
            return Box::pin(async { None });
        }
        let (id, rx) = oneshot::channel();
        let append = Append {
            stream: self.stream.clone(),
            fields: self.fields(&message),
            id,
        };
        if self.shared.appends.try_send(append).is_err() {
            tracing::debug!(target: "socketio::redis", "stream queue full: message dropped");
            return Box::pin(async { None });
        }
        Box::pin(async move { rx.await.ok().flatten() })
    }

    fn publish_response(&self, requester: &str, message: Message) {
        let channel = format!(
            "{}#{}#{requester}#",
            self.shared.config.channel_prefix, message.nsp
        );
        self.shared.conns.publish(channel, message.to_msgpack());
    }

    fn server_count(&self) -> BoxFuture<Option<usize>> {
        let conns = self.shared.conns.clone();
        let channel = self.public_channel.clone();
        let subscribed = self.subscribed.load(Ordering::Acquire);
        Box::pin(async move {
            let n = conns.numsub(&channel).await?;
            Some(n + usize::from(!subscribed))
        })
    }

    fn close(&self) {
        if self.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        self.shared.conns.unsubscribe(
            vec![self.public_channel.clone(), self.private_channel.clone()],
            Vec::new(),
        );
        if let Some(adapter) = self.adapter() {
            self.shared
                .namespaces
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(adapter.namespace().name());
        }
    }

    fn assigns_offsets(&self) -> bool {
        true
    }

    fn persist_session(&self, session: &SessionRecord, ttl: Duration) -> bool {
        let wire = WireSession {
            sid: session.sid.to_string(),
            pid: session.pid.to_string(),
            rooms: session.rooms.iter().map(|r| r.to_string()).collect(),
            data: rmpv::ext::to_value(&session.data).unwrap_or(rmpv::Value::Nil),
        };
        let encoded = BASE64.encode(rmp_serde::to_vec_named(&wire).unwrap_or_default());
        let key = format!("{}{}", self.shared.config.session_key_prefix, session.pid);
        let ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let mut conn = self.shared.commands.clone();
        tokio::spawn(async move {
            let mut cmd = redis::cmd("SET");
            cmd.arg(&key).arg(&encoded).arg("PX").arg(ms);
            let set = cmd.query_async::<()>(&mut conn);
            if !matches!(tokio::time::timeout(COMMAND_TIMEOUT, set).await, Ok(Ok(()))) {
                tracing::debug!(target: "socketio::redis", "session not saved: Redis unreachable");
            }
        });
        true
    }

    fn restore_session(&self, pid: &str, offset: &str) -> Option<BoxFuture<Option<StoredSession>>> {
        let nsp = self.adapter()?.namespace().name().to_owned();
        Some(Box::pin(StreamsTransport::restore(
            self.shared.clone(),
            self.stream.clone(),
            nsp,
            pid.to_owned(),
            offset.to_owned(),
        )))
    }
}

impl AdapterFactory for RedisStreamsAdapter {
    fn create_adapter(&self, ns: LocalNamespace) -> Arc<dyn Adapter> {
        let uid = random_id();
        let config = &self.shared.config;
        let public_channel = format!("{}#{}#", config.channel_prefix, ns.name());
        let transport = Arc::new(StreamsTransport {
            shared: self.shared.clone(),
            stream: stream_of(config, ns.name()),
            private_channel: format!("{public_channel}{uid}#"),
            public_channel,
            adapter: OnceLock::new(),
            subscribed: AtomicBool::new(false),
            closed: AtomicBool::new(false),
        });
        let name = ns.name().to_owned();
        let adapter = ClusterAdapter::new(
            ns,
            uid,
            transport.clone(),
            ClusterOptions::default().requests_timeout(config.requests_timeout),
        );
        let _ = transport.adapter.set(adapter.downgrade());
        self.shared
            .namespaces
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(name, Arc::downgrade(&transport));
        let receiver: Weak<dyn Receiver> = Arc::downgrade(&transport) as Weak<dyn Receiver>;
        self.shared.conns.subscribe(
            receiver,
            vec![
                (transport.public_channel.clone(), Role::Request),
                (transport.private_channel.clone(), Role::Response),
            ],
            Vec::new(),
        );
        Arc::new(adapter)
    }
}

/// Appends what is queued, `XADD <stream> MAXLEN ~ <max> * field value...` in one pipeline
/// per batch, and hands each entry its id (none when Redis failed).
async fn append_task(
    mut conn: ConnectionManager,
    mut queue: mpsc::Receiver<Append>,
    max_len: usize,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let mut pipe = redis::pipe();
        for a in &batch {
            let cmd = pipe
                .cmd("XADD")
                .arg(&a.stream)
                .arg("MAXLEN")
                .arg("~")
                .arg(max_len)
                .arg("*");
            for (k, v) in &a.fields {
                cmd.arg(*k).arg(v);
            }
        }
        let ids: Option<Vec<String>> =
            match tokio::time::timeout(COMMAND_TIMEOUT, pipe.query_async(&mut conn)).await {
                Ok(Ok(ids)) => Some(ids),
                Ok(Err(e)) => {
                    tracing::debug!(target: "socketio::redis", "XADD failed: {e}");
                    None
                }
                Err(_) => None,
            };
        let mut ids = ids.map(Vec::into_iter);
        for a in batch.drain(..) {
            let id = ids.as_mut().and_then(Iterator::next);
            let _ = a.id.send(id);
        }
    }
}

/// Reads one stream from its end: `XREAD BLOCK <block> COUNT <n> STREAMS <stream> <last>`,
/// handing each entry to its namespace with its id as offset. After an error it waits and
/// reads on from the last id it had, so nothing written meanwhile is skipped.
async fn read_task(mut conn: ConnectionManager, stream: String, shared: Weak<Shared>) {
    let mut last = "$".to_owned();
    let mut delay = MIN_RECONNECT_DELAY;
    loop {
        let Some((block, count)) = shared
            .upgrade()
            .map(|s| (s.config.block_time, s.config.read_count))
        else {
            return;
        };
        let read: Result<Value, RedisError> = redis::cmd("XREAD")
            .arg("BLOCK")
            .arg(u64::try_from(block.as_millis()).unwrap_or(u64::MAX))
            .arg("COUNT")
            .arg(count)
            .arg("STREAMS")
            .arg(&stream)
            .arg(&last)
            .query_async(&mut conn)
            .await;
        let Some(shared) = shared.upgrade() else {
            return;
        };
        let value = match read {
            Ok(v) => {
                delay = MIN_RECONNECT_DELAY;
                v
            }
            Err(e) => {
                tracing::debug!(target: "socketio::redis", %stream, "XREAD failed: {e}");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(MAX_RECONNECT_DELAY);
                continue;
            }
        };
        // `[[stream, entries]]` (RESP2) or `{stream: entries}` (RESP3); nil on timeout.
        let entries = match &value {
            Value::Array(streams) => streams
                .iter()
                .filter_map(|s| match s {
                    Value::Array(pair) => pair.get(1).map(parse_entries),
                    _ => None,
                })
                .flatten()
                .collect(),
            Value::Map(streams) => streams
                .iter()
                .flat_map(|(_, entries)| parse_entries(entries))
                .collect(),
            _ => Vec::new(),
        };
        for (id, fields) in entries {
            if let Some(message) = entry_message(&fields) {
                let transport = shared
                    .namespaces
                    .read()
                    .unwrap_or_else(PoisonError::into_inner)
                    .get(&message.nsp)
                    .and_then(Weak::upgrade);
                if let Some(adapter) = transport.and_then(|t| t.adapter()) {
                    adapter.on_message(message, Some(&id));
                }
            }
            last = id;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_names_as_node_computes_them() {
        let config = StreamsConfig::default().stream_count(3);
        assert_eq!(hash_code("/"), 47);
        assert_eq!(stream_of(&config, "/"), "socket.io-2");
        // The negative-index quirk of JavaScript's `%` (reference §4.5).
        // (Values from Node: `hashCode` of that name is -513311674.)
        assert_eq!(hash_code("/some/long/namespace/name"), -513_311_674);
        assert_eq!(
            stream_of(&config, "/some/long/namespace/name"),
            "socket.io--1"
        );
        let four = StreamsConfig::default().stream_count(4);
        assert_eq!(
            stream_of(&four, "/some/long/namespace/name"),
            "socket.io--2"
        );
        // JavaScript's `-0` prints as `0`.
        let two = StreamsConfig::default().stream_count(2);
        assert_eq!(stream_of(&two, "/some/long/namespace/name"), "socket.io-0");
        assert_eq!(stream_of(&StreamsConfig::default(), "/x"), "socket.io");
    }

    #[test]
    fn offsets() {
        assert!(is_offset("1712345678901-0"));
        assert!(!is_offset("1712345678901"));
        assert!(!is_offset("a-1"));
        assert!(!is_offset("-1"));
        assert_eq!(next_offset("17-4").as_deref(), Some("17-5"));
    }
}
