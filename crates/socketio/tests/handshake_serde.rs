//! `Handshake` travels between servers in the shape of Node's `socket.handshake`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use tower_socketio::Handshake;

#[test]
fn serializes_as_node_does() {
    let mut h = Handshake::default();
    h.headers.insert("host", "127.0.0.1:3000".parse().unwrap());
    h.headers.append("x-many", "a".parse().unwrap());
    h.headers.append("x-many", "b".parse().unwrap());
    h.headers.append("set-cookie", "a=1".parse().unwrap());
    h.headers.append("set-cookie", "b=2".parse().unwrap());
    h.time = "Fri Dec 04 2026 18:50:03 GMT+0000 (Coordinated Universal Time)".into();
    h.address = Some("127.0.0.1:51234".parse().unwrap());
    h.issued = 1_796_410_203_000;
    h.url = "/socket.io/?EIO=4&transport=polling&z=1&a=2&z=3".into();
    for (k, v) in [
        ("EIO", "4"),
        ("transport", "polling"),
        ("z", "3"),
        ("a", "2"),
    ] {
        h.query.insert(k.into(), v.into());
    }
    h.auth = serde_json::json!({"token": "t"});
    let json = serde_json::to_string(&h).unwrap();
    // Keys in Node's order, the query in the URL's order (last value of a repeated key).
    let expected_query = r#""query":{"EIO":"4","transport":"polling","z":"3","a":"2"}"#;
    assert!(json.contains(expected_query), "{json}");
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value["headers"]["x-many"], "a, b");
    assert_eq!(
        value["headers"]["set-cookie"],
        serde_json::json!(["a=1", "b=2"])
    );
    assert_eq!(value["address"], "127.0.0.1");
    assert_eq!(value["issued"], 1_796_410_203_000u64);
    assert_eq!(value["xdomain"], false);

    let back: Handshake = serde_json::from_str(&json).unwrap();
    assert_eq!(back.url, h.url);
    assert_eq!(back.query, h.query);
    assert_eq!(back.issued, h.issued);
    assert_eq!(back.auth, h.auth);
    assert_eq!(back.address.map(|a| a.ip()), h.address.map(|a| a.ip()));
    assert_eq!(back.headers.get_all("set-cookie").iter().count(), 2);
}

#[test]
fn reads_what_node_sends() {
    // A `socket.handshake` as socket.io 4.8 serializes it in a fetchSockets answer.
    let node = r#"{"headers":{"host":"127.0.0.1:4000","connection":"keep-alive","bad header":"x"},
        "time":"Fri Dec 04 2026 18:50:03 GMT+0000 (Coordinated Universal Time)",
        "address":"::ffff:127.0.0.1","xdomain":false,"secure":false,"issued":1796410203123,
        "url":"/socket.io/?EIO=4&transport=websocket","query":{"EIO":"4","transport":"websocket","n":5},
        "auth":{}}"#;
    let h: Handshake = serde_json::from_str(node).unwrap();
    assert_eq!(h.headers.len(), 2, "the invalid header name is skipped");
    assert_eq!(
        h.address.map(|a| a.ip().to_string()).as_deref(),
        Some("::ffff:127.0.0.1")
    );
    assert_eq!(h.query.get("n").map(String::as_str), Some("5"));
    assert_eq!(h.issued, 1_796_410_203_123);
}
