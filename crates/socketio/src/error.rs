//! Errors and disconnect reasons.

use std::fmt;

use tower_socketio_engine::CloseReason;

/// Why a socket left its namespace. [`DisconnectReason::as_str`] gives Node's strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// The client closed the transport.
    TransportClose,
    /// The transport failed.
    TransportError,
    /// The client stopped answering pings.
    PingTimeout,
    /// The client sent an undecodable Engine.IO packet.
    ParseError,
    /// The server closed the engine connection, e.g. after an undecodable Socket.IO packet.
    ForcedClose,
    /// The server closed the connection: connect timeout or a protocol violation.
    ForcedServerClose,
    /// The server shut down.
    ServerShuttingDown,
    /// The client disconnected from the namespace (`socket.disconnect()` on the client).
    ClientNamespaceDisconnect,
    /// The server disconnected the socket ([`crate::Socket::disconnect`]).
    ServerNamespaceDisconnect,
    /// The client could not keep up: its send queue overflowed.
    SendBufferFull,
}

impl DisconnectReason {
    /// Node's name for the reason (`"transport close"`, `"client namespace disconnect"`...).
    pub fn as_str(self) -> &'static str {
        match self {
            DisconnectReason::TransportClose => "transport close",
            DisconnectReason::TransportError => "transport error",
            DisconnectReason::PingTimeout => "ping timeout",
            DisconnectReason::ParseError => "parse error",
            DisconnectReason::ForcedClose => "forced close",
            DisconnectReason::ForcedServerClose => "forced server close",
            DisconnectReason::ServerShuttingDown => "server shutting down",
            DisconnectReason::ClientNamespaceDisconnect => "client namespace disconnect",
            DisconnectReason::ServerNamespaceDisconnect => "server namespace disconnect",
            DisconnectReason::SendBufferFull => "send buffer full",
        }
    }

    /// Whether a session disconnected for this reason may be recovered (connection state
    /// recovery): everything but explicit disconnects and parse errors.
    pub fn is_recoverable(self) -> bool {
        !matches!(
            self,
            DisconnectReason::ParseError
                | DisconnectReason::ClientNamespaceDisconnect
                | DisconnectReason::ServerNamespaceDisconnect
        )
    }
}

impl From<CloseReason> for DisconnectReason {
    fn from(r: CloseReason) -> Self {
        match r {
            CloseReason::TransportClose => DisconnectReason::TransportClose,
            CloseReason::PingTimeout => DisconnectReason::PingTimeout,
            CloseReason::ParseError => DisconnectReason::ParseError,
            CloseReason::ForcedClose => DisconnectReason::ForcedClose,
            CloseReason::ForcedServerClose => DisconnectReason::ForcedServerClose,
            CloseReason::ServerShuttingDown => DisconnectReason::ServerShuttingDown,
            CloseReason::SendBufferFull => DisconnectReason::SendBufferFull,
            _ => DisconnectReason::TransportError,
        }
    }
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A refused namespace connection: the client receives `connect_error` with this `message`
/// and, when set, `data`.
///
/// ```
/// use tower_socketio::ConnectError;
///
/// let err = ConnectError::new("not authorized").with_data(serde_json::json!({"retry": false}));
/// assert_eq!(err.message(), "not authorized");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectError {
    message: String,
    data: Option<serde_json::Value>,
}

impl ConnectError {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> Self {
        ConnectError {
            message: message.into(),
            data: None,
        }
    }

    /// Adds the `data` the client receives as `err.data`.
    #[must_use]
    pub fn with_data(mut self, data: serde_json::Value) -> Self {
        self.data = Some(data);
        self
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The data, if any.
    pub fn data(&self) -> Option<&serde_json::Value> {
        self.data.as_ref()
    }

    /// The CONNECT_ERROR payload: `{"message":...[,"data":...]}`.
    pub(crate) fn to_json(&self) -> String {
        let mut map = serde_json::Map::new();
        map.insert(
            "message".into(),
            serde_json::Value::String(self.message.clone()),
        );
        if let Some(d) = &self.data {
            map.insert("data".into(), d.clone());
        }
        serde_json::Value::Object(map).to_string()
    }
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConnectError {}

impl From<&str> for ConnectError {
    fn from(s: &str) -> Self {
        ConnectError::new(s)
    }
}

impl From<String> for ConnectError {
    fn from(s: String) -> Self {
        ConnectError::new(s)
    }
}

/// Why an emit failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmitError {
    /// The arguments could not be serialized.
    #[error("cannot serialize the arguments: {0}")]
    Serialize(String),
    /// The event name is reserved (`connect`, `connect_error`, `disconnect`, `disconnecting`,
    /// `newListener`, `removeListener`).
    #[error("{0:?} is a reserved event name")]
    ReservedEvent(String),
    /// The socket is disconnected.
    #[error("the socket is disconnected")]
    Disconnected,
    /// The client could not keep up and was disconnected.
    #[error("the client's send queue is full")]
    QueueFull,
    /// A volatile packet was dropped.
    #[error("volatile packet dropped")]
    Dropped,
}

/// Why an acknowledgement did not arrive.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AckError {
    /// No answer before the timeout.
    #[error("operation has timed out")]
    Timeout,
    /// The socket disconnected first.
    #[error("the socket disconnected before acknowledging")]
    Disconnected,
    /// The emit failed.
    #[error(transparent)]
    Emit(#[from] EmitError),
    /// The answer did not have the expected type.
    #[error("unexpected acknowledgement: {0}")]
    Decode(#[from] crate::args::ArgsError),
}
