//! The heartbeat: the server pings one interval after the handshake and one interval after
//! each pong, a missing pong closes the session on time, a v4 client ping is an error, and v3
//! clients drive the heartbeat themselves.
//!
//! Timings: ping interval 300 ms, ping timeout 200 ms. Lower bounds are exact (timers never
//! fire early); upper bounds allow a generous margin for a loaded machine.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::*;
use tokio::time::Instant;
use tower_socketio_engine::CloseReason;

const INTERVAL: Duration = Duration::from_millis(300);
const TIMEOUT: Duration = Duration::from_millis(200);
const MARGIN: Duration = Duration::from_millis(400);

fn assert_between(what: &str, elapsed: Duration, low: Duration, high: Duration) {
    assert!(
        elapsed >= low && elapsed <= high,
        "{what}: {elapsed:?} not in [{low:?}, {high:?}]"
    );
}

#[tokio::test]
async fn polling_pings_an_interval_after_the_handshake_and_after_each_pong() {
    let mut server = TestServer::start(fast_config()).await;
    let before = Instant::now();
    let (sid, _) = handshake(server.addr).await;
    server.opened().await;
    let res = poll(server.addr, &sid).await;
    assert_eq!(res.packets(), ["2"]);
    assert_between(
        "first ping",
        before.elapsed(),
        INTERVAL - Duration::from_millis(1),
        INTERVAL + MARGIN,
    );
    for round in 0..3 {
        // Take our time answering (within the timeout): the next ping is one interval after
        // the pong, not after the previous ping.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let pong_at = Instant::now();
        assert_ok(&post(server.addr, &sid, b"3").await);
        let res = poll(server.addr, &sid).await;
        assert_eq!(res.packets(), ["2"], "round {round}");
        assert_between(
            "ping after pong",
            pong_at.elapsed(),
            INTERVAL - Duration::from_millis(1),
            INTERVAL + MARGIN,
        );
    }
    // Unsolicited pongs change nothing.
    assert_ok(&post(server.addr, &sid, b"3\x1e3").await);
    assert_ok(&post(server.addr, &sid, b"3").await);
    server
        .assert_open_for(&sid, Duration::from_millis(100))
        .await;
    server.assert_healthy().await;
}

#[tokio::test]
async fn polling_without_pong_times_out() {
    let mut server = TestServer::start(fast_config()).await;
    let before = Instant::now();
    let (sid, _) = handshake(server.addr).await;
    server.opened().await;
    assert_eq!(poll(server.addr, &sid).await.packets(), ["2"]);
    // Wait for the close with a GET pending: it is answered with a close packet.
    let pending = start_poll(server.addr, &sid).await;
    let reason = server
        .closed_within(&sid, INTERVAL + TIMEOUT + MARGIN)
        .await;
    assert_eq!(reason, CloseReason::PingTimeout);
    assert_between(
        "ping timeout",
        before.elapsed(),
        INTERVAL + TIMEOUT - Duration::from_millis(1),
        INTERVAL + TIMEOUT + MARGIN,
    );
    assert_eq!(finish(pending).await.packets(), ["1"]);
    poll(server.addr, &sid)
        .await
        .assert_error(400, 1, "Session ID unknown");

    // A client that never polls at all times out the same way.
    let before = Instant::now();
    let (sid, _) = handshake(server.addr).await;
    server.opened().await;
    assert_eq!(
        server
            .closed_within(&sid, INTERVAL + TIMEOUT + MARGIN)
            .await,
        CloseReason::PingTimeout
    );
    assert!(before.elapsed() >= INTERVAL + TIMEOUT - Duration::from_millis(1));
    server.assert_healthy().await;
}

#[tokio::test]
async fn messages_do_not_replace_pongs() {
    let mut server = TestServer::start(fast_config()).await;
    let (mut ws, sid) = ws_session(server.addr).await;
    let before = Instant::now();
    let mut got_ping = false;
    for _ in 0..40 {
        ws_send_text(&mut ws, "4busy").await;
        if let Some(m) = ws_next_within(&mut ws, Duration::from_millis(50)).await {
            assert_eq!(m.to_text().unwrap(), "2");
            got_ping = true;
            break;
        }
    }
    assert!(got_ping);
    // Keep talking without ponging: still a ping timeout.
    let reason = loop {
        let _ = tokio::time::timeout(Duration::from_millis(50), async {
            use futures_util::SinkExt;
            let _ = ws
                .send(tokio_tungstenite::tungstenite::Message::text("4busy"))
                .await;
        })
        .await;
        if let Some(e) = server
            .try_wait_for(
                Duration::from_millis(50),
                |e| matches!(e, Event::Close(s, _) if s.as_str() == sid),
            )
            .await
        {
            break e;
        }
        assert!(before.elapsed() < INTERVAL + TIMEOUT + MARGIN, "no timeout");
    };
    assert!(
        matches!(reason, Event::Close(_, CloseReason::PingTimeout)),
        "{reason:?}"
    );
    server.assert_healthy().await;
}

#[tokio::test]
async fn websocket_pings_and_times_out() {
    let mut server = TestServer::start(fast_config()).await;
    let before = Instant::now();
    let (mut ws, sid) = ws_session(server.addr).await;
    server.opened().await;
    assert_eq!(ws_text(&mut ws).await, "2");
    assert_between(
        "first ping",
        before.elapsed(),
        INTERVAL - Duration::from_millis(1),
        INTERVAL + MARGIN,
    );
    for _ in 0..3 {
        let pong_at = Instant::now();
        ws_send_text(&mut ws, "3").await;
        assert_eq!(ws_text(&mut ws).await, "2");
        assert_between(
            "ping after pong",
            pong_at.elapsed(),
            INTERVAL - Duration::from_millis(1),
            INTERVAL + MARGIN,
        );
    }
    // Now stay silent.
    let last_ping = Instant::now();
    assert_eq!(
        server.closed_within(&sid, TIMEOUT + MARGIN).await,
        CloseReason::PingTimeout
    );
    assert!(last_ping.elapsed() >= TIMEOUT - Duration::from_millis(50));
    // The server closes the WebSocket with a close frame.
    assert!(matches!(ws_closed(&mut ws).await, WsEnd::Close(_)));
    server.assert_healthy().await;
}

#[tokio::test]
async fn a_v4_client_ping_is_a_transport_error() {
    let mut server = TestServer::start(fast_config()).await;
    // Polling.
    let (sid, _) = handshake(server.addr).await;
    server.opened().await;
    let _ = post(server.addr, &sid, b"2").await;
    assert_eq!(server.closed(&sid).await, CloseReason::TransportError);
    poll(server.addr, &sid)
        .await
        .assert_error(400, 1, "Session ID unknown");
    // WebSocket.
    let (mut ws, sid) = ws_session(server.addr).await;
    ws_send_text(&mut ws, "2").await;
    assert_eq!(server.closed(&sid).await, CloseReason::TransportError);
    ws_closed(&mut ws).await;
    server.assert_healthy().await;
}

#[tokio::test]
async fn v3_clients_ping_and_time_out_after_interval_plus_timeout() {
    let mut server = TestServer::start(fast_config().allow_eio3(true)).await;
    let res = get(server.addr, "/engine.io/?EIO=3&transport=polling").await;
    let sid = open_sid(&res.text());
    server.opened().await;
    let url = format!("/engine.io/?EIO=3&transport=polling&sid={sid}");

    // The server never pings a v3 client: a poll stays empty past the ping interval.
    let pending = start(server.addr, &build("GET", &url, &[], None)).await;
    tokio::time::sleep(INTERVAL + Duration::from_millis(50)).await;
    // The client pings; the server answers `3` on the pending poll.
    let pinged = Instant::now();
    assert_ok(&request(server.addr, "POST", &url, &[], Some(b"1:2")).await);
    assert_eq!(finish(pending).await.text(), "1:3");
    // Ping data is echoed.
    assert_ok(&request(server.addr, "POST", &url, &[], Some(b"6:2hello")).await);
    assert_eq!(get(server.addr, &url).await.text(), "6:3hello");

    // Silence for interval + timeout closes it.
    assert_eq!(
        server
            .closed_within(&sid, INTERVAL + TIMEOUT + MARGIN)
            .await,
        CloseReason::PingTimeout
    );
    assert!(pinged.elapsed() >= INTERVAL + TIMEOUT - Duration::from_millis(1));

    // A v3 client sending a pong is wrong.
    let res = get(server.addr, "/engine.io/?EIO=3&transport=polling").await;
    let sid = open_sid(&res.text());
    server.opened().await;
    let url = format!("/engine.io/?EIO=3&transport=polling&sid={sid}");
    let _ = request(server.addr, "POST", &url, &[], Some(b"1:3")).await;
    assert_eq!(server.closed(&sid).await, CloseReason::TransportError);

    // Over WebSocket.
    let mut ws = ws_connect(server.addr, "EIO=3&transport=websocket").await;
    let sid = open_sid(&ws_text(&mut ws).await);
    ws_send_text(&mut ws, "2").await;
    assert_eq!(ws_text(&mut ws).await, "3");
    let pinged = Instant::now();
    assert_eq!(
        server
            .closed_within(&sid, INTERVAL + TIMEOUT + MARGIN)
            .await,
        CloseReason::PingTimeout
    );
    assert!(pinged.elapsed() >= INTERVAL + TIMEOUT - Duration::from_millis(50));
    server.assert_healthy().await;
}

#[tokio::test]
async fn v3_pings_keep_a_session_alive() {
    let mut server = TestServer::start(fast_config().allow_eio3(true)).await;
    let mut ws = ws_connect(server.addr, "EIO=3&transport=websocket").await;
    let sid = open_sid(&ws_text(&mut ws).await);
    server.opened().await;
    // Three times the interval + timeout, pinging every 250 ms.
    for _ in 0..6 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        ws_send_text(&mut ws, "2").await;
        assert_eq!(ws_text(&mut ws).await, "3");
    }
    server
        .assert_open_for(&sid, Duration::from_millis(10))
        .await;
    server.assert_healthy().await;
}

/// A v3 client that pings over polling without ever fetching the pongs fills its send queue
/// like any client that does not read, and is cut off with `send buffer full`.
#[tokio::test]
async fn v3_pongs_count_against_the_send_queue() {
    let mut server =
        TestServer::start(quiet_config().allow_eio3(true).max_buffered(16, 1 << 20)).await;
    let (sid, _) = handshake_query(server.addr, "EIO=3&transport=polling").await;
    server.opened().await;
    let pings = "1:2".repeat(40);
    let res = request(
        server.addr,
        "POST",
        &format!("/engine.io/?EIO=3&transport=polling&sid={sid}"),
        &[("content-type", "text/plain")],
        Some(pings.as_bytes()),
    )
    .await;
    assert_eq!(res.status, 200);
    assert_eq!(server.closed(&sid).await, CloseReason::SendBufferFull);
    server.assert_healthy().await;
}
