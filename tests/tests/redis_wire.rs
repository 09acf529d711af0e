//! The classic adapter's wire, seen from a raw Redis connection posing as another node: every
//! request type (the legacy ones Node 8.x no longer sends included), exact response shapes,
//! and garbage on every channel ignored.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use futures_util::StreamExt as _;
use integration_tests::{
    cluster_app::start_rust_node,
    harness::{Client, Harness},
    redis_server::RedisServer,
};
use serde_json::{Value, json};
use tower_socketio_redis::{RedisAdapterConfig, redis};

async fn publish(conn: &mut redis::aio::MultiplexedConnection, channel: &str, payload: &[u8]) {
    redis::cmd("PUBLISH")
        .arg(channel)
        .arg(payload)
        .query_async::<i64>(conn)
        .await
        .unwrap();
}

/// The next message on the subscription, as (channel, payload).
async fn next(sub: &mut redis::aio::PubSub) -> (String, Vec<u8>) {
    let msg = tokio::time::timeout(Duration::from_secs(3), sub.on_message().next())
        .await
        .expect("a response within 3 s")
        .unwrap();
    (
        msg.get_channel_name().to_owned(),
        msg.get_payload_bytes().to_vec(),
    )
}

fn json_of(payload: &[u8]) -> Value {
    assert_eq!(payload.first(), Some(&b'{'), "a JSON response");
    serde_json::from_slice(payload).unwrap()
}

fn msgpack_of(payload: &[u8]) -> rmpv::Value {
    assert_ne!(payload.first(), Some(&b'{'), "a msgpack response");
    rmpv::decode::read_value(&mut &payload[..]).unwrap()
}

fn get<'a>(map: &'a rmpv::Value, key: &str) -> Option<&'a rmpv::Value> {
    map.as_map()?
        .iter()
        .find(|(k, _)| k.as_str() == Some(key))
        .map(|(_, v)| v)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_type_from_a_raw_node() {
    let redis = RedisServer::start().await.unwrap();
    let node = start_rust_node(&redis.url(), RedisAdapterConfig::default())
        .await
        .unwrap();
    let h = Harness::start(60).await.unwrap();
    let (c, id) = Client::connect(&h, "c", &node.url(), "/", json!({}))
        .await
        .unwrap();
    c.call("join", json!(["room"])).await.unwrap();
    c.call("set data", json!([{"k": "v"}])).await.unwrap();

    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let request = "socket.io-request#/#";
    // Garbage everywhere first: ignored, the node carries on.
    for channel in [
        "socket.io#/#",
        "socket.io#/#room#",
        request,
        "socket.io-response#/#",
    ] {
        for junk in [
            &b"\x00\x01garbage"[..],
            b"{not json",
            b"\x93\xa1x",
            b"",
            b"{\"type\":\"x\"}",
        ] {
            publish(&mut conn, channel, junk).await;
        }
    }
    let mut sub = client.get_async_pubsub().await.unwrap();
    sub.subscribe("socket.io-response#/#").await.unwrap();

    // SOCKETS (0, legacy): the ids in the rooms.
    publish(
        &mut conn,
        request,
        br#"{"uid":"raw001","requestId":"r0","type":0,"rooms":["room"]}"#,
    )
    .await;
    let (channel, payload) = next(&mut sub).await;
    assert_eq!(channel, "socket.io-response#/#");
    assert_eq!(
        json_of(&payload),
        json!({"requestId": "r0", "sockets": [id]})
    );

    // ALL_ROOMS (1).
    publish(
        &mut conn,
        request,
        br#"{"uid":"raw001","requestId":"r1","type":1}"#,
    )
    .await;
    let response = json_of(&next(&mut sub).await.1);
    assert_eq!(response["requestId"], "r1");
    let mut rooms: Vec<String> = serde_json::from_value(response["rooms"].clone()).unwrap();
    rooms.sort();
    let mut expected = vec!["room".to_owned(), id.clone()];
    expected.sort();
    assert_eq!(rooms, expected);

    // REMOTE_JOIN (2), legacy single-socket form: answered by the node that has the socket.
    publish(
        &mut conn,
        request,
        format!(r#"{{"requestId":"r2","sid":"{id}","room":"legacy"}}"#)
            .replace("{\"requestId", "{\"type\":2,\"requestId")
            .as_bytes(),
    )
    .await;
    assert_eq!(json_of(&next(&mut sub).await.1), json!({"requestId": "r2"}));
    assert!(
        c.call("whoami", json!([])).await.unwrap()["rooms"]
            .as_array()
            .unwrap()
            .contains(&json!("legacy"))
    );
    // The same for a socket that is not here: no answer (the next answer is r3's).
    publish(
        &mut conn,
        request,
        br#"{"type":2,"requestId":"r2b","sid":"AAAAAAAAAAAAAAAAAAAA","room":"x"}"#,
    )
    .await;

    // REMOTE_LEAVE (3), legacy form.
    publish(
        &mut conn,
        request,
        format!(r#"{{"type":3,"requestId":"r3","sid":"{id}","room":"legacy"}}"#).as_bytes(),
    )
    .await;
    assert_eq!(json_of(&next(&mut sub).await.1), json!({"requestId": "r3"}));
    assert!(
        !c.call("whoami", json!([])).await.unwrap()["rooms"]
            .as_array()
            .unwrap()
            .contains(&json!("legacy"))
    );

    // REMOTE_JOIN with opts (the emitter's form: no uid, no response).
    publish(
        &mut conn,
        request,
        br#"{"type":2,"opts":{"rooms":["room"],"except":[]},"rooms":["a",7]}"#,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let rooms = c.call("whoami", json!([])).await.unwrap()["rooms"].clone();
    assert!(
        rooms.as_array().unwrap().contains(&json!("a"))
            && rooms.as_array().unwrap().contains(&json!("7")),
        "{rooms}"
    );

    // REMOTE_FETCH (5): id, handshake, rooms and data.
    publish(
        &mut conn,
        request,
        br#"{"uid":"raw001","requestId":"r5","type":5,"opts":{"rooms":["room"],"except":[]}}"#,
    )
    .await;
    let response = json_of(&next(&mut sub).await.1);
    assert_eq!(response["requestId"], "r5");
    let socket = &response["sockets"][0];
    assert_eq!(socket["id"], id.as_str());
    assert_eq!(socket["data"], json!({"k": "v"}));
    assert_eq!(socket["handshake"]["query"]["EIO"], "4");
    assert!(socket["handshake"]["headers"]["host"].is_string());
    assert!(socket["handshake"]["issued"].as_u64().unwrap() > 1_700_000_000_000);

    // SERVER_SIDE_EMIT (6) with an ack: one answer on the common channel, JSON.
    publish(
        &mut conn,
        request,
        br#"{"uid":"raw001","requestId":"r6","type":6,"data":["ping",1,"two"]}"#,
    )
    .await;
    assert_eq!(
        json_of(&next(&mut sub).await.1),
        json!({"type": 6, "requestId": "r6", "data": ["pong", 1, "two"]})
    );
    // Without an ack: to the listeners, no answer.
    publish(
        &mut conn,
        request,
        br#"{"uid":"raw001","type":6,"data":["news",{"a":1}]}"#,
    )
    .await;
    let (_, event, args) = node.next_server_side(Duration::from_secs(3)).await.unwrap();
    assert_eq!((event.as_str(), args.clone()), ("ping", json!([1, "two"])));
    let (_, event, args) = node.next_server_side(Duration::from_secs(3)).await.unwrap();
    assert_eq!((event.as_str(), args), ("news", json!([{"a": 1}])));

    // BROADCAST (7) with acks, msgpack: BROADCAST_CLIENT_COUNT (8, JSON) then BROADCAST_ACK
    // (9, msgpack) with the client's first answer.
    let broadcast = rmpv::Value::Map(vec![
        ("uid".into(), "raw001".into()),
        ("requestId".into(), "r7".into()),
        ("type".into(), 7.into()),
        (
            "packet".into(),
            rmpv::Value::Map(vec![
                ("type".into(), 2.into()),
                (
                    "data".into(),
                    rmpv::Value::Array(vec!["ask".into(), rmpv::Value::Binary(vec![9, 9])]),
                ),
                ("nsp".into(), "/".into()),
            ]),
        ),
        (
            "opts".into(),
            rmpv::Value::Map(vec![
                ("rooms".into(), rmpv::Value::Array(vec!["room".into()])),
                ("except".into(), rmpv::Value::Array(vec![])),
                (
                    "flags".into(),
                    rmpv::Value::Map(vec![("timeout".into(), 2000.into())]),
                ),
            ]),
        ),
    ]);
    let mut bytes = Vec::new();
    rmpv::encode::write_value(&mut bytes, &broadcast).unwrap();
    publish(&mut conn, request, &bytes).await;
    assert_eq!(
        json_of(&next(&mut sub).await.1),
        json!({"type": 8, "requestId": "r7", "clientCount": 1})
    );
    let ack = msgpack_of(&next(&mut sub).await.1);
    assert_eq!(get(&ack, "type"), Some(&rmpv::Value::from(9)));
    assert_eq!(get(&ack, "requestId").and_then(|v| v.as_str()), Some("r7"));
    assert_eq!(
        get(&ack, "packet").and_then(|v| v.as_str()),
        Some("c"),
        "the client's name"
    );
    assert_eq!(
        c.next("ask", 3000).await.unwrap(),
        json!([{"$bin": "CQk="}])
    );

    // REMOTE_DISCONNECT (4) with opts.
    publish(
        &mut conn,
        request,
        br#"{"uid":"raw001","type":4,"opts":{"rooms":["a"],"except":[]},"close":false}"#,
    )
    .await;
    assert_eq!(
        c.next("disconnect", 3000).await.unwrap(),
        json!(["io server disconnect"])
    );

    // Responses nobody asked for are ignored; the node still answers.
    publish(
        &mut conn,
        "socket.io-response#/#",
        br#"{"requestId":"nobody","sockets":[]}"#,
    )
    .await;
    let (channel, _) = next(&mut sub).await;
    assert_eq!(
        channel, "socket.io-response#/#",
        "our own publish comes back"
    );
    assert_eq!(node.io.server_count().await, 1);
    node.stop().await;
}
