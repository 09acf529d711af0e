//! A cluster adapter sees every operation that must reach other servers, with the event and
//! its arguments, and the targeting options; `local()` keeps operations on this server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use tower_socketio::{
    Handshake, Sid, SocketIo,
    adapter::{
        Adapter, AdapterListener, AllSockets, BroadcastOptions, LocalAdapter, RemoteSocketData,
        Room,
    },
};

type BoxFuture<T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send>>;

/// What the recording adapter saw.
#[derive(Debug, Clone, PartialEq)]
enum Call {
    Broadcast(Vec<rmpv::Value>, Vec<String>, Vec<String>),
    BroadcastWithAck(Vec<rmpv::Value>),
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
    fn broadcast_remote(&self, data: Vec<rmpv::Value>, opts: &BroadcastOptions) {
        self.calls.lock().unwrap().push(Call::Broadcast(
            data,
            names(&opts.rooms),
            names(&opts.except),
        ));
    }
    fn broadcast_with_ack_remote(
        &self,
        data: Vec<rmpv::Value>,
        _opts: &BroadcastOptions,
        _timeout: Duration,
    ) -> BoxFuture<Vec<rmpv::Value>> {
        self.calls
            .lock()
            .unwrap()
            .push(Call::BroadcastWithAck(data));
        Box::pin(async {
            vec![rmpv::Value::Array(vec![rmpv::Value::from(
                "from the other server",
            )])]
        })
    }
    fn fetch_sockets_remote(&self, opts: &BroadcastOptions) -> BoxFuture<Vec<RemoteSocketData>> {
        self.calls
            .lock()
            .unwrap()
            .push(Call::Fetch(names(&opts.rooms)));
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
            .push(Call::Join(names(&opts.rooms), names(rooms)));
    }
    fn del_sockets_remote(&self, opts: &BroadcastOptions, rooms: &[Room]) {
        self.calls
            .lock()
            .unwrap()
            .push(Call::Leave(names(&opts.rooms), names(rooms)));
    }
    fn disconnect_sockets_remote(&self, opts: &BroadcastOptions, close: bool) {
        self.calls
            .lock()
            .unwrap()
            .push(Call::Disconnect(names(&opts.rooms), close));
    }
}

fn server() -> (SocketIo, Arc<Mutex<Vec<Call>>>, Sid) {
    let calls = Arc::new(Mutex::new(Vec::new()));
    let remote = Sid::generate();
    let recorded = calls.clone();
    let io = SocketIo::builder()
        .adapter(move |_ns| {
            Arc::new(Recording {
                local: LocalAdapter::new(),
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
            vec!["score".into(), "alice".into(), 3.into()],
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
        take(&calls),
        [Call::BroadcastWithAck(vec!["ready?".into()])]
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
                vec!["hi".into(), "there".into()],
                vec![remote.to_string()],
                vec![]
            ),
            Call::Join(vec![remote.to_string()], vec!["vip".into()]),
            Call::Disconnect(vec![remote.to_string()], false),
        ]
    );
}
