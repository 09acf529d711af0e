//! The tower `Layer` and `Service` mounting an engine in front of an inner service.

use std::{
    convert::Infallible,
    fmt,
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

use bytes::Bytes;
use http::{Request, Response};
use http_body::{Body, Frame, SizeHint};
use http_body_util::Full;
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use crate::engine::{BoxError, Engine, Handler};

/// A [`Layer`] serving an Engine.IO endpoint at the engine's path and passing every other
/// request to the inner service.
pub struct EngineIoLayer<H: Handler> {
    engine: Engine<H>,
}

impl<H: Handler> EngineIoLayer<H> {
    /// A layer for `engine`.
    pub fn new(engine: Engine<H>) -> Self {
        EngineIoLayer { engine }
    }
}

impl<H: Handler> Clone for EngineIoLayer<H> {
    fn clone(&self) -> Self {
        EngineIoLayer {
            engine: self.engine.clone(),
        }
    }
}

impl<H: Handler> fmt::Debug for EngineIoLayer<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EngineIoLayer")
            .field("engine", &self.engine)
            .finish()
    }
}

impl<S, H: Handler> Layer<S> for EngineIoLayer<H> {
    type Service = EngineIoService<S, H>;

    fn layer(&self, inner: S) -> Self::Service {
        EngineIoService {
            inner,
            engine: self.engine.clone(),
        }
    }
}

/// The [`Service`] built by [`EngineIoLayer`].
pub struct EngineIoService<S, H: Handler> {
    inner: S,
    engine: Engine<H>,
}

impl<S, H: Handler> EngineIoService<S, H> {
    /// Wraps `inner`.
    pub fn new(inner: S, engine: Engine<H>) -> Self {
        EngineIoService { inner, engine }
    }

    /// The engine.
    pub fn engine(&self) -> &Engine<H> {
        &self.engine
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: Clone, H: Handler> Clone for EngineIoService<S, H> {
    fn clone(&self) -> Self {
        EngineIoService {
            inner: self.inner.clone(),
            engine: self.engine.clone(),
        }
    }
}

impl<S: fmt::Debug, H: Handler> fmt::Debug for EngineIoService<S, H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EngineIoService")
            .field("inner", &self.inner)
            .field("engine", &self.engine)
            .finish()
    }
}

impl<S, H, ReqBody, ResBody> Service<Request<ReqBody>> for EngineIoService<S, H>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    H: Handler,
    ReqBody: Body + Send + 'static,
    ReqBody::Data: Send,
    ReqBody::Error: Into<BoxError>,
    ResBody: Body<Data = Bytes>,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        if self.engine.matches_path(req.uri().path()) {
            let engine = self.engine.clone();
            ResponseFuture::engine(Box::pin(async move { engine.handle(req).await }))
        } else {
            ResponseFuture::inner(self.inner.call(req))
        }
    }
}

type EngineFuture = Pin<Box<dyn Future<Output = Response<Full<Bytes>>> + Send>>;

pin_project! {
    /// The response future of [`EngineIoService`].
    pub struct ResponseFuture<F> {
        #[pin]
        kind: FutureKind<F>,
    }
}

pin_project! {
    #[project = FutureKindProj]
    enum FutureKind<F> {
        Inner { #[pin] future: F },
        Engine { future: EngineFuture },
    }
}

impl<F> ResponseFuture<F> {
    /// A future answered by the inner service.
    pub fn inner(future: F) -> Self {
        ResponseFuture {
            kind: FutureKind::Inner { future },
        }
    }

    /// A future answered by the engine.
    pub fn engine(future: Pin<Box<dyn Future<Output = Response<Full<Bytes>>> + Send>>) -> Self {
        ResponseFuture {
            kind: FutureKind::Engine { future },
        }
    }
}

impl<F> fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<ResponseBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            FutureKindProj::Inner { future } => future
                .poll(cx)
                .map(|r| r.map(|res| res.map(ResponseBody::inner))),
            FutureKindProj::Engine { future } => future
                .as_mut()
                .poll(cx)
                .map(|res| Ok(res.map(ResponseBody::full))),
        }
    }
}

pin_project! {
    /// The response body of [`EngineIoService`]: the inner service's body, or the engine's.
    pub struct ResponseBody<B> {
        #[pin]
        kind: BodyKind<B>,
    }
}

pin_project! {
    #[project = BodyKindProj]
    enum BodyKind<B> {
        Inner { #[pin] body: B },
        Full { #[pin] body: Full<Bytes> },
    }
}

impl<B> ResponseBody<B> {
    /// Wraps the inner service's body.
    pub fn inner(body: B) -> Self {
        ResponseBody {
            kind: BodyKind::Inner { body },
        }
    }

    /// A body written by the engine.
    pub fn full(body: Full<Bytes>) -> Self {
        ResponseBody {
            kind: BodyKind::Full { body },
        }
    }
}

impl<B> fmt::Debug for ResponseBody<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseBody").finish_non_exhaustive()
    }
}

impl<B: Body<Data = Bytes>> Body for ResponseBody<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        match self.project().kind.project() {
            BodyKindProj::Inner { body } => body.poll_frame(cx),
            BodyKindProj::Full { body } => body
                .poll_frame(cx)
                .map(|o| o.map(|r| r.map_err(|e: Infallible| match e {}))),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            BodyKind::Inner { body } => body.is_end_stream(),
            BodyKind::Full { body } => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            BodyKind::Inner { body } => body.size_hint(),
            BodyKind::Full { body } => body.size_hint(),
        }
    }
}
