//! Namespaces: static ones, and dynamic ones created on demand by a pattern or a predicate.

use std::{
    collections::HashMap,
    fmt,
    sync::{
        Arc, PoisonError, RwLock, Weak,
        atomic::{AtomicU64, Ordering},
    },
};

use serde::{Serialize, de::DeserializeOwned};
use tower_socketio_engine::Sid;

use crate::{
    adapter::{
        Adapter, BroadcastOptions, EncodedPacket, LocalAdapter, LocalNamespace, PacketData, Room,
        ServerSideAck,
    },
    args::{Args, ArgsError},
    error::{DisconnectReason, EmitError},
    handler::{BoxConnectHandler, BoxFuture, BoxMiddleware, ConnectMiddleware, box_middleware},
    io::Shared,
    operators::{BroadcastOperator, IntoRooms},
    socket::Socket,
};

pub(crate) struct NsInner {
    name: String,
    shared: Arc<Shared>,
    connect: RwLock<Option<BoxConnectHandler>>,
    middleware: RwLock<Vec<BoxMiddleware>>,
    sockets: RwLock<HashMap<Sid, Socket>>,
    adapter: Arc<dyn Adapter>,
    /// Acknowledgement ids, shared by the sockets and broadcasts of the namespace (as Node).
    next_ack: AtomicU64,
    /// The dynamic parent that created this namespace, for the cleanup of empty children.
    parent: Option<Weak<DynInner>>,
    /// Listeners of events sent by other servers (`serverSideEmit`), by event name.
    server_side: RwLock<Vec<(Box<str>, ServerSideHandler)>>,
    /// Connection attempts in progress on this namespace (see [`Attempt`]).
    attempts: std::sync::atomic::AtomicUsize,
    /// Whether a socket ever connected: a dynamic child that never had one is removed once
    /// no attempt holds it.
    ever_connected: std::sync::atomic::AtomicBool,
}

/// A listener of server-side events.
pub(crate) type ServerSideHandler = Arc<dyn Fn(ServerSideEvent) -> BoxFuture<()> + Send + Sync>;

impl fmt::Debug for NsInner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NsInner")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl NsInner {
    pub(crate) fn new(
        name: String,
        shared: Arc<Shared>,
        connect: Option<BoxConnectHandler>,
        middleware: Vec<BoxMiddleware>,
        parent: Option<Weak<DynInner>>,
    ) -> Arc<NsInner> {
        Arc::new_cyclic(|weak| {
            let local =
                LocalNamespace::new(&name, weak.clone(), shared.config.connection_state_recovery);
            let adapter: Arc<dyn Adapter> = match &shared.adapter {
                Some(factory) => factory.create_adapter(local),
                None => Arc::new(LocalAdapter::for_namespace(&local)),
            };
            NsInner {
                name,
                connect: RwLock::new(connect),
                middleware: RwLock::new(middleware),
                sockets: RwLock::new(HashMap::new()),
                adapter,
                next_ack: AtomicU64::new(0),
                parent,
                server_side: RwLock::new(Vec::new()),
                attempts: std::sync::atomic::AtomicUsize::new(0),
                ever_connected: std::sync::atomic::AtomicBool::new(false),
                shared,
            }
        })
    }

    pub(crate) fn adapter(&self) -> &Arc<dyn Adapter> {
        &self.adapter
    }

    /// Encodes an event without acknowledgement for the sockets `opts` targets. With
    /// connection state recovery (and unless volatile) the packet gets an offset and is kept
    /// for clients that reconnect.
    pub(crate) fn encode_event<T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
        opts: &BroadcastOptions,
    ) -> Result<crate::packet::Frames, EmitError> {
        let parser = self.shared.config.parser;
        let offset = if opts.flags().volatile {
            None
        } else {
            self.adapter.next_offset()
        };
        let frames =
            crate::packet::event(parser, &self.name, event, data, None, offset.as_deref())?;
        if let Some(offset) = &offset {
            self.adapter
                .store_packet(offset, opts, &EncodedPacket::new(frames.clone()));
        }
        Ok(frames)
    }

    /// Hands a recoverable emit to an adapter whose offsets come from the cluster, when that
    /// is the case: `true` when it took it (it delivers locally itself, once published).
    pub(crate) fn emit_through_adapter<T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
        opts: &BroadcastOptions,
    ) -> Result<bool, EmitError> {
        let flags = opts.flags();
        if flags.volatile
            || flags.local
            || self.shared.config.connection_state_recovery.is_none()
            || !self.adapter.assigns_offsets()
        {
            return Ok(false);
        }
        let data = PacketData::event(event, data)?;
        self.adapter.broadcast_recoverable(&data, opts);
        Ok(true)
    }

    pub(crate) fn next_ack_id(&self) -> u64 {
        self.next_ack.fetch_add(1, Ordering::Relaxed)
    }

    /// Calls `f` for every local connected socket `opts` targets. The socket map is locked
    /// for the duration: `f` must not call back into the namespace.
    pub(crate) fn for_each_target(&self, opts: &BroadcastOptions, f: &mut dyn FnMut(&Socket)) {
        let sockets = self.sockets.read().unwrap_or_else(PoisonError::into_inner);
        if opts.targets_everyone() {
            // Everyone: straight over the socket map, no room lookups.
            for socket in sockets.values() {
                f(socket);
            }
            return;
        }
        let all = |g: &mut dyn FnMut(Sid)| {
            for sid in sockets.keys() {
                g(*sid);
            }
        };
        self.adapter.for_each(opts, &all, &mut |sid| {
            if let Some(socket) = sockets.get(&sid) {
                f(socket);
            }
        });
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn shared(&self) -> &Shared {
        &self.shared
    }

    pub(crate) fn connect_handler(&self) -> Option<BoxConnectHandler> {
        self.connect
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn set_connect_handler(&self, handler: BoxConnectHandler) {
        *self.connect.write().unwrap_or_else(PoisonError::into_inner) = Some(handler);
    }

    pub(crate) fn middleware(&self) -> Vec<BoxMiddleware> {
        self.middleware
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn add_socket(&self, socket: &Socket) {
        self.ever_connected.store(true, Ordering::Release);
        self.sockets
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(socket.id(), socket.clone());
    }

    pub(crate) fn remove_socket(&self, socket: &Socket) {
        let empty = {
            let mut sockets = self.sockets.write().unwrap_or_else(PoisonError::into_inner);
            sockets.remove(&socket.id());
            sockets.is_empty()
        };
        if empty
            && self.shared.config.cleanup_empty_child_namespaces
            && let Some(parent) = self.parent.as_ref().and_then(Weak::upgrade)
        {
            parent.remove_child_if_empty(&self.name);
        }
    }

    pub(crate) fn has_socket(&self, sid: Sid) -> bool {
        self.sockets
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .contains_key(&sid)
    }

    /// An event from another server: handed to every server-side listener of its name.
    pub(crate) fn on_server_side_event(
        &self,
        event: String,
        args: Args,
        ack: Option<ServerSideAck>,
    ) {
        let handlers: Vec<ServerSideHandler> = self
            .server_side
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter(|(name, _)| **name == *event)
            .map(|(_, h)| h.clone())
            .collect();
        if handlers.is_empty() {
            tracing::trace!(target: "socketio::ns", ns = %self.name, %event, "no server-side listener");
            return;
        }
        for handler in handlers {
            crate::handler::spawn_now(handler(ServerSideEvent {
                event: event.clone(),
                args: args.clone(),
                ack: ack.clone(),
            }));
        }
    }

    pub(crate) fn sockets(&self) -> Vec<Socket> {
        self.sockets
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect()
    }

    pub(crate) fn len(&self) -> usize {
        self.sockets
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A namespace handle, from [`crate::SocketIo::ns`] or [`crate::SocketIo::of`].
#[derive(Clone)]
pub struct Namespace {
    pub(crate) inner: Arc<NsInner>,
}

impl fmt::Debug for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Namespace")
            .field("name", &self.inner.name)
            .field("sockets", &self.inner.len())
            .finish()
    }
}

impl Namespace {
    /// The name (`/`, `/admin`, ...).
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Adds a middleware run, in order of addition, before a socket may connect (Node's
    /// `namespace.use`). It takes connect extractors and returns `Result<(), E>` with
    /// `E: Into<ConnectError>`; an error refuses the connection and the client receives
    /// `connect_error` with its message and data.
    ///
    /// ```
    /// use tower_socketio::{extract::Auth, ConnectError, Socket, SocketIo};
    ///
    /// let io = SocketIo::new();
    /// io.ns("/admin", |_socket: Socket| async move {})
    ///     .middleware(|Auth(token): Auth<String>| async move {
    ///         if token == "secret" { Ok(()) } else { Err(ConnectError::new("not authorized")) }
    ///     });
    /// ```
    pub fn middleware<M: ConnectMiddleware<T>, T>(&self, middleware: M) -> &Self {
        self.inner
            .middleware
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .push(box_middleware(middleware));
        self
    }

    /// The connected sockets.
    pub fn sockets(&self) -> Vec<Socket> {
        self.inner.sockets()
    }

    /// The connected socket with this id.
    pub fn get_socket(&self, id: &Sid) -> Option<Socket> {
        self.inner
            .sockets
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(id)
            .cloned()
    }

    /// The number of connected sockets.
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// Whether no socket is connected.
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }

    /// Emits `event` to every socket of the namespace. The packet is encoded once.
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, data: &T) -> Result<(), EmitError> {
        self.broadcast().emit(event, data)
    }

    /// An operator targeting every socket of the namespace.
    pub fn broadcast(&self) -> BroadcastOperator {
        BroadcastOperator::new(self.inner.clone())
    }

    /// An operator targeting the sockets in `rooms` (Node's `in`, same as `to`).
    pub fn within(
        &self,
        rooms: impl crate::operators::IntoRooms,
    ) -> crate::operators::BroadcastOperator {
        self.broadcast().to(rooms)
    }

    /// An operator targeting every socket, on this node only.
    pub fn local(&self) -> crate::operators::BroadcastOperator {
        self.broadcast().local()
    }

    /// An operator whose packets are dropped for clients not ready to receive them.
    pub fn volatile(&self) -> crate::operators::BroadcastOperator {
        self.broadcast().volatile()
    }

    /// An operator with the compress flag.
    pub fn compress(&self, compress: bool) -> crate::operators::BroadcastOperator {
        self.broadcast().compress(compress)
    }

    /// An operator whose `emit_with_ack` waits at most `timeout`.
    pub fn timeout(&self, timeout: std::time::Duration) -> crate::operators::BroadcastOperator {
        self.broadcast().timeout(timeout)
    }

    /// An operator targeting the sockets in `rooms` (Node's `to` / `in`).
    pub fn to(&self, rooms: impl IntoRooms) -> BroadcastOperator {
        self.broadcast().to(rooms)
    }

    /// An operator targeting every socket but those in `rooms`.
    pub fn except(&self, rooms: impl IntoRooms) -> BroadcastOperator {
        self.broadcast().except(rooms)
    }

    /// Sends `event` to the other servers of the cluster (Node's `serverSideEmit`); a
    /// single server has none, so this does nothing there. The reserved names `connect`,
    /// `connection` and `new_namespace` are refused.
    pub fn server_side_emit<T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
    ) -> Result<(), EmitError> {
        let data = server_side_data(event, data)?;
        self.inner.adapter().server_side_emit(&data);
        Ok(())
    }

    /// Like [`Namespace::server_side_emit`], waiting for each other server's answer (the
    /// first argument each gives its acknowledgement) at most the adapter's request timeout
    /// (5 s with Node's adapters). A single server gets none, at once.
    pub async fn server_side_emit_with_ack<T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
    ) -> Result<Vec<Args>, EmitError> {
        let data = server_side_data(event, data)?;
        Ok(self.inner.adapter().server_side_emit_with_ack(&data).await)
    }

    /// Listens to the events other servers send with `server_side_emit` (Node's
    /// `io.on("event", ...)`, `namespace.on("event", ...)`).
    ///
    /// ```
    /// use tower_socketio::{ServerSideEvent, SocketIo};
    ///
    /// let io = SocketIo::new();
    /// io.on_server_side("ping", |event: ServerSideEvent| async move {
    ///     let from: String = event.data().unwrap_or_default();
    ///     event.ack(&format!("pong to {from}")).ok();
    /// });
    /// ```
    pub fn on_server_side<F, Fut>(&self, event: &str, handler: F) -> &Self
    where
        F: Fn(ServerSideEvent) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let handler: ServerSideHandler = Arc::new(move |e| Box::pin(handler(e)) as BoxFuture<()>);
        self.inner
            .server_side
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .push((event.into(), handler));
        self
    }

    /// The number of servers sharing this namespace (1 without a cluster adapter).
    pub async fn server_count(&self) -> usize {
        self.inner.adapter().server_count().await
    }

    /// The rooms of this namespace on this node.
    pub fn rooms(&self) -> Vec<Room> {
        self.inner.adapter.rooms()
    }

    /// The rooms of this namespace on every server (Node's `adapter.allRooms()`), without
    /// duplicates.
    pub async fn all_rooms(&self) -> Vec<Room> {
        let mut rooms = self.rooms();
        if self.inner.adapter.is_cluster() {
            rooms.extend(self.inner.adapter.all_rooms_remote().await);
            rooms.sort();
            rooms.dedup();
        }
        rooms
    }

    /// Disconnects every socket of the namespace (with `close`, their whole connections).
    pub fn disconnect_sockets(&self, close: bool) {
        self.broadcast().disconnect_sockets(close);
    }
}

/// An async predicate over a namespace name and the CONNECT auth payload.
pub(crate) type NsPredicate =
    Arc<dyn Fn(&str, &serde_json::Value) -> BoxFuture<bool> + Send + Sync>;

fn server_side_data<T: Serialize + ?Sized>(event: &str, data: &T) -> Result<PacketData, EmitError> {
    if ["connect", "connection", "new_namespace"].contains(&event) {
        return Err(EmitError::ReservedEvent(event.to_owned()));
    }
    PacketData::event(event, data)
}

/// An event another server sent with `server_side_emit` (see [`Namespace::on_server_side`]).
#[derive(Debug, Clone)]
pub struct ServerSideEvent {
    event: String,
    args: Args,
    ack: Option<ServerSideAck>,
}

impl ServerSideEvent {
    /// The event name.
    pub fn event(&self) -> &str {
        &self.event
    }

    /// The arguments.
    pub fn args(&self) -> &Args {
        &self.args
    }

    /// The arguments as a `T` (see [`Args::get`]).
    ///
    /// # Errors
    ///
    /// See [`Args::get`].
    pub fn data<T: DeserializeOwned>(&self) -> Result<T, ArgsError> {
        self.args.get()
    }

    /// Whether the sender waits for an answer.
    pub fn wants_ack(&self) -> bool {
        self.ack.is_some()
    }

    /// Answers the sender with `data`, by the [argument rule](crate::args); only the first
    /// argument travels (Node's callback takes one). Only the first answer of all the
    /// listeners counts; without a waiting sender this does nothing.
    ///
    /// # Errors
    ///
    /// [`EmitError::Serialize`] when `data` does not serialize.
    pub fn ack<T: Serialize + ?Sized>(&self, data: &T) -> Result<(), EmitError> {
        if let Some(ack) = &self.ack {
            let values = crate::args::write_args_values(data)
                .map_err(|e| EmitError::Serialize(e.to_string()))?;
            ack.send(PacketData::from_values(values));
        }
        Ok(())
    }
}

/// Decides whether a dynamic namespace accepts a name (and the CONNECT auth payload).
pub(crate) enum Matcher {
    Regex(regex::Regex),
    Predicate(NsPredicate),
}

pub(crate) struct DynInner {
    matcher: Matcher,
    shared: Arc<Shared>,
    connect: BoxConnectHandler,
    middleware: RwLock<Vec<BoxMiddleware>>,
    children: RwLock<HashMap<String, Arc<NsInner>>>,
}

impl DynInner {
    pub(crate) fn new(
        matcher: Matcher,
        shared: Arc<Shared>,
        connect: BoxConnectHandler,
    ) -> Arc<Self> {
        Arc::new(DynInner {
            matcher,
            shared,
            connect,
            middleware: RwLock::new(Vec::new()),
            children: RwLock::new(HashMap::new()),
        })
    }

    /// Whether `name` matches without running an async predicate (`None`: ask the predicate).
    pub(crate) fn matches_sync(&self, name: &str) -> Option<bool> {
        match &self.matcher {
            Matcher::Regex(re) => Some(re.is_match(name)),
            Matcher::Predicate(_) => None,
        }
    }

    pub(crate) async fn matches(&self, name: &str, auth: &serde_json::Value) -> bool {
        match &self.matcher {
            Matcher::Regex(re) => re.is_match(name),
            Matcher::Predicate(f) => f(name, auth).await,
        }
    }

    pub(crate) fn existing_child(&self, name: &str) -> Option<Arc<NsInner>> {
        self.children
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .cloned()
    }

    /// A connection attempt on the child namespace `name`: the existing child, or a new one
    /// with the parent's connect handler and middleware as they are now (as Node does). A new
    /// child beyond `max_dynamic_children` is refused.
    pub(crate) fn attempt(self: &Arc<Self>, name: &str) -> Result<Attempt, crate::ConnectError> {
        let mut children = self
            .children
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let child = match children.get(name) {
            Some(child) => child.clone(),
            None => {
                if children.len() >= self.shared.config.max_dynamic_children {
                    tracing::debug!(target: "socketio::ns", ns = name, "too many dynamic namespaces");
                    return Err(crate::ConnectError::new("Too many namespaces"));
                }
                tracing::debug!(target: "socketio::ns", ns = name, "dynamic namespace created");
                let child = NsInner::new(
                    name.to_owned(),
                    self.shared.clone(),
                    Some(self.connect.clone()),
                    self.middleware
                        .read()
                        .unwrap_or_else(PoisonError::into_inner)
                        .clone(),
                    Some(Arc::downgrade(self)),
                );
                children.insert(name.to_owned(), child.clone());
                child
            }
        };
        // Counted under the children lock: a concurrent removal sees it.
        Ok(Attempt::new(child))
    }

    fn remove_child_if_empty(&self, name: &str) {
        self.remove_child_if(name, |c| {
            c.is_empty() && c.attempts.load(Ordering::Acquire) == 0
        });
    }

    /// Removes the child `name` if `unused` says so (checked under the children lock).
    fn remove_child_if(&self, name: &str, unused: impl Fn(&NsInner) -> bool) {
        let mut children = self
            .children
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if children.get(name).is_some_and(|c| unused(c))
            && let Some(child) = children.remove(name)
        {
            drop(children);
            child.adapter.close();
            tracing::debug!(target: "socketio::ns", ns = name, "empty dynamic namespace removed");
        }
    }

    pub(crate) fn children(&self) -> Vec<Arc<NsInner>> {
        self.children
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect()
    }
}

/// A dynamic namespace (Node's `io.of(regex)` / `io.of(fn)`): child namespaces are created
/// when a client first connects to a matching name, each with its own sockets, and with the
/// parent's connect handler and middleware.
#[derive(Clone)]
pub struct DynamicNamespace {
    pub(crate) inner: Arc<DynInner>,
}

impl fmt::Debug for DynamicNamespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DynamicNamespace")
            .field("children", &self.inner.children().len())
            .finish()
    }
}

impl DynamicNamespace {
    /// Adds a middleware for the children created from now on (see [`Namespace::middleware`]).
    pub fn middleware<M: ConnectMiddleware<T>, T>(&self, middleware: M) -> &Self {
        self.inner
            .middleware
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .push(box_middleware(middleware));
        self
    }

    /// The child namespaces created so far.
    pub fn children(&self) -> Vec<Namespace> {
        self.inner
            .children()
            .into_iter()
            .map(|inner| Namespace { inner })
            .collect()
    }

    /// Emits `event` to every socket of every child namespace.
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, data: &T) -> Result<(), EmitError> {
        for child in self.children() {
            child.emit(event, data)?;
        }
        Ok(())
    }
}

/// A connection attempt on a namespace, from its resolution until the connection is accepted
/// or refused. A dynamic child that never had a socket is removed when its last attempt ends:
/// refused connections leave nothing behind.
pub(crate) struct Attempt {
    ns: Arc<NsInner>,
}

impl Attempt {
    pub(crate) fn new(ns: Arc<NsInner>) -> Self {
        ns.attempts.fetch_add(1, Ordering::AcqRel);
        Attempt { ns }
    }

    pub(crate) fn ns(&self) -> &Arc<NsInner> {
        &self.ns
    }
}

impl Drop for Attempt {
    fn drop(&mut self) {
        self.ns.attempts.fetch_sub(1, Ordering::AcqRel);
        if let Some(parent) = self.ns.parent.as_ref().and_then(Weak::upgrade) {
            parent.remove_child_if(&self.ns.name, |c| {
                c.is_empty()
                    && c.attempts.load(Ordering::Acquire) == 0
                    && !c.ever_connected.load(Ordering::Acquire)
            });
        }
    }
}

/// Disconnects every socket of `ns` for `reason` (server shutdown).
pub(crate) fn disconnect_all(ns: &NsInner, reason: DisconnectReason) {
    for socket in ns.sockets() {
        socket.disconnect_with(reason);
    }
}
