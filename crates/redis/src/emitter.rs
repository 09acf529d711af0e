//! The emitter: `@socket.io/redis-emitter` 5.x, for processes that are not Socket.IO servers.

use std::{fmt, sync::Arc};

use serde::Serialize;
use tower_socketio::{
    EmitError,
    adapter::{BroadcastFlags, BroadcastOptions, PacketData, Room},
};

use crate::wire::{self, Targets, kind};

/// The uid of every message the emitter publishes (Node's `"emitter"`).
const UID: &str = "emitter";

/// Event names the Socket.IO servers reserve (Node's emitter refuses them too).
const RESERVED: [&str; 6] = [
    "connect",
    "connect_error",
    "disconnect",
    "disconnecting",
    "newListener",
    "removeListener",
];

/// Why an emitter operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmitterError {
    /// Redis refused or did not answer.
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    /// The event name is reserved, or the data does not serialize.
    #[error(transparent)]
    Emit(#[from] EmitError),
}

/// Sends events and operations to the Socket.IO servers of a Redis cluster from any process,
/// in the format of Node's `@socket.io/redis-emitter` 5.x: Rust and Node servers using the
/// classic Redis adapter both receive them.
///
/// Operators return new emitters, as in Node: `emitter.of("/chat").to("room1").emit(...)`.
///
/// ```no_run
/// # async fn f() -> Result<(), tower_socketio_redis::EmitterError> {
/// use tower_socketio_redis::RedisEmitter;
///
/// let emitter = RedisEmitter::connect("redis://127.0.0.1:6379").await?;
/// emitter.to("room1").emit("news", "hello").await?;
/// emitter.of("/admin").sockets_join("vip").await?;
/// emitter.server_side_emit("reload", &()).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisEmitter {
    conn: redis::aio::ConnectionManager,
    key: Arc<str>,
    nsp: Arc<str>,
    opts: BroadcastOptions,
}

impl fmt::Debug for RedisEmitter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisEmitter")
            .field("key", &self.key)
            .field("nsp", &self.nsp)
            .field("opts", &self.opts)
            .finish_non_exhaustive()
    }
}

impl RedisEmitter {
    /// An emitter to the main namespace through the Redis at `url`, with the key prefix
    /// `socket.io`.
    ///
    /// # Errors
    ///
    /// When the URL is invalid or Redis cannot be reached.
    pub async fn connect(url: &str) -> Result<Self, EmitterError> {
        Self::new(redis::Client::open(url)?, "socket.io").await
    }

    /// An emitter to the main namespace through `client`, for servers whose adapters use the
    /// key prefix `key`.
    ///
    /// # Errors
    ///
    /// When Redis cannot be reached.
    pub async fn new(client: redis::Client, key: &str) -> Result<Self, EmitterError> {
        let conn = redis::aio::ConnectionManager::new(client).await?;
        Ok(RedisEmitter {
            conn,
            key: Arc::from(key),
            nsp: Arc::from("/"),
            opts: BroadcastOptions::new(),
        })
    }

    /// The same emitter for namespace `nsp` (a leading `/` is added if missing), without
    /// rooms or flags.
    #[must_use]
    pub fn of(&self, nsp: &str) -> Self {
        let nsp = if nsp.starts_with('/') {
            nsp.to_owned()
        } else {
            format!("/{nsp}")
        };
        RedisEmitter {
            nsp: Arc::from(nsp),
            opts: BroadcastOptions::new(),
            ..self.clone()
        }
    }

    /// Targets the sockets in `room` too (Node's `to` and `in`).
    #[must_use]
    pub fn to(&self, room: impl Into<Room>) -> Self {
        let mut e = self.clone();
        e.opts = e.opts.with_rooms([room]);
        e
    }

    /// Excludes the sockets in `room`.
    #[must_use]
    pub fn except(&self, room: impl Into<Room>) -> Self {
        let mut e = self.clone();
        e.opts = e.opts.with_except([room]);
        e
    }

    /// Drops the packet for clients not ready to receive it.
    #[must_use]
    pub fn volatile(&self) -> Self {
        let mut flags = *self.opts.flags();
        flags.volatile = true;
        self.with_flags(flags)
    }

    /// Sets the compress flag.
    #[must_use]
    pub fn compress(&self, compress: bool) -> Self {
        let mut flags = *self.opts.flags();
        flags.compress = Some(compress);
        self.with_flags(flags)
    }

    fn with_flags(&self, flags: BroadcastFlags) -> Self {
        let mut e = self.clone();
        e.opts = e.opts.clone().with_flags(flags);
        e
    }

    async fn publish(&self, channel: String, payload: Vec<u8>) -> Result<(), EmitterError> {
        let mut conn = self.conn.clone();
        redis::cmd("PUBLISH")
            .arg(channel)
            .arg(payload)
            .query_async::<()>(&mut conn)
            .await?;
        Ok(())
    }

    fn request_channel(&self) -> String {
        format!("{}-request#{}#", self.key, self.nsp)
    }

    /// Emits `event` with the arguments `data` (see the argument rule of
    /// [`tower_socketio::args`]) to the targeted sockets of every server. Acknowledgements
    /// are not supported (as in Node).
    ///
    /// # Errors
    ///
    /// A reserved event name, data that does not serialize, or Redis failing.
    pub async fn emit<T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
    ) -> Result<(), EmitterError> {
        #[derive(Serialize)]
        struct PacketRef<'a> {
            #[serde(rename = "type")]
            kind: u8,
            data: &'a PacketData,
            nsp: &'a str,
        }
        /// Node's emitter writes the options in this order.
        #[derive(Serialize)]
        struct Opts<'a> {
            rooms: &'a [Room],
            flags: &'a BroadcastFlags,
            except: &'a [Room],
        }
        if RESERVED.contains(&event) {
            return Err(EmitError::ReservedEvent(event.to_owned()).into());
        }
        let data = PacketData::event(event, data)?;
        let payload = wire::msgpack(&(
            UID,
            PacketRef {
                kind: wire::EVENT,
                data: &data,
                nsp: &self.nsp,
            },
            Opts {
                rooms: self.opts.rooms(),
                flags: self.opts.flags(),
                except: self.opts.except(),
            },
        ));
        let channel = match self.opts.rooms() {
            [room] => format!("{}#{}#{room}#", self.key, self.nsp),
            _ => format!("{}#{}#", self.key, self.nsp),
        };
        self.publish(channel, payload).await
    }

    async fn rooms_request(&self, kind: u8, rooms: &[Room]) -> Result<(), EmitterError> {
        #[derive(Serialize)]
        struct RoomsRequest<'a> {
            #[serde(rename = "type")]
            kind: u8,
            opts: Targets<'a>,
            rooms: &'a [Room],
        }
        let payload = wire::json(&RoomsRequest {
            kind,
            opts: Targets::from(&self.opts),
            rooms,
        });
        self.publish(self.request_channel(), payload).await
    }

    /// Makes the targeted sockets of every server join `rooms`.
    ///
    /// # Errors
    ///
    /// Redis failing.
    pub async fn sockets_join(
        &self,
        rooms: impl tower_socketio::IntoRooms,
    ) -> Result<(), EmitterError> {
        let mut list = Vec::new();
        rooms.into_rooms(&mut list);
        self.rooms_request(kind::REMOTE_JOIN, &list).await
    }

    /// Makes the targeted sockets of every server leave `rooms`.
    ///
    /// # Errors
    ///
    /// Redis failing.
    pub async fn sockets_leave(
        &self,
        rooms: impl tower_socketio::IntoRooms,
    ) -> Result<(), EmitterError> {
        let mut list = Vec::new();
        rooms.into_rooms(&mut list);
        self.rooms_request(kind::REMOTE_LEAVE, &list).await
    }

    /// Disconnects the targeted sockets of every server (with `close`, their connections).
    ///
    /// # Errors
    ///
    /// Redis failing.
    pub async fn disconnect_sockets(&self, close: bool) -> Result<(), EmitterError> {
        #[derive(Serialize)]
        struct DisconnectRequest<'a> {
            #[serde(rename = "type")]
            kind: u8,
            opts: Targets<'a>,
            close: bool,
        }
        let payload = wire::json(&DisconnectRequest {
            kind: kind::REMOTE_DISCONNECT,
            opts: Targets::from(&self.opts),
            close,
        });
        self.publish(self.request_channel(), payload).await
    }

    /// Sends `event` to the server-side listeners of every server's namespace
    /// ([`tower_socketio::Namespace::on_server_side`], Node's `io.on`). Acknowledgements are
    /// not supported (as in Node).
    ///
    /// # Errors
    ///
    /// Data that does not serialize, or Redis failing.
    pub async fn server_side_emit<T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
    ) -> Result<(), EmitterError> {
        #[derive(Serialize)]
        struct ServerSideRequest {
            uid: &'static str,
            #[serde(rename = "type")]
            kind: u8,
            data: serde_json::Value,
        }
        let data = PacketData::event(event, data)?;
        let payload = wire::json(&ServerSideRequest {
            uid: UID,
            kind: kind::SERVER_SIDE_EMIT,
            data: wire::as_json(&data),
        });
        self.publish(self.request_channel(), payload).await
    }
}
