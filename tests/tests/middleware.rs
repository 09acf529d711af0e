//! tower / tower-http / tower-sessions / axum-login layers around `SocketIoLayer`, with the real
//! npm `socket.io-client` 4.8 (`tests/node/sio-middleware.mjs`) and raw HTTP requests.
//!
//! Every test serves an axum app with a REST route and Socket.IO on one router, on a free
//! 127.0.0.1 port, behind the layer under test, and checks what `docs/middleware.md` says about
//! that layer: one test (or a pair: works / breaks) per row of its compatibility table.
//!
//! Raw requests go through the small HTTP/1.1 client at the end of this file: it shows the
//! status codes and headers the npm client does not expose (CORS headers, `Content-Encoding`,
//! 408, 413, `x-request-id`, the 101).

#![allow(clippy::panic, reason = "tests fail by panicking")]

use std::{
    convert::Infallible,
    net::SocketAddr,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use axum::{
    Json, Router,
    extract::{FromRef, Path, Request},
    http::{HeaderValue, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use axum_extra::{
    TypedHeader,
    extract::{
        CookieJar, SignedCookieJar,
        cookie::{Cookie, Key},
    },
};
use axum_login::{
    AuthManagerLayerBuilder, AuthSession, AuthUser, AuthnBackend, UserId,
    tower_sessions::{MemoryStore, Session, SessionManagerLayer},
};
use headers::{Authorization, authorization::Bearer};
use integration_tests::{http_url, run_node};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tower::{Layer, limit::ConcurrencyLimitLayer};
use tower_http::{
    compression::CompressionLayer,
    cors::CorsLayer,
    limit::RequestBodyLimitLayer,
    normalize_path::NormalizePathLayer,
    request_id::{MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer},
    timeout::TimeoutLayer,
    trace::{MakeSpan, OnResponse, TraceLayer},
};
use tower_socketio::{
    AckSender, ConnectError, Sid, Socket, SocketIo, SocketIoConfig,
    extract::{Data, Extension, Http},
};

/// The hard bound of one `sio-middleware.mjs` run (its own `--timeout` is 20 s).
const NODE_TIMEOUT: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------------------------
// The apps
// ---------------------------------------------------------------------------------------------

/// A server whose main namespace emits `hello` `{id, transport}` on connect and acknowledges
/// `echo` with its argument.
fn echo_io(config: SocketIoConfig) -> SocketIo {
    let io = SocketIo::with_config(config);
    io.ns("/", |socket: Socket| async move {
        on_echo(&socket);
        hello(&socket, json!({}));
    });
    io
}

fn on_echo(socket: &Socket) {
    socket.on("echo", |Data(v): Data<Value>, ack: AckSender| async move {
        ack.send(&v).ok();
    });
}

/// Emits `hello` with the socket id, its transport and the fields of `extra`.
fn hello(socket: &Socket, extra: Value) {
    let mut hello = json!({ "id": socket.id().as_str(), "transport": socket.transport().as_str() });
    if let (Some(map), Value::Object(extra)) = (hello.as_object_mut(), extra) {
        map.extend(extra);
    }
    socket.emit("hello", &hello).ok();
}

/// The REST side of every app: `GET /health` answers `ok`.
fn rest() -> Router {
    Router::new().route("/health", get(|| async { "ok" }))
}

/// A running test server; stops when dropped.
struct Server {
    addr: SocketAddr,
    url: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn listener() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("cannot bind 127.0.0.1:0: {e}"));
    let addr = listener
        .local_addr()
        .unwrap_or_else(|e| panic!("no local address: {e}"));
    (listener, addr)
}

/// Serves `app` (a `Router`) on a free 127.0.0.1 port.
async fn serve(app: Router) -> Server {
    let (listener, addr) = listener().await;
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.ok();
    });
    Server {
        addr,
        url: http_url(addr),
        task,
    }
}

/// Serves a tower service wrapping the whole router (for layers that must see every request
/// before routing: `NormalizePathLayer`, one shared `ConcurrencyLimitLayer`).
async fn serve_service<S>(service: S) -> Server
where
    S: tower::Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send,
{
    let (listener, addr) = listener().await;
    let make = axum::ServiceExt::<Request>::into_make_service(service);
    let task = tokio::spawn(async move {
        axum::serve(listener, make).await.ok();
    });
    Server {
        addr,
        url: http_url(addr),
        task,
    }
}

// ---------------------------------------------------------------------------------------------
// The npm client
// ---------------------------------------------------------------------------------------------

/// Runs `sio-middleware.mjs` with `scenario` over `transports` (plus `extra` options) and
/// returns its `result` object.
async fn node(server: &Server, scenario: &str, transports: &str, extra: &[&str]) -> Value {
    let mut args = vec![
        server.url.as_str(),
        "--scenario",
        scenario,
        "--transports",
        transports,
    ];
    args.extend_from_slice(extra);
    match run_node("sio-middleware.mjs", &args, NODE_TIMEOUT).await {
        Ok(out) => out["result"].clone(),
        Err(report) => panic!("{scenario} over {transports}: {report}"),
    }
}

/// The three ways to connect: polling only, WebSocket only, polling upgraded to WebSocket.
const TRANSPORTS: [(&str, &str); 3] = [
    ("polling", "polling"),
    ("websocket", "websocket"),
    ("polling,websocket", "websocket"),
];

/// An `echo` run over each of [`TRANSPORTS`] (`--wait-upgrade` for the upgrade), checking the
/// final transport; returns the results.
async fn echo_all_transports(server: &Server, extra: &[&str]) -> Vec<Value> {
    let mut results = Vec::new();
    for (transports, last) in TRANSPORTS {
        let mut args = extra.to_vec();
        if transports.contains(',') {
            args.push("--wait-upgrade");
        }
        let r = node(server, "echo", transports, &args).await;
        assert_eq!(r["transport"], last, "{transports}: {r}");
        assert_eq!(r["connects"], 1, "{transports}: {r}");
        results.push(r);
    }
    results
}

/// `--headers` JSON for the npm client.
fn headers_arg(headers: &Value) -> String {
    headers.to_string()
}

// ---------------------------------------------------------------------------------------------
// CORS
// ---------------------------------------------------------------------------------------------

const APP_ORIGIN: &str = "http://app.example";

/// `CorsLayer` with explicit origins and credentials: the polling handshake and POSTs get
/// the CORS headers for that origin (and none for another), the preflight of a polling POST is
/// answered, and the WebSocket handshake is unaffected (a 101). The npm client works over
/// every transport with that `Origin`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_explicit_origins_with_credentials() {
    let cors = CorsLayer::new()
        .allow_origin([
            HeaderValue::from_static(APP_ORIGIN),
            HeaderValue::from_static("http://admin.example"),
        ])
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::CONTENT_TYPE])
        .allow_credentials(true);
    let io = echo_io(SocketIoConfig::default());
    let server = serve(rest().layer(io.layer()).layer(cors)).await;

    // The polling handshake from the allowed origin.
    let origin = [("origin", APP_ORIGIN)];
    let hs = raw(server.addr, "GET", POLLING, &origin, b"").await;
    assert_eq!(hs.status, 200, "{hs:?}");
    assert_eq!(
        hs.header("access-control-allow-origin"),
        Some(APP_ORIGIN),
        "{hs:?}"
    );
    assert_eq!(
        hs.header("access-control-allow-credentials"),
        Some("true"),
        "{hs:?}"
    );
    let sid = handshake_sid(&hs);

    // Another origin: no CORS headers (the browser then refuses to hand the response over).
    let evil = raw(
        server.addr,
        "GET",
        POLLING,
        &[("origin", "http://evil.example")],
        b"",
    )
    .await;
    assert_eq!(evil.status, 200, "{evil:?}");
    assert_eq!(evil.header("access-control-allow-origin"), None, "{evil:?}");

    // The preflight a browser sends before a polling POST with non-simple headers (such as
    // `extraHeaders`): the layer answers it.
    let target = format!("{POLLING}&sid={sid}");
    let pre = raw(
        server.addr,
        "OPTIONS",
        &target,
        &[
            ("origin", APP_ORIGIN),
            ("access-control-request-method", "POST"),
            ("access-control-request-headers", "content-type"),
        ],
        b"",
    )
    .await;
    assert_eq!(pre.status, 200, "{pre:?}");
    assert_eq!(
        pre.header("access-control-allow-origin"),
        Some(APP_ORIGIN),
        "{pre:?}"
    );
    assert_eq!(
        pre.header("access-control-allow-credentials"),
        Some("true"),
        "{pre:?}"
    );
    let methods = pre.header("access-control-allow-methods").unwrap_or("");
    assert!(methods.contains("POST"), "{pre:?}");
    let allowed = pre.header("access-control-allow-headers").unwrap_or("");
    assert!(allowed.contains("content-type"), "{pre:?}");

    // The POST itself (a Socket.IO CONNECT) gets the headers too.
    let connect = raw(server.addr, "POST", &target, &origin, b"40").await;
    assert_eq!(connect.status, 200, "{connect:?}");
    assert_eq!(connect.text(), "ok");
    assert_eq!(
        connect.header("access-control-allow-origin"),
        Some(APP_ORIGIN)
    );

    // The WebSocket handshake: browsers do not apply CORS to it; the layer does not get in
    // the way (it only adds headers to the 101).
    let ws = raw(server.addr, "GET", WEBSOCKET, &ws_headers(&origin), b"").await;
    assert_eq!(ws.status, 101, "{ws:?}");

    let headers = headers_arg(&json!({ "origin": APP_ORIGIN }));
    echo_all_transports(&server, &["--headers", &headers, "--sizes", "16,2000"]).await;
}

/// The same `CorsLayer` given to `SocketIoConfig::cors` (Node's `cors` option) covers the
/// Socket.IO path only: the handshake gets the CORS headers, a REST route does not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_via_socketio_config_covers_the_socket_path_only() {
    let cors = CorsLayer::new()
        .allow_origin([HeaderValue::from_static(APP_ORIGIN)])
        .allow_credentials(true);
    let io = echo_io(SocketIoConfig::default().cors(cors));
    let server = serve(rest().layer(io.layer())).await;
    let origin = [("origin", APP_ORIGIN)];
    let hs = raw(server.addr, "GET", POLLING, &origin, b"").await;
    assert_eq!(
        hs.header("access-control-allow-origin"),
        Some(APP_ORIGIN),
        "{hs:?}"
    );
    let health = raw(server.addr, "GET", "/health", &origin, b"").await;
    assert_eq!(health.status, 200, "{health:?}");
    assert_eq!(
        health.header("access-control-allow-origin"),
        None,
        "{health:?}"
    );
    let headers = headers_arg(&json!({ "origin": APP_ORIGIN }));
    node(&server, "echo", "polling", &["--headers", &headers]).await;
}

// ---------------------------------------------------------------------------------------------
// Trace
// ---------------------------------------------------------------------------------------------

/// What the `TraceLayer` saw: one entry per span it made, one status per response.
#[derive(Clone, Default)]
struct TraceLog(Arc<Mutex<TraceEntries>>);

#[derive(Debug, Default)]
struct TraceEntries {
    /// `(method, transport query parameter)` per span.
    spans: Vec<(String, String)>,
    /// Response statuses.
    statuses: Vec<u16>,
}

impl TraceLog {
    fn take(&self) -> TraceEntries {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl<B> MakeSpan<B> for TraceLog {
    fn make_span(&mut self, req: &axum::http::Request<B>) -> tracing::Span {
        let transport = req
            .uri()
            .query()
            .unwrap_or_default()
            .split('&')
            .find_map(|kv| kv.strip_prefix("transport="))
            .unwrap_or("-")
            .to_owned();
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .spans
            .push((req.method().to_string(), transport));
        tracing::debug_span!("request", method = %req.method(), uri = %req.uri())
    }
}

impl<B> OnResponse<B> for TraceLog {
    fn on_response(self, res: &axum::http::Response<B>, _latency: Duration, _span: &tracing::Span) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .statuses
            .push(res.status().as_u16());
    }
}

/// `TraceLayer`: a span per polling request (every one answered 200), and for a WebSocket
/// client exactly one span, the handshake, answered 101; the traffic after the upgrade makes
/// no spans.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_layer_span_per_poll_and_one_for_websocket() {
    let log = TraceLog::default();
    let trace = TraceLayer::new_for_http()
        .make_span_with(log.clone())
        .on_response(log.clone());
    let io = echo_io(SocketIoConfig::default());
    let server = serve(rest().layer(io.layer()).layer(trace)).await;

    node(&server, "echo", "polling", &["--sizes", "16,16,16"]).await;
    // The client's last held poll ends when the client leaves.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let polling = log.take();
    // handshake GET, CONNECT POST, GETs for the answers, a POST per echo, ...
    assert!(polling.spans.len() >= 6, "{polling:?}");
    assert!(
        polling.spans.iter().all(|(_, t)| t == "polling"),
        "{polling:?}"
    );
    assert!(
        polling.spans.iter().any(|(m, _)| m == "POST"),
        "{polling:?}"
    );
    assert!(polling.statuses.iter().all(|s| *s == 200), "{polling:?}");
    assert!(
        polling.statuses.len() + 1 >= polling.spans.len(),
        "{polling:?}"
    );

    node(&server, "echo", "websocket", &["--sizes", "16,16,16"]).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let ws = log.take();
    assert_eq!(
        ws.spans,
        [("GET".to_owned(), "websocket".to_owned())],
        "{ws:?}"
    );
    assert_eq!(ws.statuses, [101], "{ws:?}");

    let r = node(&server, "echo", "polling,websocket", &["--wait-upgrade"]).await;
    assert_eq!(r["transport"], "websocket", "{r}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let upgrade = log.take();
    let ws_spans = upgrade
        .spans
        .iter()
        .filter(|(_, t)| t == "websocket")
        .count();
    assert_eq!(ws_spans, 1, "{upgrade:?}");
    assert_eq!(
        upgrade.statuses.iter().filter(|s| **s == 101).count(),
        1,
        "{upgrade:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Compression
// ---------------------------------------------------------------------------------------------

/// `CompressionLayer`: a polling response of 32 bytes or more is gzip'd when the request
/// accepts gzip (and only then), the 101 is untouched, and the npm client works through it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compression_gzips_polling_responses() {
    let io = echo_io(SocketIoConfig::default());
    let server = serve(rest().layer(io.layer()).layer(CompressionLayer::new())).await;

    let gz = raw(
        server.addr,
        "GET",
        POLLING,
        &[("accept-encoding", "gzip")],
        b"",
    )
    .await;
    assert_eq!(gz.status, 200, "{gz:?}");
    assert_eq!(gz.header("content-encoding"), Some("gzip"), "{gz:?}");
    assert_eq!(gz.body.get(..2), Some(&[0x1f, 0x8b][..]), "{gz:?}");
    let mut plain = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::GzDecoder::new(gz.body.as_slice()),
        &mut plain,
    )
    .unwrap_or_else(|e| panic!("the gzip'd handshake does not decode: {e}"));
    assert!(plain.starts_with("0{\"sid\":"), "{plain}");
    assert!(plain.len() >= 32, "{plain}");

    // Without Accept-Encoding: not compressed.
    let id = raw(server.addr, "GET", POLLING, &[], b"").await;
    assert_eq!(id.header("content-encoding"), None, "{id:?}");
    assert!(id.text().starts_with("0{\"sid\":"), "{id:?}");

    // The WebSocket handshake: a 101 without Content-Encoding.
    let ws = raw(
        server.addr,
        "GET",
        WEBSOCKET,
        &ws_headers(&[("accept-encoding", "gzip")]),
        b"",
    )
    .await;
    assert_eq!(ws.status, 101, "{ws:?}");
    assert_eq!(ws.header("content-encoding"), None, "{ws:?}");

    echo_all_transports(&server, &["--sizes", "16,5000"]).await;
}

// ---------------------------------------------------------------------------------------------
// Timeout
// ---------------------------------------------------------------------------------------------

fn timeout_layer(d: Duration) -> TimeoutLayer {
    TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, d)
}

/// `TimeoutLayer` shorter than the long-poll hold (1 s vs a ping interval of 3 s) breaks
/// polling: a held GET is answered 408 after 1 s, and the npm client loses the connection
/// ("transport error") and reconnects, again and again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_shorter_than_long_poll_breaks_polling() {
    let config = SocketIoConfig::default()
        .ping_interval(Duration::from_secs(3))
        .ping_timeout(Duration::from_secs(2));
    let io = echo_io(config);
    let server = serve(
        rest()
            .layer(io.layer())
            .layer(timeout_layer(Duration::from_secs(1))),
    )
    .await;

    let hs = raw(server.addr, "GET", POLLING, &[], b"").await;
    assert_eq!(hs.status, 200, "{hs:?}");
    let sid = handshake_sid(&hs);
    // Nothing to send yet: the GET is held until the first ping (3 s), but the timeout fires.
    let poll = raw(
        server.addr,
        "GET",
        &format!("{POLLING}&sid={sid}"),
        &[],
        b"",
    )
    .await;
    assert_eq!(poll.status, 408, "{poll:?}");
    assert!(
        poll.elapsed >= Duration::from_millis(900) && poll.elapsed < Duration::from_millis(2500),
        "{poll:?}"
    );
    // The timeout dropped the held poll: the engine takes that as the client leaving (as Node
    // does with a poll request closed prematurely) and closes the session.
    let after = raw(
        server.addr,
        "POST",
        &format!("{POLLING}&sid={sid}"),
        &[],
        b"40",
    )
    .await;
    assert_eq!(after.status, 400, "{after:?}");
    assert!(after.text().contains("Session ID unknown"), "{after:?}");

    let r = node(&server, "flaky", "polling", &["--observe", "4500"]).await;
    let reasons = r["disconnects"].as_array().cloned().unwrap_or_default();
    assert!(
        reasons.iter().any(|d| d == "transport error"),
        "expected the 408 to break the polling connection: {r}"
    );
    assert!(
        r["connects"].as_u64().unwrap_or(0) >= 2,
        "expected reconnections: {r}"
    );
}

/// `TimeoutLayer` longer than the ping interval (3 s vs 1 s): every held poll is answered
/// before the timeout, and a polling client idle for longer than the timeout still echoes on
/// the same connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_longer_than_ping_interval_works() {
    let config = SocketIoConfig::default()
        .ping_interval(Duration::from_secs(1))
        .ping_timeout(Duration::from_secs(1));
    let io = echo_io(config);
    let server = serve(
        rest()
            .layer(io.layer())
            .layer(timeout_layer(Duration::from_secs(3))),
    )
    .await;
    let r = node(&server, "echo", "polling", &["--idle", "3500"]).await;
    assert_eq!(r["connects"], 1, "{r}");
    assert_eq!(r["transport"], "polling", "{r}");
}

/// `TimeoutLayer` never affects a WebSocket: its request ends at the 101. With a 1 s timeout,
/// a WebSocket client (direct, or upgraded from polling) idle for 2.5 s still echoes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_never_affects_an_upgraded_websocket() {
    let config = SocketIoConfig::default()
        .ping_interval(Duration::from_secs(3))
        .ping_timeout(Duration::from_secs(2));
    let io = echo_io(config);
    let server = serve(
        rest()
            .layer(io.layer())
            .layer(timeout_layer(Duration::from_secs(1))),
    )
    .await;
    let (ws, upgraded) = tokio::join!(
        node(&server, "echo", "websocket", &["--idle", "2500"]),
        node(
            &server,
            "echo",
            "polling,websocket",
            &["--wait-upgrade", "--idle", "2500"]
        ),
    );
    for r in [ws, upgraded] {
        assert_eq!(r["transport"], "websocket", "{r}");
        assert_eq!(r["connects"], 1, "{r}");
    }
}

/// The recommended setup: the timeout on the REST routes only (`route_layer`), Socket.IO
/// outside it. A slow REST handler gets its 408; a polling client idle for longer than the
/// timeout (with held polls of 3 s) keeps working.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_on_rest_routes_only() {
    let config = SocketIoConfig::default()
        .ping_interval(Duration::from_secs(3))
        .ping_timeout(Duration::from_secs(2));
    let io = echo_io(config);
    let app = rest()
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(3)).await;
                "late"
            }),
        )
        .route_layer(timeout_layer(Duration::from_secs(1)))
        .layer(io.layer());
    let server = serve(app).await;

    let slow = raw(server.addr, "GET", "/slow", &[], b"").await;
    assert_eq!(slow.status, 408, "{slow:?}");
    let health = raw(server.addr, "GET", "/health", &[], b"").await;
    assert_eq!((health.status, health.text()), (200, "ok".to_owned()));

    let r = node(&server, "echo", "polling", &["--idle", "3500"]).await;
    assert_eq!(r["connects"], 1, "{r}");
}

// ---------------------------------------------------------------------------------------------
// Request body limit
// ---------------------------------------------------------------------------------------------

/// `RequestBodyLimitLayer` at least `max_payload` (100 kB both): polling POSTs up to the
/// payload limit pass, over every transport.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_limit_at_least_max_payload_works() {
    let io = echo_io(SocketIoConfig::default().max_payload(100_000));
    let server = serve(
        rest()
            .layer(io.layer())
            .layer(RequestBodyLimitLayer::new(100_000)),
    )
    .await;
    echo_all_transports(&server, &["--sizes", "16,60000"]).await;
}

/// `RequestBodyLimitLayer` below `max_payload` (4 kB vs 1 MB): a polling POST over the limit
/// gets 413 from the layer, so a polling client emitting 10 kB loses its connection
/// ("transport error"). WebSocket frames are not request bodies: the same emit passes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_limit_below_max_payload_rejects_large_polls() {
    let io = echo_io(SocketIoConfig::default());
    let server = serve(
        rest()
            .layer(io.layer())
            .layer(RequestBodyLimitLayer::new(4096)),
    )
    .await;

    let hs = raw(server.addr, "GET", POLLING, &[], b"").await;
    let target = format!("{POLLING}&sid={}", handshake_sid(&hs));
    let mut big = b"4".to_vec();
    big.resize(10_000, b'x');
    let post = raw(server.addr, "POST", &target, &[], &big).await;
    assert_eq!(post.status, 413, "{post:?}");
    let small = raw(server.addr, "POST", &target, &[], b"40").await;
    assert_eq!((small.status, small.text()), (200, "ok".to_owned()));

    let polling = node(&server, "oversize", "polling", &["--size", "10000"]).await;
    assert_eq!(polling["acked"], Value::Null, "{polling}");
    assert_eq!(polling["disconnect"], "transport error", "{polling}");

    let ws = node(&server, "oversize", "websocket", &["--size", "10000"]).await;
    assert_eq!(ws["acked"], 10_000, "{ws}");
    assert_eq!(ws["disconnect"], Value::Null, "{ws}");
}

// ---------------------------------------------------------------------------------------------
// Request id
// ---------------------------------------------------------------------------------------------

/// Request ids `req-1`, `req-2`, ...
#[derive(Clone, Default)]
struct Counter(Arc<AtomicU64>);

impl MakeRequestId for Counter {
    fn make_request_id<B>(&mut self, _req: &axum::http::Request<B>) -> Option<RequestId> {
        let n = self.0.fetch_add(1, Ordering::Relaxed) + 1;
        HeaderValue::from_str(&format!("req-{n}"))
            .ok()
            .map(RequestId::new)
    }
}

fn request_id_text(id: &RequestId) -> String {
    id.header_value().to_str().unwrap_or_default().to_owned()
}

/// `SetRequestIdLayer` / `PropagateRequestIdLayer`: the handshake request's id is readable in
/// the connect handler, with `Http<axum::Extension<RequestId>>` and in
/// `socket.request_parts().extensions`; the response carries it back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_id_visible_in_connect_handler() {
    let io = SocketIo::new();
    io.ns(
        "/",
        |socket: Socket, Http(axum::Extension(rid)): Http<axum::Extension<RequestId>>| async move {
            on_echo(&socket);
            let from_parts = socket
                .request_parts()
                .extensions
                .get::<RequestId>()
                .map(request_id_text);
            hello(
                &socket,
                json!({ "rid": request_id_text(&rid), "ridFromParts": from_parts }),
            );
        },
    );
    let app = rest()
        .layer(io.layer())
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(Counter::default()));
    let server = serve(app).await;

    let hs = raw(server.addr, "GET", POLLING, &[], b"").await;
    let generated = hs.header("x-request-id").unwrap_or_default().to_owned();
    assert!(generated.starts_with("req-"), "{hs:?}");
    let given = raw(
        server.addr,
        "GET",
        POLLING,
        &[("x-request-id", "abc-1")],
        b"",
    )
    .await;
    assert_eq!(given.header("x-request-id"), Some("abc-1"), "{given:?}");

    for (transports, _) in TRANSPORTS {
        let rid = format!("rid-{}", transports.replace(',', "-"));
        let headers = headers_arg(&json!({ "x-request-id": rid }));
        let mut args = vec!["--headers", headers.as_str()];
        if transports.contains(',') {
            args.push("--wait-upgrade");
        }
        let r = node(&server, "echo", transports, &args).await;
        assert_eq!(r["hello"]["rid"], rid, "{r}");
        assert_eq!(r["hello"]["ridFromParts"], rid, "{r}");
    }
    // No header: the generated id of the handshake request.
    let r = node(&server, "echo", "websocket", &[]).await;
    let rid = r["hello"]["rid"].as_str().unwrap_or_default();
    assert!(rid.starts_with("req-"), "{r}");
    assert_eq!(r["hello"]["ridFromParts"], rid, "{r}");
}

// ---------------------------------------------------------------------------------------------
// Concurrency limit
// ---------------------------------------------------------------------------------------------

/// An app behind one shared `ConcurrencyLimitLayer::new(2)` (wrapping the whole router, so
/// REST and Socket.IO share the two permits), with held polls of up to 20 s.
async fn concurrency_limited_server() -> Server {
    let config = SocketIoConfig::default()
        .ping_interval(Duration::from_secs(20))
        .ping_timeout(Duration::from_secs(20));
    let io = echo_io(config);
    let app = rest().layer(io.layer());
    serve_service(ConcurrencyLimitLayer::new(2).layer(app)).await
}

/// `ConcurrencyLimitLayer` (2 permits): every held long-poll keeps a permit until it is
/// answered (up to the ping interval, 20 s here). With three polling clients two held polls
/// soon have both permits, and every other request waits for the next ping: the polling
/// clients' sends (so not all three can echo), a REST request, a new WebSocket handshake. An
/// already upgraded WebSocket client is unaffected: it holds no permit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_limit_held_polls_take_the_permits() {
    let server = concurrency_limited_server().await;
    let r = node(
        &server,
        "concurrency",
        "polling",
        &["--polling-clients", "3", "--window", "2000"],
    )
    .await;
    println!("concurrency limit 2, three polling clients: {r}");
    assert!(
        r["pollingEchoed"].as_u64().unwrap_or(99) < 3,
        "expected a polling client to stall: {r}"
    );
    assert!(
        r["rest"]["error"].is_string(),
        "expected GET /health to stall: {r}"
    );
    assert_eq!(r["freshWsConnected"], false, "{r}");
}

/// `ConcurrencyLimitLayer` (2 permits) with WebSocket clients: each handshake gives its permit
/// back at the 101, so six clients at once all connect and echo.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_limit_websocket_clients_fine() {
    let server = concurrency_limited_server().await;
    let r = node(&server, "ws-crowd", "websocket", &["--clients", "6"]).await;
    assert_eq!(r["connected"], 6, "{r}");
}

// ---------------------------------------------------------------------------------------------
// NormalizePath
// ---------------------------------------------------------------------------------------------

/// `NormalizePathLayer::trim_trailing_slash()` wrapping the whole router (the working order):
/// `/health/` reaches `/health`, and Socket.IO answers at `/socket.io/` (trimmed to
/// `/socket.io`, which the layer also matches) over every transport. Added with
/// `Router::layer` instead, it runs after routing: `/health/` is a 404 (Socket.IO still works).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn normalize_path_wrapping_the_router() {
    let io = echo_io(SocketIoConfig::default());
    let app = rest().layer(io.layer());
    let server = serve_service(NormalizePathLayer::trim_trailing_slash().layer(app)).await;

    let health = raw(server.addr, "GET", "/health/", &[], b"").await;
    assert_eq!((health.status, health.text()), (200, "ok".to_owned()));
    for path in [POLLING, "/socket.io?EIO=4&transport=polling"] {
        let hs = raw(server.addr, "GET", path, &[], b"").await;
        assert!(hs.text().starts_with("0{\"sid\":"), "{path}: {hs:?}");
    }
    echo_all_transports(&server, &[]).await;

    // The order that does not work for REST routes.
    let io = echo_io(SocketIoConfig::default());
    let wrong = serve(
        rest()
            .layer(io.layer())
            .layer(NormalizePathLayer::trim_trailing_slash()),
    )
    .await;
    let health = raw(wrong.addr, "GET", "/health/", &[], b"").await;
    assert_eq!(health.status, 404, "{health:?}");
    let r = node(&wrong, "echo", "polling", &[]).await;
    assert_eq!(r["connects"], 1, "{r}");
}

// ---------------------------------------------------------------------------------------------
// Bearer-token auth
// ---------------------------------------------------------------------------------------------

const TOKEN: &str = "s3cret";

/// `Authorization: Bearer ...`, typed (axum-extra).
type BearerHeader = TypedHeader<Authorization<Bearer>>;

/// A tower middleware (axum `from_fn`) refusing requests without `Authorization: Bearer s3cret`.
async fn require_bearer(auth: Option<BearerHeader>, req: Request, next: Next) -> Response {
    match auth {
        Some(TypedHeader(Authorization(bearer))) if bearer.token() == TOKEN => next.run(req).await,
        _ => (StatusCode::UNAUTHORIZED, "bad token").into_response(),
    }
}

/// A bearer-token layer outside `SocketIoLayer` refuses the handshake of a client with a bad
/// (or no) token, polling and WebSocket alike: the npm client gets `connect_error`. With the
/// right token it connects, and the connect handler reads the token with
/// `Http<TypedHeader<Authorization<Bearer>>>`. REST routes behind the same layer: 401 / 200.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bearer_layer_refuses_bad_tokens() {
    let io = SocketIo::new();
    io.ns(
        "/",
        |socket: Socket, Http(TypedHeader(Authorization(bearer))): Http<BearerHeader>| async move {
            on_echo(&socket);
            hello(&socket, json!({ "token": bearer.token() }));
        },
    );
    let app = rest()
        .layer(io.layer())
        .layer(axum::middleware::from_fn(require_bearer));
    let server = serve(app).await;

    let good = format!("Bearer {TOKEN}");
    let rest_bad = raw(
        server.addr,
        "GET",
        "/health",
        &[("authorization", "Bearer nope")],
        b"",
    )
    .await;
    assert_eq!(rest_bad.status, 401, "{rest_bad:?}");
    let rest_good = raw(
        server.addr,
        "GET",
        "/health",
        &[("authorization", &good)],
        b"",
    )
    .await;
    assert_eq!(rest_good.status, 200, "{rest_good:?}");
    let hs_bad = raw(server.addr, "GET", POLLING, &[], b"").await;
    assert_eq!(hs_bad.status, 401, "{hs_bad:?}");
    let ws_bad = raw(
        server.addr,
        "GET",
        WEBSOCKET,
        &ws_headers(&[("authorization", "Bearer nope")]),
        b"",
    )
    .await;
    assert_eq!(ws_bad.status, 401, "{ws_bad:?}");

    let bad = headers_arg(&json!({ "authorization": "Bearer nope" }));
    for (transports, message) in [
        ("polling", "xhr poll error"),
        ("websocket", "websocket error"),
    ] {
        for args in [vec!["--headers", bad.as_str()], vec![]] {
            let r = node(&server, "refused", transports, &args).await;
            assert_eq!(r["message"], message, "{transports} {args:?}: {r}");
        }
    }
    let good = headers_arg(&json!({ "authorization": good }));
    for r in echo_all_transports(&server, &["--headers", &good]).await {
        assert_eq!(r["hello"]["token"], TOKEN, "{r}");
    }
}

// ---------------------------------------------------------------------------------------------
// tower-sessions + axum-login
// ---------------------------------------------------------------------------------------------

#[derive(Clone)]
struct User {
    name: String,
    password: String,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User").field("name", &self.name).finish()
    }
}

impl AuthUser for User {
    type Id = String;
    fn id(&self) -> String {
        self.name.clone()
    }
    fn session_auth_hash(&self) -> &[u8] {
        self.password.as_bytes()
    }
}

#[derive(Clone, Deserialize)]
struct Credentials {
    name: String,
    password: String,
}

/// One user: alice / wonderland.
#[derive(Clone, Debug)]
struct Backend;

impl Backend {
    fn alice() -> User {
        User {
            name: "alice".to_owned(),
            password: "wonderland".to_owned(),
        }
    }
}

impl AuthnBackend for Backend {
    type User = User;
    type Credentials = Credentials;
    type Error = Infallible;

    async fn authenticate(&self, creds: Credentials) -> Result<Option<User>, Infallible> {
        let alice = Backend::alice();
        Ok((creds.name == alice.name && creds.password == alice.password).then_some(alice))
    }

    async fn get_user(&self, id: &UserId<Self>) -> Result<Option<User>, Infallible> {
        Ok((*id == Backend::alice().name).then(Backend::alice))
    }
}

async fn login(mut auth: AuthSession<Backend>, Json(creds): Json<Credentials>) -> StatusCode {
    match auth.authenticate(creds).await {
        Ok(Some(user)) if auth.login(&user).await.is_ok() => StatusCode::OK,
        _ => StatusCode::UNAUTHORIZED,
    }
}

async fn get_note(session: Session) -> String {
    session
        .get::<String>("note")
        .await
        .ok()
        .flatten()
        .unwrap_or_default()
}

async fn set_note(session: Session, note: String) -> String {
    session.insert("note", &note).await.ok();
    note
}

/// The sessions app: `POST /login`, `GET`/`POST /note` (a value in the session), and a main
/// namespace for logged-in users only.
fn session_app() -> Router {
    let io = SocketIo::new();
    io.ns(
        "/",
        |socket: Socket,
         Http(auth): Http<AuthSession<Backend>>,
         Http(session): Http<Session>,
         Http(jar): Http<CookieJar>| async move {
            on_echo(&socket);
            let get_session = session.clone();
            // Reads the session again (a REST request may have changed it since the handshake).
            socket.on("get-note", move |ack: AckSender| {
                let session = get_session.clone();
                async move {
                    session.load().await.ok();
                    let note = session.get::<String>("note").await.ok().flatten();
                    ack.send(&note).ok();
                }
            });
            // Writes to the session: `save` stores it now (no HTTP response will).
            socket.on(
                "set-note",
                move |Data(note): Data<String>, ack: AckSender| {
                    let session = session.clone();
                    async move {
                        let saved = session.insert("note", &note).await.is_ok()
                            && session.save().await.is_ok();
                        ack.send(if saved { "saved" } else { "failed" }).ok();
                    }
                },
            );
            // What the namespace middleware stored on the socket.
            socket.on(
                "whoami",
                |Extension(user): Extension<User>, ack: AckSender| async move {
                    ack.send(&user.name).ok();
                },
            );
            let cookies: Vec<String> = jar.iter().map(|c| c.name().to_owned()).collect();
            hello(&socket, json!({ "cookies": cookies }));
            let name = auth.user.map(|u| u.name).unwrap_or_default();
            socket.emit("me", &name).ok();
        },
    )
    .middleware(
        |socket: Socket, Http(auth): Http<AuthSession<Backend>>| async move {
            match auth.user {
                Some(user) => {
                    socket.extensions().insert(user);
                    Ok(())
                }
                None => Err(ConnectError::new("not logged in")),
            }
        },
    );
    let sessions = SessionManagerLayer::new(MemoryStore::default()).with_secure(false);
    let auth = AuthManagerLayerBuilder::new(Backend, sessions).build();
    rest()
        .route("/login", post(login))
        .route("/note", get(get_note).post(set_note))
        .layer(io.layer())
        .layer(auth)
}

/// Logs in over REST and returns the session cookie (`id=...`).
async fn log_in(addr: SocketAddr) -> String {
    let body = json!({ "name": "alice", "password": "wonderland" }).to_string();
    let res = raw(
        addr,
        "POST",
        "/login",
        &[("content-type", "application/json")],
        body.as_bytes(),
    )
    .await;
    assert_eq!(res.status, 200, "{res:?}");
    let cookie = res
        .header("set-cookie")
        .and_then(|c| c.split(';').next())
        .unwrap_or_default()
        .to_owned();
    assert!(cookie.starts_with("id="), "{res:?}");
    cookie
}

/// tower-sessions + axum-login: log in over REST, connect with the session cookie, and the
/// connect handler knows the user (`Http<AuthSession<Backend>>`); an anonymous socket is
/// refused by a namespace middleware using the same extractor. Both directions of session
/// updates: a REST change is seen by the socket (after `session.load()`), and a socket's
/// `insert` + `save` is seen by the next REST request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_login_over_rest_then_socket() {
    let server = serve(session_app()).await;

    for (transports, last) in TRANSPORTS {
        let r = node(&server, "refused", transports, &[]).await;
        assert_eq!(r["message"], "not logged in", "{transports}: {r}");

        let cookie = log_in(server.addr).await;
        let note = format!("from-socket-{}", transports.replace(',', "-"));
        let headers = headers_arg(&json!({ "cookie": cookie }));
        let mut args = vec!["--headers", headers.as_str(), "--note", note.as_str()];
        if transports.contains(',') {
            args.push("--wait-upgrade");
        }
        let r = node(&server, "session", transports, &args).await;
        assert_eq!(r["me"], "alice", "{transports}: {r}");
        assert_eq!(r["whoami"], "alice", "{transports}: {r}");
        assert_eq!(r["hello"]["cookies"], json!(["id"]), "{transports}: {r}");
        assert_eq!(r["seenBySocket"], "from-rest", "{transports}: {r}");
        assert_eq!(r["saved"], "saved", "{transports}: {r}");
        assert_eq!(r["transport"], last, "{transports}: {r}");

        let rest = raw(server.addr, "GET", "/note", &[("cookie", &cookie)], b"").await;
        assert_eq!(
            (rest.status, rest.text()),
            (200, note),
            "{transports}: {rest:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// CSRF (tower-http 0.7's CsrfLayer: Sec-Fetch-Site / Origin checks)
// ---------------------------------------------------------------------------------------------

/// `CsrfLayer` outside `SocketIoLayer`: clients that send no `Origin` / `Sec-Fetch-Site` (Node,
/// Python) and same-origin pages work on every transport; a cross-site polling POST (what a
/// hostile page's `fetch` would send) gets 403. GETs pass, so the handshake, the polls and the
/// WebSocket upgrade are not protected by it: a cross-site WebSocket connects. Checking
/// `Origin` in `allow_request` is what closes that door.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csrf_layer_guards_polling_posts_only() {
    let app = rest()
        .route("/note", post(|| async { "posted" }))
        .layer(echo_io(SocketIoConfig::default()).layer())
        .layer(tower_http_07::csrf::CsrfLayer::new());
    let server = serve(app).await;
    let host = server.addr.to_string();
    let same_origin = format!("http://{host}");
    const EVIL: &str = "http://evil.example";

    // Node's client sends neither header: allowed everywhere.
    echo_all_transports(&server, &[]).await;
    // A same-origin page (Origin matches Host).
    let headers = headers_arg(&json!({ "origin": same_origin, "sec-fetch-site": "same-origin" }));
    echo_all_transports(&server, &["--headers", headers.as_str()]).await;

    // A cross-site page: its polling handshake (a GET) passes, its POSTs do not.
    let cross = [("origin", EVIL), ("sec-fetch-site", "cross-site")];
    let open = raw(
        server.addr,
        "GET",
        "/socket.io/?EIO=4&transport=polling",
        &cross,
        b"",
    )
    .await;
    assert_eq!(open.status, 200, "{open:?}");
    let target = format!(
        "/socket.io/?EIO=4&transport=polling&sid={}",
        handshake_sid(&open)
    );
    let post = raw(server.addr, "POST", &target, &cross, b"40").await;
    assert_eq!(post.status, 403, "{post:?}");
    let rest = raw(server.addr, "POST", "/note", &cross, b"").await;
    assert_eq!(rest.status, 403, "{rest:?}");
    // The same POST from the same origin is accepted.
    let same = [
        ("origin", same_origin.as_str()),
        ("sec-fetch-site", "same-origin"),
    ];
    let post = raw(server.addr, "POST", &target, &same, b"40").await;
    assert_eq!(
        (post.status, post.text()),
        (200, "ok".to_owned()),
        "{post:?}"
    );

    // A cross-site WebSocket is not stopped by the layer (a GET).
    let headers = headers_arg(&json!({ "origin": EVIL, "sec-fetch-site": "cross-site" }));
    let r = node(
        &server,
        "echo",
        "websocket",
        &["--headers", headers.as_str()],
    )
    .await;
    assert_eq!(r["transport"], "websocket", "{r}");
}

/// `allow_request` checking `Origin` closes what `CsrfLayer` leaves open: a cross-site
/// WebSocket (or polling) handshake is refused, a same-origin one and one without `Origin`
/// are accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn origin_check_in_allow_request_refuses_cross_site_websockets() {
    let (listener, addr) = listener().await;
    let allowed = http_url(addr);
    let mut config = SocketIoConfig::default();
    config.engine = config.engine.allow_request(move |req| {
        let origin = req.headers.get("origin").and_then(|o| o.to_str().ok());
        let verdict = match origin {
            Some(origin) if origin != allowed => Err("cross-site origin".to_owned()),
            _ => Ok(()),
        };
        async move { verdict }
    });
    let app = rest()
        .layer(echo_io(config).layer())
        .layer(tower_http_07::csrf::CsrfLayer::new());
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.ok();
    });
    let server = Server {
        addr,
        url: http_url(addr),
        task,
    };

    let headers = headers_arg(&json!({ "origin": "http://evil.example" }));
    for (transports, _) in TRANSPORTS {
        let r = node(
            &server,
            "refused",
            transports,
            &["--headers", headers.as_str()],
        )
        .await;
        assert!(
            r["message"].as_str().is_some_and(|m| m.ends_with("error")),
            "{r}"
        );
    }
    let same = headers_arg(&json!({ "origin": http_url(addr) }));
    echo_all_transports(&server, &["--headers", same.as_str()]).await;
    echo_all_transports(&server, &[]).await;
}

// ---------------------------------------------------------------------------------------------
// Without axum: tower::ServiceBuilder over a hyper service, served with hyper-util
// ---------------------------------------------------------------------------------------------

/// `SocketIoLayer` in a `tower::ServiceBuilder` over a plain hyper `service_fn` (no axum on the
/// serving side), each connection served by hyper-util's auto builder with upgrades: every
/// transport works, and other requests reach the inner service.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_builder_over_plain_hyper_with_hyper_util() {
    use hyper_util::{
        rt::TokioExecutor, rt::TokioIo, server::conn::auto, service::TowerToHyperService,
    };
    let io = echo_io(SocketIoConfig::default());
    let service = tower::ServiceBuilder::new()
        .layer(io.layer())
        .service(tower::service_fn(
            |_req: axum::http::Request<hyper::body::Incoming>| async {
                let body =
                    http_body_util::Full::new(axum::body::Bytes::from_static(b"plain hyper"));
                Ok::<_, Infallible>(axum::http::Response::new(body))
            },
        ));
    let (listener, addr) = listener().await;
    let task = tokio::spawn(async move {
        // Bounded by the test: the task is aborted when `server` drops.
        while let Ok((stream, _)) = listener.accept().await {
            let service = TowerToHyperService::new(service.clone());
            tokio::spawn(async move {
                auto::Builder::new(TokioExecutor::new())
                    .serve_connection_with_upgrades(TokioIo::new(stream), service)
                    .await
                    .ok();
            });
        }
    });
    let server = Server {
        addr,
        url: http_url(addr),
        task,
    };
    echo_all_transports(&server, &[]).await;
    let other = raw(server.addr, "GET", "/anything", &[], b"").await;
    assert_eq!(
        (other.status, other.text()),
        (200, "plain hyper".to_owned())
    );
}

// ---------------------------------------------------------------------------------------------
// Http<E, S>: extractors that need the application state (FromRef)
// ---------------------------------------------------------------------------------------------

/// The application state of the signed-cookie app: axum-extra's `SignedCookieJar` takes its
/// `Key` from it through `FromRef`, as in an axum app.
#[derive(Clone)]
struct SignedState {
    key: Key,
    greeting: &'static str,
}

impl FromRef<SignedState> for Key {
    fn from_ref(state: &SignedState) -> Key {
        state.key.clone()
    }
}

/// A state type nobody registered.
#[derive(Clone)]
struct Unregistered {
    key: Key,
}

impl FromRef<Unregistered> for Key {
    fn from_ref(state: &Unregistered) -> Key {
        state.key.clone()
    }
}

/// `POST /signed-login` (body: a user name): sets the signed cookie `user`.
async fn signed_login(jar: SignedCookieJar, name: String) -> (SignedCookieJar, &'static str) {
    (jar.add(Cookie::new("user", name)), "ok")
}

/// REST and Socket.IO share one `SignedState`: the REST route signs the cookie with the key
/// axum hands it (`Router::with_state`), the namespace middleware and the connect handler
/// verify it with the key `Http<SignedCookieJar, SignedState>` takes from `with_state`.
fn signed_app(state: SignedState) -> Router {
    let io = SocketIo::builder().with_state(state.clone()).build();
    io.ns(
        "/",
        |socket: Socket,
         Http(jar): Http<SignedCookieJar, SignedState>,
         Http(greeting): Http<Greeting, SignedState>| async move {
            on_echo(&socket);
            let user = jar.get("user").map(|c| c.value().to_owned());
            hello(&socket, json!({ "user": user, "greeting": greeting.0 }));
        },
    )
    .middleware(|Http(jar): Http<SignedCookieJar, SignedState>| async move {
        match jar.get("user") {
            Some(_) => Ok(()),
            None => Err(ConnectError::new("not signed in")),
        }
    });
    io.ns(
        "/unregistered",
        |_socket: Socket, Http(_jar): Http<SignedCookieJar, Unregistered>| async move {},
    );
    Router::new()
        .route("/signed-login", post(signed_login))
        .with_state(state)
        .layer(io.layer())
}

/// An extractor of the test's own, written the axum way: generic over the state, reading the
/// application state through `FromRef`.
struct Greeting(&'static str);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Greeting
where
    SignedState: FromRef<S>,
{
    type Rejection = Infallible;
    async fn from_request_parts(
        _parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Infallible> {
        Ok(Greeting(SignedState::from_ref(state).greeting))
    }
}

/// `Http<E, S>` with state: a signed cookie set by a REST route is verified in the namespace
/// middleware and read in the connect handler (every transport); a forged or missing cookie
/// is refused by the middleware; a state type that was never registered refuses with
/// `internal server error`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_extractor_with_app_state() {
    let state = SignedState {
        key: Key::generate(),
        greeting: "hi from the state",
    };
    let server = serve(signed_app(state)).await;

    let res = raw(server.addr, "POST", "/signed-login", &[], b"alice").await;
    assert_eq!(res.status, 200, "{res:?}");
    let cookie = res
        .header("set-cookie")
        .and_then(|c| c.split(';').next())
        .unwrap_or_default()
        .to_owned();
    assert!(cookie.starts_with("user="), "{res:?}");
    // The signed value is the signature followed by the value itself.
    let forged = format!("user={}", "A".repeat(44) + "alice");

    for (transports, last) in TRANSPORTS {
        let headers = headers_arg(&json!({ "cookie": cookie }));
        let mut args = vec!["--headers", headers.as_str()];
        if transports.contains(',') {
            args.push("--wait-upgrade");
        }
        let r = node(&server, "echo", transports, &args).await;
        assert_eq!(r["hello"]["user"], "alice", "{transports}: {r}");
        assert_eq!(
            r["hello"]["greeting"], "hi from the state",
            "{transports}: {r}"
        );
        assert_eq!(r["transport"], last, "{transports}: {r}");

        let bad = headers_arg(&json!({ "cookie": forged }));
        let r = node(&server, "refused", transports, &["--headers", bad.as_str()]).await;
        assert_eq!(r["message"], "not signed in", "{transports}: {r}");
        let r = node(&server, "refused", transports, &[]).await;
        assert_eq!(r["message"], "not signed in", "{transports}: {r}");

        let args = ["--headers", headers.as_str(), "--ns", "/unregistered"];
        let r = node(&server, "refused", transports, &args).await;
        assert_eq!(r["message"], "internal server error", "{transports}: {r}");
    }
}

// ---------------------------------------------------------------------------------------------
// The SocketIo handle in REST handlers
// ---------------------------------------------------------------------------------------------

/// `POST /emit/{id}`: emits `rest` with the body to the socket `id` of the main namespace, or
/// 404.
async fn emit_to(io: SocketIo, Path(id): Path<String>, body: String) -> StatusCode {
    let socket = id
        .parse::<Sid>()
        .ok()
        .and_then(|sid| io.of("/").and_then(|ns| ns.get_socket(&sid)));
    match socket {
        Some(socket) if socket.emit("rest", &body).is_ok() => StatusCode::OK,
        Some(_) => StatusCode::GONE,
        None => StatusCode::NOT_FOUND,
    }
}

async fn count(io: SocketIo) -> Json<Value> {
    Json(json!({ "clients": io.clients_count(), "sockets": io.sockets().len() }))
}

/// The `SocketIo` handle as an axum extractor: a REST handler emits to one socket by id (200)
/// and answers 404 for an unknown id; another counts the clients.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_handler_emits_to_socket_by_id() {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let io = SocketIo::new();
    io.ns("/", move |socket: Socket| {
        let tx = tx.clone();
        async move {
            hello(&socket, json!({}));
            tx.send(socket.id().to_string()).ok();
        }
    });
    let app = rest()
        .route("/emit/{id}", post(emit_to))
        .route("/count", get(count))
        .layer(io.layer());
    let server = serve(app).await;

    let clients = async {
        tokio::join!(
            node(&server, "await-rest", "polling", &[]),
            node(&server, "await-rest", "websocket", &[]),
        )
    };
    let rest = async {
        let mut ids = Vec::new();
        while ids.len() < 2 {
            match tokio::time::timeout(Duration::from_secs(15), rx.recv()).await {
                Ok(Some(id)) => ids.push(id),
                other => panic!("no connection: {other:?}"),
            }
        }
        let counted = raw(server.addr, "GET", "/count", &[], b"").await;
        let counted: Value = serde_json::from_str(&counted.text()).unwrap_or_default();
        assert_eq!(counted, json!({ "clients": 2, "sockets": 2 }));
        for id in &ids {
            let res = raw(
                server.addr,
                "POST",
                &format!("/emit/{id}"),
                &[],
                format!("to {id}").as_bytes(),
            )
            .await;
            assert_eq!(res.status, 200, "{res:?}");
        }
        let unknown = Sid::generate().to_string();
        for id in [unknown.as_str(), "not-a-socket-id"] {
            let res = raw(server.addr, "POST", &format!("/emit/{id}"), &[], b"x").await;
            assert_eq!(res.status, 404, "{id}: {res:?}");
        }
        ids
    };
    let ((polling, websocket), ids) = tokio::join!(clients, rest);
    for r in [polling, websocket] {
        let id = r["id"].as_str().unwrap_or_default();
        assert!(ids.iter().any(|i| i == id), "{r} not in {ids:?}");
        assert_eq!(r["rest"], json!([format!("to {id}")]), "{r}");
    }
}

// ---------------------------------------------------------------------------------------------
// A raw HTTP/1.1 client
// ---------------------------------------------------------------------------------------------

const POLLING: &str = "/socket.io/?EIO=4&transport=polling";
const WEBSOCKET: &str = "/socket.io/?EIO=4&transport=websocket";

/// The headers of a WebSocket handshake, plus `extra`.
fn ws_headers<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut headers = vec![
        ("upgrade", "websocket"),
        ("connection", "Upgrade"),
        ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ("sec-websocket-version", "13"),
    ];
    headers.extend_from_slice(extra);
    headers
}

struct RawResponse {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    elapsed: Duration,
}

impl std::fmt::Debug for RawResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawResponse")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .field("body", &String::from_utf8_lossy(&self.body))
            .field("elapsed", &self.elapsed)
            .finish()
    }
}

impl RawResponse {
    /// The first header `name` (lower case).
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// The sid of an Engine.IO v4 handshake response (`0{"sid":...}`).
fn handshake_sid(res: &RawResponse) -> String {
    let text = res.text();
    let open: Value = text
        .strip_prefix('0')
        .and_then(|json| serde_json::from_str(json).ok())
        .unwrap_or_else(|| panic!("not a handshake: {res:?}"));
    open["sid"]
        .as_str()
        .unwrap_or_else(|| panic!("no sid: {res:?}"))
        .to_owned()
}

/// Sends one HTTP/1.1 request (`Connection: close`) and reads the response: the head, then
/// (unless it is a 101) the body by `Content-Length`, chunked, or to the end. Bounded by 10 s.
async fn raw(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> RawResponse {
    let started = Instant::now();
    let what = format!("{method} {target}");
    match tokio::time::timeout(
        Duration::from_secs(10),
        raw_exchange(addr, method, target, headers, body),
    )
    .await
    {
        Ok(Ok((status, headers, body))) => RawResponse {
            status,
            headers,
            body,
            elapsed: started.elapsed(),
        },
        Ok(Err(e)) => panic!("{what}: {e}"),
        Err(_) => panic!("{what}: no response within 10 s"),
    }
}

type RawParts = (u16, Vec<(String, String)>, Vec<u8>);

async fn raw_exchange(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<RawParts, String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let is_upgrade = headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("upgrade"));
    let mut head = format!("{method} {target} HTTP/1.1\r\nhost: {addr}\r\n");
    if !is_upgrade {
        head.push_str("connection: close\r\n");
    }
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() || method == "POST" {
        head.push_str(&format!("content-length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    let mut request = head.into_bytes();
    request.extend_from_slice(body);
    stream
        .write_all(&request)
        .await
        .map_err(|e| format!("write: {e}"))?;

    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = stream
            .read(&mut chunk)
            .await
            .map_err(|e| format!("read: {e}"))?;
        if n == 0 {
            return Err(format!(
                "connection closed before the end of the head: {:?}",
                String::from_utf8_lossy(&buf)
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut rest = buf[head_end + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| format!("bad status line in {head:?}"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    if status == 101 {
        return Ok((status, headers, Vec::new()));
    }
    let find = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    if let Some(len) = find("content-length").and_then(|v| v.parse::<usize>().ok()) {
        while rest.len() < len {
            let n = stream
                .read(&mut chunk)
                .await
                .map_err(|e| format!("read: {e}"))?;
            if n == 0 {
                break;
            }
            rest.extend_from_slice(&chunk[..n]);
        }
        rest.truncate(len);
        return Ok((status, headers, rest));
    }
    stream
        .read_to_end(&mut rest)
        .await
        .map_err(|e| format!("read: {e}"))?;
    if find("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        rest = dechunk(&rest)?;
    }
    Ok((status, headers, rest))
}

/// Decodes a chunked body.
fn dechunk(mut data: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let line_end = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("chunk size line")?;
        let size_text = String::from_utf8_lossy(&data[..line_end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|e| format!("chunk size {size_text:?}: {e}"))?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        let chunk = data.get(..size).ok_or("short chunk")?;
        out.extend_from_slice(chunk);
        data = data.get(size + 2..).ok_or("chunk end")?;
    }
}
