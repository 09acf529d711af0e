//! Broadcasting through the public API: `io.emit("msg", data)` to N sockets of the main
//! namespace, measured until every socket's client has the frame (the fan-out, the per-socket
//! queues and writers, WebSocket framing; in-memory pipes instead of TCP).

#![allow(clippy::panic)] // a benchmark that cannot set up has nothing to measure

use std::{sync::Arc, time::Duration};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use micro_benches::{Counter, connect};
use tower_socketio::SocketIo;

fn runtime() -> tokio::runtime::Runtime {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => panic!("runtime: {e}"),
    }
}

fn broadcast(c: &mut Criterion) {
    let rt = runtime();
    let mut g = c.benchmark_group("broadcast");
    g.measurement_time(Duration::from_secs(5));
    let payload = serde_json::json!({"s": 1, "t": 123_456, "p": "x".repeat(32)});
    for n in [1u64, 100, 1000] {
        let io = SocketIo::new();
        let counter = Arc::new(Counter::default());
        rt.block_on(async {
            for _ in 0..n {
                if let Err(e) = connect(&io, counter.clone()).await {
                    panic!("connect: {e}");
                }
            }
        });
        g.throughput(Throughput::Elements(n));
        g.bench_function(format!("io_emit_to_{n}_sockets"), |b| {
            b.to_async(&rt).iter(|| async {
                counter
                    .wait_for(n, || {
                        io.emit("msg", &payload).ok();
                    })
                    .await
            })
        });
        rt.block_on(io.close());
    }
    g.finish();
}

criterion_group!(benches, broadcast);
criterion_main!(benches);
