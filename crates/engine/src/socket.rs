//! One Engine.IO session, shared by its transports, its driver task and the handler.

use std::{
    collections::VecDeque,
    fmt,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
};

use futures_util::task::AtomicWaker;
use tokio::time::Instant;
use tower_socketio_protocol::engine::{Frame, PacketType, ProtocolVersion};

use crate::{config::EngineConfig, sid::Sid, ws::WsStream};

/// See [`State::check_heartbeat`].
const DEADLINE_TOLERANCE: std::time::Duration = std::time::Duration::from_millis(3);

/// The transport a session currently uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransportKind {
    /// HTTP long-polling.
    Polling,
    /// WebSocket.
    WebSocket,
}

impl TransportKind {
    /// `"polling"` or `"websocket"`.
    pub fn as_str(self) -> &'static str {
        match self {
            TransportKind::Polling => "polling",
            TransportKind::WebSocket => "websocket",
        }
    }
}

/// Why a session closed. [`CloseReason::as_str`] gives Node's reason strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CloseReason {
    /// The client closed the transport (WebSocket closed, or a `1` packet).
    TransportClose,
    /// The transport failed: an aborted or duplicate request, an oversize message, a
    /// WebSocket error, a heartbeat in the wrong direction.
    TransportError,
    /// No pong in time (v4), or no ping in time (v3).
    PingTimeout,
    /// An Engine.IO packet could not be decoded.
    ParseError,
    /// The server closed the session ([`Socket::close`]).
    ForcedClose,
    /// The Socket.IO layer closed the connection (connect timeout or a protocol violation).
    ForcedServerClose,
    /// The server is shutting down.
    ServerShuttingDown,
    /// The session's send queue overflowed: the client does not read fast enough.
    SendBufferFull,
}

impl CloseReason {
    /// The reason as Node's Socket.IO server names it (`"transport close"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::TransportClose => "transport close",
            CloseReason::TransportError => "transport error",
            CloseReason::PingTimeout => "ping timeout",
            CloseReason::ParseError => "parse error",
            CloseReason::ForcedClose => "forced close",
            CloseReason::ForcedServerClose => "forced server close",
            CloseReason::ServerShuttingDown => "server shutting down",
            CloseReason::SendBufferFull => "send buffer full",
        }
    }
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a frame could not be queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendError {
    /// The session is closed or closing.
    Closed,
    /// The send queue is full; the session has been closed with
    /// [`CloseReason::SendBufferFull`].
    Full,
    /// A volatile frame was dropped because the transport was not ready for it.
    Dropped,
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SendError::Closed => "session closed",
            SendError::Full => "send queue full",
            SendError::Dropped => "volatile packet dropped",
        })
    }
}

impl std::error::Error for SendError {}

/// How a closing session ends its transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CloseMode {
    /// Flush what is queued, then close (`1` on polling, a close frame on WebSocket).
    Graceful,
    /// Drop what is queued; a pending poll is answered with this reply.
    Abort(PollReply),
}

/// What a pending long-poll receives when its session is aborted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PollReply {
    /// `1`
    Close,
    /// `6`
    Noop,
}

#[derive(Debug)]
pub(crate) struct Closing {
    pub(crate) reason: CloseReason,
    pub(crate) mode: CloseMode,
    /// For a graceful polling close: the final payload (ending in `1`) has been delivered.
    pub(crate) delivered: bool,
    /// The driver has seen the close and told the handler.
    pub(crate) handled: bool,
}

#[derive(Debug)]
pub(crate) struct Heartbeat {
    /// When the driver must act next: send a ping (v4, not awaiting a pong), or time out.
    pub(crate) deadline: Instant,
    /// v4: a ping is out and its pong has not come back.
    pub(crate) awaiting_pong: bool,
}

pub(crate) struct State {
    pub(crate) transport: TransportKind,
    /// A WebSocket for this session is being probed (one at a time).
    pub(crate) upgrade_started: bool,
    /// The probe succeeded; polling requests are answered with a noop until `5` arrives.
    pub(crate) upgrading: bool,
    /// A completed upgrade, waiting for the driver to take it over.
    pub(crate) upgraded: Option<Box<WsStream>>,
    /// The close frame to send the peer before closing its WebSocket, when the session
    /// ends because of what the peer sent (see `ws::close_for_error`).
    pub(crate) peer_close: Option<tokio_tungstenite::tungstenite::Message>,
    /// Frames waiting for a transport.
    pub(crate) outbox: VecDeque<Frame>,
    /// Frames and bytes queued and not yet written, including a batch the writer took.
    pub(crate) queued_frames: usize,
    pub(crate) queued_bytes: usize,
    pub(crate) poll_active: bool,
    pub(crate) post_active: bool,
    pub(crate) close: Option<Closing>,
    pub(crate) heartbeat: Heartbeat,
    /// The WebSocket driver is handling incoming packets and writes the queue when it is
    /// done: frames queued meanwhile (typically by the handlers it runs, answering those
    /// packets) need no wake-up, which would only poll the driver once more for nothing.
    pub(crate) driver_reading: bool,
}

impl fmt::Debug for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("State")
            .field("transport", &self.transport)
            .field("upgrading", &self.upgrading)
            .field("queued_frames", &self.queued_frames)
            .field("queued_bytes", &self.queued_bytes)
            .field("close", &self.close)
            .finish_non_exhaustive()
    }
}

impl State {
    /// Queues a frame without looking at the bounds (heartbeats, probes, the final close).
    pub(crate) fn push_unbounded(&mut self, frame: Frame) {
        self.queued_frames += 1;
        self.queued_bytes += frame.len();
        self.outbox.push_back(frame);
    }

    /// Whether `frames` fit in the send queue's bounds.
    fn fits(&self, frames: &[Frame], config: &EngineConfig) -> bool {
        let bytes: usize = frames.iter().map(Frame::len).sum();
        self.queued_frames + frames.len() <= config.max_buffered_packets
            && self.queued_bytes + bytes <= config.max_buffered_bytes
    }

    /// Queues frames whose bounds the caller checked.
    fn enqueue(&mut self, frames: &[Frame]) {
        for frame in frames {
            self.push_unbounded(frame.clone());
        }
    }

    /// Starts closing; returns whether this call started it.
    pub(crate) fn start_close(&mut self, reason: CloseReason, mode: CloseMode) -> bool {
        if self.close.is_some() {
            return false;
        }
        if matches!(mode, CloseMode::Abort(_)) {
            self.outbox = VecDeque::new();
            self.queued_frames = 0;
            self.queued_bytes = 0;
        }
        self.close = Some(Closing {
            reason,
            mode,
            delivered: false,
            handled: false,
        });
        true
    }

    /// Closes the session for a missed heartbeat if its deadline has passed, without waiting
    /// for the driver's timer to fire (a request arriving right at the deadline must not
    /// find the session alive). Returns whether it closed.
    ///
    /// A poll arriving in the last [`DEADLINE_TOLERANCE`] of the pong window, with the pong
    /// still missing, counts as late: it cannot carry the pong, and clients whose timers
    /// fire slightly early (libuv's do) would otherwise find the session alive at the limit.
    pub(crate) fn check_heartbeat(&mut self, protocol: ProtocolVersion) -> bool {
        let late = tokio::time::Instant::now() + DEADLINE_TOLERANCE >= self.heartbeat.deadline;
        let expired = match protocol {
            ProtocolVersion::V4 => self.heartbeat.awaiting_pong && late,
            ProtocolVersion::V3 => late,
        };
        expired && self.start_close(CloseReason::PingTimeout, CloseMode::Abort(PollReply::Close))
    }

    /// Whether requests should treat this session as gone. A polling session that still owes
    /// its client a last response (the final `1` of a graceful close, or the `6` after the
    /// client's own close) stays reachable until it is delivered.
    pub(crate) fn is_gone(&self) -> bool {
        match &self.close {
            None => false,
            Some(c) => {
                c.delivered
                    || self.transport != TransportKind::Polling
                    || !matches!(
                        c.mode,
                        CloseMode::Graceful | CloseMode::Abort(PollReply::Noop)
                    )
            }
        }
    }
}

/// An Engine.IO session.
///
/// Handlers receive it as `Arc<Socket<D>>`, where `D` is the per-session data the handler
/// created at the handshake ([`crate::Handler::Data`]).
pub struct Socket<D> {
    id: Sid,
    protocol: ProtocolVersion,
    supports_binary: bool,
    pub(crate) config: Arc<EngineConfig>,
    pub(crate) state: Mutex<State>,
    /// Woken when frames are queued or the session closes: the WebSocket writer, or the
    /// pending long-poll.
    pub(crate) writer: AtomicWaker,
    /// Woken when the driver task has something to do (close, upgrade).
    pub(crate) driver: AtomicWaker,
    data: D,
}

impl<D> fmt::Debug for Socket<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Socket")
            .field("id", &self.id)
            .field("protocol", &self.protocol)
            .finish_non_exhaustive()
    }
}

impl<D> Socket<D> {
    pub(crate) fn new(
        id: Sid,
        protocol: ProtocolVersion,
        supports_binary: bool,
        transport: TransportKind,
        config: Arc<EngineConfig>,
        data: D,
    ) -> Self {
        let deadline = Instant::now()
            + match protocol {
                ProtocolVersion::V4 => config.ping_interval,
                ProtocolVersion::V3 => config.ping_interval + config.ping_timeout,
            };
        Socket {
            id,
            protocol,
            supports_binary,
            state: Mutex::new(State {
                transport,
                upgrade_started: false,
                upgrading: false,
                upgraded: None,
                outbox: VecDeque::new(),
                queued_frames: 0,
                queued_bytes: 0,
                poll_active: false,
                post_active: false,
                close: None,
                heartbeat: Heartbeat {
                    deadline,
                    awaiting_pong: false,
                },
                driver_reading: false,
                peer_close: None,
            }),
            config,
            writer: AtomicWaker::new(),
            driver: AtomicWaker::new(),
            data,
        }
    }

    /// The session id. Treat it as a secret: it authenticates polling requests.
    pub fn id(&self) -> Sid {
        self.id
    }

    /// The Engine.IO protocol revision of the client.
    pub fn protocol(&self) -> ProtocolVersion {
        self.protocol
    }

    /// Whether binary frames are sent as binary (false for clients that asked for `b64`).
    pub fn supports_binary(&self) -> bool {
        self.supports_binary
    }

    /// The handler's per-session data.
    pub fn data(&self) -> &D {
        &self.data
    }

    /// The transport in use now.
    pub fn transport(&self) -> TransportKind {
        self.lock().transport
    }

    /// Whether the session is closed or closing.
    pub fn is_closed(&self) -> bool {
        self.lock().close.is_some()
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing panics while holding this lock, but a poisoned lock must not take the
        // server down either.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues a frame. If the queue bound is exceeded the session is closed with
    /// [`CloseReason::SendBufferFull`].
    pub fn send(&self, frame: Frame) -> Result<(), SendError> {
        self.send_all(std::slice::from_ref(&frame))
    }

    /// Queues several frames at once, atomically: no other frame is interleaved (used for a
    /// Socket.IO packet and its binary attachments).
    pub fn send_all(&self, frames: &[Frame]) -> Result<(), SendError> {
        {
            let mut st = self.lock();
            if st.close.is_some() {
                return Err(SendError::Closed);
            }
            if !st.fits(frames, &self.config) {
                st.start_close(
                    CloseReason::SendBufferFull,
                    CloseMode::Abort(PollReply::Close),
                );
                drop(st);
                tracing::debug!(target: "engineio::socket", sid = %self.id, "send queue full, closing");
                self.wake_all();
                return Err(SendError::Full);
            }
            st.enqueue(frames);
            self.wake_writer_after(st);
        }
        Ok(())
    }

    /// Queues frames only if the transport is idle and ready to write them now (nothing
    /// queued before them); otherwise drops them. Used for volatile emits.
    pub fn send_volatile(&self, frames: &[Frame]) -> Result<(), SendError> {
        {
            let mut st = self.lock();
            if st.close.is_some() {
                return Err(SendError::Closed);
            }
            let ready = st.queued_frames == 0
                && !st.upgrading
                && (st.transport == TransportKind::WebSocket || st.poll_active);
            if !ready {
                return Err(SendError::Dropped);
            }
            st.enqueue(frames);
            self.wake_writer_after(st);
        }
        Ok(())
    }

    /// Closes the session after flushing what is queued. The handler's `on_close` runs once,
    /// with `reason`.
    pub fn close(&self, reason: CloseReason) {
        self.start_close(reason, CloseMode::Graceful);
    }

    pub(crate) fn start_close(&self, reason: CloseReason, mode: CloseMode) {
        let started = self.lock().start_close(reason, mode);
        if started {
            tracing::debug!(target: "engineio::socket", sid = %self.id, %reason, "closing");
            self.wake_all();
        }
    }

    /// Stops waiting for the client: a closing session owes it nothing more (its last polling
    /// payload, say), and one not closing yet is aborted. The driver then ends it.
    pub(crate) fn give_up(&self) {
        {
            let mut st = self.lock();
            if let Some(closing) = st.close.as_mut() {
                closing.delivered = true;
            } else {
                st.start_close(
                    CloseReason::ServerShuttingDown,
                    CloseMode::Abort(PollReply::Close),
                );
            }
        }
        self.wake_all();
    }

    /// Closes the session at once, dropping what is queued.
    pub(crate) fn abort(&self, reason: CloseReason) {
        self.start_close(reason, CloseMode::Abort(PollReply::Close));
    }

    /// Releases the lock after frames were queued, and wakes the writer to send them, unless
    /// the WebSocket driver is reading: it writes the queue before it yields, so a wake-up
    /// would only poll it once more for nothing.
    pub(crate) fn wake_writer_after(&self, st: MutexGuard<'_, State>) {
        let reading = st.driver_reading;
        drop(st);
        if !reading {
            self.writer.wake();
        }
    }

    pub(crate) fn wake_all(&self) {
        self.writer.wake();
        self.driver.wake();
    }

    /// A pong arrived (v4): the next ping is due one interval from now.
    pub(crate) fn on_pong(&self) {
        let mut st = self.lock();
        if st.heartbeat.awaiting_pong {
            st.heartbeat.awaiting_pong = false;
            st.heartbeat.deadline = Instant::now() + self.config.ping_interval;
        }
    }

    /// A ping arrived from a v3 client: answer it and push the timeout back.
    pub(crate) fn on_v3_ping(&self, data: &str) {
        let mut st = self.lock();
        if st.close.is_some() {
            return;
        }
        st.heartbeat.deadline =
            Instant::now() + self.config.ping_interval + self.config.ping_timeout;
        // Within the send queue's bounds, as every other frame: a client that pings without
        // ever fetching the pongs is cut off like any client that does not read.
        let pong = Frame::control(PacketType::Pong, data);
        if !st.fits(std::slice::from_ref(&pong), &self.config) {
            st.start_close(
                CloseReason::SendBufferFull,
                CloseMode::Abort(PollReply::Close),
            );
            drop(st);
            tracing::debug!(target: "engineio::socket", sid = %self.id, "send queue full (v3 pongs), closing");
            self.wake_all();
            return;
        }
        st.push_unbounded(pong);
        self.wake_writer_after(st);
    }
}
