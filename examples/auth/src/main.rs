//! JWT auth: `cargo run -p auth`, then open <http://127.0.0.1:3000> (`PORT` changes the port,
//! `JWT_SECRET` the secret). See the library docs.

use tower_socketio::SocketIoConfig;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    example_support::init_tracing();
    let bundle = example_support::client_bundle(auth::dir())?;
    let app = auth::app(
        SocketIoConfig::default().serve_client(bundle),
        auth::Keys::from_env(),
    );
    example_support::serve(app, example_support::port()).await
}
