//! The PostgreSQL adapter on a PostgreSQL server of the test's own (`initdb` + `postgres` on a
//! free port): two Rust nodes and a Node.js node (`@socket.io/postgres-adapter` 0.5) share
//! rooms, events, counts (by heartbeat), fetch-sockets and server-side emits; events over the
//! `NOTIFY` limit and binary ones go through the attachments table; a node is killed; the
//! database restarts.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use integration_tests::{
    cluster_app::{NodeProcess, RustNode, start_node},
    cluster_matrix,
    harness::{Client, Harness},
    postgres_server::PostgresServer,
};
use serde_json::json;
use tower_socketio_postgres::{PostgresAdapter, PostgresConfig};

const NODE_BIN: &str = env!("CARGO_BIN_EXE_cluster-node");
/// The heartbeat of every node of these tests (Node's default is 5 s; the timeout is three
/// times it).
const HEARTBEAT_MS: u64 = 500;

async fn rust_node(pg: &PostgresServer) -> RustNode {
    let interval = Duration::from_millis(HEARTBEAT_MS);
    let adapter = PostgresAdapter::new(
        pg.url().parse().unwrap(),
        PostgresConfig::default().heartbeat(interval, interval * 3),
    )
    .await
    .unwrap();
    start_node(adapter).await.unwrap()
}

async fn node_node(pg: &PostgresServer) -> (Harness, String) {
    let server = Harness::start(240).await.unwrap();
    let started = server
        .call(
            "server.start",
            json!({ "postgresUrl": pg.url(), "heartbeatMs": HEARTBEAT_MS }),
        )
        .await
        .unwrap();
    let url = format!("http://127.0.0.1:{}", started["port"]);
    (server, url)
}

async fn wait_count(node: &RustNode, n: usize) {
    let started = Instant::now();
    while node.io.server_count().await != n {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "the server count never became {n} (it is {})",
            node.io.server_count().await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn attachments(pg: &PostgresServer) -> i64 {
    let client = pg.client().await.unwrap();
    client
        .query_one("SELECT count(*) FROM socket_io_attachments", &[])
        .await
        .unwrap()
        .get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_nodes_share_rooms_events_and_counts_with_a_node_server() {
    let pg = PostgresServer::start().await.unwrap();
    let a = rust_node(&pg).await;
    let b = rust_node(&pg).await;
    let (server, node_url) = node_node(&pg).await;
    wait_count(&a, 3).await;
    wait_count(&b, 3).await;
    let started = Instant::now();
    while server.call("server.serverCount", json!({})).await.unwrap() != json!(3) {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "Node never counts 3"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let h = Harness::start(180).await.unwrap();
    let [ca, cb, cn] = cluster_matrix::exercise(&a, &b, &server, &node_url, &h).await;
    // (The matrix's binary event went through the table.)
    assert!(attachments(&pg).await >= 1);

    // Over the NOTIFY limit (8000 bytes): through the attachments table, both ways.
    let before = attachments(&pg).await;
    let big = "x".repeat(20_000);
    a.io.to("game").emit("big", &big).unwrap();
    assert_eq!(cn.next("big", 5000).await.unwrap(), json!([big]));
    assert_eq!(ca.next("big", 5000).await.unwrap(), json!([big]));
    server
        .call("server.emit", json!({"event": "big", "args": [big]}))
        .await
        .unwrap();
    for c in [ca, cb] {
        assert_eq!(
            c.next("big", 5000).await.unwrap(),
            json!([big]),
            "{}",
            c.name
        );
    }
    assert!(
        attachments(&pg).await >= before + 2,
        "both big events are in the table"
    );
    // Just under the limit: a plain notification.
    let before = attachments(&pg).await;
    b.io.emit("medium", &"y".repeat(7000)).unwrap();
    for c in [ca, cn] {
        assert_eq!(
            c.next("medium", 5000).await.unwrap()[0]
                .as_str()
                .map(str::len),
            Some(7000)
        );
    }
    assert_eq!(attachments(&pg).await, before);
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_node_leaves_the_count_and_the_database_restarts() {
    let mut pg = PostgresServer::start().await.unwrap();
    let b = rust_node(&pg).await;
    let heartbeat = HEARTBEAT_MS.to_string();
    let mut killed = NodeProcess::start_with(
        NODE_BIN,
        &[
            &pg.url(),
            "2000",
            "--postgres",
            "--heartbeat-ms",
            &heartbeat,
        ],
    )
    .await
    .unwrap();
    let (server, node_url) = node_node(&pg).await;
    wait_count(&b, 3).await;
    let h = Harness::start(120).await.unwrap();
    let (on_killed, _) = Client::connect(&h, "k", &killed.url(), "/", json!({}))
        .await
        .unwrap();
    let (on_node, _) = Client::connect(&h, "n", &node_url, "/", json!({}))
        .await
        .unwrap();
    b.io.emit("hi", &1).unwrap();
    on_killed.next("hi", 3000).await.unwrap();
    on_node.next("hi", 3000).await.unwrap();

    killed.kill().await;
    // Gone after the heartbeat timeout: the count drops everywhere, and requests no longer
    // wait for it.
    let started = Instant::now();
    wait_count(&b, 2).await;
    eprintln!(
        "count 2 on the Rust node {:?} after the kill",
        started.elapsed()
    );
    while server.call("server.serverCount", json!({})).await.unwrap() != json!(2) {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "Node never counts 2"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let asked = Instant::now();
    let sockets = b.io.fetch_sockets().await;
    assert_eq!(sockets.len(), 1, "the Node node's socket");
    assert!(
        asked.elapsed() < Duration::from_secs(1),
        "fetch-sockets answered by every live node at once ({:?})",
        asked.elapsed()
    );

    // The database restarts: both nodes listen again and deliver again.
    pg.restart().await.unwrap();
    let restarted = Instant::now();
    loop {
        b.io.emit("again", &()).unwrap();
        if on_node.next("again", 300).await.is_ok() {
            break;
        }
        assert!(
            restarted.elapsed() < Duration::from_secs(20),
            "Rust to Node: no delivery within 20 s of the restart"
        );
    }
    eprintln!(
        "Rust to Node again {:?} after the restart",
        restarted.elapsed()
    );
    let (on_b, _) = Client::connect(&h, "b", &b.url(), "/", json!({}))
        .await
        .unwrap();
    loop {
        server
            .call("server.emit", json!({"event": "back", "args": []}))
            .await
            .unwrap();
        if on_b.next("back", 300).await.is_ok() {
            break;
        }
        assert!(
            restarted.elapsed() < Duration::from_secs(20),
            "Node to Rust: no delivery within 20 s of the restart"
        );
    }
    eprintln!(
        "Node to Rust again {:?} after the restart",
        restarted.elapsed()
    );
    wait_count(&b, 2).await;
    b.stop().await;
}
