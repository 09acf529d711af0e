//! The messages of socket.io-adapter's `ClusterAdapter`: `{"type","data","uid","nsp"}`.

use serde::{Deserialize, Serialize};
use tower_socketio::adapter::{BroadcastOptions, PacketData, RemoteSocketData, Room};

/// The message types (`MessageType` of socket.io-adapter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
#[non_exhaustive]
pub enum MessageType {
    /// A node starts (heartbeat variant): the others answer with a heartbeat.
    InitialHeartbeat = 1,
    /// A node is alive (heartbeat variant).
    Heartbeat = 2,
    /// A broadcast (with `requestId`: with acknowledgements).
    Broadcast = 3,
    /// Make the targeted sockets join rooms.
    SocketsJoin = 4,
    /// Make the targeted sockets leave rooms.
    SocketsLeave = 5,
    /// Disconnect the targeted sockets.
    DisconnectSockets = 6,
    /// Ask for the targeted sockets.
    FetchSockets = 7,
    /// The answer to `FetchSockets`.
    FetchSocketsResponse = 8,
    /// An event for the servers' listeners.
    ServerSideEmit = 9,
    /// The answer to a `ServerSideEmit` with acknowledgement.
    ServerSideEmitResponse = 10,
    /// How many sockets a broadcast with acknowledgements reached on a node.
    BroadcastClientCount = 11,
    /// One socket's acknowledgement of a broadcast.
    BroadcastAck = 12,
    /// A node leaves (heartbeat variant).
    AdapterClose = 13,
}

impl MessageType {
    /// The type of its number.
    pub fn from_u8(n: u8) -> Option<Self> {
        use MessageType::*;
        Some(match n {
            1 => InitialHeartbeat,
            2 => Heartbeat,
            3 => Broadcast,
            4 => SocketsJoin,
            5 => SocketsLeave,
            6 => DisconnectSockets,
            7 => FetchSockets,
            8 => FetchSocketsResponse,
            9 => ServerSideEmit,
            10 => ServerSideEmitResponse,
            11 => BroadcastClientCount,
            12 => BroadcastAck,
            13 => AdapterClose,
            _ => return None,
        })
    }

    /// Whether messages of this type may carry binary values (the transports Node has
    /// encode those in msgpack when they do).
    pub fn may_contain_binary(self) -> bool {
        matches!(
            self,
            MessageType::Broadcast
                | MessageType::BroadcastAck
                | MessageType::FetchSocketsResponse
                | MessageType::ServerSideEmit
                | MessageType::ServerSideEmitResponse
        )
    }

    /// Whether this is a response to a request of one node (sent to that node only).
    pub fn is_response(self) -> bool {
        matches!(
            self,
            MessageType::FetchSocketsResponse
                | MessageType::ServerSideEmitResponse
                | MessageType::BroadcastClientCount
                | MessageType::BroadcastAck
        )
    }
}

impl Serialize for MessageType {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u8(*self as u8)
    }
}

impl<'de> Deserialize<'de> for MessageType {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let n = u8::deserialize(deserializer)?;
        MessageType::from_u8(n)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown message type {n}")))
    }
}

/// The `data` of a message: every field any type has, each there only when the type has
/// it (Node's shapes: `{"packet","opts"[,"requestId"]}`, `{"opts","rooms"}`, ...).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Data {
    /// `Broadcast`: the Socket.IO packet `{"type":2,"data":[...]}`; `ServerSideEmit`: the
    /// event's data array; `BroadcastAck`, `ServerSideEmitResponse`: one value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub packet: Option<rmpv::Value>,
    /// The targeting of a broadcast or an operation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opts: Option<BroadcastOptions>,
    /// The rooms to join or leave.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rooms: Option<Vec<Room>>,
    /// `DisconnectSockets`: close the whole connections.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub close: Option<bool>,
    /// Correlates a request and its responses.
    #[serde(rename = "requestId", default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// `FetchSocketsResponse`: the sockets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sockets: Option<Vec<rmpv::Value>>,
    /// `BroadcastClientCount`: how many sockets the broadcast reached.
    #[serde(
        rename = "clientCount",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub client_count: Option<u64>,
}

impl Data {
    /// The event data of a broadcast's packet (`packet.data`: the event name and its
    /// arguments), `None` when there is no readable one.
    pub fn broadcast_event(&self) -> Option<PacketData> {
        self.packet.as_ref().and_then(packet_data)
    }
}

/// A message between the nodes of a cluster.
///
/// Serializes as Node's `ClusterAdapter` sends it: `{"type":3,"data":{...},"uid":"...",
/// "nsp":"/"}` (`uid` and `nsp` last, `data` absent for the heartbeat types).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Message {
    /// The type.
    #[serde(rename = "type")]
    pub kind: MessageType,
    /// The payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Data>,
    /// The sending node (`emitter` for an emitter).
    #[serde(default)]
    pub uid: String,
    /// The namespace.
    #[serde(default = "main_namespace")]
    pub nsp: String,
}

fn main_namespace() -> String {
    "/".to_owned()
}

impl Message {
    /// A message of `kind` with `data`, from `uid` in `nsp`.
    pub fn new(kind: MessageType, data: Option<Data>, uid: &str, nsp: &str) -> Self {
        Message {
            kind,
            data,
            uid: uid.to_owned(),
            nsp: nsp.to_owned(),
        }
    }

    /// Whether the data holds a binary value (Node's `hasBinary`).
    pub fn has_binary(&self) -> bool {
        fn walk(v: &rmpv::Value, depth: usize) -> bool {
            match v {
                rmpv::Value::Binary(_) => true,
                rmpv::Value::Array(items) if depth < 128 => {
                    items.iter().any(|i| walk(i, depth + 1))
                }
                rmpv::Value::Map(entries) if depth < 128 => entries
                    .iter()
                    .any(|(k, v)| walk(k, depth + 1) || walk(v, depth + 1)),
                _ => false,
            }
        }
        let Some(data) = &self.data else {
            return false;
        };
        data.packet.as_ref().is_some_and(|p| walk(p, 0))
            || data
                .sockets
                .as_ref()
                .is_some_and(|s| s.iter().any(|v| walk(v, 0)))
    }

    /// The message as JSON (binary values, if any, as arrays of numbers: use msgpack for
    /// those, as Node does).
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// The message as msgpack, maps keyed by field name (what notepack and
    /// `@msgpack/msgpack` write).
    pub fn to_msgpack(&self) -> Vec<u8> {
        rmp_serde::to_vec_named(self).unwrap_or_default()
    }

    /// JSON when the message holds no binary value, msgpack otherwise: Node's choice in the
    /// sharded Redis adapter.
    pub fn encode(&self) -> Vec<u8> {
        if self.kind.may_contain_binary() && self.has_binary() {
            self.to_msgpack()
        } else {
            self.to_json()
        }
    }

    /// Reads a message: JSON when it starts with `{`, msgpack otherwise.
    ///
    /// # Errors
    ///
    /// When it is neither.
    pub fn decode(bytes: &[u8]) -> Result<Message, DecodeError> {
        if bytes.first() == Some(&b'{') {
            Ok(serde_json::from_slice(bytes)?)
        } else {
            Ok(rmp_serde::from_slice(bytes)?)
        }
    }
}

/// Why a message could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// Invalid JSON (or not a message).
    #[error("invalid JSON message: {0}")]
    Json(#[from] serde_json::Error),
    /// Invalid msgpack (or not a message).
    #[error("invalid msgpack message: {0}")]
    Msgpack(#[from] rmp_serde::decode::Error),
}

/// The Socket.IO packet of a broadcast: `{"type":2,"data":[...]}` (no `nsp`, as Node
/// serializes it before the local adapter sets it).
pub(crate) fn event_packet(data: &PacketData) -> rmpv::Value {
    let data = rmpv::ext::to_value(data).unwrap_or(rmpv::Value::Array(Vec::new()));
    rmpv::Value::Map(vec![
        (rmpv::Value::from("type"), rmpv::Value::from(2)),
        (rmpv::Value::from("data"), data),
    ])
}

/// The event data of a broadcast's packet.
pub(crate) fn packet_data(packet: &rmpv::Value) -> Option<PacketData> {
    let data = packet
        .as_map()?
        .iter()
        .find(|(k, _)| k.as_str() == Some("data"))
        .map(|(_, v)| v.clone())?;
    rmpv::ext::from_value(data).ok()
}

/// An array of values as packet data.
pub(crate) fn array_data(value: &rmpv::Value) -> Option<PacketData> {
    rmpv::ext::from_value(value.clone()).ok()
}

/// One value as packet data (an acknowledgement's first argument).
pub(crate) fn one_value(value: Option<rmpv::Value>) -> PacketData {
    match value {
        Some(v) => rmpv::ext::from_value(rmpv::Value::Array(vec![v])).unwrap_or_default(),
        None => PacketData::default(),
    }
}

/// The first value of packet data.
pub(crate) fn first_value(data: &PacketData) -> Option<rmpv::Value> {
    match rmpv::ext::to_value(data).ok()? {
        rmpv::Value::Array(items) => items.into_iter().next(),
        _ => None,
    }
}

/// The sockets of a fetch answer, each as a value: a map keyed by field name
/// (`rmpv::ext::to_value` would write a struct as an array).
pub(crate) fn sockets_values(sockets: &[RemoteSocketData]) -> Vec<rmpv::Value> {
    sockets
        .iter()
        .filter_map(|s| {
            let bytes = rmp_serde::to_vec_named(s).ok()?;
            rmpv::decode::read_value(&mut bytes.as_slice()).ok()
        })
        .collect()
}

/// The sockets of a fetch answer that read as sockets (the others are skipped).
pub(crate) fn sockets_of(values: Vec<rmpv::Value>) -> Vec<RemoteSocketData> {
    values
        .into_iter()
        .filter_map(|v| match rmpv::ext::from_value::<RemoteSocketData>(v) {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::debug!(target: "socketio::cluster", "fetched socket skipped: {e}");
                None
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// The reference's example of the sharded adapter.
    #[test]
    fn broadcast_in_node_shape() {
        let data = PacketData::event("hello", "world").unwrap();
        let message = Message::new(
            MessageType::Broadcast,
            Some(Data {
                packet: Some(event_packet(&data)),
                opts: Some(BroadcastOptions::new().with_rooms(["room1"])),
                ..Data::default()
            }),
            "6b1f0c2a9e3d4f57",
            "/",
        );
        assert_eq!(
            String::from_utf8(message.encode()).unwrap(),
            r#"{"type":3,"data":{"packet":{"type":2,"data":["hello","world"]},"opts":{"rooms":["room1"],"except":[],"flags":{}}},"uid":"6b1f0c2a9e3d4f57","nsp":"/"}"#
        );
        let back = Message::decode(&message.encode()).unwrap();
        assert_eq!(back.kind, MessageType::Broadcast);
        let packet = back.data.unwrap().packet.unwrap();
        assert_eq!(packet_data(&packet).unwrap(), data);
    }

    #[test]
    fn fetched_sockets_are_maps() {
        let socket = RemoteSocketData::new(
            tower_socketio::Sid::generate(),
            tower_socketio::Handshake::default(),
            vec![Room::from("r")],
            serde_json::json!({"k": 1}),
        );
        let values = sockets_values(std::slice::from_ref(&socket));
        let json = serde_json::to_value(&values[0]).unwrap();
        assert_eq!(json["id"], socket.id.as_str());
        assert_eq!(json["data"], serde_json::json!({"k": 1}));
        assert!(json["handshake"]["query"].is_object());
        let back = sockets_of(values);
        assert_eq!(back[0].id, socket.id);
    }

    #[test]
    fn binary_goes_msgpack() {
        let data = PacketData::event("bin", &bytes::Bytes::from_static(&[1, 2])).unwrap();
        let message = Message::new(
            MessageType::ServerSideEmit,
            Some(Data {
                packet: Some(rmpv::ext::to_value(&data).unwrap()),
                ..Data::default()
            }),
            "u",
            "/",
        );
        let bytes = message.encode();
        assert_ne!(bytes[0], b'{');
        let back = Message::decode(&bytes).unwrap();
        assert!(back.has_binary());
        let heartbeat = Message::new(MessageType::Heartbeat, None, "u", "/x");
        assert_eq!(
            String::from_utf8(heartbeat.encode()).unwrap(),
            r#"{"type":2,"uid":"u","nsp":"/x"}"#
        );
    }
}
