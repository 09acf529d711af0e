//! The messages of `@socket.io/redis-adapter` 8.x and `@socket.io/redis-emitter` 5.x.
//!
//! Broadcasts are msgpack (notepack-compatible) `[uid, packet, opts]` arrays on the broadcast
//! channels. Requests and responses are JSON, except the broadcast with acknowledgements
//! (`BROADCAST`) and its acknowledgements (`BROADCAST_ACK`), which are msgpack; receivers tell
//! them apart by the first byte (`{` is JSON).

use serde::{Deserialize, Serialize};
use tower_socketio::adapter::{BroadcastOptions, PacketData, RemoteSocketData, Room};

/// The request types (`RequestType` of the Node adapter).
pub(crate) mod kind {
    pub(crate) const SOCKETS: u8 = 0;
    pub(crate) const ALL_ROOMS: u8 = 1;
    pub(crate) const REMOTE_JOIN: u8 = 2;
    pub(crate) const REMOTE_LEAVE: u8 = 3;
    pub(crate) const REMOTE_DISCONNECT: u8 = 4;
    pub(crate) const REMOTE_FETCH: u8 = 5;
    pub(crate) const SERVER_SIDE_EMIT: u8 = 6;
    pub(crate) const BROADCAST: u8 = 7;
    pub(crate) const BROADCAST_CLIENT_COUNT: u8 = 8;
    pub(crate) const BROADCAST_ACK: u8 = 9;
}

/// The packet type of an EVENT.
pub(crate) const EVENT: u8 = 2;
/// The packet type of a BINARY_EVENT (accepted on receipt).
const BINARY_EVENT: u8 = 5;

/// Why a message could not be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DecodeError {
    #[error("invalid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("invalid msgpack: {0}")]
    Msgpack(#[from] rmp_serde::decode::Error),
}

/// Reads a request or a response: JSON when the first byte is `{`, msgpack otherwise.
pub(crate) fn decode<'a, T: Deserialize<'a>>(payload: &'a [u8]) -> Result<T, DecodeError> {
    if payload.first() == Some(&b'{') {
        Ok(serde_json::from_slice(payload)?)
    } else {
        Ok(rmp_serde::from_slice(payload)?)
    }
}

/// Writes a msgpack message: structs as maps keyed by field name, integers in their shortest
/// form, binary as `bin` (what notepack writes).
pub(crate) fn msgpack<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    // Every type written here serializes infallibly to msgpack (string keys only).
    rmp_serde::to_vec_named(value).unwrap_or_default()
}

/// Writes a JSON message.
pub(crate) fn json<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

/// A Socket.IO packet inside a broadcast: `{"type":2,"data":[...],"nsp":"/"}`.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Packet {
    #[serde(rename = "type")]
    pub(crate) kind: u8,
    pub(crate) data: PacketData,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) nsp: Option<String>,
}

impl Packet {
    pub(crate) fn event(data: PacketData, nsp: &str) -> Self {
        Packet {
            kind: EVENT,
            data,
            nsp: Some(nsp.to_owned()),
        }
    }

    /// Whether this is an event of namespace `nsp` (Node defaults a missing `nsp` to `/`).
    pub(crate) fn is_event_of(&self, nsp: &str) -> bool {
        matches!(self.kind, EVENT | BINARY_EVENT) && self.nsp.as_deref().unwrap_or("/") == nsp
    }
}

/// A broadcast: `[uid, packet, opts]`.
pub(crate) type Broadcast = (String, Packet, BroadcastOptions);

/// The targeting of a request (no flags): `{"rooms":[...],"except":[...]}`.
#[derive(Debug, Serialize)]
pub(crate) struct Targets<'a> {
    pub(crate) rooms: &'a [Room],
    pub(crate) except: &'a [Room],
}

impl<'a> From<&'a BroadcastOptions> for Targets<'a> {
    fn from(opts: &'a BroadcastOptions) -> Self {
        Targets {
            rooms: opts.rooms(),
            except: opts.except(),
        }
    }
}

/// Any request, as received: every field any request type may have.
#[derive(Debug, Deserialize)]
pub(crate) struct Request {
    #[serde(rename = "type")]
    pub(crate) kind: u8,
    #[serde(default)]
    pub(crate) uid: Option<String>,
    #[serde(rename = "requestId", default)]
    pub(crate) request_id: Option<RequestId>,
    /// The rooms to join or leave (REMOTE_JOIN, REMOTE_LEAVE), or those of SOCKETS.
    #[serde(default, deserialize_with = "rooms")]
    pub(crate) rooms: Vec<Room>,
    #[serde(default)]
    pub(crate) opts: Option<BroadcastOptions>,
    #[serde(default)]
    pub(crate) close: Option<bool>,
    /// SERVER_SIDE_EMIT: the event and its arguments.
    #[serde(default)]
    pub(crate) data: Option<PacketData>,
    /// BROADCAST: the packet.
    #[serde(default)]
    pub(crate) packet: Option<Packet>,
    /// The legacy single-socket forms of REMOTE_JOIN, REMOTE_LEAVE, REMOTE_DISCONNECT.
    #[serde(default)]
    pub(crate) sid: Option<String>,
    #[serde(default)]
    pub(crate) room: Option<String>,
}

fn rooms<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<Room>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Name {
        Text(String),
        Number(serde_json::Number),
    }
    let names = Option::<Vec<Name>>::deserialize(deserializer)?;
    Ok(names
        .unwrap_or_default()
        .into_iter()
        .map(|n| match n {
            Name::Text(s) => Room::from(s),
            Name::Number(n) => Room::from(n.to_string()),
        })
        .collect())
}

/// A request id: uid2 text in Node; accepted as a number too.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct RequestId(pub(crate) String);

impl<'de> Deserialize<'de> for RequestId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Id {
            Text(String),
            Number(serde_json::Number),
        }
        Ok(RequestId(match Id::deserialize(deserializer)? {
            Id::Text(s) => s,
            Id::Number(n) => n.to_string(),
        }))
    }
}

/// Any response, as received.
#[derive(Debug, Deserialize)]
pub(crate) struct Response {
    #[serde(rename = "type", default)]
    pub(crate) kind: Option<u8>,
    #[serde(rename = "requestId", default)]
    pub(crate) request_id: Option<RequestId>,
    /// SOCKETS: ids; REMOTE_FETCH: sockets (read one by one, see [`fetched_sockets`]).
    #[serde(default)]
    pub(crate) sockets: Option<Vec<serde_json::Value>>,
    #[serde(default, deserialize_with = "rooms")]
    pub(crate) rooms: Vec<Room>,
    #[serde(rename = "clientCount", default)]
    pub(crate) client_count: Option<f64>,
    /// BROADCAST_ACK: the first argument of one acknowledgement.
    #[serde(default)]
    pub(crate) packet: Option<rmpv::Value>,
    /// SERVER_SIDE_EMIT: the first argument of one server's acknowledgement.
    #[serde(default)]
    pub(crate) data: Option<rmpv::Value>,
}

/// The sockets of a REMOTE_FETCH response; a socket that does not read (an id that is not a
/// Socket.IO id...) is skipped, not the whole response.
pub(crate) fn fetched_sockets(sockets: Vec<serde_json::Value>) -> Vec<RemoteSocketData> {
    sockets
        .into_iter()
        .filter_map(|s| match serde_json::from_value::<RemoteSocketData>(s) {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::debug!(target: "socketio::redis", "fetched socket skipped: {e}");
                None
            }
        })
        .collect()
}

/// One value (the first argument of an acknowledgement) as packet data.
pub(crate) fn one_value(value: rmpv::Value) -> PacketData {
    rmpv::ext::from_value(rmpv::Value::Array(vec![value])).unwrap_or_default()
}

/// The first value of `data` as JSON, as `JSON.stringify` writes it in Node: binary as
/// `{"type":"Buffer","data":[...]}`. `None` for no value (`undefined`: the key is left out).
pub(crate) fn first_as_json(data: &PacketData) -> Option<serde_json::Value> {
    let value = rmpv::ext::to_value(data).ok()?;
    let rmpv::Value::Array(items) = value else {
        return None;
    };
    items.into_iter().next().map(|v| to_json(v, 0))
}

/// `data` as JSON, as `JSON.stringify` writes it in Node (see [`first_as_json`]).
pub(crate) fn as_json(data: &PacketData) -> serde_json::Value {
    rmpv::ext::to_value(data).map_or(serde_json::Value::Array(Vec::new()), |v| to_json(v, 0))
}

/// The first value of `data` as a msgpack value (`BROADCAST_ACK`'s `packet`).
pub(crate) fn first_as_msgpack(data: &PacketData) -> Option<rmpv::Value> {
    match rmpv::ext::to_value(data).ok()? {
        rmpv::Value::Array(items) => items.into_iter().next(),
        _ => None,
    }
}

/// A msgpack value as JSON, as `JSON.stringify` writes it in Node (see [`first_as_json`]).
pub(crate) fn value_to_json(value: rmpv::Value) -> serde_json::Value {
    to_json(value, 0)
}

fn to_json(value: rmpv::Value, depth: usize) -> serde_json::Value {
    use rmpv::Value as V;
    use serde_json::Value as J;
    if depth > 128 {
        return J::Null;
    }
    match value {
        V::Nil | V::Ext(..) => J::Null,
        V::Boolean(b) => J::Bool(b),
        V::Integer(i) => i
            .as_u64()
            .map(J::from)
            .or_else(|| i.as_i64().map(J::from))
            .unwrap_or(J::Null),
        V::F32(f) => serde_json::Number::from_f64(f64::from(f)).map_or(J::Null, J::Number),
        V::F64(f) => serde_json::Number::from_f64(f).map_or(J::Null, J::Number),
        V::String(s) => J::String(s.into_str().unwrap_or_default()),
        V::Binary(b) => serde_json::json!({ "type": "Buffer", "data": b }),
        V::Array(items) => J::Array(items.into_iter().map(|v| to_json(v, depth + 1)).collect()),
        V::Map(entries) => J::Object(
            entries
                .into_iter()
                .map(|(k, v)| {
                    let key = match k {
                        V::String(s) => s.into_str().unwrap_or_default(),
                        other => other.to_string(),
                    };
                    (key, to_json(v, depth + 1))
                })
                .collect(),
        ),
    }
}

/// `uid2(n)`: `n` random characters of `[A-Za-z0-9]`, as the Node adapter's node and request
/// ids.
pub(crate) fn uid2(n: usize) -> String {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    (0..n)
        .map(|_| char::from(CHARS[rand::random_range(0..CHARS.len())]))
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// The reference's worked example: `io.to("room1").emit("hello","world")`, uid `abc123`.
    #[test]
    fn broadcast_bytes_match_notepack() {
        let data = PacketData::event("hello", "world").unwrap();
        let opts = BroadcastOptions::new().with_rooms(["room1"]);
        let msg = msgpack(&("abc123", Packet::event(data, "/"), &opts));
        let hex: String = msg.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            concat!(
                "93",
                "a6616263313233",
                "83",
                "a474797065",
                "02",
                "a464617461",
                "92",
                "a568656c6c6f",
                "a5776f726c64",
                "a36e7370",
                "a12f",
                "83",
                "a5726f6f6d73",
                "91",
                "a5726f6f6d31",
                "a6657863657074",
                "90",
                "a5666c616773",
                "80",
            )
        );
        let (uid, packet, back): Broadcast = rmp_serde::from_slice(&msg).unwrap();
        assert_eq!(uid, "abc123");
        assert!(packet.is_event_of("/"));
        assert_eq!(back.rooms(), opts.rooms());
    }

    #[test]
    fn requests_in_both_encodings() {
        let join: Request =
            decode(br#"{"type":2,"opts":{"rooms":["a"],"except":[]},"rooms":["b",3]}"#).unwrap();
        assert_eq!(join.kind, kind::REMOTE_JOIN);
        assert_eq!(join.rooms, [Room::from("b"), Room::from("3")]);
        assert!(join.uid.is_none());

        let packed = msgpack(&serde_json::json!({
            "uid": "x", "requestId": "r1", "type": 7,
            "packet": {"type": 2, "data": ["ev", 1], "nsp": "/"},
            "opts": {"rooms": [], "except": [], "flags": {"timeout": 1000}},
        }));
        let request: Request = decode(&packed).unwrap();
        assert_eq!(request.kind, kind::BROADCAST);
        assert_eq!(request.request_id, Some(RequestId("r1".into())));
        let opts = request.opts.unwrap();
        assert_eq!(
            opts.flags().timeout,
            Some(std::time::Duration::from_secs(1))
        );
        assert_eq!(request.packet.unwrap().data.event_name(), Some("ev"));
    }

    #[test]
    fn acknowledgement_values() {
        let data = PacketData::event("x", &(bytes::Bytes::from_static(b"\x01\x02"), 2)).unwrap();
        // The first value of ["x", bin, 2] is the name here; acks carry arguments only.
        assert_eq!(first_as_json(&data), Some(serde_json::json!("x")));
        let bin = PacketData::from_args(&tower_socketio::Args::from_values(vec![])).unwrap();
        assert_eq!(first_as_json(&bin), None);
        let buf = one_value(rmpv::Value::Binary(vec![1, 2]));
        assert_eq!(
            first_as_json(&buf),
            Some(serde_json::json!({"type": "Buffer", "data": [1, 2]}))
        );
        assert_eq!(
            first_as_msgpack(&buf),
            Some(rmpv::Value::Binary(vec![1, 2]))
        );
        let id = uid2(6);
        assert_eq!(id.len(), 6);
        assert!(id.chars().all(|c| c.is_ascii_alphanumeric()));
    }
}
