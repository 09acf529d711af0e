//! Namespaces: static ones, and dynamic ones created on demand by a pattern or a predicate.

use std::{
    collections::HashMap,
    fmt,
    sync::{
        Arc, PoisonError, RwLock, Weak,
        atomic::{AtomicU64, Ordering},
    },
};

use serde::Serialize;
use tower_socketio_engine::Sid;

use crate::{
    adapter::{Adapter, BroadcastOptions, LocalAdapter},
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
}

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
        let adapter_name = name.clone();
        Arc::new(NsInner {
            name,
            connect: RwLock::new(connect),
            middleware: RwLock::new(middleware),
            sockets: RwLock::new(HashMap::new()),
            adapter: match &shared.adapter {
                Some(factory) => factory(&adapter_name),
                None => Arc::new(match shared.config.connection_state_recovery {
                    Some(r) => {
                        LocalAdapter::with_recovery(r.max_disconnection_duration, r.max_packets)
                    }
                    None => LocalAdapter::new(),
                }),
            },
            next_ack: AtomicU64::new(0),
            parent,
            shared,
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
        let offset = if opts.flags.volatile {
            None
        } else {
            self.adapter.next_offset()
        };
        let frames =
            crate::packet::event(parser, &self.name, event, data, None, offset.as_deref())?;
        if let Some(offset) = &offset {
            self.adapter.store_packet(offset, opts, &frames);
        }
        Ok(frames)
    }

    pub(crate) fn next_ack_id(&self) -> u64 {
        self.next_ack.fetch_add(1, Ordering::Relaxed)
    }

    /// Calls `f` for every local connected socket `opts` targets. The socket map is locked
    /// for the duration: `f` must not call back into the namespace.
    pub(crate) fn for_each_target(&self, opts: &BroadcastOptions, f: &mut dyn FnMut(&Socket)) {
        let sockets = self.sockets.read().unwrap_or_else(PoisonError::into_inner);
        if opts.rooms.is_empty() && opts.except.is_empty() {
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
        let values = server_side_values(event, data)?;
        self.inner.adapter().server_side_emit(values);
        Ok(())
    }

    /// Like [`Namespace::server_side_emit`], waiting for each server's acknowledgement (at most
    /// the configured `ack_timeout`). A single server gets none, at once.
    pub async fn server_side_emit_with_ack<T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
    ) -> Result<Vec<rmpv::Value>, EmitError> {
        let values = server_side_values(event, data)?;
        let timeout = self.inner.shared().config.ack_timeout;
        Ok(self
            .inner
            .adapter()
            .server_side_emit_with_ack(values, timeout)
            .await)
    }

    /// The rooms of this namespace on this node.
    pub fn rooms(&self) -> Vec<crate::adapter::Room> {
        self.inner.adapter.rooms()
    }

    /// Disconnects every socket of the namespace (with `close`, their whole connections).
    pub fn disconnect_sockets(&self, close: bool) {
        self.broadcast().disconnect_sockets(close);
    }
}

/// An async predicate over a namespace name and the CONNECT auth payload.
pub(crate) type NsPredicate =
    Arc<dyn Fn(&str, &serde_json::Value) -> BoxFuture<bool> + Send + Sync>;

fn server_side_values<T: Serialize + ?Sized>(
    event: &str,
    data: &T,
) -> Result<Vec<rmpv::Value>, EmitError> {
    if ["connect", "connection", "new_namespace"].contains(&event) {
        return Err(EmitError::ReservedEvent(event.to_owned()));
    }
    crate::packet::event_values(event, data)
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

    /// The child namespace `name`, created on first use with the parent's connect handler and
    /// middleware as they are now (as Node does).
    pub(crate) fn child(self: &Arc<Self>, name: &str) -> Arc<NsInner> {
        let mut children = self
            .children
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        children
            .entry(name.to_owned())
            .or_insert_with(|| {
                tracing::debug!(target: "socketio::ns", ns = name, "dynamic namespace created");
                NsInner::new(
                    name.to_owned(),
                    self.shared.clone(),
                    Some(self.connect.clone()),
                    self.middleware
                        .read()
                        .unwrap_or_else(PoisonError::into_inner)
                        .clone(),
                    Some(Arc::downgrade(self)),
                )
            })
            .clone()
    }

    fn remove_child_if_empty(&self, name: &str) {
        let mut children = self
            .children
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if children.get(name).is_some_and(|c| c.is_empty()) {
            children.remove(name);
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

/// Disconnects every socket of `ns` for `reason` (server shutdown).
pub(crate) fn disconnect_all(ns: &NsInner, reason: DisconnectReason) {
    for socket in ns.sockets() {
        socket.disconnect_with(reason);
    }
}
