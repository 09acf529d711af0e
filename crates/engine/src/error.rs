//! Engine.IO error responses, with Node's status codes and bodies.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::Full;

/// Engine.IO error codes (`eio/server.ts` `errors`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorCode {
    UnknownTransport = 0,
    UnknownSid = 1,
    BadHandshakeMethod = 2,
    BadRequest = 3,
    Forbidden = 4,
    UnsupportedProtocolVersion = 5,
}

impl ErrorCode {
    fn message(self) -> &'static str {
        match self {
            ErrorCode::UnknownTransport => "Transport unknown",
            ErrorCode::UnknownSid => "Session ID unknown",
            ErrorCode::BadHandshakeMethod => "Bad handshake method",
            ErrorCode::BadRequest => "Bad request",
            ErrorCode::Forbidden => "Forbidden",
            ErrorCode::UnsupportedProtocolVersion => "Unsupported protocol version",
        }
    }
}

/// The response to a handshake refused because the server has `max_sessions` open, or is
/// shutting down: `503` with a JSON body, and `Retry-After`.
pub(crate) fn unavailable(message: &str, is_upgrade: bool) -> Response<Full<Bytes>> {
    let mut res = error_response(ErrorCode::Forbidden, Some(message.to_owned()), is_upgrade);
    *res.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    res.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    res
}

/// The response for a refused request: for HTTP requests a JSON body
/// `{"code":N,"message":"..."}` with status 400 (403 for `Forbidden`); for WebSocket upgrade
/// requests a plain `400` with the message as text, as Node's `abortUpgrade` writes.
pub(crate) fn error_response(
    code: ErrorCode,
    message: Option<String>,
    is_upgrade: bool,
) -> Response<Full<Bytes>> {
    let text = message.unwrap_or_else(|| code.message().to_owned());
    if is_upgrade {
        let mut res = Response::new(Full::new(Bytes::from(text)));
        *res.status_mut() = StatusCode::BAD_REQUEST;
        let h = res.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
        h.insert(header::CONNECTION, HeaderValue::from_static("close"));
        return res;
    }
    let body = format!(
        r#"{{"code":{},"message":{}}}"#,
        code as u8,
        serde_json::Value::String(text)
    );
    let mut res = Response::new(Full::new(Bytes::from(body)));
    *res.status_mut() = if code == ErrorCode::Forbidden {
        StatusCode::FORBIDDEN
    } else {
        StatusCode::BAD_REQUEST
    };
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    res
}
