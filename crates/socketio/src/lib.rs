#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

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

pub use crate::{
    ack::AckSender,
    args::{Args, ArgsError},
    config::{ParserKind, RecoveryConfig, SocketIoConfig},
    error::{AckError, ConnectError, DisconnectReason, EmitError},
    io::{SocketIo, SocketIoBuilder},
    layer::{ResponseBody, ResponseFuture, SocketIoLayer, SocketIoService},
    ns::{DynamicNamespace, Namespace},
    operators::{BroadcastAcks, BroadcastOperator, IntoRooms, RemoteSocket},
    socket::{Handshake, Socket, SocketEmitter},
};
pub use tower_socketio_engine::{EngineConfig, Sid, TransportKind};
