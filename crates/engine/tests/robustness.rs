//! No request, header, query or body, however malformed, makes the server panic, hang or
//! stop serving.
//!
//! The server runs on the test's own current-thread runtime, so the panic hook of `common`
//! sees any panic in a connection task, a session driver or a probe of this server.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::{net::SocketAddr, time::Duration};

use common::*;
use http::HeaderValue;
use tokio::{io::AsyncWriteExt, time::timeout};

const MAX_PAYLOAD: usize = 10_000;

fn fuzz_config() -> tower_socketio_engine::EngineConfig {
    tower_socketio_engine::EngineConfig::default()
        .ping_interval(Duration::from_millis(200))
        .ping_timeout(Duration::from_millis(200))
        .upgrade_timeout(Duration::from_millis(300))
        .max_payload(MAX_PAYLOAD as u64)
        .allow_eio3(true)
        .max_buffered(100, 100_000)
        .cookie(Some(tower_socketio_engine::CookieConfig::default()))
        .headers(|_, h| {
            h.insert("x-fuzz", HeaderValue::from_static("1"));
        })
}

const TOKEN: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~";

fn token(rng: &mut Rng, max: usize) -> String {
    let n = rng.below(max + 1);
    (0..n).map(|_| rng.pick(TOKEN) as char).collect()
}

/// A random query component: tokens, percent-encoded random bytes, a few raw specials.
fn query_text(rng: &mut Rng, max: usize) -> String {
    let n = rng.below(max + 1);
    let mut s = String::new();
    for _ in 0..n {
        match rng.below(10) {
            0..=5 => s.push(rng.pick(TOKEN) as char),
            6 | 7 => s.push_str(&format!("%{:02X}", rng.next_u64() as u8)),
            8 => s.push(rng.pick(&['%', '+', '=', '&', '/', '?', ';', '#'])),
            _ => s.push_str(rng.pick(&["%", "%Z", "%0", "%ff%fe", "%00", "%C3%28", "%E2%82"])),
        }
    }
    s
}

fn gen_query(rng: &mut Rng, live: &[String]) -> String {
    let mut params = Vec::new();
    // Mostly a plausible base the engine gets to look at, then random additions.
    if rng.chance(70) {
        params.push(rng.pick(&["EIO=4", "EIO=4", "EIO=3"]).to_owned());
        params.push(
            rng.pick(&[
                "transport=polling",
                "transport=polling",
                "transport=websocket",
            ])
            .to_owned(),
        );
        if rng.chance(50) && !live.is_empty() {
            params.push(format!("sid={}", live[rng.below(live.len())]));
        }
    }
    for _ in 0..rng.below(4) {
        let key = rng
            .pick(&[
                "EIO",
                "transport",
                "sid",
                "b64",
                "t",
                "j",
                "",
                "x",
                "__proto__",
                "?",
            ])
            .to_string();
        let key = if rng.chance(10) {
            query_text(rng, 8)
        } else {
            key
        };
        let value = match key.as_str() {
            "EIO" => rng
                .pick(&[
                    "4",
                    "4",
                    "4",
                    "3",
                    "3",
                    "5",
                    "",
                    "04",
                    "4%20",
                    "%34",
                    "-1",
                    "99999999999999999999",
                ])
                .to_string(),
            "transport" => match rng.below(12) {
                0..=4 => "polling".into(),
                5..=7 => "websocket".into(),
                8 => rng
                    .pick(&[
                        "__proto__",
                        "constructor",
                        "",
                        "webtransport",
                        "Polling",
                        "polling%00",
                    ])
                    .to_string(),
                9 => "x".repeat(1 + rng.below(20_000)),
                _ => query_text(rng, 12),
            },
            "sid" => match rng.below(10) {
                0..=4 if !live.is_empty() => live[rng.below(live.len())].clone(),
                5 => "__proto__".into(),
                6 => token(rng, 20),
                7 => "A".repeat(1 + rng.below(10_000)),
                _ => query_text(rng, 30),
            },
            _ => query_text(rng, 20),
        };
        if rng.chance(5) {
            params.push(key);
        } else {
            params.push(format!("{key}={value}"));
        }
    }
    params.join("&")
}

fn gen_target(rng: &mut Rng, live: &[String]) -> String {
    let path = rng.pick(&[
        "/engine.io/",
        "/engine.io/",
        "/engine.io/",
        "/engine.io",
        "/engine.io/x/y",
        "/engine.io/%ff%00",
        "/engine.io//",
        "/engine.io/..%2f",
        "/hello",
        "/",
        "*",
    ]);
    let mut t = format!("{path}?{}", gen_query(rng, live));
    if rng.chance(3) {
        // Bytes that are not valid in a request target.
        t.push(rng.pick(&['\u{7f}', '"', '<', '{', '|', '\\', '^', '`']));
    }
    t
}

fn gen_header(rng: &mut Rng) -> (Vec<u8>, Vec<u8>) {
    let (name, value): (&str, Vec<u8>) = match rng.below(12) {
        0 => (
            "Connection",
            rng.pick(&[
                "Upgrade",
                "upgrade, keep-alive",
                "close",
                "keep-alive",
                "Upgrade, Upgrade",
                "x",
            ])
            .as_bytes()
            .to_vec(),
        ),
        1 => (
            "Upgrade",
            rng.pick(&[
                "websocket",
                "WebSocket",
                "h2c",
                "websocket, h2c",
                "",
                "tls/1.0",
            ])
            .as_bytes()
            .to_vec(),
        ),
        2 => (
            "Sec-WebSocket-Version",
            rng.pick(&["13", "8", "", "abc", "13, 13", "013"])
                .as_bytes()
                .to_vec(),
        ),
        3 => (
            "Sec-WebSocket-Key",
            rng.pick(&[
                "dGhlIHNhbXBsZSBub25jZQ==",
                "",
                "short",
                "AAAAAAAAAAAAAAAAAAAAAA==",
                "dGhlIHNhbXBsZSBub25jZQ",
                "!!!!!!!!!!!!!!!!!!!!!!!!",
            ])
            .as_bytes()
            .to_vec(),
        ),
        4 => (
            "Sec-WebSocket-Protocol",
            if rng.chance(30) {
                vec![b' '; 1 + rng.below(20_000)]
            } else {
                token(rng, 40).into_bytes()
            },
        ),
        5 => (
            "Sec-WebSocket-Extensions",
            rng.pick(&[
                "permessage-deflate",
                "permessage-deflate; client_max_window_bits",
                "permessage-deflate; server_max_window_bits=99",
                "x; y=\"",
                ";;;",
            ])
            .as_bytes()
            .to_vec(),
        ),
        6 => ("Origin", {
            // Mostly legal bytes (tab, visible ASCII, obs-text), sometimes control bytes.
            let n = rng.below(40);
            (0..n)
                .map(|_| match rng.below(20) {
                    0 => b'\t',
                    1 => 0x80 | (rng.next_u64() as u8),
                    2 => rng.pick(&[0x00, 0x01, 0x1f, 0x7f]),
                    _ => 0x21 + (rng.below(0x5e) as u8),
                })
                .collect()
        }),
        7 => (
            "Content-Type",
            rng.pick(&[
                "text/plain;charset=UTF-8",
                "application/octet-stream",
                "application/octet-streamX",
                "",
                "multipart/form-data; boundary=x",
            ])
            .as_bytes()
            .to_vec(),
        ),
        8 => ("Cookie", query_text(rng, 60).into_bytes()),
        9 => ("Accept-Encoding", b"gzip, deflate, br".to_vec()),
        10 => ("Expect", b"100-continue".to_vec()),
        _ => {
            let name = token(rng, 20);
            let name = if name.is_empty() { "x".into() } else { name };
            return (name.into_bytes(), token(rng, 60).into_bytes());
        }
    };
    (name.as_bytes().to_vec(), value)
}

fn gen_body(rng: &mut Rng) -> Vec<u8> {
    match rng.below(10) {
        0 => {
            let n = rng.below(2000);
            rng.bytes(n)
        }
        1 => vec![0x1e; rng.below(3000)],
        2 | 3 => {
            let n = 1 + rng.below(20);
            let records: Vec<&str> = (0..n)
                .map(|_| {
                    rng.pick(&[
                        "4hello", "2", "3", "1", "5", "6", "b!!!", "bAAAA", "0", "4", "b", "",
                        "2probe", "0{}", "4\u{ff}", "bAQID", "3probe",
                    ])
                })
                .collect();
            records.join("\x1e").into_bytes()
        }
        4 => rng
            .pick(&[
                "99999999999999999999:4x",
                "5:4",
                "1:",
                "0:",
                "3:4é",
                "10:4hello",
                "2:4a1:2",
                "1:21:2",
                ":",
                "-1:4",
                "6:b4AQID",
                "3:b4!",
            ])
            .as_bytes()
            .to_vec(),
        5 => {
            // v3 binary payloads: <0|1><length digits>0xff<data>.
            let mut b = Vec::new();
            for _ in 0..(1 + rng.below(4)) {
                b.push(rng.below(3) as u8);
                for _ in 0..(rng.below(25)) {
                    b.push(rng.below(11) as u8);
                }
                if rng.chance(80) {
                    b.push(0xff);
                }
                let n = rng.below(20);
                b.extend(rng.bytes(n));
            }
            b
        }
        6 => vec![0xff, 0xfe, 0xc3, b'4', 0xc3],
        7 => {
            let mut b = b"4".to_vec();
            b.resize(MAX_PAYLOAD - 1 + rng.below(3), b'a');
            b
        }
        8 => {
            // Many small valid records.
            let n = rng.below(2000);
            let mut b = Vec::new();
            for i in 0..n {
                if i > 0 {
                    b.push(0x1e);
                }
                b.extend_from_slice(b"4x");
            }
            b
        }
        _ => token(rng, 100).into_bytes(),
    }
}

fn gen_request(rng: &mut Rng, live: &[String]) -> Vec<u8> {
    let method = match rng.below(20) {
        0..=8 => "GET".to_owned(),
        9..=14 => "POST".to_owned(),
        15 => rng
            .pick(&["PUT", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE"])
            .to_string(),
        16 => "get".to_owned(),
        17 => token(rng, 10).to_ascii_uppercase(),
        18 => "CONNECT".to_owned(),
        _ => "G\u{1}T".to_owned(),
    };
    let version = if rng.chance(3) {
        rng.pick(&["HTTP/1.0", "HTTP/2.0", "HTTP/1.1 ", "HTTP/9"])
    } else {
        "HTTP/1.1"
    };
    let mut r = format!("{method} {} {version}\r\n", gen_target(rng, live)).into_bytes();
    if rng.chance(95) {
        r.extend_from_slice(b"Host: 127.0.0.1\r\n");
    }
    // A plausible WebSocket upgrade now and then.
    if rng.chance(20) {
        r.extend_from_slice(
            b"Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
        );
    }
    for _ in 0..rng.below(6) {
        let (n, v) = gen_header(rng);
        r.extend_from_slice(&n);
        r.extend_from_slice(b": ");
        r.extend_from_slice(&v);
        r.extend_from_slice(b"\r\n");
    }
    if rng.chance(2) {
        // A header line without a colon, or an obsolete line folding.
        let lines: [&[u8]; 2] = [b"no colon\r\n", b" folded\r\n"];
        let line = rng.pick(&lines[..]);
        r.extend_from_slice(line);
    }
    let with_body = method == "POST" || rng.chance(15);
    if !with_body {
        r.extend_from_slice(b"\r\n");
    } else {
        let body = gen_body(rng);
        match rng.below(10) {
            0..=5 => {
                r.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
                r.extend_from_slice(&body);
            }
            6 | 7 => {
                r.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
                let mut rest = &body[..];
                while !rest.is_empty() {
                    let n = (1 + rng.below(700)).min(rest.len());
                    r.extend_from_slice(format!("{n:x}\r\n").as_bytes());
                    r.extend_from_slice(&rest[..n]);
                    r.extend_from_slice(b"\r\n");
                    rest = &rest[n..];
                }
                if rng.chance(20) {
                    let bad: [&[u8]; 3] = [b"zz\r\n", b"ffffffffffffffffff\r\n", b"5\r\nab"];
                    let tail = rng.pick(&bad[..]);
                    r.extend_from_slice(tail);
                } else {
                    r.extend_from_slice(b"0\r\n\r\n");
                }
            }
            8 => {
                let claimed = rng.pick(&[
                    "-1",
                    "99999999999999999999",
                    "0x10",
                    "1, 2",
                    "18446744073709551615",
                    "",
                ]);
                r.extend_from_slice(format!("Content-Length: {claimed}\r\n\r\n").as_bytes());
                r.extend_from_slice(&body);
            }
            _ => {
                // Both framings, or a length that does not match the body.
                if rng.chance(50) {
                    r.extend_from_slice(
                        format!(
                            "Content-Length: {}\r\nTransfer-Encoding: chunked\r\n\r\n",
                            body.len()
                        )
                        .as_bytes(),
                    );
                } else {
                    let claimed = body.len().saturating_sub(rng.below(10)) + rng.below(10);
                    r.extend_from_slice(format!("Content-Length: {claimed}\r\n\r\n").as_bytes());
                }
                r.extend_from_slice(&body);
            }
        }
    }
    if rng.chance(10) {
        // Trailing garbage: a pipelined request, random bytes or WebSocket frames.
        match rng.below(3) {
            0 => {
                let n = rng.below(300);
                r.extend(rng.bytes(n));
            }
            1 => r.extend_from_slice(
                b"GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n",
            ),
            _ => {
                let payload_len = rng.below(200);
                let payload = rng.bytes(payload_len);
                let fin = rng.chance(70);
                let rsv = if rng.chance(20) {
                    rng.below(8) as u8
                } else {
                    0
                };
                let opcode = rng.below(16) as u8;
                r.extend(ws_frame(fin, rsv, opcode, &payload));
            }
        }
    }
    r
}

/// Sends one request, half-closes, and reads whatever comes back. `Err` only if the server
/// neither answered nor closed the connection within the bound.
async fn exchange(addr: SocketAddr, request: &[u8]) -> Result<Option<u16>, String> {
    let mut s = connect(addr).await;
    // The server may refuse and close before reading everything: write errors are fine.
    let _ = timeout(WAIT, s.write_all(request)).await;
    let _ = s.shutdown().await;
    let mut buf = Vec::new();
    match timeout(
        WAIT,
        read_response(&mut s, &mut buf, request.starts_with(b"HEAD ")),
    )
    .await
    {
        Err(_) => Err("no answer and no close".into()),
        Ok(Ok(Some(res))) => Ok(Some(res.status)),
        Ok(Ok(None) | Err(_)) => Ok(None),
    }
}

/// Opens a few sessions of every flavour for the fuzzer to aim at.
async fn fresh_sessions(addr: SocketAddr) -> Vec<String> {
    let mut live = Vec::new();
    for query in [
        "EIO=4&transport=polling",
        "EIO=4&transport=polling",
        "EIO=4&transport=polling&b64=1",
        "EIO=3&transport=polling",
        "EIO=3&transport=polling&b64=1",
    ] {
        live.push(handshake_query(addr, query).await.0);
    }
    live
}

#[tokio::test]
async fn random_requests_never_break_the_server() {
    let mut server = TestServer::echo(fuzz_config()).await;
    let addr = server.addr;
    let mut rng = Rng::new(0x5eed_0fe1_0c0f_fee5);
    let mut live = fresh_sessions(addr).await;
    let mut answered = [0usize; 6];
    let mut closed = 0;
    for i in 0..2000 {
        if i % 25 == 24 {
            // Fuzzed requests close the sessions they hit: open new ones often.
            live = fresh_sessions(addr).await;
            server.drain();
        }
        if i % 200 == 199 {
            assert_eq!(get(addr, "/hello").await.text(), "hi");
        }
        let request = gen_request(&mut rng, &live);
        match exchange(addr, &request).await {
            Ok(Some(status)) => {
                assert!((100..600).contains(&status), "status {status}");
                answered[usize::from(status / 100)] += 1;
            }
            Ok(None) => closed += 1,
            Err(e) => panic!(
                "iteration {i}: {e}; request: {:?}",
                String::from_utf8_lossy(&request[..request.len().min(500)])
            ),
        }
    }
    // The fuzzer reached the engine's answers, not only the HTTP parser's.
    assert!(answered[2] > 100, "{answered:?} closed {closed}");
    assert!(answered[4] > 300, "{answered:?} closed {closed}");

    // Still a working server: polling, WebSocket, upgrade.
    server.drain();
    let (sid, _) = handshake(addr).await;
    assert_ok(&post(addr, &sid, b"4ping?").await);
    assert_eq!(poll(addr, &sid).await.packets(), ["4ping?"]);
    let (mut ws, _) = ws_session(addr).await;
    ws_send_text(&mut ws, "4ws").await;
    assert_eq!(ws_text(&mut ws).await, "4ws");
    server.assert_healthy().await;
}

#[tokio::test]
async fn garbage_right_after_an_upgrade_request() {
    let mut server = TestServer::echo(fuzz_config()).await;
    let addr = server.addr;
    let mut rng = Rng::new(42);
    let garbage: Vec<Vec<u8>> = {
        let mut g = vec![
            b"\x00\x00\x00\x00".to_vec(),
            b"GET / HTTP/1.1\r\n\r\n".to_vec(),
            vec![0x81, 0x02, b'4', b'x'],                    // unmasked
            ws_frame(true, 0b111, 1, b"4x"),                 // reserved bits
            ws_frame(true, 0, 0xf, b"4x"),                   // unknown opcode
            ws_frame(true, 0, 9, &[0; 126]),                 // oversize control frame
            ws_frame(false, 0, 8, b""),                      // fragmented close
            ws_frame(true, 0, 8, &[0x03]),                   // 1-byte close payload
            ws_frame(true, 0, 8, &[0x03, 0xe8, 0xff]),       // close reason not UTF-8
            ws_frame(true, 0, 1, &[b'4', 0xff]),             // invalid UTF-8
            ws_frame(true, 0, 2, &vec![0; MAX_PAYLOAD + 1]), // oversize
            {
                // 127-length header claiming 2^63 bytes.
                let mut f = vec![0x82, 0x80 | 127];
                f.extend_from_slice(&u64::MAX.to_be_bytes());
                f.extend_from_slice(&[0, 0, 0, 0]);
                f
            },
            {
                let mut f = ws_frame(true, 0, 1, b"2probe");
                f.extend(ws_frame(true, 0, 1, b"5"));
                f.extend(ws_frame(true, 0, 1, b"4after"));
                f
            },
        ];
        for _ in 0..20 {
            let n = 1 + rng.below(400);
            g.push(rng.bytes(n));
        }
        g
    };
    for (i, bytes) in garbage.iter().enumerate() {
        for with_sid in [false, true] {
            let query = if with_sid {
                let (sid, _) = handshake(addr).await;
                format!("EIO=4&transport=websocket&sid={sid}")
            } else {
                "EIO=4&transport=websocket".to_owned()
            };
            let mut request = upgrade_request(&query, &[]);
            request.extend_from_slice(bytes);
            let mut s = start(addr, &request).await;
            let mut buf = Vec::new();
            let res = timeout(WAIT, read_response(&mut s, &mut buf, false))
                .await
                .unwrap_or_else(|_| panic!("case {i}: no answer"));
            if let Ok(Some(res)) = res {
                assert!(
                    res.status == 101 || res.status == 400,
                    "case {i}: {}",
                    res.status
                );
            }
            // The server ends the connection (or keeps a valid one open) without hanging
            // the rest: read for a bounded time, then drop.
            let mut sink = [0u8; 4096];
            let _ = timeout(Duration::from_millis(300), async {
                use tokio::io::AsyncReadExt;
                while let Ok(n) = s.read(&mut sink).await {
                    if n == 0 {
                        break;
                    }
                }
            })
            .await;
        }
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    server.drain();
    let (mut ws, _) = ws_session(addr).await;
    ws_send_text(&mut ws, "4fine").await;
    assert_eq!(ws_text(&mut ws).await, "4fine");
    server.assert_healthy().await;
}

#[tokio::test]
async fn many_concurrent_sessions() {
    let mut server = TestServer::echo(quiet_config()).await;
    let addr = server.addr;
    let mut tasks = Vec::new();
    for i in 0..40 {
        tasks.push(tokio::spawn(async move {
            if i % 2 == 0 {
                let (sid, _) = handshake(addr).await;
                let msg = format!("4n{i}");
                let pending = start_poll(addr, &sid).await;
                assert_ok(&post(addr, &sid, msg.as_bytes()).await);
                assert_eq!(finish(pending).await.packets(), [msg]);
            } else {
                let (mut ws, _) = ws_session(addr).await;
                let msg = format!("4n{i}");
                ws_send_text(&mut ws, &msg).await;
                assert_eq!(ws_text(&mut ws).await, msg);
            }
        }));
    }
    for t in tasks {
        timeout(WAIT, t).await.unwrap().unwrap();
    }
    server.assert_healthy().await;
}
