//! Engine.IO v4 / Socket.IO v5 clients on the raw wire: WebSocket (tokio-tungstenite) and
//! HTTP long-polling (hyper's HTTP/1.1 client connections, one for GETs, one for POSTs).

use std::{net::SocketAddr, time::Duration};

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio_tungstenite::{
    WebSocketStream,
    tungstenite::{Message, Utf8Bytes, protocol::WebSocketConfig},
};

pub(crate) type Error = Box<dyn std::error::Error + Send + Sync>;
pub(crate) type Ws = WebSocketStream<TcpStream>;

/// Where the server is: a loopback address and the Engine.IO path.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub(crate) addr: SocketAddr,
    pub(crate) host: String,
    /// `/socket.io/` unless the URL names another path.
    pub(crate) path: String,
}

impl Target {
    /// Parses `http://127.0.0.1:PORT[/path/]`. Only loopback addresses are accepted.
    pub(crate) fn parse(url: &str) -> Result<Target, Error> {
        let rest = url
            .strip_prefix("http://")
            .or_else(|| url.strip_prefix("ws://"))
            .ok_or("the URL must start with http:// or ws://")?;
        let (host, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let host = host.replace("localhost", "127.0.0.1");
        let addr: SocketAddr = host.parse().map_err(|_| "expected http://127.0.0.1:PORT")?;
        if !addr.ip().is_loopback() {
            return Err("only loopback addresses (127.0.0.0/8, ::1) may be targeted".into());
        }
        let path = if path == "/" {
            "/socket.io/".to_owned()
        } else {
            path.to_owned()
        };
        Ok(Target {
            addr,
            host: addr.to_string(),
            path,
        })
    }

    fn query(&self, transport: &str, sid: Option<&str>) -> String {
        match sid {
            Some(sid) => format!("{}?EIO=4&transport={transport}&sid={sid}", self.path),
            None => format!("{}?EIO=4&transport={transport}", self.path),
        }
    }
}

pub(crate) fn text(s: impl Into<String>) -> Message {
    Message::Text(Utf8Bytes::from(s.into()))
}

/// The next text message; answers nothing (the caller handles Engine.IO pings).
pub(crate) async fn next_text(ws: &mut Ws) -> Result<Utf8Bytes, Error> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => return Ok(t),
            Some(Ok(Message::Close(_))) | None => return Err("connection closed".into()),
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(e.into()),
        }
    }
}

/// Opens a WebSocket session and connects to the main namespace: waits for the open packet,
/// sends `40`, waits for `40{"sid":...}`.
pub(crate) async fn ws_connect(target: &Target) -> Result<Ws, Error> {
    let tcp = TcpStream::connect(target.addr).await?;
    tcp.set_nodelay(true)?;
    let url = format!("ws://{}{}", target.host, target.query("websocket", None));
    let config = WebSocketConfig::default().read_buffer_size(4 * 1024);
    let (mut ws, _) = tokio_tungstenite::client_async_with_config(url, tcp, Some(config)).await?;
    let open = next_text(&mut ws).await?;
    if !open.starts_with('0') {
        return Err(format!("expected the open packet, got {open:?}").into());
    }
    ws.send(text("40")).await?;
    loop {
        let t = next_text(&mut ws).await?;
        if t.starts_with("40") {
            return Ok(ws);
        }
        if t.starts_with("44") {
            return Err(format!("connect refused: {t}").into());
        }
        if t.as_str() == "2" {
            ws.send(text("3")).await?;
        }
    }
}

/// Parses the ack id of `43<id>[...]` (main namespace).
pub(crate) fn ack_id(t: &str) -> Option<u64> {
    let rest = t.strip_prefix("43")?;
    let end = rest.find('[')?;
    rest.get(..end)?.parse().ok()
}

/// One HTTP/1.1 connection.
struct Http {
    sender: SendRequest<Full<Bytes>>,
    /// The `Host` header, built once.
    host: http::HeaderValue,
}

impl Http {
    async fn open(target: &Target) -> Result<Http, Error> {
        let tcp = TcpStream::connect(target.addr).await?;
        tcp.set_nodelay(true)?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let host = http::HeaderValue::from_str(&target.host)?;
        Ok(Http { sender, host })
    }

    /// Sends one request and reads the whole response. The request is assembled from parts
    /// built once (the URI, the `Host` value), so the load generator spends its core on the
    /// exchange rather than on parsing and validating the same strings again.
    async fn request(
        &mut self,
        method: http::Method,
        uri: &http::Uri,
        body: Option<String>,
    ) -> Result<Bytes, Error> {
        self.sender.ready().await?;
        let has_body = body.is_some();
        let mut req = http::Request::new(Full::new(Bytes::from(body.unwrap_or_default())));
        *req.method_mut() = method;
        *req.uri_mut() = uri.clone();
        let headers = req.headers_mut();
        headers.insert(http::header::HOST, self.host.clone());
        if has_body {
            headers.insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("text/plain;charset=UTF-8"),
            );
        }
        let res = self.sender.send_request(req).await?;
        let status = res.status();
        let body = res.into_body().collect().await?.to_bytes();
        if !status.is_success() {
            return Err(format!("HTTP {status}: {}", String::from_utf8_lossy(&body)).into());
        }
        Ok(body)
    }
}

/// A long-polling session connected to the main namespace.
pub(crate) struct Polling {
    uri: http::Uri,
    get: Http,
    post: Http,
}

/// The records of a v4 payload.
pub(crate) fn records(body: &[u8]) -> impl Iterator<Item = &str> {
    body.split(|&b| b == 0x1e)
        .filter_map(|r| std::str::from_utf8(r).ok())
}

impl Polling {
    pub(crate) async fn connect(target: &Target) -> Result<Polling, Error> {
        let mut post = Http::open(target).await?;
        let get = Http::open(target).await?;
        let handshake: http::Uri = target.query("polling", None).parse()?;
        let body = post.request(http::Method::GET, &handshake, None).await?;
        let open = records(&body).next().ok_or("empty handshake")?;
        let open: serde_json::Value = serde_json::from_str(open.get(1..).ok_or("bad open")?)?;
        let sid = open["sid"].as_str().ok_or("no sid in the open packet")?;
        let uri = target.query("polling", Some(sid)).parse()?;
        let mut session = Polling { uri, get, post };
        session.send("40".to_owned()).await?;
        loop {
            let body = session.poll().await?;
            for r in records(&body) {
                if r.starts_with("40") {
                    return Ok(session);
                }
                if r.starts_with("44") {
                    return Err(format!("connect refused: {r}").into());
                }
            }
        }
    }

    /// POSTs one payload.
    pub(crate) async fn send(&mut self, payload: String) -> Result<(), Error> {
        self.post
            .request(http::Method::POST, &self.uri, Some(payload))
            .await
            .map(drop)
    }

    /// One GET (a long poll).
    pub(crate) async fn poll(&mut self) -> Result<Bytes, Error> {
        self.get.request(http::Method::GET, &self.uri, None).await
    }

    /// Splits the session into its GET side and its POST side.
    pub(crate) fn split(self) -> (Poller, Poster) {
        (
            Poller {
                uri: self.uri.clone(),
                http: self.get,
            },
            Poster {
                uri: self.uri,
                http: self.post,
            },
        )
    }
}

/// The GET side of a polling session.
pub(crate) struct Poller {
    uri: http::Uri,
    http: Http,
}

impl Poller {
    pub(crate) async fn poll(&mut self) -> Result<Bytes, Error> {
        self.http.request(http::Method::GET, &self.uri, None).await
    }
}

/// The POST side of a polling session.
pub(crate) struct Poster {
    uri: http::Uri,
    http: Http,
}

impl Poster {
    pub(crate) async fn send(&mut self, payload: String) -> Result<(), Error> {
        self.http
            .request(http::Method::POST, &self.uri, Some(payload))
            .await
            .map(drop)
    }
}

/// Waits until `addr` accepts TCP connections, up to `timeout`.
pub(crate) async fn wait_port(addr: SocketAddr, timeout: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + timeout;
    while tokio::time::Instant::now() < deadline {
        if TcpStream::connect(addr).await.is_ok() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_targets_and_acks() {
        let t = Target::parse("http://127.0.0.1:3000").unwrap();
        assert_eq!(t.path, "/socket.io/");
        assert!(Target::parse("http://10.0.0.1:3000").is_err());
        assert_eq!(ack_id(r#"4312["a"]"#), Some(12));
        assert_eq!(ack_id(r#"42["a"]"#), None);
        let recs: Vec<&str> = records(b"2\x1e43[1]").collect();
        assert_eq!(recs, ["2", "43[1]"]);
    }
}
