//! A cluster adapter sees every operation that must reach other servers, with the event and
//! its arguments, and the targeting options; `local()` keeps operations on this server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use tower_socketio::{
    Args, Handshake, Sid, SocketIo,
    adapter::{
        Adapter, AdapterListener, AllSockets, BoxFuture, BroadcastOptions, LocalAdapter,
        LocalNamespace, PacketData, RemoteAcks, RemoteSocketData, Room,
    },
};

/// What the recording adapter saw.
#[derive(Debug, Clone, PartialEq)]
enum Call {
    Broadcast(PacketData, Vec<String>, Vec<String>),
    BroadcastWithAck(PacketData),
    Fetch(Vec<String>),
    Join(Vec<String>, Vec<String>),
    Leave(Vec<String>, Vec<String>),
    Disconnect(Vec<String>, bool),
}

fn names(rooms: &[Room]) -> Vec<String> {
    rooms.iter().map(|r| r.to_string()).collect()
}

/// A cluster adapter whose other server has one socket, `REMOTE`.
struct Recording {
    local: LocalAdapter,
    calls: Arc<Mutex<Vec<Call>>>,
    remote: Sid,
}

impl Adapter for Recording {
    fn add_all(&self, sid: Sid, rooms: &[Room]) {
        self.local.add_all(sid, rooms);
    }
    fn del(&self, sid: Sid, room: &str) {
        self.local.del(sid, room);
    }
    fn del_all(&self, sid: Sid) {
        self.local.del_all(sid);
    }
    fn socket_rooms(&self, sid: Sid) -> Vec<Room> {
        self.local.socket_rooms(sid)
    }
    fn rooms(&self) -> Vec<Room> {
        self.local.rooms()
    }
    fn for_each(&self, opts: &BroadcastOptions, all: AllSockets<'_>, f: &mut dyn FnMut(Sid)) {
        self.local.for_each(opts, all, f);
    }
    fn on_event(&self, listener: AdapterListener) {
        self.local.on_event(listener);
    }
    fn is_cluster(&self) -> bool {
        true
    }
    fn broadcast_remote(&self, data: &PacketData, opts: &BroadcastOptions) {
        self.calls.lock().unwrap().push(Call::Broadcast(
            data.clone(),
            names(opts.rooms()),
            names(opts.except()),
        ));
    }
    fn broadcast_with_ack_remote(
        &self,
        data: &PacketData,
        _opts: &BroadcastOptions,
        _timeout: Duration,
    ) -> BoxFuture<RemoteAcks> {
        self.calls
            .lock()
            .unwrap()
            .push(Call::BroadcastWithAck(data.clone()));
        Box::pin(async {
            let answer = Args::from_values(vec!["from the other server".into()]);
            RemoteAcks::new(vec![answer], 1, 0)
        })
    }
    fn fetch_sockets_remote(&self, opts: &BroadcastOptions) -> BoxFuture<Vec<RemoteSocketData>> {
        self.calls
            .lock()
            .unwrap()
            .push(Call::Fetch(names(opts.rooms())));
        let data = RemoteSocketData::new(
            self.remote,
            Handshake::default(),
            vec![Room::from(self.remote.as_str()), Room::from("game")],
            serde_json::json!({ "user": "remote" }),
        );
        Box::pin(async move { vec![data] })
    }
    fn add_sockets_remote(&self, opts: &BroadcastOptions, rooms: &[Room]) {
        self.calls
            .lock()
            .unwrap()
            .push(Call::Join(names(opts.rooms()), names(rooms)));
    }
    fn del_sockets_remote(&self, opts: &BroadcastOptions, rooms: &[Room]) {
        self.calls
            .lock()
            .unwrap()
            .push(Call::Leave(names(opts.rooms()), names(rooms)));
    }
    fn disconnect_sockets_remote(&self, opts: &BroadcastOptions, close: bool) {
        self.calls
            .lock()
            .unwrap()
            .push(Call::Disconnect(names(opts.rooms()), close));
    }
}

fn server() -> (SocketIo, Arc<Mutex<Vec<Call>>>, Sid) {
    let calls = Arc::new(Mutex::new(Vec::new()));
    let remote = Sid::generate();
    let recorded = calls.clone();
    let io = SocketIo::builder()
        .adapter(move |ns: LocalNamespace| {
            Arc::new(Recording {
                local: LocalAdapter::for_namespace(&ns),
                calls: recorded.clone(),
                remote,
            }) as Arc<dyn Adapter>
        })
        .build();
    (io, calls, remote)
}

fn take(calls: &Arc<Mutex<Vec<Call>>>) -> Vec<Call> {
    std::mem::take(&mut *calls.lock().unwrap())
}

#[tokio::test]
async fn operations_reach_the_cluster_unless_local() {
    let (io, calls, remote) = server();

    io.to("game")
        .except("spectators")
        .emit("score", &("alice", 3))
        .unwrap();
    assert_eq!(
        take(&calls),
        [Call::Broadcast(
            PacketData::event("score", &("alice", 3)).unwrap(),
            vec!["game".into()],
            vec!["spectators".into()],
        )]
    );

    io.local().emit("only here", &()).unwrap();
    io.to("game").local().sockets_join("x");
    assert_eq!(take(&calls), []);

    io.to("game").sockets_join(["a", "b"]);
    io.to("game").sockets_leave("a");
    io.to("game").disconnect_sockets(true);
    assert_eq!(
        take(&calls),
        [
            Call::Join(vec!["game".into()], vec!["a".into(), "b".into()]),
            Call::Leave(vec!["game".into()], vec!["a".into()]),
            Call::Disconnect(vec!["game".into()], true),
        ]
    );

    let acks = io
        .to("game")
        .timeout(Duration::from_millis(100))
        .emit_with_ack("ready?", &())
        .await
        .unwrap();
    assert_eq!(acks.remote.len(), 1);
    assert_eq!(
        acks.remote[0].get::<String>().unwrap(),
        "from the other server"
    );
    assert_eq!(acks.remote_missing, 1);
    assert!(!acks.is_complete());
    assert_eq!(
        take(&calls),
        [Call::BroadcastWithAck(
            PacketData::event("ready?", &()).unwrap()
        )]
    );

    // A socket of the other server: fetched, and reachable through the adapter by its room.
    let sockets = io.to("game").fetch_sockets().await;
    assert_eq!(take(&calls), [Call::Fetch(vec!["game".into()])]);
    let s = sockets
        .iter()
        .find(|s| s.id() == remote)
        .expect("the remote socket");
    assert!(s.as_local().is_none());
    assert_eq!(s.data()["user"], "remote");
    s.emit("hi", "there").unwrap();
    s.join("vip");
    s.disconnect(false);
    assert_eq!(
        take(&calls),
        [
            Call::Broadcast(
                PacketData::event("hi", "there").unwrap(),
                vec![remote.to_string()],
                vec![]
            ),
            Call::Join(vec![remote.to_string()], vec!["vip".into()]),
            Call::Disconnect(vec![remote.to_string()], false),
        ]
    );
}

/// Events of other servers reach the server-side listeners through the `LocalNamespace` the
/// adapter was created with; only the first answer goes back.
#[tokio::test]
async fn server_side_events_from_other_servers() {
    use tower_socketio::{ServerSideEvent, adapter::ServerSideAck};

    let captured: Arc<Mutex<Option<LocalNamespace>>> = Arc::default();
    let keep = captured.clone();
    let io = SocketIo::builder()
        .adapter(move |ns: LocalNamespace| {
            if ns.name() == "/" {
                *keep.lock().unwrap() = Some(ns.clone());
            }
            Arc::new(LocalAdapter::for_namespace(&ns)) as Arc<dyn Adapter>
        })
        .build();
    let seen = Arc::new(Mutex::new(Vec::new()));
    for listener in ["first", "second"] {
        let seen = seen.clone();
        io.on_server_side("ping", move |e: ServerSideEvent| {
            let seen = seen.clone();
            async move {
                let (a, b): (String, i32) = e.data().unwrap();
                seen.lock().unwrap().push(format!("{listener}:{a}:{b}"));
                e.ack(&(listener, "ignored second value")).unwrap();
            }
        });
    }
    let ns = captured
        .lock()
        .unwrap()
        .clone()
        .expect("the main namespace's context");
    let (tx, rx) = tokio::sync::oneshot::channel();
    let tx = Mutex::new(Some(tx));
    let ack = ServerSideAck::new(move |answer: PacketData| {
        if let Some(tx) = tx.lock().unwrap().take() {
            let _ = tx.send(answer);
        }
    });
    ns.server_side_emit(
        PacketData::event("ping", &("x", 7)).unwrap(),
        Some(ack.clone()),
    );
    let answer = tokio::time::timeout(Duration::from_secs(2), rx)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(serde_json::to_string(&answer).unwrap(), r#"["first"]"#);
    assert!(
        !ack.send(PacketData::event("late", &()).unwrap()),
        "answered once"
    );
    assert_eq!(*seen.lock().unwrap(), ["first:x:7", "second:x:7"]);
    // An event without a listener is dropped; so is one after the server is gone.
    ns.server_side_emit(PacketData::event("nobody", &()).unwrap(), None);
    drop(io);
    ns.server_side_emit(PacketData::event("ping", &("y", 1)).unwrap(), None);
    assert_eq!(seen.lock().unwrap().len(), 2);
}
