//! Test harness for the interop tests: runs the real npm clients of `tests/node` against our
//! servers.
//!
//! Each client script in `tests/node/*.mjs` takes the server URL and options on its command
//! line, bounds itself with an overall timeout, prints one JSON line on stdout and exits 0 on
//! success or 1 on failure with the reason on stderr. [`run_node`] runs one with a hard timeout
//! of its own and returns that JSON line.
//!
//! The npm packages must be installed (`tests/node/node_modules`): the README's test command,
//! `bash scripts/test.sh`, does that. A missing installation fails the tests with a message
//! saying so; it never skips them.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::Stdio,
    sync::OnceLock,
    time::Duration,
};

use serde_json::Value;

pub mod cluster_app;
pub mod cluster_matrix;
pub mod harness;
pub mod postgres_server;
pub mod proxy;
mod recovery_app;
pub mod redis_server;
pub mod rooms_app;
mod sio_app;
pub use recovery_app::{recovery_app, spawn_recovery_app};
pub use sio_app::{sio_app, spawn_sio_app};
use tokio::io::{AsyncRead, AsyncReadExt};

/// The command that installs everything and runs the whole test suite (the README's).
pub const TEST_COMMAND: &str = "bash scripts/test.sh";

/// The oldest Node.js major version the scripts and pinned packages support.
const MIN_NODE_MAJOR: u32 = 20;

/// Most output kept from a script, per stream.
const MAX_OUTPUT: u64 = 1 << 20;

/// `tests/node`: the npm project holding the client scripts.
pub fn node_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("node")
}

/// Panics with instructions unless `node` (>= 20) is on the PATH and every npm dependency of
/// `tests/node/package.json` is installed and not older than `package-lock.json`.
///
/// Checked once per test binary; every test calls it (through [`run_node`]).
#[expect(
    clippy::panic,
    reason = "a missing installation must fail the tests loudly, never skip them"
)]
pub fn ensure_node_modules() {
    static CHECK: OnceLock<Result<(), String>> = OnceLock::new();
    if let Err(problem) = CHECK.get_or_init(check_node_setup) {
        panic!(
            "\n\nThe interop tests need Node.js and the npm clients of tests/node.\n{problem}\n\
             Run the test suite with the README's command, which installs them:\n\n    \
             {TEST_COMMAND}\n\n(or run `npm ci` in {}).\n",
            node_dir().display()
        );
    }
}

fn check_node_setup() -> Result<(), String> {
    let version = std::process::Command::new("node")
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("`node --version` failed: {e} (is Node.js installed?)"))?;
    let version = String::from_utf8_lossy(&version.stdout).trim().to_owned();
    let major = version
        .trim_start_matches('v')
        .split('.')
        .next()
        .and_then(|m| m.parse::<u32>().ok())
        .ok_or_else(|| format!("cannot read the Node.js version from {version:?}"))?;
    if major < MIN_NODE_MAJOR {
        return Err(format!(
            "Node.js {version} is too old: {MIN_NODE_MAJOR} or newer is needed."
        ));
    }

    let dir = node_dir();
    let manifest = std::fs::read_to_string(dir.join("package.json"))
        .map_err(|e| format!("cannot read {}: {e}", dir.join("package.json").display()))?;
    let manifest: Value = serde_json::from_str(&manifest).map_err(|e| {
        format!(
            "{} is not valid JSON: {e}",
            dir.join("package.json").display()
        )
    })?;
    let modules = dir.join("node_modules");
    let missing: Vec<&str> = manifest["dependencies"]
        .as_object()
        .map(|deps| {
            deps.keys()
                .map(String::as_str)
                .filter(|name| !modules.join(name).join("package.json").is_file())
                .collect()
        })
        .unwrap_or_default();
    if !missing.is_empty() {
        return Err(format!(
            "Not installed in {}: {}.",
            modules.display(),
            missing.join(", ")
        ));
    }
    // npm writes node_modules/.package-lock.json on every install: older than the committed
    // lock file means the lock changed (e.g. a version bump) since the last install.
    let mtime = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let lock = mtime(&dir.join("package-lock.json"));
    let installed = mtime(&modules.join(".package-lock.json"));
    if let (Some(lock), Some(installed)) = (lock, installed)
        && lock > installed
    {
        return Err(format!(
            "{} is older than package-lock.json: the installed packages are stale.",
            modules.display()
        ));
    }
    Ok(())
}

/// `http://ADDR` for a server bound on the loopback interface.
#[expect(
    clippy::panic,
    reason = "the interop tests only ever talk to 127.0.0.1"
)]
pub fn http_url(addr: SocketAddr) -> String {
    if !addr.ip().is_loopback() {
        panic!("refusing to point a client at {addr}: tests use 127.0.0.1 only");
    }
    format!("http://{addr}")
}

/// Runs `node tests/node/SCRIPT ARGS...` and returns the JSON line it printed on success.
///
/// The script is killed (and this returns an error) if it has not exited after `timeout`,
/// and when the returned future is dropped. On failure the error holds the exit status and
/// the script's stdout and stderr.
pub async fn run_node(script: &str, args: &[&str], timeout: Duration) -> Result<Value, String> {
    ensure_node_modules();
    let dir = node_dir();
    run_json_script("node", &dir, &dir.join(script), script, args, timeout).await
}

async fn read_capped<R: AsyncRead + Unpin>(stream: R) -> String {
    let mut buf = Vec::new();
    let _ = stream.take(MAX_OUTPUT).read_to_end(&mut buf).await;
    String::from_utf8_lossy(&buf).into_owned()
}

async fn collect(task: Option<tokio::task::JoinHandle<String>>) -> String {
    let Some(task) = task else {
        return String::new();
    };
    match tokio::time::timeout(Duration::from_secs(5), task).await {
        Ok(Ok(text)) => text,
        Ok(Err(e)) => format!("<reader failed: {e}>"),
        Err(_) => "<output not closed 5 s after exit>".to_owned(),
    }
}

/// Reads `value[key]` as a string, with a message naming the key when it is not one.
pub fn str_field<'a>(value: &'a Value, key: &str) -> Result<&'a str, String> {
    value[key]
        .as_str()
        .ok_or_else(|| format!("result has no string {key:?}: {value}"))
}

/// `tests/python`: the Python client scripts (python-socketio).
pub fn python_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("python")
}

/// Panics with instructions unless `python3` is on the PATH and imports the Python clients of
/// `tests/python/requirements.txt` (`socketio`, `websocket`).
///
/// Checked once per test binary; every test calls it (through [`run_python`]).
#[expect(
    clippy::panic,
    reason = "a missing installation must fail the tests loudly, never skip them"
)]
pub fn ensure_python_clients() {
    static CHECK: OnceLock<Result<(), String>> = OnceLock::new();
    if let Err(problem) = CHECK.get_or_init(check_python_setup) {
        panic!(
            "\n\nThe interop tests need Python 3 and the clients of tests/python.\n{problem}\n\
             Run the test suite with the README's command, which installs them:\n\n    \
             {TEST_COMMAND}\n\n(or run `python3 -m pip install -r {}`).\n",
            python_dir().join("requirements.txt").display()
        );
    }
}

fn check_python_setup() -> Result<(), String> {
    let output = std::process::Command::new("python3")
        .args(["-c", "import socketio, websocket"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("`python3` failed to start: {e} (is Python 3 installed?)"))?;
    if !output.status.success() {
        return Err(format!(
            "`python3 -c 'import socketio, websocket'` failed:\n{}",
            String::from_utf8_lossy(&output.stderr).trim_end()
        ));
    }
    Ok(())
}

/// Runs `python3 tests/python/SCRIPT ARGS...` and returns the JSON line it printed on success:
/// the same contract as [`run_node`] (hard `timeout`, killed when the future is dropped, the
/// exit status and both output streams in the error).
pub async fn run_python(script: &str, args: &[&str], timeout: Duration) -> Result<Value, String> {
    ensure_python_clients();
    let dir = python_dir();
    run_json_script("python3", &dir, &dir.join(script), script, args, timeout).await
}

/// Runs `PROGRAM SCRIPT_PATH ARGS...` in `dir` under a hard `timeout` and returns the last
/// stdout line, which must be JSON with `"ok": true`, when it exits 0.
async fn run_json_script(
    program: &str,
    dir: &Path,
    script_path: &Path,
    script: &str,
    args: &[&str],
    timeout: Duration,
) -> Result<Value, String> {
    let command = format!("{program} {script} {}", args.join(" "));
    let mut child = tokio::process::Command::new(program)
        .arg(script_path)
        .args(args)
        .current_dir(dir)
        // Keep Python from writing __pycache__ into the source tree.
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start `{command}`: {e}"))?;
    let stdout = child.stdout.take().map(|s| tokio::spawn(read_capped(s)));
    let stderr = child.stderr.take().map(|s| tokio::spawn(read_capped(s)));

    let status = tokio::time::timeout(timeout, child.wait()).await;
    if status.is_err() {
        let _ = child.start_kill();
        let _ = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
    }
    let stdout = collect(stdout).await;
    let stderr = collect(stderr).await;
    let report = |what: String| {
        format!(
            "`{command}` {what}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            stdout.trim_end(),
            stderr.trim_end()
        )
    };
    let status = match status {
        Err(_) => {
            return Err(report(format!(
                "was killed after the hard timeout of {timeout:?}"
            )));
        }
        Ok(Err(e)) => return Err(report(format!("could not be waited for: {e}"))),
        Ok(Ok(status)) => status,
    };
    if !status.success() {
        return Err(report(format!("failed ({status})")));
    }
    let Some(line) = stdout.lines().rev().find(|l| !l.trim().is_empty()) else {
        return Err(report("printed no result line".to_owned()));
    };
    let value: Value = serde_json::from_str(line)
        .map_err(|e| report(format!("printed a result that is not JSON ({e})")))?;
    if value["ok"] != Value::Bool(true) {
        return Err(report("exited 0 without reporting ok".to_owned()));
    }
    Ok(value)
}
