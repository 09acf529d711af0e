//! The sharded Redis adapter on a Redis Cluster of the test's own (3 masters): two Rust nodes
//! and a Node.js node (`createShardedAdapter` of `@socket.io/redis-adapter` 8.3) share rooms,
//! events, counts, fetch-sockets with data and server-side emits with acks; a master restarts.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use integration_tests::{
    cluster_app::{RustNode, start_node},
    harness::{Client, Harness},
    redis_server::RedisCluster,
};
use serde_json::{Value, json};
use tower_socketio_redis::{ShardedConfig, ShardedRedisAdapter, SubscriptionMode, redis};

async fn rust_node(cluster: &RedisCluster, mode: SubscriptionMode) -> RustNode {
    let url = cluster.url(0);
    let adapter = ShardedRedisAdapter::new(
        redis::cluster::ClusterClientBuilder::new(vec![url]),
        ShardedConfig::default().subscription_mode(mode),
    )
    .await
    .unwrap();
    start_node(adapter).await.unwrap()
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

async fn scenario(mode: SubscriptionMode, node_mode: &str) {
    let mut cluster = RedisCluster::start(3).await.unwrap();
    let a = rust_node(&cluster, mode).await;
    let b = rust_node(&cluster, mode).await;
    let server = Harness::start(180).await.unwrap();
    let started = server
        .call(
            "server.start",
            json!({ "redisUrl": cluster.url(1), "sharded": true, "mode": node_mode }),
        )
        .await
        .unwrap();
    let node_url = format!("http://127.0.0.1:{}", started["port"]);
    wait_count(&a, 3).await;
    wait_count(&b, 3).await;
    assert_eq!(
        server.call("server.serverCount", json!({})).await.unwrap(),
        json!(3)
    );

    let h = Harness::start(180).await.unwrap();
    let (ca, ca_id) = Client::connect(&h, "ca", &a.url(), "/", json!({}))
        .await
        .unwrap();
    let (cb, _) = Client::connect(
        &h,
        "cb",
        &b.url(),
        "/",
        json!({"transports": ["websocket"]}),
    )
    .await
    .unwrap();
    let (cn, cn_id) = Client::connect(&h, "cn", &node_url, "/", json!({}))
        .await
        .unwrap();
    for (c, name) in [(ca, "ca"), (cb, "cb"), (cn, "cn")] {
        c.call("set data", json!([{ "username": name }]))
            .await
            .unwrap();
    }
    ca.call("join", json!(["game"])).await.unwrap();
    cn.call("join", json!(["game"])).await.unwrap();
    // The dynamic room subscriptions take effect asynchronously.
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Everyone, one room (its own channel in the dynamic modes), except, binary.
    a.io.emit("all", &1).unwrap();
    for c in [ca, cb, cn] {
        assert_eq!(c.next("all", 3000).await.unwrap(), json!([1]), "{}", c.name);
    }
    b.io.to("game")
        .emit("game", &("x", bytes::Bytes::from_static(b"\x01")))
        .unwrap();
    for c in [ca, cn] {
        assert_eq!(
            c.next("game", 3000).await.unwrap(),
            json!(["x", {"$bin": "AQ=="}])
        );
    }
    cb.none("game", 300).await.unwrap();
    server
        .call(
            "server.emit",
            json!({"rooms": ["game"], "except": [cn_id], "event": "from node", "args": [{"k": 2}]}),
        )
        .await
        .unwrap();
    assert_eq!(ca.next("from node", 3000).await.unwrap(), json!([{"k": 2}]));
    cn.none("from node", 300).await.unwrap();
    // A socket's own room (no dynamic channel in the default mode).
    a.io.to(cn_id.as_str()).emit("direct", &()).unwrap();
    assert_eq!(cn.next("direct", 3000).await.unwrap(), json!([]));

    // Fetch with data, both ways.
    let mut names: Vec<String> =
        b.io.fetch_sockets()
            .await
            .iter()
            .map(|s| s.data()["username"].as_str().unwrap().to_owned())
            .collect();
    names.sort();
    assert_eq!(names, ["ca", "cb", "cn"]);
    let fetched = server
        .call("server.fetchSockets", json!({"rooms": ["game"]}))
        .await
        .unwrap();
    let mut ids: Vec<&str> = fetched
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    ids.sort();
    let mut expected = vec![ca_id.as_str(), cn_id.as_str()];
    expected.sort();
    assert_eq!(ids, expected);

    // Remote join and disconnect, both ways.
    server
        .call(
            "server.socketsJoin",
            json!({"rooms": [ca_id], "join": "by-node"}),
        )
        .await
        .unwrap();
    b.io.to(cn_id.as_str()).sockets_join("by-rust");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        ca.call("whoami", json!([])).await.unwrap()["rooms"]
            .as_array()
            .unwrap()
            .contains(&json!("by-node"))
    );
    assert!(
        cn.call("whoami", json!([])).await.unwrap()["rooms"]
            .as_array()
            .unwrap()
            .contains(&json!("by-rust"))
    );

    // Server-side emit with acks, both ways.
    let answers = a.io.server_side_emit_with_ack("ping", &"hi").await.unwrap();
    assert_eq!(answers.len(), 2);
    for answer in &answers {
        assert_eq!(answer.get::<Value>().unwrap(), json!(["pong", "hi"]));
    }
    let answered = server
        .call(
            "server.serverSideEmit",
            json!({"event": "ping", "args": [3], "ack": true}),
        )
        .await
        .unwrap();
    assert_eq!(answered["responses"], json!([["pong", 3], ["pong", 3]]));

    // Broadcast with acks, both ways.
    let acks =
        b.io.broadcast()
            .timeout(Duration::from_secs(3))
            .emit_with_ack("ask", &())
            .await
            .unwrap();
    assert!(acks.is_complete(), "{acks:?}");
    let mut who: Vec<String> = acks
        .remote
        .iter()
        .map(|a| a.get::<String>().unwrap())
        .collect();
    who.sort();
    assert_eq!(who, ["ca", "cn"]);
    let answered = server
        .call(
            "server.emitWithAck",
            json!({"event": "ask", "args": [], "timeoutMs": 3000}),
        )
        .await
        .unwrap();
    assert_eq!(
        answered["responses"].as_array().map(Vec::len),
        Some(3),
        "{answered}"
    );

    // A master restarts: every node re-subscribes and delivers again, in every direction.
    cluster.restart(0).await.unwrap();
    let restarted = Instant::now();
    for (what, event, from, to) in [
        ("Rust to Rust", "r2r", "b", ca),
        ("Rust to Node", "r2n", "a", cn),
        ("Node to Rust", "n2r", "node", ca),
    ] {
        loop {
            match from {
                "a" => a.io.to("game").emit(event, &()).unwrap(),
                "b" => b.io.to("game").emit(event, &()).unwrap(),
                _ => {
                    server
                        .call(
                            "server.emit",
                            json!({"rooms": ["game"], "event": event, "args": []}),
                        )
                        .await
                        .unwrap();
                }
            }
            if to.next(event, 300).await.is_ok() {
                break;
            }
            assert!(
                restarted.elapsed() < Duration::from_secs(20),
                "{what}: no delivery within 20 s of the restart"
            );
        }
        eprintln!(
            "{what}: delivering again {:?} after the restart",
            restarted.elapsed()
        );
    }
    wait_count(&a, 3).await;
    let mut names: Vec<String> =
        a.io.fetch_sockets()
            .await
            .iter()
            .map(|s| s.data()["username"].as_str().unwrap().to_owned())
            .collect();
    names.sort();
    assert_eq!(names, ["ca", "cb", "cn"]);
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sharded_dynamic_mode_with_a_node_server() {
    scenario(SubscriptionMode::Dynamic, "dynamic").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sharded_static_mode_with_a_node_server() {
    scenario(SubscriptionMode::Static, "static").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sharded_dynamic_private_mode_with_a_node_server() {
    scenario(SubscriptionMode::DynamicPrivate, "dynamic-private").await;
}
