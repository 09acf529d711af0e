//! HTTP long-polling: one pending GET carries server packets, POSTs carry client packets.

use std::{future::poll_fn, task::Poll, time::Duration};

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header, request::Parts};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use tower_socketio_protocol::{
    Str,
    engine::{Frame, PacketType, ProtocolVersion, payload},
};

use crate::{
    engine::{BoxError, EngineResponse, Handler, Inner, SocketRef, empty},
    error::{ErrorCode, error_response},
    socket::{CloseMode, CloseReason, PollReply, TransportKind},
};

/// Closes the session if a request future is dropped before it completes: the client aborted
/// the request (or the connection died).
struct AbortGuard<'a, H: Handler> {
    socket: &'a SocketRef<H>,
    get: bool,
    done: bool,
}

impl<H: Handler> Drop for AbortGuard<'_, H> {
    fn drop(&mut self) {
        {
            let mut st = self.socket.lock();
            if self.get {
                st.poll_active = false;
            } else {
                st.post_active = false;
            }
        }
        if !self.done {
            tracing::debug!(target: "engineio::transport", sid = %self.socket.id(), get = self.get, "polling request aborted");
            self.socket.abort(CloseReason::TransportError);
        }
    }
}

/// A second GET or POST while one is in flight: refused with `400`, and the session closes
/// (a pending poll is answered with `1`).
fn refuse_overlap<D>(
    mut st: std::sync::MutexGuard<'_, crate::socket::State>,
    socket: &crate::Socket<D>,
    what: &str,
) -> EngineResponse {
    tracing::debug!(target: "engineio::transport", sid = %socket.id(), "overlapping {what}");
    st.start_close(
        CloseReason::TransportError,
        CloseMode::Abort(PollReply::Close),
    );
    drop(st);
    socket.wake_all();
    empty(StatusCode::BAD_REQUEST)
}

/// A long-poll: answered as soon as frames are queued, the session closes, or an upgrade
/// needs the poll released.
pub(crate) async fn poll<H: Handler>(engine: &Inner<H>, socket: &SocketRef<H>) -> EngineResponse {
    {
        let mut st = socket.lock();
        if st.check_heartbeat(socket.protocol()) {
            drop(st);
            socket.wake_all();
            return error_response(ErrorCode::UnknownSid, None, false);
        }
        if st.is_gone() {
            return error_response(ErrorCode::UnknownSid, None, false);
        }
        if st.transport != TransportKind::Polling {
            return error_response(ErrorCode::BadRequest, None, false);
        }
        if st.poll_active {
            // Two polls at once: refuse this one, answer the pending one with `1`, close.
            return refuse_overlap(st, socket, "poll");
        }
        st.poll_active = true;
    }
    let mut guard = AbortGuard::<H> {
        socket,
        get: true,
        done: false,
    };
    let frames: Vec<Frame> = poll_fn(|cx| {
        socket.writer.register(cx.waker());
        let mut st = socket.lock();
        let outbox_empty = st.outbox.is_empty();
        if let Some(closing) = &mut st.close {
            let frames = match closing.mode {
                // As Node, what was queued goes out first, and the `1` in a later response:
                // clients handle decoded packets a tick later than a close, so a `1` in the
                // same payload would overtake them.
                CloseMode::Graceful if !closing.delivered && !outbox_empty => {
                    st.queued_frames = 0;
                    st.queued_bytes = 0;
                    std::mem::take(&mut st.outbox).into()
                }
                CloseMode::Graceful if !closing.delivered => {
                    closing.delivered = true;
                    socket.driver.wake();
                    vec![Frame::control(PacketType::Close, "")]
                }
                CloseMode::Abort(PollReply::Noop) => {
                    closing.delivered = true;
                    socket.driver.wake();
                    vec![Frame::control(PacketType::Noop, "")]
                }
                _ => vec![Frame::control(PacketType::Close, "")],
            };
            return Poll::Ready(frames);
        }
        if st.transport == TransportKind::WebSocket || (st.upgrading && st.outbox.is_empty()) {
            return Poll::Ready(vec![Frame::control(PacketType::Noop, "")]);
        }
        if !st.outbox.is_empty() {
            st.queued_frames = 0;
            st.queued_bytes = 0;
            return Poll::Ready(std::mem::take(&mut st.outbox).into());
        }
        Poll::Pending
    })
    .await;
    guard.done = true;
    drop(guard);
    engine.payload_response(socket, &frames)
}

/// How long a POST carrying the client's close waits for a poll sent together with it.
const CLIENT_CLOSE_WAIT: Duration = Duration::from_millis(250);

/// After the client closed its session in a POST (a `1` packet): a poll that was pending, or
/// that arrives while this POST is still unanswered (a client may send both at once), gets
/// `6`; once the POST is answered the session is gone, and every later request gets `400`
/// "Session ID unknown", as Node answers.
async fn settle_client_close<D>(socket: &crate::Socket<D>) {
    let owes_noop =
        |socket: &crate::Socket<D>| {
            socket.lock().close.as_ref().is_some_and(|c| {
                matches!(c.mode, CloseMode::Abort(PollReply::Noop)) && !c.delivered
            })
        };
    if !owes_noop(socket) {
        return;
    }
    let deadline = tokio::time::Instant::now() + CLIENT_CLOSE_WAIT;
    while owes_noop(socket) && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    if let Some(closing) = socket.lock().close.as_mut() {
        closing.delivered = true;
    }
    socket.driver.wake();
}

/// A POST carrying a payload of client packets.
pub(crate) async fn post<H, B>(
    engine: &Inner<H>,
    socket: &SocketRef<H>,
    parts: &Parts,
    body: B,
) -> EngineResponse
where
    H: Handler,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    {
        let mut st = socket.lock();
        if st.check_heartbeat(socket.protocol()) {
            drop(st);
            socket.wake_all();
            return error_response(ErrorCode::UnknownSid, None, false);
        }
        if st.close.is_some() {
            return error_response(ErrorCode::UnknownSid, None, false);
        }
        if st.post_active {
            return refuse_overlap(st, socket, "POST");
        }
        st.post_active = true;
    }
    let mut guard = AbortGuard::<H> {
        socket,
        get: false,
        done: false,
    };

    let binary = parts
        .headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/octet-stream"));
    if binary && socket.protocol() == ProtocolVersion::V4 {
        guard.done = true;
        tracing::debug!(target: "engineio::transport", sid = %socket.id(), "binary POST body with EIO=4");
        socket.abort(CloseReason::TransportError);
        return empty(StatusCode::BAD_REQUEST);
    }

    let limit = usize::try_from(engine.config.max_payload).unwrap_or(usize::MAX);
    let read = tokio::time::timeout(
        engine.config.request_body_timeout,
        Limited::new(body, limit).collect(),
    )
    .await;
    let Ok(read) = read else {
        guard.done = true;
        tracing::debug!(target: "engineio::transport", sid = %socket.id(), "POST body too slow");
        socket.abort(CloseReason::TransportError);
        return empty(StatusCode::REQUEST_TIMEOUT);
    };
    let bytes: Bytes = match read {
        Ok(collected) => collected.to_bytes(),
        Err(e) => {
            guard.done = true;
            if e.is::<LengthLimitError>() {
                tracing::debug!(target: "engineio::transport", sid = %socket.id(), "POST body over max_payload");
                socket.abort(CloseReason::TransportError);
                return empty(StatusCode::PAYLOAD_TOO_LARGE);
            }
            tracing::debug!(target: "engineio::transport", sid = %socket.id(), error = %e, "POST body error");
            socket.abort(CloseReason::TransportError);
            return empty(StatusCode::BAD_REQUEST);
        }
    };
    guard.done = true;

    let (packets, error) = match (socket.protocol(), binary) {
        (ProtocolVersion::V3, true) => payload::decode_v3_binary(bytes),
        (protocol, _) => match Str::try_from(bytes) {
            Ok(text) if protocol == ProtocolVersion::V4 => payload::decode_v4(text),
            Ok(text) => payload::decode_v3_text(text),
            Err(_) => (
                Vec::new(),
                Some(tower_socketio_protocol::engine::DecodeError::Utf8),
            ),
        },
    };
    for packet in packets {
        if !engine.on_packet(socket, packet) {
            break;
        }
    }
    if let Some(error) = error {
        tracing::debug!(target: "engineio::transport", sid = %socket.id(), %error, "undecodable payload");
        socket.abort(CloseReason::ParseError);
        return empty(StatusCode::BAD_REQUEST);
    }
    drop(guard);
    settle_client_close(socket).await;
    let mut res = Response::new(Full::new(Bytes::from_static(b"ok")));
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
    res
}
