//! Tracing: one `socketio.client` span per connection (target `socketio::client`, fields
//! `engine_sid` and `transport`) that follows from the handshake request's span, and one
//! `socketio.socket` span per socket (target `socketio::socket`, fields `sid` and `ns`) inside
//! it; handlers run in the socket's span.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
};

use axum::Router;
use common::{connect, send, session};
use tower_socketio::{Socket, SocketIo, extract::Data};
use tracing::{
    Instrument, Subscriber,
    field::{Field, Visit},
    span::{Attributes, Id, Record},
};
use tracing_subscriber::{Layer, layer::Context, prelude::*, registry::LookupSpan};

#[derive(Debug, Clone)]
struct SpanRecord {
    name: &'static str,
    target: String,
    parent: Option<u64>,
    follows_from: Vec<u64>,
    fields: BTreeMap<String, String>,
}

/// An event's message and the span it was emitted in.
type EventRecord = (String, Option<u64>);

/// Records every span: its name, target, parent, fields (as recorded later too) and
/// follows-from links; and, per event message, the span it was emitted in.
#[derive(Clone, Default)]
struct Recorder {
    spans: Arc<Mutex<BTreeMap<u64, SpanRecord>>>,
    events: Arc<Mutex<Vec<EventRecord>>>,
}

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Recorder {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let parent = match attrs.parent() {
            Some(p) => Some(p.into_u64()),
            None if attrs.is_contextual() => ctx.current_span().id().map(Id::into_u64),
            None => None,
        };
        let mut fields = BTreeMap::new();
        attrs.record(&mut Fields(&mut fields));
        let record = SpanRecord {
            name: attrs.metadata().name(),
            target: attrs.metadata().target().to_owned(),
            parent,
            follows_from: Vec::new(),
            fields,
        };
        self.spans.lock().unwrap().insert(id.into_u64(), record);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, _ctx: Context<'_, S>) {
        if let Some(span) = self.spans.lock().unwrap().get_mut(&id.into_u64()) {
            values.record(&mut Fields(&mut span.fields));
        }
    }

    fn on_follows_from(&self, span: &Id, follows: &Id, _ctx: Context<'_, S>) {
        if let Some(span) = self.spans.lock().unwrap().get_mut(&span.into_u64()) {
            span.follows_from.push(follows.into_u64());
        }
    }

    fn on_event(&self, event: &tracing::Event<'_>, ctx: Context<'_, S>) {
        let mut fields = BTreeMap::new();
        event.record(&mut Fields(&mut fields));
        let span = ctx.current_span().id().map(Id::into_u64);
        let message = fields.remove("message").unwrap_or_default();
        self.events.lock().unwrap().push((message, span));
    }
}

impl Recorder {
    fn find(&self, name: &str) -> Vec<(u64, SpanRecord)> {
        let spans = self.spans.lock().unwrap();
        spans
            .iter()
            .filter(|(_, s)| s.name == name)
            .map(|(id, s)| (*id, s.clone()))
            .collect()
    }
}

#[tokio::test]
async fn client_and_socket_spans_linked_to_the_handshake_request() {
    let recorder = Recorder::default();
    let _guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(recorder.clone()));

    let io = SocketIo::new();
    io.ns("/", |socket: Socket| async move {
        socket.on("hi", |Data(n): Data<u32>| async move {
            tracing::info!(n, "handled hi");
        });
    });
    let app: Router = Router::new().layer(io.layer());

    let request = tracing::info_span!("http.request", path = "/socket.io/");
    let request_id = request.id().expect("enabled").into_u64();
    let client = session(&app).instrument(request).await;
    connect(&app, &client, "/").await;
    assert_eq!(send(&app, "POST", &client, r#"42["hi",7]"#).await, "ok");

    let engine_sid = client.rsplit("sid=").next().unwrap().to_owned();
    let socket = io.of("/").unwrap().sockets().pop().expect("connected");

    let clients = recorder.find("socketio.client");
    assert_eq!(clients.len(), 1, "{clients:?}");
    let (client_id, client_span) = &clients[0];
    assert_eq!(client_span.target, "socketio::client");
    assert_eq!(client_span.fields["engine_sid"], engine_sid);
    assert_eq!(client_span.fields["transport"], "polling");
    assert_eq!(client_span.follows_from, vec![request_id]);

    let sockets = recorder.find("socketio.socket");
    assert_eq!(sockets.len(), 1, "{sockets:?}");
    let (socket_id, socket_span) = &sockets[0];
    assert_eq!(socket_span.target, "socketio::socket");
    assert_eq!(socket_span.parent, Some(*client_id));
    assert_eq!(socket_span.fields["sid"], socket.id().as_str());
    assert_eq!(socket_span.fields["ns"], "/");

    // The event handler ran inside the socket's span.
    let start = std::time::Instant::now();
    loop {
        let events = recorder.events.lock().unwrap().clone();
        if let Some((_, span)) = events.iter().find(|(m, _)| m == "handled hi") {
            assert_eq!(*span, Some(*socket_id), "{events:?}");
            break;
        }
        assert!(
            start.elapsed().as_secs() < 5,
            "the handler never ran: {events:?}"
        );
        tokio::task::yield_now().await;
    }
}
