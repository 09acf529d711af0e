//! A Socket.IO socket: one client connected to one namespace.

use std::{
    collections::HashMap,
    fmt,
    net::SocketAddr,
    sync::{
        Arc, Mutex, MutexGuard, OnceLock, PoisonError, RwLock,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, SystemTime},
};

use http::{HeaderMap, request::Parts};
use serde::{Serialize, de::DeserializeOwned};
use tokio::sync::oneshot;
use tower_socketio_engine::{SendError, Sid, TransportKind};

use crate::{
    adapter::Room,
    args::Args,
    client::Conn,
    error::{AckError, DisconnectReason, EmitError},
    extract::EventContext,
    handler::{
        BoxDisconnectHandler, BoxEventHandler, DisconnectHandler, EventHandler, box_disconnect,
        box_event, spawn_now,
    },
    io::Shared,
    ns::NsInner,
    operators::{BroadcastOperator, IntoRooms, rooms_of},
    packet::{self, Frames},
};

/// The handshake details of a socket, as Node's `socket.handshake`.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Handshake {
    /// The headers of the handshake HTTP request.
    pub headers: HeaderMap,
    /// When the socket connected, as JavaScript's `Date#toString` writes it.
    pub time: String,
    /// The peer address, when the server was started with connect info
    /// (`into_make_service_with_connect_info::<SocketAddr>()`).
    pub address: Option<SocketAddr>,
    /// Whether the request was cross-origin (it had an `Origin` header).
    pub xdomain: bool,
    /// Whether the connection was encrypted (an `https` request URI).
    pub secure: bool,
    /// When the socket connected, in milliseconds since the Unix epoch.
    pub issued: u64,
    /// The handshake request's URL (path and query).
    pub url: String,
    /// The handshake request's query parameters (for repeated keys, the last one).
    pub query: HashMap<String, String>,
    /// The CONNECT auth payload (`{}` when the client sent none).
    pub auth: serde_json::Value,
}

impl Handshake {
    pub(crate) fn new(parts: &Parts, auth: serde_json::Value, now: SystemTime) -> Handshake {
        let issued = now
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        let query = form_urlencoded::parse(parts.uri.query().unwrap_or_default().as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        #[cfg(feature = "axum")]
        let address = parts
            .extensions
            .get::<axum::extract::ConnectInfo<SocketAddr>>()
            .map(|c| c.0);
        #[cfg(not(feature = "axum"))]
        let address = None;
        Handshake {
            headers: parts.headers.clone(),
            time: js_date_string(now),
            address,
            xdomain: parts.headers.contains_key(http::header::ORIGIN),
            secure: parts.uri.scheme_str() == Some("https"),
            issued,
            url: parts
                .uri
                .path_and_query()
                .map(|p| p.as_str().to_owned())
                .unwrap_or_default(),
            query,
            auth,
        }
    }
}

/// As Node sends `socket.handshake` to other servers (its `fetchSockets` answers): header
/// names in lower case with repeated headers joined (`set-cookie` as an array), the address as
/// an IP without port, the query parameters in their order in the URL.
impl Serialize for Handshake {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;

        struct Headers<'a>(&'a HeaderMap);
        impl Serialize for Headers<'_> {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let mut map = serializer.serialize_map(Some(self.0.keys_len()))?;
                for name in self.0.keys() {
                    let mut values = self
                        .0
                        .get_all(name)
                        .iter()
                        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
                    if name == http::header::SET_COOKIE {
                        map.serialize_entry(name.as_str(), &values.collect::<Vec<_>>())?;
                    } else {
                        let sep = if name == http::header::COOKIE {
                            "; "
                        } else {
                            ", "
                        };
                        let first = values.next().unwrap_or_default();
                        let joined = values.fold(first, |mut acc, v| {
                            acc.push_str(sep);
                            acc.push_str(&v);
                            acc
                        });
                        map.serialize_entry(name.as_str(), &joined)?;
                    }
                }
                map.end()
            }
        }

        struct Query<'a>(&'a Handshake);
        impl Serialize for Query<'_> {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let query = self.0.url.split_once('?').map_or("", |(_, q)| q);
                let mut seen = std::collections::HashSet::new();
                let mut map = serializer.serialize_map(Some(self.0.query.len()))?;
                for (key, _) in form_urlencoded::parse(query.as_bytes()) {
                    if seen.insert(key.clone())
                        && let Some(value) = self.0.query.get(key.as_ref())
                    {
                        map.serialize_entry(key.as_ref(), value)?;
                    }
                }
                // Parameters not in the URL (a handshake built by hand).
                for (key, value) in &self.0.query {
                    if !seen.contains(key.as_str()) {
                        map.serialize_entry(key, value)?;
                    }
                }
                map.end()
            }
        }

        let mut map = serializer.serialize_map(Some(9))?;
        map.serialize_entry("headers", &Headers(&self.headers))?;
        map.serialize_entry("time", &self.time)?;
        map.serialize_entry(
            "address",
            &self.address.map(|a| a.ip().to_string()).unwrap_or_default(),
        )?;
        map.serialize_entry("xdomain", &self.xdomain)?;
        map.serialize_entry("secure", &self.secure)?;
        map.serialize_entry("issued", &self.issued)?;
        map.serialize_entry("url", &self.url)?;
        map.serialize_entry("query", &Query(self))?;
        map.serialize_entry("auth", &self.auth)?;
        map.end()
    }
}

/// From what Node sends (see the `Serialize` implementation); lenient: headers that are not
/// valid HTTP are skipped, non-string query values kept as their JSON text, an address
/// without port gets port 0.
impl<'de> serde::Deserialize<'de> for Handshake {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(serde::Deserialize, Default)]
        #[serde(default)]
        struct Wire {
            headers: serde_json::Map<String, serde_json::Value>,
            time: String,
            address: String,
            xdomain: bool,
            secure: bool,
            issued: f64,
            url: String,
            query: serde_json::Map<String, serde_json::Value>,
            auth: serde_json::Value,
        }
        let wire = Wire::deserialize(deserializer)?;
        let mut headers = HeaderMap::new();
        for (name, value) in wire.headers {
            let Ok(name) = http::HeaderName::try_from(name) else {
                continue;
            };
            let values = match value {
                serde_json::Value::Array(items) => items,
                other => vec![other],
            };
            for value in values {
                let text = match value {
                    serde_json::Value::String(s) => s,
                    other => other.to_string(),
                };
                if let Ok(v) = http::HeaderValue::try_from(text) {
                    headers.append(name.clone(), v);
                }
            }
        }
        let address = wire.address.parse::<SocketAddr>().ok().or_else(|| {
            wire.address
                .parse::<std::net::IpAddr>()
                .ok()
                .map(|ip| SocketAddr::new(ip, 0))
        });
        let query = wire
            .query
            .into_iter()
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => (k, s),
                other => (k, other.to_string()),
            })
            .collect();
        Ok(Handshake {
            headers,
            time: wire.time,
            address,
            xdomain: wire.xdomain,
            secure: wire.secure,
            issued: if wire.issued.is_finite() && wire.issued > 0.0 {
                wire.issued as u64
            } else {
                0
            },
            url: wire.url,
            query,
            auth: if wire.auth.is_null() {
                serde_json::Value::Object(serde_json::Map::new())
            } else {
                wire.auth
            },
        })
    }
}

/// `Date#toString()` in UTC: `Mon Nov 23 2026 15:16:59 GMT+0000 (Coordinated Universal Time)`.
fn js_date_string(t: std::time::SystemTime) -> String {
    let t = time::OffsetDateTime::from(t);
    let fmt = time::macros::format_description!(
        "[weekday repr:short] [month repr:short] [day] [year] [hour]:[minute]:[second]"
    );
    let text = t.format(&fmt).unwrap_or_default();
    format!("{text} GMT+0000 (Coordinated Universal Time)")
}

/// The handlers of a socket. The lists read on every event are shared snapshots
/// (copy-on-write): dispatching clones an `Arc`, not a list. Sockets usually have a handful of
/// events, so they live in a vector (less memory per socket than a hash map, and a scan of a
/// few short names is as fast as hashing one).
#[derive(Default)]
struct Listeners {
    events: Vec<(Box<str>, CowList<Listener>)>,
    any: CowList<Listener>,
    any_outgoing: Vec<OutgoingListener>,
    middleware: CowList<SocketMiddleware>,
    disconnecting: Vec<BoxDisconnectHandler>,
    disconnect: Vec<BoxDisconnectHandler>,
}

impl Listeners {
    fn event(&self, name: &str) -> Option<&CowList<Listener>> {
        self.events
            .iter()
            .find(|(n, _)| &**n == name)
            .map(|(_, l)| l)
    }

    fn event_mut(&mut self, name: &str) -> &mut CowList<Listener> {
        let i = match self.events.iter().position(|(n, _)| &**n == name) {
            Some(i) => i,
            None => {
                self.events.push((name.into(), CowList::default()));
                self.events.len() - 1
            }
        };
        &mut self.events[i].1
    }
}

/// A copy-on-write list: an empty one allocates nothing, a non-empty one is a single
/// allocation shared by every snapshot. Changing it (rare: handlers are registered once)
/// builds a new list.
struct CowList<T>(Option<Arc<[T]>>);

impl<T> Default for CowList<T> {
    fn default() -> Self {
        CowList(None)
    }
}

impl<T> Clone for CowList<T> {
    fn clone(&self) -> Self {
        CowList(self.0.clone())
    }
}

impl<T: Clone> CowList<T> {
    fn as_slice(&self) -> &[T] {
        self.0.as_deref().unwrap_or_default()
    }

    fn is_empty(&self) -> bool {
        self.as_slice().is_empty()
    }

    fn push(&mut self, item: T) {
        // One allocation: the iterator knows its exact length.
        let old = self.as_slice().iter().cloned();
        self.0 = Some(old.chain(std::iter::once(item)).collect());
    }

    fn insert_first(&mut self, item: T) {
        let old = self.as_slice().iter().cloned();
        self.0 = Some(std::iter::once(item).chain(old).collect());
    }

    fn retain(&mut self, keep: impl FnMut(&T) -> bool) {
        let mut items = self.as_slice().to_vec();
        items.retain(keep);
        self.0 = (!items.is_empty()).then(|| Arc::from(items));
    }
}

#[derive(Clone)]
struct Listener {
    handler: BoxEventHandler,
    once: bool,
    id: u64,
}

/// A per-socket event middleware (Node's `socket.use`): sees every incoming event before its
/// handlers and may drop it by returning an error.
pub(crate) type SocketMiddleware =
    Arc<dyn Fn(&Socket, &str, &Args) -> Result<(), String> + Send + Sync>;

/// A listener of outgoing events (Node's `onAnyOutgoing`): sees the event name and the
/// encoded packet of every emit to this socket.
pub(crate) type OutgoingListener = Arc<dyn Fn(&Socket, &str) + Send + Sync>;

pub(crate) struct SocketInner {
    pub(crate) id: Sid,
    span: tracing::Span,
    /// The private session id (connection state recovery).
    pub(crate) pid: Option<Sid>,
    recovered: bool,
    pub(crate) ns: Arc<NsInner>,
    pub(crate) conn: Conn,
    /// The CONNECT auth payload.
    auth: serde_json::Value,
    /// When the socket was created (the handshake's `time` and `issued`).
    created: SystemTime,
    /// Built from the connection's request parts on first use: most sockets never ask, and
    /// it would otherwise hold a second copy of the headers per socket.
    handshake: OnceLock<Box<Handshake>>,
    connected: AtomicBool,
    /// Set once the socket disconnected or its connection was refused: `join` is a no-op
    /// from then on (Node's `_cleanup`). Before the connection (in middleware) `join` works.
    closed: AtomicBool,
    listeners: RwLock<Listeners>,
    next_listener: AtomicU64,
    acks: Mutex<HashMap<u64, AckTx>>,
    has_outgoing: AtomicBool,
    extensions: Mutex<http::Extensions>,
    data: Mutex<serde_json::Value>,
}

/// Where an acknowledgement goes: one `emit_with_ack`, or a broadcast gathering many.
pub(crate) enum AckTx {
    Single(oneshot::Sender<Args>),
    Broadcast(tokio::sync::mpsc::UnboundedSender<(Sid, Args)>),
}

/// A client connected to a namespace. Cheap to clone: clones share the socket.
///
/// Received as an extractor by connect and event handlers.
#[derive(Clone)]
pub struct Socket {
    pub(crate) inner: Arc<SocketInner>,
}

impl fmt::Debug for Socket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Socket")
            .field("id", &self.inner.id)
            .field("ns", &self.inner.ns.name())
            .finish()
    }
}

impl PartialEq for Socket {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl Eq for Socket {}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Socket {
    pub(crate) fn new(
        ns: Arc<NsInner>,
        conn: Conn,
        auth: serde_json::Value,
        restored: Option<&crate::adapter::SessionRecord>,
    ) -> Socket {
        let recovery = ns.shared().config.connection_state_recovery.is_some();
        let data = restored.map_or_else(
            || serde_json::Value::Object(serde_json::Map::new()),
            |r| r.data.clone(),
        );
        let id = restored.map_or_else(Sid::generate, |r| r.sid);
        let span = tracing::debug_span!(
            target: "socketio::socket",
            parent: &conn.data().span,
            "socketio.socket",
            sid = %id,
            ns = ns.name(),
        );
        Socket {
            inner: Arc::new(SocketInner {
                id,
                span,
                pid: match restored {
                    Some(r) => Some(r.pid),
                    None => recovery.then(Sid::generate),
                },
                recovered: restored.is_some(),
                ns,
                conn,
                auth,
                created: SystemTime::now(),
                handshake: OnceLock::new(),
                connected: AtomicBool::new(false),
                closed: AtomicBool::new(false),
                listeners: RwLock::new(Listeners::default()),
                next_listener: AtomicU64::new(0),
                acks: Mutex::new(HashMap::new()),
                has_outgoing: AtomicBool::new(false),
                extensions: Mutex::new(http::Extensions::new()),
                data: Mutex::new(data),
            }),
        }
    }

    /// The socket id: random, distinct per namespace, and distinct from the engine session id.
    pub fn id(&self) -> Sid {
        self.inner.id
    }

    /// The namespace name.
    pub fn ns(&self) -> &str {
        self.inner.ns.name()
    }

    /// The handshake details.
    pub fn handshake(&self) -> &Handshake {
        let inner = &*self.inner;
        inner.handshake.get_or_init(|| {
            Box::new(Handshake::new(
                &inner.conn.data().parts,
                inner.auth.clone(),
                inner.created,
            ))
        })
    }

    /// The CONNECT auth payload (`{}` when the client sent none), without building the whole
    /// [`Handshake`].
    pub(crate) fn auth(&self) -> &serde_json::Value {
        &self.inner.auth
    }

    /// The handshake HTTP request (headers, URI, and the extensions the outer middleware added).
    pub fn request_parts(&self) -> &Parts {
        &self.inner.conn.data().parts
    }

    /// The socket's tracing span (`socketio.socket`, target `socketio::socket`, fields `sid`
    /// and `ns`), a child of its connection's span, which follows from the handshake
    /// request's span. Handlers run inside it.
    pub fn span(&self) -> &tracing::Span {
        &self.inner.span
    }

    /// Runs a handler future inside the socket's span (see [`spawn_now`]).
    pub(crate) fn run(&self, fut: crate::handler::BoxFuture<()>) {
        if self.inner.span.is_disabled() {
            spawn_now(fut);
        } else {
            spawn_now(Box::pin(tracing::Instrument::instrument(
                fut,
                self.inner.span.clone(),
            )));
        }
    }

    /// Whether this socket recovered an earlier session (connection state recovery): same
    /// id, rooms and data, and the packets it missed were sent again.
    pub fn recovered(&self) -> bool {
        self.inner.recovered
    }

    /// Whether the socket is connected to its namespace.
    pub fn connected(&self) -> bool {
        self.inner.connected.load(Ordering::Acquire)
    }

    /// The transport the client uses now.
    pub fn transport(&self) -> TransportKind {
        self.inner.conn.transport()
    }

    /// Typed per-socket data: middleware can store values here for handlers
    /// ([`crate::extract::Extension`]).
    pub fn extensions(&self) -> MutexGuard<'_, http::Extensions> {
        lock(&self.inner.extensions)
    }

    /// The server this socket belongs to.
    pub fn io(&self) -> crate::SocketIo {
        crate::SocketIo::from_shared(self.shared())
    }

    /// The application state of type `T` given to [`crate::SocketIoBuilder::with_state`].
    pub fn state<T: Clone + Send + Sync + 'static>(&self) -> Option<T> {
        self.shared().state.get::<T>().cloned()
    }

    /// Free-form data attached to the socket (Node's `socket.data`): travels with
    /// [`BroadcastOperator::fetch_sockets`] results. An empty object at first.
    pub fn data(&self) -> serde_json::Value {
        lock(&self.inner.data).clone()
    }

    /// Replaces the socket's data.
    pub fn set_data(&self, data: serde_json::Value) {
        *lock(&self.inner.data) = data;
    }

    // ---------------------------------------------------------------------------------------
    // Rooms and broadcasting

    /// Joins one or more rooms.
    pub fn join(&self, rooms: impl IntoRooms) {
        if self.inner.closed.load(Ordering::Acquire) {
            return;
        }
        self.inner.ns.adapter().add_all(self.id(), &rooms_of(rooms));
    }

    /// Leaves a room.
    pub fn leave(&self, room: &str) {
        self.inner.ns.adapter().del(self.id(), room);
    }

    /// The rooms the socket is in (its own id included).
    pub fn rooms(&self) -> Vec<Room> {
        self.inner.ns.adapter().socket_rooms(self.id())
    }

    /// An operator targeting the sockets in `rooms`, this one excluded (Node's `socket.to`).
    pub fn to(&self, rooms: impl IntoRooms) -> BroadcastOperator {
        self.broadcast().to(rooms)
    }

    /// Same as [`Socket::to`] (Node's `socket.in`).
    pub fn within(&self, rooms: impl IntoRooms) -> BroadcastOperator {
        self.to(rooms)
    }

    /// An operator targeting every socket of the namespace but this one and those in `rooms`.
    pub fn except(&self, rooms: impl IntoRooms) -> BroadcastOperator {
        self.broadcast().except(rooms)
    }

    /// An operator targeting every other socket of the namespace, on this node only.
    pub fn local(&self) -> BroadcastOperator {
        self.broadcast().local()
    }

    /// An operator targeting every other socket of the namespace.
    pub fn broadcast(&self) -> BroadcastOperator {
        BroadcastOperator::except_socket(self.inner.ns.clone(), self.id())
    }

    pub(crate) fn shared(&self) -> &Shared {
        self.inner.ns.shared()
    }

    /// A socket whose connection was refused (or whose client left while it connected):
    /// leaves the rooms a middleware may have joined, and joins no more.
    pub(crate) fn cleanup_refused(&self) {
        self.inner.closed.store(true, Ordering::Release);
        self.inner.ns.adapter().del_all(self.id());
    }

    pub(crate) fn set_connected(&self, connected: bool) {
        self.inner.connected.store(connected, Ordering::Release);
    }

    // ---------------------------------------------------------------------------------------
    // Listeners

    fn listeners_mut(&self) -> std::sync::RwLockWriteGuard<'_, Listeners> {
        self.inner
            .listeners
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn new_listener<H: EventHandler<T>, T>(&self, handler: H, once: bool) -> Listener {
        Listener {
            handler: box_event(handler),
            once,
            id: self.inner.next_listener.fetch_add(1, Ordering::Relaxed),
        }
    }

    fn add_listener<H: EventHandler<T>, T>(&self, event: &str, handler: H, once: bool) {
        let listener = self.new_listener(handler, once);
        self.listeners_mut().event_mut(event).push(listener);
    }

    /// Registers a handler for `event`.
    ///
    /// ```
    /// use tower_socketio::{extract::Data, Socket, SocketIo};
    ///
    /// let io = SocketIo::new();
    /// io.ns("/", |socket: Socket| async move {
    ///     socket.on("chat message", |socket: Socket, Data(msg): Data<String>| async move {
    ///         let _ = socket.emit("chat message", &msg);
    ///     });
    /// });
    /// ```
    pub fn on<H: EventHandler<T>, T>(&self, event: impl AsRef<str>, handler: H) {
        self.add_listener(event.as_ref(), handler, false);
    }

    /// Registers a handler for the next `event` only.
    pub fn once<H: EventHandler<T>, T>(&self, event: impl AsRef<str>, handler: H) {
        self.add_listener(event.as_ref(), handler, true);
    }

    /// Removes every handler of `event`.
    pub fn off(&self, event: impl AsRef<str>) {
        let mut l = self.listeners_mut();
        l.events.retain(|(name, _)| **name != *event.as_ref());
    }

    /// Registers a catch-all handler, run for every incoming event before the event's own
    /// handlers (use the [`crate::extract::Event`] extractor for the name).
    pub fn on_any<H: EventHandler<T>, T>(&self, handler: H) {
        let listener = self.new_listener(handler, false);
        self.listeners_mut().any.push(listener);
    }

    /// Like [`Socket::on_any`], run before the catch-all handlers registered so far.
    pub fn prepend_any<H: EventHandler<T>, T>(&self, handler: H) {
        let listener = self.new_listener(handler, false);
        self.listeners_mut().any.insert_first(listener);
    }

    /// Removes every catch-all handler.
    pub fn off_any(&self) {
        let mut l = self.listeners_mut();
        l.any = CowList::default();
    }

    /// Registers a listener of outgoing events: called with the event name for every emit to
    /// this socket (acknowledgements excluded).
    pub fn on_any_outgoing(&self, listener: impl Fn(&Socket, &str) + Send + Sync + 'static) {
        let mut l = self.listeners_mut();
        l.any_outgoing.push(Arc::new(listener));
        self.inner.has_outgoing.store(true, Ordering::Release);
    }

    /// Removes every outgoing listener.
    pub fn off_any_outgoing(&self) {
        let mut l = self.listeners_mut();
        l.any_outgoing.clear();
        self.inner.has_outgoing.store(false, Ordering::Release);
    }

    /// Adds a per-socket middleware (Node's `socket.use`): it sees every incoming event (name
    /// and arguments) before the handlers, in order; an `Err` drops the event (logged).
    pub fn use_middleware(
        &self,
        middleware: impl Fn(&Socket, &str, &Args) -> Result<(), String> + Send + Sync + 'static,
    ) {
        let mut l = self.listeners_mut();
        l.middleware.push(Arc::new(middleware));
    }

    /// Registers a handler run when the socket starts disconnecting; its rooms are still
    /// visible then.
    pub fn on_disconnecting<H: DisconnectHandler>(&self, handler: H) {
        let mut l = self.listeners_mut();
        l.disconnecting.push(box_disconnect(handler));
    }

    /// Registers a handler run when the socket has disconnected, with the reason.
    pub fn on_disconnect<H: DisconnectHandler>(&self, handler: H) {
        let mut l = self.listeners_mut();
        l.disconnect.push(box_disconnect(handler));
    }

    // ---------------------------------------------------------------------------------------
    // Emitting

    /// Emits `event` to this client. `data` gives the arguments: a tuple is several arguments,
    /// `()` none, anything else one argument; `bytes::Bytes` values travel as binary.
    ///
    /// ```
    /// # use tower_socketio::{Socket, SocketIo};
    /// # fn f(socket: Socket) {
    /// socket.emit("hello", "world").ok();              // one argument
    /// socket.emit("scores", &("alice", 3, true)).ok(); // three arguments
    /// socket.emit("ping", &()).ok();                   // none
    /// # }
    /// ```
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, data: &T) -> Result<(), EmitError> {
        self.emitter().emit(event, data)
    }

    /// Emits `event` and waits for the client's acknowledgement (at most the configured
    /// `ack_timeout`, unless [`Socket::timeout`] gives another), deserialized as `T` with the
    /// rule of [`crate::extract::Data`].
    pub async fn emit_with_ack<T: DeserializeOwned, D: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &D,
    ) -> Result<T, AckError> {
        self.emitter().emit_with_ack(event, data).await
    }

    /// Emits a `message` event (Node's `socket.send`).
    pub fn send<T: Serialize + ?Sized>(&self, data: &T) -> Result<(), EmitError> {
        self.emit("message", data)
    }

    /// An emitter whose packets are dropped when the client is not ready to receive them
    /// (Node's `socket.volatile`).
    pub fn volatile(&self) -> SocketEmitter<'_> {
        SocketEmitter {
            volatile: true,
            ..self.emitter()
        }
    }

    /// An emitter with an acknowledgement timeout (Node's `socket.timeout(ms)`).
    pub fn timeout(&self, timeout: Duration) -> SocketEmitter<'_> {
        SocketEmitter {
            timeout: Some(timeout),
            ..self.emitter()
        }
    }

    /// An emitter with the `compress` flag (accepted for compatibility: WebSocket
    /// permessage-deflate is not supported, and polling responses are compressed by a
    /// compression layer when the client accepts it).
    pub fn compress(&self, compress: bool) -> SocketEmitter<'_> {
        SocketEmitter {
            compress,
            ..self.emitter()
        }
    }

    fn emitter(&self) -> SocketEmitter<'_> {
        SocketEmitter {
            socket: self,
            volatile: false,
            timeout: None,
            compress: true,
        }
    }

    /// Queues the frames of one packet.
    pub(crate) fn send_frames(&self, frames: &Frames, volatile: bool) -> Result<(), EmitError> {
        let res = if volatile {
            self.inner.conn.send_volatile(frames)
        } else {
            self.inner.conn.send_all(frames)
        };
        res.map_err(|e| match e {
            SendError::Full => EmitError::QueueFull,
            SendError::Dropped => EmitError::Dropped,
            _ => EmitError::Disconnected,
        })
    }

    pub(crate) fn has_outgoing_listeners(&self) -> bool {
        self.inner.has_outgoing.load(Ordering::Acquire)
    }

    pub(crate) fn notify_outgoing(&self, event: &str) {
        if !self.has_outgoing_listeners() {
            return;
        }
        let listeners = {
            let l = self
                .inner
                .listeners
                .read()
                .unwrap_or_else(PoisonError::into_inner);
            if l.any_outgoing.is_empty() {
                return;
            }
            l.any_outgoing.clone()
        };
        for f in listeners {
            f(self, event);
        }
    }

    /// Sends an acknowledgement for `id`.
    pub(crate) fn send_ack<T: Serialize + ?Sized>(
        &self,
        id: u64,
        data: &T,
    ) -> Result<(), EmitError> {
        let frames = packet::ack(self.shared().config.parser, self.ns(), id, data)?;
        self.send_frames(&frames, false)
    }

    // ---------------------------------------------------------------------------------------
    // Disconnecting

    /// Disconnects the socket from its namespace: the client receives a DISCONNECT and
    /// `disconnect` handlers run with [`DisconnectReason::ServerNamespaceDisconnect`]. With
    /// `close`, the whole connection is closed (every namespace of this client).
    pub fn disconnect(&self, close: bool) {
        if close {
            // As Node: every namespace of the client is disconnected (each client socket
            // receives a DISCONNECT), then the connection is closed once they are flushed.
            for socket in crate::client::sockets_of(&self.inner.conn) {
                socket.disconnect(false);
            }
            self.disconnect(false);
            self.inner
                .conn
                .close(tower_socketio_engine::CloseReason::ForcedServerClose);
            return;
        }
        if self.connected() {
            let frame = packet::disconnect(self.shared().config.parser, self.ns());
            let _ = self.inner.conn.send(frame);
        }
        self.disconnect_with(DisconnectReason::ServerNamespaceDisconnect);
    }

    /// Leaves the namespace for `reason`: runs `disconnecting` handlers, removes the socket,
    /// fails pending acknowledgements, runs `disconnect` handlers. Idempotent.
    pub(crate) fn disconnect_with(&self, reason: DisconnectReason) {
        if !self.inner.connected.swap(false, Ordering::AcqRel) {
            return;
        }
        self.inner.closed.store(true, Ordering::Release);
        let (disconnecting, disconnect) = {
            let l = self
                .inner
                .listeners
                .read()
                .unwrap_or_else(PoisonError::into_inner);
            (l.disconnecting.clone(), l.disconnect.clone())
        };
        for h in disconnecting {
            self.run(h(self.clone(), reason));
        }
        if let Some(pid) = self.inner.pid
            && reason.is_recoverable()
        {
            self.inner
                .ns
                .adapter()
                .persist_session(crate::adapter::SessionRecord::new(
                    self.id(),
                    pid,
                    self.rooms(),
                    self.data(),
                ));
        }
        self.inner.ns.adapter().del_all(self.id());
        self.inner.ns.remove_socket(self);
        crate::client::forget_socket(&self.inner.conn, self.ns());
        lock(&self.inner.acks).clear();
        for h in disconnect {
            self.run(h(self.clone(), reason));
        }
        // Drop the handlers: they may hold clones of this socket.
        *self.listeners_mut() = Listeners::default();
        tracing::debug!(target: "socketio::socket", sid = %self.id(), ns = self.ns(), %reason, "disconnected");
    }

    // ---------------------------------------------------------------------------------------
    // Incoming

    /// Dispatches an incoming event to the middleware, catch-all and event handlers.
    pub(crate) fn on_event(
        &self,
        event: tower_socketio_protocol::Str,
        args: Args,
        ack_id: Option<u64>,
    ) {
        let (middleware, any, listeners) = {
            let l = self
                .inner
                .listeners
                .read()
                .unwrap_or_else(PoisonError::into_inner);
            (
                l.middleware.clone(),
                l.any.clone(),
                l.event(&event).cloned().unwrap_or_default(),
            )
        };
        let cx = EventContext {
            socket: self.clone(),
            event,
            args,
            ack_id,
        };
        for l in any.as_slice() {
            if let Some(fut) = (l.handler)(&cx) {
                self.run(fut);
            }
        }
        for m in middleware.as_slice() {
            if let Err(e) = m(self, &cx.event, &cx.args) {
                tracing::debug!(target: "socketio::socket", sid = %self.id(), event = %cx.event, "event refused by middleware: {e}");
                return;
            }
        }
        if listeners.is_empty() {
            tracing::trace!(target: "socketio::socket", sid = %self.id(), event = %cx.event, "no handler");
            return;
        }
        if listeners.as_slice().iter().any(|l| l.once) {
            let once: Vec<u64> = listeners
                .as_slice()
                .iter()
                .filter(|l| l.once)
                .map(|l| l.id)
                .collect();
            let mut l = self.listeners_mut();
            l.event_mut(&cx.event).retain(|l| !once.contains(&l.id));
            l.events.retain(|(_, list)| !list.is_empty());
        }
        for l in listeners.as_slice() {
            if let Some(fut) = (l.handler)(&cx) {
                self.run(fut);
            }
        }
    }

    /// An acknowledgement from the client. Unknown ids are ignored.
    pub(crate) fn on_ack(&self, id: u64, args: Args) {
        match lock(&self.inner.acks).remove(&id) {
            Some(AckTx::Single(tx)) => {
                let _ = tx.send(args);
            }
            Some(AckTx::Broadcast(tx)) => {
                let _ = tx.send((self.id(), args));
            }
            None => {}
        }
    }

    pub(crate) fn expect_broadcast_ack(
        &self,
        id: u64,
        tx: tokio::sync::mpsc::UnboundedSender<(Sid, Args)>,
    ) {
        lock(&self.inner.acks).insert(id, AckTx::Broadcast(tx));
    }

    pub(crate) fn forget_ack(&self, id: u64) {
        lock(&self.inner.acks).remove(&id);
    }
}

/// Emits to one socket with flags (see [`Socket::volatile`], [`Socket::timeout`],
/// [`Socket::compress`]).
#[derive(Debug, Clone, Copy)]
pub struct SocketEmitter<'a> {
    socket: &'a Socket,
    volatile: bool,
    timeout: Option<Duration>,
    compress: bool,
}

impl SocketEmitter<'_> {
    /// Sets the volatile flag.
    #[must_use]
    pub fn volatile(mut self) -> Self {
        self.volatile = true;
        self
    }

    /// Sets the acknowledgement timeout.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Sets the compress flag.
    #[must_use]
    pub fn compress(mut self, compress: bool) -> Self {
        self.compress = compress;
        self
    }

    /// Emits `event` (see [`Socket::emit`]).
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, data: &T) -> Result<(), EmitError> {
        check_event(event)?;
        let socket = self.socket;
        let frames = if socket.inner.pid.is_some() && !self.volatile {
            // With connection state recovery, an emit to one socket is a broadcast to its own
            // room (as in Node), so it is kept for the client's recovery.
            let opts = crate::adapter::BroadcastOptions::default()
                .with_rooms([Room::from(socket.id().as_str())]);
            // An adapter whose offsets come from the cluster publishes it first (so that
            // another server can replay it to this client) and delivers it here itself.
            if socket.inner.ns.emit_through_adapter(event, data, &opts)? {
                return Ok(());
            }
            socket.inner.ns.encode_event(event, data, &opts)?
        } else {
            packet::event(
                socket.shared().config.parser,
                socket.ns(),
                event,
                data,
                None,
                None,
            )?
        };
        match socket.send_frames(&frames, self.volatile) {
            // A dropped volatile packet is not an error (as in Node and for broadcasts).
            Ok(()) | Err(EmitError::Dropped) => {}
            Err(e) => return Err(e),
        }
        socket.notify_outgoing(event);
        Ok(())
    }

    /// Emits `event` and waits for the acknowledgement (see [`Socket::emit_with_ack`]).
    pub async fn emit_with_ack<T: DeserializeOwned, D: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &D,
    ) -> Result<T, AckError> {
        let args = self.emit_with_ack_args(event, data).await?;
        Ok(args.get()?)
    }

    /// Emits `event` and waits for the acknowledgement's raw arguments.
    pub async fn emit_with_ack_args<D: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &D,
    ) -> Result<Args, AckError> {
        check_event(event)?;
        let socket = self.socket;
        let inner = &socket.inner;
        let id = inner.ns.next_ack_id();
        let frames = packet::event(
            socket.shared().config.parser,
            socket.ns(),
            event,
            data,
            Some(id),
            None,
        )?;
        let (tx, rx) = oneshot::channel();
        lock(&inner.acks).insert(id, AckTx::Single(tx));
        // Forgets the id however this ends: answered, timed out, or the future dropped.
        let _forget = ForgetAck { socket, id };
        socket.send_frames(&frames, self.volatile)?;
        socket.notify_outgoing(event);
        let timeout = self.timeout.unwrap_or(socket.shared().config.ack_timeout);
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(args)) => Ok(args),
            Ok(Err(_)) => Err(AckError::Disconnected),
            Err(_) => Err(AckError::Timeout),
        }
    }
}

/// Removes an acknowledgement id from its socket when dropped.
struct ForgetAck<'a> {
    socket: &'a Socket,
    id: u64,
}

impl Drop for ForgetAck<'_> {
    fn drop(&mut self) {
        self.socket.forget_ack(self.id);
    }
}

pub(crate) fn check_event(event: &str) -> Result<(), EmitError> {
    if tower_socketio_protocol::socketio::RESERVED_EVENTS.contains(&event) {
        return Err(EmitError::ReservedEvent(event.to_owned()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::time::Duration;

    use axum::body::Body;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use super::*;

    impl Socket {
        /// The acknowledgements this socket waits for.
        fn pending_acks(&self) -> usize {
            lock(&self.inner.acks).len()
        }
    }

    async fn send(app: &axum::Router, method: &str, uri: &str, body: &str) -> String {
        let req = http::Request::builder()
            .method(method)
            .uri(uri)
            .header("content-type", "text/plain;charset=UTF-8")
            .body(Body::from(body.to_owned()))
            .unwrap();
        let res = tokio::time::timeout(Duration::from_secs(5), app.clone().oneshot(req))
            .await
            .unwrap()
            .unwrap();
        let body = res.into_body().collect().await.unwrap().to_bytes();
        String::from_utf8_lossy(&body).into_owned()
    }

    /// A connected socket of the main namespace, over polling.
    async fn connected(io: &crate::SocketIo, app: &axum::Router) -> Socket {
        let open = send(app, "GET", "/socket.io/?EIO=4&transport=polling", "").await;
        let start = open.find("\"sid\":\"").unwrap() + 7;
        let sid = &open[start..start + open[start..].find('"').unwrap()];
        let url = format!("/socket.io/?EIO=4&transport=polling&sid={sid}");
        assert_eq!(send(app, "POST", &url, "40").await, "ok");
        assert!(send(app, "GET", &url, "").await.starts_with("40{"));
        io.sockets().pop().unwrap()
    }

    /// An `emit_with_ack` whose future is dropped before the answer (a caller's own timeout,
    /// a cancelled task) forgets its acknowledgement id: nothing stays behind per call.
    #[tokio::test]
    async fn dropped_emit_with_ack_futures_forget_their_ids() {
        let io = crate::SocketIo::new();
        let app = axum::Router::new().layer(io.layer());
        let socket = connected(&io, &app).await;
        for _ in 0..10 {
            let emitter = socket.timeout(Duration::from_secs(60));
            let wait = emitter.emit_with_ack::<serde_json::Value, _>("question", &());
            assert!(
                tokio::time::timeout(Duration::from_millis(5), wait)
                    .await
                    .is_err()
            );
        }
        assert_eq!(socket.pending_acks(), 0);
        for _ in 0..10 {
            let op = io.timeout(Duration::from_secs(60));
            let wait = op.emit_with_ack("question", &());
            assert!(
                tokio::time::timeout(Duration::from_millis(5), wait)
                    .await
                    .is_err()
            );
        }
        assert_eq!(socket.pending_acks(), 0);
        // While one waits, its id is there.
        let op = socket.timeout(Duration::from_secs(60));
        let mut wait = Box::pin(op.emit_with_ack::<serde_json::Value, _>("question", &()));
        let waker = futures_util::task::noop_waker();
        let mut cx = std::task::Context::from_waker(&waker);
        assert!(wait.as_mut().poll(&mut cx).is_pending());
        assert_eq!(socket.pending_acks(), 1);
        drop(wait);
        assert_eq!(socket.pending_acks(), 0);
    }
}
