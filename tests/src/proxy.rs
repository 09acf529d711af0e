//! A TCP proxy on 127.0.0.1 that a test points clients at, to cut their connections and send
//! them back to another server: what a load balancer does when a node goes away.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex, PoisonError},
};

use tokio::{
    net::{TcpListener, TcpStream},
    task::JoinHandle,
};

#[derive(Default)]
struct State {
    /// Where new connections go; `None` while cut (new connections are closed at once).
    target: Option<SocketAddr>,
    /// The open connections (aborting one closes both its sides).
    open: Vec<JoinHandle<()>>,
}

/// The proxy; stops listening and closes every connection when dropped.
pub struct Proxy {
    /// Where it listens.
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    accept: JoinHandle<()>,
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy").field("addr", &self.addr).finish()
    }
}

fn lock(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Proxy {
    /// Starts a proxy on a free port of 127.0.0.1 forwarding to `target` (a 127.0.0.1
    /// address).
    pub async fn start(target: SocketAddr) -> Result<Proxy, String> {
        if !target.ip().is_loopback() {
            return Err(format!("refusing to proxy to {target}: 127.0.0.1 only"));
        }
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| e.to_string())?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let state = Arc::new(Mutex::new(State {
            target: Some(target),
            open: Vec::new(),
        }));
        let accept = tokio::spawn(accept_loop(listener, state.clone()));
        Ok(Proxy {
            addr,
            state,
            accept,
        })
    }

    /// `http://addr`.
    pub fn url(&self) -> String {
        crate::http_url(self.addr)
    }

    /// Closes every open connection (both sides see the TCP connection end) and closes new
    /// ones at once until [`route`](Self::route).
    pub fn cut(&self) {
        let open = {
            let mut state = lock(&self.state);
            state.target = None;
            std::mem::take(&mut state.open)
        };
        for connection in open {
            connection.abort();
        }
    }

    /// Forwards new connections to `target` (open ones stay where they are).
    pub fn route(&self, target: SocketAddr) {
        if target.ip().is_loopback() {
            lock(&self.state).target = Some(target);
        }
    }

    /// How many connections are open through the proxy.
    pub fn open_connections(&self) -> usize {
        let mut state = lock(&self.state);
        state.open.retain(|c| !c.is_finished());
        state.open.len()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}

async fn accept_loop(listener: TcpListener, state: Arc<Mutex<State>>) {
    while let Ok((inbound, _)) = listener.accept().await {
        let mut guard = lock(&state);
        let Some(target) = guard.target else {
            drop(inbound);
            continue;
        };
        guard.open.retain(|c| !c.is_finished());
        guard.open.push(tokio::spawn(forward(inbound, target)));
    }
}

async fn forward(mut inbound: TcpStream, target: SocketAddr) {
    let Ok(mut outbound) = TcpStream::connect(target).await else {
        return;
    };
    let _ = inbound.set_nodelay(true);
    let _ = outbound.set_nodelay(true);
    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
}
