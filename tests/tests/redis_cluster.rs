//! Rust nodes sharing one Redis (a `redis-server` of the test's own), with real npm clients
//! on each: every operation reaches the sockets of every node.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use integration_tests::{
    cluster_app::{RustNode, start_rust_node},
    harness::{Client, Harness},
    redis_server::RedisServer,
};
use serde_json::json;
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
        n.stop();
    }
}
