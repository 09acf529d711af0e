//! A load generator for Socket.IO servers, speaking Engine.IO v4 / Socket.IO v5 directly
//! over WebSocket and HTTP long-polling. Each scenario is bounded in count and time and prints
//! one JSON line. See `docs/performance.md`.
//!
//! ```text
//! loadgen connect    --url http://127.0.0.1:3000 --clients 1000 [--server-pid PID]
//! loadgen echo       --url ... --clients 1000 --duration 10 [--transport polling]
//! loadgen bcast      --url ... --clients 1000 --duration 10 [--rate 100 | --window 4]
//! loadgen room_bcast --url ... --clients 1000 --rooms 10 --duration 10
//! loadgen report results.jsonl [--servers bare,ours,node] [--ours ours]
//! loadgen wait-port  --url ... [--timeout 20]
//! ```
//!
//! Common options: `--label NAME` (the `server` field of the output), `--server-pid PID[,PID]`
//! (reads the server's CPU time and RSS from /proc; with several, the sum of their CPU),
//! `--receivers-url URL` (bcast, room_bcast: every socket but the sender connects there, the
//! other node of a cluster), `--payload BYTES` (default 32),
//! `--concurrency N` (connections in progress at once, default 256), `--threads N` (runtime
//! worker threads; default 1, a current-thread runtime), `--settle SECS` (connect: wait
//! before reading the RSS, default 1).

mod client;
mod report;
mod scenarios;
mod stats;

use std::{collections::HashMap, process::ExitCode, time::Duration};

use client::{Error, Target};
use scenarios::{Opts, Transport};

const USAGE: &str = "usage: loadgen connect|echo|bcast|room_bcast --url http://127.0.0.1:PORT \
[--clients N] [--duration SECS] [--transport websocket|polling] [--server-pid PID] [--label NAME] \
[--rate PER_S | --window N] [--rooms N] [--payload BYTES] [--concurrency N] [--threads N] \
[--receivers-url URL]\n       \
loadgen report FILE [--servers bare,ours,node] [--ours ours]\n       \
loadgen wait-port --url http://127.0.0.1:PORT [--timeout SECS]";

fn parse_flags(args: &[String]) -> Result<HashMap<String, String>, Error> {
    let mut flags = HashMap::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let key = a
            .strip_prefix("--")
            .ok_or_else(|| format!("unexpected argument {a:?}"))?;
        let value = it.next().ok_or_else(|| format!("--{key} needs a value"))?;
        flags.insert(key.to_owned(), value.clone());
    }
    Ok(flags)
}

fn get<T: std::str::FromStr>(
    flags: &HashMap<String, String>,
    key: &str,
    default: T,
) -> Result<T, Error> {
    match flags.get(key) {
        Some(v) => v
            .parse()
            .map_err(|_| format!("invalid value for --{key}: {v:?}").into()),
        None => Ok(default),
    }
}

fn opts(scenario: &str, flags: &HashMap<String, String>) -> Result<Opts, Error> {
    let url = flags.get("url").ok_or("--url is required")?;
    let transport = match flags.get("transport").map(String::as_str) {
        None | Some("websocket") => Transport::WebSocket,
        Some("polling") => Transport::Polling,
        Some(other) => return Err(format!("unknown transport {other:?}").into()),
    };
    let clients: usize = get(flags, "clients", 1000)?;
    if clients == 0 || clients > 60_000 {
        return Err("--clients must be between 1 and 60000".into());
    }
    let duration: f64 = get(flags, "duration", 10.0)?;
    if !(0.1..=600.0).contains(&duration) {
        return Err("--duration must be between 0.1 and 600 seconds".into());
    }
    Ok(Opts {
        scenario: scenario.to_owned(),
        target: Target::parse(url)?,
        receivers: flags
            .get("receivers-url")
            .map(|u| Target::parse(u))
            .transpose()?,
        transport,
        clients,
        duration: Duration::from_secs_f64(duration),
        server_pid: flags.get("server-pid").cloned(),
        label: flags.get("label").cloned().unwrap_or_else(|| url.clone()),
        rate: get(flags, "rate", 0.0)?,
        window: get(flags, "window", 4)?,
        rooms: get(flags, "rooms", 10)?,
        payload: get(flags, "payload", 32)?,
        concurrency: get(flags, "concurrency", 256)?,
        settle: Duration::from_secs_f64(get(flags, "settle", 1.0)?),
        connect_timeout: Duration::from_secs_f64(get(flags, "connect-timeout", 10.0)?),
    })
}

fn run() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(command) = args.first() else {
        return Err(USAGE.into());
    };
    if command == "report" {
        let file = args.get(1).ok_or(USAGE)?;
        let flags = parse_flags(&args[2..])?;
        let servers: Vec<String> = flags
            .get("servers")
            .map_or("bare,ours,node", String::as_str)
            .split(',')
            .map(str::to_owned)
            .collect();
        let ours = flags.get("ours").map_or("ours", String::as_str);
        return report::report(file, &servers, ours);
    }
    let flags = parse_flags(&args[1..])?;
    let threads: usize = get(&flags, "threads", 1)?;
    let runtime = if threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()?
    };
    if command == "wait-port" {
        let target = Target::parse(flags.get("url").ok_or("--url is required")?)?;
        let secs: f64 = get(&flags, "timeout", 20.0)?;
        let ok = runtime.block_on(client::wait_port(
            target.addr,
            Duration::from_secs_f64(secs),
        ));
        return if ok {
            Ok(())
        } else {
            Err("the port did not open in time".into())
        };
    }
    // Two descriptors per polling client, one per WebSocket client, plus some.
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let opts = opts(command, &flags)?;
    stats::now_us();
    let result = runtime.block_on(async {
        match command.as_str() {
            "connect" => scenarios::connect(&opts).await,
            "echo" => scenarios::echo(&opts).await,
            "bcast" => scenarios::broadcast(&opts, false).await,
            "room_bcast" => scenarios::broadcast(&opts, true).await,
            other => Err(format!("unknown scenario {other:?}\n{USAGE}").into()),
        }
    })?;
    println!("{result}");
    runtime.shutdown_timeout(Duration::from_secs(1));
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("loadgen: {e}");
            ExitCode::FAILURE
        }
    }
}
