#![allow(clippy::expect_used, clippy::panic)]
//! Connection state recovery with the real npm socket.io-client.

use std::time::Duration;

use integration_tests::{http_url, run_node, spawn_recovery_app};

async fn run(case: &str, transports: &str, window: Duration, gap_ms: u64) {
    let addr = spawn_recovery_app(window).await.expect("bind");
    let url = http_url(addr);
    let gap = gap_ms.to_string();
    let out = run_node(
        "sio-recovery.mjs",
        &[
            &url,
            "--case",
            case,
            "--transports",
            transports,
            "--gap-ms",
            &gap,
            "--count",
            "100",
        ],
        Duration::from_secs(40),
    )
    .await
    .unwrap_or_else(|e| panic!("{case} over {transports}: {e}"));
    assert_eq!(out["ok"], true, "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn recovers_after_a_5s_cut_over_websocket() {
    run("recover", "websocket", Duration::from_secs(120), 5000).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn recovers_after_a_5s_cut_over_polling() {
    run("recover", "polling", Duration::from_secs(120), 5000).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn recovers_after_a_cut_of_an_upgraded_session() {
    run(
        "recover",
        "polling,websocket",
        Duration::from_secs(120),
        2000,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_session_after_the_window() {
    run("expire", "websocket", Duration::from_millis(1000), 3000).await;
}
