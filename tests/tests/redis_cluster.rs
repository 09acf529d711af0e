//! Rust nodes sharing one Redis (a `redis-server` of the test's own), with real npm clients
//! on each: every operation reaches the sockets of every node.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use integration_tests::{
    cluster_app::{RustNode, start_rust_node},
    harness::{Client, Harness},
    redis_server::RedisServer,
};
use serde_json::{Value, json};
use tower_socketio_redis::RedisAdapterConfig;

async fn nodes(redis: &RedisServer, n: usize) -> Vec<RustNode> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(
            start_rust_node(&redis.url(), RedisAdapterConfig::default())
                .await
                .unwrap(),
        );
    }
    // Every node subscribed: each counts the others.
    for node in &out {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while node.io.server_count().await != n {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the nodes never saw each other"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcasts_reach_every_node() {
    let redis = RedisServer::start().await.unwrap();
    let nodes = nodes(&redis, 2).await;
    let h = Harness::start(120).await.unwrap();
    let (a, a_id) = Client::connect(&h, "a", &nodes[0].url(), "/", json!({}))
        .await
        .unwrap();
    let (b, b_id) = Client::connect(
        &h,
        "b",
        &nodes[1].url(),
        "/",
        json!({"transports": ["websocket"]}),
    )
    .await
    .unwrap();
    let (c, _) = Client::connect(&h, "c", &nodes[1].url(), "/", json!({}))
        .await
        .unwrap();
    a.call("join", json!(["room1"])).await.unwrap();
    b.call("join", json!(["room1"])).await.unwrap();

    // To everyone, from node 0: the clients of node 1 get it too.
    nodes[0].io.emit("hello", &("world", 42)).unwrap();
    for client in [a, b, c] {
        assert_eq!(
            client.next("hello", 3000).await.unwrap(),
            json!(["world", 42])
        );
    }

    // One room (its own channel), from node 1.
    nodes[1].io.to("room1").emit("in room", "yes").unwrap();
    assert_eq!(a.next("in room", 3000).await.unwrap(), json!(["yes"]));
    assert_eq!(b.next("in room", 3000).await.unwrap(), json!(["yes"]));
    c.none("in room", 300).await.unwrap();

    // Except, and binary.
    let bin = bytes::Bytes::from_static(&[0, 1, 2, 255]);
    nodes[1].io.except("room1").emit("not room1", &bin).unwrap();
    nodes[0]
        .io
        .to(a_id.as_str())
        .to(b_id.as_str())
        .except(b_id.as_str())
        .emit("just a", &(bin.clone(), 1.5))
        .unwrap();
    assert_eq!(
        c.next("not room1", 3000).await.unwrap(),
        json!([{"$bin": "AAEC/w=="}])
    );
    assert_eq!(
        a.next("just a", 3000).await.unwrap(),
        json!([{"$bin": "AAEC/w=="}, 1.5])
    );
    a.none("not room1", 200).await.unwrap();
    b.none("just a", 200).await.unwrap();

    // A client's broadcast (socket.broadcast on its node) reaches the other node.
    // Volatile broadcasts to idle clients arrive too.
    nodes[0].io.volatile().emit("volatile", &()).unwrap();
    for client in [a, b, c] {
        assert_eq!(client.next("volatile", 3000).await.unwrap(), json!([]));
    }
    for n in nodes {
        n.stop().await;
    }
}

/// Starts a Node.js socket.io 4.8 node with `@socket.io/redis-adapter` 8.3 in `h`; returns its
/// URL.
async fn node_node(h: &Harness, redis: &RedisServer, specific: bool) -> String {
    let started = h
        .call(
            "server.start",
            json!({ "redisUrl": redis.url(), "specific": specific }),
        )
        .await
        .unwrap();
    format!("http://127.0.0.1:{}", started["port"])
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_cluster_with_a_node_server() {
    let redis = RedisServer::start().await.unwrap();
    let rust = start_rust_node(&redis.url(), RedisAdapterConfig::default())
        .await
        .unwrap();
    let server = Harness::start(120).await.unwrap();
    let node_url = node_node(&server, &redis, false).await;
    let h = Harness::start(120).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while rust.io.server_count().await != 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the Rust node never saw the Node one"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        server.call("server.serverCount", json!({})).await.unwrap(),
        json!(2)
    );

    let (r, r_id) = Client::connect(&h, "r", &rust.url(), "/", json!({}))
        .await
        .unwrap();
    let (n, n_id) = Client::connect(&h, "n", &node_url, "/", json!({}))
        .await
        .unwrap();
    r.call("join", json!(["both"])).await.unwrap();
    n.call("join", json!(["both"])).await.unwrap();
    n.call("join", json!(["node-only"])).await.unwrap();
    r.call("set data", json!([{"username": "rusty", "n": 1}]))
        .await
        .unwrap();
    n.call(
        "set data",
        json!([{"username": "nodey", "bin": {"$bin": "AQI="}}]),
    )
    .await
    .unwrap();

    // Events both ways, binary included.
    rust.io
        .to("both")
        .emit("from rust", &(1, bytes::Bytes::from_static(b"\x01\x02")))
        .unwrap();
    assert_eq!(
        n.next("from rust", 3000).await.unwrap(),
        json!([1, {"$bin": "AQI="}])
    );
    assert_eq!(
        r.next("from rust", 3000).await.unwrap(),
        json!([1, {"$bin": "AQI="}])
    );
    server
        .call("server.emit", json!({"rooms": ["both"], "except": ["node-only"], "event": "from node", "args": [{"x": [1, 2.5, null, true]}, {"$bin": "/w=="}]}))
        .await
        .unwrap();
    assert_eq!(
        r.next("from node", 3000).await.unwrap(),
        json!([{"x": [1, 2.5, null, true]}, {"$bin": "/w=="}])
    );
    n.none("from node", 300).await.unwrap();

    // fetchSockets both ways, with data, rooms and handshake.
    let fetched = server.call("server.fetchSockets", json!({})).await.unwrap();
    let rust_socket = fetched
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == r_id.as_str())
        .expect("the Rust socket");
    assert_eq!(rust_socket["data"], json!({"username": "rusty", "n": 1}));
    assert_eq!(
        rust_socket["rooms"],
        json!(sorted(vec!["both".into(), r_id.clone()]))
    );
    assert_eq!(rust_socket["query"]["EIO"], "4");
    assert_eq!(rust_socket["address"], "127.0.0.1");
    let fetched = rust.io.fetch_sockets().await;
    let node_socket = fetched
        .iter()
        .find(|s| s.id().as_str() == n_id)
        .expect("the Node socket");
    assert!(node_socket.as_local().is_none());
    assert_eq!(node_socket.data()["username"], "nodey");
    assert_eq!(
        sorted(node_socket.rooms().iter().map(|r| r.to_string()).collect()),
        sorted(vec!["both".into(), "node-only".into(), n_id.clone()])
    );
    assert_eq!(
        node_socket.handshake().query.get("EIO").map(String::as_str),
        Some("4")
    );
    assert_eq!(rust.io.to("node-only").fetch_sockets().await.len(), 1);

    // Remote join / leave / disconnect both ways.
    rust.io.to(n_id.as_str()).sockets_join("joined-by-rust");
    server
        .call(
            "server.socketsJoin",
            json!({"rooms": [r_id], "join": "joined-by-node"}),
        )
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    loop {
        let r_rooms = r.call("whoami", json!([])).await.unwrap()["rooms"].clone();
        let n_rooms = n.call("whoami", json!([])).await.unwrap()["rooms"].clone();
        if r_rooms
            .as_array()
            .unwrap()
            .contains(&json!("joined-by-node"))
            && n_rooms
                .as_array()
                .unwrap()
                .contains(&json!("joined-by-rust"))
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "remote joins: {r_rooms} {n_rooms}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    rust.io.to("joined-by-rust").sockets_leave("both");
    server
        .call(
            "server.socketsLeave",
            json!({"rooms": ["joined-by-node"], "leave": "both"}),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !n.call("whoami", json!([])).await.unwrap()["rooms"]
            .as_array()
            .unwrap()
            .contains(&json!("both"))
    );
    assert!(
        !r.call("whoami", json!([])).await.unwrap()["rooms"]
            .as_array()
            .unwrap()
            .contains(&json!("both"))
    );

    // Server-side emit both ways, with acknowledgements.
    rust.io.server_side_emit("news", &("from rust", 1)).unwrap();
    let got = server
        .call("server.nextServerSide", json!({"timeoutMs": 3000}))
        .await
        .unwrap();
    assert_eq!(
        got,
        json!({"nsp": "/", "event": "news", "args": ["from rust", 1]})
    );
    let answers = rust
        .io
        .server_side_emit_with_ack("ping", &("hey",))
        .await
        .unwrap();
    assert_eq!(answers.len(), 1);
    assert_eq!(answers[0].get::<Value>().unwrap(), json!(["pong", "hey"]));
    let answered = server
        .call(
            "server.serverSideEmit",
            json!({"event": "ping", "args": [7], "ack": true}),
        )
        .await
        .unwrap();
    assert_eq!(answered, json!({"err": null, "responses": [["pong", 7]]}));
    let (ns, event, args) = rust.next_server_side(Duration::from_secs(3)).await.unwrap();
    assert_eq!(
        (ns.as_str(), event.as_str(), args),
        ("/", "ping", json!([7]))
    );

    // Broadcast with acknowledgements both ways: every client answers with its name.
    let acks = rust
        .io
        .broadcast()
        .timeout(Duration::from_secs(3))
        .emit_with_ack("ask", &"q")
        .await
        .unwrap();
    assert!(acks.is_complete(), "{acks:?}");
    assert_eq!(acks.responses.len(), 1);
    assert_eq!(acks.remote.len(), 1);
    assert_eq!(acks.remote[0].get::<String>().unwrap(), "n");
    let answered = server
        .call(
            "server.emitWithAck",
            json!({"event": "ask", "args": ["q"], "timeoutMs": 3000}),
        )
        .await
        .unwrap();
    assert_eq!(answered["err"], Value::Null);
    assert_eq!(
        sorted(
            answered["responses"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_owned())
                .collect()
        ),
        ["n", "r"]
    );

    // All rooms.
    let rooms = rust.io.of("/").unwrap().all_rooms().await;
    assert!(rooms.iter().any(|r| &**r == "node-only"), "{rooms:?}");
    let rooms = server.call("server.allRooms", json!({})).await.unwrap();
    assert!(rooms.as_array().unwrap().contains(&json!(r_id)));

    // Disconnect both ways.
    server
        .call("server.disconnectSockets", json!({"rooms": [r_id]}))
        .await
        .unwrap();
    assert_eq!(
        r.next("disconnect", 3000).await.unwrap(),
        json!(["io server disconnect"])
    );
    rust.io.to(n_id.as_str()).disconnect_sockets(false);
    assert_eq!(
        n.next("disconnect", 3000).await.unwrap(),
        json!(["io server disconnect"])
    );
    rust.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emitters_reach_rust_and_node_servers() {
    use tower_socketio_redis::RedisEmitter;

    let redis = RedisServer::start().await.unwrap();
    let rust = start_rust_node(&redis.url(), RedisAdapterConfig::default())
        .await
        .unwrap();
    let server = Harness::start(120).await.unwrap();
    let node_url = node_node(&server, &redis, false).await;
    let h = Harness::start(120).await.unwrap();
    let (r, _) = Client::connect(&h, "r", &rust.url(), "/", json!({}))
        .await
        .unwrap();
    let (n, n_id) = Client::connect(&h, "n", &node_url, "/", json!({}))
        .await
        .unwrap();
    let (rc, _) = Client::connect(&h, "rc", &rust.url(), "/chat", json!({}))
        .await
        .unwrap();
    r.call("join", json!(["red"])).await.unwrap();
    n.call("join", json!(["red"])).await.unwrap();

    // Node's emitter reaches the Rust node's clients (and the Node node's).
    let url = redis.url();
    h.call("emitter.emit", json!({"redisUrl": url, "rooms": ["red"], "event": "node emitter", "args": ["hi", {"$bin": "AQ=="}]})).await.unwrap();
    assert_eq!(
        r.next("node emitter", 3000).await.unwrap(),
        json!(["hi", {"$bin": "AQ=="}])
    );
    assert_eq!(
        n.next("node emitter", 3000).await.unwrap(),
        json!(["hi", {"$bin": "AQ=="}])
    );
    h.call(
        "emitter.emit",
        json!({"redisUrl": url, "nsp": "/chat", "event": "chat only", "args": [1]}),
    )
    .await
    .unwrap();
    assert_eq!(rc.next("chat only", 3000).await.unwrap(), json!([1]));
    r.none("chat only", 200).await.unwrap();
    h.call(
        "emitter.socketsJoin",
        json!({"redisUrl": url, "rooms": ["red"], "join": "via-node-emitter"}),
    )
    .await
    .unwrap();
    h.call(
        "emitter.serverSideEmit",
        json!({"redisUrl": url, "event": "news", "args": ["from node emitter"]}),
    )
    .await
    .unwrap();
    let (_, event, args) = rust.next_server_side(Duration::from_secs(3)).await.unwrap();
    assert_eq!(
        (event.as_str(), args),
        ("news", json!(["from node emitter"]))
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        r.call("whoami", json!([])).await.unwrap()["rooms"]
            .as_array()
            .unwrap()
            .contains(&json!("via-node-emitter"))
    );

    // Ours reaches the Node node's clients (and the Rust node's).
    let emitter = RedisEmitter::connect(&url).await.unwrap();
    emitter
        .to("red")
        .except(n_id.as_str())
        .emit(
            "rust emitter",
            &("only r", bytes::Bytes::from_static(b"\xff")),
        )
        .await
        .unwrap();
    assert_eq!(
        r.next("rust emitter", 3000).await.unwrap(),
        json!(["only r", {"$bin": "/w=="}])
    );
    n.none("rust emitter", 300).await.unwrap();
    emitter
        .to("red")
        .emit("rust emitter", &"both")
        .await
        .unwrap();
    assert_eq!(n.next("rust emitter", 3000).await.unwrap(), json!(["both"]));
    assert_eq!(r.next("rust emitter", 3000).await.unwrap(), json!(["both"]));
    emitter.of("chat").emit("to chat", &()).await.unwrap();
    assert_eq!(rc.next("to chat", 3000).await.unwrap(), json!([]));
    emitter
        .volatile()
        .compress(false)
        .emit("flags", &1)
        .await
        .unwrap();
    assert_eq!(n.next("flags", 3000).await.unwrap(), json!([1]));
    emitter
        .to("red")
        .sockets_join("via-rust-emitter")
        .await
        .unwrap();
    emitter
        .server_side_emit("news", &("from rust emitter", 2))
        .await
        .unwrap();
    let got = server
        .call("server.nextServerSide", json!({"timeoutMs": 3000}))
        .await
        .unwrap();
    assert_eq!(
        got["args"],
        json!(["from node emitter"]),
        "the Node node got the first one too"
    );
    let got = server
        .call("server.nextServerSide", json!({"timeoutMs": 3000}))
        .await
        .unwrap();
    assert_eq!(got["args"], json!(["from rust emitter", 2]));
    let (_, _, args) = rust.next_server_side(Duration::from_secs(3)).await.unwrap();
    assert_eq!(args, json!(["from rust emitter", 2]));
    tokio::time::sleep(Duration::from_millis(200)).await;
    for c in [r, n] {
        assert!(
            c.call("whoami", json!([])).await.unwrap()["rooms"]
                .as_array()
                .unwrap()
                .contains(&json!("via-rust-emitter"))
        );
    }
    emitter
        .to("via-rust-emitter")
        .disconnect_sockets(false)
        .await
        .unwrap();
    assert_eq!(
        n.next("disconnect", 3000).await.unwrap(),
        json!(["io server disconnect"])
    );
    assert_eq!(
        r.next("disconnect", 3000).await.unwrap(),
        json!(["io server disconnect"])
    );
    assert!(matches!(
        emitter.emit("disconnect", &()).await,
        Err(tower_socketio_redis::EmitterError::Emit(_))
    ));
    rust.stop().await;
}

/// Responses on the requester's own channel (`publishOnSpecificResponseChannel`) and on the
/// common one interoperate: each responder picks, every node listens on both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn specific_response_channels_interoperate() {
    let redis = RedisServer::start().await.unwrap();
    let rust = start_rust_node(
        &redis.url(),
        RedisAdapterConfig::default().publish_on_specific_response_channel(true),
    )
    .await
    .unwrap();
    let server = Harness::start(120).await.unwrap();
    let node_url = node_node(&server, &redis, true).await;
    let h = Harness::start(120).await.unwrap();
    let (r, r_id) = Client::connect(&h, "r", &rust.url(), "/", json!({}))
        .await
        .unwrap();
    let (n, n_id) = Client::connect(&h, "n", &node_url, "/", json!({}))
        .await
        .unwrap();
    r.call("set data", json!(["r data"])).await.unwrap();
    n.call("set data", json!(["n data"])).await.unwrap();
    let fetched = rust.io.fetch_sockets().await;
    assert_eq!(fetched.len(), 2);
    assert!(
        fetched
            .iter()
            .any(|s| s.id().as_str() == n_id && s.data() == "n data")
    );
    let fetched = server.call("server.fetchSockets", json!({})).await.unwrap();
    assert!(
        fetched
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["id"] == r_id.as_str() && s["data"] == "r data")
    );
    let acks = rust
        .io
        .broadcast()
        .timeout(Duration::from_secs(3))
        .emit_with_ack("ask", &())
        .await
        .unwrap();
    assert!(acks.is_complete());
    assert_eq!(acks.remote.len(), 1);
    let answered = server
        .call(
            "server.emitWithAck",
            json!({"event": "ask", "args": [], "timeoutMs": 3000}),
        )
        .await
        .unwrap();
    assert_eq!(
        answered["responses"].as_array().map(Vec::len),
        Some(2),
        "{answered}"
    );
    let _ = (r, n);
    rust.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_rust_nodes_share_rooms_data_and_acks() {
    let redis = RedisServer::start().await.unwrap();
    let nodes = nodes(&redis, 3).await;
    let h = Harness::start(120).await.unwrap();
    let mut clients = Vec::new();
    for (i, name) in ["n0", "n1", "n2"].into_iter().enumerate() {
        let (c, id) = Client::connect(
            &h,
            name,
            &nodes[i].url(),
            "/",
            json!({"transports": ["websocket"]}),
        )
        .await
        .unwrap();
        c.call("set data", json!([{"username": name}]))
            .await
            .unwrap();
        c.call("join", json!([format!("room-{}", i % 2)]))
            .await
            .unwrap();
        clients.push((c, id));
    }
    let (c0, c1, c2) = (clients[0].0, clients[1].0, clients[2].0);

    // Fetch with data, everywhere and by room.
    for node in &nodes {
        let mut names: Vec<String> = node
            .io
            .fetch_sockets()
            .await
            .iter()
            .map(|s| s.data()["username"].as_str().unwrap().to_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["n0", "n1", "n2"]);
        let in_room0 = node.io.to("room-0").fetch_sockets().await;
        assert_eq!(in_room0.len(), 2, "n0 and n2");
        let except = node.io.broadcast().except("room-0").fetch_sockets().await;
        assert_eq!(except.len(), 1);
        assert_eq!(except[0].data()["username"], "n1");
    }
    // All rooms of the cluster.
    let rooms = nodes[1].io.of("/").unwrap().all_rooms().await;
    for room in ["room-0", "room-1"] {
        assert!(rooms.iter().any(|r| &**r == room), "{rooms:?}");
    }
    assert_eq!(
        rooms.len(),
        5,
        "two rooms and three socket rooms: {rooms:?}"
    );

    // A remote socket acts where it lives.
    let remote = nodes[0]
        .io
        .fetch_sockets()
        .await
        .into_iter()
        .find(|s| s.data()["username"] == "n2")
        .unwrap();
    assert!(remote.as_local().is_none());
    remote.emit("direct", "to n2").unwrap();
    assert_eq!(c2.next("direct", 3000).await.unwrap(), json!(["to n2"]));
    remote.join("vip");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        c2.call("whoami", json!([])).await.unwrap()["rooms"]
            .as_array()
            .unwrap()
            .contains(&json!("vip"))
    );
    nodes[1].io.to("vip").emit("vip only", &()).unwrap();
    assert_eq!(c2.next("vip only", 3000).await.unwrap(), json!([]));
    c0.none("vip only", 200).await.unwrap();
    remote.leave("vip");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !c2.call("whoami", json!([])).await.unwrap()["rooms"]
            .as_array()
            .unwrap()
            .contains(&json!("vip"))
    );

    // Remote join/leave by room, exactly once: the sender's own clients are not joined twice
    // (a second join would emit nothing, but a join+leave pair must leave it out).
    nodes[2].io.to("room-0").sockets_join("zero");
    nodes[2].io.to("room-0").sockets_leave("room-0");
    tokio::time::sleep(Duration::from_millis(300)).await;
    for c in [c0, c2] {
        let rooms = c.call("whoami", json!([])).await.unwrap()["rooms"].clone();
        assert!(
            rooms.as_array().unwrap().contains(&json!("zero")),
            "{rooms}"
        );
        assert!(
            !rooms.as_array().unwrap().contains(&json!("room-0")),
            "{rooms}"
        );
    }

    // Local only: never published.
    nodes[0].io.local().emit("local", &()).unwrap();
    assert_eq!(c0.next("local", 3000).await.unwrap(), json!([]));
    c1.none("local", 300).await.unwrap();

    // Broadcast with acknowledgements aggregated over three nodes.
    let acks = nodes[1]
        .io
        .broadcast()
        .timeout(Duration::from_secs(3))
        .emit_with_ack("ask", &42)
        .await
        .unwrap();
    assert!(acks.is_complete(), "{acks:?}");
    assert_eq!(acks.responses.len(), 1);
    let mut remote: Vec<String> = acks
        .remote
        .iter()
        .map(|a| a.get::<String>().unwrap())
        .collect();
    remote.sort();
    assert_eq!(remote, ["n0", "n2"]);

    // Server-side emit with acknowledgements: the two other nodes answer.
    let answers = nodes[0]
        .io
        .server_side_emit_with_ack("ping", &("a", 1))
        .await
        .unwrap();
    assert_eq!(answers.len(), 2);
    for answer in &answers {
        assert_eq!(answer.get::<Value>().unwrap(), json!(["pong", "a", 1]));
    }
    for node in &nodes[1..] {
        let (_, event, args) = node.next_server_side(Duration::from_secs(3)).await.unwrap();
        assert_eq!((event.as_str(), args), ("ping", json!(["a", 1])));
    }
    nodes[0]
        .next_server_side(Duration::from_millis(200))
        .await
        .expect_err("no echo to the sender");

    // Disconnect a whole room, everywhere.
    nodes[1].io.to("zero").disconnect_sockets(true);
    assert_eq!(
        c0.next("disconnect", 3000).await.unwrap(),
        json!(["io server disconnect"])
    );
    assert_eq!(
        c2.next("disconnect", 3000).await.unwrap(),
        json!(["io server disconnect"])
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(nodes[2].io.fetch_sockets().await.len(), 1);
    for n in nodes {
        n.stop().await;
    }
}
