//! Mounting: the path with and without its trailing slash, under a prefix (the path option, or
//! inside a `Router::nest`ed router with a fallback), other
//! requests passed through, and the served client bundle with ETag / 304.
#![allow(clippy::unwrap_used)]

use axum::{Router, body::Body, routing::get};
use http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use tower::ServiceExt;
use tower_socketio::{SocketIo, SocketIoConfig};

async fn get_uri(app: &Router, uri: &str) -> (StatusCode, String) {
    let res = app
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn the_path_with_and_without_its_trailing_slash_and_rest_routes_beside_it() {
    let io = SocketIo::new();
    let app = Router::new()
        .route("/rest", get(|| async { "rest" }))
        .layer(io.layer());
    for uri in [
        "/socket.io/?EIO=4&transport=polling",
        "/socket.io?EIO=4&transport=polling",
    ] {
        let (status, body) = get_uri(&app, uri).await;
        assert_eq!(status, 200, "{uri}");
        assert!(body.starts_with("0{\"sid\""), "{uri}: {body}");
    }
    assert_eq!(
        get_uri(&app, "/rest").await,
        (StatusCode::OK, "rest".to_owned())
    );
    assert_eq!(get_uri(&app, "/socket.iox").await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn under_a_prefix_with_the_path_option() {
    // Under a prefix, set the path on a layer of the outer router (or see the next test for
    // a layer inside a nested router).
    let io = SocketIo::with_config(SocketIoConfig::default().path("/api/socket.io"));
    let app = Router::new()
        .nest("/api", Router::new().route("/x", get(|| async { "x" })))
        .layer(io.layer());
    let (status, body) = get_uri(&app, "/api/socket.io/?EIO=4&transport=polling").await;
    assert_eq!(status, 200);
    assert!(body.starts_with("0{\"sid\""), "{body}");
    assert_eq!(
        get_uri(&app, "/api/x").await,
        (StatusCode::OK, "x".to_owned())
    );
    assert_eq!(
        get_uri(&app, "/socket.io/?EIO=4&transport=polling").await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn inside_a_nested_router_with_a_fallback() {
    // `Router::nest` hands the nested router every path under its prefix (with the prefix
    // stripped) only when the nested router has a fallback; `Router::layer` wraps that fallback
    // too, so the layer sees `/socket.io/` there with the default path.
    let io = SocketIo::new();
    let api = Router::new()
        .route("/x", get(|| async { "x" }))
        .fallback(|| async { (StatusCode::NOT_FOUND, "api: no such route") })
        .layer(io.layer());
    let app = Router::new()
        .route("/", get(|| async { "home" }))
        .nest("/api", api);
    for uri in [
        "/api/socket.io/?EIO=4&transport=polling",
        "/api/socket.io?EIO=4&transport=polling",
    ] {
        let (status, body) = get_uri(&app, uri).await;
        assert_eq!(status, 200, "{uri}");
        assert!(body.starts_with("0{\"sid\""), "{uri}: {body}");
    }
    assert_eq!(
        get_uri(&app, "/api/x").await,
        (StatusCode::OK, "x".to_owned())
    );
    assert_eq!(
        get_uri(&app, "/api/nope").await,
        (StatusCode::NOT_FOUND, "api: no such route".to_owned())
    );
    assert_eq!(
        get_uri(&app, "/").await,
        (StatusCode::OK, "home".to_owned())
    );
    // Outside the prefix, the layer is not there.
    assert_eq!(
        get_uri(&app, "/socket.io/?EIO=4&transport=polling").await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn the_client_bundle_with_etag_and_304() {
    let dir = std::env::temp_dir().join(format!("tower-socketio-bundle-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("socket.io.min.js");
    std::fs::write(&file, "/* client */").unwrap();
    let io = SocketIo::with_config(SocketIoConfig::default().serve_client(&file));
    let app = Router::new().layer(io.layer());

    let res = app
        .clone()
        .oneshot(
            Request::get("/socket.io/socket.io.js")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()[header::CONTENT_TYPE],
        "application/javascript; charset=utf-8"
    );
    let etag = res.headers()[header::ETAG].clone();
    assert_eq!(
        res.into_body().collect().await.unwrap().to_bytes(),
        "/* client */"
    );

    let res = app
        .clone()
        .oneshot(
            Request::get("/socket.io/socket.io.js")
                .header(header::IF_NONE_MATCH, etag.clone())
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(res.headers()[header::ETAG], etag);
    assert_eq!(get_uri(&app, "/socket.io/socket.io.min.js").await.0, 200);
    let _ = std::fs::remove_dir_all(&dir);
}
