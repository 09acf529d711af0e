//! Raw long-polling requests through the service, for the in-process tests.
#![allow(dead_code, reason = "each test binary uses some of these")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use axum::{Router, body::Body};
use http::Request;
use http_body_util::BodyExt;
use tower::ServiceExt;

/// Sends one request to `app` (bounded by 5 s), checks the 200 and returns the body.
pub(crate) async fn send(app: &Router, method: &str, uri: &str, body: &str) -> String {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "text/plain;charset=UTF-8")
        .body(Body::from(body.to_owned()))
        .unwrap();
    let res = tokio::time::timeout(Duration::from_secs(5), app.clone().oneshot(req))
        .await
        .expect("answered")
        .unwrap();
    assert_eq!(res.status(), 200, "{method} {uri}");
    let body = res.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8_lossy(&body).into_owned()
}

/// An Engine.IO session over polling; returns the URL of its requests.
pub(crate) async fn session(app: &Router) -> String {
    let open = send(app, "GET", "/socket.io/?EIO=4&transport=polling", "").await;
    let start = open.find("\"sid\":\"").expect("a sid") + 7;
    let sid = &open[start..start + open[start..].find('"').unwrap()];
    format!("/socket.io/?EIO=4&transport=polling&sid={sid}")
}

/// Connects `client` to `nsp` and waits for the CONNECT answer.
pub(crate) async fn connect(app: &Router, client: &str, nsp: &str) {
    // The main namespace is implied: no name and no comma.
    let prefix = if nsp == "/" {
        "40".to_owned()
    } else {
        format!("40{nsp},")
    };
    assert_eq!(send(app, "POST", client, &prefix).await, "ok");
    let answer = send(app, "GET", client, "").await;
    assert!(
        answer.starts_with(&format!("{prefix}{{\"sid\"")),
        "{answer}"
    );
}
