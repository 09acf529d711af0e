//! HTTP long-polling: payloads, one GET and one POST at a time, aborts, undecodable bodies,
//! the payload limit, closes in both directions, and the send queue bound.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::*;
use tokio::io::AsyncWriteExt;
use tower_socketio_engine::{CloseReason, Frame, Message, SendError};

/// Lets the server pick up what was just written (everything runs on this thread).
async fn settle() {
    tokio::time::sleep(Duration::from_millis(150)).await;
}

#[tokio::test]
async fn post_delivers_messages_in_order() {
    let mut server = TestServer::start(quiet_config()).await;
    let (sid, _) = handshake(server.addr).await;
    server.opened().await;

    let res = post(server.addr, &sid, b"4hello").await;
    assert_ok(&res);
    assert_eq!(res.header("content-type").as_deref(), Some("text/html"));
    assert_eq!(res.header("content-length").as_deref(), Some("2"));
    assert_eq!(server.text(&sid).await, "hello");

    // Several packets in one payload, text and `b<base64>` binary, and an empty message.
    assert_ok(&post(server.addr, &sid, "4a\x1ebAQID\x1e4\x1e4é€".as_bytes()).await);
    assert_eq!(server.text(&sid).await, "a");
    assert_eq!(
        server.message(&sid).await,
        Message::Binary(Bytes::from_static(&[1, 2, 3]))
    );
    assert_eq!(server.text(&sid).await, "");
    assert_eq!(server.text(&sid).await, "é€");
    // Noop and upgrade packets from a polling client are ignored.
    assert_ok(&post(server.addr, &sid, b"6\x1e5\x1e4after").await);
    assert_eq!(server.text(&sid).await, "after");
    server
        .assert_open_for(&sid, Duration::from_millis(50))
        .await;
    server.assert_healthy().await;
}

#[tokio::test]
async fn get_returns_queued_frames_joined_by_record_separators() {
    let mut server = TestServer::start(quiet_config()).await;
    let (sid, _) = handshake(server.addr).await;
    server.opened().await;
    let socket = server.socket(&sid);
    socket.send(Frame::message("a")).unwrap();
    socket
        .send(Frame::Binary(Bytes::from_static(&[1, 2, 3, 4])))
        .unwrap();
    socket.send(Frame::message("b")).unwrap();
    let res = poll(server.addr, &sid).await;
    assert_eq!(res.text(), "4a\x1ebAQIDBA==\x1e4b");
    assert_eq!(
        res.header("content-type").as_deref(),
        Some("text/plain; charset=UTF-8")
    );
    assert_eq!(res.header("cache-control").as_deref(), Some("no-store"));

    // A pending poll is answered as soon as something is queued.
    let pending = start_poll(server.addr, &sid).await;
    settle().await;
    socket.send(Frame::message("later")).unwrap();
    assert_eq!(finish(pending).await.packets(), ["4later"]);

    // `b64=1` makes no difference to v4 polling: binary is always base64 there.
    let (sid, _) = handshake_query(server.addr, "EIO=4&transport=polling&b64=1").await;
    server.opened().await;
    server
        .socket(&sid)
        .send(Frame::Binary(Bytes::from_static(b"\xff\x00")))
        .unwrap();
    assert_eq!(poll(server.addr, &sid).await.packets(), ["b/wA="]);
    server.assert_healthy().await;
}

#[tokio::test]
async fn echo_round_trip_over_polling() {
    let mut server = TestServer::echo(quiet_config()).await;
    let (sid, _) = handshake(server.addr).await;
    server.opened().await;
    assert_ok(&post(server.addr, &sid, b"4one\x1ebAAE=\x1e4two").await);
    let res = poll(server.addr, &sid).await;
    assert_eq!(res.packets(), ["4one", "bAAE=", "4two"]);
    server.assert_healthy().await;
}

#[tokio::test]
async fn a_second_get_is_refused_and_closes_the_session() {
    let mut server = TestServer::start(quiet_config()).await;
    let (sid, _) = handshake(server.addr).await;
    server.opened().await;
    let first = start_poll(server.addr, &sid).await;
    settle().await;
    let second = start_poll(server.addr, &sid).await;
    let (a, b) = tokio::join!(finish(first), finish(second));
    // One of them (the second, unless the two requests were reordered) gets an empty 400,
    // the pending one gets a close packet.
    let (refused, pending) = if a.status == 400 { (a, b) } else { (b, a) };
    assert_eq!(refused.status, 400);
    assert!(refused.body.is_empty(), "{refused:?}");
    assert_eq!(pending.packets(), ["1"]);
    assert_eq!(server.closed(&sid).await, CloseReason::TransportError);
    poll(server.addr, &sid)
        .await
        .assert_error(400, 1, "Session ID unknown");
    server.assert_healthy().await;
}

#[tokio::test]
async fn a_concurrent_post_is_refused_and_closes_the_session() {
    let mut server = TestServer::start(quiet_config()).await;
    let (sid, _) = handshake(server.addr).await;
    server.opened().await;
    // A POST whose body is still arriving.
    let mut slow = start(
        server.addr,
        format!(
            "POST {} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10\r\n\r\n4abc",
            polling_url(&sid)
        )
        .as_bytes(),
    )
    .await;
    settle().await;
    let mut refused = None;
    for _ in 0..5 {
        let res = post(server.addr, &sid, b"4second").await;
        if res.status == 400 {
            refused = Some(res);
            break;
        }
        // The two requests were reordered; the slow one is pending now.
        assert_ok(&res);
        settle().await;
    }
    let refused = refused.expect("a concurrent POST was accepted");
    assert!(refused.body.is_empty());
    assert_eq!(server.closed(&sid).await, CloseReason::TransportError);
    // The slow POST's body completes, but its session is gone.
    let _ = slow.write_all(b"efghij").await;
    server.assert_healthy().await;
}

#[tokio::test]
async fn an_aborted_pending_get_closes_the_session() {
    let mut server = TestServer::start(quiet_config()).await;
    let (sid, _) = handshake(server.addr).await;
    server.opened().await;
    let pending = start_poll(server.addr, &sid).await;
    settle().await;
    drop(pending);
    assert_eq!(server.closed(&sid).await, CloseReason::TransportError);
    poll(server.addr, &sid)
        .await
        .assert_error(400, 1, "Session ID unknown");
    assert_eq!(server.engine.clients_count(), 0);
    server.assert_healthy().await;
}

#[tokio::test]
async fn a_post_aborted_mid_body_closes_the_session() {
    let mut server = TestServer::start(quiet_config()).await;
    let (sid, _) = handshake(server.addr).await;
    server.opened().await;
    let slow = start(
        server.addr,
        format!(
            "POST {} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n4abc",
            polling_url(&sid)
        )
        .as_bytes(),
    )
    .await;
    settle().await;
    drop(slow);
    assert_eq!(server.closed(&sid).await, CloseReason::TransportError);
    // No partial message reached the handler.
    assert!(
        server
            .drain()
            .iter()
            .all(|e| !matches!(e, Event::Message(..))),
    );

    // The same with a chunked body cut inside a chunk.
    let (sid, _) = handshake(server.addr).await;
    server.opened().await;
    let slow = start(
        server.addr,
        format!(
            "POST {} HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n4abc",
            polling_url(&sid)
        )
        .as_bytes(),
    )
    .await;
    settle().await;
    drop(slow);
    assert_eq!(server.closed(&sid).await, CloseReason::TransportError);
    server.assert_healthy().await;
}

#[tokio::test]
async fn undecodable_posts_close_the_session_with_a_parse_error() {
    let mut server = TestServer::start(quiet_config()).await;
    for body in [
        &b"abc"[..],
        b"b!!!",
        b"",
        b"7",
        b"\x1e\x1e",
        b"4ok\x1e9bad",
        b"4\xff\xfe",
        b"\x00",
    ] {
        let (sid, _) = handshake(server.addr).await;
        server.opened().await;
        let res = post(server.addr, &sid, body).await;
        assert_eq!(res.status, 400, "{body:?}");
        assert!(res.body.is_empty());
        assert_eq!(
            server.closed(&sid).await,
            CloseReason::ParseError,
            "{body:?}"
        );
        let mut events = server.drain();
        // Packets before the bad record are delivered.
        if body.starts_with(b"4ok") {
            assert!(
                events
                    .iter()
                    .any(|e| matches!(e, Event::Message(_, Message::Text(t)) if t == "ok")),
                "{events:?}"
            );
        }
        events.retain(|e| matches!(e, Event::Close(..)));
        assert!(events.is_empty(), "{events:?}");
        poll(server.addr, &sid)
            .await
            .assert_error(400, 1, "Session ID unknown");
    }
    server.assert_healthy().await;
}

#[tokio::test]
async fn a_binary_content_type_is_refused_on_eio4() {
    let mut server = TestServer::start(quiet_config()).await;
    let (sid, _) = handshake(server.addr).await;
    server.opened().await;
    let res = request(
        server.addr,
        "POST",
        &polling_url(&sid),
        &[("Content-Type", "application/octet-stream")],
        Some(b"4hello"),
    )
    .await;
    assert_eq!(res.status, 400);
    assert_eq!(server.closed(&sid).await, CloseReason::TransportError);
    assert!(
        server
            .drain()
            .iter()
            .all(|e| !matches!(e, Event::Message(..)))
    );
    server.assert_healthy().await;
}

fn chunked_post(sid: &str, body: &[u8], chunk: usize) -> Vec<u8> {
    let mut r = format!(
        "POST {} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n",
        polling_url(sid)
    )
    .into_bytes();
    for c in body.chunks(chunk) {
        r.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
        r.extend_from_slice(c);
        r.extend_from_slice(b"\r\n");
    }
    r.extend_from_slice(b"0\r\n\r\n");
    r
}

#[tokio::test]
async fn the_payload_limit_applies_with_and_without_content_length() {
    let mut server = TestServer::start(quiet_config().max_payload(1000)).await;
    let exactly = {
        let mut b = b"4".to_vec();
        b.resize(1000, b'a');
        b
    };
    let over = {
        let mut b = exactly.clone();
        b.push(b'a');
        b
    };
    let addr = server.addr;
    for chunked in [false, true] {
        let send = |sid: String, body: Vec<u8>| async move {
            if chunked {
                send_raw(addr, &chunked_post(&sid, &body, 300)).await
            } else {
                post(addr, &sid, &body).await
            }
        };
        let (sid, _) = handshake(server.addr).await;
        server.opened().await;
        assert_ok(&send(sid.clone(), exactly.clone()).await);
        assert_eq!(server.text(&sid).await.len(), 999);

        let res = send(sid.clone(), over.clone()).await;
        assert_eq!(res.status, 413, "chunked: {chunked}");
        assert!(res.body.is_empty());
        assert_eq!(server.closed(&sid).await, CloseReason::TransportError);
        assert!(
            server
                .drain()
                .iter()
                .all(|e| !matches!(e, Event::Message(..)))
        );
    }
    // A body far over the limit, declared up front.
    let (sid, _) = handshake(server.addr).await;
    server.opened().await;
    let res = post(server.addr, &sid, &vec![b'4'; 100_000]).await;
    assert_eq!(res.status, 413);
    assert_eq!(server.closed(&sid).await, CloseReason::TransportError);
    server.assert_healthy().await;
}

/// Node's answers after a client closes its polling session with a `1`: a poll sent together
/// with the close gets `6`, whichever reaches the server first; once the POST is answered,
/// every later request gets `400` "Session ID unknown".
#[tokio::test]
async fn after_a_client_close_later_requests_get_400() {
    let mut server = TestServer::start(quiet_config()).await;
    for _ in 0..3 {
        // No poll pending: the POST is answered, then the session is gone.
        let (sid, _) = handshake(server.addr).await;
        server.opened().await;
        assert_ok(&post(server.addr, &sid, b"1").await);
        poll(server.addr, &sid)
            .await
            .assert_error(400, 1, "Session ID unknown");
        post(server.addr, &sid, b"4late")
            .await
            .assert_error(400, 1, "Session ID unknown");
        assert_eq!(server.closed(&sid).await, CloseReason::TransportClose);

        // A poll and the close sent at once, the close first on the wire.
        let (sid, _) = handshake(server.addr).await;
        server.opened().await;
        let close = tokio::spawn({
            let addr = server.addr;
            let sid = sid.clone();
            async move { post(addr, &sid, b"1").await }
        });
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let polled = poll(server.addr, &sid).await;
        assert_ok(&close.await.unwrap());
        assert_eq!(polled.packets(), ["6"]);
        poll(server.addr, &sid)
            .await
            .assert_error(400, 1, "Session ID unknown");
        assert_eq!(server.closed(&sid).await, CloseReason::TransportClose);
    }
    server.assert_healthy().await;
}

#[tokio::test]
async fn a_close_packet_releases_the_pending_get_with_a_noop() {
    let mut server = TestServer::start(quiet_config()).await;
    let (sid, _) = handshake(server.addr).await;
    server.opened().await;
    let pending = start_poll(server.addr, &sid).await;
    settle().await;
    assert_ok(&post(server.addr, &sid, b"1").await);
    assert_eq!(finish(pending).await.packets(), ["6"]);
    assert_eq!(server.closed(&sid).await, CloseReason::TransportClose);
    poll(server.addr, &sid)
        .await
        .assert_error(400, 1, "Session ID unknown");

    // Without a pending GET, and with messages before the close packet.
    let (sid, _) = handshake(server.addr).await;
    server.opened().await;
    assert_ok(&post(server.addr, &sid, b"4last\x1e1\x1e4ignored").await);
    assert_eq!(server.text(&sid).await, "last");
    assert_eq!(server.closed(&sid).await, CloseReason::TransportClose);
    let rest = server.drain();
    assert!(rest.is_empty(), "{rest:?}");
    server.assert_healthy().await;
}

#[tokio::test]
async fn a_server_close_flushes_then_sends_a_close_packet() {
    let mut server = TestServer::start(quiet_config()).await;
    let (sid, _) = handshake(server.addr).await;
    server.opened().await;
    let pending = start_poll(server.addr, &sid).await;
    settle().await;
    let socket = server.socket(&sid);
    // Queued and closed without yielding: the pending GET sees both at once.
    socket.send(Frame::message("bye")).unwrap();
    socket
        .send(Frame::Binary(Bytes::from_static(&[7])))
        .unwrap();
    socket.close(CloseReason::ForcedClose);
    assert_eq!(socket.send(Frame::message("late")), Err(SendError::Closed));
    // The pending GET gets the queued frames, then the close packet (in the same response
    // or, like Node, in the next one).
    let mut packets = finish(pending).await.packets();
    assert_eq!(packets[..2], ["4bye", "bBw=="]);
    if packets.len() == 2 {
        packets.extend(poll_until_close(server.addr, &sid).await);
    }
    assert_eq!(packets, ["4bye", "bBw==", "1"]);
    assert_eq!(server.closed(&sid).await, CloseReason::ForcedClose);
    poll(server.addr, &sid)
        .await
        .assert_error(400, 1, "Session ID unknown");

    // Without a pending GET: the next GET gets the rest and the close packet.
    let (sid, _) = handshake(server.addr).await;
    server.opened().await;
    let socket = server.socket(&sid);
    socket.send(Frame::message("queued")).unwrap();
    socket.close(CloseReason::ServerShuttingDown);
    assert_eq!(server.closed(&sid).await, CloseReason::ServerShuttingDown);
    assert_eq!(poll_until_close(server.addr, &sid).await, ["4queued", "1"]);
    poll(server.addr, &sid)
        .await
        .assert_error(400, 1, "Session ID unknown");
    // A POST to a closing session is refused.
    let (sid, _) = handshake(server.addr).await;
    server.opened().await;
    server.socket(&sid).close(CloseReason::ForcedClose);
    post(server.addr, &sid, b"4x")
        .await
        .assert_error(400, 1, "Session ID unknown");
    server.assert_healthy().await;
}

#[tokio::test]
async fn close_all_closes_every_session() {
    let mut server = TestServer::start(quiet_config()).await;
    let mut sids = Vec::new();
    for _ in 0..5 {
        sids.push(handshake(server.addr).await.0);
        server.opened().await;
    }
    server.engine.close_all(CloseReason::ServerShuttingDown);
    for sid in &sids {
        assert_eq!(poll(server.addr, sid).await.packets(), ["1"]);
        assert_eq!(server.closed(sid).await, CloseReason::ServerShuttingDown);
    }
    server.assert_healthy().await;
}

#[tokio::test]
async fn other_methods_with_a_sid_get_500() {
    let mut server = TestServer::start(quiet_config()).await;
    let (sid, _) = handshake(server.addr).await;
    server.opened().await;
    for method in ["PUT", "DELETE", "PATCH", "OPTIONS"] {
        let res = request(server.addr, method, &polling_url(&sid), &[], Some(b"4x")).await;
        assert_eq!(res.status, 500, "{method}");
    }
    // The session is still usable.
    assert_ok(&post(server.addr, &sid, b"4fine").await);
    assert_eq!(server.text(&sid).await, "fine");
    server.assert_healthy().await;
}

#[tokio::test]
async fn an_overflowing_send_queue_closes_the_session() {
    let mut server = TestServer::start(quiet_config().max_buffered(10, 1 << 20)).await;
    let (sid, _) = handshake(server.addr).await;
    server.opened().await;
    let socket = server.socket(&sid);
    for i in 0..10 {
        socket.send(Frame::message(&i.to_string())).unwrap();
    }
    // A reader drains the queue: ten more fit.
    assert_eq!(poll(server.addr, &sid).await.packets().len(), 10);
    for i in 0..10 {
        socket.send(Frame::message(&i.to_string())).unwrap();
    }
    assert_eq!(socket.send(Frame::message("11th")), Err(SendError::Full));
    assert_eq!(server.closed(&sid).await, CloseReason::SendBufferFull);
    assert_eq!(socket.send(Frame::message("x")), Err(SendError::Closed));
    poll(server.addr, &sid)
        .await
        .assert_error(400, 1, "Session ID unknown");

    // The byte bound, and `send_all` is all or nothing.
    let mut server = TestServer::start(quiet_config().max_buffered(100, 50)).await;
    let (sid, _) = handshake(server.addr).await;
    server.opened().await;
    let socket = server.socket(&sid);
    socket.send(Frame::message(&"a".repeat(30))).unwrap();
    assert_eq!(
        socket.send_all(&[Frame::message("b"), Frame::message(&"c".repeat(30))]),
        Err(SendError::Full)
    );
    assert_eq!(server.closed(&sid).await, CloseReason::SendBufferFull);
    server.assert_healthy().await;
}

#[tokio::test]
async fn volatile_frames_are_dropped_when_nothing_polls() {
    let mut server = TestServer::start(quiet_config()).await;
    let (sid, _) = handshake(server.addr).await;
    server.opened().await;
    let socket = server.socket(&sid);
    assert_eq!(
        socket.send_volatile(&[Frame::message("lost")]),
        Err(SendError::Dropped)
    );
    let pending = start_poll(server.addr, &sid).await;
    settle().await;
    socket
        .send_volatile(&[Frame::message("v1"), Frame::message("v2")])
        .unwrap();
    // Something is queued now: further volatile frames are dropped.
    assert_eq!(
        socket.send_volatile(&[Frame::message("v3")]),
        Err(SendError::Dropped)
    );
    assert_eq!(finish(pending).await.packets(), ["4v1", "4v2"]);
    settle().await;
    assert_eq!(
        socket.send_volatile(&[Frame::message("lost again")]),
        Err(SendError::Dropped)
    );
    // Still a healthy session; nothing dropped is delivered later.
    socket.send(Frame::message("normal")).unwrap();
    assert_eq!(poll(server.addr, &sid).await.packets(), ["4normal"]);
    server
        .assert_open_for(&sid, Duration::from_millis(10))
        .await;
    server.assert_healthy().await;
}

#[tokio::test]
async fn v3_polling_uses_length_prefixed_payloads() {
    let mut server = TestServer::echo(quiet_config().allow_eio3(true)).await;
    let res = get(server.addr, "/engine.io/?EIO=3&transport=polling&b64=1").await;
    let sid = open_sid(&res.text());
    server.opened().await;
    let v3_url = format!("/engine.io/?EIO=3&transport=polling&b64=1&sid={sid}");
    let res = request(
        server.addr,
        "POST",
        &v3_url,
        &[("Content-Type", "text/plain;charset=UTF-8")],
        Some("6:4hello2:4€".as_bytes()),
    )
    .await;
    assert_ok(&res);
    assert_eq!(server.text(&sid).await, "hello");
    assert_eq!(server.text(&sid).await, "€");
    let res = get(server.addr, &v3_url).await;
    assert_eq!(res.text(), "6:4hello2:4€");
    // Binary to a b64 client: `b4<base64>`.
    server
        .socket(&sid)
        .send(Frame::Binary(Bytes::from_static(&[1, 2, 3])))
        .unwrap();
    assert_eq!(get(server.addr, &v3_url).await.text(), "6:b4AQID");
    // A broken length prefix closes the session.
    let res = request(
        server.addr,
        "POST",
        &v3_url,
        &[],
        Some(b"99999999999999999999:4x"),
    )
    .await;
    assert_eq!(res.status, 400);
    assert_eq!(server.closed(&sid).await, CloseReason::ParseError);
    server.assert_healthy().await;
}

#[tokio::test]
async fn v3_binary_payloads() {
    let mut server = TestServer::start(quiet_config().allow_eio3(true)).await;
    let res = get(server.addr, "/engine.io/?EIO=3&transport=polling").await;
    let sid = open_sid(&res.text());
    server.opened().await;
    let url = format!("/engine.io/?EIO=3&transport=polling&sid={sid}");
    let socket = server.socket(&sid);
    socket.send(Frame::message("hi")).unwrap();
    socket
        .send(Frame::Binary(Bytes::from_static(&[1, 2, 3])))
        .unwrap();
    // A client supporting binary gets the binary payload format.
    let res = get(server.addr, &url).await;
    assert_eq!(
        res.header("content-type").as_deref(),
        Some("application/octet-stream")
    );
    assert_eq!(
        res.body,
        [0, 3, 0xff, b'4', b'h', b'i', 1, 4, 0xff, 4, 1, 2, 3]
    );
    // And may POST one.
    let res = request(
        server.addr,
        "POST",
        &url,
        &[("Content-Type", "application/octet-stream")],
        Some(&[
            0, 6, 0xff, b'4', b'h', b'e', b'l', b'l', b'o', 1, 4, 0xff, 4, 9, 9, 9,
        ]),
    )
    .await;
    assert_ok(&res);
    assert_eq!(server.text(&sid).await, "hello");
    assert_eq!(
        server.message(&sid).await,
        Message::Binary(Bytes::from_static(&[9, 9, 9]))
    );
    // A length running past the end is a parse error.
    let res = request(
        server.addr,
        "POST",
        &url,
        &[("Content-Type", "application/octet-stream")],
        Some(&[0, 9, 9, 0xff, b'4']),
    )
    .await;
    assert_eq!(res.status, 400);
    assert_eq!(server.closed(&sid).await, CloseReason::ParseError);
    server.assert_healthy().await;
}

#[tokio::test]
async fn polling_a_websocket_session_is_a_transport_mismatch() {
    let mut server = TestServer::start(quiet_config()).await;
    let (mut ws, sid) = ws_session(server.addr).await;
    poll(server.addr, &sid)
        .await
        .assert_error(400, 3, "Bad request");
    post(server.addr, &sid, b"4x")
        .await
        .assert_error(400, 3, "Bad request");
    // The WebSocket session is unaffected.
    ws_send_text(&mut ws, "4ok").await;
    assert_eq!(server.text(&sid).await, "ok");
    server.assert_healthy().await;
}

#[tokio::test]
async fn keep_alive_connections_carry_several_requests() {
    let mut server = TestServer::start(quiet_config()).await;
    let mut conn = connect(server.addr).await;
    let mut buf = Vec::new();
    let keep_alive = |method: &str, target: &str, body: &[u8]| {
        let mut r = format!(
            "{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        r.extend_from_slice(body);
        r
    };
    async fn read(conn: &mut tokio::net::TcpStream, buf: &mut Vec<u8>) -> HttpResponse {
        tokio::time::timeout(WAIT, read_response(conn, buf, false))
            .await
            .unwrap()
            .unwrap()
            .unwrap()
    }
    conn.write_all(&keep_alive(
        "GET",
        "/engine.io/?EIO=4&transport=polling",
        b"",
    ))
    .await
    .unwrap();
    let res = read(&mut conn, &mut buf).await;
    let sid = open_sid(&res.text());
    server.opened().await;
    // Two pipelined requests: a POST, then a GET left pending.
    let mut both = keep_alive("POST", &polling_url(&sid), b"4one");
    both.extend(keep_alive("GET", &polling_url(&sid), b""));
    conn.write_all(&both).await.unwrap();
    assert_ok(&read(&mut conn, &mut buf).await);
    assert_eq!(server.text(&sid).await, "one");
    settle().await;
    server.socket(&sid).send(Frame::message("two")).unwrap();
    assert_eq!(read(&mut conn, &mut buf).await.packets(), ["4two"]);
    // Dropping the connection with a GET pending closes the session.
    conn.write_all(&keep_alive("GET", &polling_url(&sid), b""))
        .await
        .unwrap();
    settle().await;
    drop(conn);
    assert_eq!(server.closed(&sid).await, CloseReason::TransportError);
    server.assert_healthy().await;
}

/// With `allow_eio3`, a request must speak its session's protocol: `EIO=3` with the sid of a
/// v4 session (or the other way round) gets `400` "Bad request", as Node answers, and the
/// session is unharmed.
#[tokio::test]
async fn a_request_of_the_other_protocol_version_is_refused() {
    let mut server = TestServer::start(quiet_config().allow_eio3(true)).await;
    let (v4, _) = handshake_query(server.addr, "EIO=4&transport=polling").await;
    server.opened().await;
    let (v3, _) = handshake_query(server.addr, "EIO=3&transport=polling").await;
    server.opened().await;
    for (sid, other) in [(&v4, "3"), (&v3, "4"), (&v4, "5")] {
        get(
            server.addr,
            &format!("/engine.io/?EIO={other}&transport=polling&sid={sid}"),
        )
        .await
        .assert_error(400, 3, "Bad request");
        request(
            server.addr,
            "POST",
            &format!("/engine.io/?EIO={other}&transport=polling&sid={sid}"),
            &[("content-type", "text/plain")],
            Some(b"4x"),
        )
        .await
        .assert_error(400, 3, "Bad request");
        let upgrade = upgrade_request(&format!("EIO={other}&transport=websocket&sid={sid}"), &[]);
        assert_eq!(send_raw(server.addr, &upgrade).await.status, 400);
    }
    // Their own protocol still works.
    assert_ok(&post(server.addr, &v4, b"4still").await);
    assert_eq!(server.text(&v4).await, "still");
    let res = request(
        server.addr,
        "POST",
        &format!("/engine.io/?EIO=3&transport=polling&sid={v3}"),
        &[("content-type", "text/plain")],
        Some(b"7:4still3"),
    )
    .await;
    assert_ok(&res);
    assert_eq!(server.text(&v3).await, "still3");
    server.assert_healthy().await;
}

/// A POST whose body trickles in slower than `request_body_timeout` gets `408` and closes its
/// session (a slow-body attack holds nothing for long).
#[tokio::test]
async fn a_slow_post_body_times_out() {
    use tokio::io::AsyncWriteExt;
    let mut server = TestServer::start(
        quiet_config().request_body_timeout(std::time::Duration::from_millis(300)),
    )
    .await;
    let (sid, _) = handshake(server.addr).await;
    server.opened().await;
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\n4",
        polling_url(&sid)
    );
    let mut s = start(server.addr, head.as_bytes()).await;
    let started = std::time::Instant::now();
    // One more byte now and then, never the whole body.
    for _ in 0..3 {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        s.write_all(b"x").await.unwrap();
    }
    let res = finish(s).await;
    assert_eq!(res.status, 408);
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
    assert_eq!(server.closed(&sid).await, CloseReason::TransportError);
    server.assert_healthy().await;
}

/// A server-side close of a polling session waits for the client to fetch its last payload
/// (`1`) only as long as a live client would take to poll (ping interval + ping timeout), not
/// the full 30 s: a client that is gone is reaped on the heartbeat's schedule (found by the
/// soak: connections that never joined a namespace lingered after the connect timeout).
#[tokio::test]
async fn a_graceful_close_waits_no_longer_than_the_heartbeat() {
    let config = tower_socketio_engine::EngineConfig::default()
        .ping_interval(std::time::Duration::from_millis(200))
        .ping_timeout(std::time::Duration::from_millis(200));
    let mut server = TestServer::start(config).await;
    let (sid, _) = handshake(server.addr).await;
    server.opened().await;
    let started = std::time::Instant::now();
    server
        .engine
        .get(&parse_sid(&sid))
        .unwrap()
        .close(CloseReason::ForcedServerClose);
    server.closed(&sid).await;
    while server.engine.clients_count() > 0 {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(2),
            "still registered after {:?}",
            started.elapsed()
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(started.elapsed() >= std::time::Duration::from_millis(350));
    server.assert_healthy().await;
}
