//! A cluster node that stops answering or goes away: requests wait only for the nodes
//! `PUBSUB NUMSUB` reports, at most the requests timeout, and return what the others
//! answered; counts are right again once Redis sees the node gone.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use integration_tests::{
    cluster_app::{NodeProcess, signal, start_rust_node},
    harness::{Client, Harness},
    redis_server::RedisServer,
};
use serde_json::json;
use tower_socketio_redis::RedisAdapterConfig;

const REQUESTS_TIMEOUT: Duration = Duration::from_millis(1500);

async fn wait_count(io: &tower_socketio::SocketIo, n: usize, within: Duration) -> Duration {
    let started = Instant::now();
    while io.server_count().await != n {
        assert!(
            started.elapsed() < within,
            "the server count never became {n}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    started.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_node_costs_one_timeout_and_a_dead_one_nothing() {
    let redis = RedisServer::start().await.unwrap();
    let config = RedisAdapterConfig::default().requests_timeout(REQUESTS_TIMEOUT);
    let a = start_rust_node(&redis.url(), config).await.unwrap();
    let mut c = NodeProcess::start(env!("CARGO_BIN_EXE_cluster-node"), &redis.url(), 1500)
        .await
        .unwrap();
    let d = Harness::start(120).await.unwrap();
    let started = d
        .call("server.start", json!({ "redisUrl": redis.url() }))
        .await
        .unwrap();
    let d_url = format!("http://127.0.0.1:{}", started["port"]);
    wait_count(&a.io, 3, Duration::from_secs(5)).await;

    let h = Harness::start(120).await.unwrap();
    let mut ids = Vec::new();
    for (name, url) in [("a", a.url()), ("c", c.url()), ("d", d_url.clone())] {
        let (client, id) = Client::connect(&h, name, &url, "/", json!({}))
            .await
            .unwrap();
        client
            .call("set data", json!([{ "username": name }]))
            .await
            .unwrap();
        ids.push(id);
    }
    let names = |sockets: &[tower_socketio::RemoteSocket]| {
        let mut v: Vec<String> = sockets
            .iter()
            .map(|s| s.data()["username"].as_str().unwrap_or("?").to_owned())
            .collect();
        v.sort();
        v
    };
    let t = Instant::now();
    assert_eq!(names(&a.io.fetch_sockets().await), ["a", "c", "d"]);
    assert!(
        t.elapsed() < Duration::from_secs(1),
        "all answered: no waiting"
    );

    // D freezes: Redis still counts its subscription, it answers nothing.
    signal(d.pid().unwrap(), "STOP").unwrap();
    let t = Instant::now();
    assert_eq!(names(&a.io.fetch_sockets().await), ["a", "c"]);
    let waited = t.elapsed();
    assert!(
        waited >= REQUESTS_TIMEOUT - Duration::from_millis(100) && waited < REQUESTS_TIMEOUT * 2,
        "waited {waited:?} for the silent node"
    );
    let t = Instant::now();
    let answers = a.io.server_side_emit_with_ack("ping", &"x").await.unwrap();
    assert_eq!(answers.len(), 1, "only C answers");
    assert!(t.elapsed() < REQUESTS_TIMEOUT * 2);
    let acks =
        a.io.broadcast()
            .timeout(Duration::from_secs(1))
            .emit_with_ack("ask", &())
            .await
            .unwrap();
    assert_eq!(acks.responses.len(), 1, "a answers");
    assert_eq!(acks.remote.len(), 1, "c answers");
    assert_eq!(acks.servers_missing, 1, "d never reported: {acks:?}");
    assert!(!acks.is_complete());

    // D dies: Redis drops its subscription at once, nobody waits for it any more.
    d.kill().await;
    let took = wait_count(&a.io, 2, Duration::from_secs(15)).await;
    eprintln!("server count right again {took:?} after the Node node was killed");
    let t = Instant::now();
    assert_eq!(names(&a.io.fetch_sockets().await), ["a", "c"]);
    assert!(t.elapsed() < Duration::from_secs(1));

    // The Rust node C dies too.
    c.kill().await;
    let took = wait_count(&a.io, 1, Duration::from_secs(15)).await;
    eprintln!("server count right again {took:?} after the Rust node was killed");
    let t = Instant::now();
    assert_eq!(names(&a.io.fetch_sockets().await), ["a"]);
    assert!(t.elapsed() < Duration::from_millis(500));
    let acks =
        a.io.broadcast()
            .timeout(Duration::from_secs(1))
            .emit_with_ack("ask", &())
            .await
            .unwrap();
    assert!(acks.is_complete(), "{acks:?}");
    a.stop().await;
}
