//! `cluster-node URL [REQUESTS_TIMEOUT_MS] [--streams | --postgres [--heartbeat-ms MS]]
//! [--recovery-ms MS]`: a Rust node of the cluster tests ([`integration_tests::cluster_app`])
//! in a process of its own, so a test can kill it. `URL` is a Redis URL, or with `--postgres`
//! a PostgreSQL one. `--streams`: the Redis Streams adapter instead of the Pub/Sub one;
//! `--postgres`: the PostgreSQL adapter, `--heartbeat-ms` its heartbeat interval (the timeout
//! three times it); `--recovery-ms`: connection state recovery on, with that window. Prints
//! `PORT <port>` once listening; on SIGTERM it shuts down (`io.close()`) and exits; it exits
//! too when stdin closes (or when killed).

use std::time::Duration;

use tokio::io::AsyncReadExt;
use tower_socketio::{RecoveryConfig, SocketIoConfig};
use tower_socketio_postgres::{PostgresAdapter, PostgresConfig};
use tower_socketio_redis::{RedisAdapterConfig, RedisStreamsAdapter, StreamsConfig, redis};

const USAGE: &str = "usage: cluster-node URL [REQUESTS_TIMEOUT_MS] \
                     [--streams | --postgres [--heartbeat-ms MS]] [--recovery-ms MS]";

fn millis(arg: Option<String>) -> Result<Duration, String> {
    arg.and_then(|ms| ms.parse().ok())
        .map(Duration::from_millis)
        .ok_or_else(|| USAGE.to_owned())
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let mut url = None;
    let mut timeout = None;
    let mut streams = false;
    let mut postgres = false;
    let mut heartbeat = None;
    let mut recovery = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--streams" => streams = true,
            "--postgres" => postgres = true,
            "--heartbeat-ms" => heartbeat = Some(millis(args.next())?),
            "--recovery-ms" => recovery = Some(millis(args.next())?),
            _ if url.is_none() => url = Some(arg),
            _ if timeout.is_none() => timeout = Some(millis(Some(arg))?),
            _ => return Err(USAGE.to_owned()),
        }
    }
    let url = url.ok_or(USAGE)?;
    let mut config = SocketIoConfig::default();
    if let Some(window) = recovery {
        let mut recovery = RecoveryConfig::default();
        recovery.max_disconnection_duration = window;
        config = config.connection_state_recovery(recovery);
    }
    let node = if postgres {
        let mut options = PostgresConfig::default();
        if let Some(interval) = heartbeat {
            options = options.heartbeat(interval, interval * 3);
        }
        if let Some(timeout) = timeout {
            options = options.requests_timeout(timeout);
        }
        let pg = url.parse().map_err(|e| format!("{url}: {e}"))?;
        let adapter = PostgresAdapter::new(pg, options)
            .await
            .map_err(|e| format!("cannot connect the adapter: {e}"))?;
        integration_tests::cluster_app::start_node_with(config, adapter).await?
    } else if streams {
        let client = redis::Client::open(url.as_str()).map_err(|e| e.to_string())?;
        let mut streams = StreamsConfig::default();
        if let Some(timeout) = timeout {
            streams = streams.requests_timeout(timeout);
        }
        let adapter = RedisStreamsAdapter::new(client, streams)
            .await
            .map_err(|e| format!("cannot connect the adapter: {e}"))?;
        integration_tests::cluster_app::start_node_with(config, adapter).await?
    } else {
        let mut adapter = RedisAdapterConfig::default();
        if let Some(timeout) = timeout {
            adapter = adapter.requests_timeout(timeout);
        }
        integration_tests::cluster_app::start_rust_node_with(config, &url, adapter).await?
    };
    println!("PORT {}", node.addr.port());
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| e.to_string())?;
    let mut sink = Vec::new();
    let mut stdin = tokio::io::stdin();
    tokio::select! {
        _ = stdin.read_to_end(&mut sink) => {}
        _ = terminate.recv() => {}
    }
    node.stop().await;
    Ok(())
}
