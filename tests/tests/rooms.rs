//! Rooms and broadcasting with several real npm `socket.io-client` 4.8 clients at once (issue 4),
//! against the rooms app ([`integration_tests::rooms_app`]):
//!
//! - every operator of the Node docs' emit cheatsheet delivers to exactly the right sockets
//!   (a table: clients a1, a2 in room A and b in room B, plus overlapping room C, a client n in
//!   no room, and the same clients in namespace `/other` with other rooms), over WebSocket and
//!   over polling;
//! - default rooms, rooms left on disconnect, `disconnecting` sees the rooms, `fetch_sockets`
//!   and remote operations, `sockets_join` / `sockets_leave` / `disconnect_sockets`;
//! - broadcast acknowledgements with a timeout, some clients never answering;
//! - `volatile` under a client that stops reading, and a slow client cut off while the others
//!   keep receiving at full speed, with the server's memory measured.
//!
//! The Node scripts (`tests/node/sio-rooms*.mjs`) check the deliveries themselves; the load
//! tests also measure this process's RSS (the server runs in it) and print their figures
//! (`cargo test --test rooms -- --nocapture`). The two load tests run alone (a write lock on
//! [`GATE`]), so that the others' allocations do not blur the memory figures.

#![allow(clippy::panic, clippy::expect_used, reason = "tests fail by panicking")]

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use integration_tests::{
    http_url,
    rooms_app::{RawClient, RoomsServer, bounded_config, rooms_config, rss_bytes, spawn_rooms_app},
    run_node,
};
use serde_json::{Value, json};
use tokio::sync::RwLock;
use tower_socketio::Sid;

/// Functional tests share the process (read lock); the load tests run alone (write lock).
static GATE: RwLock<()> = RwLock::const_new(());

const MIB: u64 = 1 << 20;

async fn server(config: tower_socketio::SocketIoConfig) -> RoomsServer {
    spawn_rooms_app(config)
        .await
        .unwrap_or_else(|e| panic!("cannot start the rooms app: {e}"))
}

/// Runs `sio-rooms.mjs` with `scenarios` (and `extra` arguments) against a fresh app.
async fn scenarios(transports: &str, scenarios: &[&str], extra: &[&str]) -> Value {
    let _shared = GATE.read().await;
    let server = server(rooms_config()).await;
    let url = http_url(server.addr);
    let list = scenarios.join(",");
    let mut args = vec![
        url.as_str(),
        "--scenario",
        &list,
        "--transports",
        transports,
    ];
    args.extend_from_slice(extra);
    let out = run_node("sio-rooms.mjs", &args, Duration::from_secs(50))
        .await
        .unwrap_or_else(|e| panic!("{list} over {transports}: {e}"));
    let passed: Vec<&str> = out["scenarios"]
        .as_array()
        .map(|v| v.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    assert_eq!(passed, scenarios, "{out}");
    println!("{list} over {transports}: {}", out["results"]);
    out
}

// ---------------------------------------------------------------------------------------------
// 1. The emit cheatsheet

fn row(name: &str, from: &str, op: Value, expect: &[&str]) -> Value {
    json!({ "name": name, "from": from, "op": op, "expect": expect })
}

fn io(chain: Value) -> Value {
    json!({ "target": "io", "chain": chain })
}

fn ns(nsp: &str, chain: Value) -> Value {
    json!({ "target": "ns", "nsp": nsp, "chain": chain })
}

fn sock(chain: Value) -> Value {
    json!({ "target": "socket", "chain": chain })
}

/// The cheatsheet table. In `/`: a1 in A; a2 in A and C; b in B and C; n in no room. In
/// `/other`: a1 in A, b in A, n in B, a2 in none. `$x` is x's socket id in the namespace of the
/// operation. Every row: who sends it, the operator chain, and exactly who must receive it
/// (`x` is x's socket in `/`, `x@/other` in `/other`); everyone else must receive nothing.
#[rustfmt::skip]
fn cheatsheet() -> Value {
    const ALL: &[&str] = &["a1", "a2", "b", "n"];
    const ALL_OTHER: &[&str] = &["a1@/other", "a2@/other", "b@/other", "n@/other"];
    let rows = vec![
        // Basic emits.
        row("socket.emit", "a1", sock(json!([])), &["a1"]),
        row("socket.emit in /other", "b@/other", sock(json!([])), &["b@/other"]),
        row("io.emit", "n", io(json!([])), ALL),
        row("io.of('/').emit", "n", ns("/", json!([])), ALL),
        row("socket.broadcast.emit", "a1", sock(json!([["broadcast"]])), &["a2", "b", "n"]),
        // One room.
        row("io.to(A)", "n", io(json!([["to", "A"]])), &["a1", "a2"]),
        row("io.in(A)", "n", io(json!([["in", "A"]])), &["a1", "a2"]),
        row("io.to(B)", "a1", io(json!([["to", "B"]])), &["b"]),
        row("io.to(C)", "a1", io(json!([["to", "C"]])), &["a2", "b"]),
        row("io.of('/').to(A)", "n", ns("/", json!([["to", "A"]])), &["a1", "a2"]),
        row("socket.to(A) from a member", "a1", sock(json!([["to", "A"]])), &["a2"]),
        row("socket.in(A) from a member", "a1", sock(json!([["in", "A"]])), &["a2"]),
        row("socket.to(A) from a non-member", "n", sock(json!([["to", "A"]])), &["a1", "a2"]),
        row("socket.to(A) from b", "b", sock(json!([["to", "A"]])), &["a1", "a2"]),
        // Unions: each socket once.
        row("io.to([A, B])", "n", io(json!([["to", ["A", "B"]]])), &["a1", "a2", "b"]),
        row("io.to(A).to(B)", "n", io(json!([["to", "A"], ["to", "B"]])), &["a1", "a2", "b"]),
        row("io.to([A, C]) overlapping", "n", io(json!([["to", ["A", "C"]]])), &["a1", "a2", "b"]),
        row("io.to([A, A])", "n", io(json!([["to", ["A", "A"]]])), &["a1", "a2"]),
        row("socket.to([A, B])", "a1", sock(json!([["to", ["A", "B"]]])), &["a2", "b"]),
        row("socket.to([A, C]) from a2", "a2", sock(json!([["to", ["A", "C"]]])), &["a1", "b"]),
        // Except.
        row("io.to(A).except(C)", "n", io(json!([["to", "A"], ["except", "C"]])), &["a1"]),
        row("io.to([A, B]).except(C)", "n", io(json!([["to", ["A", "B"]], ["except", "C"]])), &["a1"]),
        row("io.to(C).except(B)", "n", io(json!([["to", "C"], ["except", "B"]])), &["a2"]),
        row("io.to(A).except([B, C])", "n", io(json!([["to", "A"], ["except", ["B", "C"]]])), &["a1"]),
        row("io.except(A).to(C)", "n", io(json!([["except", "A"], ["to", "C"]])), &["b"]),
        row("socket.to(A).except(C)", "n", sock(json!([["to", "A"], ["except", "C"]])), &["a1"]),
        row("socket.to(C).except(A)", "n", sock(json!([["to", "C"], ["except", "A"]])), &["b"]),
        row("socket.to([A, B]).except(B)", "a1", sock(json!([["to", ["A", "B"]], ["except", "B"]])), &["a2"]),
        row("io.except(A)", "a1", io(json!([["except", "A"]])), &["b", "n"]),
        row("io.except([A, B])", "a1", io(json!([["except", ["A", "B"]]])), &["n"]),
        row("io.except(C)", "a1", io(json!([["except", "C"]])), &["a1", "n"]),
        row("socket.except(A) from b", "b", sock(json!([["except", "A"]])), &["n"]),
        row("socket.except(A) from n", "n", sock(json!([["except", "A"]])), &["b"]),
        row("socket.except(C) from a1", "a1", sock(json!([["except", "C"]])), &["n"]),
        row("socket.broadcast.except(B)", "a1", sock(json!([["broadcast"], ["except", "B"]])), &["a2", "n"]),
        // Socket ids: private messages.
        row("io.to(a2.id)", "n", io(json!([["to", "$a2"]])), &["a2"]),
        row("io.to(n.id) (no other room)", "a1", io(json!([["to", "$n"]])), &["n"]),
        row("socket.to(a2.id)", "a1", sock(json!([["to", "$a2"]])), &["a2"]),
        row("socket.to(own id) reaches nobody", "a1", sock(json!([["to", "$a1"]])), &[]),
        row("socket.to([own id, b.id])", "a1", sock(json!([["to", ["$a1", "$b"]]])), &["b"]),
        row("io.to([a1.id, A])", "n", io(json!([["to", ["$a1", "A"]]])), &["a1", "a2"]),
        row("io.to(A).except(a1.id)", "n", io(json!([["to", "A"], ["except", "$a1"]])), &["a2"]),
        row("io.except(n.id)", "a1", io(json!([["except", "$n"]])), &["a1", "a2", "b"]),
        row("io.to(nobody)", "n", io(json!([["to", "nobody"]])), &[]),
        row("io.except(nobody)", "n", io(json!([["except", "nobody"]])), ALL),
        // Namespaces: rooms are per namespace.
        row("io.of('/other').emit", "a1", ns("/other", json!([])), ALL_OTHER),
        row("io.of('/other').to(A)", "a1", ns("/other", json!([["to", "A"]])), &["a1@/other", "b@/other"]),
        row("io.of('/other').to(B)", "a1", ns("/other", json!([["to", "B"]])), &["n@/other"]),
        row("io.of('/other').to(C) (a room of / only)", "a1", ns("/other", json!([["to", "C"]])), &[]),
        row("io.of('/other').except(A)", "a1", ns("/other", json!([["except", "A"]])), &["a2@/other", "n@/other"]),
        row("io.of('/other').to(a2.id)", "a1", ns("/other", json!([["to", "$a2"]])), &["a2@/other"]),
        row("io.to(a2's /other id) from /", "a1", io(json!([["to", "$a2@/other"]])), &[]),
        row("socket.to(A) in /other", "b@/other", sock(json!([["to", "A"]])), &["a1@/other"]),
        row("socket.broadcast in /other", "b@/other", sock(json!([["broadcast"]])), &["a1@/other", "a2@/other", "n@/other"]),
        // local (one node: everyone it would reach anyway).
        row("io.local.emit", "n", io(json!([["local"]])), ALL),
        row("io.local.to(A)", "n", io(json!([["local"], ["to", "A"]])), &["a1", "a2"]),
        row("io.to(A).local", "n", io(json!([["to", "A"], ["local"]])), &["a1", "a2"]),
        row("socket.local.emit", "a1", sock(json!([["local"]])), &["a2", "b", "n"]),
        // volatile: healthy, idle clients receive it.
        row("socket.volatile.emit", "a1", sock(json!([["volatile"]])), &["a1"]),
        row("io.volatile.emit", "n", io(json!([["volatile"]])), ALL),
        row("io.to(B).volatile", "n", io(json!([["to", "B"], ["volatile"]])), &["b"]),
        row("socket.volatile.to(A)", "a1", sock(json!([["volatile"], ["to", "A"]])), &["a2"]),
        row("socket.broadcast.volatile", "a1", sock(json!([["broadcast"], ["volatile"]])), &["a2", "b", "n"]),
        row("io.of('/other').volatile.to(A)", "n", ns("/other", json!([["volatile"], ["to", "A"]])), &["a1@/other", "b@/other"]),
        // compress (accepted, no effect on who receives).
        row("socket.compress(false).emit", "a1", sock(json!([["compress", false]])), &["a1"]),
        row("io.compress(false).emit", "n", io(json!([["compress", false]])), ALL),
        row("socket.to(A).compress(false)", "a1", sock(json!([["to", "A"], ["compress", false]])), &["a2"]),
    ];
    json!({
        "layout": {
            "a1": { "/": ["A"], "/other": ["A"] },
            "a2": { "/": ["A", "C"], "/other": [] },
            "b": { "/": ["B", "C"], "/other": ["A"] },
            "n": { "/": [], "/other": ["B"] },
        },
        "rows": rows,
    })
}

/// Writes the cheatsheet to a file of its own (removed when dropped) for `--table`.
struct TableFile(std::path::PathBuf);

impl TableFile {
    fn new(tag: &str) -> TableFile {
        let path =
            std::env::temp_dir().join(format!("sio-rooms-table-{}-{tag}.json", std::process::id()));
        std::fs::write(&path, cheatsheet().to_string()).expect("write the table");
        TableFile(path)
    }

    fn arg(&self) -> String {
        self.0.display().to_string()
    }
}

impl Drop for TableFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emit_cheatsheet_delivers_to_exactly_the_right_sockets_over_websocket() {
    let table = TableFile::new("websocket");
    let out = scenarios("websocket", &["table"], &["--table", &table.arg()]).await;
    let rows = cheatsheet()["rows"].as_array().map_or(0, Vec::len);
    assert_eq!(out["results"]["table"]["rows"], rows, "{out}");
    // Idle WebSocket clients are always ready: no volatile row may drop.
    assert_eq!(out["results"]["table"]["volatileDropped"], 0, "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emit_cheatsheet_delivers_to_exactly_the_right_sockets_over_polling() {
    let table = TableFile::new("polling");
    let out = scenarios("polling", &["table"], &["--table", &table.arg()]).await;
    let rows = cheatsheet()["rows"].as_array().map_or(0, Vec::len);
    assert_eq!(out["results"]["table"]["rows"], rows, "{out}");
}

// ---------------------------------------------------------------------------------------------
// 2. Rooms and remote operations

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_rooms_and_rooms_left_on_disconnect() {
    scenarios("websocket", &["leave-on-disconnect"], &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnecting_handler_sees_the_rooms() {
    let out = scenarios("websocket", &["disconnecting"], &[]).await;
    let rooms = &out["results"]["disconnecting"]["disconnectingRooms"];
    for key in ["a1", "a2", "b"] {
        assert!(rooms[key].as_array().is_some_and(|r| r.len() >= 2), "{out}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_sockets_and_remote_operations() {
    scenarios("polling,websocket", &["fetch", "remote"], &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sockets_join_leave_and_disconnect_on_a_room() {
    scenarios("websocket", &["sockets-ops"], &[]).await;
}

/// Node lets a namespace middleware join rooms (`io.use((socket, next) => { socket.join(r);
/// next(); })`, a common way to put a user in `user:<id>` at authentication), and a socket the
/// middleware refuses leaves the rooms it joined.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rooms_joined_in_a_namespace_middleware_are_kept() {
    scenarios("websocket", &["middleware-join"], &[]).await;
}

// ---------------------------------------------------------------------------------------------
// 3. Broadcast acknowledgements

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcast_acks_with_a_timeout_list_the_clients_that_did_not_answer() {
    scenarios("websocket", &["acks-partial", "acks-disconnect"], &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcast_acks_complete_early_when_everyone_answers() {
    let out = scenarios("websocket", &["acks-complete"], &[]).await;
    let r = &out["results"]["acks-complete"];
    assert!(r["elapsedMs"].as_u64().is_some_and(|ms| ms < 2000), "{out}");
}

// ---------------------------------------------------------------------------------------------
// 4 and 5. A client that stops reading

/// Samples this process's RSS every 2 ms on a thread of its own until stopped.
struct RssSampler {
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
    start: u64,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RssSampler {
    fn start() -> RssSampler {
        let start = rss_bytes().expect("VmRSS in /proc/self/status");
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicU64::new(start));
        let thread = {
            let (stop, peak) = (stop.clone(), peak.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if let Some(rss) = rss_bytes() {
                        peak.fetch_max(rss, Ordering::Relaxed);
                    }
                    std::thread::sleep(Duration::from_millis(2));
                }
            })
        };
        RssSampler {
            stop,
            peak,
            start,
            thread: Some(thread),
        }
    }

    /// (RSS at the start, peak RSS), in bytes.
    fn finish(mut self) -> (u64, u64) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        (self.start, self.peak.load(Ordering::Relaxed))
    }
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / MIB as f64
}

/// A raw WebSocket client in room `flood` that will stop reading, with a small receive buffer.
async fn stalled_client(server: &RoomsServer) -> RawClient {
    let client = tokio::time::timeout(
        Duration::from_secs(5),
        RawClient::connect(server.addr, &json!({ "join": ["flood"] }), Some(4096)),
    )
    .await
    .expect("the raw client connects within 5 s")
    .expect("the raw client connects");
    let sid: Sid = client.sid.parse().expect("a socket id");
    let rooms: Vec<String> = server
        .io
        .of("/")
        .and_then(|ns| ns.get_socket(&sid))
        .map(|s| s.rooms().iter().map(|r| r.to_string()).collect())
        .unwrap_or_default();
    assert!(
        rooms.iter().any(|r| r == "flood"),
        "stalled client rooms: {rooms:?}"
    );
    client
}

async fn load(url: &str, args: &[&str]) -> Value {
    let mut all = vec![url];
    all.extend_from_slice(args);
    run_node("sio-rooms-load.mjs", &all, Duration::from_secs(50))
        .await
        .unwrap_or_else(|e| panic!("sio-rooms-load.mjs {args:?}: {e}"))
}

/// The send queue bound of the load tests: 1000 packets, 1 MiB.
const QUEUE_PACKETS: usize = 1000;
const QUEUE_BYTES: usize = 1 << 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn volatile_packets_are_dropped_for_a_stalled_client_not_buffered() {
    let _alone = GATE.write().await;
    let server = server(bounded_config(QUEUE_PACKETS, QUEUE_BYTES)).await;
    let url = http_url(server.addr);
    let mut stalled = stalled_client(&server).await;
    let sid = stalled.sid.clone();

    // 1000 volatile messages of 16 KiB (16 MiB, 16 times the queue's byte bound), one per ms,
    // to the stalled client and 2 healthy ones.
    let (count, size) = (1000u64, 16 * 1024u64);
    let sampler = RssSampler::start();
    let out = load(
        &url,
        &[
            "--mode",
            "volatile",
            "--clients",
            "2",
            "--count",
            &count.to_string(),
            "--size",
            &size.to_string(),
            "--every-ms",
            "1",
        ],
    )
    .await;
    let (rss_start, rss_peak) = sampler.finish();

    // The healthy clients got (nearly) all of them.
    let received: Vec<u64> = out["received"]
        .as_array()
        .map(|v| v.iter().filter_map(Value::as_u64).collect())
        .unwrap_or_default();
    assert_eq!(received.len(), 2, "{out}");
    for r in &received {
        assert!(
            *r >= count / 2,
            "a healthy client received {r} of {count}: {out}"
        );
    }
    // The stalled client was not cut off: its volatile packets were dropped, not queued.
    assert_eq!(server.observed.disconnect_reason(&sid), None);
    let sid_parsed: Sid = sid.parse().expect("a socket id");
    assert!(
        server
            .io
            .of("/")
            .and_then(|ns| ns.get_socket(&sid_parsed))
            .is_some(),
        "the stalled client is still connected"
    );
    let growth = rss_peak.saturating_sub(rss_start);
    assert!(
        growth < 8 * MIB,
        "RSS grew by {:.1} MiB (bound 8 MiB) while 16 MiB of volatile packets went to a stalled \
         client",
        mib(growth)
    );

    // It reads again: it gets what the kernel buffers held, far less than was sent, then a
    // regular message.
    server
        .io
        .to(sid.as_str())
        .emit("after", &1)
        .expect("emit to the stalled client");
    let mut volatile_got = 0u64;
    let read = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let (event, _) = stalled.next_event().await?;
            match event.as_str() {
                "v" => volatile_got += 1,
                "after" => return Ok::<_, std::io::Error>(()),
                _ => {}
            }
        }
    })
    .await;
    assert!(
        matches!(read, Ok(Ok(()))),
        "the stalled client, reading again, gets `after`: {read:?}"
    );
    assert!(
        volatile_got < count / 2,
        "the stalled client got {volatile_got} of {count} volatile messages"
    );
    println!(
        "volatile under a stalled client: {count} x {size} B, one per ms, took {} ms; healthy \
         clients received {received:?}; the stalled client, reading again, found {volatile_got} \
         ({:.1} MiB, what the kernel buffers held); RSS {:.1} MiB -> peak {:.1} MiB (+{:.1} MiB)",
        out["serverMs"],
        mib(volatile_got * size),
        mib(rss_start),
        mib(rss_peak),
        mib(growth)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_client_is_cut_off_while_the_others_keep_full_speed() {
    let _alone = GATE.write().await;
    let server = server(bounded_config(QUEUE_PACKETS, QUEUE_BYTES)).await;
    let url = http_url(server.addr);
    let (clients, count, size) = ("3", 20_000u64, 1024u64);
    let count_arg = count.to_string();
    let size_arg = size.to_string();
    let args = [
        "--mode",
        "flood",
        "--clients",
        clients,
        "--count",
        &count_arg,
        "--size",
        &size_arg,
    ];

    // Without a stalled client (this also warms the allocator up).
    let sampler = RssSampler::start();
    let base = load(&url, &args).await;
    let (base_start, base_peak) = sampler.finish();

    // With a client that stopped reading, in the flooded room.
    let mut stalled = stalled_client(&server).await;
    let sid = stalled.sid.clone();
    let sampler = RssSampler::start();
    let started = Instant::now();
    let with = load(&url, &args).await;
    let (stall_start, stall_peak) = sampler.finish();
    let run_ms = started.elapsed().as_millis();

    // It was cut off for being too slow, with its own reason.
    let deadline = Instant::now() + Duration::from_secs(5);
    let reason = loop {
        if let Some(r) = server.observed.disconnect_reason(&sid) {
            break Some(r);
        }
        if Instant::now() > deadline {
            break None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(
        reason.as_deref(),
        Some("send buffer full"),
        "{:?}",
        server.observed.snapshot()
    );
    // What it had been sent before: the kernel buffers' worth; then the connection ends.
    let mut delivered = 0u64;
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        while let Ok((event, _)) = stalled.next_event().await {
            if event == "m" {
                delivered += 1;
            }
        }
    })
    .await;

    // The healthy clients received everything (the script checks every message, in order),
    // at (nearly) the speed they had without the stalled client.
    let rate = |v: &Value| v["rate"].as_f64().unwrap_or(0.0);
    let (base_rate, with_rate) = (rate(&base), rate(&with));
    assert!(base_rate > 0.0 && with_rate > 0.0, "{base} {with}");
    assert!(
        with_rate >= base_rate * 0.5,
        "delivery rate fell from {base_rate} to {with_rate} msg/s per client with a stalled client"
    );
    let growth = stall_peak.saturating_sub(stall_start);
    assert!(
        growth < 16 * MIB,
        "RSS grew by {:.1} MiB with a stalled client (bound 16 MiB; the queue bound is 1 MiB, \
         the flood {:.1} MiB)",
        mib(growth),
        mib(count * size)
    );
    println!(
        "slow client: {clients} healthy npm clients + 1 stalled raw client (SO_RCVBUF 4096), \
         {count} messages of {size} B, send queue bound {QUEUE_PACKETS} packets / {} MiB\n  \
         without the stalled client: {base_rate} msg/s per client ({} MB/s), {} ms; RSS {:.1} \
         -> peak {:.1} MiB (+{:.1} MiB)\n  with the stalled client:    {with_rate} msg/s per \
         client ({} MB/s), {} ms (run {run_ms} ms); RSS {:.1} -> peak {:.1} MiB (+{:.1} MiB)\n  \
         the stalled client was disconnected with \"send buffer full\" after {delivered} \
         messages had reached its socket",
        QUEUE_BYTES >> 20,
        base["mbPerSec"],
        base["ms"],
        mib(base_start),
        mib(base_peak),
        mib(base_peak.saturating_sub(base_start)),
        with["mbPerSec"],
        with["ms"],
        mib(stall_start),
        mib(stall_peak),
        mib(growth),
    );
}
