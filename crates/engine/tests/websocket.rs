//! WebSocket sessions: text and binary round trips, the payload limit (close code 1009),
//! undecodable packets, closes in both directions, v3 framing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use bytes::Bytes;
use common::*;
use tokio::io::AsyncWriteExt;
use tokio_tungstenite::tungstenite::{
    Message as WsMessage,
    protocol::{CloseFrame, frame::coding::CloseCode},
};
use tower_socketio_engine::{CloseReason, Frame, Message, TransportKind};

#[tokio::test]
async fn text_and_binary_round_trip() {
    let mut server = TestServer::echo(quiet_config()).await;
    let (mut ws, sid) = ws_session(server.addr).await;
    ws_send_text(&mut ws, "4hello").await;
    assert_eq!(ws_text(&mut ws).await, "4hello");
    assert_eq!(server.text(&sid).await, "hello");

    let data = vec![0u8, 1, 2, 0xff, 0x1e, b'4'];
    ws_send(&mut ws, WsMessage::binary(data.clone())).await;
    assert_eq!(ws_next(&mut ws).await, WsMessage::binary(data.clone()));
    assert_eq!(
        server.message(&sid).await,
        Message::Binary(Bytes::from(data))
    );

    // An empty text message, an empty binary message, non-ASCII text.
    ws_send_text(&mut ws, "4").await;
    assert_eq!(ws_text(&mut ws).await, "4");
    ws_send(&mut ws, WsMessage::binary(Vec::new())).await;
    assert_eq!(ws_next(&mut ws).await, WsMessage::binary(Vec::new()));
    ws_send_text(&mut ws, "4é€😀").await;
    assert_eq!(ws_text(&mut ws).await, "4é€😀");
    // Noop and upgrade packets are ignored.
    ws_send_text(&mut ws, "6").await;
    ws_send_text(&mut ws, "5").await;
    ws_send_text(&mut ws, "4after").await;
    assert_eq!(ws_text(&mut ws).await, "4after");

    // Many messages in a burst keep their order.
    for i in 0..200 {
        ws_send_text(&mut ws, &format!("4m{i}")).await;
    }
    for i in 0..200 {
        assert_eq!(ws_text(&mut ws).await, format!("4m{i}"));
    }
    assert_eq!(server.socket(&sid).transport(), TransportKind::WebSocket);
    server.assert_healthy().await;
}

#[tokio::test]
async fn binary_is_base64_text_for_b64_clients() {
    let mut server = TestServer::echo(quiet_config()).await;
    let mut ws = ws_connect(server.addr, "EIO=4&transport=websocket&b64=1").await;
    let sid = open_sid(&ws_text(&mut ws).await);
    assert!(!server.socket(&sid).supports_binary());
    ws_send(&mut ws, WsMessage::binary(vec![1u8, 2, 3])).await;
    assert_eq!(ws_text(&mut ws).await, "bAQID");
    // `b<base64>` text from the client is a binary message too.
    ws_send_text(&mut ws, "bBAU=").await;
    assert_eq!(
        server.message(&sid).await,
        Message::Binary(Bytes::from_static(&[1, 2, 3]))
    );
    assert_eq!(
        server.message(&sid).await,
        Message::Binary(Bytes::from_static(&[4, 5]))
    );
    assert_eq!(ws_text(&mut ws).await, "bBAU=");
    server.assert_healthy().await;
}

#[tokio::test]
async fn oversize_messages_close_with_1009() {
    let mut server = TestServer::echo(quiet_config().max_payload(1000)).await;
    for binary in [false, true] {
        let (mut ws, sid) = ws_session(server.addr).await;
        // Exactly max_payload is fine.
        let mut exactly = b"4".to_vec();
        exactly.resize(1000, b'a');
        let msg = |b: Vec<u8>| {
            if binary {
                WsMessage::binary(b)
            } else {
                WsMessage::text(String::from_utf8(b).unwrap())
            }
        };
        ws_send(&mut ws, msg(exactly.clone())).await;
        assert_eq!(ws_next(&mut ws).await, msg(exactly.clone()));
        server.message(&sid).await;

        let mut over = exactly.clone();
        over.push(b'a');
        ws_send(&mut ws, msg(over)).await;
        match ws_closed(&mut ws).await {
            WsEnd::Close(Some(CloseFrame { code, .. })) => {
                assert_eq!(code, CloseCode::Size);
                assert_eq!(u16::from(code), 1009);
            }
            other => panic!("expected a 1009 close, got {other:?}"),
        }
        assert_eq!(server.closed(&sid).await, CloseReason::TransportError);
        assert!(
            server
                .drain()
                .iter()
                .all(|e| !matches!(e, Event::Message(..)))
        );
    }
    server.assert_healthy().await;
}

#[tokio::test]
async fn undecodable_text_is_a_parse_error() {
    let mut server = TestServer::start(quiet_config()).await;
    for text in ["abc", "7", "", "b!!!", "\u{0}"] {
        let (mut ws, sid) = ws_session(server.addr).await;
        ws_send_text(&mut ws, text).await;
        assert_eq!(
            server.closed(&sid).await,
            CloseReason::ParseError,
            "{text:?}"
        );
        ws_closed(&mut ws).await;
    }
    server.assert_healthy().await;
}

#[tokio::test]
async fn a_close_packet_closes_the_session() {
    let mut server = TestServer::start(quiet_config()).await;
    let (mut ws, sid) = ws_session(server.addr).await;
    ws_send_text(&mut ws, "1").await;
    assert_eq!(server.closed(&sid).await, CloseReason::TransportClose);
    ws_closed(&mut ws).await;
    server.assert_healthy().await;
}

#[tokio::test]
async fn a_client_close_frame_is_a_transport_close() {
    let mut server = TestServer::start(quiet_config()).await;
    let (mut ws, sid) = ws_session(server.addr).await;
    tokio::time::timeout(WAIT, ws.close(None))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(server.closed(&sid).await, CloseReason::TransportClose);
    assert!(server.engine.get(&parse_sid(&sid)).is_none());

    // A dropped TCP connection without a close frame ends the session too.
    let (ws, sid) = ws_session(server.addr).await;
    drop(ws);
    let reason = server.closed(&sid).await;
    assert!(
        matches!(
            reason,
            CloseReason::TransportClose | CloseReason::TransportError
        ),
        "{reason:?}"
    );
    server.assert_healthy().await;
}

#[tokio::test]
async fn a_server_close_flushes_then_sends_a_close_frame() {
    let mut server = TestServer::start(quiet_config()).await;
    let (mut ws, sid) = ws_session(server.addr).await;
    let socket = server.socket(&sid);
    socket.send(Frame::message("one")).unwrap();
    socket
        .send(Frame::Binary(Bytes::from_static(&[9])))
        .unwrap();
    socket.close(CloseReason::ForcedClose);
    // A graceful close: what was queued is written, then the close frame.
    let mut seen = Vec::new();
    let end = loop {
        match tokio::time::timeout(WAIT, futures_util::StreamExt::next(&mut ws))
            .await
            .unwrap()
        {
            Some(Ok(WsMessage::Close(f))) => break Some(f),
            Some(Ok(m)) => seen.push(m),
            Some(Err(_)) | None => break None,
        }
    };
    assert_eq!(
        seen,
        [WsMessage::text("4one"), WsMessage::binary(vec![9u8])]
    );
    assert!(end.is_some(), "no close frame");
    assert_eq!(server.closed(&sid).await, CloseReason::ForcedClose);
    server.assert_healthy().await;
}

#[tokio::test]
async fn websocket_queue_bound_and_volatile() {
    let mut server = TestServer::start(quiet_config().max_buffered(10, 1 << 20)).await;
    let (mut ws, sid) = ws_session(server.addr).await;
    let socket = server.socket(&sid);
    // A WebSocket is always ready for volatile frames when nothing is queued.
    socket.send_volatile(&[Frame::message("v")]).unwrap();
    assert_eq!(ws_text(&mut ws).await, "4v");
    // Without yielding, the writer cannot drain: the 11th frame overflows.
    for i in 0..10 {
        socket.send(Frame::message(&i.to_string())).unwrap();
    }
    assert_eq!(
        socket.send(Frame::message("x")),
        Err(tower_socketio_engine::SendError::Full)
    );
    assert_eq!(server.closed(&sid).await, CloseReason::SendBufferFull);
    ws_closed(&mut ws).await;
    server.assert_healthy().await;
}

#[tokio::test]
async fn v3_websocket_binary_frames_carry_a_type_byte() {
    let mut server = TestServer::echo(quiet_config().allow_eio3(true)).await;
    let mut ws = ws_connect(server.addr, "EIO=3&transport=websocket").await;
    let sid = open_sid(&ws_text(&mut ws).await);
    ws_send(&mut ws, WsMessage::binary(vec![4u8, 1, 2])).await;
    assert_eq!(
        server.message(&sid).await,
        Message::Binary(Bytes::from_static(&[1, 2]))
    );
    assert_eq!(ws_next(&mut ws).await, WsMessage::binary(vec![4u8, 1, 2]));
    ws_send_text(&mut ws, "4text").await;
    assert_eq!(ws_text(&mut ws).await, "4text");
    // A binary frame with a bad type byte is a parse error.
    ws_send(&mut ws, WsMessage::binary(vec![9u8, 1])).await;
    assert_eq!(server.closed(&sid).await, CloseReason::ParseError);
    server.assert_healthy().await;
}

#[tokio::test]
async fn protocol_violations_end_the_session() {
    let mut server = TestServer::start(quiet_config()).await;
    // Raw frames after a valid handshake: unmasked, reserved bits, unknown opcode, an
    // oversize control frame, invalid UTF-8 text.
    let unmasked = {
        let mut f = vec![0x81, 0x02];
        f.extend_from_slice(b"4x");
        f
    };
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("unmasked", unmasked),
        ("rsv bits", ws_frame(true, 0b100, 1, b"4x")),
        ("opcode 3", ws_frame(true, 0, 3, b"4x")),
        ("opcode 0xb", ws_frame(true, 0, 0xb, b"")),
        ("big ping", ws_frame(true, 0, 9, &[0u8; 200])),
        ("fragmented ping", ws_frame(false, 0, 9, b"")),
        ("bad utf-8", ws_frame(true, 0, 1, b"4\xff\xfe")),
        ("lone continuation", ws_frame(true, 0, 0, b"4x")),
    ];
    for (name, frame) in cases {
        let mut s = start(
            server.addr,
            &upgrade_request("EIO=4&transport=websocket", &[]),
        )
        .await;
        let mut buf = Vec::new();
        let res = tokio::time::timeout(WAIT, read_response(&mut s, &mut buf, false))
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(res.status, 101, "{name}");
        let sid = server.opened().await;
        s.write_all(&frame).await.unwrap();
        let reason = server.closed(sid.as_str()).await;
        assert!(
            matches!(
                reason,
                CloseReason::TransportError | CloseReason::ParseError
            ),
            "{name}: {reason:?}"
        );
    }
    server.assert_healthy().await;
}

/// Reads what the server writes until it closes the connection; returns the close frame's
/// code and reason, if a close frame came.
async fn server_close_frame(
    s: &mut tokio::net::TcpStream,
    already: Vec<u8>,
) -> Option<(u16, String)> {
    use tokio::io::AsyncReadExt;
    let mut bytes = already;
    let _ = tokio::time::timeout(WAIT, s.read_to_end(&mut bytes)).await;
    // Server frames are unmasked: opcode, length, payload.
    let mut at = 0;
    while at + 2 <= bytes.len() {
        let opcode = bytes[at] & 0x0f;
        let mut len = usize::from(bytes[at + 1] & 0x7f);
        let mut start = at + 2;
        if len == 126 {
            len = usize::from(u16::from_be_bytes([bytes[start], bytes[start + 1]]));
            start += 2;
        } else if len == 127 {
            return None;
        }
        let payload = bytes.get(start..start + len)?;
        if opcode == 8 {
            let code = u16::from_be_bytes([*payload.first()?, *payload.get(1)?]);
            return Some((code, String::from_utf8_lossy(&payload[2..]).into_owned()));
        }
        at = start + len;
    }
    None
}

/// A WebSocket closed because of what the peer sent gets a close frame with the code of the
/// fault and a short reason before the TCP connection closes.
#[tokio::test]
async fn peer_faults_get_a_close_frame_with_their_code() {
    let mut server = TestServer::start(quiet_config().max_payload(1000)).await;
    let unmasked = {
        let mut f = vec![0x81, 0x02];
        f.extend_from_slice(b"4x");
        f
    };
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        (
            "bad utf-8",
            ws_frame(true, 0, 1, b"4\xff\xfe"),
            1007,
            "Invalid UTF-8",
        ),
        (
            "bad utf-8, fragmented",
            {
                let mut f = ws_frame(false, 0, 1, b"4\xe2");
                f.extend(ws_frame(true, 0, 0, b"\x28"));
                f
            },
            1007,
            "Invalid UTF-8",
        ),
        ("unmasked", unmasked, 1002, "Protocol error"),
        (
            "rsv bits",
            ws_frame(true, 0b100, 1, b"4x"),
            1002,
            "Protocol error",
        ),
        (
            "opcode 3",
            ws_frame(true, 0, 3, b"4x"),
            1002,
            "Protocol error",
        ),
        (
            "big ping",
            ws_frame(true, 0, 9, &[0u8; 200]),
            1002,
            "Protocol error",
        ),
        (
            "lone continuation",
            ws_frame(true, 0, 0, b"4x"),
            1002,
            "Protocol error",
        ),
        (
            "too big",
            ws_frame(true, 0, 2, &[0u8; 2000]),
            1009,
            "Max payload size exceeded",
        ),
    ];
    for (name, frame, code, reason) in cases {
        let mut s = start(
            server.addr,
            &upgrade_request("EIO=4&transport=websocket", &[]),
        )
        .await;
        let mut buf = Vec::new();
        let res = tokio::time::timeout(WAIT, read_response(&mut s, &mut buf, false))
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(res.status, 101, "{name}");
        let sid = server.opened().await;
        s.write_all(&frame).await.unwrap();
        assert_eq!(
            server_close_frame(&mut s, buf).await,
            Some((code, reason.to_owned())),
            "{name}"
        );
        assert_eq!(
            server.closed(sid.as_str()).await,
            CloseReason::TransportError,
            "{name}"
        );
    }
    server.assert_healthy().await;
}

#[tokio::test]
async fn fragmented_messages_are_reassembled_and_bounded() {
    let mut server = TestServer::echo(quiet_config().max_payload(1000)).await;
    let mut s = start(
        server.addr,
        &upgrade_request("EIO=4&transport=websocket", &[]),
    )
    .await;
    let mut buf = Vec::new();
    let res = tokio::time::timeout(WAIT, read_response(&mut s, &mut buf, false))
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(res.status, 101);
    let sid = server.opened().await;
    // `4he` + 2000 empty fragments + `llo`.
    let mut bytes = ws_frame(false, 0, 1, b"4he");
    for _ in 0..2000 {
        bytes.extend(ws_frame(false, 0, 0, b""));
    }
    bytes.extend(ws_frame(true, 0, 0, b"llo"));
    s.write_all(&bytes).await.unwrap();
    assert_eq!(server.text(sid.as_str()).await, "hello");
    // Fragments adding up to more than max_payload.
    let mut bytes = ws_frame(false, 0, 1, b"4");
    for _ in 0..5 {
        bytes.extend(ws_frame(false, 0, 0, &[b'a'; 300]));
    }
    bytes.extend(ws_frame(true, 0, 0, b""));
    let _ = s.write_all(&bytes).await;
    assert_eq!(
        server.closed(sid.as_str()).await,
        CloseReason::TransportError
    );
    server.assert_healthy().await;
}

#[tokio::test]
async fn a_websocket_client_that_does_not_read_is_closed_for_a_full_queue() {
    let mut server = TestServer::start(quiet_config().max_buffered(20, 1 << 20)).await;
    let (ws, sid) = ws_session(server.addr).await;
    let socket = server.socket(&sid);
    // The client never reads: once the TCP buffers are full the queue grows, and the
    // session closes for that reason (not a ping timeout, not a transport error).
    let frame = Frame::Binary(Bytes::from(vec![0u8; 64 * 1024]));
    let mut result = Ok(());
    for _ in 0..2000 {
        result = socket.send(frame.clone());
        if result.is_err() {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert_eq!(result, Err(tower_socketio_engine::SendError::Full));
    assert_eq!(server.closed(&sid).await, CloseReason::SendBufferFull);
    drop(ws);
    server.assert_healthy().await;
}
