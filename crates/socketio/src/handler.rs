//! Handler traits: connect handlers, namespace middleware, event handlers, disconnect
//! handlers. Handlers are async functions whose arguments are extractors, as in axum.

use std::{fmt, future::Future, pin::Pin, sync::Arc, task::Context};

use crate::{
    error::{ConnectError, DisconnectReason},
    extract::{ConnectContext, EventContext, FromConnectParts, FromEventParts},
    socket::Socket,
};

/// A boxed, `Send` future.
pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// Runs `fut` until its first `.await` right here, then, if it is not done, on its own task.
///
/// Handlers thus start in the order their packets arrived, and whatever a handler does before
/// its first `.await` (registering listeners, reading its arguments) happens before the next
/// packet of the socket is looked at. The first poll uses a no-op waker; the spawned task polls
/// again at once, so every resource re-registers with the real waker.
pub(crate) fn spawn_now(mut fut: BoxFuture<()>) {
    let waker = futures_util::task::noop_waker();
    let mut cx = Context::from_waker(&waker);
    if fut.as_mut().poll(&mut cx).is_pending() {
        tokio::spawn(fut);
    }
}

/// What a handler may return: `()`, or a `Result` whose error is logged.
pub trait HandlerOutput: Send + 'static {
    /// Logs the outcome if it is an error.
    fn report(self, what: &str);
}

impl HandlerOutput for () {
    fn report(self, _what: &str) {}
}

impl<E: fmt::Display + Send + 'static> HandlerOutput for Result<(), E> {
    fn report(self, what: &str) {
        if let Err(e) = self {
            tracing::warn!(target: "socketio::handler", "{what} handler failed: {e}");
        }
    }
}

/// What a namespace middleware returns: `Ok(())` lets the connection through, an error refuses
/// it with a CONNECT_ERROR.
pub trait MiddlewareOutput: Send + 'static {
    /// The outcome as a `Result`.
    fn into_result(self) -> Result<(), ConnectError>;
}

impl<E: Into<ConnectError> + Send + 'static> MiddlewareOutput for Result<(), E> {
    fn into_result(self) -> Result<(), ConnectError> {
        self.map_err(Into::into)
    }
}

/// A connect handler: an async function run when a socket connects to a namespace, taking
/// extractors ([`FromConnectParts`]) as arguments.
///
/// If an extractor rejects, the connection is refused with a CONNECT_ERROR and the function
/// does not run. Listeners registered before the function's first `.await` see every packet
/// the client sends after connecting.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a valid connect handler",
    note = "a connect handler is an async function (or closure) taking up to 16 arguments that implement `FromConnectParts` (Socket, Auth<T>, TryAuth<T>, State<T>, Extension<T>, Http<E>, ...)"
)]
pub trait ConnectHandler<T>: Send + Sync + 'static {
    /// Runs the extractors, then returns the handler's body to run.
    fn call(&self, cx: Arc<ConnectContext>) -> BoxFuture<Result<BoxFuture<()>, ConnectError>>;
}

/// A namespace middleware: an async function run before the connect handler, taking
/// extractors as arguments and returning `Result<(), E>` with `E: Into<ConnectError>`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a valid namespace middleware",
    note = "a middleware is an async function taking up to 16 `FromConnectParts` arguments and returning `Result<(), E>` where `E: Into<ConnectError>`"
)]
pub trait ConnectMiddleware<T>: Send + Sync + 'static {
    /// Runs the middleware.
    fn call(&self, cx: Arc<ConnectContext>) -> BoxFuture<Result<(), ConnectError>>;
}

/// An event handler: an async function taking extractors ([`FromEventParts`]) as arguments.
///
/// If an extractor rejects, the rejection is logged and the event dropped.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a valid event handler",
    note = "an event handler is an async function taking up to 16 arguments that implement `FromEventParts` (Socket, Data<T>, TryData<T>, AckSender, Event, Args, State<T>, Extension<T>, ...)"
)]
pub trait EventHandler<T>: Send + Sync + 'static {
    /// Extracts the arguments and returns the handler's future, or `None` if an extractor
    /// rejected the event.
    fn call(&self, cx: &EventContext) -> Option<BoxFuture<()>>;
}

/// A disconnect handler: an async function of the socket and the reason.
pub trait DisconnectHandler: Send + Sync + 'static {
    /// Returns the handler's future.
    fn call(&self, socket: Socket, reason: DisconnectReason) -> BoxFuture<()>;
}

impl<F, Fut> DisconnectHandler for F
where
    F: Fn(Socket, DisconnectReason) -> Fut + Send + Sync + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: HandlerOutput,
{
    fn call(&self, socket: Socket, reason: DisconnectReason) -> BoxFuture<()> {
        let fut = self(socket, reason);
        Box::pin(async move { fut.await.report("disconnect") })
    }
}

macro_rules! impl_handlers {
    ($($ty:ident),*) => {
        #[allow(non_snake_case, unused_variables, unused_mut, clippy::unused_async)]
        impl<F, Fut, $($ty,)*> ConnectHandler<($($ty,)*)> for F
        where
            F: Fn($($ty,)*) -> Fut + Clone + Send + Sync + 'static,
            Fut: Future + Send + 'static,
            Fut::Output: HandlerOutput,
            $($ty: FromConnectParts + Send + 'static,)*
        {
            fn call(&self, cx: Arc<ConnectContext>) -> BoxFuture<Result<BoxFuture<()>, ConnectError>> {
                let f = self.clone();
                Box::pin(async move {
                    $(
                        let $ty = match $ty::from_connect_parts(&cx).await {
                            Ok(v) => v,
                            Err(rejection) => return Err(rejection.into()),
                        };
                    )*
                    drop(cx);
                    let fut: BoxFuture<()> = Box::pin(async move { f($($ty,)*).await.report("connect") });
                    Ok(fut)
                })
            }
        }

        #[allow(non_snake_case, unused_variables, unused_mut)]
        impl<F, Fut, $($ty,)*> ConnectMiddleware<($($ty,)*)> for F
        where
            F: Fn($($ty,)*) -> Fut + Clone + Send + Sync + 'static,
            Fut: Future + Send + 'static,
            Fut::Output: MiddlewareOutput,
            $($ty: FromConnectParts + Send + 'static,)*
        {
            fn call(&self, cx: Arc<ConnectContext>) -> BoxFuture<Result<(), ConnectError>> {
                let f = self.clone();
                Box::pin(async move {
                    $(
                        let $ty = match $ty::from_connect_parts(&cx).await {
                            Ok(v) => v,
                            Err(rejection) => return Err(rejection.into()),
                        };
                    )*
                    drop(cx);
                    f($($ty,)*).await.into_result()
                })
            }
        }

        #[allow(non_snake_case, unused_variables, unused_mut)]
        impl<F, Fut, $($ty,)*> EventHandler<($($ty,)*)> for F
        where
            F: Fn($($ty,)*) -> Fut + Send + Sync + 'static,
            Fut: Future + Send + 'static,
            Fut::Output: HandlerOutput,
            $($ty: FromEventParts + Send + 'static,)*
        {
            fn call(&self, cx: &EventContext) -> Option<BoxFuture<()>> {
                $(
                    let $ty = match $ty::from_event_parts(cx) {
                        Ok(v) => v,
                        Err(rejection) => {
                            tracing::debug!(target: "socketio::rejection", event = %cx.event(), "event dropped: {rejection}");
                            return None;
                        }
                    };
                )*
                let fut = self($($ty,)*);
                Some(Box::pin(async move { fut.await.report("event") }))
            }
        }
    };
}

impl_handlers!();
impl_handlers!(T1);
impl_handlers!(T1, T2);
impl_handlers!(T1, T2, T3);
impl_handlers!(T1, T2, T3, T4);
impl_handlers!(T1, T2, T3, T4, T5);
impl_handlers!(T1, T2, T3, T4, T5, T6);
impl_handlers!(T1, T2, T3, T4, T5, T6, T7);
impl_handlers!(T1, T2, T3, T4, T5, T6, T7, T8);
impl_handlers!(T1, T2, T3, T4, T5, T6, T7, T8, T9);
impl_handlers!(T1, T2, T3, T4, T5, T6, T7, T8, T9, T10);
impl_handlers!(T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11);
impl_handlers!(T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12);
impl_handlers!(T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12, T13);
impl_handlers!(T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12, T13, T14);
impl_handlers!(
    T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12, T13, T14, T15
);
impl_handlers!(
    T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12, T13, T14, T15, T16
);

/// Type-erased handlers, stored in namespaces and sockets.
pub(crate) type BoxConnectHandler = Arc<
    dyn Fn(Arc<ConnectContext>) -> BoxFuture<Result<BoxFuture<()>, ConnectError>> + Send + Sync,
>;
pub(crate) type BoxMiddleware =
    Arc<dyn Fn(Arc<ConnectContext>) -> BoxFuture<Result<(), ConnectError>> + Send + Sync>;
pub(crate) type BoxEventHandler = Arc<dyn Fn(&EventContext) -> Option<BoxFuture<()>> + Send + Sync>;
pub(crate) type BoxDisconnectHandler =
    Arc<dyn Fn(Socket, DisconnectReason) -> BoxFuture<()> + Send + Sync>;

pub(crate) fn box_connect<H: ConnectHandler<T>, T>(h: H) -> BoxConnectHandler {
    Arc::new(move |cx| h.call(cx))
}

pub(crate) fn box_middleware<H: ConnectMiddleware<T>, T>(h: H) -> BoxMiddleware {
    Arc::new(move |cx| h.call(cx))
}

pub(crate) fn box_event<H: EventHandler<T>, T>(h: H) -> BoxEventHandler {
    Arc::new(move |cx| h.call(cx))
}

pub(crate) fn box_disconnect<H: DisconnectHandler>(h: H) -> BoxDisconnectHandler {
    Arc::new(move |socket, reason| h.call(socket, reason))
}
