//! PostgreSQL servers the tests start themselves (`initdb` in a temporary directory, then
//! `postgres` on a free port of 127.0.0.1; never the machine's 5432), so a test can stop and
//! restart its own. Run as the `postgres` user when the tests run as root (PostgreSQL refuses
//! root).

use std::{
    net::SocketAddr,
    os::unix::process::CommandExt,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use crate::redis_server::free_port;

/// How long a fresh server may take to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// The directory of `initdb` and `postgres`: the `PATH`'s, else Debian's newest
/// `/usr/lib/postgresql/<version>/bin`.
fn bin_dir() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if dir.join("initdb").is_file() && dir.join("postgres").is_file() {
                return Ok(dir);
            }
            // Debian links initdb into the PATH (sometimes) but never postgres: follow the link.
            if let Ok(real) = std::fs::canonicalize(dir.join("initdb"))
                && let Some(parent) = real.parent()
                && parent.join("postgres").is_file()
            {
                return Ok(parent.to_owned());
            }
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|e| format!("no PostgreSQL found (PATH, /usr/lib/postgresql: {e})"))?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("postgres").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, bin)| bin)
        .ok_or_else(|| "no PostgreSQL server programs in /usr/lib/postgresql/*/bin".to_owned())
}

/// The uid and gid of `user` from `/etc/passwd`.
fn user_ids(user: &str) -> Option<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        (fields.next()? == user).then_some(())?;
        let _password = fields.next()?;
        let uid = fields.next()?.parse().ok()?;
        let gid = fields.next()?.parse().ok()?;
        Some((uid, gid))
    })
}

fn running_as_root() -> bool {
    // The effective uid, without libc: `/proc/self/status` has `Uid: real effective ...`.
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

/// A PostgreSQL server of the test's own; stopped and removed when dropped.
#[derive(Debug)]
pub struct PostgresServer {
    port: u16,
    dir: PathBuf,
    bin: PathBuf,
    ids: Option<(u32, u32)>,
    child: Option<Child>,
}

impl PostgresServer {
    /// Creates a database cluster in a temporary directory and starts a server on a free
    /// port (trust authentication, user `postgres`, no fsync).
    pub async fn start() -> Result<PostgresServer, String> {
        let bin = bin_dir()?;
        let ids =
            if running_as_root() {
                Some(user_ids("postgres").ok_or(
                    "running as root, and there is no `postgres` user to run PostgreSQL as",
                )?)
            } else {
                None
            };
        let port = free_port()?;
        let dir =
            std::env::temp_dir().join(format!("tower-socketio-pg-{port}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        if let Some((uid, gid)) = ids {
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid))
                .map_err(|e| format!("chown {}: {e}", dir.display()))?;
        }
        let mut server = PostgresServer {
            port,
            dir,
            bin,
            ids,
            child: None,
        };
        let data = server.data_dir();
        let initdb = server
            .command("initdb")
            .args(["-D"])
            .arg(&data)
            .args(["-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .map_err(|e| format!("cannot run initdb: {e}"))?;
        if !initdb.status.success() {
            return Err(format!(
                "initdb failed: {}",
                String::from_utf8_lossy(&initdb.stderr)
            ));
        }
        server.launch().await?;
        Ok(server)
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(self.bin.join(program));
        command.current_dir(&self.dir).stdin(Stdio::null());
        if let Some((uid, gid)) = self.ids {
            command.uid(uid).gid(gid);
        }
        command
    }

    async fn launch(&mut self) -> Result<(), String> {
        let log =
            std::fs::File::create(self.dir.join("postgres.log")).map_err(|e| e.to_string())?;
        if let Some((uid, gid)) = self.ids {
            let _ = std::os::unix::fs::chown(self.dir.join("postgres.log"), Some(uid), Some(gid));
        }
        let child = self
            .command("postgres")
            .arg("-D")
            .arg(self.data_dir())
            .args(["-p", &self.port.to_string(), "-k"])
            .arg(&self.dir)
            .args([
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "max_connections=100",
            ])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot start postgres: {e}"))?;
        self.child = Some(child);
        let started = Instant::now();
        loop {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                return Err(format!("postgres exited ({status}): {}", self.log_tail()));
            }
            if tower_socketio_postgres::tokio_postgres::connect(
                &self.url(),
                tower_socketio_postgres::tokio_postgres::NoTls,
            )
            .await
            .is_ok()
            {
                return Ok(());
            }
            if started.elapsed() > START_TIMEOUT {
                return Err(format!(
                    "postgres not ready within {START_TIMEOUT:?}: {}",
                    self.log_tail()
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.join("postgres.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(10)..].join("\n")
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:port`.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// `postgres://postgres@127.0.0.1:port/postgres`.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Stops the server (fast shutdown: connections are closed), waiting for it to exit.
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            stop(&mut child).await;
        }
    }

    /// Stops and starts it again on the same port with the same data.
    pub async fn restart(&mut self) -> Result<(), String> {
        self.stop().await;
        self.launch().await
    }

    /// A client connection (its driver spawned).
    pub async fn client(&self) -> Result<tower_socketio_postgres::tokio_postgres::Client, String> {
        let (client, connection) = tower_socketio_postgres::tokio_postgres::connect(
            &self.url(),
            tower_socketio_postgres::tokio_postgres::NoTls,
        )
        .await
        .map_err(|e| e.to_string())?;
        tokio::spawn(connection);
        Ok(client)
    }

    /// The directory of the server's files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// SIGINT (PostgreSQL's fast shutdown), then SIGKILL if it is still there after 10 s.
async fn stop(child: &mut Child) {
    let _ = crate::cluster_app::signal(child.id(), "INT");
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if child.try_wait().ok().flatten().is_some() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = crate::cluster_app::signal(child.id(), "INT");
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline && child.try_wait().ok().flatten().is_none() {
                std::thread::sleep(Duration::from_millis(20));
            }
            if child.try_wait().ok().flatten().is_none() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
