//! The in-memory adapter: the rooms of this process, and the store of connection state
//! recovery.

use std::{
    collections::{HashMap, HashSet, VecDeque},
    fmt,
    sync::{Mutex, PoisonError, RwLock},
    time::Duration,
};

use smallvec::SmallVec;
use tokio::time::Instant;
use tower_socketio_engine::Sid;

use super::{
    Adapter, AdapterEvent, AdapterListener, AllSockets, BoxFuture, BroadcastOptions, EncodedPacket,
    LocalNamespace, RestoredSession, Room, SessionRecord,
};

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
    packet: EncodedPacket,
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

    /// The registry a namespace gets by default: with connection state recovery when the
    /// server has it on (with its window and packet bound), without otherwise. What a cluster
    /// adapter wraps for the local part.
    pub fn for_namespace(ns: &LocalNamespace) -> Self {
        match ns.recovery() {
            Some(r) => LocalAdapter::with_recovery(r.max_disconnection_duration, r.max_packets),
            None => LocalAdapter::new(),
        }
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
        // A snapshot: a listener may call back into the adapter (join a room...).
        let listeners = self
            .listeners
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        for e in &events {
            for l in &listeners {
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
            .except()
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
        match opts.rooms() {
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

    fn store_packet(&self, offset: &str, opts: &BroadcastOptions, packet: &EncodedPacket) {
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
                rooms: opts.rooms().into(),
                except: opts.except().into(),
                packet: packet.clone(),
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
                .map(|p| p.packet.clone())
                .collect();
            st.sessions.remove(&pid);
            Some(RestoredSession::new(session, missed))
        })();
        Box::pin(async move { restored })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

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
        let mut opts = BroadcastOptions::default().with_rooms(["A"]);
        assert_eq!(sids(&a, &opts), HashSet::from([s1, s2]));
        opts = opts.with_rooms(["B"]);
        assert_eq!(sids(&a, &opts), HashSet::from([s1, s2, s3]));
        opts = opts.with_except(["A"]);
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

    /// A listener may call back into the adapter (here: join another room when a room is
    /// created) without deadlocking: listeners run on a snapshot, outside every lock.
    #[test]
    fn listeners_may_use_the_adapter() {
        let a = Arc::new(LocalAdapter::new());
        let weak = Arc::downgrade(&a);
        a.on_event(Arc::new(move |e| {
            if let (AdapterEvent::JoinRoom(room, sid), Some(a)) = (e, weak.upgrade())
                && &**room == "lobby"
            {
                a.add_all(*sid, &["seen-lobby".into()]);
                a.on_event(Arc::new(|_| {}));
            }
        }));
        let sid = Sid::generate();
        let (tx, rx) = std::sync::mpsc::channel();
        let adapter = a.clone();
        std::thread::spawn(move || {
            adapter.add_all(sid, &["lobby".into()]);
            let _ = tx.send(adapter.socket_rooms(sid).len());
        });
        let rooms = rx.recv_timeout(std::time::Duration::from_secs(5));
        assert_eq!(rooms, Ok(2), "the listener deadlocked or did not join");
    }
}
