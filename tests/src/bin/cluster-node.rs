//! `cluster-node REDIS_URL [REQUESTS_TIMEOUT_MS]`: a Rust node of the cluster tests
//! ([`integration_tests::cluster_app`]) in a process of its own, so a test can kill it. Prints
//! `PORT <port>` once listening; exits when stdin closes (or when killed).

use std::time::Duration;

use tokio::io::AsyncReadExt;
use tower_socketio_redis::RedisAdapterConfig;

#[tokio::main]
async fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .ok_or("usage: cluster-node REDIS_URL [REQUESTS_TIMEOUT_MS]")?;
    let mut config = RedisAdapterConfig::default();
    if let Some(ms) = args.next() {
        let ms: u64 = ms
            .parse()
            .map_err(|e| format!("REQUESTS_TIMEOUT_MS: {e}"))?;
        config = config.requests_timeout(Duration::from_millis(ms));
    }
    let node = integration_tests::cluster_app::start_rust_node(&url, config).await?;
    println!("PORT {}", node.addr.port());
    let mut sink = Vec::new();
    let _ = tokio::io::stdin().read_to_end(&mut sink).await;
    node.stop().await;
    Ok(())
}
