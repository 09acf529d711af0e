//! The local side of a namespace, as its adapter sees it: where operations received from other
//! servers are applied.

use std::{
    fmt,
    sync::{Arc, Mutex, PoisonError, Weak},
    time::Duration,
};

use tower_socketio_engine::Sid;

use super::{BroadcastOptions, EncodedPacket, PacketData, RemoteSocketData, Room};
use crate::{
    args::Args, config::RecoveryConfig, ns::NsInner, operators::AckCollector,
    operators::BroadcastOperator,
};

/// A namespace of this server, as its adapter sees it: what [`AdapterFactory`] gets.
///
/// Its methods apply operations received from other servers to this server's sockets only;
/// they never reach the adapter's `*_remote` methods again. Once the namespace is gone
/// (an empty dynamic child removed), they do nothing.
///
/// [`AdapterFactory`]: super::AdapterFactory
#[derive(Clone)]
pub struct LocalNamespace {
    name: Arc<str>,
    ns: Weak<NsInner>,
    recovery: Option<RecoveryConfig>,
}

impl fmt::Debug for LocalNamespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalNamespace")
            .field("name", &self.name)
            .field("alive", &(self.ns.strong_count() > 0))
            .finish()
    }
}

impl LocalNamespace {
    pub(crate) fn new(name: &str, ns: Weak<NsInner>, recovery: Option<RecoveryConfig>) -> Self {
        LocalNamespace {
            name: Arc::from(name),
            ns,
            recovery,
        }
    }

    /// The namespace name (`/`, `/admin`...).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The server's connection state recovery settings, if it is on.
    pub fn recovery(&self) -> Option<&RecoveryConfig> {
        self.recovery.as_ref()
    }

    fn operator(&self, opts: &BroadcastOptions) -> Option<BroadcastOperator> {
        let ns = self.ns.upgrade()?;
        let mut opts = opts.clone();
        opts.flags_mut().local = true;
        Some(BroadcastOperator::with_options(ns, opts))
    }

    /// Emits the event `data` (its name, then its arguments) to the targeted sockets of this
    /// server. With connection state recovery on, the packet gets an offset and is kept, as
    /// for an emit of this server.
    pub fn broadcast(&self, data: PacketData, opts: &BroadcastOptions) {
        let Some(op) = self.operator(opts) else {
            return;
        };
        let Some((event, args)) = data.into_event() else {
            tracing::debug!(target: "socketio::adapter", ns = %self.name, "remote broadcast without an event name ignored");
            return;
        };
        if let Err(e) = op.emit_unchecked(&event, &args) {
            tracing::debug!(target: "socketio::adapter", ns = %self.name, %event, "remote broadcast not sent: {e}");
        }
    }

    /// Emits the event `data` to the targeted sockets of this server with `offset` appended
    /// (connection state recovery, for an adapter whose offsets come from the cluster: see
    /// [`Adapter::assigns_offsets`](super::Adapter::assigns_offsets)). Nothing is stored
    /// here.
    pub fn broadcast_with_offset(&self, data: PacketData, opts: &BroadcastOptions, offset: &str) {
        let Some(op) = self.operator(opts) else {
            return;
        };
        let Some((event, args)) = data.into_event() else {
            return;
        };
        if let Err(e) = op.emit_with_offset(&event, &args, offset) {
            tracing::debug!(target: "socketio::adapter", ns = %self.name, %event, "broadcast not sent: {e}");
        }
    }

    /// The event `data` encoded for this namespace's clients with `offset` appended: a packet
    /// a recovered session missed (see [`RestoredSession`](super::RestoredSession)).
    pub fn encode_event(&self, data: PacketData, offset: &str) -> Option<EncodedPacket> {
        let ns = self.ns.upgrade()?;
        let (event, args) = data.into_event()?;
        let frames = crate::packet::event(
            ns.shared().config.parser,
            ns.name(),
            &event,
            &args,
            None,
            Some(offset),
        )
        .ok()?;
        Some(EncodedPacket::new(frames))
    }

    /// Emits the event `data` with an acknowledgement request to the targeted sockets of this
    /// server: [`LocalAcks::count`] tells how many it reached, [`LocalAcks::next`] yields
    /// their answers until all came or `timeout` passed.
    pub fn broadcast_with_ack(
        &self,
        data: PacketData,
        opts: &BroadcastOptions,
        timeout: Duration,
    ) -> LocalAcks {
        let collector = self.operator(opts).and_then(|op| {
            let (event, args) = data.into_event()?;
            op.start_ack_broadcast(&event, &args)
                .map_err(|e| {
                    tracing::debug!(target: "socketio::adapter", ns = %self.name, %event, "remote broadcast not sent: {e}");
                })
                .ok()
        });
        LocalAcks {
            collector,
            deadline: tokio::time::Instant::now() + timeout,
        }
    }

    /// The targeted sockets of this server, as another server's `fetchSockets` wants them.
    pub fn fetch_sockets(&self, opts: &BroadcastOptions) -> Vec<RemoteSocketData> {
        let Some(op) = self.operator(opts) else {
            return Vec::new();
        };
        op.local_targets()
            .into_iter()
            .map(|s| RemoteSocketData::new(s.id(), s.handshake().clone(), s.rooms(), s.data()))
            .collect()
    }

    /// Makes the targeted sockets of this server join `rooms`.
    pub fn add_sockets(&self, opts: &BroadcastOptions, rooms: &[Room]) {
        if let Some(op) = self.operator(opts) {
            op.sockets_join(rooms);
        }
    }

    /// Makes the targeted sockets of this server leave `rooms`.
    pub fn del_sockets(&self, opts: &BroadcastOptions, rooms: &[Room]) {
        if let Some(op) = self.operator(opts) {
            op.sockets_leave(rooms);
        }
    }

    /// Disconnects the targeted sockets of this server (with `close`, their connections).
    pub fn disconnect_sockets(&self, opts: &BroadcastOptions, close: bool) {
        if let Some(op) = self.operator(opts) {
            op.disconnect_sockets(close);
        }
    }

    /// The socket of this server with id `sid`: whether it is here.
    pub fn has_socket(&self, sid: Sid) -> bool {
        self.ns.upgrade().is_some_and(|ns| ns.has_socket(sid))
    }

    /// Hands the event `data` (its name, then its arguments) from another server to the
    /// namespace's server-side listeners ([`Namespace::on_server_side`]). With `ack`, the
    /// first listener that answers answers the sender.
    ///
    /// [`Namespace::on_server_side`]: crate::Namespace::on_server_side
    pub fn server_side_emit(&self, data: PacketData, ack: Option<ServerSideAck>) {
        let Some(ns) = self.ns.upgrade() else {
            return;
        };
        let Some((event, args)) = data.into_event() else {
            tracing::debug!(target: "socketio::adapter", ns = %self.name, "server-side event without a name ignored");
            return;
        };
        ns.on_server_side_event(event, args, ack);
    }
}

/// The answers of this server's sockets to a broadcast with acknowledgements started by
/// [`LocalNamespace::broadcast_with_ack`].
pub struct LocalAcks {
    collector: Option<AckCollector>,
    deadline: tokio::time::Instant,
}

impl fmt::Debug for LocalAcks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalAcks")
            .field("count", &self.count())
            .finish_non_exhaustive()
    }
}

impl LocalAcks {
    /// How many sockets the packet reached: how many answers to expect.
    pub fn count(&self) -> usize {
        self.collector.as_ref().map_or(0, AckCollector::sent)
    }

    /// The next answer (the arguments of one socket's acknowledgement), or `None` once every
    /// socket answered or the timeout passed.
    pub async fn next(&mut self) -> Option<(Sid, Args)> {
        self.collector.as_mut()?.next(self.deadline).await
    }
}

/// Answers a server-side event of another server (see [`LocalNamespace::server_side_emit`]):
/// the adapter makes one with what to do with the answer. Only the first answer counts; the
/// clones share it.
#[derive(Clone)]
pub struct ServerSideAck(Arc<Mutex<Option<Answer>>>);

/// What to do with the answer to a server-side event.
type Answer = Box<dyn FnOnce(PacketData) + Send>;

impl fmt::Debug for ServerSideAck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerSideAck").finish_non_exhaustive()
    }
}

impl ServerSideAck {
    /// An acknowledgement that calls `answer` with the answer (one value) the first time.
    pub fn new(answer: impl FnOnce(PacketData) + Send + 'static) -> Self {
        ServerSideAck(Arc::new(Mutex::new(Some(Box::new(answer)))))
    }

    /// Answers, the first time only. Returns whether this was the first answer.
    pub fn send(&self, data: PacketData) -> bool {
        let answer = self.0.lock().unwrap_or_else(PoisonError::into_inner).take();
        match answer {
            Some(answer) => {
                answer(data.first());
                true
            }
            None => false,
        }
    }
}
