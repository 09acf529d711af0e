//! Runs the interop test app on a port, for running the client scenarios by hand:
//! `cargo run -p integration-tests --example sio_app_server -- PORT [--msgpack]`.

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .try_init();
    let mut args = std::env::args().skip(1);
    let port: u16 = args.next().and_then(|p| p.parse().ok()).unwrap_or(3000);
    let msgpack = args.any(|a| a == "--msgpack");
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("{{\"listening\":{}}}", listener.local_addr()?.port());
    let app = axum::Router::new().layer(integration_tests::sio_app(msgpack).layer());
    axum::serve(listener, app).await
}
