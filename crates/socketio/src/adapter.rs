//! The adapter: a namespace's room registry, and the place where a cluster plugs in.
//!
//! Every namespace has one adapter. The default, [`LocalAdapter`], keeps the rooms of this
//! process in memory. A cluster adapter (Redis, in a later release) wraps a `LocalAdapter` for
//! the local part and publishes the same operations to the other nodes; user code never names
//! the adapter type.

use std::{
    collections::{HashMap, HashSet, VecDeque},
    fmt,
    sync::{Arc, Mutex, PoisonError, RwLock},
    time::Duration,
};

use tokio::time::Instant;

use smallvec::SmallVec;
use tower_socketio_engine::Sid;

use crate::{handler::BoxFuture, packet::Frames};

/// A room name. Every socket is in the room named after its id.
pub type Room = Arc<str>;

/// Which sockets an operation targets, and how.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct BroadcastOptions {
    /// Sockets in any of these rooms; every socket of the namespace when empty.
    pub rooms: SmallVec<[Room; 2]>,
    /// Minus the sockets in any of these rooms.
    pub except: SmallVec<[Room; 2]>,
    /// Flags.
    pub flags: BroadcastFlags,
}

/// Flags of a broadcast.
#[derive(Debug, Clone, Copy, Default)]
#[non_exhaustive]
pub struct BroadcastFlags {
    /// Drop the packet for clients not ready to receive it.
    pub volatile: bool,
    /// The compress flag (see [`crate::Socket::compress`]).
    pub compress: Option<bool>,
    /// Only this node, even in a cluster.
    pub local: bool,
    /// The acknowledgement timeout of a broadcast with acknowledgements.
    pub timeout: Option<Duration>,
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

/// A socket on another server, as a cluster adapter reports it (an item of Node's
/// `fetchSockets` response).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RemoteSocketData {
    /// The socket id.
    pub id: Sid,
    /// Its handshake.
    pub handshake: crate::Handshake,
    /// Its rooms.
    pub rooms: Vec<Room>,
    /// Its data.
    pub data: serde_json::Value,
}

impl RemoteSocketData {
    /// Data about a socket of another server.
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
    pub missed: Vec<Frames>,
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
    /// operation is not `local`).
    fn is_cluster(&self) -> bool {
        false
    }

    /// A broadcast for the other servers' sockets. `data` is the event name followed by its
    /// arguments (binary values as `bin`).
    fn broadcast_remote(&self, data: Vec<rmpv::Value>, opts: &BroadcastOptions) {
        let _ = (data, opts);
    }

    /// A broadcast with acknowledgements for the other servers' sockets: resolves with their
    /// answers (each the list of arguments of one socket's acknowledgement) once all came or
    /// `timeout` passed.
    fn broadcast_with_ack_remote(
        &self,
        data: Vec<rmpv::Value>,
        opts: &BroadcastOptions,
        timeout: Duration,
    ) -> BoxFuture<Vec<rmpv::Value>> {
        let _ = (data, opts, timeout);
        Box::pin(async { Vec::new() })
    }

    /// The other servers' sockets targeted by `opts`.
    fn fetch_sockets_remote(&self, opts: &BroadcastOptions) -> BoxFuture<Vec<RemoteSocketData>> {
        let _ = opts;
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

    /// Sends an event to the other nodes of the cluster (Node's `serverSideEmit`). `data` is
    /// the event name followed by its arguments. Without a cluster there is nobody to send
    /// to.
    fn server_side_emit(&self, data: Vec<rmpv::Value>) {
        let _ = data;
    }

    /// Sends an event to the other nodes and gathers their acknowledgements (the first
    /// argument of each). Without a cluster there are none: resolves at once, empty (Node's
    /// in-memory adapter never settles).
    fn server_side_emit_with_ack(
        &self,
        data: Vec<rmpv::Value>,
        timeout: Duration,
    ) -> BoxFuture<Vec<rmpv::Value>> {
        let _ = (data, timeout);
        Box::pin(async { Vec::new() })
    }

    /// Connection state recovery: the offset for the next stored packet, or `None` when
    /// this adapter does not store packets.
    fn next_offset(&self) -> Option<String> {
        None
    }

    /// Connection state recovery: stores a packet sent with `opts` under `offset`.
    fn store_packet(&self, offset: &str, opts: &BroadcastOptions, frames: &Frames) {
        let _ = (offset, opts, frames);
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
}

/// The in-memory store of connection state recovery: a log of recent packets and the
/// sessions of recently disconnected sockets, both kept `max_disconnection_duration`.
struct Recovery {
    max_age: Duration,
    max_packets: usize,
    /// Distinguishes this process's offsets from an earlier one's.
    epoch: String,
    state: Mutex<RecoveryState>,
}

#[derive(Default)]
struct RecoveryState {
    next: u64,
    log: VecDeque<StoredPacket>,
    sessions: HashMap<Sid, (SessionRecord, Instant)>,
    last_purge: Option<Instant>,
}

struct StoredPacket {
    n: u64,
    at: Instant,
    rooms: SmallVec<[Room; 2]>,
    except: SmallVec<[Room; 2]>,
    frames: Frames,
}

impl Recovery {
    fn parse_offset(&self, offset: &str) -> Option<u64> {
        let (epoch, n) = offset.split_once('-')?;
        (epoch == self.epoch).then(|| n.parse().ok()).flatten()
    }

    fn purge(&self, st: &mut RecoveryState, now: Instant) {
        while st.log.front().is_some_and(|p| p.at + self.max_age < now)
            || st.log.len() > self.max_packets
        {
            st.log.pop_front();
        }
        if st
            .last_purge
            .is_none_or(|t| t + Duration::from_secs(10) < now)
        {
            st.sessions.retain(|_, (_, at)| *at + self.max_age >= now);
            st.last_purge = Some(now);
        }
    }
}

/// The in-memory adapter: the rooms of this process, and, with connection state recovery,
/// the recent packets and sessions.
#[derive(Default)]
pub struct LocalAdapter {
    rooms: RwLock<Rooms>,
    listeners: RwLock<Vec<AdapterListener>>,
    recovery: Option<Recovery>,
}

#[derive(Default)]
struct Rooms {
    rooms: HashMap<Room, HashSet<Sid>>,
    sids: HashMap<Sid, HashSet<Room>>,
}

impl fmt::Debug for LocalAdapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = self.rooms.read().unwrap_or_else(PoisonError::into_inner);
        f.debug_struct("LocalAdapter")
            .field("rooms", &r.rooms.len())
            .field("sockets", &r.sids.len())
            .finish()
    }
}

impl LocalAdapter {
    /// An empty registry.
    pub fn new() -> Self {
        LocalAdapter::default()
    }

    /// An empty registry that also keeps packets and sessions for connection state recovery,
    /// for `max_disconnection_duration`, and at most `max_packets` packets.
    pub fn with_recovery(max_disconnection_duration: Duration, max_packets: usize) -> Self {
        let epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or_default();
        LocalAdapter {
            recovery: Some(Recovery {
                max_age: max_disconnection_duration,
                max_packets,
                epoch: format!("{epoch:x}"),
                state: Mutex::new(RecoveryState::default()),
            }),
            ..LocalAdapter::default()
        }
    }

    fn emit(&self, events: Vec<AdapterEvent>) {
        if events.is_empty() {
            return;
        }
        let listeners = self
            .listeners
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        for e in &events {
            for l in listeners.iter() {
                l(e);
            }
        }
    }

    fn has_listeners(&self) -> bool {
        !self
            .listeners
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .is_empty()
    }

    /// The number of sockets in `room`.
    pub fn room_len(&self, room: &str) -> usize {
        self.rooms
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .rooms
            .get(room)
            .map_or(0, HashSet::len)
    }
}

impl Adapter for LocalAdapter {
    fn add_all(&self, sid: Sid, rooms: &[Room]) {
        let track = self.has_listeners();
        let mut events = Vec::new();
        {
            let mut r = self.rooms.write().unwrap_or_else(PoisonError::into_inner);
            for room in rooms {
                let members = r.rooms.entry(room.clone()).or_default();
                if track && members.is_empty() {
                    events.push(AdapterEvent::CreateRoom(room.clone()));
                }
                if members.insert(sid) && track {
                    events.push(AdapterEvent::JoinRoom(room.clone(), sid));
                }
                r.sids.entry(sid).or_default().insert(room.clone());
            }
        }
        self.emit(events);
    }

    fn del(&self, sid: Sid, room: &str) {
        let track = self.has_listeners();
        let mut events = Vec::new();
        {
            let mut r = self.rooms.write().unwrap_or_else(PoisonError::into_inner);
            if let Some(set) = r.sids.get_mut(&sid) {
                set.remove(room);
                if set.is_empty() {
                    r.sids.remove(&sid);
                }
            }
            let key = r.rooms.get_key_value(room).map(|(k, _)| k.clone());
            if let (Some(key), Some(members)) = (key, r.rooms.get_mut(room)) {
                if members.remove(&sid) && track {
                    events.push(AdapterEvent::LeaveRoom(key.clone(), sid));
                }
                if members.is_empty() {
                    r.rooms.remove(room);
                    if track {
                        events.push(AdapterEvent::DeleteRoom(key));
                    }
                }
            }
        }
        self.emit(events);
    }

    fn del_all(&self, sid: Sid) {
        let track = self.has_listeners();
        let mut events = Vec::new();
        {
            let mut r = self.rooms.write().unwrap_or_else(PoisonError::into_inner);
            let Some(rooms) = r.sids.remove(&sid) else {
                return;
            };
            for room in rooms {
                if let Some(members) = r.rooms.get_mut(&room) {
                    members.remove(&sid);
                    if track {
                        events.push(AdapterEvent::LeaveRoom(room.clone(), sid));
                    }
                    if members.is_empty() {
                        r.rooms.remove(&room);
                        if track {
                            events.push(AdapterEvent::DeleteRoom(room));
                        }
                    }
                }
            }
        }
        self.emit(events);
    }

    fn socket_rooms(&self, sid: Sid) -> Vec<Room> {
        self.rooms
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .sids
            .get(&sid)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }

    fn rooms(&self) -> Vec<Room> {
        self.rooms
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .rooms
            .keys()
            .cloned()
            .collect()
    }

    fn for_each(&self, opts: &BroadcastOptions, all: AllSockets<'_>, f: &mut dyn FnMut(Sid)) {
        let r = self.rooms.read().unwrap_or_else(PoisonError::into_inner);
        let except: HashSet<Sid> = opts
            .except
            .iter()
            .filter_map(|room| r.rooms.get(room))
            .flatten()
            .copied()
            .collect();
        let mut emit = |sid: Sid| {
            if !except.contains(&sid) {
                f(sid);
            }
        };
        match opts.rooms.as_slice() {
            [] => {
                drop(r);
                all(&mut emit);
            }
            [room] => {
                if let Some(members) = r.rooms.get(room) {
                    for sid in members {
                        emit(*sid);
                    }
                }
            }
            rooms => {
                let mut seen = HashSet::new();
                for room in rooms {
                    if let Some(members) = r.rooms.get(room) {
                        for sid in members {
                            if seen.insert(*sid) {
                                emit(*sid);
                            }
                        }
                    }
                }
            }
        }
    }

    fn on_event(&self, listener: AdapterListener) {
        self.listeners
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .push(listener);
    }

    fn next_offset(&self) -> Option<String> {
        let r = self.recovery.as_ref()?;
        let mut st = r.state.lock().unwrap_or_else(PoisonError::into_inner);
        let n = st.next;
        st.next += 1;
        Some(format!("{}-{n}", r.epoch))
    }

    fn store_packet(&self, offset: &str, opts: &BroadcastOptions, frames: &Frames) {
        let Some(r) = &self.recovery else { return };
        let Some(n) = r.parse_offset(offset) else {
            return;
        };
        let now = Instant::now();
        let mut st = r.state.lock().unwrap_or_else(PoisonError::into_inner);
        // Offsets are taken before encoding, so concurrent emits may store slightly out of
        // order: keep the log sorted.
        let at = st.log.iter().rposition(|p| p.n < n).map_or(0, |i| i + 1);
        st.log.insert(
            at,
            StoredPacket {
                n,
                at: now,
                rooms: opts.rooms.clone(),
                except: opts.except.clone(),
                frames: frames.clone(),
            },
        );
        r.purge(&mut st, now);
    }

    fn persist_session(&self, session: SessionRecord) {
        let Some(r) = &self.recovery else { return };
        let now = Instant::now();
        let mut st = r.state.lock().unwrap_or_else(PoisonError::into_inner);
        st.sessions.insert(session.pid, (session, now));
        r.purge(&mut st, now);
    }

    fn restore_session(&self, pid: &str, offset: &str) -> BoxFuture<Option<RestoredSession>> {
        let restored = (|| {
            let r = self.recovery.as_ref()?;
            let pid: Sid = pid.parse().ok()?;
            let n = r.parse_offset(offset)?;
            let now = Instant::now();
            let mut st = r.state.lock().unwrap_or_else(PoisonError::into_inner);
            let (session, at) = st.sessions.get(&pid)?.clone();
            if at + r.max_age < now {
                st.sessions.remove(&pid);
                return None;
            }
            let start = st.log.iter().position(|p| p.n == n)? + 1;
            let missed = st
                .log
                .iter()
                .skip(start)
                .filter(|p| {
                    (p.rooms.is_empty() || p.rooms.iter().any(|r| session.rooms.contains(r)))
                        && !p.except.iter().any(|r| session.rooms.contains(r))
                })
                .map(|p| p.frames.clone())
                .collect();
            st.sessions.remove(&pid);
            Some(RestoredSession { session, missed })
        })();
        Box::pin(async move { restored })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sids(adapter: &LocalAdapter, opts: &BroadcastOptions) -> HashSet<Sid> {
        let mut out = HashSet::new();
        adapter.for_each(opts, &|_f| {}, &mut |sid| {
            out.insert(sid);
        });
        out
    }

    #[test]
    fn rooms_union_and_except() {
        let a = LocalAdapter::new();
        let (s1, s2, s3) = (Sid::generate(), Sid::generate(), Sid::generate());
        a.add_all(s1, &["A".into()]);
        a.add_all(s2, &["A".into(), "B".into()]);
        a.add_all(s3, &["B".into()]);
        let mut opts = BroadcastOptions::default();
        opts.rooms.push("A".into());
        assert_eq!(sids(&a, &opts), HashSet::from([s1, s2]));
        opts.rooms.push("B".into());
        assert_eq!(sids(&a, &opts), HashSet::from([s1, s2, s3]));
        opts.except.push("A".into());
        assert_eq!(sids(&a, &opts), HashSet::from([s3]));
        a.del(s2, "A");
        assert_eq!(a.socket_rooms(s2), vec![Room::from("B")]);
        a.del_all(s2);
        assert!(a.socket_rooms(s2).is_empty());
        assert_eq!(a.room_len("B"), 1);
        a.del_all(s3);
        assert_eq!(a.room_len("B"), 0);
        assert!(!a.rooms().contains(&Room::from("B")));
    }

    #[test]
    fn events_are_reported() {
        let a = LocalAdapter::new();
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let s = seen.clone();
        a.on_event(Arc::new(move |e| {
            s.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(e.clone())
        }));
        let sid = Sid::generate();
        a.add_all(sid, &["r".into()]);
        a.del(sid, "r");
        let seen = seen.lock().unwrap_or_else(PoisonError::into_inner).clone();
        assert_eq!(
            seen,
            vec![
                AdapterEvent::CreateRoom("r".into()),
                AdapterEvent::JoinRoom("r".into(), sid),
                AdapterEvent::LeaveRoom("r".into(), sid),
                AdapterEvent::DeleteRoom("r".into()),
            ]
        );
    }
}
