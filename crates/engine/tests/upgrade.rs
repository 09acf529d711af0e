//! The upgrade from polling to WebSocket: the probe, the noop on the pending poll, `5`,
//! buffered frames, polling after the upgrade, second WebSockets, the upgrade timeout.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::*;
use futures_util::SinkExt;
use tokio_tungstenite::tungstenite::{self, Message as WsMessage};
use tower_socketio_engine::{CloseReason, Frame, TransportKind};

async fn settle() {
    tokio::time::sleep(Duration::from_millis(150)).await;
}

fn ws_query(sid: &str) -> String {
    format!("EIO=4&transport=websocket&sid={sid}")
}

/// A polling session upgraded to WebSocket; returns the WebSocket.
async fn upgrade(server: &mut TestServer, sid: &str) -> Ws {
    let pending = start_poll(server.addr, sid).await;
    settle().await;
    let mut ws = ws_connect(server.addr, &ws_query(sid)).await;
    ws_send_text(&mut ws, "2probe").await;
    assert_eq!(ws_text(&mut ws).await, "3probe");
    assert_eq!(finish(pending).await.packets(), ["6"]);
    ws_send_text(&mut ws, "5").await;
    assert_eq!(server.upgraded(sid).await, TransportKind::WebSocket);
    ws
}

#[tokio::test]
async fn a_polling_session_upgrades() {
    let mut server = TestServer::echo(quiet_config()).await;
    let (sid, res) = handshake(server.addr).await;
    assert_eq!(open_json(&res.text())["upgrades"][0], "websocket");
    server.opened().await;
    let socket = server.socket(&sid);
    let pending = start_poll(server.addr, &sid).await;
    settle().await;

    let mut ws = ws_connect(server.addr, &ws_query(&sid)).await;
    ws_send_text(&mut ws, "2probe").await;
    assert_eq!(ws_text(&mut ws).await, "3probe");
    // The pending GET is released with a noop.
    assert_eq!(finish(pending).await.packets(), ["6"]);
    assert_eq!(socket.transport(), TransportKind::Polling);
    // Frames queued during the upgrade wait for the WebSocket.
    socket.send(Frame::message("during")).unwrap();
    socket
        .send(Frame::Binary(Bytes::from_static(&[1, 2])))
        .unwrap();
    ws_send_text(&mut ws, "5").await;
    assert_eq!(ws_text(&mut ws).await, "4during");
    assert_eq!(ws_next(&mut ws).await, WsMessage::binary(vec![1u8, 2]));
    assert_eq!(server.upgraded(&sid).await, TransportKind::WebSocket);
    assert_eq!(socket.transport(), TransportKind::WebSocket);

    // The WebSocket carries the session now.
    ws_send_text(&mut ws, "4over ws").await;
    assert_eq!(server.text(&sid).await, "over ws");
    assert_eq!(ws_text(&mut ws).await, "4over ws");

    // Polling with that sid is a transport mismatch.
    poll(server.addr, &sid)
        .await
        .assert_error(400, 3, "Bad request");
    post(server.addr, &sid, b"4x")
        .await
        .assert_error(400, 3, "Bad request");
    // ... and does not hurt the session.
    ws_send_text(&mut ws, "4still").await;
    assert_eq!(ws_text(&mut ws).await, "4still");

    ws.close(None).await.unwrap();
    assert_eq!(server.closed(&sid).await, CloseReason::TransportClose);
    server.assert_healthy().await;
}

#[tokio::test]
async fn frames_queued_before_the_probe_without_a_poll_go_over_the_websocket() {
    let mut server = TestServer::start(quiet_config()).await;
    let (sid, _) = handshake(server.addr).await;
    server.opened().await;
    let socket = server.socket(&sid);
    socket.send(Frame::message("early")).unwrap();
    let mut ws = ws_connect(server.addr, &ws_query(&sid)).await;
    ws_send_text(&mut ws, "2probe").await;
    assert_eq!(ws_text(&mut ws).await, "3probe");
    ws_send_text(&mut ws, "5").await;
    assert_eq!(ws_text(&mut ws).await, "4early");
    server.upgraded(&sid).await;
    server.assert_healthy().await;
}

#[tokio::test]
async fn a_poll_during_the_upgrade_gets_a_noop() {
    let mut server = TestServer::start(quiet_config()).await;
    let (sid, _) = handshake(server.addr).await;
    server.opened().await;
    let mut ws = ws_connect(server.addr, &ws_query(&sid)).await;
    ws_send_text(&mut ws, "2probe").await;
    assert_eq!(ws_text(&mut ws).await, "3probe");
    settle().await;
    // Probed, not upgraded yet: a poll is answered at once with a noop.
    assert_eq!(poll(server.addr, &sid).await.packets(), ["6"]);
    // POSTs still work until `5`.
    assert_ok(&post(server.addr, &sid, b"4via polling").await);
    assert_eq!(server.text(&sid).await, "via polling");
    ws_send_text(&mut ws, "5").await;
    server.upgraded(&sid).await;
    ws_send_text(&mut ws, "4via ws").await;
    assert_eq!(server.text(&sid).await, "via ws");
    server.assert_healthy().await;
}

#[tokio::test]
async fn a_second_websocket_for_an_upgraded_session_is_closed() {
    let mut server = TestServer::echo(quiet_config()).await;
    let (sid, _) = handshake(server.addr).await;
    server.opened().await;
    let mut ws = upgrade(&mut server, &sid).await;

    let mut second = ws_connect(server.addr, &ws_query(&sid)).await;
    let _ = second.send(WsMessage::text("2probe")).await;
    ws_closed(&mut second).await;
    // The first one is unaffected.
    ws_send_text(&mut ws, "4first").await;
    assert_eq!(ws_text(&mut ws).await, "4first");
    server
        .assert_open_for(&sid, Duration::from_millis(50))
        .await;
    server.assert_healthy().await;
}

#[tokio::test]
async fn a_second_websocket_during_a_probe_is_closed() {
    let mut server = TestServer::start(quiet_config()).await;
    let (sid, _) = handshake(server.addr).await;
    server.opened().await;
    let mut first = ws_connect(server.addr, &ws_query(&sid)).await;
    ws_send_text(&mut first, "2probe").await;
    assert_eq!(ws_text(&mut first).await, "3probe");
    let mut second = ws_connect(server.addr, &ws_query(&sid)).await;
    ws_closed(&mut second).await;
    ws_send_text(&mut first, "5").await;
    server.upgraded(&sid).await;
    ws_send_text(&mut first, "4ok").await;
    assert_eq!(server.text(&sid).await, "ok");
    server.assert_healthy().await;
}

#[tokio::test]
async fn an_upgrade_timeout_closes_the_probe_and_keeps_polling() {
    // upgrade_timeout 500 ms, no heartbeat in the way.
    let mut server = TestServer::echo(quiet_config()).await;
    let (sid, _) = handshake(server.addr).await;
    server.opened().await;
    let pending = start_poll(server.addr, &sid).await;
    settle().await;
    let started = tokio::time::Instant::now();
    let mut ws = ws_connect(server.addr, &ws_query(&sid)).await;
    ws_send_text(&mut ws, "2probe").await;
    assert_eq!(ws_text(&mut ws).await, "3probe");
    assert_eq!(finish(pending).await.packets(), ["6"]);
    // No `5`: the probe WebSocket is closed after the upgrade timeout.
    ws_closed_within(&mut ws, Duration::from_millis(1500)).await;
    assert!(started.elapsed() >= Duration::from_millis(499));
    // The session lives on over polling.
    assert_eq!(server.socket(&sid).transport(), TransportKind::Polling);
    assert_ok(&post(server.addr, &sid, b"4still polling").await);
    assert_eq!(server.text(&sid).await, "still polling");
    assert_eq!(poll(server.addr, &sid).await.packets(), ["4still polling"]);
    let events = server.drain();
    assert!(
        events
            .iter()
            .all(|e| !matches!(e, Event::Close(..) | Event::Upgrade(..))),
        "{events:?}"
    );
    // And can try again.
    let _ws = upgrade(&mut server, &sid).await;
    server.assert_healthy().await;
}

#[tokio::test]
async fn a_failed_probe_keeps_the_session_on_polling() {
    let mut server = TestServer::echo(quiet_config()).await;
    for first in ["5", "4hello", "2", "2nope", "3probe", "abc"] {
        let (sid, _) = handshake(server.addr).await;
        server.opened().await;
        let mut ws = ws_connect(server.addr, &ws_query(&sid)).await;
        ws_send_text(&mut ws, first).await;
        ws_closed(&mut ws).await;
        settle().await;
        assert_eq!(server.socket(&sid).transport(), TransportKind::Polling);
        assert_ok(&post(server.addr, &sid, b"4alive").await);
        assert_eq!(
            poll(server.addr, &sid).await.packets(),
            ["4alive"],
            "{first}"
        );
        if first == "5" {
            continue;
        }
        // A probe that then sends something other than `5`.
        let mut ws = ws_connect(server.addr, &ws_query(&sid)).await;
        ws_send_text(&mut ws, "2probe").await;
        assert_eq!(ws_text(&mut ws).await, "3probe");
        ws_send_text(&mut ws, first).await;
        ws_closed(&mut ws).await;
        settle().await;
        assert_eq!(
            server.socket(&sid).transport(),
            TransportKind::Polling,
            "{first}"
        );
        assert_ok(&post(server.addr, &sid, b"4alive").await);
        assert_eq!(poll(server.addr, &sid).await.packets(), ["4alive"]);
        server.assert_open_for(&sid, Duration::ZERO).await;
    }
    server.assert_healthy().await;
}

#[tokio::test]
async fn a_websocket_for_an_unknown_sid_is_refused() {
    let mut server = TestServer::start(quiet_config()).await;
    for sid in ["AAAAAAAAAAAAAAAAAAAA", "__proto__", ""] {
        match try_ws_connect(server.addr, &ws_query(sid)).await {
            Err(tungstenite::Error::Http(res)) => assert_eq!(res.status(), 400),
            Err(e) => panic!("unexpected error {e}"),
            Ok(_) => panic!("accepted a WebSocket for {sid:?}"),
        }
    }
    server.assert_healthy().await;
}

#[tokio::test]
async fn upgrades_can_be_refused() {
    let mut server = TestServer::echo(quiet_config().allow_upgrades(false)).await;
    let (sid, _) = handshake(server.addr).await;
    server.opened().await;
    let mut ws = ws_connect(server.addr, &ws_query(&sid)).await;
    let _ = ws.send(WsMessage::text("2probe")).await;
    ws_closed(&mut ws).await;
    assert_ok(&post(server.addr, &sid, b"4polling").await);
    assert_eq!(poll(server.addr, &sid).await.packets(), ["4polling"]);
    server.assert_healthy().await;
}

#[tokio::test]
async fn the_heartbeat_continues_across_the_upgrade() {
    let mut server = TestServer::start(fast_config()).await;
    let (sid, _) = handshake(server.addr).await;
    server.opened().await;
    let mut ws = upgrade(&mut server, &sid).await;
    // Pings now come over the WebSocket; answering them keeps the session.
    for _ in 0..4 {
        assert_eq!(ws_text(&mut ws).await, "2");
        ws_send_text(&mut ws, "3").await;
    }
    server
        .assert_open_for(&sid, Duration::from_millis(10))
        .await;
    // Silence: ping timeout.
    assert_eq!(ws_text(&mut ws).await, "2");
    assert_eq!(
        server.closed_within(&sid, Duration::from_millis(900)).await,
        CloseReason::PingTimeout
    );
    server.assert_healthy().await;
}

#[tokio::test]
async fn closing_during_a_probe_closes_the_probe() {
    let mut server = TestServer::start(quiet_config()).await;
    let (sid, _) = handshake(server.addr).await;
    server.opened().await;
    let mut ws = ws_connect(server.addr, &ws_query(&sid)).await;
    ws_send_text(&mut ws, "2probe").await;
    assert_eq!(ws_text(&mut ws).await, "3probe");
    server.socket(&sid).close(CloseReason::ForcedClose);
    assert_eq!(poll(server.addr, &sid).await.packets(), ["1"]);
    assert_eq!(server.closed(&sid).await, CloseReason::ForcedClose);
    let _ = ws.send(WsMessage::text("5")).await;
    ws_closed(&mut ws).await;
    let events = server.drain();
    assert!(
        events.iter().all(|e| !matches!(e, Event::Upgrade(..))),
        "{events:?}"
    );
    server.assert_healthy().await;
}

#[tokio::test]
async fn a_v3_session_upgrades() {
    let mut server = TestServer::echo(quiet_config().allow_eio3(true)).await;
    let res = get(server.addr, "/engine.io/?EIO=3&transport=polling").await;
    let sid = open_sid(&res.text());
    server.opened().await;
    let mut ws = ws_connect(server.addr, &format!("EIO=3&transport=websocket&sid={sid}")).await;
    ws_send_text(&mut ws, "2probe").await;
    assert_eq!(ws_text(&mut ws).await, "3probe");
    ws_send_text(&mut ws, "5").await;
    server.upgraded(&sid).await;
    // v3 framing over the WebSocket: binary frames carry the type byte; the client pings.
    ws_send(&mut ws, WsMessage::binary(vec![4u8, 7])).await;
    assert_eq!(ws_next(&mut ws).await, WsMessage::binary(vec![4u8, 7]));
    ws_send_text(&mut ws, "2").await;
    assert_eq!(ws_text(&mut ws).await, "3");
    get(
        server.addr,
        &format!("/engine.io/?EIO=3&transport=polling&sid={sid}"),
    )
    .await
    .assert_error(400, 3, "Bad request");
    ws.close(None).await.unwrap();
    assert_eq!(server.closed(&sid).await, CloseReason::TransportClose);
    assert_eq!(server.engine.clients_count(), 0);
    server.assert_healthy().await;
}

#[tokio::test]
async fn packets_right_after_the_upgrade_packet_are_not_lost() {
    let mut server = TestServer::start(quiet_config()).await;
    let (sid, _) = handshake(server.addr).await;
    server.opened().await;
    let mut ws = ws_connect(server.addr, &ws_query(&sid)).await;
    ws_send_text(&mut ws, "2probe").await;
    assert_eq!(ws_text(&mut ws).await, "3probe");
    // `5` and a message in one go: the message is read by whoever owns the socket next.
    ws.feed(WsMessage::text("5")).await.unwrap();
    ws.feed(WsMessage::text("4right after")).await.unwrap();
    ws.flush().await.unwrap();
    server.upgraded(&sid).await;
    assert_eq!(server.text(&sid).await, "right after");
    server.assert_healthy().await;
}

#[tokio::test]
async fn a_close_from_on_upgrade_flushes_over_the_websocket() {
    // The handler sends a last message and closes the session as soon as it is upgraded.
    // The session is on the WebSocket now: the message and a close frame must go out there.
    let mut server = TestServer::start_with(
        quiet_config(),
        Behaviour {
            farewell_on_upgrade: Some("bye".into()),
            ..Behaviour::default()
        },
    )
    .await;
    let (sid, _) = handshake(server.addr).await;
    server.opened().await;
    let mut ws = ws_connect(server.addr, &ws_query(&sid)).await;
    ws_send_text(&mut ws, "2probe").await;
    assert_eq!(ws_text(&mut ws).await, "3probe");
    ws_send_text(&mut ws, "5").await;
    server.upgraded(&sid).await;
    assert_eq!(server.closed(&sid).await, CloseReason::ForcedClose);
    let mut seen = Vec::new();
    let end = loop {
        match tokio::time::timeout(WAIT, futures_util::StreamExt::next(&mut ws)).await {
            Err(_) => panic!("the WebSocket stayed open after the session closed; got {seen:?}"),
            Ok(Some(Ok(WsMessage::Close(f)))) => break Some(f),
            Ok(Some(Ok(m))) => seen.push(m),
            Ok(Some(Err(_)) | None) => break None,
        }
    };
    assert_eq!(seen, [WsMessage::text("4bye")], "the last message was lost");
    assert!(
        end.is_some(),
        "no close frame, the TCP connection was just dropped"
    );
    server.assert_healthy().await;
}

#[tokio::test]
async fn a_ping_queued_during_the_upgrade_goes_over_the_websocket() {
    // Ping interval 300 ms; a long ping timeout leaves room to answer after the upgrade.
    let config = quiet_config()
        .ping_interval(Duration::from_millis(300))
        .ping_timeout(Duration::from_millis(1500));
    let mut server = TestServer::start(config).await;
    let (sid, _) = handshake(server.addr).await;
    server.opened().await;
    let pending = start_poll(server.addr, &sid).await;
    settle().await;
    let mut ws = ws_connect(server.addr, &ws_query(&sid)).await;
    ws_send_text(&mut ws, "2probe").await;
    assert_eq!(ws_text(&mut ws).await, "3probe");
    assert_eq!(finish(pending).await.packets(), ["6"]);
    // No poll from here on, as a real client: the ping waits for the new transport.
    tokio::time::sleep(Duration::from_millis(400)).await;
    ws_send_text(&mut ws, "5").await;
    assert_eq!(ws_text(&mut ws).await, "2");
    ws_send_text(&mut ws, "3").await;
    server.upgraded(&sid).await;
    assert_eq!(ws_text(&mut ws).await, "2");
    server
        .assert_open_for(&sid, Duration::from_millis(10))
        .await;
    server.assert_healthy().await;
}

/// A polling session whose upgrade request gets its 101 and then nothing, and which never
/// polls again: the probe times out, and the session's heartbeat still reaps it.
#[tokio::test]
async fn an_abandoned_upgrade_and_session_are_reaped() {
    let config = tower_socketio_engine::EngineConfig::default()
        .ping_interval(std::time::Duration::from_millis(200))
        .ping_timeout(std::time::Duration::from_millis(200))
        .upgrade_timeout(std::time::Duration::from_millis(200));
    let mut server = TestServer::start(config).await;
    let mut held = Vec::new();
    let mut sids = Vec::new();
    for _ in 0..20 {
        let (sid, _) = handshake(server.addr).await;
        server.opened().await;
        let mut s = start(
            server.addr,
            &upgrade_request(&format!("EIO=4&transport=websocket&sid={sid}"), &[]),
        )
        .await;
        let mut buf = Vec::new();
        let res = tokio::time::timeout(WAIT, read_response(&mut s, &mut buf, false))
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(res.status, 101);
        held.push(s);
        sids.push(sid);
    }
    for sid in &sids {
        let reason = server
            .closed_within(sid, std::time::Duration::from_secs(3))
            .await;
        assert_eq!(reason, CloseReason::PingTimeout);
    }
    let deadline = std::time::Instant::now() + WAIT;
    while server.engine.clients_count() > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "{} sessions left",
            server.engine.clients_count()
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    drop(held);
    server.assert_healthy().await;
}
