//! The classic Socket.IO chat: `cargo run -p chat`, then open <http://127.0.0.1:3000>.
//!
//! - `PORT`: the port (3000).
//! - `REDIS_URL` (e.g. `redis://127.0.0.1:6379`): one node of a cluster sharing that Redis
//!   with other chat nodes, Rust or Node; `REDIS_ADAPTER` picks the flavour: `classic`
//!   (Pub/Sub, the default), `sharded` (sharded Pub/Sub; `REDIS_URL` names one node of a
//!   Redis Cluster) or `streams` (Redis Streams: a client recovers its session on any node).
//! - `DATABASE_URL` (e.g. `postgres://user:password@127.0.0.1:5432/db`), when `REDIS_URL` is
//!   not set: one node of a cluster sharing that PostgreSQL database (Node's
//!   `@socket.io/postgres-adapter` format; `CLUSTER_ADAPTER=postgres` may be given too).
//! - `RECOVERY_MS`: how long a disconnected client may come back and recover its session
//!   (120000).

use std::time::Duration;

use tower_socketio::{RecoveryConfig, SocketIoConfig};
use tower_socketio_postgres::PostgresAdapter;
use tower_socketio_redis::{RedisAdapter, RedisStreamsAdapter, ShardedRedisAdapter};

fn fail(message: String) -> std::io::Error {
    std::io::Error::other(message)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    example_support::init_tracing();
    let bundle = example_support::client_bundle(chat::dir())?;
    let mut recovery = RecoveryConfig::default();
    if let Ok(ms) = std::env::var("RECOVERY_MS") {
        let ms: u64 = ms
            .parse()
            .map_err(|e| fail(format!("RECOVERY_MS={ms:?}: {e}")))?;
        recovery.max_disconnection_duration = Duration::from_millis(ms);
    }
    let config = SocketIoConfig::default()
        .serve_client(bundle)
        .connection_state_recovery(recovery);
    let redis = std::env::var("REDIS_URL").ok();
    let database = std::env::var("DATABASE_URL").ok();
    match std::env::var("CLUSTER_ADAPTER").as_deref() {
        Err(_) | Ok("redis") => {}
        Ok("postgres") if database.is_some() => {}
        Ok("postgres") => return Err(fail("CLUSTER_ADAPTER=postgres needs DATABASE_URL".into())),
        Ok(other) => {
            return Err(fail(format!(
                "CLUSTER_ADAPTER={other:?}: expected `redis` or `postgres`"
            )));
        }
    }
    let postgres = std::env::var("CLUSTER_ADAPTER").as_deref() == Ok("postgres");
    let io = match (redis, database) {
        (_, Some(url)) if postgres => postgres_node(config, &url).await?,
        (Some(url), _) => {
            let flavour = std::env::var("REDIS_ADAPTER").unwrap_or_else(|_| "classic".into());
            let io = match flavour.as_str() {
                "classic" => {
                    let adapter = RedisAdapter::connect(&url)
                        .await
                        .map_err(|e| fail(format!("REDIS_URL={url}: {e}")))?;
                    chat::socket_io_with_adapter(config, adapter)
                }
                "sharded" => {
                    // One node of a Redis Cluster: the client discovers the others.
                    let adapter = ShardedRedisAdapter::connect(&[url.as_str()])
                        .await
                        .map_err(|e| fail(format!("REDIS_URL={url} (a Redis Cluster): {e}")))?;
                    chat::socket_io_with_adapter(config, adapter)
                }
                "streams" => {
                    let adapter = RedisStreamsAdapter::connect(&url)
                        .await
                        .map_err(|e| fail(format!("REDIS_URL={url}: {e}")))?;
                    chat::socket_io_with_adapter(config, adapter)
                }
                other => {
                    return Err(fail(format!(
                        "REDIS_ADAPTER={other:?}: expected `classic`, `sharded` or `streams`"
                    )));
                }
            };
            tracing::info!("a node of the cluster of {url} ({flavour} Redis adapter)");
            io
        }
        (None, Some(url)) => postgres_node(config, &url).await?,
        (None, None) => chat::socket_io(config),
    };
    example_support::serve_io(chat::router(io.clone()), io, example_support::port()).await
}

async fn postgres_node(
    config: SocketIoConfig,
    url: &str,
) -> std::io::Result<tower_socketio::SocketIo> {
    let adapter = PostgresAdapter::connect(url)
        .await
        .map_err(|e| fail(format!("DATABASE_URL: {e}")))?;
    tracing::info!("a node of the cluster of the PostgreSQL database (PostgreSQL adapter)");
    Ok(chat::socket_io_with_adapter(config, adapter))
}
