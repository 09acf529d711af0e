//! Drives `tests/node/harness.mjs`: real npm clients, a Node.js cluster node and the Node
//! emitter, over JSON lines (see the script's header for the operations).

use std::{
    collections::HashMap,
    process::Stdio,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use serde_json::{Value, json};
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    process::{Child, ChildStdin, Command},
    sync::oneshot,
};

type Waiters = Arc<Mutex<HashMap<u64, oneshot::Sender<Result<Value, String>>>>>;

/// Longest wait for one answer of the harness (each operation bounds its own waits below it).
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// One `node harness.mjs` process; killed when dropped.
pub struct Harness {
    stdin: tokio::sync::Mutex<Option<ChildStdin>>,
    waiters: Waiters,
    next: AtomicU64,
    child: Mutex<Option<Child>>,
    stderr: Arc<Mutex<String>>,
}

impl std::fmt::Debug for Harness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Harness").finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Harness {
    /// Starts a harness (it exits by itself after `max_seconds`).
    pub async fn start(max_seconds: u64) -> Result<Harness, String> {
        crate::ensure_node_modules();
        let dir = crate::node_dir();
        let mut child = Command::new("node")
            .arg(dir.join("harness.mjs"))
            .args(["--max-seconds", &max_seconds.to_string()])
            .current_dir(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start node harness.mjs: {e}"))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let stderr = child.stderr.take().ok_or("no stderr")?;
        let waiters: Waiters = Arc::default();
        let routes = waiters.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let Ok(answer) = serde_json::from_str::<Value>(&line) else {
                    continue;
                };
                let Some(id) = answer["id"].as_u64() else {
                    continue;
                };
                let result = if answer["ok"] == Value::Bool(true) {
                    Ok(answer["result"].clone())
                } else {
                    Err(answer["error"].as_str().unwrap_or("failed").to_owned())
                };
                if let Some(tx) = lock(&routes).remove(&id) {
                    let _ = tx.send(result);
                }
            }
            // The process is gone: fail whatever still waits.
            for (_, tx) in lock(&routes).drain() {
                let _ = tx.send(Err("the harness exited".to_owned()));
            }
        });
        let errors = Arc::new(Mutex::new(String::new()));
        let sink = errors.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let mut s = lock(&sink);
                if s.len() < 64 * 1024 {
                    s.push_str(&line);
                    s.push('\n');
                }
            }
        });
        Ok(Harness {
            stdin: tokio::sync::Mutex::new(child.stdin.take()),
            waiters,
            next: AtomicU64::new(1),
            child: Mutex::new(Some(child)),
            stderr: errors,
        })
    }

    /// Runs `op` with `params` (an object) and returns its result.
    pub async fn call(&self, op: &str, params: Value) -> Result<Value, String> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let mut request = match params {
            Value::Object(map) => map,
            Value::Null => serde_json::Map::new(),
            other => return Err(format!("params must be an object, got {other}")),
        };
        request.insert("id".into(), json!(id));
        request.insert("op".into(), json!(op));
        let (tx, rx) = oneshot::channel();
        lock(&self.waiters).insert(id, tx);
        let mut line = serde_json::to_vec(&request).map_err(|e| e.to_string())?;
        line.push(b'\n');
        {
            let mut stdin = self.stdin.lock().await;
            let Some(stdin) = stdin.as_mut() else {
                return Err("the harness was killed".to_owned());
            };
            stdin
                .write_all(&line)
                .await
                .map_err(|e| format!("{op}: cannot write to the harness: {e}"))?;
        }
        match tokio::time::timeout(CALL_TIMEOUT, rx).await {
            Ok(Ok(result)) => result.map_err(|e| format!("{op}: {e}{}", self.stderr_tail())),
            Ok(Err(_)) => Err(format!("{op}: the harness went away{}", self.stderr_tail())),
            Err(_) => {
                lock(&self.waiters).remove(&id);
                Err(format!(
                    "{op}: no answer within {CALL_TIMEOUT:?}{}",
                    self.stderr_tail()
                ))
            }
        }
    }

    fn stderr_tail(&self) -> String {
        let s = lock(&self.stderr);
        if s.is_empty() {
            String::new()
        } else {
            format!("\n--- harness stderr ---\n{s}")
        }
    }

    /// The process id.
    pub fn pid(&self) -> Option<u32> {
        lock(&self.child).as_ref().and_then(Child::id)
    }

    /// Kills the process at once (SIGKILL): a Node cluster node that vanishes.
    pub async fn kill(&self) {
        self.stdin.lock().await.take();
        let child = lock(&self.child).take();
        if let Some(mut child) = child {
            let _ = child.start_kill();
            let _ = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
        }
    }
}

/// A named npm client in a [`Harness`], with shortcuts for its operations.
#[derive(Debug, Clone, Copy)]
pub struct Client<'a> {
    /// The harness.
    pub harness: &'a Harness,
    /// The client's name.
    pub name: &'a str,
}

impl<'a> Client<'a> {
    /// Connects a client named `name` to `url` (the server root) and namespace `nsp`.
    pub async fn connect(
        harness: &'a Harness,
        name: &'a str,
        url: &str,
        nsp: &str,
        extra: Value,
    ) -> Result<(Client<'a>, String), String> {
        let mut params = json!({ "name": name, "url": url, "nsp": nsp });
        if let (Value::Object(p), Value::Object(e)) = (&mut params, extra) {
            p.extend(e);
        }
        let result = harness.call("client.connect", params).await?;
        let id = crate::str_field(&result, "id")?.to_owned();
        Ok((Client { harness, name }, id))
    }

    /// Emits `event` with `args` (a JSON array).
    pub async fn emit(&self, event: &str, args: Value) -> Result<(), String> {
        self.harness
            .call(
                "client.emit",
                json!({ "name": self.name, "event": event, "args": args }),
            )
            .await
            .map(drop)
    }

    /// Emits `event` with `args` and an acknowledgement; returns the answer's arguments.
    pub async fn call(&self, event: &str, args: Value) -> Result<Value, String> {
        self.harness
            .call(
                "client.emitWithAck",
                json!({ "name": self.name, "event": event, "args": args, "timeoutMs": 5000 }),
            )
            .await
    }

    /// The arguments of the next `event` (within `timeout_ms`).
    pub async fn next(&self, event: &str, timeout_ms: u64) -> Result<Value, String> {
        self.harness
            .call(
                "client.next",
                json!({ "name": self.name, "event": event, "timeoutMs": timeout_ms }),
            )
            .await
    }

    /// Fails if `event` arrives within `ms`.
    pub async fn none(&self, event: &str, ms: u64) -> Result<(), String> {
        self.harness
            .call(
                "client.none",
                json!({ "name": self.name, "event": event, "ms": ms }),
            )
            .await
            .map(drop)
    }

    /// Disconnects from the namespace.
    pub async fn disconnect(&self) -> Result<(), String> {
        self.harness
            .call("client.disconnect", json!({ "name": self.name }))
            .await
            .map(drop)
    }
}
