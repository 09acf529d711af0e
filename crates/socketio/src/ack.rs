//! Acknowledgements from the server to the client.

use serde::Serialize;

use crate::{error::EmitError, socket::Socket};

/// Answers the client's acknowledgement callback for the current event. Extract it in an
/// event handler.
///
/// Sending consumes the sender: an acknowledgement is sent at most once. If the client did
/// not ask for one, sending does nothing.
///
/// ```
/// use tower_socketio::{extract::{AckSender, Data}, Socket, SocketIo};
///
/// let io = SocketIo::new();
/// io.ns("/", |socket: Socket| async move {
///     socket.on("add", |Data((a, b)): Data<(i64, i64)>, ack: AckSender| async move {
///         ack.send(&(a + b)).ok();
///     });
/// });
/// ```
#[derive(Debug)]
pub struct AckSender {
    socket: Socket,
    id: Option<u64>,
}

impl AckSender {
    pub(crate) fn new(socket: Socket, id: Option<u64>) -> Self {
        AckSender { socket, id }
    }

    /// Whether the client asked for an acknowledgement.
    pub fn is_requested(&self) -> bool {
        self.id.is_some()
    }

    /// Sends the acknowledgement with `data` as its arguments (a tuple is several arguments,
    /// `()` none, anything else one).
    pub fn send<T: Serialize + ?Sized>(self, data: &T) -> Result<(), EmitError> {
        match self.id {
            Some(id) => self.socket.send_ack(id, data),
            None => Ok(()),
        }
    }
}
