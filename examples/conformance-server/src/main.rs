//! `conformance-server MODE PORT`: see the library docs.

use std::process::ExitCode;

use conformance_server::Mode;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let mut args = std::env::args().skip(1);
    let (Some(mode), Some(port)) = (args.next(), args.next()) else {
        eprintln!(
            "usage: conformance-server MODE PORT   (MODE: engineio | engineio-v3 | socketio)"
        );
        return ExitCode::from(2);
    };
    let mode: Mode = match mode.parse() {
        Ok(m) => m,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let port: u16 = match port.parse() {
        Ok(p) => p,
        Err(_) => {
            eprintln!("invalid port {port:?}");
            return ExitCode::from(2);
        }
    };
    let listener = match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("cannot bind 127.0.0.1:{port}: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("conformance-server: {mode:?} listening on http://127.0.0.1:{port}");
    match conformance_server::serve(listener, mode).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("server error: {e}");
            ExitCode::FAILURE
        }
    }
}
