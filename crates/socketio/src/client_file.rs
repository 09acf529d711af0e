//! Serving the browser client bundle (Node's `serveClient`).

use std::{
    hash::{Hash, Hasher},
    path::Path,
    sync::Arc,
};

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::Full;
use tokio::sync::OnceCell;

use crate::config::SocketIoConfig;

/// The file's bytes and ETag, read once.
pub(crate) type Cache = Arc<OnceCell<Option<(Bytes, HeaderValue)>>>;

/// Whether `path` asks for the client bundle: `<path>socket.io.js` or `socket.io.min.js`.
pub(crate) fn is_client_path(config: &SocketIoConfig, path: &str) -> bool {
    path.strip_prefix(config.engine.path.as_str())
        .is_some_and(|rest| rest == "socket.io.js" || rest == "socket.io.min.js")
}

pub(crate) async fn respond(
    cache: &Cache,
    file: &Path,
    if_none_match: Option<HeaderValue>,
) -> Response<Full<Bytes>> {
    let loaded = cache
        .get_or_init(|| async {
            match tokio::fs::read(file).await {
                Ok(bytes) => {
                    let mut h = std::collections::hash_map::DefaultHasher::new();
                    bytes.hash(&mut h);
                    let etag = HeaderValue::from_str(&format!("\"{:016x}\"", h.finish())).ok()?;
                    Some((Bytes::from(bytes), etag))
                }
                Err(e) => {
                    tracing::error!(target: "socketio::client_file", file = %file.display(), "cannot read the client bundle: {e}");
                    None
                }
            }
        })
        .await;
    let Some((bytes, etag)) = loaded else {
        let mut res = Response::new(Full::new(Bytes::from_static(b"client bundle unavailable")));
        *res.status_mut() = StatusCode::NOT_FOUND;
        return res;
    };
    let mut res = if if_none_match.as_ref() == Some(etag) {
        let mut res = Response::new(Full::new(Bytes::new()));
        *res.status_mut() = StatusCode::NOT_MODIFIED;
        res
    } else {
        let mut res = Response::new(Full::new(bytes.clone()));
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/javascript; charset=utf-8"),
        );
        res
    };
    let h = res.headers_mut();
    h.insert(header::ETAG, etag.clone());
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=0"),
    );
    res
}
