//! Sans-IO codecs for the Engine.IO (protocol v4, and v3 for old clients) and Socket.IO
//! (protocol v5) wire formats.
//!
//! This crate does no IO and knows nothing about tokio or hyper: it turns bytes into packets and
//! packets into bytes. The runtime lives in `tower-socketio-engine`.
//!
//! Every decoder here treats its input as hostile: malformed input gives an error, never a panic,
//! and no decoder allocates more than a small multiple of its input.

#![cfg_attr(docsrs, feature(doc_auto_cfg))]
#![warn(missing_docs)]

#[cfg(feature = "__fuzz")]
#[doc(hidden)]
pub mod __fuzz;
pub mod engine;
pub mod socketio;

/// A cheaply cloneable UTF-8 string backed by [`bytes::Bytes`]; slices share the buffer.
pub use bytestring::ByteString as Str;
