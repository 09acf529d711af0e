//! The session driver: one task per session. It runs the heartbeat, owns the WebSocket once
//! there is one (reading, writing, closing), and ends the session exactly once.

use std::{
    collections::VecDeque,
    future::{Future, poll_fn},
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use futures_util::{Sink, SinkExt, Stream};
use tokio::time::{Instant, Sleep};
use tokio_tungstenite::tungstenite::{self, Message as WsMessage};
use tower_socketio_protocol::engine::{Frame, PacketType, ProtocolVersion};

use crate::{
    engine::{Handler, Inner, SocketRef},
    socket::{CloseMode, CloseReason, PollReply, Socket, TransportKind},
    ws::{self, WsStream},
};

/// How many incoming WebSocket messages one wake-up handles before yielding, so that one
/// busy client cannot starve the others on its worker thread.
const READS_PER_WAKE: usize = 32;

/// How long a graceful close waits for the client to fetch its last polling payload, or for
/// the last WebSocket frames to be written.
const CLOSE_GRACE: Duration = Duration::from_secs(30);
const WS_CLOSE_GRACE: Duration = Duration::from_secs(5);
/// How long a client-closed polling session waits for a poll that was sent together with the
/// close (it gets `6`).
const CLIENT_CLOSE_GRACE: Duration = Duration::from_secs(1);

/// How late the heartbeat timer may fire before the pong deadline counts from the actual ping
/// instead of the scheduled one.
const TIMER_SLACK: Duration = Duration::from_millis(20);

enum Step {
    Closed,
    Upgraded(Box<WsStream>),
}

pub(crate) async fn run<H: Handler>(
    engine: Arc<Inner<H>>,
    socket: SocketRef<H>,
    mut ws: Option<WsStream>,
) {
    let deadline = socket.lock().heartbeat.deadline;
    let mut sleep = std::pin::pin!(tokio::time::sleep_until(deadline));
    let mut out = Outgoing::default();
    loop {
        let step = match ws.as_mut() {
            None => poll_fn(|cx| polling_step(&socket, sleep.as_mut(), cx)).await,
            Some(w) => {
                poll_fn(|cx| ws_step(&engine, &socket, w, &mut out, sleep.as_mut(), cx)).await
            }
        };
        match step {
            Step::Upgraded(w) => ws = Some(*w),
            Step::Closed => break,
        }
    }
    // Boxed: the closing steps (a timeout, the WebSocket moved in, the frames left) would
    // otherwise make every session's task that much larger for its whole life.
    Box::pin(finish(&engine, &socket, ws, out)).await;
}

/// Polling mode: wait for the heartbeat deadline, a close, or a completed upgrade.
fn polling_step<D>(
    socket: &Arc<Socket<D>>,
    sleep: Pin<&mut Sleep>,
    cx: &mut Context<'_>,
) -> Poll<Step> {
    socket.driver.register(cx.waker());
    {
        let mut st = socket.lock();
        // A completed upgrade first: even a session closing right after it (e.g. from
        // `on_upgrade`) must flush and close over its new WebSocket.
        if let Some(w) = st.upgraded.take() {
            return Poll::Ready(Step::Upgraded(w));
        }
        if st.close.is_some() {
            return Poll::Ready(Step::Closed);
        }
    }
    if heartbeat(socket, sleep, cx) {
        return Poll::Ready(Step::Closed);
    }
    Poll::Pending
}

/// Runs the heartbeat timer. Returns `true` if the session timed out.
fn heartbeat<D>(socket: &Arc<Socket<D>>, mut sleep: Pin<&mut Sleep>, cx: &mut Context<'_>) -> bool {
    while sleep.as_mut().poll(cx).is_ready() {
        let now = Instant::now();
        let mut st = socket.lock();
        let hb = &mut st.heartbeat;
        if now < hb.deadline {
            // A pong (or a v3 ping) moved the deadline.
            let d = hb.deadline;
            drop(st);
            sleep.as_mut().reset(d);
            continue;
        }
        if socket.protocol() == ProtocolVersion::V4 && !hb.awaiting_pong {
            hb.awaiting_pong = true;
            // Count the timeout from when the ping was due, as Node's timers do, unless the
            // timer fired really late: then the client gets its full timeout from now.
            let from = if now <= hb.deadline + TIMER_SLACK {
                hb.deadline
            } else {
                now
            };
            hb.deadline = from + socket.config.ping_timeout;
            let d = hb.deadline;
            st.push_unbounded(Frame::control(PacketType::Ping, ""));
            socket.wake_writer_after(st);
            sleep.as_mut().reset(d);
            continue;
        }
        drop(st);
        tracing::debug!(target: "engineio::socket", sid = %socket.id(), "ping timeout");
        socket.abort(CloseReason::PingTimeout);
        return true;
    }
    false
}

/// Frames taken from the session's queue and not yet written to the WebSocket.
#[derive(Default)]
struct Outgoing {
    frames: VecDeque<Frame>,
    bytes: usize,
    count: usize,
    flush: bool,
}

/// WebSocket mode: write what is queued, read what arrives, keep the heartbeat.
///
/// Two lock round trips per poll (three when the last one wrote something): one to check
/// for a close, mark the driver as reading and take the queued frames; one, after reading, to
/// clear the mark and take what the packets read produced; one to account for what that
/// wrote. Frames queued in between wake nobody (the second round trip collects them); frames
/// queued after it wake the driver.
fn ws_step<H: Handler>(
    engine: &Inner<H>,
    socket: &SocketRef<H>,
    ws: &mut WsStream,
    out: &mut Outgoing,
    sleep: Pin<&mut Sleep>,
    cx: &mut Context<'_>,
) -> Poll<Step> {
    // Every wake-up of a WebSocket session (queued frames, close) goes through `writer`.
    socket.writer.register(cx.waker());
    {
        let mut st = socket.lock();
        if st.close.is_some() {
            return Poll::Ready(Step::Closed);
        }
        st.driver_reading = true;
        out.refill(&mut st);
    }
    let step = if heartbeat(socket, sleep, cx) || !write_or_close(socket, ws, out, cx) {
        Poll::Ready(Step::Closed)
    } else {
        read_some(engine, socket, ws, cx)
    };
    {
        let mut st = socket.lock();
        st.driver_reading = false;
        out.refill(&mut st);
    }
    if step.is_ready() {
        return step;
    }
    // Write what the packets read produced.
    if !write_or_close(socket, ws, out, cx) {
        return Poll::Ready(Step::Closed);
    }
    if out.frames.is_empty() && out.count > 0 {
        // Everything taken is written: say so now, so that the queue reads as empty (a
        // volatile emit is only sent to an idle transport). Frames queued since the last
        // round trip woke the driver already; they are taken here and written next poll.
        out.refill(&mut socket.lock());
    }
    Poll::Pending
}

impl Outgoing {
    /// Under the session lock: accounts for the frames written since the last refill and,
    /// once the current batch is written, takes the queued frames as the next one.
    fn refill(&mut self, st: &mut crate::socket::State) {
        if !self.frames.is_empty() {
            return;
        }
        st.queued_frames = st.queued_frames.saturating_sub(self.count);
        st.queued_bytes = st.queued_bytes.saturating_sub(self.bytes);
        self.count = 0;
        self.bytes = 0;
        if !st.outbox.is_empty() {
            std::mem::swap(&mut self.frames, &mut st.outbox);
        }
    }
}

/// Writes the current batch; on a failure, aborts the session and returns `false`.
fn write_or_close<D>(
    socket: &crate::Socket<D>,
    ws: &mut WsStream,
    out: &mut Outgoing,
    cx: &mut Context<'_>,
) -> bool {
    match write_some(socket, ws, out, cx) {
        Ok(()) => true,
        Err(e) => {
            tracing::debug!(target: "engineio::transport", sid = %socket.id(), error = %e, "WebSocket write failed");
            socket.abort(CloseReason::TransportError);
            false
        }
    }
}

/// Reads and handles incoming messages: `Pending` once there are none (or the budget is used
/// up), `Ready(Closed)` when the session ends.
fn read_some<H: Handler>(
    engine: &Inner<H>,
    socket: &SocketRef<H>,
    ws: &mut WsStream,
    cx: &mut Context<'_>,
) -> Poll<Step> {
    for _ in 0..READS_PER_WAKE {
        match Pin::new(&mut *ws).poll_next(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Some(Ok(msg))) => {
                if let WsMessage::Close(_) = msg {
                    socket.abort(CloseReason::TransportClose);
                    return Poll::Ready(Step::Closed);
                }
                match ws::decode(socket, msg) {
                    Ok(Some(packet)) => {
                        if !engine.on_packet(socket, packet) {
                            return Poll::Ready(Step::Closed);
                        }
                    }
                    Ok(None) => {}
                    Err(error) => {
                        tracing::debug!(target: "engineio::transport", sid = %socket.id(), %error, "undecodable packet");
                        socket.abort(CloseReason::ParseError);
                        return Poll::Ready(Step::Closed);
                    }
                }
            }
            Poll::Ready(Some(Err(e))) => {
                tracing::debug!(target: "engineio::transport", sid = %socket.id(), error = %e, "WebSocket read failed");
                // Tell the peer why (sent before the connection closes, see `finish`).
                socket.lock().peer_close = ws::close_for_error(&e);
                socket.abort(CloseReason::TransportError);
                return Poll::Ready(Step::Closed);
            }
            Poll::Ready(None) => {
                socket.abort(CloseReason::TransportClose);
                return Poll::Ready(Step::Closed);
            }
        }
    }
    // Budget used up: come back after the other tasks had their turn.
    cx.waker().wake_by_ref();
    Poll::Pending
}

/// Moves the current batch into the WebSocket as far as it accepts it, then flushes.
fn write_some<D>(
    socket: &crate::Socket<D>,
    ws: &mut WsStream,
    out: &mut Outgoing,
    cx: &mut Context<'_>,
) -> Result<(), tungstenite::Error> {
    while !out.frames.is_empty() {
        match Pin::new(&mut *ws).poll_ready(cx) {
            Poll::Ready(Ok(())) => {}
            Poll::Ready(Err(e)) => return Err(e),
            Poll::Pending => break,
        }
        let Some(frame) = out.frames.pop_front() else {
            break;
        };
        out.count += 1;
        out.bytes += frame.len();
        Pin::new(&mut *ws).start_send(ws::to_ws_message(socket, frame))?;
        out.flush = true;
    }
    if out.flush {
        match Pin::new(&mut *ws).poll_flush(cx) {
            Poll::Ready(Ok(())) => out.flush = false,
            Poll::Ready(Err(e)) => return Err(e),
            Poll::Pending => {}
        }
    }
    Ok(())
}

/// Ends the session: tells the handler, lets the transport close as the close mode asks,
/// and removes the session from the registry.
async fn finish<H: Handler>(
    engine: &Inner<H>,
    socket: &SocketRef<H>,
    ws: Option<WsStream>,
    out: Outgoing,
) {
    let (reason, mode, transport) = {
        let mut st = socket.lock();
        let transport = st.transport;
        match st.close.as_mut() {
            Some(c) => {
                c.handled = true;
                (c.reason, c.mode, transport)
            }
            // The driver only stops once a close has started.
            None => return,
        }
    };
    let ws = ws.or_else(|| socket.lock().upgraded.take().map(|w| *w));
    // A polling session that owes its client a last response keeps its registry entry until
    // the response is fetched (or a grace period ends): a close's final `1`, or the `6`
    // answering the client's own close, whose poll may arrive just after its POST.
    let graceful_poll = transport == TransportKind::Polling
        && matches!(
            mode,
            CloseMode::Graceful | CloseMode::Abort(PollReply::Noop)
        );
    // A client that is still there polls within a heartbeat period: one that has not come
    // back by then is gone (Node's ping timeout keeps running while a session closes).
    let heartbeat = socket.config.ping_interval + socket.config.ping_timeout;
    let grace = if mode == CloseMode::Graceful {
        CLOSE_GRACE.min(heartbeat)
    } else {
        CLIENT_CLOSE_GRACE.min(heartbeat)
    };
    if !graceful_poll {
        engine.remove(&socket.id());
    }
    tracing::debug!(target: "engineio::socket", sid = %socket.id(), %reason, "session closed");
    engine.handler.on_close(socket, reason);

    if let Some(mut ws) = ws {
        let peer_close = socket.lock().peer_close.take();
        let _ = tokio::time::timeout(WS_CLOSE_GRACE, async {
            if let Some(close) = peer_close {
                let _ = ws.send(close).await;
                return;
            }
            if mode == CloseMode::Graceful {
                let mut frames = out.frames;
                frames.extend(std::mem::take(&mut socket.lock().outbox));
                for frame in frames {
                    if ws.feed(ws::to_ws_message(socket, frame)).await.is_err() {
                        return;
                    }
                }
            }
            if !matches!(
                reason,
                CloseReason::TransportClose | CloseReason::TransportError
            ) {
                let _ = ws.close(None).await;
            } else {
                let _ = ws.flush().await;
            }
        })
        .await;
    } else if graceful_poll {
        // Wait for the client to fetch the final payload (ending with `1`).
        let _ = tokio::time::timeout(
            grace,
            poll_fn(|cx| {
                socket.driver.register(cx.waker());
                let st = socket.lock();
                let delivered = st.close.as_ref().is_some_and(|c| c.delivered);
                if delivered {
                    Poll::Ready(())
                } else {
                    Poll::Pending
                }
            }),
        )
        .await;
        engine.remove(&socket.id());
    }
}
