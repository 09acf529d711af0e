//! The codecs on the per-message path: Engine.IO payloads (long-polling bodies), Engine.IO text
//! packets (WebSocket messages), and the Socket.IO packet decoder and encoder.

use std::hint::black_box;

use bytes::{Bytes, BytesMut};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tower_socketio_protocol::{
    Str,
    engine::{self, Frame, payload},
    socketio::{Decoder, PacketKind, encode},
};

const EVENT: &str =
    r#"2["chat message",{"user":"alice","text":"hello, world","ts":1700000000000}]"#;
const ECHO_ACK: &str = r#"217["echo","xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"]"#;

fn engine_codec(c: &mut Criterion) {
    let mut g = c.benchmark_group("engine");
    let frames: Vec<Frame> = (0..10).map(|_| Frame::message(EVENT)).collect();
    let mut body = BytesMut::new();
    payload::encode_v4(&frames, &mut body);
    let body = Str::try_from(body.freeze()).unwrap_or_default();
    g.throughput(Throughput::Bytes(body.len() as u64));
    g.bench_function("payload_encode_v4_10_text", |b| {
        let mut out = BytesMut::with_capacity(4096);
        b.iter(|| {
            out.clear();
            payload::encode_v4(black_box(&frames), &mut out);
            black_box(out.len())
        })
    });
    g.bench_function("payload_decode_v4_10_text", |b| {
        b.iter(|| black_box(payload::decode_v4(black_box(body.clone()))))
    });
    let binary: Vec<Frame> = (0..4)
        .map(|_| Frame::Binary(Bytes::from(vec![7u8; 1024])))
        .collect();
    g.bench_function("payload_encode_v4_4x1KiB_binary", |b| {
        let mut out = BytesMut::with_capacity(8192);
        b.iter(|| {
            out.clear();
            payload::encode_v4(black_box(&binary), &mut out);
            black_box(out.len())
        })
    });
    g.throughput(Throughput::Elements(1));
    let text = Str::from(format!("4{EVENT}"));
    g.bench_function("decode_text_message", |b| {
        b.iter(|| black_box(engine::decode_text(black_box(text.clone()))))
    });
    g.bench_function("frame_message", |b| {
        b.iter(|| black_box(Frame::message(black_box(EVENT))))
    });
    g.finish();
}

fn socketio_codec(c: &mut Criterion) {
    let mut g = c.benchmark_group("socketio");
    g.throughput(Throughput::Elements(1));
    let event = Str::from_static(EVENT);
    let ack = Str::from_static(ECHO_ACK);
    let nsp = Str::from_static(r#"2/chat,12["message",{"a":[1,2,3],"b":{"c":"d"},"e":null}]"#);
    let big = Str::from(format!(
        r#"2["doc",{{"items":[{}]}}]"#,
        (0..100)
            .map(|i| format!(r#"{{"id":{i},"name":"item number {i}","tags":["a","b"]}}"#))
            .collect::<Vec<_>>()
            .join(",")
    ));
    let binary_header = Str::from_static(r#"51-["upload",{"_placeholder":true,"num":0}]"#);
    let attachment = Bytes::from(vec![1u8; 1024]);
    let mut decoder = Decoder::default();
    g.bench_function("decode_event", |b| {
        b.iter(|| black_box(decoder.decode_text(black_box(&event))))
    });
    g.bench_function("decode_event_with_ack", |b| {
        b.iter(|| black_box(decoder.decode_text(black_box(&ack))))
    });
    g.bench_function("decode_event_namespace", |b| {
        b.iter(|| black_box(decoder.decode_text(black_box(&nsp))))
    });
    g.bench_function("decode_binary_event_1_attachment", |b| {
        b.iter(|| {
            let first = decoder.decode_text(black_box(&binary_header));
            let second = decoder.decode_binary(black_box(attachment.clone()));
            black_box((first, second))
        })
    });
    g.throughput(Throughput::Bytes(big.len() as u64));
    g.bench_function("decode_event_10KiB", |b| {
        b.iter(|| black_box(decoder.decode_text(black_box(&big))))
    });
    g.throughput(Throughput::Elements(1));
    let data = &EVENT[1..];
    g.bench_function("encode_event", |b| {
        b.iter(|| {
            black_box(encode(
                PacketKind::Event,
                "/",
                None,
                Some(black_box(data)),
                0,
            ))
        })
    });
    g.finish();
}

criterion_group!(benches, engine_codec, socketio_codec);
criterion_main!(benches);
