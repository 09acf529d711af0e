#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

#[cfg(feature = "__fuzz")]
#[doc(hidden)]
pub mod __fuzz;
mod ack;
pub mod adapter;
pub mod args;
mod client;
mod client_file;
mod config;
mod error;
pub mod extract;
pub mod handler;
mod io;
mod layer;
mod ns;
mod operators;
mod packet;
mod socket;

/// Guides, with examples that are compiled and run as tests.
pub mod guide {
    #[doc = include_str!("../../../docs/getting-started.md")]
    pub mod getting_started {}
    #[doc = include_str!("../../../docs/namespaces-and-rooms.md")]
    pub mod namespaces_and_rooms {}
    #[doc = include_str!("../../../docs/events-and-acks.md")]
    pub mod events_and_acks {}
    #[doc = include_str!("../../../docs/extractors.md")]
    pub mod extractors {}
    #[doc = include_str!("../../../docs/middleware-and-auth.md")]
    pub mod middleware_and_auth {}
}

pub use crate::{
    ack::AckSender,
    args::{Args, ArgsError},
    config::{ParserKind, RecoveryConfig, SocketIoConfig},
    error::{AckError, ConnectError, DisconnectReason, EmitError},
    io::{SocketIo, SocketIoBuilder},
    layer::{ResponseBody, ResponseFuture, SocketIoLayer, SocketIoService},
    ns::{DynamicNamespace, Namespace, ServerSideEvent},
    operators::{BroadcastAcks, BroadcastOperator, IntoRooms, RemoteSocket},
    socket::{Handshake, Socket, SocketEmitter},
};
pub use tower_socketio_engine::{EngineConfig, Sid, TransportKind};
