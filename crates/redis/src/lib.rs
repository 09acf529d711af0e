#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

mod adapter;
mod conn;

/// Guides, with examples that are compiled as tests.
pub mod guide {
    #[doc = include_str!("../../../docs/scaling.md")]
    pub mod scaling {}
}
mod emitter;
mod sharded;
mod streams;
mod wire;

use std::time::Duration;

pub use adapter::RedisAdapter;
pub use emitter::{EmitterError, RedisEmitter};
/// The Redis client this crate uses (build a [`redis::Client`] with it).
pub use redis;
pub use sharded::{ShardedConfig, ShardedRedisAdapter, SubscriptionMode};
pub use streams::{RedisStreamsAdapter, StreamsConfig};

/// Configuration of a [`RedisAdapter`], with the defaults of Node's `@socket.io/redis-adapter`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RedisAdapterConfig {
    /// The prefix of every channel. Default `socket.io` (Node's `key`).
    pub key: String,
    /// How long a request to the other servers (fetch sockets, server-side emit with
    /// acknowledgements, all rooms) waits for their answers. Default 5 s (Node's
    /// `requestsTimeout`).
    pub requests_timeout: Duration,
    /// Answer other servers' requests on their own response channel
    /// (`socket.io-response#<nsp>#<uid>#`) instead of the common one. Default `false` (Node's
    /// `publishOnSpecificResponseChannel`); both forms interoperate.
    pub publish_on_specific_response_channel: bool,
    /// Most messages waiting to be published; beyond, new ones are dropped (and counted, see
    /// [`RedisAdapter::dropped_messages`]). Default 10 000.
    pub max_queued_publishes: usize,
    /// Most received messages waiting to be handled; beyond, new ones are dropped. Default
    /// 10 000.
    pub max_queued_messages: usize,
}

impl Default for RedisAdapterConfig {
    fn default() -> Self {
        RedisAdapterConfig {
            key: "socket.io".to_owned(),
            requests_timeout: Duration::from_secs(5),
            publish_on_specific_response_channel: false,
            max_queued_publishes: 10_000,
            max_queued_messages: 10_000,
        }
    }
}

impl RedisAdapterConfig {
    /// Sets [`key`](Self::key).
    #[must_use]
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.key = key.into();
        self
    }

    /// Sets [`requests_timeout`](Self::requests_timeout).
    #[must_use]
    pub fn requests_timeout(mut self, timeout: Duration) -> Self {
        self.requests_timeout = timeout;
        self
    }

    /// Sets [`publish_on_specific_response_channel`](Self::publish_on_specific_response_channel).
    #[must_use]
    pub fn publish_on_specific_response_channel(mut self, on: bool) -> Self {
        self.publish_on_specific_response_channel = on;
        self
    }

    /// Sets [`max_queued_publishes`](Self::max_queued_publishes).
    #[must_use]
    pub fn max_queued_publishes(mut self, n: usize) -> Self {
        self.max_queued_publishes = n;
        self
    }

    /// Sets [`max_queued_messages`](Self::max_queued_messages).
    #[must_use]
    pub fn max_queued_messages(mut self, n: usize) -> Self {
        self.max_queued_messages = n;
        self
    }
}
