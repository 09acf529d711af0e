//! What every cluster adapter's test checks, on two Rust nodes and a Node.js node of one
//! cluster: rooms, events (binary too), `except`, a socket's own room, fetch-sockets with data,
//! remote joins, server-side emits with acks and broadcasts with acks, in every direction.
#![allow(clippy::unwrap_used, clippy::panic, reason = "test assertions")]

use std::time::Duration;

use serde_json::{Value, json};

use crate::{
    cluster_app::RustNode,
    harness::{Client, Harness},
};

/// Runs the checks with clients of `h`: `ca` on `a`, `cb` on `b` (WebSocket only), `cn` on
/// the Node.js node at `node_url` (driven by `server`). `ca` and `cn` are left in room
/// `game`; the clients are returned, `[ca, cb, cn]`.
pub async fn exercise<'h>(
    a: &RustNode,
    b: &RustNode,
    server: &Harness,
    node_url: &str,
    h: &'h Harness,
) -> [Client<'h>; 3] {
    let (ca, ca_id) = Client::connect(h, "ca", &a.url(), "/", json!({}))
        .await
        .unwrap();
    let (cb, _) = Client::connect(h, "cb", &b.url(), "/", json!({"transports": ["websocket"]}))
        .await
        .unwrap();
    let (cn, cn_id) = Client::connect(h, "cn", node_url, "/", json!({}))
        .await
        .unwrap();
    for (c, name) in [(ca, "ca"), (cb, "cb"), (cn, "cn")] {
        c.call("set data", json!([{ "username": name }]))
            .await
            .unwrap();
    }
    ca.call("join", json!(["game"])).await.unwrap();
    cn.call("join", json!(["game"])).await.unwrap();
    // The dynamic room subscriptions take effect asynchronously.
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Everyone, one room (its own channel in the dynamic modes), except, binary.
    a.io.emit("all", &1).unwrap();
    for c in [ca, cb, cn] {
        assert_eq!(c.next("all", 3000).await.unwrap(), json!([1]), "{}", c.name);
    }
    b.io.to("game")
        .emit("game", &("x", bytes::Bytes::from_static(b"\x01")))
        .unwrap();
    for c in [ca, cn] {
        assert_eq!(
            c.next("game", 3000).await.unwrap(),
            json!(["x", {"$bin": "AQ=="}])
        );
    }
    cb.none("game", 300).await.unwrap();
    server
        .call(
            "server.emit",
            json!({"rooms": ["game"], "except": [cn_id], "event": "from node", "args": [{"k": 2}]}),
        )
        .await
        .unwrap();
    assert_eq!(ca.next("from node", 3000).await.unwrap(), json!([{"k": 2}]));
    cn.none("from node", 300).await.unwrap();
    // A socket's own room (no dynamic channel in the default mode).
    a.io.to(cn_id.as_str()).emit("direct", &()).unwrap();
    assert_eq!(cn.next("direct", 3000).await.unwrap(), json!([]));

    // Fetch with data, both ways.
    let mut names: Vec<String> =
        b.io.fetch_sockets()
            .await
            .iter()
            .map(|s| s.data()["username"].as_str().unwrap().to_owned())
            .collect();
    names.sort();
    assert_eq!(names, ["ca", "cb", "cn"]);
    let fetched = server
        .call("server.fetchSockets", json!({"rooms": ["game"]}))
        .await
        .unwrap();
    let mut ids: Vec<&str> = fetched
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    ids.sort();
    let mut expected = vec![ca_id.as_str(), cn_id.as_str()];
    expected.sort();
    assert_eq!(ids, expected);

    // Remote join and disconnect, both ways.
    server
        .call(
            "server.socketsJoin",
            json!({"rooms": [ca_id], "join": "by-node"}),
        )
        .await
        .unwrap();
    b.io.to(cn_id.as_str()).sockets_join("by-rust");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        ca.call("whoami", json!([])).await.unwrap()["rooms"]
            .as_array()
            .unwrap()
            .contains(&json!("by-node"))
    );
    assert!(
        cn.call("whoami", json!([])).await.unwrap()["rooms"]
            .as_array()
            .unwrap()
            .contains(&json!("by-rust"))
    );

    // Server-side emit with acks, both ways.
    let answers = a.io.server_side_emit_with_ack("ping", &"hi").await.unwrap();
    assert_eq!(answers.len(), 2);
    for answer in &answers {
        assert_eq!(answer.get::<Value>().unwrap(), json!(["pong", "hi"]));
    }
    let answered = server
        .call(
            "server.serverSideEmit",
            json!({"event": "ping", "args": [3], "ack": true}),
        )
        .await
        .unwrap();
    assert_eq!(answered["responses"], json!([["pong", 3], ["pong", 3]]));

    // Broadcast with acks, both ways.
    let acks =
        b.io.broadcast()
            .timeout(Duration::from_secs(3))
            .emit_with_ack("ask", &())
            .await
            .unwrap();
    assert!(acks.is_complete(), "{acks:?}");
    let mut who: Vec<String> = acks
        .remote
        .iter()
        .map(|a| a.get::<String>().unwrap())
        .collect();
    who.sort();
    assert_eq!(who, ["ca", "cn"]);
    let answered = server
        .call(
            "server.emitWithAck",
            json!({"event": "ask", "args": [], "timeoutMs": 3000}),
        )
        .await
        .unwrap();
    assert_eq!(
        answered["responses"].as_array().map(Vec::len),
        Some(3),
        "{answered}"
    );

    [ca, cb, cn]
}
