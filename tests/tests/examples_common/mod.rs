//! What the example tests (`examples_*.rs`, `browser.rs`) share: serving an example app
//! in-process on a free 127.0.0.1 port, and running a client script against it.

#![allow(dead_code, reason = "each test binary uses its own part")]

use std::{path::PathBuf, time::Duration};

use integration_tests::{http_url, run_node};
use serde_json::Value;

/// An app being served; stops accepting connections when dropped.
pub(crate) struct Served {
    /// `http://127.0.0.1:PORT`.
    pub(crate) url: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Served {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Logs of the app under test go to the test's output when `RUST_LOG` asks for them.
pub(crate) fn init_tracing() {
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
    }
}

/// Serves `app` on a free port of 127.0.0.1, in this process.
pub(crate) async fn serve(app: axum::Router) -> Served {
    init_tracing();
    let listener = match tokio::net::TcpListener::bind(("127.0.0.1", 0)).await {
        Ok(l) => l,
        Err(e) => panic!("cannot bind 127.0.0.1:0: {e}"),
    };
    let addr = match listener.local_addr() {
        Ok(a) => a,
        Err(e) => panic!("no local address: {e}"),
    };
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            eprintln!("the app stopped: {e}");
        }
    });
    Served {
        url: http_url(addr),
        task,
    }
}

/// Runs `node tests/node/SCRIPT URL ARGS... --timeout SECS` (the script bounds itself to
/// `secs`; it is killed `secs + 10` seconds after its start) and returns its result line, or
/// fails the test with the script's output.
pub(crate) async fn node(script: &str, url: &str, args: &[&str], secs: u64) -> Value {
    let timeout = secs.to_string();
    let mut all = vec![url];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--timeout", &timeout]);
    match run_node(script, &all, Duration::from_secs(secs + 10)).await {
        Ok(v) => v,
        Err(e) => panic!("{e}"),
    }
}

/// A path for a scratch file of this test run (removed first if it exists).
pub(crate) fn scratch_file(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tower-socketio-examples-{}", std::process::id()));
    if let Err(e) = std::fs::create_dir_all(&dir) {
        panic!("cannot create {}: {e}", dir.display());
    }
    let path = dir.join(name);
    let _ = std::fs::remove_file(&path);
    path
}
