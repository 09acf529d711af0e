//! Redis killed and restarted on the same port: every node stays up and serves its own
//! clients, reconnects and re-subscribes with a capped backoff, delivers across nodes again
//! within 10 s of Redis listening, and logs the outage once, not once per message.
//!
//! (A test binary of its own: it installs a global tracing subscriber to count log lines.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use integration_tests::{
    cluster_app::start_rust_node,
    harness::{Client, Harness},
    redis_server::RedisServer,
};
use serde_json::json;
use tower_socketio_redis::RedisAdapterConfig;
use tracing_subscriber::layer::SubscriberExt as _;

/// Counts the warnings of the Redis adapter.
struct WarnCounter(Arc<AtomicUsize>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for WarnCounter {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        let meta = event.metadata();
        if *meta.level() == tracing::Level::WARN && meta.target().starts_with("socketio::redis") {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restart_on_the_same_port() {
    let warnings = Arc::new(AtomicUsize::new(0));
    tracing::subscriber::set_global_default(
        tracing_subscriber::registry().with(WarnCounter(warnings.clone())),
    )
    .unwrap();

    let mut redis = RedisServer::start().await.unwrap();
    let a = start_rust_node(&redis.url(), RedisAdapterConfig::default())
        .await
        .unwrap();
    let b = start_rust_node(&redis.url(), RedisAdapterConfig::default())
        .await
        .unwrap();
    let h = Harness::start(120).await.unwrap();
    let (ca, _) = Client::connect(&h, "ca", &a.url(), "/", json!({}))
        .await
        .unwrap();
    let (cb, _) = Client::connect(&h, "cb", &b.url(), "/", json!({}))
        .await
        .unwrap();
    while a.io.server_count().await != 2 || b.io.server_count().await != 2 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    a.io.emit("before", &1).unwrap();
    assert_eq!(cb.next("before", 3000).await.unwrap(), json!([1]));

    redis.kill().await;
    // Each node keeps serving its own clients; 500 broadcasts meet no Redis.
    for i in 0..500 {
        a.io.emit("during", &i).unwrap();
    }
    for i in 0..500 {
        assert_eq!(ca.next("during", 3000).await.unwrap(), json!([i]));
    }
    // Requests return this node's part, without waiting for anybody.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let t = Instant::now();
    assert_eq!(a.io.fetch_sockets().await.len(), 1);
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    let during = warnings.load(Ordering::Relaxed);
    assert!(
        (1..=6).contains(&during),
        "{during} warnings for one outage of two nodes"
    );

    tokio::time::sleep(Duration::from_secs(2)).await;
    redis.restart().await.unwrap();
    let listening = Instant::now();
    // Delivered across nodes again, both ways, within 10 s of Redis listening.
    for (from, to, name) in [(&a, cb, "probe-ab"), (&b, ca, "probe-ba")] {
        loop {
            from.io.emit(name, &()).unwrap();
            if to.next(name, 200).await.is_ok() {
                break;
            }
            assert!(
                listening.elapsed() < Duration::from_secs(10),
                "{name}: not delivered within 10 s"
            );
        }
    }
    let back = listening.elapsed();
    eprintln!("delivering across nodes again {back:?} after Redis listened");
    // The outage's "during" messages were dropped, not delivered late.
    cb.none("during", 300).await.unwrap();
    // Requests work again too.
    while a.io.server_count().await != 2 {
        assert!(listening.elapsed() < Duration::from_secs(10));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(a.io.fetch_sockets().await.len(), 2);
    let total = warnings.load(Ordering::Relaxed);
    assert!(total <= 6, "{total} warnings for one outage");
    a.stop().await;
    b.stop().await;
}
