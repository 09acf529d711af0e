//! Shared helpers for the engine's in-process tests: a server bound on 127.0.0.1:0 with a
//! recording handler, a raw HTTP/1.1 client over `TcpStream`, WebSocket helpers, panic
//! detection and a small deterministic RNG.
//!
//! Every test runs on a current-thread runtime, so the server's tasks (connections, session
//! drivers, probes) run on the test's own thread: a panic hook that records the panicking
//! thread tells exactly whether anything in *this* test's server panicked.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{
    collections::VecDeque,
    net::SocketAddr,
    sync::{Arc, Mutex, Once},
    thread::ThreadId,
    time::Duration,
};

use futures_util::{SinkExt, StreamExt};
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    sync::mpsc,
    task::JoinHandle,
    time::timeout,
};
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream,
    tungstenite::{self, Message as WsMessage, protocol::CloseFrame},
};
use tower_socketio_engine::{
    CloseReason, Engine, EngineConfig, EngineIoLayer, Frame, Handler, Message, Sid, Socket,
    TransportKind,
};

/// The bound on any single network wait in these tests.
pub(crate) const WAIT: Duration = Duration::from_secs(5);

// ---------------------------------------------------------------------------------------------
// Panic detection
// ---------------------------------------------------------------------------------------------

static PANIC_HOOK: Once = Once::new();
static PANICKED: Mutex<Vec<ThreadId>> = Mutex::new(Vec::new());

/// Installs (once per process) a panic hook recording the thread of every panic.
pub(crate) fn install_panic_hook() {
    PANIC_HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICKED
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(std::thread::current().id());
            previous(info);
        }));
    });
}

/// How many panics happened on this thread (the test's runtime thread) so far.
pub(crate) fn panics_on_this_thread() -> usize {
    let me = std::thread::current().id();
    PANICKED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .iter()
        .filter(|t| **t == me)
        .count()
}

// ---------------------------------------------------------------------------------------------
// Recording handler and test server
// ---------------------------------------------------------------------------------------------

/// What the recording handler saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Event {
    Open(Sid),
    Message(Sid, Message),
    Close(Sid, CloseReason),
    Upgrade(Sid, TransportKind),
}

impl Event {
    pub(crate) fn sid(&self) -> Sid {
        match self {
            Event::Open(s) | Event::Message(s, _) | Event::Close(s, _) | Event::Upgrade(s, _) => *s,
        }
    }
}

/// Options of the recording handler.
#[derive(Debug, Clone, Default)]
pub(crate) struct Behaviour {
    /// Send every message back to its sender.
    pub(crate) echo: bool,
    /// A text message sent from `on_open`.
    pub(crate) greeting: Option<String>,
    /// In `on_upgrade`: send this text message, then close the session (`ForcedClose`).
    pub(crate) farewell_on_upgrade: Option<String>,
}

/// A handler recording every callback into a channel.
#[derive(Debug)]
pub(crate) struct Recorder {
    tx: mpsc::UnboundedSender<Event>,
    behaviour: Behaviour,
    closes: Mutex<std::collections::HashMap<Sid, usize>>,
}

impl Handler for Recorder {
    type Data = ();

    fn session_data(&self, _sid: Sid, _request: http::request::Parts) {}

    fn on_open(&self, socket: &Arc<Socket<()>>) {
        let _ = self.tx.send(Event::Open(socket.id()));
        if let Some(g) = &self.behaviour.greeting {
            socket.send(Frame::message(g)).unwrap();
        }
    }

    fn on_message(&self, socket: &Arc<Socket<()>>, message: Message) {
        let _ = self.tx.send(Event::Message(socket.id(), message.clone()));
        if self.behaviour.echo {
            let frame = match message {
                Message::Text(t) => Frame::message(&t),
                Message::Binary(b) => Frame::Binary(b),
            };
            let _ = socket.send(frame);
        }
    }

    fn on_close(&self, socket: &Arc<Socket<()>>, reason: CloseReason) {
        let n = {
            let mut closes = self.closes.lock().unwrap();
            let n = closes.entry(socket.id()).or_insert(0);
            *n += 1;
            *n
        };
        // `on_close` must run exactly once per session.
        assert_eq!(n, 1, "on_close called twice for {}", socket.id());
        let _ = self.tx.send(Event::Close(socket.id(), reason));
    }

    fn on_upgrade(&self, socket: &Arc<Socket<()>>, transport: TransportKind) {
        let _ = self.tx.send(Event::Upgrade(socket.id(), transport));
        if let Some(f) = &self.behaviour.farewell_on_upgrade {
            let _ = socket.send(Frame::message(f));
            socket.close(CloseReason::ForcedClose);
        }
    }
}

/// The configuration most tests start from: short heartbeat, short upgrade timeout.
pub(crate) fn fast_config() -> EngineConfig {
    EngineConfig::default()
        .ping_interval(Duration::from_millis(300))
        .ping_timeout(Duration::from_millis(200))
        .upgrade_timeout(Duration::from_millis(500))
}

/// A configuration whose heartbeat stays out of the way of a test (no ping for 10 s).
pub(crate) fn quiet_config() -> EngineConfig {
    EngineConfig::default()
        .ping_interval(Duration::from_secs(10))
        .ping_timeout(Duration::from_secs(10))
        .upgrade_timeout(Duration::from_millis(500))
}

/// An axum app with an `EngineIoLayer`, served on 127.0.0.1:0 on the current runtime.
pub(crate) struct TestServer {
    pub(crate) addr: SocketAddr,
    pub(crate) engine: Engine<Recorder>,
    events: mpsc::UnboundedReceiver<Event>,
    backlog: VecDeque<Event>,
    task: JoinHandle<()>,
    panics_before: usize,
}

impl TestServer {
    pub(crate) async fn start(config: EngineConfig) -> TestServer {
        TestServer::start_with(config, Behaviour::default()).await
    }

    pub(crate) async fn echo(config: EngineConfig) -> TestServer {
        TestServer::start_with(
            config,
            Behaviour {
                echo: true,
                ..Behaviour::default()
            },
        )
        .await
    }

    pub(crate) async fn start_with(config: EngineConfig, behaviour: Behaviour) -> TestServer {
        install_panic_hook();
        let (tx, events) = mpsc::unbounded_channel();
        let engine = Engine::new(
            config,
            Recorder {
                tx,
                behaviour,
                closes: Mutex::default(),
            },
        );
        let app = axum::Router::new()
            .route("/hello", axum::routing::get(|| async { "hi" }))
            .layer(EngineIoLayer::new(engine.clone()));
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        TestServer {
            addr,
            engine,
            events,
            backlog: VecDeque::new(),
            task,
            panics_before: panics_on_this_thread(),
        }
    }

    /// The next event matching `f` (earlier non-matching events are kept for later calls).
    pub(crate) async fn wait_for(
        &mut self,
        what: &str,
        within: Duration,
        mut f: impl FnMut(&Event) -> bool,
    ) -> Event {
        self.try_wait_for(within, &mut f).await.unwrap_or_else(|| {
            panic!(
                "no event {what} within {within:?}; seen: {:?}",
                self.backlog
            )
        })
    }

    pub(crate) async fn try_wait_for(
        &mut self,
        within: Duration,
        mut f: impl FnMut(&Event) -> bool,
    ) -> Option<Event> {
        if let Some(i) = self.backlog.iter().position(&mut f) {
            return self.backlog.remove(i);
        }
        let deadline = tokio::time::Instant::now() + within;
        loop {
            match tokio::time::timeout_at(deadline, self.events.recv()).await {
                Ok(Some(e)) if f(&e) => return Some(e),
                Ok(Some(e)) => self.backlog.push_back(e),
                Ok(None) | Err(_) => return None,
            }
        }
    }

    /// The next session opened.
    pub(crate) async fn opened(&mut self) -> Sid {
        self.wait_for("open", WAIT, |e| matches!(e, Event::Open(_)))
            .await
            .sid()
    }

    /// Waits for the close of `sid` and returns its reason.
    pub(crate) async fn closed(&mut self, sid: &str) -> CloseReason {
        self.closed_within(sid, WAIT).await
    }

    pub(crate) async fn closed_within(&mut self, sid: &str, within: Duration) -> CloseReason {
        let sid = parse_sid(sid);
        match self
            .wait_for(
                "close",
                within,
                |e| matches!(e, Event::Close(s, _) if *s == sid),
            )
            .await
        {
            Event::Close(_, r) => r,
            _ => unreachable!(),
        }
    }

    /// Asserts that `sid` does not close within `within`.
    pub(crate) async fn assert_open_for(&mut self, sid: &str, within: Duration) {
        let sid = parse_sid(sid);
        let e = self
            .try_wait_for(within, |e| matches!(e, Event::Close(s, _) if *s == sid))
            .await;
        assert!(e.is_none(), "session closed unexpectedly: {e:?}");
        assert!(self.engine.get(&sid).is_some(), "session vanished");
    }

    /// The next message of `sid`.
    pub(crate) async fn message(&mut self, sid: &str) -> Message {
        let sid = parse_sid(sid);
        match self
            .wait_for(
                "message",
                WAIT,
                |e| matches!(e, Event::Message(s, _) if *s == sid),
            )
            .await
        {
            Event::Message(_, m) => m,
            _ => unreachable!(),
        }
    }

    /// The next text message of `sid`.
    pub(crate) async fn text(&mut self, sid: &str) -> String {
        match self.message(sid).await {
            Message::Text(t) => t.to_string(),
            Message::Binary(b) => panic!("expected text, got binary {b:?}"),
        }
    }

    /// The upgrade event of `sid`.
    pub(crate) async fn upgraded(&mut self, sid: &str) -> TransportKind {
        let sid = parse_sid(sid);
        match self
            .wait_for(
                "upgrade",
                WAIT,
                |e| matches!(e, Event::Upgrade(s, _) if *s == sid),
            )
            .await
        {
            Event::Upgrade(_, t) => t,
            _ => unreachable!(),
        }
    }

    /// The engine socket of `sid`.
    pub(crate) fn socket(&self, sid: &str) -> Arc<Socket<()>> {
        self.engine.get(&parse_sid(sid)).expect("session is open")
    }

    /// Every event received so far and not consumed.
    pub(crate) fn drain(&mut self) -> Vec<Event> {
        while let Ok(e) = self.events.try_recv() {
            self.backlog.push_back(e);
        }
        self.backlog.drain(..).collect()
    }

    /// Ends a test: nothing panicked on this runtime, the server task still runs, and the
    /// server still answers a handshake and a plain route.
    pub(crate) async fn assert_healthy(&mut self) {
        assert!(!self.task.is_finished(), "the server task ended");
        let (sid, _) = handshake(self.addr).await;
        let opened = self.opened_after(&sid).await;
        assert_eq!(opened.as_str(), sid);
        let res = get(self.addr, "/hello").await;
        assert_eq!(res.status, 200);
        assert_eq!(res.body, b"hi");
        assert_eq!(
            panics_on_this_thread(),
            self.panics_before,
            "something panicked in the server"
        );
        assert!(!self.task.is_finished(), "the server task ended");
    }

    /// Nothing panicked on this runtime and the server task still runs.
    pub(crate) fn assert_no_panics(&self) {
        assert_eq!(
            panics_on_this_thread(),
            self.panics_before,
            "something panicked in the server"
        );
        assert!(!self.task.is_finished(), "the server task ended");
    }

    async fn opened_after(&mut self, sid: &str) -> Sid {
        let sid = parse_sid(sid);
        self.wait_for("open", WAIT, |e| *e == Event::Open(sid))
            .await
            .sid()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub(crate) fn parse_sid(sid: &str) -> Sid {
    sid.parse().unwrap_or_else(|_| panic!("not a sid: {sid:?}"))
}

// ---------------------------------------------------------------------------------------------
// Raw HTTP/1.1 client
// ---------------------------------------------------------------------------------------------

/// A parsed HTTP response.
#[derive(Debug, Clone)]
pub(crate) struct HttpResponse {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, Vec<u8>)>,
    pub(crate) body: Vec<u8>,
}

impl HttpResponse {
    /// The first header `name` (case-insensitive), as text.
    pub(crate) fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
    }

    /// Every header `name`.
    pub(crate) fn header_all(&self, name: &str) -> Vec<String> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
            .collect()
    }

    /// The body as text (it must be UTF-8).
    pub(crate) fn text(&self) -> String {
        String::from_utf8(self.body.clone()).expect("UTF-8 body")
    }

    /// The packets of a v4 polling payload.
    pub(crate) fn packets(&self) -> Vec<String> {
        assert_eq!(
            self.status,
            200,
            "body: {:?}",
            String::from_utf8_lossy(&self.body)
        );
        self.text().split('\x1e').map(str::to_owned).collect()
    }

    /// Asserts an Engine.IO JSON error response.
    pub(crate) fn assert_error(&self, status: u16, code: u8, message: &str) {
        assert_eq!(
            (
                self.status,
                String::from_utf8_lossy(&self.body).into_owned()
            ),
            (
                status,
                format!(r#"{{"code":{code},"message":"{message}"}}"#)
            ),
        );
        assert_eq!(
            self.header("content-type").as_deref(),
            Some("application/json")
        );
    }
}

/// Reads one response from `r`. `buf` holds bytes already read (and keeps what follows the
/// response). `Ok(None)` if the connection closed before a status line.
pub(crate) async fn read_response<R: AsyncRead + Unpin>(
    r: &mut R,
    buf: &mut Vec<u8>,
    head_request: bool,
) -> std::io::Result<Option<HttpResponse>> {
    // Head.
    let head_end = loop {
        if let Some(i) = find(buf, b"\r\n\r\n") {
            break i;
        }
        if buf.len() > 1 << 20 {
            return Err(std::io::Error::other("response head too large"));
        }
        if read_more(r, buf).await? == 0 {
            return if buf.is_empty() {
                Ok(None)
            } else {
                Err(std::io::Error::other("connection closed inside the head"))
            };
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    buf.drain(..head_end + 4);
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/1.") {
        return Err(std::io::Error::other(format!(
            "bad status line {status_line:?}"
        )));
    }
    let status: u16 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad status line {status_line:?}")))?;
    let mut headers = Vec::new();
    for line in lines {
        let (n, v) = line
            .split_once(':')
            .ok_or_else(|| std::io::Error::other(format!("bad header line {line:?}")))?;
        headers.push((n.trim().to_owned(), v.trim().as_bytes().to_vec()));
    }
    let mut res = HttpResponse {
        status,
        headers,
        body: Vec::new(),
    };
    if head_request || status == 101 || status == 204 || status == 304 || status < 200 {
        return Ok(Some(res));
    }
    let chunked = res
        .header("transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    if chunked {
        loop {
            let line_end = loop {
                if let Some(i) = find(buf, b"\r\n") {
                    break i;
                }
                if read_more(r, buf).await? == 0 {
                    return Err(std::io::Error::other("closed inside a chunk size"));
                }
            };
            let size_text = String::from_utf8_lossy(&buf[..line_end]).into_owned();
            let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
                .map_err(|_| std::io::Error::other(format!("bad chunk size {size_text:?}")))?;
            buf.drain(..line_end + 2);
            if size == 0 {
                // Trailers, then an empty line.
                loop {
                    if let Some(i) = find(buf, b"\r\n") {
                        buf.drain(..i + 2);
                        if i == 0 {
                            return Ok(Some(res));
                        }
                        continue;
                    }
                    if read_more(r, buf).await? == 0 {
                        return Ok(Some(res));
                    }
                }
            }
            while buf.len() < size + 2 {
                if read_more(r, buf).await? == 0 {
                    return Err(std::io::Error::other("closed inside a chunk"));
                }
            }
            res.body.extend_from_slice(&buf[..size]);
            buf.drain(..size + 2);
        }
    } else if let Some(len) = res.header("content-length") {
        let len: usize = len
            .parse()
            .map_err(|_| std::io::Error::other("bad content-length"))?;
        while buf.len() < len {
            if read_more(r, buf).await? == 0 {
                return Err(std::io::Error::other("closed inside the body"));
            }
        }
        res.body = buf.drain(..len).collect();
    } else {
        // Until the connection closes.
        while read_more(r, buf).await? != 0 {}
        res.body = std::mem::take(buf);
    }
    Ok(Some(res))
}

async fn read_more<R: AsyncRead + Unpin>(r: &mut R, buf: &mut Vec<u8>) -> std::io::Result<usize> {
    let mut chunk = [0u8; 8192];
    let n = r.read(&mut chunk).await?;
    buf.extend_from_slice(&chunk[..n]);
    Ok(n)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Connects to the server.
pub(crate) async fn connect(addr: SocketAddr) -> TcpStream {
    timeout(WAIT, TcpStream::connect(addr))
        .await
        .expect("connect timed out")
        .expect("connect")
}

/// Writes `request` on a new connection and returns the stream (the response is read later
/// with [`finish`]).
pub(crate) async fn start(addr: SocketAddr, request: &[u8]) -> TcpStream {
    let mut s = connect(addr).await;
    timeout(WAIT, s.write_all(request))
        .await
        .expect("write timed out")
        .expect("write");
    s
}

/// Reads the response of a request written with [`start`].
pub(crate) async fn finish(mut s: TcpStream) -> HttpResponse {
    let mut buf = Vec::new();
    timeout(WAIT, read_response(&mut s, &mut buf, false))
        .await
        .expect("response timed out")
        .expect("read response")
        .expect("connection closed without a response")
}

/// Sends raw request bytes on a new connection and reads the response.
pub(crate) async fn send_raw(addr: SocketAddr, request: &[u8]) -> HttpResponse {
    finish(start(addr, request).await).await
}

/// Builds a request with `Host`, `Connection: close`, and `Content-Length` when a body is
/// given.
pub(crate) fn build(
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Vec<u8> {
    let mut r = format!("{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n")
        .into_bytes();
    for (n, v) in headers {
        r.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
    }
    if let Some(body) = body {
        r.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
        r.extend_from_slice(body);
    } else {
        r.extend_from_slice(b"\r\n");
    }
    r
}

pub(crate) async fn get(addr: SocketAddr, target: &str) -> HttpResponse {
    send_raw(addr, &build("GET", target, &[], None)).await
}

pub(crate) async fn request(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> HttpResponse {
    send_raw(addr, &build(method, target, headers, body)).await
}

/// The polling URL of a session.
pub(crate) fn polling_url(sid: &str) -> String {
    format!("/engine.io/?EIO=4&transport=polling&sid={sid}")
}

/// A v4 polling handshake: the sid and the response.
pub(crate) async fn handshake(addr: SocketAddr) -> (String, HttpResponse) {
    handshake_query(addr, "EIO=4&transport=polling").await
}

pub(crate) async fn handshake_query(addr: SocketAddr, query: &str) -> (String, HttpResponse) {
    let res = get(addr, &format!("/engine.io/?{query}")).await;
    assert_eq!(
        res.status,
        200,
        "handshake: {:?}",
        String::from_utf8_lossy(&res.body)
    );
    let sid = open_sid(&res.text());
    (sid, res)
}

/// The sid of the first packet of a polling body or a WebSocket message: `0{...}` (a v3
/// length prefix `<n>:` is skipped).
pub(crate) fn open_sid(body: &str) -> String {
    let json = open_json(body);
    json["sid"].as_str().expect("sid").to_owned()
}

/// The JSON of the open packet at the start of `body`.
pub(crate) fn open_json(body: &str) -> serde_json::Value {
    let first = body.split('\x1e').next().unwrap_or_default();
    let first = match first.split_once(':') {
        Some((n, rest)) if n.bytes().all(|b| b.is_ascii_digit()) && !n.is_empty() => rest,
        _ => first,
    };
    let json = first.strip_prefix('0').expect("an open packet");
    serde_json::from_str(json).expect("open packet JSON")
}

/// A long-poll GET.
pub(crate) async fn poll(addr: SocketAddr, sid: &str) -> HttpResponse {
    get(addr, &polling_url(sid)).await
}

/// Polls until the close packet `1` arrives (at most three polls: the frames queued before a
/// server close may come in one response and the `1` in the next) and returns every packet.
pub(crate) async fn poll_until_close(addr: SocketAddr, sid: &str) -> Vec<String> {
    let mut packets = Vec::new();
    for _ in 0..3 {
        packets.extend(poll(addr, sid).await.packets());
        if packets.last().is_some_and(|p| p == "1") {
            break;
        }
    }
    packets
}

/// Starts a long-poll GET without reading its response.
pub(crate) async fn start_poll(addr: SocketAddr, sid: &str) -> TcpStream {
    start(addr, &build("GET", &polling_url(sid), &[], None)).await
}

/// A POST of a payload.
pub(crate) async fn post(addr: SocketAddr, sid: &str, body: &[u8]) -> HttpResponse {
    request(
        addr,
        "POST",
        &polling_url(sid),
        &[("Content-Type", "text/plain;charset=UTF-8")],
        Some(body),
    )
    .await
}

/// Asserts a successful POST (`200 ok`).
pub(crate) fn assert_ok(res: &HttpResponse) {
    assert_eq!(
        (res.status, String::from_utf8_lossy(&res.body).into_owned()),
        (200, "ok".to_owned())
    );
}

/// A raw WebSocket upgrade request for `query`.
pub(crate) fn upgrade_request(query: &str, extra: &[(&str, &str)]) -> Vec<u8> {
    let mut headers = vec![
        ("Connection", "Upgrade"),
        ("Upgrade", "websocket"),
        ("Sec-WebSocket-Version", "13"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ];
    headers.extend_from_slice(extra);
    let mut r = format!("GET /engine.io/?{query} HTTP/1.1\r\nHost: 127.0.0.1\r\n").into_bytes();
    for (n, v) in headers {
        r.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
    }
    r.extend_from_slice(b"\r\n");
    r
}

// ---------------------------------------------------------------------------------------------
// WebSocket client
// ---------------------------------------------------------------------------------------------

pub(crate) type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Opens a WebSocket to `/engine.io/?{query}`.
pub(crate) async fn ws_connect(addr: SocketAddr, query: &str) -> Ws {
    try_ws_connect(addr, query)
        .await
        .unwrap_or_else(|e| panic!("WebSocket connect failed: {e}"))
}

pub(crate) async fn try_ws_connect(
    addr: SocketAddr,
    query: &str,
) -> Result<Ws, tungstenite::Error> {
    let url = format!("ws://{addr}/engine.io/?{query}");
    let (ws, _) = timeout(WAIT, tokio_tungstenite::connect_async(url))
        .await
        .expect("WebSocket connect timed out")?;
    Ok(ws)
}

/// A direct WebSocket session: the socket and its sid (the open packet is consumed).
pub(crate) async fn ws_session(addr: SocketAddr) -> (Ws, String) {
    let mut ws = ws_connect(addr, "EIO=4&transport=websocket").await;
    let open = ws_text(&mut ws).await;
    assert!(open.starts_with("0{"), "{open}");
    let sid = open_sid(&open);
    (ws, sid)
}

/// The next data message (WebSocket pings and pongs skipped).
pub(crate) async fn ws_next(ws: &mut Ws) -> WsMessage {
    ws_next_within(ws, WAIT)
        .await
        .unwrap_or_else(|| panic!("no WebSocket message within {WAIT:?}"))
}

/// The next data message within `within`; `None` on timeout.
pub(crate) async fn ws_next_within(ws: &mut Ws, within: Duration) -> Option<WsMessage> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Err(_) => return None,
            Ok(None) => panic!("WebSocket ended"),
            Ok(Some(Err(e))) => panic!("WebSocket error: {e}"),
            Ok(Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_)))) => {}
            Ok(Some(Ok(m))) => return Some(m),
        }
    }
}

/// The next text message.
pub(crate) async fn ws_text(ws: &mut Ws) -> String {
    match ws_next(ws).await {
        WsMessage::Text(t) => t.to_string(),
        other => panic!("expected a text message, got {other:?}"),
    }
}

pub(crate) async fn ws_send(ws: &mut Ws, msg: WsMessage) {
    timeout(WAIT, ws.send(msg))
        .await
        .expect("WebSocket send timed out")
        .expect("WebSocket send");
}

pub(crate) async fn ws_send_text(ws: &mut Ws, text: &str) {
    ws_send(ws, WsMessage::text(text)).await;
}

/// How a WebSocket ended.
#[derive(Debug)]
pub(crate) enum WsEnd {
    /// A close frame (maybe with a code).
    Close(Option<CloseFrame>),
    /// The stream ended or failed without a close frame.
    Gone,
}

/// Reads until the WebSocket closes; fails if a data message arrives first, or nothing
/// happens within `within`.
pub(crate) async fn ws_closed_within(ws: &mut Ws, within: Duration) -> WsEnd {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Err(_) => panic!("the WebSocket was not closed within {within:?}"),
            Ok(None | Some(Err(_))) => return WsEnd::Gone,
            Ok(Some(Ok(WsMessage::Close(frame)))) => return WsEnd::Close(frame),
            Ok(Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_)))) => {}
            Ok(Some(Ok(m))) => panic!("expected a close, got {m:?}"),
        }
    }
}

pub(crate) async fn ws_closed(ws: &mut Ws) -> WsEnd {
    ws_closed_within(ws, WAIT).await
}

/// Encodes a masked client WebSocket frame.
pub(crate) fn ws_frame(fin: bool, rsv: u8, opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![(u8::from(fin) << 7) | ((rsv & 7) << 4) | (opcode & 0x0f)];
    let len = payload.len();
    if len < 126 {
        f.push(0x80 | len as u8);
    } else if len <= 0xffff {
        f.push(0x80 | 126);
        f.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        f.push(0x80 | 127);
        f.extend_from_slice(&(len as u64).to_be_bytes());
    }
    let mask = [0x12, 0x34, 0x56, 0x78];
    f.extend_from_slice(&mask);
    f.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    f
}

// ---------------------------------------------------------------------------------------------
// Deterministic RNG
// ---------------------------------------------------------------------------------------------

/// xorshift64*: small, fast, deterministic.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform-ish in `0..n` (`n > 0`).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// True with probability `percent`/100.
    pub(crate) fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    pub(crate) fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    pub(crate) fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next_u64() as u8).collect()
    }
}
