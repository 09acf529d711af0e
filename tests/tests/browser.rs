//! The example pages in a real browser: Debian's Chromium, headless, driven by the npm
//! `playwright-core` of `tests/node` (`tests/browser/examples-browser.mjs`), against the
//! examples served in-process with the npm `socket.io-client` bundle they install.
//!
//! * chat: two pages log in, see the counts, the typing indicator and each other's messages,
//!   and "left" when one closes; over WebSocket, and with the client forced to long-polling;
//! * todo: an item added on one page shows on the other, one removed there goes from the first.
//!
//! Each test keeps a screenshot in `target/browser-screenshots/`. Chromium must be at
//! `/usr/bin/chromium` (`bash scripts/test.sh` installs Debian's `chromium` when it is not);
//! a missing browser fails the tests, it never skips them.

#![allow(clippy::panic, reason = "tests fail by panicking")]

mod examples_common;

use std::path::{Path, PathBuf};

use examples_common::{node, scratch_file, serve};
use tower_socketio::SocketIoConfig;

const CHROMIUM: &str = "/usr/bin/chromium";

/// One browser at a time: two cores, and each Chromium is several processes.
static ONE_BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// `target/browser-screenshots/NAME.png` (in `CARGO_TARGET_DIR` when set).
fn screenshot(name: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let path = target
        .join("browser-screenshots")
        .join(format!("{name}.png"));
    let _ = std::fs::remove_file(&path);
    path
}

/// The example's config serving the browser bundle of its npm `socket.io-client` (installed
/// with `npm ci` in the example's directory on first use).
fn with_bundle(example_dir: &Path) -> SocketIoConfig {
    if !Path::new(CHROMIUM).exists() {
        panic!(
            "\n\nThe browser tests need Debian's chromium at {CHROMIUM}.\nRun the test suite with \
             `bash scripts/test.sh`, which installs it, or `apt-get install -y chromium`.\n"
        );
    }
    // Tests run in parallel: one `npm ci` at a time.
    static INSTALL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _installing = INSTALL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    match example_support::client_bundle(example_dir) {
        Ok(bundle) => SocketIoConfig::default().serve_client(bundle),
        Err(e) => panic!("cannot install the client bundle: {e}"),
    }
}

async fn browse(app: axum::Router, scenario: &str) -> serde_json::Value {
    let _one = ONE_BROWSER.lock().await;
    let served = serve(app).await;
    let shot = screenshot(scenario);
    let shot_arg = shot.display().to_string();
    let result = node(
        "../browser/examples-browser.mjs",
        &served.url,
        &[
            "--scenario",
            scenario,
            "--screenshot",
            &shot_arg,
            "--chromium",
            CHROMIUM,
        ],
        90,
    )
    .await;
    assert!(shot.is_file(), "no screenshot at {}", shot.display());
    result
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_chat_two_pages() {
    let app = chat::app(with_bundle(chat::dir()));
    let result = browse(app, "chat").await;
    assert_eq!(result["transport"], "websocket", "{result}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_chat_two_pages_over_long_polling() {
    let app = chat::app(with_bundle(chat::dir()));
    let result = browse(app, "chat-polling").await;
    assert_eq!(result["transport"], "polling", "{result}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_todo_two_pages() {
    let path = scratch_file("todo-browser.db");
    let todos = match todo::Todos::open(&path) {
        Ok(t) => t,
        Err(e) => panic!("cannot open {}: {e}", path.display()),
    };
    let app = todo::app(with_bundle(todo::dir()), todos);
    let result = browse(app, "todo").await;
    assert_eq!(
        result["items"].as_array().map(Vec::len),
        Some(3),
        "{result}"
    );
    let _ = std::fs::remove_file(&path);
}
