//! The `SocketIo` handle: the shared registry of namespaces, and the entry point of the API.

use std::{
    collections::HashMap,
    fmt,
    future::Future,
    sync::{Arc, PoisonError, RwLock},
};

use serde::Serialize;
use tower_socketio_engine::Engine;

use crate::{
    client::SioHandler,
    config::SocketIoConfig,
    error::{DisconnectReason, EmitError},
    handler::{ConnectHandler, box_connect},
    layer::SocketIoLayer,
    ns::{DynInner, DynamicNamespace, Matcher, Namespace, NsInner, disconnect_all},
    socket::Socket,
};

/// What every namespace and socket shares: the configuration and the application state.
/// Makes the adapter of each namespace.
pub(crate) type AdapterFactory = Arc<dyn crate::adapter::AdapterFactory>;

pub(crate) struct Shared {
    pub(crate) config: SocketIoConfig,
    pub(crate) state: http::Extensions,
    pub(crate) adapter: Option<AdapterFactory>,
    /// The server, for sockets and handlers that need it.
    io: std::sync::Weak<IoInner>,
}

pub(crate) struct IoInner {
    pub(crate) shared: Arc<Shared>,
    namespaces: RwLock<HashMap<String, Arc<NsInner>>>,
    dynamic: RwLock<Vec<Arc<DynInner>>>,
    pub(crate) engine: Engine<SioHandler>,
    pub(crate) client_file: crate::client_file::Cache,
    pub(crate) connect_timeouts: crate::client::ConnectTimeouts,
}

impl IoInner {
    fn namespace(&self, name: &str) -> Option<Arc<NsInner>> {
        self.namespaces
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .cloned()
    }

    /// The namespace a CONNECT for `name` joins: a static one, an existing dynamic child, or a
    /// new child of the first dynamic parent that accepts the name (in registration order).
    /// `None`: no such namespace; an error: the namespace is refused.
    pub(crate) async fn resolve_namespace(
        &self,
        name: &str,
        auth: &serde_json::Value,
    ) -> Option<Result<crate::ns::Attempt, crate::ConnectError>> {
        if let Some(ns) = self.namespace(name) {
            return Some(Ok(crate::ns::Attempt::new(ns)));
        }
        let parents = self
            .dynamic
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        for parent in parents {
            if parent.existing_child(name).is_some() {
                return Some(parent.attempt(name));
            }
            let accepted = match parent.matches_sync(name) {
                Some(m) => m,
                None => parent.matches(name, auth).await,
            };
            if accepted {
                return Some(parent.attempt(name));
            }
        }
        None
    }
}

/// The Socket.IO server handle: register namespaces and handlers, emit, count clients.
///
/// Cheap to clone; every clone is the same server. Mount it in a tower stack with
/// [`SocketIo::layer`]. It is also an axum extractor in REST handlers behind that layer.
///
/// ```
/// use tower_socketio::{extract::Data, Socket, SocketIo};
///
/// let io = SocketIo::new();
/// io.ns("/", |socket: Socket| async move {
///     socket.on("ping", |socket: Socket| async move {
///         socket.emit("pong", &()).ok();
///     });
/// });
/// let app: axum::Router = axum::Router::new().layer(io.layer());
/// ```
#[derive(Clone)]
pub struct SocketIo {
    pub(crate) inner: Arc<IoInner>,
}

impl fmt::Debug for SocketIo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SocketIo")
            .field("config", &self.inner.shared.config)
            .field("clients", &self.clients_count())
            .finish()
    }
}

impl Default for SocketIo {
    fn default() -> Self {
        SocketIo::new()
    }
}

fn normalize(name: &str) -> String {
    if name.starts_with('/') {
        name.to_owned()
    } else {
        format!("/{name}")
    }
}

impl SocketIo {
    /// A server with the default configuration.
    pub fn new() -> Self {
        SocketIo::builder().build()
    }

    /// A server with `config`.
    pub fn with_config(config: SocketIoConfig) -> Self {
        SocketIo::builder().config(config).build()
    }

    /// A builder, for configuration and application state.
    pub fn builder() -> SocketIoBuilder {
        SocketIoBuilder {
            config: SocketIoConfig::default(),
            state: http::Extensions::new(),
            adapter: None,
        }
    }

    /// The server of `shared`. (A socket outliving its server gets a new, empty one.)
    pub(crate) fn from_shared(shared: &Shared) -> SocketIo {
        match shared.io.upgrade() {
            Some(inner) => SocketIo { inner },
            None => SocketIo::new(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &SocketIoConfig {
        &self.inner.shared.config
    }

    /// The tower layer serving this server (at `/socket.io/` by default) in front of your app.
    pub fn layer(&self) -> SocketIoLayer {
        SocketIoLayer::from_io(self.clone())
    }

    /// Registers the static namespace `name` (a leading `/` is added if missing) with its
    /// connect handler, replacing any previous handler. The main namespace `/` exists even
    /// without one.
    pub fn ns<H: ConnectHandler<T>, T>(&self, name: impl AsRef<str>, handler: H) -> Namespace {
        let name = normalize(name.as_ref());
        let handler = box_connect(handler);
        let mut map = self
            .inner
            .namespaces
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let inner = match map.get(&name) {
            Some(ns) => {
                ns.set_connect_handler(handler);
                ns.clone()
            }
            None => {
                let ns = NsInner::new(
                    name.clone(),
                    self.inner.shared.clone(),
                    Some(handler),
                    Vec::new(),
                    None,
                );
                map.insert(name, ns.clone());
                ns
            }
        };
        Namespace { inner }
    }

    /// Registers a dynamic namespace matching names with the regular expression `pattern`
    /// (e.g. `^/dynamic-\d+$`). Each matching name becomes a child namespace on first use.
    pub fn dyn_ns<H: ConnectHandler<T>, T>(
        &self,
        pattern: &str,
        handler: H,
    ) -> Result<DynamicNamespace, regex::Error> {
        let re = regex::Regex::new(pattern)?;
        Ok(self.add_dynamic(Matcher::Regex(re), box_connect(handler)))
    }

    /// Registers a dynamic namespace accepting the names for which the async `predicate`
    /// (given the name and the CONNECT auth payload) returns `true`.
    pub fn dyn_ns_with<P, Fut, H, T>(&self, predicate: P, handler: H) -> DynamicNamespace
    where
        P: Fn(&str, &serde_json::Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = bool> + Send + 'static,
        H: ConnectHandler<T>,
    {
        let predicate = Arc::new(move |name: &str, auth: &serde_json::Value| {
            Box::pin(predicate(name, auth)) as crate::handler::BoxFuture<bool>
        });
        self.add_dynamic(Matcher::Predicate(predicate), box_connect(handler))
    }

    fn add_dynamic(
        &self,
        matcher: Matcher,
        handler: crate::handler::BoxConnectHandler,
    ) -> DynamicNamespace {
        let inner = DynInner::new(matcher, self.inner.shared.clone(), handler);
        self.inner
            .dynamic
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .push(inner.clone());
        DynamicNamespace { inner }
    }

    /// The namespace `name`: a static one, or a dynamic child created already.
    pub fn of(&self, name: impl AsRef<str>) -> Option<Namespace> {
        let name = normalize(name.as_ref());
        if let Some(inner) = self.inner.namespace(&name) {
            return Some(Namespace { inner });
        }
        let parents = self
            .inner
            .dynamic
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        parents
            .iter()
            .find_map(|p| p.existing_child(&name))
            .map(|inner| Namespace { inner })
    }

    /// The socket of the main namespace with this id (as text, e.g. from a REST path).
    ///
    /// ```
    /// use tower_socketio::SocketIo;
    ///
    /// let io = SocketIo::new();
    /// assert!(io.get_socket("not-a-socket-id").is_none());
    /// ```
    pub fn get_socket(&self, id: &str) -> Option<Socket> {
        let sid = id.parse().ok()?;
        self.main().get_socket(&sid)
    }

    /// The sockets connected to the main namespace.
    pub fn sockets(&self) -> Vec<Socket> {
        self.of("/").map(|ns| ns.sockets()).unwrap_or_default()
    }

    /// An operator targeting the sockets of the main namespace in `rooms`.
    pub fn to(
        &self,
        rooms: impl crate::operators::IntoRooms,
    ) -> crate::operators::BroadcastOperator {
        self.main().to(rooms)
    }

    /// An operator targeting every socket of the main namespace but those in `rooms`.
    pub fn except(
        &self,
        rooms: impl crate::operators::IntoRooms,
    ) -> crate::operators::BroadcastOperator {
        self.main().except(rooms)
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

    /// An operator targeting every socket of the main namespace.
    pub fn broadcast(&self) -> crate::operators::BroadcastOperator {
        self.main().broadcast()
    }

    fn main(&self) -> Namespace {
        let inner = self.inner.namespace("/").unwrap_or_else(|| {
            // `/` is created in `build` and never removed.
            NsInner::new(
                "/".to_owned(),
                self.inner.shared.clone(),
                None,
                Vec::new(),
                None,
            )
        });
        Namespace { inner }
    }

    /// Sends `event` to the other servers of the cluster from the main namespace (see
    /// [`Namespace::server_side_emit`]).
    pub fn server_side_emit<T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
    ) -> Result<(), EmitError> {
        self.main().server_side_emit(event, data)
    }

    /// Sends `event` to the other servers and gathers their acknowledgements (see
    /// [`Namespace::server_side_emit_with_ack`]).
    pub async fn server_side_emit_with_ack<T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
    ) -> Result<Vec<crate::Args>, EmitError> {
        self.main().server_side_emit_with_ack(event, data).await
    }

    /// Listens to the events other servers send to the main namespace with
    /// `server_side_emit` (see [`Namespace::on_server_side`]).
    pub fn on_server_side<F, Fut>(&self, event: &str, handler: F) -> &Self
    where
        F: Fn(crate::ServerSideEvent) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.main().on_server_side(event, handler);
        self
    }

    /// The number of servers sharing the main namespace (1 without a cluster adapter).
    pub async fn server_count(&self) -> usize {
        self.main().server_count().await
    }

    /// The sockets of the main namespace on every server (with a cluster adapter), with their
    /// data (Node's `io.fetchSockets()`).
    pub async fn fetch_sockets(&self) -> Vec<crate::RemoteSocket> {
        self.broadcast().fetch_sockets().await
    }

    /// Emits `event` to every socket of the main namespace.
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, data: &T) -> Result<(), EmitError> {
        self.main().emit(event, data)
    }

    /// The number of open engine connections (Node's `io.engine.clientsCount`).
    pub fn clients_count(&self) -> usize {
        self.inner.engine.clients_count()
    }

    /// Shuts the server down (Node's `io.close()`): new connections are refused (`503`),
    /// every socket disconnects with [`DisconnectReason::ServerShuttingDown`] (its
    /// `disconnect` handlers run), what was queued for each client is sent, then every
    /// connection is closed cleanly; the adapters are closed last. Resolves once no connection
    /// is left: within the engine's `shutdown_grace` (5 s by default) plus about a second.
    ///
    /// With axum, run it from the graceful-shutdown signal, so the HTTP server waits for
    /// nothing that Socket.IO holds (long-polls):
    ///
    /// ```no_run
    /// # async fn run(listener: tokio::net::TcpListener) {
    /// let io = tower_socketio::SocketIo::new();
    /// let app = axum::Router::new().layer(io.layer());
    /// axum::serve(listener, app)
    ///     .with_graceful_shutdown(io.close_after(async {
    ///         tokio::signal::ctrl_c().await.ok();
    ///     }))
    ///     .await
    ///     .ok();
    /// # }
    /// ```
    pub async fn close(&self) {
        let static_ns: Vec<_> = self
            .inner
            .namespaces
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect();
        let dynamic: Vec<_> = self
            .inner
            .dynamic
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let all: Vec<_> = static_ns
            .iter()
            .cloned()
            .chain(dynamic.iter().flat_map(|d| d.children()))
            .collect();
        tracing::debug!(target: "socketio::io", "shutting down");
        // New handshakes are refused from here on; the sockets leave their namespaces before
        // their connections close, as in Node.
        self.inner.engine.stop_accepting();
        for ns in &all {
            disconnect_all(ns, DisconnectReason::ServerShuttingDown);
        }
        self.inner.engine.close().await;
        for ns in &all {
            ns.adapter().close();
        }
    }

    /// `signal`, then [`close`](Self::close): what to give axum's `with_graceful_shutdown`.
    pub fn close_after<F>(&self, signal: F) -> impl Future<Output = ()> + Send + 'static
    where
        F: Future + Send + 'static,
    {
        let io = self.clone();
        async move {
            signal.await;
            io.close().await;
        }
    }
}

/// Builds a [`SocketIo`].
pub struct SocketIoBuilder {
    config: SocketIoConfig,
    state: http::Extensions,
    adapter: Option<AdapterFactory>,
}

impl fmt::Debug for SocketIoBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SocketIoBuilder")
            .field("config", &self.config)
            .field("adapter", &self.adapter.is_some())
            .finish_non_exhaustive()
    }
}

impl SocketIoBuilder {
    /// Sets the configuration.
    #[must_use]
    pub fn config(mut self, config: SocketIoConfig) -> Self {
        self.config = config;
        self
    }

    /// Adds application state, available to handlers through [`crate::extract::State`] by
    /// its type. Call it once per type.
    #[must_use]
    pub fn with_state<T: Clone + Send + Sync + 'static>(mut self, state: T) -> Self {
        self.state.insert(state);
        self
    }

    /// Uses the adapters `factory` makes (one per namespace) instead of the in-memory
    /// [`LocalAdapter`](crate::adapter::LocalAdapter): how a cluster adapter is plugged in.
    /// Handlers and operators do not change.
    #[must_use]
    pub fn adapter(mut self, factory: impl crate::adapter::AdapterFactory) -> Self {
        self.adapter = Some(Arc::new(factory));
        self
    }

    /// Builds the server. The main namespace `/` exists from the start.
    pub fn build(self) -> SocketIo {
        let max_attachments = self.config.max_attachments;
        let engine_config = self.config.engine.clone();
        let (config, state, adapter) = (self.config, self.state, self.adapter);
        let inner = Arc::new_cyclic(|weak| {
            let shared = Arc::new(Shared {
                config,
                state,
                adapter,
                io: weak.clone(),
            });
            IoInner {
                namespaces: RwLock::new(HashMap::from([(
                    "/".to_owned(),
                    NsInner::new("/".to_owned(), shared.clone(), None, Vec::new(), None),
                )])),
                shared,
                dynamic: RwLock::new(Vec::new()),
                engine: Engine::new(
                    engine_config,
                    SioHandler {
                        io: weak.clone(),
                        max_attachments,
                    },
                ),
                client_file: crate::client_file::Cache::default(),
                connect_timeouts: crate::client::ConnectTimeouts::default(),
            }
        });
        SocketIo { inner }
    }
}
