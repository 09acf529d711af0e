//! The adapter: a namespace's room registry, and the place where a cluster plugs in.
//!
//! Every namespace has one adapter. The default, [`LocalAdapter`], keeps the rooms of this
//! process in memory. A cluster adapter (such as the Redis adapter of the
//! `tower-socketio-redis` crate) wraps a `LocalAdapter` for the local part, publishes the
//! operations of this server to the others, and applies theirs here through the
//! [`LocalNamespace`] it was created with. User code never names the adapter type: it hands
//! an [`AdapterFactory`] to [`SocketIoBuilder::adapter`](crate::SocketIoBuilder::adapter).
//!
//! # Writing an adapter
//!
//! - Local operations ([`Adapter::add_all`], [`Adapter::for_each`], ...) are synchronous and
//!   usually delegate to a [`LocalAdapter`] made with [`LocalAdapter::for_namespace`].
//! - With [`Adapter::is_cluster`] returning `true`, every operation of this server that is not
//!   [`local`](crate::BroadcastOperator::local) reaches the `*_remote` methods after it was
//!   applied to this server's sockets: publish it, and never apply it here a second time.
//! - Operations of other servers are applied with the methods of [`LocalNamespace`], which
//!   only ever act on this server's sockets.
//! - Everything that crosses between servers has a serde form in the shape Node's adapters
//!   use: [`BroadcastOptions`] (`{"rooms","except","flags"}`), [`PacketData`] (the packet's
//!   `data` array), [`RemoteSocketData`] (`{"id","handshake","rooms","data"}`).

use std::{fmt, future::Future, pin::Pin, sync::Arc, time::Duration};

use serde::{Deserialize, Serialize, de, ser::SerializeMap};
use smallvec::SmallVec;
use tower_socketio_engine::Sid;

use crate::args::Args;

mod data;
mod local;
mod namespace;

pub use data::{EncodedPacket, PacketData};
pub use local::LocalAdapter;
pub use namespace::{LocalAcks, LocalNamespace, ServerSideAck};

/// A boxed, `Send` future: what the asynchronous methods of [`Adapter`] return.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// A room name. Every socket is in the room named after its id.
pub type Room = Arc<str>;

/// Which sockets an operation targets, and how: the sockets in any of the rooms (every socket
/// of the namespace when there is none) minus those in any of the `except` rooms.
///
/// Serializes as Node's adapters send it between servers:
/// `{"rooms":["a"],"except":["b"],"flags":{"volatile":true}}`. Deserializing accepts numbers
/// as room names (JavaScript rooms may be numbers) and ignores unknown flags.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BroadcastOptions {
    rooms: SmallVec<[Room; 2]>,
    except: SmallVec<[Room; 2]>,
    flags: BroadcastFlags,
}

impl BroadcastOptions {
    /// Every socket of the namespace, no flag.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds rooms to target.
    #[must_use]
    pub fn with_rooms<R: Into<Room>>(mut self, rooms: impl IntoIterator<Item = R>) -> Self {
        self.rooms.extend(rooms.into_iter().map(Into::into));
        self
    }

    /// Adds rooms whose sockets are excluded.
    #[must_use]
    pub fn with_except<R: Into<Room>>(mut self, rooms: impl IntoIterator<Item = R>) -> Self {
        self.except.extend(rooms.into_iter().map(Into::into));
        self
    }

    /// Replaces the flags.
    #[must_use]
    pub fn with_flags(mut self, flags: BroadcastFlags) -> Self {
        self.flags = flags;
        self
    }

    /// The targeted rooms (every socket when empty).
    pub fn rooms(&self) -> &[Room] {
        &self.rooms
    }

    /// The excluded rooms.
    pub fn except(&self) -> &[Room] {
        &self.except
    }

    /// The flags.
    pub fn flags(&self) -> &BroadcastFlags {
        &self.flags
    }

    pub(crate) fn flags_mut(&mut self) -> &mut BroadcastFlags {
        &mut self.flags
    }

    pub(crate) fn push_room(&mut self, room: Room) {
        self.rooms.push(room);
    }

    pub(crate) fn push_except(&mut self, room: Room) {
        self.except.push(room);
    }

    /// Whether every socket of the namespace is targeted.
    pub(crate) fn targets_everyone(&self) -> bool {
        self.rooms.is_empty() && self.except.is_empty()
    }
}

/// Flags of a broadcast.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BroadcastFlags {
    /// Drop the packet for clients not ready to receive it.
    pub volatile: bool,
    /// The compress flag (see [`crate::Socket::compress`]).
    pub compress: Option<bool>,
    /// Only this node, even in a cluster. Never sent to other servers.
    pub local: bool,
    /// The acknowledgement timeout of a broadcast with acknowledgements.
    pub timeout: Option<Duration>,
}

impl Serialize for BroadcastFlags {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let len = usize::from(self.volatile)
            + usize::from(self.compress.is_some())
            + usize::from(self.timeout.is_some());
        let mut map = serializer.serialize_map(Some(len))?;
        if self.volatile {
            map.serialize_entry("volatile", &true)?;
        }
        if let Some(compress) = self.compress {
            map.serialize_entry("compress", &compress)?;
        }
        if let Some(timeout) = self.timeout {
            let ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
            map.serialize_entry("timeout", &ms)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for BroadcastFlags {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Wire {
            #[serde(default)]
            volatile: Option<serde::de::IgnoredAny>,
            #[serde(default)]
            compress: Option<bool>,
            #[serde(default)]
            timeout: Option<f64>,
        }
        let wire = Wire::deserialize(deserializer)?;
        Ok(BroadcastFlags {
            // Node tests the flag for truthiness; only ever `true` in practice.
            volatile: wire.volatile.is_some(),
            compress: wire.compress,
            local: false,
            timeout: wire
                .timeout
                .filter(|ms| ms.is_finite() && *ms >= 0.0)
                .map(|ms| Duration::from_millis(ms.min(u64::MAX as f64) as u64)),
        })
    }
}

impl Serialize for BroadcastOptions {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(3))?;
        map.serialize_entry("rooms", &*self.rooms)?;
        map.serialize_entry("except", &*self.except)?;
        map.serialize_entry("flags", &self.flags)?;
        map.end()
    }
}

/// A room name as another server sends it: a string, or a number (JavaScript allows both).
pub(crate) struct WireRoom(pub(crate) Room);

impl<'de> Deserialize<'de> for WireRoom {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = WireRoom;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a room name")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<WireRoom, E> {
                Ok(WireRoom(Room::from(v)))
            }
            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<WireRoom, E> {
                std::str::from_utf8(v)
                    .map(|s| WireRoom(Room::from(s)))
                    .map_err(|_| E::custom("a room name that is not UTF-8"))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<WireRoom, E> {
                Ok(WireRoom(Room::from(v.to_string())))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<WireRoom, E> {
                Ok(WireRoom(Room::from(v.to_string())))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<WireRoom, E> {
                Ok(WireRoom(Room::from(crate::args::js_number_string(v))))
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// Deserializes a list of room names (see [`WireRoom`]).
pub(crate) fn wire_rooms<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<Room>, D::Error> {
    let rooms = Option::<Vec<WireRoom>>::deserialize(deserializer)?;
    Ok(rooms.unwrap_or_default().into_iter().map(|r| r.0).collect())
}

impl<'de> Deserialize<'de> for BroadcastOptions {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Wire {
            #[serde(default, deserialize_with = "wire_rooms")]
            rooms: Vec<Room>,
            #[serde(default, deserialize_with = "wire_rooms")]
            except: Vec<Room>,
            #[serde(default)]
            flags: Option<BroadcastFlags>,
        }
        let wire = Wire::deserialize(deserializer)?;
        Ok(BroadcastOptions {
            rooms: wire.rooms.into(),
            except: wire.except.into(),
            flags: wire.flags.unwrap_or_default(),
        })
    }
}

/// A change in the room registry, for observers (admin tools, sharded cluster subscriptions).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AdapterEvent {
    /// A room got its first socket.
    CreateRoom(Room),
    /// A room lost its last socket.
    DeleteRoom(Room),
    /// A socket joined a room.
    JoinRoom(Room, Sid),
    /// A socket left a room.
    LeaveRoom(Room, Sid),
}

/// Enumerates every local socket of the namespace, calling its argument for each.
pub type AllSockets<'a> = &'a dyn Fn(&mut dyn FnMut(Sid));

/// An observer of [`AdapterEvent`]s.
pub type AdapterListener = Arc<dyn Fn(&AdapterEvent) + Send + Sync>;

/// What connection state recovery keeps of a disconnected socket.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SessionRecord {
    /// The socket id, given back on recovery.
    pub sid: Sid,
    /// The private session id the client presents to recover.
    pub pid: Sid,
    /// The rooms the socket was in (its own id room included).
    pub rooms: Vec<Room>,
    /// The socket's data.
    pub data: serde_json::Value,
}

impl SessionRecord {
    /// A session record.
    pub fn new(sid: Sid, pid: Sid, rooms: Vec<Room>, data: serde_json::Value) -> Self {
        SessionRecord {
            sid,
            pid,
            rooms,
            data,
        }
    }
}

/// A socket as a cluster reports it: an item of the answer to Node's `fetchSockets` request.
///
/// Serializes as Node sends it: `{"id","handshake","rooms","data"}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RemoteSocketData {
    /// The socket id.
    pub id: Sid,
    /// Its handshake.
    pub handshake: crate::Handshake,
    /// Its rooms.
    #[serde(deserialize_with = "wire_rooms")]
    pub rooms: Vec<Room>,
    /// Its data (`socket.data`).
    #[serde(default)]
    pub data: serde_json::Value,
}

impl RemoteSocketData {
    /// Data about a socket.
    pub fn new(
        id: Sid,
        handshake: crate::Handshake,
        rooms: Vec<Room>,
        data: serde_json::Value,
    ) -> Self {
        RemoteSocketData {
            id,
            handshake,
            rooms,
            data,
        }
    }
}

/// A recovered session: the record, and the packets the client missed (each already encoded,
/// with its offset), in order.
#[derive(Debug)]
#[non_exhaustive]
pub struct RestoredSession {
    /// The session.
    pub session: SessionRecord,
    /// The missed packets.
    pub missed: Vec<EncodedPacket>,
}

impl RestoredSession {
    /// A recovered session.
    pub fn new(session: SessionRecord, missed: Vec<EncodedPacket>) -> Self {
        RestoredSession { session, missed }
    }
}

/// The acknowledgements of the other servers' sockets to a broadcast (see
/// [`Adapter::broadcast_with_ack_remote`]).
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct RemoteAcks {
    /// One entry per acknowledgement, holding its first argument (what Node's adapters
    /// forward).
    pub responses: Vec<Args>,
    /// Acknowledgements the other servers said their sockets owe that did not arrive in time.
    pub missing: usize,
    /// Servers that did not say how many of their sockets the broadcast reached.
    pub servers_missing: usize,
}

impl RemoteAcks {
    /// The outcome of a broadcast with acknowledgements on the other servers.
    pub fn new(responses: Vec<Args>, missing: usize, servers_missing: usize) -> Self {
        RemoteAcks {
            responses,
            missing,
            servers_missing,
        }
    }
}

/// The room registry of one namespace, and its cluster operations.
///
/// Local operations are synchronous. Operations that may involve other nodes return futures;
/// [`LocalAdapter`] answers them at once.
pub trait Adapter: Send + Sync + 'static {
    /// Adds `sid` to every room of `rooms`.
    fn add_all(&self, sid: Sid, rooms: &[Room]);
    /// Removes `sid` from `room`.
    fn del(&self, sid: Sid, room: &str);
    /// Removes `sid` from every room.
    fn del_all(&self, sid: Sid);
    /// The rooms `sid` is in.
    fn socket_rooms(&self, sid: Sid) -> Vec<Room>;
    /// Every room of this node.
    fn rooms(&self) -> Vec<Room>;
    /// Calls `f` once for every local socket the options target, without allocating per call
    /// when a single room (or the whole namespace) is targeted.
    fn for_each(&self, opts: &BroadcastOptions, all: AllSockets<'_>, f: &mut dyn FnMut(Sid));
    /// Registers an observer of room changes.
    fn on_event(&self, listener: AdapterListener);
    /// The number of nodes sharing this namespace (1 without a cluster).
    fn server_count(&self) -> BoxFuture<usize> {
        Box::pin(async { 1 })
    }

    /// Whether other servers share this namespace. Operations are also sent to them through
    /// the `*_remote` methods below, which are only called when this is `true` (and the
    /// operation is not `local`), after the operation was applied to this server's sockets.
    fn is_cluster(&self) -> bool {
        false
    }

    /// A broadcast for the other servers' sockets.
    fn broadcast_remote(&self, data: &PacketData, opts: &BroadcastOptions) {
        let _ = (data, opts);
    }

    /// A broadcast with acknowledgements for the other servers' sockets: resolves with their
    /// answers once every server said how many sockets it reached and all of those answered,
    /// or once `timeout` passed.
    fn broadcast_with_ack_remote(
        &self,
        data: &PacketData,
        opts: &BroadcastOptions,
        timeout: Duration,
    ) -> BoxFuture<RemoteAcks> {
        let _ = (data, opts, timeout);
        Box::pin(async { RemoteAcks::default() })
    }

    /// The other servers' sockets targeted by `opts`.
    fn fetch_sockets_remote(&self, opts: &BroadcastOptions) -> BoxFuture<Vec<RemoteSocketData>> {
        let _ = opts;
        Box::pin(async { Vec::new() })
    }

    /// The rooms of the other servers.
    fn all_rooms_remote(&self) -> BoxFuture<Vec<Room>> {
        Box::pin(async { Vec::new() })
    }

    /// Makes the other servers' targeted sockets join `rooms`.
    fn add_sockets_remote(&self, opts: &BroadcastOptions, rooms: &[Room]) {
        let _ = (opts, rooms);
    }

    /// Makes the other servers' targeted sockets leave `rooms`.
    fn del_sockets_remote(&self, opts: &BroadcastOptions, rooms: &[Room]) {
        let _ = (opts, rooms);
    }

    /// Disconnects the other servers' targeted sockets.
    fn disconnect_sockets_remote(&self, opts: &BroadcastOptions, close: bool) {
        let _ = (opts, close);
    }

    /// Sends an event to the other nodes of the cluster (Node's `serverSideEmit`). Without a
    /// cluster there is nobody to send to.
    fn server_side_emit(&self, data: &PacketData) {
        let _ = data;
    }

    /// Sends an event to the other nodes and gathers their acknowledgements (each holding the
    /// first argument of one server's answer), within the adapter's request timeout. Without
    /// a cluster there are none: resolves at once, empty (Node's in-memory adapter never
    /// settles).
    fn server_side_emit_with_ack(&self, data: &PacketData) -> BoxFuture<Vec<Args>> {
        let _ = data;
        Box::pin(async { Vec::new() })
    }

    /// Connection state recovery: whether offsets come from the cluster (a Redis Streams
    /// entry id, known once the packet is published). Then every emit that recovery keeps (a
    /// broadcast or an emit to one socket, not volatile, not `local`) goes to
    /// [`broadcast_recoverable`](Self::broadcast_recoverable) instead of being delivered
    /// here first, and the adapter delivers it to this server's sockets itself with
    /// [`LocalNamespace::broadcast_with_offset`], once it has the offset.
    fn assigns_offsets(&self) -> bool {
        false
    }

    /// A recoverable emit, when [`assigns_offsets`](Self::assigns_offsets): publish it, then
    /// deliver it locally with its offset (in the order of the calls). Only called when
    /// `assigns_offsets` is `true`.
    fn broadcast_recoverable(&self, data: &PacketData, opts: &BroadcastOptions) {
        let _ = (data, opts);
    }

    /// Connection state recovery: the offset for the next stored packet, or `None` when
    /// this adapter does not store packets.
    fn next_offset(&self) -> Option<String> {
        None
    }

    /// Connection state recovery: stores a packet sent with `opts` under `offset`.
    fn store_packet(&self, offset: &str, opts: &BroadcastOptions, packet: &EncodedPacket) {
        let _ = (offset, opts, packet);
    }

    /// Connection state recovery: keeps a disconnected socket's session.
    fn persist_session(&self, session: SessionRecord) {
        let _ = session;
    }

    /// Connection state recovery: the session `pid` with the packets sent after `offset`, if
    /// the session is known and not expired and the offset is still in the log.
    fn restore_session(&self, pid: &str, offset: &str) -> BoxFuture<Option<RestoredSession>> {
        let _ = (pid, offset);
        Box::pin(async { None })
    }

    /// The namespace is gone (an empty dynamic child removed, or the server closed): release
    /// what the adapter holds for it (subscriptions, tasks). Called once.
    fn close(&self) {}
}

/// Makes the adapter of each namespace: what
/// [`SocketIoBuilder::adapter`](crate::SocketIoBuilder::adapter) takes.
///
/// Closures `Fn(LocalNamespace) -> Arc<dyn Adapter>` are factories.
///
/// ```
/// use std::sync::Arc;
/// use tower_socketio::{SocketIo, adapter::{Adapter, LocalAdapter, LocalNamespace}};
///
/// let io = SocketIo::builder()
///     .adapter(|ns: LocalNamespace| Arc::new(LocalAdapter::for_namespace(&ns)) as Arc<dyn Adapter>)
///     .build();
/// # drop(io);
/// ```
pub trait AdapterFactory: Send + Sync + 'static {
    /// The adapter of the namespace `ns` (called once per namespace, while the namespace is
    /// being created: `ns` is usable only once this returned).
    fn create_adapter(&self, ns: LocalNamespace) -> Arc<dyn Adapter>;
}

impl<F> AdapterFactory for F
where
    F: Fn(LocalNamespace) -> Arc<dyn Adapter> + Send + Sync + 'static,
{
    fn create_adapter(&self, ns: LocalNamespace) -> Arc<dyn Adapter> {
        self(ns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_in_node_shape() {
        let flags = BroadcastFlags {
            volatile: true,
            timeout: Some(Duration::from_millis(1500)),
            local: true,
            ..BroadcastFlags::default()
        };
        let opts = BroadcastOptions::new()
            .with_rooms(["a"])
            .with_except(["b", "c"])
            .with_flags(flags);
        let json = serde_json::to_string(&opts).unwrap_or_default();
        assert_eq!(
            json,
            r#"{"rooms":["a"],"except":["b","c"],"flags":{"volatile":true,"timeout":1500}}"#
        );
        let back: BroadcastOptions = serde_json::from_str(&json).unwrap_or_default();
        assert_eq!(back.rooms(), opts.rooms());
        assert_eq!(back.except(), opts.except());
        assert!(back.flags().volatile && !back.flags().local);
        assert_eq!(back.flags().timeout, Some(Duration::from_millis(1500)));

        let node: BroadcastOptions =
            serde_json::from_str(r#"{"rooms":[42,"x"],"flags":{"compress":false,"binary":true}}"#)
                .unwrap_or_default();
        assert_eq!(node.rooms(), [Room::from("42"), Room::from("x")]);
        assert!(node.except().is_empty());
        assert_eq!(node.flags().compress, Some(false));
    }
}
