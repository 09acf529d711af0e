//! The sharded Redis adapter on a Redis Cluster of the test's own (3 masters): two Rust nodes
//! and a Node.js node (`createShardedAdapter` of `@socket.io/redis-adapter` 8.3) share rooms,
//! events, counts, fetch-sockets with data and server-side emits with acks; a master restarts.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use integration_tests::{
    cluster_app::{RustNode, start_node},
    cluster_matrix,
    harness::Harness,
    redis_server::RedisCluster,
};
use serde_json::json;
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
    let [ca, _cb, cn] = cluster_matrix::exercise(&a, &b, &server, &node_url, &h).await;

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
