//! The engine: session registry, request routing, handshake.

use std::{
    collections::HashMap,
    fmt,
    sync::{Arc, PoisonError, RwLock},
};

use bytes::{Bytes, BytesMut};
use http::{HeaderValue, Method, Request, Response, StatusCode, header, request::Parts};
use http_body_util::Full;
use tower_socketio_protocol::engine::{
    Frame, Message, Packet, PacketType, ProtocolVersion, payload,
};

use crate::{
    config::EngineConfig,
    error::{ErrorCode, error_response},
    sid::Sid,
    socket::{CloseMode, CloseReason, PollReply, Socket, TransportKind},
};

/// A type-erased error, as tower uses.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What an application plugs into the engine: it creates per-session data and receives the
/// sessions' events.
///
/// Callbacks run on the task that read the data (a polling request or the WebSocket driver),
/// in the order the client sent the packets. They must not block; spawn work that waits.
pub trait Handler: Send + Sync + 'static {
    /// Per-session data, available as [`Socket::data`].
    type Data: Send + Sync + 'static;

    /// Creates the data of a new session from its handshake request. The request's parts own
    /// their bytes (they are copied out of the connection's read buffer), so keeping them costs
    /// only their own size.
    fn session_data(&self, sid: Sid, request: Parts) -> Self::Data;

    /// A session opened. Frames sent from here follow the handshake packet.
    fn on_open(&self, socket: &Arc<Socket<Self::Data>>);

    /// A message arrived.
    fn on_message(&self, socket: &Arc<Socket<Self::Data>>, message: Message);

    /// The session closed. Called exactly once per session.
    fn on_close(&self, socket: &Arc<Socket<Self::Data>>, reason: CloseReason);

    /// The session moved to another transport (after a completed upgrade).
    fn on_upgrade(&self, socket: &Arc<Socket<Self::Data>>, transport: TransportKind) {
        let _ = (socket, transport);
    }
}

/// An Engine.IO server: the session registry and the request handler.
///
/// Cheap to clone. Mount it with [`crate::EngineIoLayer`], or call [`Engine::handle`] from a
/// service of your own.
pub struct Engine<H: Handler> {
    pub(crate) inner: Arc<Inner<H>>,
}

impl<H: Handler> Clone for Engine<H> {
    fn clone(&self) -> Self {
        Engine {
            inner: self.inner.clone(),
        }
    }
}

impl<H: Handler> fmt::Debug for Engine<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("config", &self.inner.config)
            .field("sessions", &self.clients_count())
            .finish()
    }
}

pub(crate) type SocketRef<H> = Arc<Socket<<H as Handler>::Data>>;

pub(crate) struct Inner<H: Handler> {
    pub(crate) config: Arc<EngineConfig>,
    pub(crate) handler: H,
    sessions: RwLock<HashMap<Sid, SocketRef<H>>>,
    /// Set by [`Engine::close`]: new sessions are refused.
    closing: std::sync::atomic::AtomicBool,
}

/// The query parameters the engine reads.
#[derive(Debug, Default)]
pub(crate) struct Query {
    pub(crate) eio: Option<String>,
    pub(crate) transport: Option<String>,
    pub(crate) sid: Option<String>,
    pub(crate) b64: bool,
}

impl Query {
    pub(crate) fn parse(query: Option<&str>) -> Query {
        let mut q = Query::default();
        for (k, v) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            // Duplicate keys: the last one wins, as in Node.
            match &*k {
                "EIO" => q.eio = Some(v.into_owned()),
                "transport" => q.transport = Some(v.into_owned()),
                "sid" => q.sid = Some(v.into_owned()),
                "b64" => q.b64 = true,
                _ => {}
            }
        }
        q
    }
}

pub(crate) type EngineResponse = Response<Full<Bytes>>;

impl<H: Handler> Engine<H> {
    /// A new engine with `config`, dispatching to `handler`.
    pub fn new(config: EngineConfig, handler: H) -> Self {
        Engine {
            inner: Arc::new(Inner {
                config: Arc::new(config),
                handler,
                sessions: RwLock::new(HashMap::new()),
                closing: std::sync::atomic::AtomicBool::new(false),
            }),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &EngineConfig {
        &self.inner.config
    }

    /// The handler.
    pub fn handler(&self) -> &H {
        &self.inner.handler
    }

    /// The number of open sessions (Node's `engine.clientsCount`).
    pub fn clients_count(&self) -> usize {
        self.inner.sessions().len()
    }

    /// The session with this id, if it is open.
    pub fn get(&self, sid: &Sid) -> Option<Arc<Socket<H::Data>>> {
        self.inner.sessions().get(sid).cloned()
    }

    /// Shuts the engine down: new sessions are refused (`503`, "Server shutting down"), every
    /// session is closed with [`CloseReason::ServerShuttingDown`] after what it has queued is
    /// sent (the final `1` of a polling session, a close frame on WebSocket), and sessions
    /// still open after [`EngineConfig::shutdown_grace`] (a polling client that does not come
    /// back for its last payload) are dropped. Resolves once no session is left: within the
    /// grace period plus about a second.
    ///
    /// New sessions are refused from the call on, before the returned future is polled.
    pub fn close(&self) -> impl Future<Output = ()> + Send + 'static {
        self.stop_accepting();
        self.close_all(CloseReason::ServerShuttingDown);
        let engine = self.clone();
        async move {
            let deadline = tokio::time::Instant::now() + engine.inner.config.shutdown_grace;
            while engine.clients_count() > 0 && tokio::time::Instant::now() < deadline {
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            let left: Vec<_> = engine.inner.sessions().values().cloned().collect();
            if !left.is_empty() {
                tracing::debug!(target: "engineio::socket", sessions = left.len(), "shutdown grace over: dropping the sessions left");
            }
            for socket in left {
                socket.give_up();
            }
            let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(1);
            while engine.clients_count() > 0 && tokio::time::Instant::now() < deadline {
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        }
    }

    /// Refuses new sessions from now on (`503`, "Server shutting down"), without closing the
    /// open ones: the first step of [`Engine::close`].
    pub fn stop_accepting(&self) {
        self.inner
            .closing
            .store(true, std::sync::atomic::Ordering::Release);
    }

    /// Whether [`Engine::close`] (or [`Engine::stop_accepting`]) was called.
    pub fn is_closing(&self) -> bool {
        self.inner
            .closing
            .load(std::sync::atomic::Ordering::Acquire)
    }

    /// Closes every session with `reason` (e.g. [`CloseReason::ServerShuttingDown`]).
    pub fn close_all(&self, reason: CloseReason) {
        let all: Vec<_> = self.inner.sessions().values().cloned().collect();
        for socket in all {
            socket.close(reason);
        }
    }

    /// Whether `path` is served by this engine: the configured path, with or without its
    /// trailing slash, and anything under it.
    pub fn matches_path(&self, path: &str) -> bool {
        let base = &self.inner.config.path;
        path.starts_with(base.as_str()) || path == base.trim_end_matches('/')
    }

    /// Handles one Engine.IO request (a path for which [`Engine::matches_path`] is true).
    pub async fn handle<B>(&self, req: Request<B>) -> Response<Full<Bytes>>
    where
        B: http_body::Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<BoxError>,
    {
        let (parts, body) = req.into_parts();
        self.inner.clone().dispatch(parts, body).await
    }
}

impl<H: Handler> Inner<H> {
    pub(crate) fn sessions(&self) -> std::sync::RwLockReadGuard<'_, HashMap<Sid, SocketRef<H>>> {
        self.sessions.read().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn remove(&self, sid: &Sid) {
        self.sessions
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(sid);
    }

    fn lookup(&self, sid: &str) -> Option<SocketRef<H>> {
        let sid: Sid = sid.parse().ok()?;
        self.sessions().get(&sid).cloned()
    }

    async fn dispatch<B>(self: Arc<Self>, mut parts: Parts, body: B) -> EngineResponse
    where
        B: http_body::Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<BoxError>,
    {
        let query = Query::parse(parts.uri.query());
        let is_upgrade = crate::ws::is_upgrade_request(&parts);
        let config = &self.config;

        let transport = match query.transport.as_deref() {
            Some("polling") if config.transports.polling => TransportKind::Polling,
            Some("websocket") if config.transports.websocket => TransportKind::WebSocket,
            _ => return self.error(&parts, ErrorCode::UnknownTransport, None, is_upgrade),
        };

        let bad_origin = parts.headers.get(header::ORIGIN).is_some_and(|origin| {
            origin
                .as_bytes()
                .iter()
                .any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f)
        });
        if bad_origin {
            return self.error(&parts, ErrorCode::BadRequest, None, is_upgrade);
        }

        if let Some(sid) = query.sid.as_deref() {
            let Some(socket) = self.lookup(sid) else {
                return self.error(&parts, ErrorCode::UnknownSid, None, is_upgrade);
            };
            // A request must speak its session's protocol (`EIO=3` for a v4 session, or the
            // other way round, is refused).
            let protocol = match query.eio.as_deref() {
                None => None,
                Some("4") => Some(ProtocolVersion::V4),
                Some("3") => Some(ProtocolVersion::V3),
                Some(_) => return self.error(&parts, ErrorCode::BadRequest, None, is_upgrade),
            };
            if protocol.is_some_and(|p| p != socket.protocol()) {
                return self.error(&parts, ErrorCode::BadRequest, None, is_upgrade);
            }
            let current = socket.lock().transport;
            if transport == TransportKind::WebSocket && is_upgrade {
                return crate::ws::upgrade_existing(self, socket, parts);
            }
            if transport != current {
                return self.error(&parts, ErrorCode::BadRequest, None, is_upgrade);
            }
            if transport == TransportKind::WebSocket {
                // A plain HTTP request claiming a WebSocket session.
                return self.error(&parts, ErrorCode::BadRequest, None, false);
            }
            let res = match parts.method {
                Method::GET => crate::polling::poll(&self, &socket).await,
                Method::POST => crate::polling::post(&self, &socket, &parts, body).await,
                _ => empty(StatusCode::INTERNAL_SERVER_ERROR),
            };
            return self.finish(&parts, res);
        }

        // A handshake.
        if parts.method != Method::GET {
            return self.error(&parts, ErrorCode::BadHandshakeMethod, None, is_upgrade);
        }
        if transport == TransportKind::WebSocket && !is_upgrade {
            return self.error(&parts, ErrorCode::BadRequest, None, false);
        }
        let protocol = match query.eio.as_deref() {
            Some("4") => ProtocolVersion::V4,
            Some("3") if config.allow_eio3 => ProtocolVersion::V3,
            _ => {
                return self.error(
                    &parts,
                    ErrorCode::UnsupportedProtocolVersion,
                    None,
                    is_upgrade,
                );
            }
        };
        if let Some(allow) = &config.allow_request
            && let Err(message) = allow(&parts).await
        {
            return self.error(&parts, ErrorCode::Forbidden, Some(message), is_upgrade);
        }
        if let Some(refusal) = self.refuse_new_session() {
            tracing::debug!(target: "engineio::request", uri = %parts.uri, "handshake refused: {refusal}");
            return self.finish(&parts, crate::error::unavailable(refusal, is_upgrade));
        }
        let supports_binary = !query.b64;
        match transport {
            TransportKind::Polling => {
                let (socket, frames) = self.open_session(
                    protocol,
                    supports_binary,
                    TransportKind::Polling,
                    &mut parts,
                );
                let mut res = self.payload_response(&socket, &frames);
                if let Some(cookie) = &config.cookie
                    && let Some(v) = crate::cookie::set_cookie(cookie, &socket.id())
                {
                    res.headers_mut().append(header::SET_COOKIE, v);
                }
                if let Some(f) = &config.initial_headers {
                    f(&parts, res.headers_mut());
                }
                tokio::spawn(crate::driver::run(self.clone(), socket, None));
                self.finish(&parts, res)
            }
            TransportKind::WebSocket => {
                crate::ws::handshake(self, parts, protocol, supports_binary)
            }
        }
    }

    /// Creates and registers a session, queues its open packet, runs the handler's
    /// `on_open`, and returns the session with every frame queued so far (open packet first).
    /// The caller writes them and spawns (or becomes) the driver.
    pub(crate) fn open_session(
        self: &Arc<Self>,
        protocol: ProtocolVersion,
        supports_binary: bool,
        transport: TransportKind,
        parts: &mut Parts,
    ) -> (SocketRef<H>, Vec<Frame>) {
        let sid = {
            let sessions = self.sessions();
            let mut sid = Sid::generate();
            // A collision of 120 random bits will not happen, but costs nothing to rule out.
            while sessions.contains_key(&sid) {
                sid = Sid::generate();
            }
            sid
        };
        let data = self.handler.session_data(sid, owned_parts(parts));
        let socket = Arc::new(Socket::new(
            sid,
            protocol,
            supports_binary,
            transport,
            self.config.clone(),
            data,
        ));
        self.sessions
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(sid, socket.clone());
        socket.lock().push_unbounded(Frame::control(
            PacketType::Open,
            &self.open_json(&sid, transport),
        ));
        self.handler.on_open(&socket);
        let frames = {
            let mut st = socket.lock();
            st.queued_frames = 0;
            st.queued_bytes = 0;
            std::mem::take(&mut st.outbox).into()
        };
        tracing::debug!(target: "engineio::socket", %sid, transport = transport.as_str(), ?protocol, "session opened");
        (socket, frames)
    }

    fn open_json(&self, sid: &Sid, transport: TransportKind) -> String {
        let upgrades = if transport == TransportKind::Polling
            && self.config.allow_upgrades
            && self.config.transports.websocket
        {
            r#"["websocket"]"#
        } else {
            "[]"
        };
        format!(
            r#"{{"sid":"{sid}","upgrades":{upgrades},"pingInterval":{},"pingTimeout":{},"maxPayload":{}}}"#,
            self.config.ping_interval.as_millis(),
            self.config.ping_timeout.as_millis(),
            self.config.max_payload,
        )
    }

    /// A `200` long-polling response carrying `frames`.
    pub(crate) fn payload_response(
        &self,
        socket: &SocketRef<H>,
        frames: &[Frame],
    ) -> EngineResponse {
        let mut body = BytesMut::new();
        let content_type = match socket.protocol() {
            ProtocolVersion::V4 => {
                payload::encode_v4(frames, &mut body);
                "text/plain; charset=UTF-8"
            }
            ProtocolVersion::V3 => {
                match payload::encode_v3(frames, socket.supports_binary(), &mut body) {
                    payload::V3Format::Text => "text/plain; charset=UTF-8",
                    payload::V3Format::Binary => "application/octet-stream",
                }
            }
        };
        let mut res = Response::new(Full::new(body.freeze()));
        let h = res.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        res
    }

    /// Applies the `headers` hook to a response.
    pub(crate) fn finish(&self, parts: &Parts, mut res: EngineResponse) -> EngineResponse {
        if let Some(f) = &self.config.headers {
            f(parts, res.headers_mut());
        }
        res
    }

    pub(crate) fn error(
        &self,
        parts: &Parts,
        code: ErrorCode,
        message: Option<String>,
        is_upgrade: bool,
    ) -> EngineResponse {
        tracing::debug!(target: "engineio::request", code = code as u8, uri = %parts.uri, "request refused");
        self.finish(parts, error_response(code, message, is_upgrade))
    }

    /// Why a new session may not open now: the server is closing, or at `max_sessions`.
    fn refuse_new_session(&self) -> Option<&'static str> {
        if self.closing.load(std::sync::atomic::Ordering::Acquire) {
            return Some("Server shutting down");
        }
        let max = self.config.max_sessions?;
        (self.sessions().len() >= max).then_some("Server at capacity")
    }

    /// Handles one decoded packet from a client. Returns `false` once the session is closed.
    pub(crate) fn on_packet(&self, socket: &SocketRef<H>, packet: Packet) -> bool {
        match (socket.protocol(), packet) {
            (_, Packet::Message(m)) => self.handler.on_message(socket, m),
            (ProtocolVersion::V4, Packet::Pong(_)) => socket.on_pong(),
            (ProtocolVersion::V3, Packet::Ping(data)) => socket.on_v3_ping(&data),
            (ProtocolVersion::V4, Packet::Ping(_)) | (ProtocolVersion::V3, Packet::Pong(_)) => {
                tracing::debug!(target: "engineio::socket", sid = %socket.id(), "invalid heartbeat direction");
                socket.abort(CloseReason::TransportError);
            }
            (_, Packet::Close) => {
                socket.start_close(
                    CloseReason::TransportClose,
                    CloseMode::Abort(PollReply::Noop),
                );
            }
            (_, Packet::Open(_) | Packet::Upgrade | Packet::Noop) => {}
        }
        !socket.is_closed()
    }
}

/// A copy of the handshake request's parts that owns its bytes, for the handler to keep.
///
/// hyper's header values and URI are slices of the connection's read buffer (16 KiB): a
/// handler keeping them for the life of the session would keep that whole buffer alive.
fn owned_parts(parts: &Parts) -> Parts {
    // The header values and the URI are copied into one buffer, which they then share: the
    // originals are slices of hyper's read buffer, which they would otherwise keep alive.
    use std::fmt::Write as _;
    let values: usize = parts.headers.values().map(HeaderValue::len).sum();
    // Scheme, `://` and authority (absent in origin-form requests), path and query.
    let uri_len = parts.uri.scheme_str().map_or(0, |s| s.len() + 3)
        + parts.uri.authority().map_or(0, |a| a.as_str().len())
        + parts.uri.path_and_query().map_or(1, |p| p.as_str().len());
    let mut buf = bytes::BytesMut::with_capacity(values + uri_len);
    for value in parts.headers.values() {
        buf.extend_from_slice(value.as_bytes());
    }
    let _ = write!(buf, "{}", parts.uri);
    let buf = buf.freeze();
    let mut headers = http::HeaderMap::with_capacity(parts.headers.len());
    let mut at = 0;
    for (name, value) in &parts.headers {
        let copy = buf.slice(at..at + value.len());
        at += value.len();
        let name =
            http::HeaderName::from_bytes(name.as_str().as_bytes()).unwrap_or_else(|_| name.clone());
        let mut owned = HeaderValue::from_maybe_shared(copy).unwrap_or_else(|_| value.clone());
        owned.set_sensitive(value.is_sensitive());
        headers.append(name, owned);
    }
    let uri = http::Uri::from_maybe_shared(buf.slice(at..)).unwrap_or_else(|_| parts.uri.clone());
    let (mut owned, ()) = Request::new(()).into_parts();
    owned.method = parts.method.clone();
    owned.uri = uri;
    owned.version = parts.version;
    owned.headers = headers;
    owned.extensions = parts.extensions.clone();
    owned
}

pub(crate) fn empty(status: StatusCode) -> EngineResponse {
    let mut res = Response::new(Full::new(Bytes::new()));
    *res.status_mut() = status;
    res
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod owned_parts_tests {
    use super::*;

    #[test]
    fn owned_parts_is_an_equal_copy() {
        let mut req = Request::builder()
            .method("POST")
            .uri("http://example.com:8080/socket.io/?EIO=4&transport=polling&x=%20y")
            .header("cookie", "a=1")
            .header("cookie", "b=2")
            .header("x-custom", "v")
            .header("host", "example.com:8080")
            .body(())
            .expect("a valid request");
        let mut secret = HeaderValue::from_static("Bearer t");
        secret.set_sensitive(true);
        req.headers_mut()
            .insert(http::header::AUTHORIZATION, secret);
        req.extensions_mut().insert(7u32);
        let (parts, ()) = req.into_parts();

        let owned = owned_parts(&parts);
        assert_eq!(owned.method, parts.method);
        assert_eq!(owned.uri, parts.uri);
        assert_eq!(owned.uri.to_string(), parts.uri.to_string());
        assert_eq!(owned.version, parts.version);
        assert_eq!(owned.headers, parts.headers);
        let cookies: Vec<_> = owned.headers.get_all("cookie").iter().collect();
        assert_eq!(cookies, ["a=1", "b=2"]);
        assert!(owned.headers["authorization"].is_sensitive());
        assert!(!owned.headers["x-custom"].is_sensitive());
        assert_eq!(owned.extensions.get::<u32>(), Some(&7));

        // Origin-form, as servers receive it.
        let (parts, ()) = Request::get("/socket.io/?EIO=4")
            .body(())
            .expect("valid")
            .into_parts();
        assert_eq!(owned_parts(&parts).uri, "/socket.io/?EIO=4");
    }
}
