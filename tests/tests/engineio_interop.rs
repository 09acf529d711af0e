//! Engine.IO interop with the real npm clients: `engine.io-client` 6.6 (protocol v4) and 3.5
//! (protocol v3), against the conformance server's echo modes. Each test starts its own server
//! on a free 127.0.0.1 port and runs one `tests/node` script, bounded in time.
//!
//! The 60-second heartbeat tests sort after the echo tests so both run side by side at the end
//! (libtest runs tests in name order, as many at once as there are cores).

#![allow(clippy::panic, reason = "tests fail by panicking")]

use std::time::Duration;

use conformance_server::Mode;
use integration_tests::{http_url, run_node};
use serde_json::{Value, json};

/// The echo script's own timeout; the harness kills it a little later.
const ECHO_SCRIPT_TIMEOUT_SECS: u64 = 20;
const IDLE_SECONDS: u64 = 60;

async fn start(mode: Mode) -> String {
    match conformance_server::spawn(mode).await {
        Ok(addr) => http_url(addr),
        Err(e) => panic!("cannot start the conformance server in {mode:?} mode: {e}"),
    }
}

/// Runs `eio-echo.mjs` against a fresh server in `mode`; panics with the script's report on
/// failure.
async fn echo(mode: Mode, transports: &str, v3: bool) -> Value {
    let url = start(mode).await;
    let timeout = ECHO_SCRIPT_TIMEOUT_SECS.to_string();
    let mut args = vec![
        url.as_str(),
        "--transports",
        transports,
        "--timeout",
        &timeout,
    ];
    if v3 {
        args.push("--v3");
    }
    let hard_timeout = Duration::from_secs(ECHO_SCRIPT_TIMEOUT_SECS + 10);
    match run_node("eio-echo.mjs", &args, hard_timeout).await {
        Ok(result) => result,
        Err(report) => panic!("{report}"),
    }
}

/// Checks the fields of an echo result that every case shares.
fn check_echo(result: &Value, protocol: u64, first: &str, last: &str, upgraded: bool) {
    assert_eq!(result["protocol"], json!(protocol), "{result}");
    assert_eq!(result["firstTransport"], json!(first), "{result}");
    assert_eq!(result["transport"], json!(last), "{result}");
    assert_eq!(result["upgraded"], json!(upgraded), "{result}");
    // 5 messages per batch; an upgraded session sends one batch during and one after the upgrade.
    let echoed = if upgraded { 10 } else { 5 };
    assert_eq!(result["echoed"], json!(echoed), "{result}");
    assert_eq!(result["closeReason"], json!("forced close"), "{result}");
}

#[tokio::test(flavor = "multi_thread")]
async fn eio_v4_polling_only_echo() {
    let result = echo(Mode::EngineIo, "polling", false).await;
    check_echo(&result, 4, "polling", "polling", false);
}

#[tokio::test(flavor = "multi_thread")]
async fn eio_v4_websocket_only_echo() {
    let result = echo(Mode::EngineIo, "websocket", false).await;
    check_echo(&result, 4, "websocket", "websocket", false);
}

#[tokio::test(flavor = "multi_thread")]
async fn eio_v4_polling_upgraded_to_websocket_echo() {
    let result = echo(Mode::EngineIo, "polling,websocket", false).await;
    check_echo(&result, 4, "polling", "websocket", true);
}

#[tokio::test(flavor = "multi_thread")]
async fn eio_v3_polling_only_echo() {
    let result = echo(Mode::EngineIoV3, "polling", true).await;
    check_echo(&result, 3, "polling", "polling", false);
}

#[tokio::test(flavor = "multi_thread")]
async fn eio_v3_websocket_only_echo() {
    let result = echo(Mode::EngineIoV3, "websocket", true).await;
    check_echo(&result, 3, "websocket", "websocket", false);
}

#[tokio::test(flavor = "multi_thread")]
async fn eio_v3_polling_upgraded_to_websocket_echo() {
    let result = echo(Mode::EngineIoV3, "polling,websocket", true).await;
    check_echo(&result, 3, "polling", "websocket", true);
}

/// `engineio-v3` mode accepts v3 clients *in addition to* v4 ones.
#[tokio::test(flavor = "multi_thread")]
async fn eio_v4_client_accepted_in_v3_mode() {
    let result = echo(Mode::EngineIoV3, "polling,websocket", false).await;
    check_echo(&result, 4, "polling", "websocket", true);
}

/// Without `allow_eio3` the v3 client's handshake is refused (Node answers 400).
#[tokio::test(flavor = "multi_thread")]
async fn eio_v3_client_refused_in_v4_mode() {
    let url = start(Mode::EngineIo).await;
    let args = [
        url.as_str(),
        "--transports",
        "polling",
        "--v3",
        "--timeout",
        "10",
    ];
    match run_node("eio-echo.mjs", &args, Duration::from_secs(20)).await {
        Ok(result) => panic!("a v3 client was accepted by a v4-only server: {result}"),
        Err(report) => assert!(
            report.contains("xhr poll error (400)"),
            "expected the handshake to be refused with 400:\n{report}"
        ),
    }
}

/// Runs `eio-idle.mjs` with a polling-only, a WebSocket-only and an upgraded session at once,
/// idle for [`IDLE_SECONDS`], and checks each one's report.
async fn idle_sessions(mode: Mode, v3: bool) {
    let url = start(mode).await;
    let seconds = IDLE_SECONDS.to_string();
    let timeout = (IDLE_SECONDS + 30).to_string();
    let mut args = vec![
        url.as_str(),
        "--seconds",
        &seconds,
        "--sessions",
        "polling,websocket,upgrade",
        "--timeout",
        &timeout,
    ];
    if v3 {
        args.push("--v3");
    }
    let hard_timeout = Duration::from_secs(IDLE_SECONDS + 60);
    let result = match run_node("eio-idle.mjs", &args, hard_timeout).await {
        Ok(result) => result,
        Err(report) => panic!("{report}"),
    };
    let Some(sessions) = result["sessions"].as_array() else {
        panic!("no sessions in {result}");
    };
    let kinds: Vec<&Value> = sessions.iter().map(|s| &s["kind"]).collect();
    assert_eq!(
        kinds,
        [&json!("polling"), &json!("websocket"), &json!("upgrade")],
        "{result}"
    );
    // 60 s at a 300 ms interval is 200 heartbeats; the script already required at least half.
    let min = IDLE_SECONDS * 1000 / 300 / 2;
    for (session, transport) in sessions.iter().zip(["polling", "websocket", "websocket"]) {
        assert_eq!(session["transport"], json!(transport), "{result}");
        assert_eq!(session["pingInterval"], json!(300), "{result}");
        assert_eq!(session["pingTimeout"], json!(200), "{result}");
        let beats = session["heartbeats"].as_u64().unwrap_or(0);
        assert!(beats >= min, "only {beats} heartbeats (< {min}): {result}");
        assert_eq!(session["closeReason"], json!("forced close"), "{result}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn heartbeat_v3_three_sessions_survive_60s_idle() {
    idle_sessions(Mode::EngineIoV3, true).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn heartbeat_v4_three_sessions_survive_60s_idle() {
    idle_sessions(Mode::EngineIo, false).await;
}
