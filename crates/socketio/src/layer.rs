//! The tower layer and service.

use std::{
    fmt,
    task::{Context, Poll},
};

use bytes::Bytes;
use http::{Request, Response};
use tower_layer::Layer;
use tower_service::Service;
use tower_socketio_engine::{BoxError, EngineIoService};

pub use tower_socketio_engine::{ResponseBody, ResponseFuture};

use crate::{client::SioHandler, io::SocketIo};

/// A tower [`Layer`] serving Socket.IO at `/socket.io/` (with or without the trailing slash)
/// and passing every other request to the inner service.
///
/// ```
/// use tower_socketio::SocketIoLayer;
///
/// let app: axum::Router = axum::Router::new()
///     .route("/health", axum::routing::get(|| async { "ok" }))
///     .layer(SocketIoLayer::new());
/// ```
#[derive(Clone)]
pub struct SocketIoLayer {
    io: SocketIo,
}

impl SocketIoLayer {
    /// A layer with a new server with the default configuration, whose main namespace accepts
    /// every client. Use [`SocketIo::layer`] to register handlers.
    pub fn new() -> Self {
        SocketIo::new().layer()
    }

    pub(crate) fn from_io(io: SocketIo) -> Self {
        SocketIoLayer { io }
    }

    /// The server handle.
    pub fn io(&self) -> &SocketIo {
        &self.io
    }
}

impl Default for SocketIoLayer {
    fn default() -> Self {
        SocketIoLayer::new()
    }
}

impl fmt::Debug for SocketIoLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SocketIoLayer")
            .field("io", &self.io)
            .finish()
    }
}

impl<S> Layer<S> for SocketIoLayer {
    type Service = SocketIoService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SocketIoService {
            inner: EngineIoService::new(inner, self.io.inner.engine.clone()),
            io: self.io.clone(),
        }
    }
}

/// The [`Service`] built by [`SocketIoLayer`]. Requests it passes on carry the [`SocketIo`]
/// handle in their extensions, so REST handlers can extract it.
pub struct SocketIoService<S> {
    inner: EngineIoService<S, SioHandler>,
    io: SocketIo,
}

impl<S: Clone> Clone for SocketIoService<S> {
    fn clone(&self) -> Self {
        SocketIoService {
            inner: self.inner.clone(),
            io: self.io.clone(),
        }
    }
}

impl<S: fmt::Debug> fmt::Debug for SocketIoService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SocketIoService")
            .field("inner", self.inner.get_ref())
            .field("io", &self.io)
            .finish()
    }
}

impl<S> SocketIoService<S> {
    /// The server handle.
    pub fn io(&self) -> &SocketIo {
        &self.io
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        self.inner.get_ref()
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        self.inner.get_mut()
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner.into_inner()
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for SocketIoService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ReqBody: http_body::Body + Send + 'static,
    ReqBody::Data: Send,
    ReqBody::Error: Into<BoxError>,
    ResBody: http_body::Body<Data = Bytes>,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        if let Some(file) = &self.io.inner.shared.config.serve_client
            && crate::client_file::is_client_path(self.io.config(), req.uri().path())
        {
            let cache = self.io.inner.client_file.clone();
            let file = file.clone();
            let if_none_match = req.headers().get(http::header::IF_NONE_MATCH).cloned();
            return ResponseFuture::engine(Box::pin(async move {
                crate::client_file::respond(&cache, &file, if_none_match).await
            }));
        }
        #[cfg(feature = "cors")]
        if let Some(cors) = &self.io.inner.shared.config.cors
            && self.io.inner.engine.matches_path(req.uri().path())
        {
            let engine = self.io.inner.engine.clone();
            let mut svc = tower_layer::Layer::layer(
                cors,
                tower::service_fn(move |req: Request<ReqBody>| {
                    let engine = engine.clone();
                    async move { Ok::<_, std::convert::Infallible>(engine.handle(req).await) }
                }),
            );
            return ResponseFuture::engine(Box::pin(async move {
                let res = match std::future::poll_fn(|cx| svc.poll_ready(cx)).await {
                    Ok(()) => svc.call(req).await,
                    Err(e) => Err(e),
                };
                match res {
                    Ok(res) => res,
                    Err(e) => match e {},
                }
            }));
        }
        req.extensions_mut().insert(self.io.clone());
        self.inner.call(req)
    }
}

/// Extracts the [`SocketIo`] handle in an axum handler behind the layer.
#[cfg(feature = "axum")]
impl<S: Send + Sync> axum_core::extract::FromRequestParts<S> for SocketIo {
    type Rejection = (http::StatusCode, &'static str);

    async fn from_request_parts(
        parts: &mut http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<SocketIo>().cloned().ok_or((
            http::StatusCode::INTERNAL_SERVER_ERROR,
            "the SocketIo handle is missing: is the handler behind the SocketIoLayer?",
        ))
    }
}
