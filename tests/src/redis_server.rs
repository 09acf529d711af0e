//! `redis-server` processes the tests start themselves, on free ports of 127.0.0.1 (never the
//! machine's 6379), so a test can kill and restart its own.

use std::{
    net::{SocketAddr, TcpListener},
    path::PathBuf,
    process::Stdio,
    time::{Duration, Instant},
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    process::{Child, Command},
};

/// How long a fresh `redis-server` may take to answer `PING`.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// A free port of 127.0.0.1 (bound, then released).
pub fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| e.to_string())
}

/// A `redis-server` of the test's own, killed when dropped.
#[derive(Debug)]
pub struct RedisServer {
    port: u16,
    dir: PathBuf,
    child: Option<Child>,
    extra: Vec<String>,
}

impl RedisServer {
    /// Starts one on a free port, persisting nothing.
    pub async fn start() -> Result<RedisServer, String> {
        // Another process may take the port between our probe and redis-server's bind: then
        // redis-server exits, and we try another port.
        let mut last = String::new();
        for _ in 0..5 {
            match Self::start_with(free_port()?, Vec::new()).await {
                Ok(server) => return Ok(server),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// Starts one on `port` with extra arguments (`--cluster-enabled yes`...).
    pub async fn start_with(port: u16, extra: Vec<String>) -> Result<RedisServer, String> {
        let dir = std::env::temp_dir().join(format!(
            "tower-socketio-redis-{port}-{}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let mut server = RedisServer {
            port,
            dir,
            child: None,
            extra,
        };
        server.spawn().await?;
        Ok(server)
    }

    async fn spawn(&mut self) -> Result<(), String> {
        let port = self.port.to_string();
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port,
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .args(["--protected-mode", "no", "--loglevel", "warning"])
            .arg("--dir")
            .arg(&self.dir)
            .args(&self.extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                format!(
                    "cannot start redis-server (is it installed? the test command installs it): {e}"
                )
            })?;
        self.child = Some(child);
        let started = Instant::now();
        while started.elapsed() < START_TIMEOUT {
            // Our process must be the one answering: it exits when the port is taken.
            if let Some(child) = &mut self.child
                && let Ok(Some(status)) = child.try_wait()
            {
                self.child = None;
                return Err(format!(
                    "redis-server on port {} exited: {status}",
                    self.port
                ));
            }
            if ping(self.addr()).await {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Err(format!(
            "redis-server on port {} did not answer PING within {START_TIMEOUT:?}",
            self.port
        ))
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:port`.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// `redis://127.0.0.1:port`.
    pub fn url(&self) -> String {
        format!("redis://{}", self.addr())
    }

    /// Kills it (SIGKILL): clients see their connections reset.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.start_kill();
            let _ = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
        }
    }

    /// Starts it again on the same port.
    pub async fn restart(&mut self) -> Result<(), String> {
        self.kill().await;
        // The port may linger briefly after the kill.
        let started = Instant::now();
        loop {
            match self.spawn().await {
                Ok(()) => return Ok(()),
                Err(e) if started.elapsed() > Duration::from_secs(10) => return Err(e),
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.start_kill();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Whether a Redis at `addr` answers `PING` (within 500 ms).
pub async fn ping(addr: SocketAddr) -> bool {
    let attempt = async {
        let mut stream = TcpStream::connect(addr).await.ok()?;
        stream.write_all(b"PING\r\n").await.ok()?;
        let mut buf = [0u8; 16];
        let n = stream.read(&mut buf).await.ok()?;
        buf.get(..n).map(|b| b.starts_with(b"+PONG"))
    };
    matches!(
        tokio::time::timeout(Duration::from_millis(500), attempt).await,
        Ok(Some(true))
    )
}

/// A free port `p` of 127.0.0.1 whose cluster bus port `p + 10000` is free too.
fn free_cluster_port() -> Result<u16, String> {
    for _ in 0..100 {
        let port = free_port()?;
        if port < 55_000 && TcpListener::bind(("127.0.0.1", port + 10_000)).is_ok() {
            return Ok(port);
        }
    }
    Err("no free port pair for a cluster node".to_owned())
}

/// A Redis Cluster of the test's own: `masters` `redis-server --cluster-enabled yes` nodes
/// joined with `redis-cli --cluster create`, no replicas. Killed when dropped.
#[derive(Debug)]
pub struct RedisCluster {
    nodes: Vec<RedisServer>,
}

impl RedisCluster {
    /// Starts the nodes, creates the cluster and waits until every node says it is ok.
    pub async fn start(masters: usize) -> Result<RedisCluster, String> {
        let mut nodes = Vec::new();
        for _ in 0..masters {
            let port = free_cluster_port()?;
            let node = RedisServer::start_with(
                port,
                [
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    "nodes.conf",
                    "--cluster-node-timeout",
                    "2000",
                ]
                .map(str::to_owned)
                .to_vec(),
            )
            .await?;
            nodes.push(node);
        }
        let addrs: Vec<String> = nodes.iter().map(|n| n.addr().to_string()).collect();
        let out = tokio::time::timeout(
            Duration::from_secs(30),
            Command::new("redis-cli")
                .arg("--cluster")
                .arg("create")
                .args(&addrs)
                .args(["--cluster-replicas", "0", "--cluster-yes"])
                .stdin(Stdio::null())
                .output(),
        )
        .await
        .map_err(|_| "redis-cli --cluster create did not finish within 30 s".to_owned())?
        .map_err(|e| format!("cannot run redis-cli: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "redis-cli --cluster create failed: {}",
                String::from_utf8_lossy(&out.stdout)
            ));
        }
        let cluster = RedisCluster { nodes };
        cluster.wait_ok().await?;
        Ok(cluster)
    }

    /// Waits until every node reports `cluster_state:ok`.
    pub async fn wait_ok(&self) -> Result<(), String> {
        let started = Instant::now();
        for node in &self.nodes {
            loop {
                if cluster_ok(node.addr()).await {
                    break;
                }
                if started.elapsed() > Duration::from_secs(30) {
                    return Err(format!(
                        "node {} never reported cluster_state:ok",
                        node.addr()
                    ));
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        Ok(())
    }

    /// `redis://127.0.0.1:port` of node `i`.
    pub fn url(&self, i: usize) -> String {
        self.nodes[i].url()
    }

    /// The URLs of every node.
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(RedisServer::url).collect()
    }

    /// Kills node `i` and starts it again on the same port, with its cluster configuration:
    /// it rejoins with its slots.
    pub async fn restart(&mut self, i: usize) -> Result<(), String> {
        self.nodes[i].restart().await?;
        self.wait_ok().await
    }
}

async fn cluster_ok(addr: SocketAddr) -> bool {
    let attempt = async {
        let mut stream = TcpStream::connect(addr).await.ok()?;
        stream.write_all(b"CLUSTER INFO\r\n").await.ok()?;
        let mut buf = vec![0u8; 4096];
        let n = stream.read(&mut buf).await.ok()?;
        Some(String::from_utf8_lossy(&buf[..n]).contains("cluster_state:ok"))
    };
    matches!(
        tokio::time::timeout(Duration::from_millis(500), attempt).await,
        Ok(Some(true))
    )
}
