//! Rooms: `cargo run -p rooms`, then open <http://127.0.0.1:3000> (`PORT` changes the port).
//! See the library docs for the protocol.

use tower_socketio::SocketIoConfig;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    example_support::init_tracing();
    let bundle = example_support::client_bundle(rooms::dir())?;
    let app = rooms::app(SocketIoConfig::default().serve_client(bundle));
    example_support::serve(app, example_support::port()).await
}
