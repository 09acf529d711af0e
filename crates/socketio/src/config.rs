//! Socket.IO server configuration, with the Node server's defaults.

use std::time::Duration;

use tower_socketio_engine::EngineConfig;

/// The wire format of Socket.IO packets. Every client must use the same parser as the server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParserKind {
    /// The default JSON parser (npm `socket.io-parser`).
    #[default]
    Json,
    /// The msgpack parser (npm `socket.io-msgpack-parser`).
    #[cfg(feature = "msgpack")]
    Msgpack,
}

/// Connection state recovery (Node's `connectionStateRecovery`): a client whose connection
/// dropped gets its socket id, rooms and data back, and every packet it missed, when it
/// reconnects within `max_disconnection_duration`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecoveryConfig {
    /// How long a disconnected session, and the packets sent meanwhile, are kept. Default
    /// 2 minutes.
    pub max_disconnection_duration: Duration,
    /// Skip the namespace middleware when a session is recovered. Default `true` (as Node's
    /// code does).
    pub skip_middlewares: bool,
    /// The most packets kept per namespace, whatever their age. Default 100 000.
    pub max_packets: usize,
}

impl Default for RecoveryConfig {
    fn default() -> Self {
        RecoveryConfig {
            max_disconnection_duration: Duration::from_secs(120),
            skip_middlewares: true,
            max_packets: 100_000,
        }
    }
}

impl RecoveryConfig {
    /// Sets how long sessions and packets are kept (default 2 minutes).
    #[must_use]
    pub fn max_disconnection_duration(mut self, d: Duration) -> Self {
        self.max_disconnection_duration = d;
        self
    }

    /// Sets whether recovered sockets skip the namespace middleware (default `true`).
    #[must_use]
    pub fn skip_middlewares(mut self, skip: bool) -> Self {
        self.skip_middlewares = skip;
        self
    }

    /// Sets the most packets kept per namespace (default 100 000).
    #[must_use]
    pub fn max_packets(mut self, n: usize) -> Self {
        self.max_packets = n;
        self
    }
}

/// Socket.IO server configuration. `Default` gives the Node server's defaults.
///
/// ```
/// use std::time::Duration;
/// use tower_socketio::SocketIoConfig;
///
/// let config = SocketIoConfig::default().connect_timeout(Duration::from_secs(10));
/// assert_eq!(config.engine.path, "/socket.io/");
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SocketIoConfig {
    /// The Engine.IO settings (path `/socket.io/`, heartbeat, payload limit, transports...).
    pub engine: EngineConfig,
    /// How long an engine connection may stay without joining any namespace before it is
    /// closed. Default 45 s.
    pub connect_timeout: Duration,
    /// The most binary attachments one packet may declare. Default 10.
    pub max_attachments: usize,
    /// How long `emit_with_ack` waits for an acknowledgement when no `timeout` was given.
    /// Default 5 s (Node waits forever, which leaks unanswered acks).
    pub ack_timeout: Duration,
    /// Remove a dynamic child namespace when its last socket leaves. Default `false`.
    /// (A child created for a connection that was refused is always removed.)
    pub cleanup_empty_child_namespaces: bool,
    /// The most child namespaces one dynamic namespace may have; a CONNECT that would create
    /// another is refused with `connect_error` "Too many namespaces". Default 10 000 (Node has
    /// no bound).
    pub max_dynamic_children: usize,
    /// The most namespaces one connection may join or be joining at once; a CONNECT beyond is
    /// refused with `connect_error` "Too many namespaces for this connection". Default 256
    /// (Node has no bound).
    pub max_sockets_per_connection: usize,
    /// The most namespace connections one connection may have in progress at once (middleware
    /// still running); a CONNECT beyond is refused with `connect_error` "Too many connections
    /// in progress". Default 32 (Node has no bound).
    pub max_pending_connects: usize,
    /// The packet format. Default JSON.
    pub parser: ParserKind,
    /// A JavaScript file served at `<path>socket.io.js` (and `socket.io.min.js`), like Node's
    /// `serveClient`: typically `node_modules/socket.io-client/dist/socket.io.min.js`.
    /// Default none.
    pub serve_client: Option<std::path::PathBuf>,
    /// Connection state recovery. Default off.
    pub connection_state_recovery: Option<RecoveryConfig>,
    /// CORS for the Socket.IO path (Node's `cors` option). Default none: no CORS headers.
    #[cfg(feature = "cors")]
    pub cors: Option<tower_http::cors::CorsLayer>,
}

impl Default for SocketIoConfig {
    fn default() -> Self {
        SocketIoConfig {
            engine: EngineConfig::default().path("/socket.io/"),
            connect_timeout: Duration::from_millis(45_000),
            max_attachments: 10,
            ack_timeout: Duration::from_secs(5),
            cleanup_empty_child_namespaces: false,
            max_dynamic_children: 10_000,
            max_sockets_per_connection: 256,
            max_pending_connects: 32,
            parser: ParserKind::Json,
            serve_client: None,
            connection_state_recovery: None,
            #[cfg(feature = "cors")]
            cors: None,
        }
    }
}

impl SocketIoConfig {
    /// Sets the Engine.IO settings, the path included: start from `config.engine` (or set
    /// the path again) rather than from `EngineConfig::default()`, whose path is
    /// `/engine.io/`.
    #[must_use]
    pub fn engine(mut self, engine: EngineConfig) -> Self {
        self.engine = engine;
        self
    }

    /// Sets the path (default `/socket.io/`).
    #[must_use]
    pub fn path(mut self, path: impl AsRef<str>) -> Self {
        self.engine = self.engine.path(path);
        self
    }

    /// Sets the ping interval (default 25 s).
    #[must_use]
    pub fn ping_interval(mut self, d: Duration) -> Self {
        self.engine = self.engine.ping_interval(d);
        self
    }

    /// Sets the ping timeout (default 20 s).
    #[must_use]
    pub fn ping_timeout(mut self, d: Duration) -> Self {
        self.engine = self.engine.ping_timeout(d);
        self
    }

    /// Sets the maximum payload in bytes (default 1 000 000).
    #[must_use]
    pub fn max_payload(mut self, bytes: u64) -> Self {
        self.engine = self.engine.max_payload(bytes);
        self
    }

    /// Sets the bound of each client's send queue, in packets and bytes (default 10 000
    /// packets, 16 MiB). A client that falls further behind is disconnected with
    /// [`crate::DisconnectReason::SendBufferFull`].
    #[must_use]
    pub fn max_buffered(mut self, packets: usize, bytes: usize) -> Self {
        self.engine = self.engine.max_buffered(packets, bytes);
        self
    }

    /// Sets the connect timeout (default 45 s).
    #[must_use]
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.connect_timeout = d;
        self
    }

    /// Sets the attachment limit (default 10).
    #[must_use]
    pub fn max_attachments(mut self, n: usize) -> Self {
        self.max_attachments = n;
        self
    }

    /// Sets the default acknowledgement timeout (default 5 s).
    #[must_use]
    pub fn ack_timeout(mut self, d: Duration) -> Self {
        self.ack_timeout = d;
        self
    }

    /// Removes dynamic child namespaces once empty (default `false`).
    #[must_use]
    pub fn cleanup_empty_child_namespaces(mut self, cleanup: bool) -> Self {
        self.cleanup_empty_child_namespaces = cleanup;
        self
    }

    /// Sets the most child namespaces of one dynamic namespace (default 10 000).
    #[must_use]
    pub fn max_dynamic_children(mut self, n: usize) -> Self {
        self.max_dynamic_children = n;
        self
    }

    /// Sets the most namespaces one connection may join (default 256).
    #[must_use]
    pub fn max_sockets_per_connection(mut self, n: usize) -> Self {
        self.max_sockets_per_connection = n;
        self
    }

    /// Sets the most namespace connections in progress on one connection (default 32).
    #[must_use]
    pub fn max_pending_connects(mut self, n: usize) -> Self {
        self.max_pending_connects = n;
        self
    }

    /// Serves this JavaScript file (the browser client bundle) at `<path>socket.io.js`, with
    /// an `ETag` and `304 Not Modified` answers.
    #[must_use]
    pub fn serve_client(mut self, file: impl Into<std::path::PathBuf>) -> Self {
        self.serve_client = Some(file.into());
        self
    }

    /// Turns connection state recovery on (default off).
    ///
    /// ```
    /// use tower_socketio::{RecoveryConfig, SocketIoConfig};
    ///
    /// let config = SocketIoConfig::default().connection_state_recovery(RecoveryConfig::default());
    /// # let _ = config;
    /// ```
    #[must_use]
    pub fn connection_state_recovery(mut self, recovery: RecoveryConfig) -> Self {
        self.connection_state_recovery = Some(recovery);
        self
    }

    /// Applies tower-http's `CorsLayer` to the Socket.IO requests only (preflights included),
    /// like Node's `cors` option. There is no CORS by default; never allow every origin with
    /// credentials outside development.
    ///
    /// ```
    /// use http::{HeaderValue, Method};
    /// use tower_http::cors::CorsLayer;
    /// use tower_socketio::SocketIoConfig;
    ///
    /// let config = SocketIoConfig::default().cors(
    ///     CorsLayer::new()
    ///         .allow_origin(HeaderValue::from_static("https://app.example.com"))
    ///         .allow_methods([Method::GET, Method::POST])
    ///         .allow_credentials(true),
    /// );
    /// # let _ = config;
    /// ```
    #[cfg(feature = "cors")]
    #[must_use]
    pub fn cors(mut self, cors: tower_http::cors::CorsLayer) -> Self {
        self.cors = Some(cors);
        self
    }

    /// Sets the packet format (default JSON).
    #[must_use]
    pub fn parser(mut self, parser: ParserKind) -> Self {
        self.parser = parser;
        self
    }
}
