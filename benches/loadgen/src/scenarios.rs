//! The scenarios. Each one is bounded in count and time and returns one JSON object.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU32, AtomicU64, Ordering},
    },
    time::Duration,
};

use futures_util::{SinkExt, StreamExt, stream};
use serde_json::{Map, Value, json};
use tokio::{
    sync::{Semaphore, mpsc, watch},
    task::JoinSet,
    time::{Instant, sleep, sleep_until, timeout, timeout_at},
};
use tokio_tungstenite::tungstenite::Message;

use crate::{
    client::{self, Error, Polling, Target, Ws, ack_id, next_text, text},
    stats::{Histogram, cpu_seconds, median, now_us, rss_bytes},
};

/// The transport a scenario runs over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transport {
    WebSocket,
    Polling,
}

/// Everything a scenario needs to know.
#[derive(Debug, Clone)]
pub(crate) struct Opts {
    pub(crate) scenario: String,
    pub(crate) target: Target,
    /// Where every socket but the first connects (`--receivers-url`): the other node of a
    /// cluster, for cross-node broadcasts. `None`: all connect to `target`.
    pub(crate) receivers: Option<Target>,
    pub(crate) transport: Transport,
    pub(crate) clients: usize,
    pub(crate) duration: Duration,
    pub(crate) server_pid: Option<String>,
    pub(crate) label: String,
    /// Broadcasts per second; 0 for closed loop (`window` broadcasts in flight).
    pub(crate) rate: f64,
    pub(crate) window: usize,
    pub(crate) rooms: usize,
    pub(crate) payload: usize,
    pub(crate) concurrency: usize,
    pub(crate) settle: Duration,
    pub(crate) connect_timeout: Duration,
}

/// How long a connection may take before it counts as failed.
const GRACE: Duration = Duration::from_secs(2);

fn base(opts: &Opts) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("scenario".into(), json!(opts.scenario));
    m.insert("server".into(), json!(opts.label));
    m.insert(
        "transport".into(),
        json!(match opts.transport {
            Transport::WebSocket => "websocket",
            Transport::Polling => "polling",
        }),
    );
    m.insert("clients".into(), json!(opts.clients));
    m
}

/// CPU used by the server and by this process over a measured window.
struct Cpu {
    server: Option<f64>,
    own: Option<f64>,
    at: Instant,
}

impl Cpu {
    fn start(opts: &Opts) -> Cpu {
        Cpu {
            server: opts.server_pid.as_deref().and_then(cpu_seconds),
            own: cpu_seconds("self"),
            at: Instant::now(),
        }
    }

    /// Adds `server_cpu_s`, `server_cpu_util`, `loadgen_cpu_util`; returns the server's CPU
    /// seconds.
    fn finish(self, opts: &Opts, out: &mut Map<String, Value>) -> Option<f64> {
        let wall = self.at.elapsed().as_secs_f64().max(1e-9);
        let server = match (
            self.server,
            opts.server_pid.as_deref().and_then(cpu_seconds),
        ) {
            (Some(a), Some(b)) => Some(b - a),
            _ => None,
        };
        if let Some(s) = server {
            out.insert("server_cpu_s".into(), json!(round(s, 2)));
            out.insert("server_cpu_util".into(), json!(round(s / wall, 2)));
        }
        if let (Some(a), Some(b)) = (self.own, cpu_seconds("self")) {
            out.insert("loadgen_cpu_util".into(), json!(round((b - a) / wall, 2)));
        }
        server
    }
}

fn round(v: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (v * f).round() / f
}

fn payload_string(n: usize) -> String {
    "x".repeat(n)
}

/// Connects `opts.clients` WebSocket clients, at most `opts.concurrency` at a time; each
/// connected socket then runs `after` (e.g. joining a room). Returns the sockets with their
/// index, the number of failures, the time taken and the connect latencies.
async fn connect_ws_all<F, Fut>(
    opts: &Opts,
    after: F,
) -> (Vec<(usize, Ws)>, usize, Duration, Histogram)
where
    F: Fn(usize, Ws) -> Fut,
    Fut: Future<Output = Result<Ws, Error>>,
{
    let hist = Histogram::new();
    let started = Instant::now();
    let deadline = started + opts.duration.max(Duration::from_secs(30));
    let results: Vec<Option<(usize, Ws)>> = stream::iter(0..opts.clients)
        .map(|i| {
            let (hist, after) = (&hist, &after);
            async move {
                let t0 = Instant::now();
                let target = match (&opts.receivers, i) {
                    (Some(receivers), 1..) => receivers,
                    _ => &opts.target,
                };
                let ws = timeout(opts.connect_timeout, client::ws_connect(target))
                    .await
                    .ok()?
                    .ok()?;
                hist.record(t0.elapsed().as_micros() as u64);
                let ws = timeout(opts.connect_timeout, after(i, ws))
                    .await
                    .ok()?
                    .ok()?;
                Some((i, ws))
            }
        })
        .buffer_unordered(opts.concurrency.max(1))
        .take_until(sleep_until(deadline))
        .collect()
        .await;
    let elapsed = started.elapsed();
    let failures = opts.clients - results.iter().flatten().count();
    (
        results.into_iter().flatten().collect(),
        failures,
        elapsed,
        hist,
    )
}

async fn no_setup(_: usize, ws: Ws) -> Result<Ws, Error> {
    Ok(ws)
}

/// Keeps a socket open, answering pings, until `stop` changes.
async fn hold(mut ws: Ws, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            msg = ws.next() => match msg {
                Some(Ok(Message::Text(t))) if t.as_str() == "2" => {
                    if ws.send(text("3")).await.is_err() { return; }
                }
                Some(Ok(_)) => {}
                _ => return,
            }
        }
    }
}

/// At most this many storms per run: every connection leaves a TIME_WAIT entry behind.
const MAX_STORMS: usize = 20;

/// Connection storm: connects `clients` sockets as fast as possible, then reads the server's
/// memory per idle connected socket. Then, until `duration` has passed (at most
/// [`MAX_STORMS`] storms in all), closes them and storms again: the rate, the latencies and the
/// server's CPU count the connecting phases of every storm, which makes them steadier than one
/// storm of a few tens of milliseconds.
pub(crate) async fn connect(opts: &Opts) -> Result<Value, Error> {
    let pid = opts.server_pid.as_deref();
    let started = Instant::now();
    let rss_before = pid.and_then(rss_bytes);
    let cpu = Cpu::start(opts);
    let (sockets, failures, elapsed, hist) = connect_ws_all(opts, no_setup).await;
    let mut out = base(opts);
    let connected = sockets.len();
    let server_cpu = cpu.finish(opts, &mut out);
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut holders = JoinSet::new();
    for (_, ws) in sockets {
        holders.spawn(hold(ws, stop_rx.clone()));
    }
    sleep(opts.settle).await;
    let rss_after = pid.and_then(rss_bytes);
    let _ = stop_tx.send(true);
    let _ = timeout(Duration::from_secs(5), async {
        while holders.join_next().await.is_some() {}
    })
    .await;

    let (mut total, mut total_failures, mut total_time) = (connected, failures, elapsed);
    let mut total_cpu = server_cpu;
    let mut storms = 1;
    while storms < MAX_STORMS && started.elapsed() < opts.duration {
        // Let the server finish closing the previous storm's sessions.
        sleep(Duration::from_millis(200)).await;
        let before = pid.and_then(cpu_seconds);
        let (sockets, failures, elapsed, storm_hist) = connect_ws_all(opts, no_setup).await;
        let after = pid.and_then(cpu_seconds);
        total += sockets.len();
        total_failures += failures;
        total_time += elapsed;
        total_cpu = match (total_cpu, before, after) {
            (Some(t), Some(a), Some(b)) => Some(t + (b - a)),
            _ => None,
        };
        hist.merge(&storm_hist);
        storms += 1;
        drop(sockets);
    }

    out.insert("storms".into(), json!(storms));
    out.insert("connected".into(), json!(connected));
    out.insert("failures".into(), json!(total_failures));
    out.insert(
        "elapsed_s".into(),
        json!(round(total_time.as_secs_f64(), 3)),
    );
    out.insert(
        "conn_per_s".into(),
        json!(round(total as f64 / total_time.as_secs_f64().max(1e-9), 1)),
    );
    out.insert("connect_p50_us".into(), json!(hist.quantile(0.5)));
    out.insert("connect_p99_us".into(), json!(hist.quantile(0.99)));
    if let Some(cpu) = total_cpu.filter(|c| *c > 0.0) {
        out.insert("server_cpu_s".into(), json!(round(cpu, 2)));
        out.insert(
            "conn_per_server_cpu_s".into(),
            json!(round(total as f64 / cpu, 1)),
        );
    }
    if let (Some(before), Some(after)) = (rss_before, rss_after) {
        out.insert("rss_before_bytes".into(), json!(before));
        out.insert("rss_after_bytes".into(), json!(after));
        if connected > 0 {
            out.insert(
                "rss_per_socket_bytes".into(),
                json!(after.saturating_sub(before) / connected as u64),
            );
        }
    }
    Ok(Value::Object(out))
}

/// One socket's echo loop: emit `echo` with an ack, wait for it, repeat until `end`.
async fn echo_ws_loop(mut ws: Ws, payload: Arc<str>, end: Instant, hist: Arc<Histogram>) -> u64 {
    let mut count = 0;
    let mut id: u64 = 0;
    'outer: while Instant::now() < end {
        id += 1;
        let t0 = Instant::now();
        if ws
            .send(text(format!(r#"42{id}["echo",{payload}]"#)))
            .await
            .is_err()
        {
            break;
        }
        loop {
            let t = match timeout_at(end + GRACE, next_text(&mut ws)).await {
                Ok(Ok(t)) => t,
                _ => break 'outer,
            };
            if t.as_str() == "2" {
                if ws.send(text("3")).await.is_err() {
                    break 'outer;
                }
            } else if ack_id(&t) == Some(id) {
                break;
            }
        }
        let now = Instant::now();
        if now <= end {
            hist.record((now - t0).as_micros() as u64);
            count += 1;
        }
    }
    count
}

enum PollEvent {
    Ack(u64),
    Ping,
}

/// One polling socket's echo loop: POST the event, wait until a GET brings the ack.
async fn echo_polling_loop(
    session: Polling,
    payload: Arc<str>,
    end: Instant,
    hist: Arc<Histogram>,
) -> u64 {
    let (mut poller, mut poster) = session.split();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let reader = tokio::spawn(async move {
        while let Ok(body) = poller.poll().await {
            for r in client::records(&body) {
                if r == "2" {
                    let _ = tx.send(PollEvent::Ping);
                } else if let Some(id) = ack_id(r) {
                    let _ = tx.send(PollEvent::Ack(id));
                } else if r == "1" {
                    return;
                }
            }
        }
    });
    let mut count = 0;
    let mut id: u64 = 0;
    'outer: while Instant::now() < end {
        id += 1;
        let t0 = Instant::now();
        if poster
            .send(format!(r#"42{id}["echo",{payload}]"#))
            .await
            .is_err()
        {
            break;
        }
        loop {
            match timeout_at(end + GRACE, rx.recv()).await {
                Ok(Some(PollEvent::Ack(a))) if a == id => break,
                Ok(Some(PollEvent::Ack(_))) => {}
                Ok(Some(PollEvent::Ping)) => {
                    if poster.send("3".to_owned()).await.is_err() {
                        break 'outer;
                    }
                }
                _ => break 'outer,
            }
        }
        let now = Instant::now();
        if now <= end {
            hist.record((now - t0).as_micros() as u64);
            count += 1;
        }
    }
    reader.abort();
    count
}

/// Echo with acks: every socket emits `echo` and waits for its ack, in a loop.
pub(crate) async fn echo(opts: &Opts) -> Result<Value, Error> {
    let payload: Arc<str> = serde_json::to_string(&payload_string(opts.payload))?.into();
    let hist = Arc::new(Histogram::new());
    let mut tasks = JoinSet::new();
    let failures;
    match opts.transport {
        Transport::WebSocket => {
            let (sockets, f, _, _) = connect_ws_all(opts, no_setup).await;
            failures = f;
            let cpu = Cpu::start(opts);
            let end = Instant::now() + opts.duration;
            for (_, ws) in sockets {
                tasks.spawn(echo_ws_loop(ws, payload.clone(), end, hist.clone()));
            }
            return finish_echo(opts, tasks, hist, failures, cpu).await;
        }
        Transport::Polling => {
            let deadline = Instant::now() + opts.duration.max(Duration::from_secs(30));
            let sessions: Vec<Option<Polling>> = stream::iter(0..opts.clients)
                .map(|_| async {
                    timeout(opts.connect_timeout, Polling::connect(&opts.target))
                        .await
                        .ok()?
                        .ok()
                })
                .buffer_unordered(opts.concurrency.max(1))
                .take_until(sleep_until(deadline))
                .collect()
                .await;
            failures = opts.clients - sessions.iter().flatten().count();
            let cpu = Cpu::start(opts);
            let end = Instant::now() + opts.duration;
            for session in sessions.into_iter().flatten() {
                tasks.spawn(echo_polling_loop(
                    session,
                    payload.clone(),
                    end,
                    hist.clone(),
                ));
            }
            finish_echo(opts, tasks, hist, failures, cpu).await
        }
    }
}

async fn finish_echo(
    opts: &Opts,
    mut tasks: JoinSet<u64>,
    hist: Arc<Histogram>,
    failures: usize,
    cpu: Cpu,
) -> Result<Value, Error> {
    let mut counts = Vec::new();
    let mut out = base(opts);
    // Every loop stops by itself by `end + GRACE`; the CPU window is the measured one.
    let mut cpu = Some(cpu);
    let mut server_cpu = None;
    while let Some(r) = tasks.join_next().await {
        counts.push(r.unwrap_or(0));
        if let Some(c) = cpu.take_if(|c| c.at.elapsed() >= opts.duration) {
            server_cpu = c.finish(opts, &mut out);
        }
    }
    if let Some(c) = cpu.take() {
        server_cpu = c.finish(opts, &mut out);
    }
    let total: u64 = counts.iter().sum();
    let min = counts.iter().copied().min().unwrap_or(0);
    let med = median(&mut counts);
    let secs = opts.duration.as_secs_f64();
    out.insert("connected".into(), json!(counts.len()));
    out.insert("failures".into(), json!(failures));
    out.insert("duration_s".into(), json!(secs));
    out.insert("acks".into(), json!(total));
    out.insert("acks_per_s".into(), json!(round(total as f64 / secs, 1)));
    out.insert("latency_p50_us".into(), json!(hist.quantile(0.5)));
    out.insert("latency_p99_us".into(), json!(hist.quantile(0.99)));
    out.insert("min_per_socket".into(), json!(min));
    out.insert("median_per_socket".into(), json!(med));
    out.insert(
        "fairness".into(),
        json!(if med > 0 {
            round(min as f64 / med as f64, 3)
        } else {
            0.0
        }),
    );
    if let Some(cpu) = server_cpu.filter(|c| *c > 0.0) {
        out.insert(
            "acks_per_server_cpu_s".into(),
            json!(round(total as f64 / cpu, 1)),
        );
    }
    Ok(Value::Object(out))
}

/// Slots for broadcasts in flight, indexed by sequence number modulo `RING`.
const RING: usize = 1 << 16;

struct Slot {
    count: AtomicU32,
    target: AtomicU32,
}

/// Shared state of a broadcast run.
struct Tracker {
    slots: Vec<Slot>,
    end_us: AtomicU64,
    in_window: AtomicU64,
    total: AtomicU64,
    completed: AtomicU64,
    delivery: Histogram,
    reach_all: Histogram,
    permits: Semaphore,
}

impl Tracker {
    fn on_delivery(&self, seq: u64, sent_us: u64) {
        let now = now_us();
        if now <= self.end_us.load(Ordering::Relaxed) {
            self.in_window.fetch_add(1, Ordering::Relaxed);
        }
        self.total.fetch_add(1, Ordering::Relaxed);
        let latency = now.saturating_sub(sent_us);
        self.delivery.record(latency);
        let Some(slot) = self.slots.get(seq as usize % RING) else {
            return;
        };
        let n = slot.count.fetch_add(1, Ordering::AcqRel) + 1;
        if n == slot.target.load(Ordering::Acquire) {
            self.reach_all.record(latency);
            self.completed.fetch_add(1, Ordering::Relaxed);
            self.permits.add_permits(1);
        }
    }
}

/// Reads `"s":<seq>` and `"t":<micros>` from a `42["msg",{...}]` frame.
fn parse_msg(t: &str) -> Option<(u64, u64)> {
    if !t.starts_with(r#"42["msg","#) {
        return None;
    }
    let num = |key: &str| -> Option<u64> {
        let rest = t.get(t.find(key)? + key.len()..)?;
        let end = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        rest.get(..end)?.parse().ok()
    };
    Some((num(r#""s":"#)?, num(r#""t":"#)?))
}

/// A receiver: counts `msg` deliveries until `stop`, answering pings (or asking the sender to,
/// through `pong`, when it only has the read half).
async fn receive<S>(mut stream: S, tracker: Arc<Tracker>, mut reply: Reply, stop: Instant)
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        let msg = match timeout_at(stop, stream.next()).await {
            Ok(Some(Ok(msg))) => msg,
            _ => return,
        };
        let Message::Text(t) = msg else { continue };
        if let Some((seq, sent)) = parse_msg(&t) {
            tracker.on_delivery(seq, sent);
        } else if t.as_str() == "2" {
            match &mut reply {
                Reply::Sink(sink) => {
                    let _ = sink.send(text("3")).await;
                }
                Reply::Channel(tx) => {
                    let _ = tx.send(());
                }
            }
        }
    }
}

type WsSink = futures_util::stream::SplitSink<Ws, Message>;

enum Reply {
    Sink(WsSink),
    Channel(mpsc::UnboundedSender<()>),
}

/// Broadcast fan-out (`bcast` to everyone, or `room_bcast` to `rooms` rooms): socket 0 emits,
/// every targeted socket counts what it receives.
pub(crate) async fn broadcast(opts: &Opts, rooms: bool) -> Result<Value, Error> {
    let room_count = if rooms { opts.rooms.max(1) } else { 1 };
    let join = |i: usize, mut ws: Ws| async move {
        if !rooms {
            return Ok(ws);
        }
        ws.send(text(format!(r#"421["join","r{}"]"#, i % room_count)))
            .await?;
        loop {
            let t = next_text(&mut ws).await?;
            if ack_id(&t) == Some(1) {
                return Ok(ws);
            }
            if t.as_str() == "2" {
                ws.send(text("3")).await?;
            }
        }
    };
    let (sockets, failures, _, _) = connect_ws_all(opts, join).await;
    let mut room_sizes = vec![0u32; room_count];
    for (i, _) in &sockets {
        room_sizes[i % room_count] += 1;
    }
    let everyone = sockets.len() as u32;
    let window = if opts.rate > 0.0 {
        RING / 2
    } else {
        opts.window.max(1)
    };
    let tracker = Arc::new(Tracker {
        slots: (0..RING)
            .map(|_| Slot {
                count: AtomicU32::new(0),
                target: AtomicU32::new(u32::MAX),
            })
            .collect(),
        end_us: AtomicU64::new(u64::MAX),
        in_window: AtomicU64::new(0),
        total: AtomicU64::new(0),
        completed: AtomicU64::new(0),
        delivery: Histogram::new(),
        reach_all: Histogram::new(),
        permits: Semaphore::new(window),
    });
    let mut out = base(opts);
    let mut iter = sockets.into_iter();
    let Some((_, sender)) = iter.next() else {
        out.insert("failures".into(), json!(failures));
        out.insert("error".into(), json!("no socket connected"));
        return Ok(Value::Object(out));
    };
    let start = Instant::now();
    let end = start + opts.duration;
    let stop = end + GRACE + Duration::from_secs(1);
    let start_us = now_us();
    tracker.end_us.store(
        start_us + opts.duration.as_micros() as u64,
        Ordering::Relaxed,
    );
    let cpu = Cpu::start(opts);
    let mut receivers = JoinSet::new();
    for (_, ws) in iter {
        let (sink, stream) = ws.split();
        receivers.spawn(receive(stream, tracker.clone(), Reply::Sink(sink), stop));
    }
    let (mut sink, stream) = sender.split();
    let (pong_tx, mut pong_rx) = mpsc::unbounded_channel();
    receivers.spawn(receive(
        stream,
        tracker.clone(),
        Reply::Channel(pong_tx),
        stop,
    ));

    let payload = payload_string(opts.payload);
    let mut sent: u64 = 0;
    let mut expected: u64 = 0;
    let mut throttled: u64 = 0;
    let mut ticker = (opts.rate > 0.0).then(|| {
        let mut i = tokio::time::interval(Duration::from_secs_f64(1.0 / opts.rate));
        i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        i
    });
    loop {
        // Closed loop: wait for a free slot of the window. Fixed rate: wait for the tick, and
        // skip it when too many broadcasts are still in flight.
        let go = tokio::select! {
            biased;
            Some(()) = pong_rx.recv() => {
                sink.send(text("3")).await?;
                continue;
            }
            () = sleep_until(end) => break,
            _ = async {
                match ticker.as_mut() {
                    Some(t) => t.tick().await,
                    None => std::future::pending().await,
                }
            }, if ticker.is_some() => {
                match tracker.permits.try_acquire() {
                    Ok(p) => { p.forget(); true }
                    Err(_) => { throttled += 1; false }
                }
            }
            p = tracker.permits.acquire(), if ticker.is_none() => {
                if let Ok(p) = p { p.forget(); }
                true
            }
        };
        if !go {
            continue;
        }
        sent += 1;
        let seq = sent;
        let (target, frame) = if rooms {
            let room = (seq as usize) % room_count;
            (
                room_sizes[room],
                format!(
                    r#"42["room_bcast","r{room}",{{"s":{seq},"t":{},"p":"{payload}"}}]"#,
                    now_us()
                ),
            )
        } else {
            (
                everyone,
                format!(
                    r#"42["bcast",{{"s":{seq},"t":{},"p":"{payload}"}}]"#,
                    now_us()
                ),
            )
        };
        expected += u64::from(target);
        if let Some(slot) = tracker.slots.get(seq as usize % RING) {
            slot.count.store(0, Ordering::Release);
            slot.target.store(target, Ordering::Release);
        }
        if target == 0 {
            tracker.permits.add_permits(1);
        }
        sink.send(text(frame)).await?;
    }
    // Let the broadcasts in flight arrive (for the reach-everyone figures), then stop.
    let grace_end = Instant::now() + GRACE;
    while tracker.total.load(Ordering::Relaxed) < expected && Instant::now() < grace_end {
        sleep(Duration::from_millis(10)).await;
    }
    let server_cpu = cpu.finish(opts, &mut out);
    receivers.abort_all();
    let secs = opts.duration.as_secs_f64();
    let in_window = tracker.in_window.load(Ordering::Relaxed);
    let total = tracker.total.load(Ordering::Relaxed);
    out.insert("connected".into(), json!(everyone));
    out.insert("failures".into(), json!(failures));
    if rooms {
        out.insert("rooms".into(), json!(room_count));
    }
    out.insert(
        "mode".into(),
        json!(if opts.rate > 0.0 {
            format!("rate {}/s", opts.rate)
        } else {
            format!("closed loop, window {window}")
        }),
    );
    out.insert("payload_bytes".into(), json!(opts.payload));
    out.insert("duration_s".into(), json!(secs));
    out.insert("broadcasts".into(), json!(sent));
    out.insert(
        "broadcasts_completed".into(),
        json!(tracker.completed.load(Ordering::Relaxed)),
    );
    if throttled > 0 {
        out.insert("throttled_ticks".into(), json!(throttled));
    }
    out.insert("deliveries".into(), json!(in_window));
    out.insert(
        "deliveries_per_s".into(),
        json!(round(in_window as f64 / secs, 1)),
    );
    out.insert("lost".into(), json!(expected.saturating_sub(total)));
    out.insert(
        "delivery_p50_us".into(),
        json!(tracker.delivery.quantile(0.5)),
    );
    out.insert(
        "delivery_p99_us".into(),
        json!(tracker.delivery.quantile(0.99)),
    );
    out.insert(
        "reach_all_p50_us".into(),
        json!(tracker.reach_all.quantile(0.5)),
    );
    out.insert(
        "reach_all_p99_us".into(),
        json!(tracker.reach_all.quantile(0.99)),
    );
    if let Some(cpu) = server_cpu.filter(|c| *c > 0.0) {
        out.insert(
            "deliveries_per_server_cpu_s".into(),
            json!(round(total as f64 / cpu, 1)),
        );
    }
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::parse_msg;

    #[test]
    fn parses_broadcast_frames() {
        assert_eq!(
            parse_msg(r#"42["msg",{"s":12,"t":345,"p":"xx"}]"#),
            Some((12, 345))
        );
        assert_eq!(
            parse_msg(r#"42["msg",{"p":"xx","s":1,"t":2}]"#),
            Some((1, 2))
        );
        assert_eq!(parse_msg(r#"43["msg"]"#), None);
    }
}
