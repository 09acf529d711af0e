//! Socket.IO interop with real clients: the npm `socket.io-client` 4.8 (JSON and
//! `socket.io-msgpack-parser`) and python-socketio, against the interop app
//! ([`integration_tests::spawn_sio_app`], whose Node twin is `tests/node/reference-sio-server.mjs`;
//! `scripts/validate-sio-clients.sh` runs the same scripts against that twin).
//!
//! Each test starts its own app on a free 127.0.0.1 port and runs one script process with a
//! group of scenarios over one transport choice (a Node process costs ~100 ms to start, so cheap
//! scenarios share one). The scripts check everything themselves and name the failing scenario
//! and what it was waiting for; here we check that every scenario asked for passed, plus the
//! facts a server implementer most needs to get right (reasons, final transport).

#![allow(clippy::panic, reason = "tests fail by panicking")]

use std::time::Duration;

use integration_tests::{http_url, run_node, run_python, spawn_sio_app};
use serde_json::{Value, json};

/// Each scenario's own bound inside the scripts (seconds).
const SCENARIO_TIMEOUT_SECS: u64 = 10;

/// Connecting: auth payloads, middleware refusal with data, dynamic and unknown namespaces, two
/// namespaces on one connection, a slow middleware, the connect timeout.
const CONNECT: &[&str] = &[
    "connect-auth",
    "auth-refused",
    "dynamic",
    "multi",
    "slow-middleware",
    "connect-timeout",
];
/// Events: arguments (JSON and binary), acks both ways with timeouts, rooms, volatile, order.
const EVENTS: &[&str] = &[
    "args",
    "acks",
    "client-ack-timeout",
    "rooms",
    "volatile",
    "order",
];
/// Disconnections both ways, closing the connection, automatic reconnection.
const DISCONNECTS: &[&str] = &[
    "disconnect-server",
    "disconnect-client",
    "close",
    "reconnect",
];
/// Several clients: rooms and broadcast reach exactly the right sockets.
const MULTI: &[&str] = &["to-room", "broadcast"];
/// What the python-socketio script covers.
const PYTHON: &[&str] = &[
    "connect-auth",
    "auth-refused",
    "args",
    "acks",
    "disconnect-server",
    "disconnect-client",
];

#[derive(Clone, Copy, Debug)]
enum Runner {
    Node,
    Python,
}

async fn start(msgpack: bool) -> String {
    match spawn_sio_app(msgpack).await {
        Ok(addr) => http_url(addr),
        Err(e) => panic!("cannot start the interop app (msgpack: {msgpack}): {e}"),
    }
}

/// Runs `script` with `--scenario` = `scenarios` over `transports` against a fresh app and
/// returns its result after checking that exactly those scenarios passed.
async fn run(
    runner: Runner,
    script: &str,
    msgpack: bool,
    transports: &str,
    scenarios: &[&str],
) -> Value {
    let url = start(msgpack).await;
    let list = scenarios.join(",");
    let per_scenario = match runner {
        Runner::Node => SCENARIO_TIMEOUT_SECS,
        Runner::Python => SCENARIO_TIMEOUT_SECS + 5,
    };
    let count = u64::try_from(scenarios.len()).unwrap_or(u64::MAX);
    let overall = 10 + per_scenario * count;
    let (per_scenario_arg, overall_arg) = (per_scenario.to_string(), overall.to_string());
    let mut args = vec![
        url.as_str(),
        "--scenario",
        &list,
        "--transports",
        transports,
        "--scenario-timeout",
        &per_scenario_arg,
        "--timeout",
        &overall_arg,
    ];
    if msgpack {
        args.push("--msgpack");
    }
    let hard_timeout = Duration::from_secs(overall + 15);
    let outcome = match runner {
        Runner::Node => run_node(script, &args, hard_timeout).await,
        Runner::Python => run_python(script, &args, hard_timeout).await,
    };
    let result = match outcome {
        Ok(result) => result,
        Err(report) => panic!("{report}"),
    };
    assert_eq!(result["scenarios"], json!(scenarios), "{result}");
    result
}

/// The final transport a client must end on.
fn final_transport(transports: &str) -> &'static str {
    if transports == "polling" {
        "polling"
    } else {
        "websocket"
    }
}

/// Checks a few reported facts of the node scenarios (the script has checked them already;
/// these make the contract visible here).
fn check_node(result: &Value, transports: &str) {
    let r = &result["results"];
    if r.get("connect-auth").is_some() {
        assert_eq!(
            r["connect-auth"]["transport"],
            json!(final_transport(transports)),
            "{result}"
        );
    }
    if r.get("auth-refused").is_some() {
        assert_eq!(
            r["auth-refused"]["refusal"],
            json!({ "message": "unauthorized", "data": { "code": 401 } }),
            "{result}"
        );
    }
    if r.get("connect-timeout").is_some() {
        assert_eq!(
            r["connect-timeout"]["reason"],
            json!("transport close"),
            "{result}"
        );
    }
    if r.get("disconnect-server").is_some() {
        let d = &r["disconnect-server"];
        assert_eq!(d["clientReason"], json!("io server disconnect"), "{result}");
        assert_eq!(
            d["serverReason"],
            json!("server namespace disconnect"),
            "{result}"
        );
    }
    if r.get("disconnect-client").is_some() {
        let d = &r["disconnect-client"];
        assert_eq!(d["clientReason"], json!("io client disconnect"), "{result}");
        assert_eq!(
            d["serverReason"],
            json!("client namespace disconnect"),
            "{result}"
        );
    }
    if r.get("close").is_some() {
        let d = &r["close"];
        assert_eq!(
            d["clientReasons"],
            json!(["io server disconnect", "io server disconnect"]),
            "{result}"
        );
        assert_eq!(
            d["serverReasons"],
            json!(["server namespace disconnect", "server namespace disconnect"]),
            "{result}"
        );
    }
    if r.get("reconnect").is_some() {
        let d = &r["reconnect"];
        assert_eq!(d["clientReason"], json!("forced close"), "{result}");
        assert_eq!(d["serverReason"], json!("transport close"), "{result}");
    }
    if r.get("volatile").is_some() {
        assert_eq!(r["volatile"]["singlesReceived"], json!(3), "{result}");
    }
}

/// One test per (parser, transports, group) of `sio-client.mjs`.
macro_rules! node_client_tests {
    ($($name:ident: $msgpack:literal, $transports:literal, $group:expr;)*) => {$(
        #[tokio::test(flavor = "multi_thread")]
        async fn $name() {
            let result = run(Runner::Node, "sio-client.mjs", $msgpack, $transports, $group).await;
            check_node(&result, $transports);
        }
    )*};
}

node_client_tests! {
    node_json_polling_connect: false, "polling", CONNECT;
    node_json_polling_events: false, "polling", EVENTS;
    node_json_polling_disconnects: false, "polling", DISCONNECTS;
    node_json_websocket_connect: false, "websocket", CONNECT;
    node_json_websocket_events: false, "websocket", EVENTS;
    node_json_websocket_disconnects: false, "websocket", DISCONNECTS;
    node_json_upgrade_connect: false, "polling,websocket", CONNECT;
    node_json_upgrade_events: false, "polling,websocket", EVENTS;
    node_json_upgrade_disconnects: false, "polling,websocket", DISCONNECTS;
    node_msgpack_polling_connect: true, "polling", CONNECT;
    node_msgpack_polling_events: true, "polling", EVENTS;
    node_msgpack_polling_disconnects: true, "polling", DISCONNECTS;
    node_msgpack_websocket_connect: true, "websocket", CONNECT;
    node_msgpack_websocket_events: true, "websocket", EVENTS;
    node_msgpack_websocket_disconnects: true, "websocket", DISCONNECTS;
    node_msgpack_upgrade_connect: true, "polling,websocket", CONNECT;
    node_msgpack_upgrade_events: true, "polling,websocket", EVENTS;
    node_msgpack_upgrade_disconnects: true, "polling,websocket", DISCONNECTS;
}

/// One test per (parser, transports) of `sio-multi.mjs`; `mixed` puts the three clients on
/// polling, websocket and an upgraded connection.
macro_rules! node_multi_tests {
    ($($name:ident: $msgpack:literal, $transports:literal;)*) => {$(
        #[tokio::test(flavor = "multi_thread")]
        async fn $name() {
            let result = run(Runner::Node, "sio-multi.mjs", $msgpack, $transports, MULTI).await;
            let r = &result["results"];
            assert_eq!(r["to-room"]["received"], json!({ "A": 1, "B": 1, "C": 0 }), "{result}");
            assert_eq!(r["broadcast"]["received"], json!({ "A": 0, "B": 1, "C": 1 }), "{result}");
        }
    )*};
}

node_multi_tests! {
    multi_json_polling: false, "polling";
    multi_json_websocket: false, "websocket";
    multi_json_upgrade: false, "polling,websocket";
    multi_json_mixed: false, "mixed";
    multi_msgpack_polling: true, "polling";
    multi_msgpack_websocket: true, "websocket";
    multi_msgpack_upgrade: true, "polling,websocket";
    multi_msgpack_mixed: true, "mixed";
}

/// One test per transport choice of `sio_client.py` (JSON only: msgpack is covered by the npm
/// client; python-socketio's msgpack serializer would need the extra `msgpack` package).
macro_rules! python_tests {
    ($($name:ident: $transports:literal;)*) => {$(
        #[tokio::test(flavor = "multi_thread")]
        async fn $name() {
            let result = run(Runner::Python, "sio_client.py", false, $transports, PYTHON).await;
            let r = &result["results"];
            assert_eq!(r["connect-auth"]["transport"], json!(final_transport($transports)), "{result}");
            assert_eq!(r["args"]["binaryReceivedAs"], json!(["bytes"]), "{result}");
            assert_eq!(r["disconnect-server"]["clientReason"], json!("server disconnect"), "{result}");
            assert_eq!(
                r["disconnect-server"]["serverReason"],
                json!("server namespace disconnect"),
                "{result}"
            );
            assert_eq!(r["disconnect-client"]["clientReason"], json!("client disconnect"), "{result}");
        }
    )*};
}

python_tests! {
    python_polling: "polling";
    python_websocket: "websocket";
    python_upgrade: "polling,websocket";
}
