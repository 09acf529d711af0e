//! The `cors` option: tower-http's CorsLayer on the Socket.IO path only; none by default.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::{Router, body::Body, routing::get};
use http::{HeaderValue, Method, Request, header};
use tower::ServiceExt;
use tower_http::cors::CorsLayer;
use tower_socketio::{SocketIo, SocketIoConfig};

fn app(config: SocketIoConfig) -> Router {
    Router::new()
        .route("/rest", get(|| async { "rest" }))
        .layer(SocketIo::with_config(config).layer())
}

const ORIGIN: &str = "https://app.example.com";

fn cors() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(HeaderValue::from_static(ORIGIN))
        .allow_methods([Method::GET, Method::POST])
        .allow_credentials(true)
}

#[tokio::test]
async fn preflight_and_handshake_get_cors_headers() {
    let app = app(SocketIoConfig::default().cors(cors()));
    let preflight = Request::builder()
        .method(Method::OPTIONS)
        .uri("/socket.io/?EIO=4&transport=polling")
        .header(header::ORIGIN, ORIGIN)
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
        .body(Body::empty())
        .unwrap();
    let res = app.clone().oneshot(preflight).await.unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    assert_eq!(res.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], ORIGIN);
    assert_eq!(
        res.headers()[header::ACCESS_CONTROL_ALLOW_CREDENTIALS],
        "true"
    );

    let handshake = Request::get("/socket.io/?EIO=4&transport=polling")
        .header(header::ORIGIN, ORIGIN)
        .body(Body::empty())
        .unwrap();
    let res = app.clone().oneshot(handshake).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], ORIGIN);

    // Other routes are untouched by the Socket.IO CORS option.
    let rest = Request::get("/rest")
        .header(header::ORIGIN, ORIGIN)
        .body(Body::empty())
        .unwrap();
    let res = app.oneshot(rest).await.unwrap();
    assert!(
        !res.headers()
            .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN)
    );
}

#[tokio::test]
async fn no_cors_headers_by_default() {
    let app = app(SocketIoConfig::default());
    let handshake = Request::get("/socket.io/?EIO=4&transport=polling")
        .header(header::ORIGIN, "https://evil.example")
        .body(Body::empty())
        .unwrap();
    let res = app.oneshot(handshake).await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        !res.headers()
            .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN)
    );
}
