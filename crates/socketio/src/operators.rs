//! Broadcasting: choose sockets by room, then emit to them, or act on them.

use std::{collections::HashSet, fmt, sync::Arc, time::Duration};

use serde::Serialize;
use tokio::sync::mpsc;
use tower_socketio_engine::Sid;

use crate::{
    adapter::{BroadcastOptions, PacketData, RemoteAcks, Room},
    args::Args,
    error::EmitError,
    ns::NsInner,
    packet,
    socket::{Handshake, Socket, check_event},
};

/// Room names accepted by [`BroadcastOperator::to`], [`Socket::join`] and friends: a `&str`,
/// a `String`, a [`Sid`], or a list (array, `Vec`, slice) of them.
pub trait IntoRooms {
    /// Appends the rooms to `out`.
    fn into_rooms(self, out: &mut Vec<Room>);
}

impl IntoRooms for &str {
    fn into_rooms(self, out: &mut Vec<Room>) {
        out.push(Room::from(self));
    }
}

impl IntoRooms for String {
    fn into_rooms(self, out: &mut Vec<Room>) {
        out.push(Room::from(self));
    }
}

impl IntoRooms for &String {
    fn into_rooms(self, out: &mut Vec<Room>) {
        out.push(Room::from(self.as_str()));
    }
}

impl IntoRooms for Room {
    fn into_rooms(self, out: &mut Vec<Room>) {
        out.push(self);
    }
}

impl IntoRooms for Sid {
    fn into_rooms(self, out: &mut Vec<Room>) {
        out.push(Room::from(self.as_str()));
    }
}

impl<T: IntoRooms> IntoRooms for Vec<T> {
    fn into_rooms(self, out: &mut Vec<Room>) {
        for r in self {
            r.into_rooms(out);
        }
    }
}

impl<T: IntoRooms, const N: usize> IntoRooms for [T; N] {
    fn into_rooms(self, out: &mut Vec<Room>) {
        for r in self {
            r.into_rooms(out);
        }
    }
}

impl<T: IntoRooms + Clone> IntoRooms for &[T] {
    fn into_rooms(self, out: &mut Vec<Room>) {
        for r in self {
            r.clone().into_rooms(out);
        }
    }
}

pub(crate) fn rooms_of(rooms: impl IntoRooms) -> Vec<Room> {
    let mut out = Vec::new();
    rooms.into_rooms(&mut out);
    out
}

/// Targets a set of sockets of one namespace: the sockets in any of the [`to`](Self::to)
/// rooms (every socket when none is given) minus those in any [`except`](Self::except) room.
///
/// Built by [`crate::SocketIo::to`], [`crate::Namespace::to`], [`Socket::to`],
/// [`Socket::broadcast`]... Chaining returns a new operator, as in Node.
///
/// ```
/// # use tower_socketio::{Socket, SocketIo};
/// # fn f(io: SocketIo, socket: Socket) {
/// io.to("room1").to("room2").except("room3").emit("news", "hello").ok();
/// socket.broadcast().emit("joined", &socket.id().to_string()).ok(); // all but the sender
/// socket.to("game").volatile().emit("tick", &42).ok();              // the room, minus the sender
/// # }
/// ```
#[derive(Clone)]
pub struct BroadcastOperator {
    ns: Arc<NsInner>,
    opts: BroadcastOptions,
}

impl fmt::Debug for BroadcastOperator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BroadcastOperator")
            .field("ns", &self.ns.name())
            .field("opts", &self.opts)
            .finish()
    }
}

/// The acknowledgements of a broadcast with [`BroadcastOperator::emit_with_ack`].
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct BroadcastAcks {
    /// The answers of this server's sockets received before the timeout, with the socket
    /// that sent each.
    pub responses: Vec<(Sid, Args)>,
    /// This server's sockets that did not answer in time.
    pub missing: Vec<Sid>,
    /// With a cluster adapter, the answers of the other servers' sockets, each holding the
    /// first argument of one acknowledgement (what Node's adapters forward).
    pub remote: Vec<Args>,
    /// With a cluster adapter, the answers the other servers' sockets owe that did not
    /// arrive in time.
    pub remote_missing: usize,
    /// With a cluster adapter, the servers that did not say how many sockets they reached
    /// (a server that went away).
    pub servers_missing: usize,
}

impl BroadcastAcks {
    /// Whether every targeted socket, on every server, answered.
    pub fn is_complete(&self) -> bool {
        self.missing.is_empty() && self.remote_missing == 0 && self.servers_missing == 0
    }
}

/// The answers to one broadcast with acknowledgements from this server's sockets. Dropping
/// it (a timeout, or an `emit_with_ack` future dropped early) forgets the acknowledgement
/// ids the sockets still hold.
pub(crate) struct AckCollector {
    id: u64,
    rx: mpsc::UnboundedReceiver<(Sid, Args)>,
    pending: HashSet<Sid>,
    targets: Vec<Socket>,
    sent: usize,
}

impl AckCollector {
    /// How many sockets the packet reached.
    pub(crate) fn sent(&self) -> usize {
        self.sent
    }

    /// The next answer before `deadline`, or `None` once all came or the time is up.
    pub(crate) async fn next(&mut self, deadline: tokio::time::Instant) -> Option<(Sid, Args)> {
        while !self.pending.is_empty() {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some((sid, args))) => {
                    if self.pending.remove(&sid) {
                        return Some((sid, args));
                    }
                }
                Ok(None) | Err(_) => return None,
            }
        }
        None
    }

    /// The sockets that have not answered.
    fn missing(&self) -> Vec<Sid> {
        self.pending.iter().copied().collect()
    }
}

impl Drop for AckCollector {
    fn drop(&mut self) {
        for socket in &self.targets {
            if self.pending.contains(&socket.id()) {
                socket.forget_ack(self.id);
            }
        }
    }
}

/// A socket found by [`BroadcastOperator::fetch_sockets`], on this server or, with a cluster
/// adapter, on another: its id, handshake, rooms and data (as they were when fetched), and the
/// operations that work wherever the socket lives.
#[derive(Debug, Clone)]
pub struct RemoteSocket {
    id: Sid,
    handshake: Handshake,
    rooms: Vec<Room>,
    data: serde_json::Value,
    place: Place,
}

#[derive(Debug, Clone)]
enum Place {
    Local(Socket),
    /// On another server: reached through the namespace's adapter, by the socket's own room.
    Remote(Arc<NsInner>),
}

impl RemoteSocket {
    fn local(socket: Socket) -> Self {
        RemoteSocket {
            id: socket.id(),
            handshake: socket.handshake().clone(),
            rooms: socket.rooms(),
            data: socket.data(),
            place: Place::Local(socket),
        }
    }

    /// The socket id.
    pub fn id(&self) -> Sid {
        self.id
    }

    /// The handshake details.
    pub fn handshake(&self) -> &Handshake {
        &self.handshake
    }

    /// The rooms the socket was in when fetched.
    pub fn rooms(&self) -> &[Room] {
        &self.rooms
    }

    /// The socket's data when fetched (see [`Socket::data`]).
    pub fn data(&self) -> &serde_json::Value {
        &self.data
    }

    fn remote_op(ns: &Arc<NsInner>, id: Sid) -> BroadcastOperator {
        BroadcastOperator::new(ns.clone()).to(id)
    }

    /// Emits to the socket.
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, data: &T) -> Result<(), EmitError> {
        match &self.place {
            Place::Local(s) => s.emit(event, data),
            Place::Remote(ns) => Self::remote_op(ns, self.id).emit(event, data),
        }
    }

    /// Makes the socket join rooms.
    pub fn join(&self, rooms: impl IntoRooms) {
        match &self.place {
            Place::Local(s) => s.join(rooms),
            Place::Remote(ns) => Self::remote_op(ns, self.id).sockets_join(rooms),
        }
    }

    /// Makes the socket leave a room.
    pub fn leave(&self, room: &str) {
        match &self.place {
            Place::Local(s) => s.leave(room),
            Place::Remote(ns) => Self::remote_op(ns, self.id).sockets_leave(room),
        }
    }

    /// Disconnects the socket (see [`Socket::disconnect`]).
    pub fn disconnect(&self, close: bool) {
        match &self.place {
            Place::Local(s) => s.disconnect(close),
            Place::Remote(ns) => Self::remote_op(ns, self.id).disconnect_sockets(close),
        }
    }

    /// The socket, when it lives in this process.
    pub fn as_local(&self) -> Option<&Socket> {
        match &self.place {
            Place::Local(s) => Some(s),
            Place::Remote(_) => None,
        }
    }
}

impl BroadcastOperator {
    pub(crate) fn new(ns: Arc<NsInner>) -> Self {
        BroadcastOperator {
            ns,
            opts: BroadcastOptions::default(),
        }
    }

    pub(crate) fn with_options(ns: Arc<NsInner>, opts: BroadcastOptions) -> Self {
        BroadcastOperator { ns, opts }
    }

    /// Every socket but `sid` (what a socket's operators start from).
    pub(crate) fn except_socket(ns: Arc<NsInner>, sid: Sid) -> Self {
        let mut op = BroadcastOperator::new(ns);
        op.opts.push_except(Room::from(sid.as_str()));
        op
    }

    /// Adds rooms to target (a union). Node's `to` and `in`.
    #[must_use]
    pub fn to(mut self, rooms: impl IntoRooms) -> Self {
        for room in rooms_of(rooms) {
            self.opts.push_room(room);
        }
        self
    }

    /// Same as [`to`](Self::to) (Node's `in`).
    #[must_use]
    pub fn within(self, rooms: impl IntoRooms) -> Self {
        self.to(rooms)
    }

    /// Excludes the sockets of these rooms.
    #[must_use]
    pub fn except(mut self, rooms: impl IntoRooms) -> Self {
        for room in rooms_of(rooms) {
            self.opts.push_except(room);
        }
        self
    }

    /// Only this node's sockets, even in a cluster.
    #[must_use]
    pub fn local(mut self) -> Self {
        self.opts.flags_mut().local = true;
        self
    }

    /// Drops the packet for clients not ready to receive it.
    #[must_use]
    pub fn volatile(mut self) -> Self {
        self.opts.flags_mut().volatile = true;
        self
    }

    /// Sets the compress flag.
    #[must_use]
    pub fn compress(mut self, compress: bool) -> Self {
        self.opts.flags_mut().compress = Some(compress);
        self
    }

    /// Sets the timeout of [`emit_with_ack`](Self::emit_with_ack).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.opts.flags_mut().timeout = Some(timeout);
        self
    }

    /// Whether the operation also goes to other servers.
    fn remote(&self) -> bool {
        !self.opts.flags().local && self.ns.adapter().is_cluster()
    }

    /// The targeted local sockets.
    pub(crate) fn local_targets(&self) -> Vec<Socket> {
        let mut out = Vec::new();
        self.ns
            .for_each_target(&self.opts, &mut |s| out.push(s.clone()));
        out
    }

    /// Emits `event` to every targeted socket. The packet is encoded once and its bytes are
    /// shared by all recipients.
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, data: &T) -> Result<(), EmitError> {
        check_event(event)?;
        self.emit_unchecked(event, data)
    }

    /// [`emit`](Self::emit) without the reserved-name check (for events of other servers).
    pub(crate) fn emit_unchecked<T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
    ) -> Result<(), EmitError> {
        if self.ns.emit_through_adapter(event, data, &self.opts)? {
            return Ok(());
        }
        let frames = self.ns.encode_event(event, data, &self.opts)?;
        self.deliver(event, &frames);
        if self.remote() {
            let data = PacketData::event(event, data)?;
            self.ns.adapter().broadcast_remote(&data, &self.opts);
        }
        Ok(())
    }

    /// Emits `event` to the targeted local sockets with `offset` appended (an offset the
    /// cluster assigned): see `LocalNamespace::broadcast_with_offset`.
    pub(crate) fn emit_with_offset<T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
        offset: &str,
    ) -> Result<(), EmitError> {
        let frames = packet::event(
            self.ns.shared().config.parser,
            self.ns.name(),
            event,
            data,
            None,
            Some(offset),
        )?;
        self.deliver(event, &frames);
        Ok(())
    }

    /// Queues `frames` on every targeted local socket.
    fn deliver(&self, event: &str, frames: &crate::packet::Frames) {
        let volatile = self.opts.flags().volatile;
        let mut observed = Vec::new();
        self.ns.for_each_target(&self.opts, &mut |socket| {
            if socket.send_frames(frames, volatile).is_ok() && socket.has_outgoing_listeners() {
                observed.push(socket.clone());
            }
        });
        for socket in observed {
            socket.notify_outgoing(event);
        }
    }

    /// Sends `event` with an acknowledgement request to the targeted local sockets.
    pub(crate) fn start_ack_broadcast<T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
    ) -> Result<AckCollector, EmitError> {
        let id = self.ns.next_ack_id();
        let frames = packet::event(
            self.ns.shared().config.parser,
            self.ns.name(),
            event,
            data,
            Some(id),
            None,
        )?;
        let (tx, rx) = mpsc::unbounded_channel();
        let mut collector = AckCollector {
            id,
            rx,
            pending: HashSet::new(),
            targets: self.local_targets(),
            sent: 0,
        };
        for socket in &collector.targets {
            socket.expect_broadcast_ack(id, tx.clone());
            if socket
                .send_frames(&frames, self.opts.flags().volatile)
                .is_ok()
            {
                collector.pending.insert(socket.id());
            } else {
                socket.forget_ack(id);
            }
        }
        collector.sent = collector.pending.len();
        Ok(collector)
    }

    /// Emits `event` with an acknowledgement request to every targeted socket and gathers
    /// the answers until all arrived or the timeout (the operator's, or the configured
    /// `ack_timeout`) ran out. Dropping the future before forgets the pending
    /// acknowledgements.
    pub async fn emit_with_ack<T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
    ) -> Result<BroadcastAcks, EmitError> {
        check_event(event)?;
        let timeout = self
            .opts
            .flags()
            .timeout
            .unwrap_or(self.ns.shared().config.ack_timeout);
        let mut opts = self.opts.clone();
        opts.flags_mut().timeout = Some(timeout);
        let mut collector = self.start_ack_broadcast(event, data)?;
        // The other servers' sockets answer through the adapter, under the same timeout.
        let remote = if self.remote() {
            let data = PacketData::event(event, data)?;
            Some(
                self.ns
                    .adapter()
                    .broadcast_with_ack_remote(&data, &opts, timeout),
            )
        } else {
            None
        };
        let deadline = tokio::time::Instant::now() + timeout;
        let local = async {
            let mut responses = Vec::new();
            while let Some(answer) = collector.next(deadline).await {
                responses.push(answer);
            }
            (responses, collector.missing())
        };
        let ((responses, missing), remote) = match remote {
            Some(remote) => futures_util::future::join(local, remote).await,
            None => (local.await, RemoteAcks::default()),
        };
        Ok(BroadcastAcks {
            responses,
            missing,
            remote: remote.responses,
            remote_missing: remote.missing,
            servers_missing: remote.servers_missing,
        })
    }

    /// The targeted sockets (on every server, with a cluster adapter).
    pub async fn fetch_sockets(&self) -> Vec<RemoteSocket> {
        let mut sockets: Vec<RemoteSocket> = self
            .local_targets()
            .into_iter()
            .map(RemoteSocket::local)
            .collect();
        if self.remote() {
            let remote = self.ns.adapter().fetch_sockets_remote(&self.opts).await;
            sockets.extend(remote.into_iter().map(|r| RemoteSocket {
                id: r.id,
                handshake: r.handshake,
                rooms: r.rooms,
                data: r.data,
                place: Place::Remote(self.ns.clone()),
            }));
        }
        sockets
    }

    /// Makes the targeted sockets join `rooms`.
    pub fn sockets_join(&self, rooms: impl IntoRooms) {
        let rooms = rooms_of(rooms);
        for socket in self.local_targets() {
            socket.join(rooms.clone());
        }
        if self.remote() {
            self.ns.adapter().add_sockets_remote(&self.opts, &rooms);
        }
    }

    /// Makes the targeted sockets leave `rooms`.
    pub fn sockets_leave(&self, rooms: impl IntoRooms) {
        let rooms = rooms_of(rooms);
        for socket in self.local_targets() {
            for room in &rooms {
                socket.leave(room);
            }
        }
        if self.remote() {
            self.ns.adapter().del_sockets_remote(&self.opts, &rooms);
        }
    }

    /// Disconnects the targeted sockets (with `close`, their whole connections).
    pub fn disconnect_sockets(&self, close: bool) {
        for socket in self.local_targets() {
            socket.disconnect(close);
        }
        if self.remote() {
            self.ns
                .adapter()
                .disconnect_sockets_remote(&self.opts, close);
        }
    }

    /// The number of targeted sockets on this node.
    pub fn count(&self) -> usize {
        let mut n = 0;
        self.ns.for_each_target(&self.opts, &mut |_| n += 1);
        n
    }
}
