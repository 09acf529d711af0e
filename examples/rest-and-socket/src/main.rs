//! Socket.IO beside REST routes: `cargo run -p rest-and-socket`, then open
//! <http://127.0.0.1:3000> (`PORT` changes the port). See the library docs.

use tower_socketio::SocketIoConfig;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    example_support::init_tracing();
    let bundle = example_support::client_bundle(rest_and_socket::dir())?;
    let app = rest_and_socket::app(SocketIoConfig::default().serve_client(bundle));
    example_support::serve(app, example_support::port()).await
}
