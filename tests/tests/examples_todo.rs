//! The todo example (`examples/todo`) driven by three npm `socket.io-client` sockets
//! (`tests/node/examples-todo.mjs`): `todo:get` answers the asker, every change reaches every
//! client as the full list, and the list survives a restart of the server on the same SQLite
//! file.

#![allow(clippy::panic, reason = "tests fail by panicking")]

mod examples_common;

use examples_common::{node, scratch_file, serve};
use tower_socketio::SocketIoConfig;

fn open(path: &std::path::Path) -> todo::Todos {
    match todo::Todos::open(path) {
        Ok(t) => t,
        Err(e) => panic!("cannot open {}: {e}", path.display()),
    }
}

async fn changes_reach_everyone_and_survive_a_restart(transports: &str, file: &str) {
    let path = scratch_file(file);
    {
        let app = serve(todo::app(SocketIoConfig::default(), open(&path))).await;
        node(
            "examples-todo.mjs",
            &app.url,
            &["--phase", "first", "--transports", transports],
            20,
        )
        .await;
    }
    // A new server on the same file.
    let app = serve(todo::app(SocketIoConfig::default(), open(&path))).await;
    node(
        "examples-todo.mjs",
        &app.url,
        &["--phase", "restarted", "--transports", transports],
        20,
    )
    .await;
    drop(app);
    let _ = std::fs::remove_file(&path);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn todo_over_websocket() {
    changes_reach_everyone_and_survive_a_restart("websocket", "todo-websocket.db").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn todo_over_polling() {
    changes_reach_everyone_and_survive_a_restart("polling", "todo-polling.db").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn todo_store_seeds_once() {
    let path = scratch_file("todo-seed.db");
    let todos = open(&path);
    let seed: Vec<(String, String)> = match todos.list().await {
        Ok(l) => l.into_iter().map(|t| (t.id, t.title)).collect(),
        Err(e) => panic!("{e}"),
    };
    let want = [("1", "Eat"), ("2", "Sleep"), ("3", "Repeat")]
        .map(|(i, t)| (i.to_owned(), t.to_owned()))
        .to_vec();
    assert_eq!(seed, want);
    for id in [1, 2, 3] {
        assert!(matches!(todos.remove(id).await, Ok(true)));
    }
    drop(todos);
    // Reopened empty: the seed is for new files only.
    let todos = open(&path);
    assert!(matches!(todos.list().await, Ok(l) if l.is_empty()));
    let _ = std::fs::remove_file(&path);
}
