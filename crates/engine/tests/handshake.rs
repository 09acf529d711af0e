//! The handshake over polling and WebSocket, the error responses, `allow_request`, the
//! cookie option and the header hooks.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::*;
use http::HeaderValue;
use tokio_tungstenite::tungstenite;
use tower_socketio_engine::{CookieConfig, EngineConfig, Transports};

/// The exact open packet the server must write for `sid`.
fn expected_open(sid: &str, upgrades: &str, config: &EngineConfig) -> String {
    format!(
        r#"0{{"sid":"{sid}","upgrades":{upgrades},"pingInterval":{},"pingTimeout":{},"maxPayload":{}}}"#,
        config.ping_interval.as_millis(),
        config.ping_timeout.as_millis(),
        config.max_payload
    )
}

fn assert_sid_shape(sid: &str) {
    assert_eq!(sid.len(), 20, "{sid}");
    assert!(
        sid.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "{sid}"
    );
}

#[tokio::test]
async fn polling_handshake_writes_the_open_packet() {
    let config = fast_config().max_payload(1000);
    let mut server = TestServer::start(config.clone()).await;
    let (sid, res) = handshake(server.addr).await;
    assert_sid_shape(&sid);
    assert_eq!(res.status, 200);
    assert_eq!(
        res.header("content-type").as_deref(),
        Some("text/plain; charset=UTF-8")
    );
    assert_eq!(res.header("cache-control").as_deref(), Some("no-store"));
    assert!(res.header("set-cookie").is_none());
    // Exactly these keys, in this order, nothing else, and nothing after the open packet.
    assert_eq!(res.text(), expected_open(&sid, r#"["websocket"]"#, &config));
    let json = open_json(&res.text());
    assert_eq!(json.as_object().unwrap().len(), 5);
    assert_eq!(json["pingInterval"], 300);
    assert_eq!(json["pingTimeout"], 200);
    assert_eq!(json["maxPayload"], 1000);
    assert_eq!(server.opened().await.as_str(), sid);

    // Every session gets a fresh id.
    let mut seen = std::collections::HashSet::new();
    seen.insert(sid);
    for _ in 0..20 {
        let (sid, _) = handshake(server.addr).await;
        assert_sid_shape(&sid);
        assert!(seen.insert(sid), "sid reused");
    }
    assert_eq!(server.engine.clients_count(), 21);
    server.assert_healthy().await;
}

#[tokio::test]
async fn frames_sent_from_on_open_follow_the_open_packet() {
    let mut server = TestServer::start_with(
        quiet_config(),
        Behaviour {
            greeting: Some("welcome".into()),
            ..Behaviour::default()
        },
    )
    .await;
    let (sid, res) = handshake(server.addr).await;
    let packets = res.packets();
    assert_eq!(packets.len(), 2, "{packets:?}");
    assert!(packets[0].starts_with("0{"));
    assert_eq!(packets[1], "4welcome");
    assert_eq!(server.opened().await.as_str(), sid);

    let (mut ws, _) = ws_session(server.addr).await;
    assert_eq!(ws_text(&mut ws).await, "4welcome");
    server.assert_healthy().await;
}

#[tokio::test]
async fn upgrades_are_empty_when_upgrades_are_off() {
    for config in [
        fast_config().allow_upgrades(false),
        fast_config().transports(Transports {
            polling: true,
            websocket: false,
        }),
    ] {
        let mut server = TestServer::start(config.clone()).await;
        let (sid, res) = handshake(server.addr).await;
        assert_eq!(res.text(), expected_open(&sid, "[]", &config));
        server.assert_healthy().await;
    }
}

#[tokio::test]
async fn websocket_handshake_writes_the_open_packet() {
    let config = fast_config();
    let mut server = TestServer::start(config.clone()).await;
    let mut ws = ws_connect(server.addr, "EIO=4&transport=websocket").await;
    let open = ws_text(&mut ws).await;
    let sid = open_sid(&open);
    assert_sid_shape(&sid);
    assert_eq!(open, expected_open(&sid, "[]", &config));
    assert_eq!(server.opened().await.as_str(), sid);
    assert_eq!(
        server.socket(&sid).transport(),
        tower_socketio_engine::TransportKind::WebSocket
    );
    server.assert_healthy().await;
}

#[tokio::test]
async fn protocol_version_is_required_and_checked() {
    let mut server = TestServer::start(fast_config()).await;
    for query in [
        "transport=polling",
        "EIO=5&transport=polling",
        "EIO=3&transport=polling",
        "EIO=04&transport=polling",
        "EIO=4%20&transport=polling",
        "EIO=&transport=polling",
        "EIO=four&transport=polling",
    ] {
        let res = get(server.addr, &format!("/engine.io/?{query}")).await;
        res.assert_error(400, 5, "Unsupported protocol version");
    }
    // The same over a WebSocket upgrade: a raw 400.
    for query in ["transport=websocket", "EIO=3&transport=websocket"] {
        let res = send_raw(server.addr, &upgrade_request(query, &[])).await;
        assert_eq!(res.status, 400, "{query}");
    }
    assert_eq!(server.engine.clients_count(), 0);
    assert!(server.drain().is_empty());
    server.assert_healthy().await;
}

#[tokio::test]
async fn eio3_is_accepted_only_when_allowed() {
    let mut server = TestServer::start(fast_config().allow_eio3(true)).await;
    let res = get(server.addr, "/engine.io/?EIO=3&transport=polling").await;
    assert_eq!(res.status, 200);
    let text = res.text();
    // v3 framing: `<length>:0{...}`.
    let (len, packet) = text.split_once(':').unwrap();
    assert_eq!(len.parse::<usize>().unwrap(), packet.chars().count());
    assert!(packet.starts_with("0{"), "{text}");
    // Still explicit: no EIO at all is refused.
    get(server.addr, "/engine.io/?transport=polling")
        .await
        .assert_error(400, 5, "Unsupported protocol version");
    get(server.addr, "/engine.io/?EIO=5&transport=polling")
        .await
        .assert_error(400, 5, "Unsupported protocol version");
    server.assert_healthy().await;
}

#[tokio::test]
async fn unknown_transports_are_refused() {
    let mut server = TestServer::start(fast_config()).await;
    let long = "x".repeat(10_000);
    for transport in [
        None,
        Some("foo"),
        Some("__proto__"),
        Some("constructor"),
        Some("toString"),
        Some(""),
        Some("webtransport"),
        Some("POLLING"),
        Some(long.as_str()),
    ] {
        let target = match transport {
            None => "/engine.io/?EIO=4".to_owned(),
            Some(t) => format!("/engine.io/?EIO=4&transport={t}"),
        };
        get(server.addr, &target)
            .await
            .assert_error(400, 0, "Transport unknown");
    }
    // A disabled transport is unknown too.
    let mut polling_only = TestServer::start(fast_config().transports(Transports {
        polling: true,
        websocket: false,
    }))
    .await;
    let res = send_raw(
        polling_only.addr,
        &upgrade_request("EIO=4&transport=websocket", &[]),
    )
    .await;
    assert_eq!(res.status, 400);
    polling_only.assert_healthy().await;
    server.assert_healthy().await;
}

#[tokio::test]
async fn handshakes_must_be_get() {
    let mut server = TestServer::start(fast_config()).await;
    for method in ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"] {
        let body: &[u8] = b"4hello";
        let res = request(
            server.addr,
            method,
            "/engine.io/?EIO=4&transport=polling",
            &[],
            Some(body),
        )
        .await;
        res.assert_error(400, 2, "Bad handshake method");
    }
    assert_eq!(server.engine.clients_count(), 0);
    server.assert_healthy().await;
}

#[tokio::test]
async fn unknown_sids_are_refused() {
    let mut server = TestServer::start(fast_config()).await;
    let huge = "A".repeat(10 * 1024);
    for sid in [
        "AAAAAAAAAAAAAAAAAAAA",
        "__proto__",
        "constructor",
        "hasOwnProperty",
        "%00",
        "aaaaaaaaaaaaaaaaaaa%3D",
        huge.as_str(),
    ] {
        let target = format!("/engine.io/?EIO=4&transport=polling&sid={sid}");
        get(server.addr, &target)
            .await
            .assert_error(400, 1, "Session ID unknown");
        request(server.addr, "POST", &target, &[], Some(b"4x"))
            .await
            .assert_error(400, 1, "Session ID unknown");
    }
    // A session that has ended is unknown too.
    let (sid, _) = handshake(server.addr).await;
    server.opened().await;
    server
        .socket(&sid)
        .close(tower_socketio_engine::CloseReason::ForcedClose);
    let res = poll(server.addr, &sid).await;
    assert_eq!(res.packets(), ["1"]);
    server.closed(&sid).await;
    poll(server.addr, &sid)
        .await
        .assert_error(400, 1, "Session ID unknown");
    server.assert_healthy().await;
}

#[tokio::test]
async fn websocket_transport_without_upgrade_headers_is_a_bad_request() {
    let mut server = TestServer::start(fast_config()).await;
    get(server.addr, "/engine.io/?EIO=4&transport=websocket")
        .await
        .assert_error(400, 3, "Bad request");
    // Only one of the two headers.
    request(
        server.addr,
        "GET",
        "/engine.io/?EIO=4&transport=websocket",
        &[("Upgrade", "websocket")],
        None,
    )
    .await
    .assert_error(400, 3, "Bad request");
    assert_eq!(server.engine.clients_count(), 0);
    server.assert_healthy().await;
}

#[tokio::test]
async fn allow_request_can_refuse_handshakes() {
    let config = fast_config().allow_request(|req| {
        let ok = req.headers.contains_key("x-allowed");
        async move {
            if ok {
                Ok(())
            } else {
                Err("not \"allowed\"".to_owned())
            }
        }
    });
    let mut server = TestServer::start(config).await;

    // Polling: 403 with the hook's message (JSON-escaped).
    let res = get(server.addr, "/engine.io/?EIO=4&transport=polling").await;
    assert_eq!(res.status, 403);
    assert_eq!(res.text(), r#"{"code":4,"message":"not \"allowed\""}"#);
    assert_eq!(
        res.header("content-type").as_deref(),
        Some("application/json")
    );
    let res = request(
        server.addr,
        "GET",
        "/engine.io/?EIO=4&transport=polling",
        &[("X-Allowed", "1")],
        None,
    )
    .await;
    assert_eq!(res.status, 200);
    server.opened().await;

    // WebSocket: a raw 400 (not 403), nothing opened.
    let res = send_raw(
        server.addr,
        &upgrade_request("EIO=4&transport=websocket", &[]),
    )
    .await;
    assert_eq!(res.status, 400);
    assert_eq!(res.text(), "not \"allowed\"");
    match try_ws_connect(server.addr, "EIO=4&transport=websocket").await {
        Err(tungstenite::Error::Http(res)) => assert_eq!(res.status(), 400),
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("the refused WebSocket was accepted"),
    }
    let res = send_raw(
        server.addr,
        &upgrade_request("EIO=4&transport=websocket", &[("X-Allowed", "1")]),
    )
    .await;
    assert_eq!(res.status, 101);
    server.opened().await;

    // Requests of an existing session are not asked again.
    let res = request(
        server.addr,
        "GET",
        "/engine.io/?EIO=4&transport=polling",
        &[("X-Allowed", "1")],
        None,
    )
    .await;
    let sid = open_sid(&res.text());
    assert_ok(&post(server.addr, &sid, b"4hi").await);
    assert_eq!(server.text(&sid).await, "hi");

    // `assert_healthy` needs an allowed handshake: check the rest by hand.
    assert_eq!(get(server.addr, "/hello").await.status, 200);
    server.assert_no_panics();
}

#[tokio::test]
async fn upgrade_requests_with_bad_queries_get_a_raw_400_and_the_server_keeps_working() {
    let mut server = TestServer::start(fast_config()).await;
    for (query, body) in [
        ("EIO=4&transport=foo", "Transport unknown"),
        ("EIO=4&transport=__proto__", "Transport unknown"),
        ("EIO=4", "Transport unknown"),
        (
            "EIO=4&transport=websocket&sid=AAAAAAAAAAAAAAAAAAAA",
            "Session ID unknown",
        ),
        (
            "EIO=4&transport=websocket&sid=__proto__",
            "Session ID unknown",
        ),
        ("EIO=5&transport=websocket", "Unsupported protocol version"),
    ] {
        let res = send_raw(server.addr, &upgrade_request(query, &[])).await;
        assert_eq!(res.status, 400, "{query}");
        assert_eq!(res.text(), body, "{query}");
        assert_eq!(res.header("connection").as_deref(), Some("close"));
        match try_ws_connect(server.addr, query).await {
            Err(tungstenite::Error::Http(res)) => assert_eq!(res.status(), 400),
            Err(e) => panic!("unexpected error {e}"),
            Ok(_) => panic!("accepted {query}"),
        }
    }
    // Malformed WebSocket handshakes.
    for extra in [
        [("Sec-WebSocket-Version", "8")],
        [("Sec-WebSocket-Key", "bm90IDE2IGJ5dGVz")],
        [("Sec-WebSocket-Key", "!!!!")],
    ] {
        let mut req = upgrade_request("EIO=4&transport=websocket", &[]);
        // Replace the default header by putting the override first: build by hand.
        let text = String::from_utf8(req.clone()).unwrap();
        let (name, value) = extra[0];
        let replaced: Vec<String> = text
            .split("\r\n")
            .map(|line| {
                if line
                    .to_ascii_lowercase()
                    .starts_with(&format!("{}:", name.to_ascii_lowercase()))
                {
                    format!("{name}: {value}")
                } else {
                    line.to_owned()
                }
            })
            .collect();
        req = replaced.join("\r\n").into_bytes();
        let res = send_raw(server.addr, &req).await;
        assert_eq!(res.status, 400, "{name}: {value}");
    }
    // A duplicate Sec-WebSocket-Key.
    let res = send_raw(
        server.addr,
        &upgrade_request(
            "EIO=4&transport=websocket",
            &[("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")],
        ),
    )
    .await;
    assert_eq!(res.status, 400);
    assert_eq!(server.engine.clients_count(), 0);
    // A good one still works.
    let (mut ws, sid) = ws_session(server.addr).await;
    ws_send_text(&mut ws, "4still here").await;
    assert_eq!(server.text(&sid).await, "still here");
    server.assert_healthy().await;
}

#[tokio::test]
async fn control_characters_in_origin_are_refused() {
    let mut server = TestServer::start(fast_config()).await;
    for origin in [&b"http://a\x01b"[..], b"http://a\x7fb", b"http://a\x00b"] {
        let mut req = b"GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nOrigin: ".to_vec();
        req.extend_from_slice(origin);
        req.extend_from_slice(b"\r\n\r\n");
        let res = send_raw(server.addr, &req).await;
        assert_eq!(res.status, 400, "{origin:?}");
    }
    // Tabs and non-ASCII bytes are legal header bytes: the handshake goes through.
    let res = request(
        server.addr,
        "GET",
        "/engine.io/?EIO=4&transport=polling",
        &[("Origin", "http://a\tb")],
        None,
    )
    .await;
    assert_eq!(res.status, 200);
    server.assert_healthy().await;
}

#[tokio::test]
async fn the_cookie_is_set_on_the_polling_handshake_only() {
    let mut server = TestServer::start(fast_config().cookie(Some(CookieConfig::default()))).await;
    let (sid, res) = handshake(server.addr).await;
    let cookies = res.header_all("set-cookie");
    assert_eq!(cookies.len(), 1, "{cookies:?}");
    let mut parts: Vec<&str> = cookies[0].split("; ").collect();
    assert_eq!(parts.remove(0), format!("io={sid}"));
    parts.sort_unstable();
    assert_eq!(parts, ["HttpOnly", "Path=/", "SameSite=Lax"]);
    server.opened().await;

    // Not on later requests.
    let poll_res = {
        let pending = start_poll(server.addr, &sid).await;
        server
            .socket(&sid)
            .send(tower_socketio_engine::Frame::message("x"))
            .unwrap();
        finish(pending).await
    };
    assert_eq!(poll_res.packets(), ["4x"]);
    assert!(poll_res.header("set-cookie").is_none());
    let post_res = post(server.addr, &sid, b"4y").await;
    assert_ok(&post_res);
    assert!(post_res.header("set-cookie").is_none());

    // Not on a WebSocket handshake.
    let res = send_raw(
        server.addr,
        &upgrade_request("EIO=4&transport=websocket", &[]),
    )
    .await;
    assert_eq!(res.status, 101);
    assert!(res.header("set-cookie").is_none());

    // A custom cookie.
    let mut custom = TestServer::start(
        fast_config().cookie(Some(
            CookieConfig::default()
                .name("lb")
                .path(None)
                .http_only(false)
                .same_site(None),
        )),
    )
    .await;
    let (sid, res) = handshake(custom.addr).await;
    assert_eq!(res.header("set-cookie"), Some(format!("lb={sid}")));
    custom.assert_healthy().await;
    server.assert_healthy().await;
}

#[tokio::test]
async fn header_hooks_add_headers() {
    let config = fast_config()
        .initial_headers(|_req, headers| {
            headers.insert("x-initial", HeaderValue::from_static("1"));
        })
        .headers(|req, headers| {
            let v = if req.uri.query().unwrap_or_default().contains("sid=") {
                "session"
            } else {
                "handshake"
            };
            headers.insert("x-every", HeaderValue::from_static(v));
        });
    let mut server = TestServer::start(config).await;
    let (sid, res) = handshake(server.addr).await;
    assert_eq!(res.header("x-initial").as_deref(), Some("1"));
    assert_eq!(res.header("x-every").as_deref(), Some("handshake"));
    server.opened().await;

    let res = post(server.addr, &sid, b"4hey").await;
    assert_ok(&res);
    assert!(res.header("x-initial").is_none());
    assert_eq!(res.header("x-every").as_deref(), Some("session"));

    let pending = start_poll(server.addr, &sid).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    server
        .socket(&sid)
        .send(tower_socketio_engine::Frame::message("x"))
        .unwrap();
    let res = finish(pending).await;
    assert!(res.header("x-initial").is_none());
    assert_eq!(res.header("x-every").as_deref(), Some("session"));

    // Error responses go through the `headers` hook too.
    let res = get(server.addr, "/engine.io/?EIO=4&transport=nope").await;
    assert_eq!(res.status, 400);
    assert_eq!(res.header("x-every").as_deref(), Some("handshake"));

    // The WebSocket `101`: both hooks.
    let res = send_raw(
        server.addr,
        &upgrade_request("EIO=4&transport=websocket", &[]),
    )
    .await;
    assert_eq!(res.status, 101);
    assert_eq!(res.header("x-initial").as_deref(), Some("1"));
    assert_eq!(res.header("x-every").as_deref(), Some("handshake"));

    // Other routes are not touched.
    let res = get(server.addr, "/hello").await;
    assert!(res.header("x-every").is_none());
    server.assert_healthy().await;
}

#[tokio::test]
async fn other_paths_go_to_the_inner_service() {
    let mut server = TestServer::start(fast_config()).await;
    assert_eq!(get(server.addr, "/hello").await.text(), "hi");
    assert_eq!(get(server.addr, "/nothing").await.status, 404);
    assert_eq!(
        get(server.addr, "/engine.ioX?EIO=4&transport=polling")
            .await
            .status,
        404
    );
    // The path without its trailing slash, and anything under it, is the engine's.
    let res = get(server.addr, "/engine.io?EIO=4&transport=polling").await;
    assert_eq!(res.status, 200);
    let res = get(server.addr, "/engine.io/anything?EIO=4&transport=polling").await;
    assert_eq!(res.status, 200);
    server.assert_healthy().await;
}

#[tokio::test]
async fn custom_paths_are_served() {
    let server = TestServer::start(fast_config().path("custom/")).await;
    assert_eq!(server.engine.config().path, "/custom/");
    let res = get(server.addr, "/custom/?EIO=4&transport=polling").await;
    assert_eq!(res.status, 200);
    let res = get(server.addr, "/custom?EIO=4&transport=polling").await;
    assert_eq!(res.status, 200);
    assert_eq!(
        get(server.addr, "/engine.io/?EIO=4&transport=polling")
            .await
            .status,
        404
    );
    assert_eq!(get(server.addr, "/hello").await.text(), "hi");
    server.assert_no_panics();
}

#[tokio::test]
async fn the_root_path_can_be_served() {
    // `path("/")` must mean the root, not "//".
    let config = fast_config().path("/");
    assert_eq!(config.path, "/");
    let mut server = TestServer::start(config).await;
    let res = get(server.addr, "/?EIO=4&transport=polling").await;
    assert_eq!(res.status, 200, "{:?}", String::from_utf8_lossy(&res.body));
    server.opened().await;
    server.assert_no_panics();
}

#[tokio::test]
async fn a_websocket_only_server() {
    let mut server = TestServer::start(fast_config().transports(Transports {
        polling: false,
        websocket: true,
    }))
    .await;
    get(server.addr, "/engine.io/?EIO=4&transport=polling")
        .await
        .assert_error(400, 0, "Transport unknown");
    let (mut ws, sid) = ws_session(server.addr).await;
    ws_send_text(&mut ws, "4only ws").await;
    assert_eq!(server.text(&sid).await, "only ws");
    assert_eq!(get(server.addr, "/hello").await.text(), "hi");
    server.assert_no_panics();
}

/// `max_sessions`: handshakes beyond are refused with `503` and a clear body (both
/// transports); once a session closes, a new one may open.
#[tokio::test]
async fn handshakes_beyond_max_sessions_get_503() {
    let mut server = TestServer::start(quiet_config().max_sessions(Some(2))).await;
    let (a, _) = handshake(server.addr).await;
    server.opened().await;
    let (_b, _) = handshake(server.addr).await;
    server.opened().await;
    let res = get(server.addr, "/engine.io/?EIO=4&transport=polling").await;
    assert_eq!(res.status, 503);
    assert_eq!(
        String::from_utf8_lossy(&res.body),
        r#"{"code":4,"message":"Server at capacity"}"#
    );
    assert_eq!(res.header("retry-after").as_deref(), Some("1"));
    let upgrade = send_raw(
        server.addr,
        &upgrade_request("EIO=4&transport=websocket", &[]),
    )
    .await;
    assert_eq!(upgrade.status, 503);
    assert_eq!(server.engine.clients_count(), 2);
    // A session closes: room for one more.
    assert_ok(&post(server.addr, &a, b"1").await);
    server.closed(&a).await;
    let deadline = std::time::Instant::now() + WAIT;
    while server.engine.clients_count() > 1 {
        assert!(
            std::time::Instant::now() < deadline,
            "the session never left"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let (_c, _) = handshake(server.addr).await;
    server.opened().await;
    // (assert_healthy would open a third session: at capacity, it is refused.)
    server.assert_no_panics();
}
