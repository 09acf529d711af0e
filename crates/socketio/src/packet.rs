//! Building outgoing Socket.IO packets as engine frames.
//!
//! Each packet is encoded once; the frames are cheap to clone, so a broadcast shares them
//! among all its recipients.

use bytes::Bytes;
use serde::Serialize;
use tower_socketio_engine::Frame;
use tower_socketio_protocol::{
    Str,
    socketio::{PacketKind, write_header},
};

use crate::{args, config::ParserKind, error::EmitError};

/// The frames of one packet: the packet itself, then its binary attachments.
pub(crate) type Frames = smallvec::SmallVec<[Frame; 1]>;

fn text_frame(buf: Vec<u8>) -> Frame {
    // Everything written here is UTF-8: ASCII headers, `str` names, and serde_json output.
    Frame::Text(Str::try_from(Bytes::from(buf)).unwrap_or_default())
}

/// Encodes `data` (a JSON array whose elements are written by `write_data`) as a packet of
/// `kind` (`Event` or `Ack`); switches to the binary kind when attachments appear.
fn json_packet(
    kind: PacketKind,
    nsp: &str,
    id: Option<u64>,
    write_data: impl FnOnce(&mut Vec<u8>, &mut Vec<Bytes>) -> Result<(), EmitError>,
) -> Result<Frames, EmitError> {
    let mut buf = Vec::with_capacity(64);
    write_header(&mut buf, kind, nsp, id, 0);
    let header_len = buf.len();
    let mut attachments = Vec::new();
    write_data(&mut buf, &mut attachments)?;
    let mut frames = Frames::new();
    if attachments.is_empty() {
        frames.push(text_frame(buf));
    } else {
        let binary_kind = match kind {
            PacketKind::Ack => PacketKind::BinaryAck,
            _ => PacketKind::BinaryEvent,
        };
        let mut with_count = Vec::with_capacity(buf.len() + 4);
        write_header(&mut with_count, binary_kind, nsp, id, attachments.len());
        with_count.extend_from_slice(buf.get(header_len..).unwrap_or_default());
        frames.push(text_frame(with_count));
        frames.extend(attachments.into_iter().map(Frame::Binary));
    }
    Ok(frames)
}

/// The event name followed by its arguments, as dynamic values (binary as `bin`): the data
/// of a msgpack EVENT, and what a cluster adapter forwards to other servers.
pub(crate) fn event_values<T: Serialize + ?Sized>(
    event: &str,
    data: &T,
) -> Result<Vec<rmpv::Value>, EmitError> {
    let mut values = vec![rmpv::Value::from(event)];
    values.extend(args::write_args_values(data).map_err(|e| EmitError::Serialize(e.to_string()))?);
    Ok(values)
}

/// An EVENT packet: `["event", ...args]`.
///
/// With `offset` (connection state recovery), the offset is appended as the last argument,
/// as Node does; clients record it to resume from.
pub(crate) fn event<T: Serialize + ?Sized>(
    parser: ParserKind,
    nsp: &str,
    event: &str,
    data: &T,
    id: Option<u64>,
    offset: Option<&str>,
) -> Result<Frames, EmitError> {
    match parser {
        ParserKind::Json => json_packet(PacketKind::Event, nsp, id, |buf, attachments| {
            buf.push(b'[');
            serde_json::to_writer(&mut *buf, event)
                .map_err(|e| EmitError::Serialize(e.to_string()))?;
            args::write_args(data, buf, attachments, true)
                .map_err(|e| EmitError::Serialize(e.to_string()))?;
            if let Some(offset) = offset {
                buf.push(b',');
                serde_json::to_writer(&mut *buf, offset)
                    .map_err(|e| EmitError::Serialize(e.to_string()))?;
            }
            buf.push(b']');
            Ok(())
        }),
        #[cfg(feature = "msgpack")]
        ParserKind::Msgpack => {
            let mut values = event_values(event, data)?;
            if let Some(offset) = offset {
                values.push(rmpv::Value::from(offset));
            }
            Ok(smallvec::smallvec![msgpack_frame(
                PacketKind::Event,
                nsp,
                id,
                Some(rmpv::Value::Array(values))
            )])
        }
    }
}

/// An ACK packet: `[...args]`.
pub(crate) fn ack<T: Serialize + ?Sized>(
    parser: ParserKind,
    nsp: &str,
    id: u64,
    data: &T,
) -> Result<Frames, EmitError> {
    match parser {
        ParserKind::Json => json_packet(PacketKind::Ack, nsp, Some(id), |buf, attachments| {
            buf.push(b'[');
            args::write_args(data, buf, attachments, false)
                .map_err(|e| EmitError::Serialize(e.to_string()))?;
            buf.push(b']');
            Ok(())
        }),
        #[cfg(feature = "msgpack")]
        ParserKind::Msgpack => {
            let values =
                args::write_args_values(data).map_err(|e| EmitError::Serialize(e.to_string()))?;
            Ok(smallvec::smallvec![msgpack_frame(
                PacketKind::Ack,
                nsp,
                Some(id),
                Some(rmpv::Value::Array(values))
            )])
        }
    }
}

/// The CONNECT reply: `{"sid":...}` (and `"pid"` with connection state recovery).
pub(crate) fn connect(parser: ParserKind, nsp: &str, sid: &str, pid: Option<&str>) -> Frame {
    match parser {
        ParserKind::Json => {
            let mut buf = Vec::with_capacity(40 + nsp.len());
            write_header(&mut buf, PacketKind::Connect, nsp, None, 0);
            buf.extend_from_slice(br#"{"sid":""#);
            buf.extend_from_slice(sid.as_bytes());
            if let Some(pid) = pid {
                buf.extend_from_slice(br#"","pid":""#);
                buf.extend_from_slice(pid.as_bytes());
            }
            buf.extend_from_slice(br#""}"#);
            text_frame(buf)
        }
        #[cfg(feature = "msgpack")]
        ParserKind::Msgpack => {
            let mut map = vec![(rmpv::Value::from("sid"), rmpv::Value::from(sid))];
            if let Some(pid) = pid {
                map.push((rmpv::Value::from("pid"), rmpv::Value::from(pid)));
            }
            msgpack_frame(PacketKind::Connect, nsp, None, Some(rmpv::Value::Map(map)))
        }
    }
}

/// A CONNECT_ERROR: `{"message":...[,"data":...]}`.
pub(crate) fn connect_error(parser: ParserKind, nsp: &str, err: &crate::ConnectError) -> Frame {
    match parser {
        ParserKind::Json => {
            let mut buf = Vec::with_capacity(48 + nsp.len());
            write_header(&mut buf, PacketKind::ConnectError, nsp, None, 0);
            buf.extend_from_slice(err.to_json().as_bytes());
            text_frame(buf)
        }
        #[cfg(feature = "msgpack")]
        ParserKind::Msgpack => {
            let value = serde_json::from_str::<serde_json::Value>(&err.to_json())
                .ok()
                .and_then(|v| rmpv::ext::to_value(v).ok());
            msgpack_frame(PacketKind::ConnectError, nsp, None, value)
        }
    }
}

/// A DISCONNECT.
pub(crate) fn disconnect(parser: ParserKind, nsp: &str) -> Frame {
    match parser {
        ParserKind::Json => {
            let mut buf = Vec::with_capacity(4 + nsp.len());
            write_header(&mut buf, PacketKind::Disconnect, nsp, None, 0);
            text_frame(buf)
        }
        #[cfg(feature = "msgpack")]
        ParserKind::Msgpack => msgpack_frame(PacketKind::Disconnect, nsp, None, None),
    }
}

#[cfg(feature = "msgpack")]
fn msgpack_frame(kind: PacketKind, nsp: &str, id: Option<u64>, data: Option<rmpv::Value>) -> Frame {
    tower_socketio_protocol::socketio::msgpack::encode(kind, nsp, id, data.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(f: &Frame) -> &str {
        match f {
            Frame::Text(t) => t,
            Frame::Binary(_) => "<binary>",
        }
    }

    #[test]
    fn event_packets() {
        let f = event(ParserKind::Json, "/", "hello", &("a", 1), None, None).unwrap_or_default();
        assert_eq!(text(&f[0]), r#"42["hello","a",1]"#);
        let f =
            event(ParserKind::Json, "/", "hello", &("a", 1), None, Some("o-1")).unwrap_or_default();
        assert_eq!(text(&f[0]), r#"42["hello","a",1,"o-1"]"#);
        let f = event(ParserKind::Json, "/admin", "x", &(), Some(12), None).unwrap_or_default();
        assert_eq!(text(&f[0]), r#"42/admin,12["x"]"#);
        let f = event(
            ParserKind::Json,
            "/",
            "bin",
            &Bytes::from_static(&[1, 2]),
            None,
            None,
        )
        .unwrap_or_default();
        assert_eq!(f.len(), 2);
        assert_eq!(text(&f[0]), r#"451-["bin",{"_placeholder":true,"num":0}]"#);
        assert_eq!(f[1], Frame::Binary(Bytes::from_static(&[1, 2])));
    }

    #[test]
    fn ack_and_control_packets() {
        let f = ack(ParserKind::Json, "/", 456, &(1, "2")).unwrap_or_default();
        assert_eq!(text(&f[0]), r#"43456[1,"2"]"#);
        assert_eq!(
            text(&connect(ParserKind::Json, "/", "abc", None)),
            r#"40{"sid":"abc"}"#
        );
        assert_eq!(
            text(&connect(ParserKind::Json, "/x", "abc", Some("p"))),
            r#"40/x,{"sid":"abc","pid":"p"}"#
        );
        assert_eq!(
            text(&connect_error(
                ParserKind::Json,
                "/random",
                &"Invalid namespace".into()
            )),
            r#"44/random,{"message":"Invalid namespace"}"#
        );
        assert_eq!(text(&disconnect(ParserKind::Json, "/a")), "41/a,");
    }
}
