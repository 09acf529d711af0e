//! Engine.IO server runtime: the handshake, HTTP long-polling, WebSocket, the upgrade between
//! them, the heartbeat, and a bounded send queue per session, as a tower `Service`.
//!
//! Most users want the `tower-socketio` crate, which runs Socket.IO on top of this. Use this
//! crate directly for a bare Engine.IO server: implement [`Handler`], build an [`Engine`], and
//! mount it with [`EngineIoLayer`].
//!
//! ```
//! use std::sync::Arc;
//! use tower_socketio_engine::{CloseReason, Engine, EngineConfig, EngineIoLayer, Handler, Message, Sid, Socket};
//!
//! /// Echoes every message back to its sender.
//! struct Echo;
//!
//! impl Handler for Echo {
//!     type Data = ();
//!     fn session_data(&self, _sid: Sid, _req: http::request::Parts) {}
//!     fn on_open(&self, _socket: &Arc<Socket<()>>) {}
//!     fn on_message(&self, socket: &Arc<Socket<()>>, message: Message) {
//!         let frame = match message {
//!             Message::Text(t) => tower_socketio_engine::Frame::message(&t),
//!             Message::Binary(b) => tower_socketio_engine::Frame::Binary(b),
//!         };
//!         let _ = socket.send(frame);
//!     }
//!     fn on_close(&self, _socket: &Arc<Socket<()>>, _reason: CloseReason) {}
//! }
//!
//! let engine = Engine::new(EngineConfig::default(), Echo);
//! let app = axum::Router::new().layer(EngineIoLayer::new(engine));
//! # let _: axum::Router = app;
//! ```

#![warn(missing_docs)]

#[cfg(feature = "__fuzz")]
#[doc(hidden)]
pub mod __fuzz;
mod config;
mod cookie;
mod driver;
mod engine;
mod error;
mod polling;
mod service;
mod sid;
mod socket;
mod ws;

pub use crate::{
    config::{AllowFuture, CookieConfig, EngineConfig, SameSite, Transports},
    engine::{BoxError, Engine, Handler},
    service::{EngineIoLayer, EngineIoService, ResponseBody, ResponseFuture},
    sid::{InvalidSid, Sid},
    socket::{CloseReason, SendError, Socket, TransportKind},
};
pub use tower_socketio_protocol::engine::{Frame, Message, ProtocolVersion};
