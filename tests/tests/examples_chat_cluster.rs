//! The chat example as nodes of a cluster: two Rust chat nodes and a Node.js chat node (with
//! `@socket.io/redis-adapter`) on one Redis. Users on different nodes chat, and every `users`
//! count is cluster-wide.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;

use integration_tests::{
    harness::{Client, Harness},
    postgres_server::PostgresServer,
    proxy::Proxy,
    redis_server::RedisServer,
};
use serde_json::{Value, json};
use tower_socketio::{SocketIoConfig, adapter::AdapterFactory};
use tower_socketio_postgres::PostgresAdapter;
use tower_socketio_redis::{RedisAdapter, RedisStreamsAdapter};

async fn rust_chat(redis: &RedisServer) -> (String, tower_socketio::SocketIo) {
    serve_chat(RedisAdapter::connect(&redis.url()).await.unwrap()).await
}

async fn serve_chat(adapter: impl AdapterFactory) -> (String, tower_socketio::SocketIo) {
    let io = chat::socket_io_with_adapter(SocketIoConfig::default(), adapter);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = chat::router(io.clone());
    tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await;
    });
    (integration_tests::http_url(addr), io)
}

fn payload(args: Value) -> (String, u64) {
    (
        args[0]["username"].as_str().unwrap_or_default().to_owned(),
        args[0]["users"].as_u64().unwrap_or(u64::MAX),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_on_different_nodes_chat_with_cluster_wide_counts() {
    let redis = RedisServer::start().await.unwrap();
    let (url_a, io_a) = rust_chat(&redis).await;
    let (url_b, _io_b) = rust_chat(&redis).await;
    let node = Harness::start(120).await.unwrap();
    let started = node
        .call(
            "server.start",
            json!({ "redisUrl": redis.url(), "app": "chat" }),
        )
        .await
        .unwrap();
    let url_c = format!("http://127.0.0.1:{}", started["port"]);
    while io_a.server_count().await != 3 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }

    let h = Harness::start(120).await.unwrap();
    let (alice, _) = Client::connect(&h, "alice", &url_a, "/", json!({}))
        .await
        .unwrap();
    let (bob, _) = Client::connect(&h, "bob", &url_b, "/", json!({"transports": ["websocket"]}))
        .await
        .unwrap();
    let (carol, _) = Client::connect(&h, "carol", &url_c, "/", json!({}))
        .await
        .unwrap();
    // A socket that never logs in is not a user.
    let (_lurker, _) = Client::connect(&h, "lurker", &url_b, "/", json!({}))
        .await
        .unwrap();

    alice.emit("add user", json!(["alice"])).await.unwrap();
    assert_eq!(alice.next("login", 3000).await.unwrap()[0]["users"], 1);
    for c in [bob, carol] {
        assert_eq!(
            payload(c.next("user joined", 3000).await.unwrap()),
            ("alice".into(), 1)
        );
    }
    bob.emit("add user", json!(["bob"])).await.unwrap();
    assert_eq!(bob.next("login", 3000).await.unwrap()[0]["users"], 2);
    for c in [alice, carol] {
        assert_eq!(
            payload(c.next("user joined", 3000).await.unwrap()),
            ("bob".into(), 2)
        );
    }
    carol.emit("add user", json!(["carol"])).await.unwrap();
    assert_eq!(
        carol.next("login", 3000).await.unwrap()[0]["users"],
        3,
        "the Node node counts the Rust nodes' users"
    );
    for c in [alice, bob] {
        assert_eq!(
            payload(c.next("user joined", 3000).await.unwrap()),
            ("carol".into(), 3)
        );
    }

    // Messages and typing across the three nodes, never to the sender.
    bob.emit("new message", json!(["hi from b"])).await.unwrap();
    for c in [alice, carol] {
        // (The Rust nodes append their recovery offset, as Node does with recovery on.)
        assert_eq!(
            c.next("new message", 3000).await.unwrap()[0],
            json!({"username": "bob", "message": "hi from b"})
        );
    }
    carol.emit("typing", json!([])).await.unwrap();
    for c in [alice, bob] {
        assert_eq!(
            c.next("typing", 3000).await.unwrap()[0],
            json!({"username": "carol"})
        );
    }
    alice
        .emit("new message", json!(["hi from a"]))
        .await
        .unwrap();
    for c in [bob, carol] {
        assert_eq!(
            c.next("new message", 3000).await.unwrap()[0]["message"],
            "hi from a"
        );
    }
    bob.none("typing", 200).await.unwrap();
    alice.none("new message", 200).await.unwrap();

    // Departures, counted right everywhere.
    h.call("client.close", json!({"name": "carol"}))
        .await
        .unwrap();
    for c in [alice, bob] {
        assert_eq!(
            payload(c.next("user left", 3000).await.unwrap()),
            ("carol".into(), 2)
        );
    }
    bob.disconnect().await.unwrap();
    assert_eq!(
        payload(alice.next("user left", 3000).await.unwrap()),
        ("bob".into(), 1)
    );
    let (dave, _) = Client::connect(&h, "dave", &url_c, "/", json!({}))
        .await
        .unwrap();
    dave.emit("add user", json!(["dave"])).await.unwrap();
    assert_eq!(dave.next("login", 3000).await.unwrap()[0]["users"], 2);
    assert_eq!(
        payload(alice.next("user joined", 3000).await.unwrap()),
        ("dave".into(), 2)
    );
}

/// `REDIS_ADAPTER=streams`: a user whose connection drops comes back on another node — the
/// Node.js chat — with the messages sent meanwhile, and chats on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_on_streams_recovers_a_user_on_another_node() {
    let redis = RedisServer::start().await.unwrap();
    let (url_a, io_a) = serve_chat(RedisStreamsAdapter::connect(&redis.url()).await.unwrap()).await;
    let node = Harness::start(120).await.unwrap();
    let started = node
        .call(
            "server.start",
            json!({ "redisUrl": redis.url(), "app": "chat", "streams": true, "recovery": true }),
        )
        .await
        .unwrap();
    let port = u16::try_from(started["port"].as_u64().unwrap()).unwrap();
    while io_a.server_count().await != 2 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let addr_a: SocketAddr = url_a.trim_start_matches("http://").parse().unwrap();
    let proxy = Proxy::start(addr_a).await.unwrap();

    let h = Harness::start(120).await.unwrap();
    let (alice, alice_id) = Client::connect(
        &h,
        "alice",
        &proxy.url(),
        "/",
        json!({"transports": ["websocket"], "reconnection": true}),
    )
    .await
    .unwrap();
    alice.emit("add user", json!(["alice"])).await.unwrap();
    assert_eq!(alice.next("login", 3000).await.unwrap()[0]["users"], 1);
    let (bob, _) = Client::connect(
        &h,
        "bob",
        &format!("http://127.0.0.1:{port}"),
        "/",
        json!({}),
    )
    .await
    .unwrap();
    bob.emit("add user", json!(["bob"])).await.unwrap();
    assert_eq!(
        payload(alice.next("user joined", 3000).await.unwrap()),
        ("bob".into(), 2)
    );

    proxy.cut();
    alice.next("disconnect", 5000).await.unwrap();
    for i in 0..20 {
        bob.emit("new message", json!([format!("m{i}")]))
            .await
            .unwrap();
    }
    proxy.route(SocketAddr::from(([127, 0, 0, 1], port)));
    let back = alice.next("reconnected", 10_000).await.unwrap();
    assert_eq!(back, json!([alice_id, true]), "same id, recovered");
    for i in 0..20 {
        let args = alice.next("new message", 3000).await.unwrap();
        assert_eq!(
            args[0],
            json!({"username": "bob", "message": format!("m{i}")}),
            "missed message {i}"
        );
    }
    alice.none("new message", 300).await.unwrap();
    // Still logged in as alice (her data came back): she chats on, from the Node node.
    alice.emit("new message", json!(["back"])).await.unwrap();
    assert_eq!(
        bob.next("new message", 3000).await.unwrap()[0],
        json!({"username": "alice", "message": "back"})
    );
}

/// `DATABASE_URL`: the chat on the PostgreSQL adapter, a Rust node and a Node.js node.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_on_postgres_counts_and_delivers_across_nodes() {
    let pg = PostgresServer::start().await.unwrap();
    let (url_a, io_a) = serve_chat(PostgresAdapter::connect(&pg.url()).await.unwrap()).await;
    let node = Harness::start(120).await.unwrap();
    let started = node
        .call(
            "server.start",
            json!({ "postgresUrl": pg.url(), "app": "chat", "recovery": true }),
        )
        .await
        .unwrap();
    let url_n = format!("http://127.0.0.1:{}", started["port"]);
    // The nodes learn each other from their first heartbeats.
    let since = std::time::Instant::now();
    while io_a.server_count().await != 2 {
        assert!(since.elapsed() < std::time::Duration::from_secs(15));
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let h = Harness::start(120).await.unwrap();
    let (alice, _) = Client::connect(&h, "alice", &url_a, "/", json!({}))
        .await
        .unwrap();
    let (bob, _) = Client::connect(&h, "bob", &url_n, "/", json!({}))
        .await
        .unwrap();
    alice.emit("add user", json!(["alice"])).await.unwrap();
    assert_eq!(alice.next("login", 3000).await.unwrap()[0]["users"], 1);
    bob.emit("add user", json!(["bob"])).await.unwrap();
    assert_eq!(bob.next("login", 5000).await.unwrap()[0]["users"], 2);
    assert_eq!(
        payload(alice.next("user joined", 3000).await.unwrap()),
        ("bob".into(), 2)
    );
    alice.emit("new message", json!(["hi bob"])).await.unwrap();
    assert_eq!(
        bob.next("new message", 3000).await.unwrap()[0],
        json!({"username": "alice", "message": "hi bob"})
    );
    bob.emit("new message", json!(["hi alice"])).await.unwrap();
    assert_eq!(
        alice.next("new message", 3000).await.unwrap()[0],
        json!({"username": "bob", "message": "hi alice"})
    );
}
