//! A shared todo list: every browser sees the same list, live, and it survives restarts.
//!
//! `cargo run -p todo`, then open <http://127.0.0.1:3000> (`PORT` changes the port). The list
//! lives in the SQLite file `todo.db` in the working directory (`TODO_DB` gives another path);
//! a new file starts with Eat, Sleep, Repeat (ids `"1"`, `"2"`, `"3"`).
//!
//! Client events:
//! * `todo:get` — the server sends `todos` to the asking client (and acknowledges with the
//!   list when the client asked for an acknowledgement);
//! * `todo:add` (title) — adds an item;
//! * `todo:remove` (id) — removes the item with that id (a string like `"2"`, or a number).
//!
//! After each change every client receives `todos`: the full list of `{id, title}`, ids being
//! strings. `todo:add` and `todo:remove` acknowledge with `{ok: true}` (and the new `todo` for
//! an add) or `{ok: false, error}` when an acknowledgement was asked for.

use std::{
    path::{Path, PathBuf},
    sync::{Arc, Mutex, PoisonError},
};

use rusqlite::{Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tower_http::services::ServeDir;
use tower_socketio::{
    AckSender, Socket, SocketIo, SocketIoConfig,
    extract::{State, TryData},
};

/// The longest title accepted, in characters.
pub const MAX_TITLE_CHARS: usize = 200;

/// What a new database starts with.
const SEED: [&str; 3] = ["Eat", "Sleep", "Repeat"];

/// One item of the list, as clients see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Todo {
    /// The item's id: a decimal number, as a string (`"1"`).
    pub id: String,
    /// What to do.
    pub title: String,
}

/// Why a store operation failed.
#[derive(Debug)]
pub enum StoreError {
    /// SQLite refused.
    Sqlite(rusqlite::Error),
    /// The blocking task running the query panicked or was cancelled.
    Task(tokio::task::JoinError),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Sqlite(e) => write!(f, "database error: {e}"),
            StoreError::Task(e) => write!(f, "database task failed: {e}"),
        }
    }
}

impl std::error::Error for StoreError {}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Sqlite(e)
    }
}

/// The list, in an SQLite database. Cheap to clone: every clone is the same list.
///
/// Queries run on tokio's blocking pool. Changes and the `todos` broadcast that follows them
/// are serialized, so clients receive the lists in the order the changes happened.
#[derive(Clone)]
pub struct Todos {
    db: Arc<Mutex<Connection>>,
    changes: Arc<tokio::sync::Mutex<()>>,
}

impl std::fmt::Debug for Todos {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Todos").finish_non_exhaustive()
    }
}

impl Todos {
    /// Opens (or creates and seeds) the database file at `path`.
    pub fn open(path: impl AsRef<Path>) -> rusqlite::Result<Todos> {
        Todos::init(Connection::open(path)?)
    }

    /// A database in memory, seeded, gone when the last clone is dropped.
    pub fn in_memory() -> rusqlite::Result<Todos> {
        Todos::init(Connection::open_in_memory()?)
    }

    fn init(mut conn: Connection) -> rusqlite::Result<Todos> {
        // Another process may hold the file briefly (e.g. a previous run shutting down).
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let tx = conn.transaction()?;
        let version: i64 = tx.query_row("PRAGMA user_version", [], |row| row.get(0))?;
        if version == 0 {
            // AUTOINCREMENT: ids of removed items are never given again.
            tx.execute_batch(
                "CREATE TABLE IF NOT EXISTS todos (
                     id INTEGER PRIMARY KEY AUTOINCREMENT,
                     title TEXT NOT NULL
                 );",
            )?;
            for title in SEED {
                tx.execute("INSERT INTO todos (title) VALUES (?1)", [title])?;
            }
            tx.execute_batch("PRAGMA user_version = 1;")?;
        }
        tx.commit()?;
        Ok(Todos {
            db: Arc::new(Mutex::new(conn)),
            changes: Arc::new(tokio::sync::Mutex::new(())),
        })
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, StoreError> {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || {
            let conn = db.lock().unwrap_or_else(PoisonError::into_inner);
            f(&conn)
        })
        .await
        .map_err(StoreError::Task)?
        .map_err(StoreError::Sqlite)
    }

    /// The whole list, oldest first.
    pub async fn list(&self) -> Result<Vec<Todo>, StoreError> {
        self.run(list).await
    }

    /// Adds `title` and returns the new item.
    pub async fn add(&self, title: String) -> Result<Todo, StoreError> {
        self.run(move |conn| {
            conn.execute("INSERT INTO todos (title) VALUES (?1)", [&title])?;
            Ok(Todo {
                id: conn.last_insert_rowid().to_string(),
                title,
            })
        })
        .await
    }

    /// Removes the item `id`; `false` if there was none.
    pub async fn remove(&self, id: i64) -> Result<bool, StoreError> {
        self.run(move |conn| Ok(conn.execute("DELETE FROM todos WHERE id = ?1", [id])? > 0))
            .await
    }

    /// The item `id`, if any.
    pub async fn get(&self, id: i64) -> Result<Option<Todo>, StoreError> {
        self.run(move |conn| {
            conn.query_row(
                "SELECT id, title FROM todos WHERE id = ?1",
                [id],
                row_to_todo,
            )
            .optional()
        })
        .await
    }
}

fn row_to_todo(row: &rusqlite::Row<'_>) -> rusqlite::Result<Todo> {
    Ok(Todo {
        id: row.get::<_, i64>(0)?.to_string(),
        title: row.get(1)?,
    })
}

fn list(conn: &Connection) -> rusqlite::Result<Vec<Todo>> {
    let mut stmt = conn.prepare_cached("SELECT id, title FROM todos ORDER BY id")?;
    let rows = stmt.query_map([], row_to_todo)?;
    rows.collect()
}

/// Where the database lives: `TODO_DB`, or `todo.db` in the working directory.
pub fn db_path() -> PathBuf {
    std::env::var_os("TODO_DB")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("todo.db"))
}

/// The directory of this example: its `public/` page and the npm `package.json` pinning the
/// browser client.
pub fn dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `todo:add`'s argument: a title, or `{title}`.
#[derive(Deserialize)]
#[serde(untagged)]
enum AddArg {
    Title(String),
    Object { title: String },
}

/// `todo:remove`'s argument: an id as a string or a number, or `{id}`.
#[derive(Deserialize)]
#[serde(untagged)]
enum IdArg {
    Number(i64),
    Text(String),
    Object { id: Box<IdArg> },
}

impl IdArg {
    fn id(&self) -> Option<i64> {
        match self {
            IdArg::Number(n) => Some(*n),
            IdArg::Text(s) => s.trim().parse().ok(),
            IdArg::Object { id } => id.id(),
        }
    }
}

fn refuse(ack: AckSender, socket: &Socket, event: &str, error: &str) {
    tracing::warn!(socket = %socket.id(), "{event} refused: {error}");
    if ack.is_requested() {
        ack.send(&json!({ "ok": false, "error": error })).ok();
    }
}

/// Sends the current list to every client. Called with the change lock held, so lists go out
/// in the order of the changes.
async fn broadcast(io: &SocketIo, todos: &Todos) {
    match todos.list().await {
        Ok(list) => {
            io.emit("todos", &list).ok();
        }
        Err(e) => tracing::error!("cannot read the list: {e}"),
    }
}

/// The todo list's Socket.IO server, on `todos`.
pub fn socket_io(config: SocketIoConfig, todos: Todos) -> SocketIo {
    let io = SocketIo::builder().config(config).with_state(todos).build();
    io.ns("/", |socket: Socket| async move {
        tracing::info!(socket = %socket.id(), "connected");

        socket.on(
            "todo:get",
            |socket: Socket, ack: AckSender, State(todos): State<Todos>| async move {
                match todos.list().await {
                    Ok(list) => {
                        socket.emit("todos", &list).ok();
                        if ack.is_requested() {
                            ack.send(&list).ok();
                        }
                    }
                    Err(e) => {
                        tracing::error!("cannot read the list: {e}");
                        refuse(ack, &socket, "todo:get", "cannot read the list");
                    }
                }
            },
        );

        socket.on(
            "todo:add",
            |socket: Socket,
             TryData(arg): TryData<AddArg>,
             ack: AckSender,
             State(todos): State<Todos>| async move {
                let title = match arg {
                    Ok(AddArg::Title(t) | AddArg::Object { title: t }) => t.trim().to_owned(),
                    Err(_) => return refuse(ack, &socket, "todo:add", "expected a title"),
                };
                if title.is_empty() {
                    return refuse(ack, &socket, "todo:add", "the title is empty");
                }
                if title.chars().count() > MAX_TITLE_CHARS {
                    return refuse(ack, &socket, "todo:add", "the title is too long");
                }
                let _order = todos.changes.lock().await;
                match todos.add(title).await {
                    Ok(todo) => {
                        tracing::info!(id = %todo.id, title = %todo.title, "added");
                        broadcast(&socket.io(), &todos).await;
                        if ack.is_requested() {
                            ack.send(&json!({ "ok": true, "todo": todo })).ok();
                        }
                    }
                    Err(e) => {
                        tracing::error!("cannot add: {e}");
                        refuse(ack, &socket, "todo:add", "cannot save the item");
                    }
                }
            },
        );

        socket.on(
            "todo:remove",
            |socket: Socket,
             TryData(arg): TryData<IdArg>,
             ack: AckSender,
             State(todos): State<Todos>| async move {
                let Some(id) = arg.ok().as_ref().and_then(IdArg::id) else {
                    return refuse(ack, &socket, "todo:remove", "expected an id");
                };
                let _order = todos.changes.lock().await;
                match todos.remove(id).await {
                    Ok(true) => {
                        tracing::info!(id, "removed");
                        broadcast(&socket.io(), &todos).await;
                        if ack.is_requested() {
                            ack.send(&json!({ "ok": true })).ok();
                        }
                    }
                    Ok(false) => refuse(ack, &socket, "todo:remove", "no such item"),
                    Err(e) => {
                        tracing::error!("cannot remove: {e}");
                        refuse(ack, &socket, "todo:remove", "cannot remove the item");
                    }
                }
            },
        );
    });
    io
}

/// The whole app: the page at `/` (from `public/`) behind the Socket.IO layer, on `todos`.
/// `config` says where the client bundle is (`serve_client`).
pub fn app(config: SocketIoConfig, todos: Todos) -> axum::Router {
    let io = socket_io(config, todos);
    axum::Router::new()
        .fallback_service(ServeDir::new(dir().join("public")))
        .layer(io.layer())
}
