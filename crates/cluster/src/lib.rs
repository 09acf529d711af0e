#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

mod adapter;
mod message;

pub use adapter::{
    ClusterAdapter, ClusterOptions, HeartbeatOptions, StoredSession, Transport, WeakClusterAdapter,
    random_id,
};
pub use message::{Data, DecodeError, Message, MessageType};
