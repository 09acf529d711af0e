//! The Redis Streams adapter on a Redis of the test's own: two Rust nodes and a Node.js node
//! (`@socket.io/redis-streams-adapter` 0.3.1) share rooms, events, counts, fetch-sockets and
//! server-side emits; and connection state recovery works across nodes, in every direction: a
//! client whose connection is cut and sent to another node gets its id, rooms and data back
//! with every message sent meanwhile, once and in order.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use integration_tests::{
    cluster_app::{NodeProcess, RustNode, start_node_with},
    cluster_matrix,
    harness::{Client, Harness},
    proxy::Proxy,
    redis_server::RedisServer,
};
use serde_json::{Value, json};
use tower_socketio::{RecoveryConfig, SocketIoConfig};
use tower_socketio_redis::{RedisStreamsAdapter, StreamsConfig, redis};

const NODE_BIN: &str = env!("CARGO_BIN_EXE_cluster-node");

fn recovery(window: Duration) -> SocketIoConfig {
    let mut recovery = RecoveryConfig::default();
    recovery.max_disconnection_duration = window;
    SocketIoConfig::default().connection_state_recovery(recovery)
}

async fn rust_node(redis: &RedisServer, config: SocketIoConfig) -> RustNode {
    let client = redis::Client::open(redis.url()).unwrap();
    let adapter = RedisStreamsAdapter::new(client, StreamsConfig::default())
        .await
        .unwrap();
    start_node_with(config, adapter).await.unwrap()
}

/// A Node.js node with the streams adapter: its harness and its address.
async fn node_node(redis: &RedisServer, recovery_ms: Option<u64>) -> (Harness, SocketAddr) {
    let server = Harness::start(240).await.unwrap();
    let mut params = json!({ "redisUrl": redis.url(), "streams": true });
    if let Some(ms) = recovery_ms {
        params["recovery"] = json!(true);
        params["recoveryMs"] = json!(ms);
    }
    let started = server.call("server.start", params).await.unwrap();
    let port = u16::try_from(started["port"].as_u64().unwrap()).unwrap();
    (server, SocketAddr::from(([127, 0, 0, 1], port)))
}

async fn wait_count(node: &RustNode, n: usize) {
    let started = Instant::now();
    while node.io.server_count().await != n {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the server count never became {n}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_nodes_share_rooms_events_and_counts_with_a_node_server() {
    let redis = RedisServer::start().await.unwrap();
    let a = rust_node(&redis, SocketIoConfig::default()).await;
    let b = rust_node(&redis, SocketIoConfig::default()).await;
    let (server, node_addr) = node_node(&redis, None).await;
    wait_count(&a, 3).await;
    wait_count(&b, 3).await;
    assert_eq!(
        server.call("server.serverCount", json!({})).await.unwrap(),
        json!(3)
    );
    let h = Harness::start(180).await.unwrap();
    let node_url = integration_tests::http_url(node_addr);
    let [ca, _cb, cn] = cluster_matrix::exercise(&a, &b, &server, &node_url, &h).await;

    // The stream holds what Node's adapter writes: `uid`, `nsp`, `type` and JSON `data`,
    // base64 msgpack when the data has binary.
    let mut conn = redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    a.io.to("game")
        .emit("traced", &json!({"k": [1, 2]}))
        .unwrap();
    assert_eq!(
        ca.next("traced", 3000).await.unwrap(),
        json!([{"k": [1, 2]}])
    );
    assert_eq!(
        cn.next("traced", 3000).await.unwrap(),
        json!([{"k": [1, 2]}])
    );
    let entries: Vec<(String, Vec<(String, String)>)> = redis::cmd("XREVRANGE")
        .arg("socket.io")
        .arg("+")
        .arg("-")
        .arg("COUNT")
        .arg(20)
        .query_async(&mut conn)
        .await
        .unwrap();
    let traced = entries
        .iter()
        .map(|(_, fields)| {
            fields
                .iter()
                .cloned()
                .collect::<std::collections::HashMap<_, _>>()
        })
        .find(|f| f.get("data").is_some_and(|d| d.contains("traced")))
        .expect("the broadcast is in the stream");
    assert_eq!(traced["nsp"], "/");
    assert_eq!(traced["type"], "3");
    assert_eq!(traced["uid"].len(), 16, "{traced:?}");
    let data: Value = serde_json::from_str(&traced["data"]).unwrap();
    assert_eq!(
        data,
        json!({
            "packet": {"type": 2, "data": ["traced", {"k": [1, 2]}]},
            "opts": {"rooms": ["game"], "except": [], "flags": {}}
        })
    );
    a.stop().await;
    b.stop().await;
}

/// A client of `h` through `proxy`, with recovery-friendly reconnection, in room `r` with
/// data `{"name": name}`; its id.
async fn recoverable_client<'h>(
    h: &'h Harness,
    name: &'h str,
    proxy: &Proxy,
) -> (Client<'h>, String) {
    let (client, id) = Client::connect(
        h,
        name,
        &proxy.url(),
        "/",
        json!({"transports": ["websocket"], "reconnection": true, "reconnectionDelayMs": 200}),
    )
    .await
    .unwrap();
    client.call("join", json!(["r"])).await.unwrap();
    client
        .call("set data", json!([{ "name": name }]))
        .await
        .unwrap();
    (client, id)
}

/// Takes the next `range` ticks: each once, in order, each with its offset (a stream id).
async fn take_ticks(client: Client<'_>, range: std::ops::Range<u64>) {
    for i in range {
        let args = client.next("tick", 5000).await.unwrap();
        assert_eq!(args[0], json!(i), "tick {i}: {args}");
        let offset = args[1].as_str().unwrap_or_default();
        assert!(
            offset.split_once('-').is_some_and(|(ms, seq)| {
                ms.parse::<u64>().is_ok() && seq.parse::<u64>().is_ok()
            }),
            "tick {i} carries a stream id: {args}"
        );
    }
}

/// The next reconnection of `client`: `(id, recovered)`.
async fn reconnected(client: Client<'_>) -> (String, bool) {
    let args = client.next("reconnected", 15_000).await.unwrap();
    (
        args[0].as_str().unwrap().to_owned(),
        args[1].as_bool().unwrap(),
    )
}

/// The cut-and-move scenario: `client` (in room `r`, on the node behind `proxy`) has its
/// connection cut; 100 ticks go to room `r` over 5 s; the proxy then sends it to `to`. It
/// must come back with the same id, recovered, and get every tick once, in order.
async fn cut_and_move<F, Fut>(proxy: &Proxy, client: Client<'_>, id: &str, to: SocketAddr, tick: F)
where
    F: Fn(u64) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for i in 0..10 {
        tick(i).await;
    }
    take_ticks(client, 0..10).await;

    proxy.cut();
    assert_eq!(
        client.next("disconnect", 5000).await.unwrap(),
        json!(["transport close"])
    );
    for i in 10..110 {
        tick(i).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    proxy.route(to);
    let (new_id, recovered) = reconnected(client).await;
    assert!(recovered, "the session is recovered on the other node");
    assert_eq!(new_id, id, "same socket id after recovery");
    take_ticks(client, 10..110).await;
    let me = client.call("whoami", json!([])).await.unwrap();
    assert!(
        me["rooms"].as_array().unwrap().contains(&json!("r")),
        "rooms recovered: {me}"
    );
    assert_eq!(
        me["data"]["name"],
        json!(client.name),
        "data recovered: {me}"
    );
    for i in 110..115 {
        tick(i).await;
    }
    take_ticks(client, 110..115).await;
    client.none("tick", 500).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_recover_across_rust_and_node_nodes() {
    let redis = RedisServer::start().await.unwrap();
    let window = Duration::from_secs(120);
    let a = rust_node(&redis, recovery(window)).await;
    let b = rust_node(&redis, recovery(window)).await;
    let (server, n_addr) = node_node(&redis, Some(120_000)).await;
    wait_count(&a, 3).await;
    let h = Harness::start(240).await.unwrap();

    // Rust to Rust, the ticks from the Node node.
    let proxy = Proxy::start(a.addr).await.unwrap();
    let (client, id) = recoverable_client(&h, "rr", &proxy).await;
    cut_and_move(&proxy, client, &id, b.addr, |i| {
        let server = &server;
        async move {
            server
                .call(
                    "server.emit",
                    json!({"rooms": ["r"], "event": "tick", "args": [i]}),
                )
                .await
                .unwrap();
        }
    })
    .await;
    client.disconnect().await.unwrap();

    // Rust to Node, the ticks from the other Rust node.
    let proxy = Proxy::start(b.addr).await.unwrap();
    let (client, id) = recoverable_client(&h, "rn", &proxy).await;
    cut_and_move(&proxy, client, &id, n_addr, |i| {
        let a = &a;
        async move { a.io.to("r").emit("tick", &i).unwrap() }
    })
    .await;
    client.disconnect().await.unwrap();

    // Node to Rust, the ticks from the very node the client left (its socket is gone there;
    // the ticks go through the stream).
    let proxy = Proxy::start(n_addr).await.unwrap();
    let (client, id) = recoverable_client(&h, "nr", &proxy).await;
    cut_and_move(&proxy, client, &id, a.addr, |i| {
        let server = &server;
        async move {
            server
                .call(
                    "server.emit",
                    json!({"rooms": ["r"], "event": "tick", "args": [i]}),
                )
                .await
                .unwrap();
        }
    })
    .await;
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_past_its_window_starts_anew() {
    let redis = RedisServer::start().await.unwrap();
    let short = rust_node(&redis, recovery(Duration::from_millis(1500))).await;
    let other = rust_node(&redis, recovery(Duration::from_secs(120))).await;
    wait_count(&short, 2).await;
    let h = Harness::start(120).await.unwrap();
    let proxy = Proxy::start(short.addr).await.unwrap();
    let (client, id) = recoverable_client(&h, "late", &proxy).await;
    short.io.to("r").emit("tick", &0).unwrap();
    take_ticks(client, 0..1).await;
    proxy.cut();
    client.next("disconnect", 5000).await.unwrap();
    other.io.to("r").emit("tick", &1).unwrap();
    // The session key expires in Redis after the window of the node that kept it.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    proxy.route(other.addr);
    let (new_id, recovered) = reconnected(client).await;
    assert!(!recovered);
    assert_ne!(new_id, id);
    let me = client.call("whoami", json!([])).await.unwrap();
    assert_eq!(
        me["rooms"],
        json!([new_id]),
        "a new session joins no room: {me}"
    );
    client.none("tick", 300).await.unwrap();
    other.io.emit("hello", &()).unwrap();
    assert_eq!(
        client
            .next("hello", 3000)
            .await
            .unwrap()
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    short.stop().await;
    other.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_goes_away() {
    let redis = RedisServer::start().await.unwrap();
    let b = rust_node(&redis, recovery(Duration::from_secs(120))).await;
    let h = Harness::start(180).await.unwrap();

    // Shut down (SIGTERM): its sockets leave with "server shutting down", their sessions are
    // kept, and they recover on another node with what they missed.
    let mut a = NodeProcess::start_with(
        NODE_BIN,
        &[&redis.url(), "--streams", "--recovery-ms", "120000"],
    )
    .await
    .unwrap();
    wait_count(&b, 2).await;
    let proxy = Proxy::start(a.addr).await.unwrap();
    let (client, id) = recoverable_client(&h, "term", &proxy).await;
    b.io.to("r").emit("tick", &0).unwrap();
    take_ticks(client, 0..1).await;
    proxy.route(b.addr);
    assert!(
        a.terminate(Duration::from_secs(15)).await.unwrap(),
        "clean exit"
    );
    assert_eq!(
        client.next("disconnect", 5000).await.unwrap(),
        json!(["transport close"]),
        "the client reconnects by itself"
    );
    for i in 1..21 {
        b.io.to("r").emit("tick", &i).unwrap();
    }
    let (new_id, recovered) = reconnected(client).await;
    assert!(recovered, "recovered after a graceful shutdown");
    assert_eq!(new_id, id);
    take_ticks(client, 1..21).await;
    client.disconnect().await.unwrap();

    // Killed: nothing was kept; the client starts a new session on another node.
    let mut a = NodeProcess::start_with(
        NODE_BIN,
        &[&redis.url(), "--streams", "--recovery-ms", "120000"],
    )
    .await
    .unwrap();
    wait_count(&b, 2).await;
    let proxy = Proxy::start(a.addr).await.unwrap();
    let (client, id) = recoverable_client(&h, "kill", &proxy).await;
    b.io.to("r").emit("tick", &0).unwrap();
    take_ticks(client, 0..1).await;
    proxy.route(b.addr);
    a.kill().await;
    client.next("disconnect", 5000).await.unwrap();
    let (new_id, recovered) = reconnected(client).await;
    assert!(!recovered);
    assert_ne!(new_id, id);
    b.io.emit("hello", &()).unwrap();
    client.next("hello", 3000).await.unwrap();
    // The killed node drops out of the count (NUMSUB: its subscription is gone).
    wait_count(&b, 1).await;
    b.stop().await;
}

/// Several streams: each namespace on its own (Node's `streamCount`), the negative-index one of
/// Node's quirk included (read by the Rust nodes).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespaces_spread_over_several_streams() {
    let redis = RedisServer::start().await.unwrap();
    let long = "/some/long/namespace/name";
    let mut nodes = Vec::new();
    for _ in 0..2 {
        let client = redis::Client::open(redis.url()).unwrap();
        let adapter = RedisStreamsAdapter::new(client, StreamsConfig::default().stream_count(3))
            .await
            .unwrap();
        let io = tower_socketio::SocketIo::builder().adapter(adapter).build();
        io.ns("/", |_: tower_socketio::Socket| async {});
        io.ns(long, |_: tower_socketio::Socket| async {});
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = axum::Router::new().layer(io.layer());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        nodes.push((io, integration_tests::http_url(addr)));
    }
    let h = Harness::start(60).await.unwrap();
    let (main, _) = Client::connect(&h, "main", &nodes[1].1, "/", json!({}))
        .await
        .unwrap();
    let (other, _) = Client::connect(&h, "long", &nodes[1].1, long, json!({}))
        .await
        .unwrap();
    let started = Instant::now();
    while nodes[0].0.of(long).unwrap().server_count().await != 2 {
        assert!(started.elapsed() < Duration::from_secs(10));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    nodes[0].0.emit("m", &1).unwrap();
    nodes[0].0.of(long).unwrap().emit("m", &2).unwrap();
    assert_eq!(main.next("m", 3000).await.unwrap(), json!([1]));
    assert_eq!(other.next("m", 3000).await.unwrap(), json!([2]));
    let mut conn = redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    for (stream, n) in [("socket.io-2", 1), ("socket.io--1", 1), ("socket.io", 0)] {
        let len: usize = redis::cmd("XLEN")
            .arg(stream)
            .query_async(&mut conn)
            .await
            .unwrap();
        assert_eq!(len, n, "{stream}");
    }
}
