//! Engine configuration, with the Node `engine.io` server's defaults.

use std::{fmt, future::Future, pin::Pin, sync::Arc, time::Duration};

use http::{HeaderMap, request::Parts};

/// A boxed future returned by [`EngineConfig::allow_request`] hooks.
pub type AllowFuture = Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'static>>;

type AllowRequestFn = dyn Fn(&Parts) -> AllowFuture + Send + Sync;
type HeadersFn = dyn Fn(&Parts, &mut HeaderMap) + Send + Sync;

/// The transports a server accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transports {
    /// HTTP long-polling.
    pub polling: bool,
    /// WebSocket.
    pub websocket: bool,
}

impl Default for Transports {
    fn default() -> Self {
        Transports {
            polling: true,
            websocket: true,
        }
    }
}

/// The `SameSite` attribute of the session cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SameSite {
    /// `SameSite=Strict`.
    Strict,
    /// `SameSite=Lax` (the default).
    Lax,
    /// `SameSite=None` (requires `Secure` in browsers).
    None,
}

/// The optional `io` cookie set on the polling handshake response (Node's `cookie` option),
/// used by sticky-session load balancers.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CookieConfig {
    /// Cookie name. Default `io`.
    pub name: String,
    /// `Path` attribute. Default `/`.
    pub path: Option<String>,
    /// `HttpOnly` attribute. Default `true`.
    pub http_only: bool,
    /// `SameSite` attribute. Default `Lax`.
    pub same_site: Option<SameSite>,
    /// `Secure` attribute. Default `false`.
    pub secure: bool,
    /// `Domain` attribute. Default none.
    pub domain: Option<String>,
    /// `Max-Age` attribute. Default none (a session cookie).
    pub max_age: Option<Duration>,
}

impl Default for CookieConfig {
    fn default() -> Self {
        CookieConfig {
            name: "io".into(),
            path: Some("/".into()),
            http_only: true,
            same_site: Some(SameSite::Lax),
            secure: false,
            domain: None,
            max_age: None,
        }
    }
}

impl CookieConfig {
    /// Sets the cookie name.
    #[must_use]
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Sets the `Path` attribute (`None` to omit it).
    #[must_use]
    pub fn path(mut self, path: Option<String>) -> Self {
        self.path = path;
        self
    }

    /// Sets the `HttpOnly` attribute.
    #[must_use]
    pub fn http_only(mut self, http_only: bool) -> Self {
        self.http_only = http_only;
        self
    }

    /// Sets the `SameSite` attribute (`None` to omit it).
    #[must_use]
    pub fn same_site(mut self, same_site: Option<SameSite>) -> Self {
        self.same_site = same_site;
        self
    }

    /// Sets the `Secure` attribute.
    #[must_use]
    pub fn secure(mut self, secure: bool) -> Self {
        self.secure = secure;
        self
    }

    /// Sets the `Domain` attribute.
    #[must_use]
    pub fn domain(mut self, domain: Option<String>) -> Self {
        self.domain = domain;
        self
    }

    /// Sets the `Max-Age` attribute.
    #[must_use]
    pub fn max_age(mut self, max_age: Option<Duration>) -> Self {
        self.max_age = max_age;
        self
    }
}

/// Engine.IO server configuration. `Default` gives Node's defaults.
///
/// ```
/// use std::time::Duration;
/// use tower_socketio_engine::EngineConfig;
///
/// let config = EngineConfig::default()
///     .ping_interval(Duration::from_secs(10))
///     .max_payload(100_000);
/// assert_eq!(config.ping_timeout, Duration::from_secs(20));
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct EngineConfig {
    /// The request path the engine serves, as a prefix. Default `/engine.io/` (the Socket.IO
    /// layer uses `/socket.io/`). Requests to the path with or without its trailing slash are
    /// served.
    pub path: String,
    /// How often the server pings. Default 25 s.
    pub ping_interval: Duration,
    /// How long the server waits for a pong before closing the session. Default 20 s.
    pub ping_timeout: Duration,
    /// How long a transport upgrade may take. Default 10 s.
    pub upgrade_timeout: Duration,
    /// The largest polling request body and WebSocket message accepted, in bytes; advertised
    /// to clients as `maxPayload`. Default 1 000 000.
    pub max_payload: u64,
    /// The transports accepted. Default both.
    pub transports: Transports,
    /// Whether polling sessions may upgrade to WebSocket. Default `true`.
    pub allow_upgrades: bool,
    /// Accept Engine.IO v3 clients (Socket.IO v2). Default `false`.
    pub allow_eio3: bool,
    /// The session cookie set on polling handshakes. Default none.
    pub cookie: Option<CookieConfig>,
    /// The most packets a session may have queued for sending before it is closed for being
    /// too slow. Default 10 000.
    pub max_buffered_packets: usize,
    /// The most bytes a session may have queued for sending before it is closed for being too
    /// slow. Default 16 MiB.
    pub max_buffered_bytes: usize,
    /// The read buffer allocated for each WebSocket. Default 4 KiB: small, since most sockets
    /// are idle most of the time; larger messages grow it as needed.
    pub ws_read_buffer_size: usize,
    /// The most sessions open at once; beyond, handshakes are refused with `503` and the body
    /// `{"code":4,"message":"Server at capacity"}` (and a `Retry-After`). Default none (Node
    /// has no bound).
    pub max_sessions: Option<usize>,
    /// How long [`Engine::close`](crate::Engine::close) lets sessions flush what they have
    /// queued and close cleanly before it drops the rest. Default 5 s.
    pub shutdown_grace: Duration,
    /// How long a polling POST's body may take to arrive; a slower one is refused with `408`
    /// and its session closed. Default 45 s (the default ping interval plus ping timeout:
    /// a session whose POST is stuck cannot answer pings either).
    pub request_body_timeout: Duration,
    pub(crate) allow_request: Option<Arc<AllowRequestFn>>,
    pub(crate) initial_headers: Option<Arc<HeadersFn>>,
    pub(crate) headers: Option<Arc<HeadersFn>>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            path: "/engine.io/".into(),
            ping_interval: Duration::from_millis(25_000),
            ping_timeout: Duration::from_millis(20_000),
            upgrade_timeout: Duration::from_millis(10_000),
            max_payload: 1_000_000,
            transports: Transports::default(),
            allow_upgrades: true,
            allow_eio3: false,
            cookie: None,
            max_buffered_packets: 10_000,
            max_buffered_bytes: 16 << 20,
            ws_read_buffer_size: 4096,
            max_sessions: None,
            shutdown_grace: Duration::from_secs(5),
            request_body_timeout: Duration::from_secs(45),
            allow_request: None,
            initial_headers: None,
            headers: None,
        }
    }
}

impl fmt::Debug for EngineConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EngineConfig")
            .field("path", &self.path)
            .field("ping_interval", &self.ping_interval)
            .field("ping_timeout", &self.ping_timeout)
            .field("upgrade_timeout", &self.upgrade_timeout)
            .field("max_payload", &self.max_payload)
            .field("transports", &self.transports)
            .field("allow_upgrades", &self.allow_upgrades)
            .field("allow_eio3", &self.allow_eio3)
            .field("cookie", &self.cookie)
            .field("max_buffered_packets", &self.max_buffered_packets)
            .field("max_buffered_bytes", &self.max_buffered_bytes)
            .field("ws_read_buffer_size", &self.ws_read_buffer_size)
            .field("max_sessions", &self.max_sessions)
            .field("shutdown_grace", &self.shutdown_grace)
            .field("request_body_timeout", &self.request_body_timeout)
            .field("allow_request", &self.allow_request.is_some())
            .field("initial_headers", &self.initial_headers.is_some())
            .field("headers", &self.headers.is_some())
            .finish()
    }
}

impl EngineConfig {
    /// Sets the path served (default `/engine.io/`). A leading `/` is added and a trailing
    /// `/` normalised.
    #[must_use]
    pub fn path(mut self, path: impl AsRef<str>) -> Self {
        let trimmed = path.as_ref().trim_end_matches('/');
        let mut p = String::with_capacity(trimmed.len() + 2);
        if !trimmed.starts_with('/') {
            p.push('/');
        }
        p.push_str(trimmed);
        if !p.ends_with('/') {
            p.push('/');
        }
        self.path = p;
        self
    }

    /// Sets the ping interval (default 25 s).
    #[must_use]
    pub fn ping_interval(mut self, d: Duration) -> Self {
        self.ping_interval = d;
        self
    }

    /// Sets the ping timeout (default 20 s).
    #[must_use]
    pub fn ping_timeout(mut self, d: Duration) -> Self {
        self.ping_timeout = d;
        self
    }

    /// Sets the upgrade timeout (default 10 s).
    #[must_use]
    pub fn upgrade_timeout(mut self, d: Duration) -> Self {
        self.upgrade_timeout = d;
        self
    }

    /// Sets the maximum payload in bytes (default 1 000 000).
    #[must_use]
    pub fn max_payload(mut self, bytes: u64) -> Self {
        self.max_payload = bytes;
        self
    }

    /// Sets the accepted transports (default both).
    #[must_use]
    pub fn transports(mut self, transports: Transports) -> Self {
        self.transports = transports;
        self
    }

    /// Allows or forbids upgrades from polling to WebSocket (default allowed).
    #[must_use]
    pub fn allow_upgrades(mut self, allow: bool) -> Self {
        self.allow_upgrades = allow;
        self
    }

    /// Accepts Engine.IO v3 clients (default `false`).
    #[must_use]
    pub fn allow_eio3(mut self, allow: bool) -> Self {
        self.allow_eio3 = allow;
        self
    }

    /// Sets the session cookie (default none).
    #[must_use]
    pub fn cookie(mut self, cookie: Option<CookieConfig>) -> Self {
        self.cookie = cookie;
        self
    }

    /// Sets the bound of each session's send queue, in packets and bytes (default 10 000
    /// packets, 16 MiB).
    #[must_use]
    pub fn max_buffered(mut self, packets: usize, bytes: usize) -> Self {
        self.max_buffered_packets = packets;
        self.max_buffered_bytes = bytes;
        self
    }

    /// Sets the per-WebSocket read buffer (default 4 KiB).
    #[must_use]
    pub fn ws_read_buffer_size(mut self, bytes: usize) -> Self {
        self.ws_read_buffer_size = bytes;
        self
    }

    /// Sets the most sessions open at once (default none).
    #[must_use]
    pub fn max_sessions(mut self, sessions: Option<usize>) -> Self {
        self.max_sessions = sessions;
        self
    }

    /// Sets how long a shutdown lets sessions close cleanly (default 5 s).
    #[must_use]
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = grace;
        self
    }

    /// Sets how long a polling POST's body may take to arrive (default 45 s).
    #[must_use]
    pub fn request_body_timeout(mut self, timeout: Duration) -> Self {
        self.request_body_timeout = timeout;
        self
    }

    /// A hook deciding whether a handshake request (polling or WebSocket) may open a session,
    /// like Node's `allowRequest`. An `Err(message)` refuses it: polling gets `403`
    /// `{"code":4,"message":message}`, a WebSocket upgrade gets a `400`.
    ///
    /// ```
    /// use tower_socketio_engine::EngineConfig;
    ///
    /// let config = EngineConfig::default().allow_request(|req| {
    ///     let ok = req.headers.contains_key("x-allowed");
    ///     async move { if ok { Ok(()) } else { Err("not allowed".to_owned()) } }
    /// });
    /// # let _ = config;
    /// ```
    #[must_use]
    pub fn allow_request<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(&Parts) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        self.allow_request = Some(Arc::new(move |parts: &Parts| {
            Box::pin(f(parts)) as AllowFuture
        }));
        self
    }

    /// A hook adding headers to the handshake response (Node's `initial_headers` event).
    #[must_use]
    pub fn initial_headers<F>(mut self, f: F) -> Self
    where
        F: Fn(&Parts, &mut HeaderMap) + Send + Sync + 'static,
    {
        self.initial_headers = Some(Arc::new(f));
        self
    }

    /// A hook adding headers to every response the engine writes, the handshake and the
    /// WebSocket `101` included (Node's `headers` event).
    #[must_use]
    pub fn headers<F>(mut self, f: F) -> Self
    where
        F: Fn(&Parts, &mut HeaderMap) + Send + Sync + 'static,
    {
        self.headers = Some(Arc::new(f));
        self
    }
}
