//! The shared todo list: `cargo run -p todo`, then open <http://127.0.0.1:3000> (`PORT`
//! changes the port; `TODO_DB` the database file, default `todo.db` in the working directory).
//! See the library docs for the protocol.

use tower_socketio::SocketIoConfig;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    example_support::init_tracing();
    let path = todo::db_path();
    let todos = todo::Todos::open(&path).map_err(|e| {
        std::io::Error::other(format!("cannot open the database {}: {e}", path.display()))
    })?;
    tracing::info!("todo list in {}", path.display());
    let bundle = example_support::client_bundle(todo::dir())?;
    let app = todo::app(SocketIoConfig::default().serve_client(bundle), todos);
    example_support::serve(app, example_support::port()).await
}
