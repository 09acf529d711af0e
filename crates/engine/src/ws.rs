//! WebSocket: the HTTP upgrade, direct WebSocket sessions, and the polling-to-WebSocket probe.

use std::{sync::Arc, time::Duration};

use base64::{Engine as _, engine::general_purpose::STANDARD};
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http::{HeaderValue, Response, StatusCode, header, request::Parts};
use http_body_util::Full;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tokio_tungstenite::{
    WebSocketStream,
    tungstenite::{
        Message as WsMessage,
        handshake::derive_accept_key,
        protocol::{CloseFrame, Role, WebSocketConfig, frame::coding::CloseCode},
    },
};
use tower_socketio_protocol::{
    Str,
    engine::{self as proto, Frame, Packet, PacketType, ProtocolVersion},
};

use crate::{
    engine::{EngineResponse, Handler, Inner, SocketRef},
    socket::TransportKind,
};

/// The WebSocket stream of a session.
pub(crate) type WsStream = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

/// Whether the request asks for a WebSocket upgrade (`Connection: upgrade`,
/// `Upgrade: websocket`).
pub(crate) fn is_upgrade_request(parts: &Parts) -> bool {
    let has_token = |name: header::HeaderName, token: &str| {
        parts.headers.get_all(name).iter().any(|v| {
            v.to_str()
                .is_ok_and(|s| s.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
        })
    };
    has_token(header::CONNECTION, "upgrade") && has_token(header::UPGRADE, "websocket")
}

/// Validates the WebSocket handshake headers and takes the connection's upgrade handle.
/// Returns the `101` response to send.
fn accept(parts: &mut Parts) -> Result<(EngineResponse, OnUpgrade), Box<EngineResponse>> {
    let bad = |msg: &'static str| {
        let mut res = Response::new(Full::new(Bytes::from_static(msg.as_bytes())));
        *res.status_mut() = StatusCode::BAD_REQUEST;
        res.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        res
    };
    if parts.method != http::Method::GET {
        return Err(Box::new(bad("Bad request")));
    }
    let version_ok = parts
        .headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .is_some_and(|v| v.as_bytes() == b"13");
    if !version_ok {
        let mut res = bad("Unsupported WebSocket version");
        res.headers_mut().insert(
            header::SEC_WEBSOCKET_VERSION,
            HeaderValue::from_static("13"),
        );
        return Err(Box::new(res));
    }
    let mut keys = parts.headers.get_all(header::SEC_WEBSOCKET_KEY).iter();
    let key = match (keys.next(), keys.next()) {
        (Some(k), None) if STANDARD.decode(k.as_bytes()).is_ok_and(|d| d.len() == 16) => k,
        _ => return Err(Box::new(bad("Invalid Sec-WebSocket-Key"))),
    };
    let accept_key = derive_accept_key(key.as_bytes());
    let Some(on_upgrade) = parts.extensions.remove::<OnUpgrade>() else {
        return Err(Box::new(bad("Bad request")));
    };
    let mut res = Response::new(Full::new(Bytes::new()));
    *res.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = res.headers_mut();
    h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    if let Ok(v) = HeaderValue::from_str(&accept_key) {
        h.insert(header::SEC_WEBSOCKET_ACCEPT, v);
    }
    Ok((res, on_upgrade))
}

fn ws_config<H: Handler>(engine: &Inner<H>) -> WebSocketConfig {
    let max = usize::try_from(engine.config.max_payload).unwrap_or(usize::MAX);
    WebSocketConfig::default()
        .read_buffer_size(engine.config.ws_read_buffer_size)
        .write_buffer_size(64 * 1024)
        .max_message_size(Some(max))
        .max_frame_size(Some(max))
}

async fn complete(on_upgrade: OnUpgrade, config: WebSocketConfig) -> Option<WsStream> {
    match on_upgrade.await {
        Ok(upgraded) => Some(
            WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, Some(config))
                .await,
        ),
        Err(e) => {
            tracing::debug!(target: "engineio::transport", error = %e, "WebSocket upgrade failed");
            None
        }
    }
}

/// A handshake over WebSocket (no `sid`): a new session whose only transport is this socket.
pub(crate) fn handshake<H: Handler>(
    engine: Arc<Inner<H>>,
    mut parts: Parts,
    protocol: ProtocolVersion,
    supports_binary: bool,
) -> EngineResponse {
    let (mut res, on_upgrade) = match accept(&mut parts) {
        Ok(ok) => ok,
        Err(res) => return engine.finish(&parts, *res),
    };
    if let Some(f) = &engine.config.initial_headers {
        f(&parts, res.headers_mut());
    }
    let res = engine.finish(&parts, res);
    let config = ws_config(&engine);
    tokio::spawn(async move {
        let Some(mut ws) = complete(on_upgrade, config).await else {
            return;
        };
        if protocol == ProtocolVersion::V3 {
            // Engine.IO v3 clients written against Node (its protocol test suite among them)
            // attach their `message` listener only once `open` fired. Node's server leaves a
            // gap of about a millisecond between the 101 and the open packet; without one, both
            // can arrive in a single read and the client drops the handshake.
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let (socket, frames) = engine.open_session(
            protocol,
            supports_binary,
            TransportKind::WebSocket,
            &mut parts,
        );
        drop(parts);
        for frame in frames {
            if ws.feed(to_ws_message(&socket, frame)).await.is_err() {
                socket.abort(crate::socket::CloseReason::TransportError);
                break;
            }
        }
        let _ = ws.flush().await;
        // The session runs in a task of its own, so this one (sized for the upgrade and the
        // handshake, several KiB) is freed now rather than held for the connection's life.
        tokio::spawn(crate::driver::run(engine, socket, Some(ws)));
    });
    res
}

/// A WebSocket for an existing polling session: the upgrade probe.
pub(crate) fn upgrade_existing<H: Handler>(
    engine: Arc<Inner<H>>,
    socket: SocketRef<H>,
    mut parts: Parts,
) -> EngineResponse {
    let (res, on_upgrade) = match accept(&mut parts) {
        Ok(ok) => ok,
        Err(res) => return engine.finish(&parts, *res),
    };
    let res = engine.finish(&parts, res);
    let allowed = {
        let mut st = socket.lock();
        let ok = engine.config.allow_upgrades
            && st.close.is_none()
            && st.transport == TransportKind::Polling
            && !st.upgrade_started;
        if ok {
            st.upgrade_started = true;
        }
        ok
    };
    let config = ws_config(&engine);
    tokio::spawn(async move {
        let Some(mut ws) = complete(on_upgrade, config).await else {
            if allowed {
                socket.lock().upgrade_started = false;
            }
            return;
        };
        if !allowed {
            // Node accepts the handshake, then closes a WebSocket it cannot use.
            tracing::debug!(target: "engineio::transport", sid = %socket.id(), "refused second WebSocket for a session");
            let _ = ws.close(None).await;
            return;
        }
        probe(&engine, &socket, ws).await;
    });
    res
}

/// Runs the upgrade probe: `2probe` -> `3probe`, noop on the pending poll, then `5`. On
/// success the socket is handed to the session's driver.
async fn probe<H: Handler>(engine: &Inner<H>, socket: &SocketRef<H>, mut ws: WsStream) {
    let deadline = tokio::time::Instant::now() + engine.config.upgrade_timeout;
    let outcome = tokio::time::timeout_at(deadline, async {
        match next_packet(socket, &mut ws).await {
            Some(Packet::Ping(data)) if &*data == "probe" => {}
            _ => return false,
        }
        if ws
            .send(to_ws_message(
                socket,
                Frame::control(PacketType::Pong, "probe"),
            ))
            .await
            .is_err()
        {
            return false;
        }
        socket.lock().upgrading = true;
        socket.writer.wake();
        matches!(next_packet(socket, &mut ws).await, Some(Packet::Upgrade))
    })
    .await;
    if outcome == Ok(true) {
        let mut st = socket.lock();
        st.upgrading = false;
        if st.close.is_none() {
            st.transport = TransportKind::WebSocket;
            st.upgraded = Some(Box::new(ws));
            drop(st);
            tracing::debug!(target: "engineio::transport", sid = %socket.id(), "upgraded to websocket");
            socket.wake_all();
            engine.handler.on_upgrade(socket, TransportKind::WebSocket);
            return;
        }
    }
    {
        let mut st = socket.lock();
        st.upgrading = false;
        st.upgrade_started = false;
    }
    tracing::debug!(target: "engineio::transport", sid = %socket.id(), "upgrade aborted");
    let _ = tokio::time::timeout(Duration::from_secs(1), ws.close(None)).await;
}

/// Reads the next Engine.IO packet during the probe (`None` on anything unusable).
async fn next_packet<D>(socket: &crate::Socket<D>, ws: &mut WsStream) -> Option<Packet> {
    loop {
        match ws.next().await? {
            Ok(WsMessage::Ping(_) | WsMessage::Pong(_)) => continue,
            Ok(msg) => return decode(socket, msg).ok().flatten(),
            Err(_) => return None,
        }
    }
}

/// Decodes a WebSocket message into an Engine.IO packet. `Ok(None)` for control frames
/// that carry no packet.
pub(crate) fn decode<D>(
    socket: &crate::Socket<D>,
    msg: WsMessage,
) -> Result<Option<Packet>, proto::DecodeError> {
    match msg {
        WsMessage::Text(text) => {
            let text = Str::try_from(Bytes::from(text)).map_err(|_| proto::DecodeError::Utf8)?;
            match socket.protocol() {
                ProtocolVersion::V4 => proto::decode_text(text).map(Some),
                ProtocolVersion::V3 => proto::decode_text_v3(text).map(Some),
            }
        }
        WsMessage::Binary(data) => match socket.protocol() {
            ProtocolVersion::V4 => Ok(Some(Packet::Message(proto::Message::Binary(data)))),
            ProtocolVersion::V3 => proto::decode_binary_v3(data).map(Some),
        },
        WsMessage::Ping(_) | WsMessage::Pong(_) | WsMessage::Close(_) | WsMessage::Frame(_) => {
            Ok(None)
        }
    }
}

/// Encodes a frame as a WebSocket message for this session.
pub(crate) fn to_ws_message<D>(socket: &crate::Socket<D>, frame: Frame) -> WsMessage {
    match frame {
        Frame::Text(text) => WsMessage::Text(text_message(text)),
        Frame::Binary(data) if !socket.supports_binary() => {
            let prefix = match socket.protocol() {
                ProtocolVersion::V4 => "b",
                ProtocolVersion::V3 => "b4",
            };
            WsMessage::Text(format!("{prefix}{}", STANDARD.encode(&data)).into())
        }
        Frame::Binary(data) => match socket.protocol() {
            ProtocolVersion::V4 => WsMessage::Binary(data),
            ProtocolVersion::V3 => {
                WsMessage::Binary(Frame::Binary(data).v3_ws_binary().unwrap_or_default())
            }
        },
    }
}

fn text_message(text: Str) -> tokio_tungstenite::tungstenite::Utf8Bytes {
    // `Str` is valid UTF-8 by construction, so the conversion cannot fail.
    tokio_tungstenite::tungstenite::Utf8Bytes::try_from(text.into_bytes()).unwrap_or_default()
}

/// The close frame telling a peer why its WebSocket is closed after a read error: 1007 for
/// invalid UTF-8 in a text message, 1009 for an oversize message (as `ws` does with its
/// `maxPayload`), 1002 for a protocol violation. `None` when the connection itself failed
/// (nothing can be sent then).
pub(crate) fn close_for_error(error: &tokio_tungstenite::tungstenite::Error) -> Option<WsMessage> {
    use tokio_tungstenite::tungstenite::{Error, error::ProtocolError};
    let (code, reason) = match error {
        Error::Utf8(_) => (CloseCode::Invalid, "Invalid UTF-8"),
        Error::Capacity(_) => (CloseCode::Size, "Max payload size exceeded"),
        Error::Protocol(ProtocolError::ResetWithoutClosingHandshake) => return None,
        Error::Protocol(_) => (CloseCode::Protocol, "Protocol error"),
        _ => return None,
    };
    Some(WsMessage::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    })))
}
