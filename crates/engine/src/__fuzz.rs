//! Fuzzing entry points (feature `__fuzz`, not a stable API).
//!
//! [`handshake_query`] is the engine's half of the body of the `cargo fuzz` target
//! `handshake_query` of `fuzz/` (the other half is `tower_socketio::__fuzz::handshake_query`),
//! and is also run over the committed corpus by `tests/fuzz_corpus.rs`, on stable.

use crate::engine::Query;
use crate::sid::Sid;

/// Target `handshake_query`, engine side: the input, as text (invalid UTF-8 replaced), is the
/// query string of a request, parsed by the engine's query parser directly and through an
/// `http::Uri` as the service does; the session id and the protocol it names are then read as
/// a request would read them. The input is also read as a JSON session id. Nothing may panic,
/// and the last of repeated parameters wins, as in Node.
pub fn handshake_query(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let query = Query::parse(Some(&text));
    check(&text, &query);
    if let Ok(uri) = http::Uri::try_from(format!("/engine.io/?{text}")) {
        let query = Query::parse(uri.query());
        check(uri.query().unwrap_or_default(), &query);
    }
    let empty = Query::parse(None);
    assert!(empty.eio.is_none() && empty.transport.is_none() && empty.sid.is_none());
    assert!(!empty.b64);
    if let Ok(sid) = serde_json::from_slice::<Sid>(data) {
        let json = serde_json::to_string(&sid).ok();
        let back = json.and_then(|json| serde_json::from_str::<Sid>(&json).ok());
        assert_eq!(back, Some(sid));
    }
}

/// Reads `query` as a request would, and checks it against the parameters of `text`.
fn check(text: &str, query: &Query) {
    let last = |name: &str| {
        form_urlencoded::parse(text.as_bytes())
            .filter(|(key, _)| key == name)
            .last()
            .map(|(_, value)| value.into_owned())
    };
    assert_eq!(query.eio, last("EIO"));
    assert_eq!(query.transport, last("transport"));
    assert_eq!(query.sid, last("sid"));
    assert_eq!(query.b64, last("b64").is_some());
    let _ = format!("{query:?}");
    if let Some(sid) = query.sid.as_deref()
        && let Ok(parsed) = sid.parse::<Sid>()
    {
        assert_eq!(parsed.as_str(), sid);
        assert_eq!(parsed.to_string().parse::<Sid>(), Ok(parsed));
    }
}
