//! Extractors: the arguments of connect handlers, middleware and event handlers.
//!
//! * On connect (handlers and namespace middleware, async, [`FromConnectParts`]):
//!   [`Socket`], [`Auth`], [`TryAuth`], [`State`], [`Extension`], [`Http`], [`Handshake`].
//! * On events ([`FromEventParts`]): [`Socket`], [`Data`], [`TryData`], [`AckSender`],
//!   [`Event`], [`Args`], [`State`], [`Extension`].
//!
//! Write your own by implementing these traits.

use std::{fmt, future::Future};

use serde::de::DeserializeOwned;

pub use crate::{ack::AckSender, args::Args};
use crate::{
    args::ArgsError,
    error::ConnectError,
    socket::{Handshake, Socket},
};

/// What connect handlers and middleware extract from.
#[derive(Debug)]
pub struct ConnectContext {
    pub(crate) socket: Socket,
}

impl ConnectContext {
    /// The connecting socket.
    pub fn socket(&self) -> &Socket {
        &self.socket
    }
}

/// What event handlers extract from.
#[derive(Debug)]
pub struct EventContext {
    pub(crate) socket: Socket,
    pub(crate) event: tower_socketio_protocol::Str,
    pub(crate) args: Args,
    pub(crate) ack_id: Option<u64>,
}

impl EventContext {
    /// The socket the event arrived on.
    pub fn socket(&self) -> &Socket {
        &self.socket
    }

    /// The event name.
    pub fn event(&self) -> &str {
        &self.event
    }

    /// The event's arguments.
    pub fn args(&self) -> &Args {
        &self.args
    }

    /// The acknowledgement id, if the client asked for an acknowledgement.
    pub fn ack_id(&self) -> Option<u64> {
        self.ack_id
    }
}

/// An extractor usable in connect handlers and namespace middleware.
///
/// A rejection refuses the connection: the client receives `connect_error` with the
/// rejection's message.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be used as a connect handler or middleware argument",
    note = "connect extractors: Socket, Auth<T>, TryAuth<T>, State<T>, Extension<T>, Http<E>, Http<E, S>, Handshake"
)]
pub trait FromConnectParts: Sized {
    /// Why extraction failed.
    type Rejection: Into<ConnectError>;

    /// Extracts the value.
    fn from_connect_parts(
        cx: &ConnectContext,
    ) -> impl Future<Output = Result<Self, Self::Rejection>> + Send;
}

/// An extractor usable in event handlers. Extraction is synchronous, so handlers start in the
/// order their events arrived.
///
/// A rejection drops the event and is logged (target `socketio::rejection`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be used as an event handler argument",
    note = "event extractors: Socket, Data<T>, TryData<T>, AckSender, Event, Args, State<T>, Extension<T>"
)]
pub trait FromEventParts: Sized {
    /// Why extraction failed.
    type Rejection: fmt::Display;

    /// Extracts the value.
    fn from_event_parts(cx: &EventContext) -> Result<Self, Self::Rejection>;
}

/// A rejection that cannot happen.
#[derive(Debug, Clone, Copy)]
pub enum Never {}

impl fmt::Display for Never {
    fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {}
    }
}

impl From<Never> for ConnectError {
    fn from(n: Never) -> Self {
        match n {}
    }
}

impl FromConnectParts for Socket {
    type Rejection = Never;
    async fn from_connect_parts(cx: &ConnectContext) -> Result<Self, Never> {
        Ok(cx.socket.clone())
    }
}

impl FromEventParts for Socket {
    type Rejection = Never;
    fn from_event_parts(cx: &EventContext) -> Result<Self, Never> {
        Ok(cx.socket.clone())
    }
}

impl FromConnectParts for Handshake {
    type Rejection = Never;
    async fn from_connect_parts(cx: &ConnectContext) -> Result<Self, Never> {
        Ok(cx.socket.handshake().clone())
    }
}

/// The CONNECT auth payload, deserialized (`{}` when the client sent none).
///
/// A payload that does not deserialize refuses the connection.
///
/// ```
/// use tower_socketio::{extract::Auth, Socket, SocketIo};
///
/// #[derive(serde::Deserialize)]
/// struct Login { token: String }
///
/// let io = SocketIo::new();
/// io.ns("/", |socket: Socket, Auth(login): Auth<Login>| async move {
///     let _ = (socket, login.token);
/// });
/// ```
#[derive(Debug, Clone)]
pub struct Auth<T>(pub T);

impl<T: DeserializeOwned + Send> FromConnectParts for Auth<T> {
    type Rejection = ConnectError;
    async fn from_connect_parts(cx: &ConnectContext) -> Result<Self, ConnectError> {
        serde_json::from_value(cx.socket.auth().clone())
            .map(Auth)
            .map_err(|e| ConnectError::new(format!("invalid auth payload: {e}")))
    }
}

/// Like [`Auth`], giving the deserialization error to the handler instead of refusing.
#[derive(Debug)]
pub struct TryAuth<T>(pub Result<T, serde_json::Error>);

impl<T: DeserializeOwned + Send> FromConnectParts for TryAuth<T> {
    type Rejection = Never;
    async fn from_connect_parts(cx: &ConnectContext) -> Result<Self, Never> {
        Ok(TryAuth(serde_json::from_value(cx.socket.auth().clone())))
    }
}

/// The event's data, deserialized.
///
/// `T` is deserialized from the first argument, or from `null` when there is none. A tuple
/// receives all the arguments: `Data<(String, u32)>` for `emit("ev", "a", 1)`. Binary
/// arguments deserialize into `bytes::Bytes`. If the data does not match `T`, the event is
/// dropped and logged; use [`TryData`] to handle the error yourself.
#[derive(Debug, Clone)]
pub struct Data<T>(pub T);

impl<T: DeserializeOwned> FromEventParts for Data<T> {
    type Rejection = ArgsError;
    fn from_event_parts(cx: &EventContext) -> Result<Self, ArgsError> {
        cx.args.get().map(Data)
    }
}

/// Like [`Data`], giving the deserialization error to the handler.
#[derive(Debug)]
pub struct TryData<T>(pub Result<T, ArgsError>);

impl<T: DeserializeOwned> FromEventParts for TryData<T> {
    type Rejection = Never;
    fn from_event_parts(cx: &EventContext) -> Result<Self, Never> {
        Ok(TryData(cx.args.get()))
    }
}

impl FromEventParts for Args {
    type Rejection = Never;
    fn from_event_parts(cx: &EventContext) -> Result<Self, Never> {
        Ok(cx.args.clone())
    }
}

/// The event name (useful in catch-all handlers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event(pub String);

impl FromEventParts for Event {
    type Rejection = Never;
    fn from_event_parts(cx: &EventContext) -> Result<Self, Never> {
        Ok(Event(cx.event.to_string()))
    }
}

impl FromEventParts for AckSender {
    type Rejection = Never;
    fn from_event_parts(cx: &EventContext) -> Result<Self, Never> {
        Ok(AckSender::new(cx.socket.clone(), cx.ack_id))
    }
}

/// Application state given to [`crate::SocketIoBuilder::with_state`], by type.
///
/// ```
/// use tower_socketio::{extract::State, Socket, SocketIo};
///
/// #[derive(Clone)]
/// struct Db;
///
/// let io = SocketIo::builder().with_state(Db).build();
/// io.ns("/", |_socket: Socket, State(_db): State<Db>| async move {});
/// ```
#[derive(Debug, Clone)]
pub struct State<T>(pub T);

/// No state of the requested type was registered.
#[derive(Debug, Clone, Copy)]
pub struct MissingState(&'static str);

impl fmt::Display for MissingState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "no state of type {} was registered with with_state",
            self.0
        )
    }
}

impl From<MissingState> for ConnectError {
    fn from(e: MissingState) -> Self {
        tracing::error!(target: "socketio::rejection", "{e}");
        ConnectError::new("internal server error")
    }
}

/// The state an [`Http`] extractor runs with: `()` needs no registration.
#[cfg(feature = "axum")]
fn http_state<S: Clone + Send + Sync + 'static>(socket: &Socket) -> Result<S, MissingState> {
    if let Some(unit) = (&() as &dyn std::any::Any).downcast_ref::<S>() {
        return Ok(unit.clone());
    }
    state::<S>(socket).map(|State(s)| s)
}

fn state<T: Clone + Send + Sync + 'static>(socket: &Socket) -> Result<State<T>, MissingState> {
    socket
        .shared()
        .state
        .get::<T>()
        .cloned()
        .map(State)
        .ok_or(MissingState(std::any::type_name::<T>()))
}

impl<T: Clone + Send + Sync + 'static> FromConnectParts for State<T> {
    type Rejection = MissingState;
    async fn from_connect_parts(cx: &ConnectContext) -> Result<Self, MissingState> {
        state(&cx.socket)
    }
}

impl<T: Clone + Send + Sync + 'static> FromEventParts for State<T> {
    type Rejection = MissingState;
    fn from_event_parts(cx: &EventContext) -> Result<Self, MissingState> {
        state(&cx.socket)
    }
}

/// A value a middleware or handler stored on the socket with [`Socket::extensions`], by type.
#[derive(Debug, Clone)]
pub struct Extension<T>(pub T);

/// No extension of the requested type is on the socket.
#[derive(Debug, Clone, Copy)]
pub struct MissingExtension(&'static str);

impl fmt::Display for MissingExtension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "no extension of type {} on the socket", self.0)
    }
}

impl From<MissingExtension> for ConnectError {
    fn from(e: MissingExtension) -> Self {
        ConnectError::new(e.to_string())
    }
}

fn extension<T: Clone + Send + Sync + 'static>(
    socket: &Socket,
) -> Result<Extension<T>, MissingExtension> {
    socket
        .extensions()
        .get::<T>()
        .cloned()
        .map(Extension)
        .ok_or(MissingExtension(std::any::type_name::<T>()))
}

impl<T: Clone + Send + Sync + 'static> FromConnectParts for Extension<T> {
    type Rejection = MissingExtension;
    async fn from_connect_parts(cx: &ConnectContext) -> Result<Self, MissingExtension> {
        extension(&cx.socket)
    }
}

impl<T: Clone + Send + Sync + 'static> FromEventParts for Extension<T> {
    type Rejection = MissingExtension;
    fn from_event_parts(cx: &EventContext) -> Result<Self, MissingExtension> {
        extension(&cx.socket)
    }
}

/// Runs an axum extractor ([`FromRequestParts`](axum_core::extract::FromRequestParts)) on the
/// handshake HTTP request: whatever the outer tower middleware put on it (a session, a
/// logged-in user, a request id, typed headers, cookies).
///
/// `Http<E>` runs the extractor with the state `()`, which is all most extractors need.
/// `Http<E, S>` runs it with the application state `S` registered with
/// [`SocketIoBuilder::with_state`](crate::SocketIoBuilder::with_state), the way axum's
/// `Router::with_state` does: extractors generic over the state with `K: FromRef<S>` (such as
/// axum-extra's `SignedCookieJar`, which needs a `Key`) work unchanged. In both forms the
/// pattern is `Http(value)`.
///
/// A rejection refuses the connection with the rejection's text as the message. An `S` that
/// was never registered refuses it with `internal server error` and logs the missing type
/// (target `socketio::rejection`).
///
/// ```
/// use axum::http::HeaderMap;
/// use tower_socketio::{extract::Http, Socket, SocketIo};
///
/// let io = SocketIo::new();
/// io.ns("/", |socket: Socket, Http(headers): Http<HeaderMap>| async move {
///     let _ = (socket, headers.get("user-agent"));
/// });
/// ```
///
/// An extractor of your own that needs the application state:
///
/// ```
/// use axum::{extract::{FromRef, FromRequestParts}, http::{request::Parts, StatusCode}};
/// use tower_socketio::{extract::Http, Socket, SocketIo};
///
/// #[derive(Clone)]
/// struct AppState { tokens: Vec<String> }
///
/// struct Caller(String);
///
/// impl<S: Send + Sync> FromRequestParts<S> for Caller
/// where
///     AppState: FromRef<S>,
/// {
///     type Rejection = (StatusCode, &'static str);
///     async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
///         let app = AppState::from_ref(state);
///         match parts.headers.get("x-token").and_then(|v| v.to_str().ok()) {
///             Some(t) if app.tokens.iter().any(|k| k == t) => Ok(Caller(t.to_owned())),
///             _ => Err((StatusCode::UNAUTHORIZED, "unknown token")),
///         }
///     }
/// }
///
/// let app = AppState { tokens: vec!["s3cret".into()] };
/// let io = SocketIo::builder().with_state(app).build();
/// io.ns("/", |_socket: Socket, Http(Caller(_who)): Http<Caller, AppState>| async move {});
/// ```
#[cfg(feature = "axum")]
pub struct Http<E, S = ()>(pub <E as WithState<S>>::Value);

/// Names the state an [`Http`] extractor runs with; `<E as WithState<S>>::Value` is always `E`.
///
/// This is what lets `Http<E, S>` have a single field (so `Http(value)` destructures it)
/// while still naming `S`. Implemented for every type; there is nothing to implement.
pub trait WithState<S> {
    /// Always `Self`.
    type Value;
}

impl<E, S> WithState<S> for E {
    type Value = E;
}

#[cfg(feature = "axum")]
impl<E: fmt::Debug, S> fmt::Debug for Http<E, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Http").field(&self.0).finish()
    }
}

#[cfg(feature = "axum")]
impl<E: Clone, S> Clone for Http<E, S> {
    fn clone(&self) -> Self {
        Http(self.0.clone())
    }
}

#[cfg(feature = "axum")]
impl<E, S> FromConnectParts for Http<E, S>
where
    E: axum_core::extract::FromRequestParts<S> + Send,
    S: Clone + Send + Sync + 'static,
{
    type Rejection = ConnectError;
    async fn from_connect_parts(cx: &ConnectContext) -> Result<Self, ConnectError> {
        use axum_core::response::IntoResponse;
        let state = http_state::<S>(&cx.socket)?;
        let mut parts = cx.socket.request_parts().clone();
        let res = match E::from_request_parts(&mut parts, &state).await {
            Ok(e) => return Ok(Http(e)),
            Err(rejection) => rejection.into_response(),
        };
        let status = res.status();
        let body = http_body_util::Limited::new(res.into_body(), 4096);
        let text = match http_body_util::BodyExt::collect(body)
            .await
            .map(|c| c.to_bytes())
        {
            Ok(b) if !b.is_empty() => String::from_utf8_lossy(&b).into_owned(),
            _ => status
                .canonical_reason()
                .unwrap_or("request rejected")
                .to_owned(),
        };
        Err(ConnectError::new(text))
    }
}
