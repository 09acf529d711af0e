//! What the examples share: the port from `PORT`, logging, installing the npm
//! `socket.io-client` bundle an example serves, and serving an app on 127.0.0.1.

use std::{
    io,
    path::{Path, PathBuf},
    process::Command,
};

/// The port from the `PORT` environment variable, or 3000.
pub fn port() -> u16 {
    std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000)
}

/// Logs to stderr; `RUST_LOG` filters (default: `info`).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).try_init();
}

/// The browser bundle of the npm `socket.io-client` package installed in `example_dir`
/// (which has a `package.json` and `package-lock.json`), running `npm ci` there first when it
/// is missing.
pub fn client_bundle(example_dir: &Path) -> io::Result<PathBuf> {
    let bundle = example_dir.join("node_modules/socket.io-client/dist/socket.io.min.js");
    if !bundle.exists() {
        tracing::info!(
            "installing the npm socket.io-client package in {}",
            example_dir.display()
        );
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(example_dir)
            .status()?;
        if !status.success() || !bundle.exists() {
            return Err(io::Error::other(format!(
                "`npm ci` in {} failed ({status}); is Node.js installed?",
                example_dir.display()
            )));
        }
    }
    Ok(bundle)
}

/// Serves `app` on `127.0.0.1:port` until Ctrl-C, with the peer address available to
/// handlers.
pub async fn serve(app: axum::Router, port: u16) -> io::Result<()> {
    serve_until(app, port, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
}

/// Serves `app` (with the Socket.IO server `io` in it) until Ctrl-C, then shuts `io` down
/// cleanly: its clients get what was queued for them and a proper close, its sockets'
/// `disconnect` handlers run with `server shutting down`.
pub async fn serve_io(
    app: axum::Router,
    io: tower_socketio::SocketIo,
    port: u16,
) -> io::Result<()> {
    let shutdown = io.close_after(async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
    });
    serve_until(app, port, shutdown).await
}

async fn serve_until(
    app: axum::Router,
    port: u16,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    use axum::serve::ListenerExt;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await?
        .tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
    tracing::info!("listening on http://127.0.0.1:{port}");
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
