#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

mod listener;
mod publisher;

use std::{
    collections::{BTreeSet, HashMap},
    fmt,
    sync::{Arc, Mutex, OnceLock, PoisonError, RwLock, Weak},
    time::Duration,
};

use tokio::sync::mpsc;
use tower_socketio::adapter::{Adapter, AdapterFactory, BoxFuture, LocalNamespace};
use tower_socketio_cluster::{
    ClusterAdapter, ClusterOptions, HeartbeatOptions, Message, Transport, WeakClusterAdapter,
    random_id,
};

/// The PostgreSQL client this crate uses (build a [`tokio_postgres::Config`] with it).
pub use tokio_postgres;

/// How long one statement may take before the connection is considered gone.
const STATEMENT_TIMEOUT: Duration = Duration::from_secs(5);
/// Reconnection delays: doubled from the first up to the last.
const MIN_RECONNECT_DELAY: Duration = Duration::from_millis(100);
const MAX_RECONNECT_DELAY: Duration = Duration::from_secs(2);

/// Why the adapter could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// PostgreSQL refused or did not answer.
    #[error("PostgreSQL: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    /// PostgreSQL did not answer in time.
    #[error("PostgreSQL did not answer within {0:?}")]
    Timeout(Duration),
    /// The attachments table's name is not a plain (optionally schema-qualified) identifier.
    #[error("invalid table name {0:?}: letters, digits and `_`, optionally `schema.table`")]
    TableName(String),
}

/// Configuration of a [`PostgresAdapter`], with the defaults of Node's
/// `@socket.io/postgres-adapter` 0.5.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PostgresConfig {
    /// The prefix of the notification channels (`<prefix>#<nsp>`). Default `socket.io`.
    pub channel_prefix: String,
    /// The table for payloads over [`payload_threshold`](Self::payload_threshold) or with
    /// binary data. Default `socket_io_attachments`.
    pub table_name: String,
    /// Payloads of this many bytes or more go through the table (`NOTIFY` takes less than
    /// 8000). Default 8000.
    pub payload_threshold: usize,
    /// How often attachments older than this are deleted. Default 30 s.
    pub cleanup_interval: Duration,
    /// The heartbeat: a node sends one after this long without sending anything. Default 5 s.
    pub heartbeat_interval: Duration,
    /// A node not heard from for this long is considered gone. Default 10 s.
    pub heartbeat_timeout: Duration,
    /// How long requests to the other nodes wait. Default 5 s.
    pub requests_timeout: Duration,
    /// Create the attachments table at start (`CREATE TABLE IF NOT EXISTS`, the table of
    /// Node's README). Default `true`.
    pub create_table: bool,
    /// Most messages waiting to be published; beyond, new ones are dropped. Default 10 000.
    pub max_queued_publishes: usize,
    /// Most notifications waiting to be handled; beyond, new ones are dropped. Default 10 000.
    pub max_queued_notifications: usize,
}

impl Default for PostgresConfig {
    fn default() -> Self {
        PostgresConfig {
            channel_prefix: "socket.io".to_owned(),
            table_name: "socket_io_attachments".to_owned(),
            payload_threshold: 8000,
            cleanup_interval: Duration::from_secs(30),
            heartbeat_interval: Duration::from_secs(5),
            heartbeat_timeout: Duration::from_secs(10),
            requests_timeout: Duration::from_secs(5),
            create_table: true,
            max_queued_publishes: 10_000,
            max_queued_notifications: 10_000,
        }
    }
}

impl PostgresConfig {
    /// Sets [`channel_prefix`](Self::channel_prefix).
    #[must_use]
    pub fn channel_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.channel_prefix = prefix.into();
        self
    }

    /// Sets [`table_name`](Self::table_name).
    #[must_use]
    pub fn table_name(mut self, name: impl Into<String>) -> Self {
        self.table_name = name.into();
        self
    }

    /// Sets [`payload_threshold`](Self::payload_threshold).
    #[must_use]
    pub fn payload_threshold(mut self, bytes: usize) -> Self {
        self.payload_threshold = bytes;
        self
    }

    /// Sets [`heartbeat_interval`](Self::heartbeat_interval) and
    /// [`heartbeat_timeout`](Self::heartbeat_timeout).
    #[must_use]
    pub fn heartbeat(mut self, interval: Duration, timeout: Duration) -> Self {
        self.heartbeat_interval = interval;
        self.heartbeat_timeout = timeout;
        self
    }

    /// Sets [`requests_timeout`](Self::requests_timeout).
    #[must_use]
    pub fn requests_timeout(mut self, timeout: Duration) -> Self {
        self.requests_timeout = timeout;
        self
    }

    /// Sets [`create_table`](Self::create_table).
    #[must_use]
    pub fn create_table(mut self, create: bool) -> Self {
        self.create_table = create;
        self
    }
}

/// The PostgreSQL adapter, wire-compatible with Node's `@socket.io/postgres-adapter` 0.5:
/// every message is a `NOTIFY` on `<prefix>#<nsp>` with the cluster message in JSON; one with
/// binary data or of [`payload_threshold`](PostgresConfig::payload_threshold) bytes or more is
/// stored (msgpack) in the attachments table and announced by `{"uid","type","attachmentId"}`.
/// The nodes know each other by heartbeat (socket.io-adapter's `ClusterAdapterWithHeartbeat`),
/// so Rust and Node nodes agree on the server count.
///
/// Connections: one that `LISTEN`s, one that publishes; both reconnect by themselves.
///
/// ```no_run
/// # async fn f() -> Result<(), tower_socketio_postgres::Error> {
/// use tower_socketio::SocketIo;
/// use tower_socketio_postgres::PostgresAdapter;
///
/// let adapter = PostgresAdapter::connect("postgres://app:secret@127.0.0.1:5432/app").await?;
/// let io = SocketIo::builder().adapter(adapter).build();
/// # drop(io); Ok(()) }
/// ```
#[derive(Clone)]
pub struct PostgresAdapter {
    shared: Arc<Shared>,
}

impl fmt::Debug for PostgresAdapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresAdapter")
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

/// What the listening connection is asked to do.
#[derive(Debug)]
enum Control {
    Listen(String),
    Unlisten(String),
}

struct Shared {
    config: PostgresConfig,
    outgoing: mpsc::Sender<Message>,
    control: mpsc::UnboundedSender<Control>,
    /// The channels listened to (for a new listening connection).
    channels: Mutex<BTreeSet<String>>,
    /// Namespace name to its transport.
    namespaces: RwLock<HashMap<String, Weak<PgTransport>>>,
}

fn valid_table_name(name: &str) -> bool {
    let ident = |s: &str| {
        s.bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    };
    match name.split_once('.') {
        Some((schema, table)) => ident(schema) && ident(table),
        None => ident(name),
    }
}

/// `name` as a quoted SQL identifier.
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

impl PostgresAdapter {
    /// Connects to the database at `url` (`postgres://user:password@host:port/db`, or the
    /// `key=value` form) with the default configuration.
    ///
    /// # Errors
    ///
    /// When the URL is invalid or the database does not answer.
    pub async fn connect(url: &str) -> Result<Self, Error> {
        let pg: tokio_postgres::Config = url.parse()?;
        Self::new(pg, PostgresConfig::default()).await
    }

    /// Connects with `pg` and `config`: the publishing connection first (creating the
    /// attachments table unless told not to), then the listening one, in the background.
    ///
    /// # Errors
    ///
    /// When the database does not answer within 5 seconds, refuses the connection or the
    /// table, or the table name is invalid.
    pub async fn new(pg: tokio_postgres::Config, config: PostgresConfig) -> Result<Self, Error> {
        if !valid_table_name(&config.table_name) {
            return Err(Error::TableName(config.table_name));
        }
        let db = publisher::Db::connect(pg.clone(), &config).await?;
        let (outgoing, queue) = mpsc::channel(config.max_queued_publishes.max(1));
        let (control, control_rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            config,
            outgoing,
            control,
            channels: Mutex::new(BTreeSet::new()),
            namespaces: RwLock::new(HashMap::new()),
        });
        tokio::spawn(publisher::publish_task(db, queue, Arc::downgrade(&shared)));
        tokio::spawn(listener::listen_task(
            pg,
            control_rx,
            Arc::downgrade(&shared),
        ));
        Ok(PostgresAdapter { shared })
    }

    /// The configuration.
    pub fn config(&self) -> &PostgresConfig {
        &self.shared.config
    }
}

impl Shared {
    fn transport(&self, nsp: &str) -> Option<Arc<PgTransport>> {
        self.namespaces
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(nsp)
            .and_then(Weak::upgrade)
    }

    /// Whether `uid` is one of this process's namespaces (its own notifications).
    fn is_own(&self, uid: &str) -> bool {
        self.namespaces
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .filter_map(Weak::upgrade)
            .any(|t| t.uid == uid)
    }

    fn channel(&self, nsp: &str) -> String {
        format!("{}#{nsp}", self.config.channel_prefix)
    }

    fn publish(&self, message: Message) {
        if let Err(mpsc::error::TrySendError::Full(message)) = self.outgoing.try_send(message) {
            tracing::warn!(target: "socketio::postgres", ns = %message.nsp, "publish queue full: message dropped");
        }
    }
}

/// The transport of one namespace.
struct PgTransport {
    shared: Arc<Shared>,
    uid: String,
    channel: String,
    adapter: OnceLock<WeakClusterAdapter>,
    closed: std::sync::atomic::AtomicBool,
}

impl PgTransport {
    fn adapter(&self) -> Option<ClusterAdapter> {
        self.adapter.get().and_then(WeakClusterAdapter::upgrade)
    }
}

impl Transport for PgTransport {
    fn publish(&self, message: Message) -> BoxFuture<Option<String>> {
        self.shared.publish(message);
        Box::pin(async { None })
    }

    fn publish_response(&self, _requester: &str, message: Message) {
        // As Node: responses go to the namespace's channel too.
        self.shared.publish(message);
    }

    fn close(&self) {
        if self.closed.swap(true, std::sync::atomic::Ordering::AcqRel) {
            return;
        }
        if let Some(adapter) = self.adapter() {
            self.shared
                .namespaces
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(adapter.namespace().name());
        }
        self.shared
            .channels
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.channel);
        let _ = self
            .shared
            .control
            .send(Control::Unlisten(self.channel.clone()));
    }
}

impl AdapterFactory for PostgresAdapter {
    fn create_adapter(&self, ns: LocalNamespace) -> Arc<dyn Adapter> {
        let uid = random_id();
        let config = &self.shared.config;
        let channel = self.shared.channel(ns.name());
        let transport = Arc::new(PgTransport {
            shared: self.shared.clone(),
            uid: uid.clone(),
            channel: channel.clone(),
            adapter: OnceLock::new(),
            closed: std::sync::atomic::AtomicBool::new(false),
        });
        let name = ns.name().to_owned();
        // Registered before the adapter announces itself (its initial heartbeat), so the
        // answers find it.
        self.shared
            .namespaces
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(name, Arc::downgrade(&transport));
        self.shared
            .channels
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(channel.clone());
        let _ = self.shared.control.send(Control::Listen(channel));
        let adapter = ClusterAdapter::new(
            ns,
            uid,
            transport.clone(),
            ClusterOptions::default()
                .requests_timeout(config.requests_timeout)
                .heartbeat(Some(
                    HeartbeatOptions::default()
                        .interval(config.heartbeat_interval)
                        .timeout(config.heartbeat_timeout),
                )),
        );
        let _ = transport.adapter.set(adapter.downgrade());
        Arc::new(adapter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names() {
        for ok in ["socket_io_attachments", "app.attachments", "_t1"] {
            assert!(valid_table_name(ok), "{ok}");
        }
        for bad in ["", "1t", "a;drop table x", "a.b.c", "a b", "\"x\"", "a."] {
            assert!(!valid_table_name(bad), "{bad}");
        }
    }

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote_ident("socket.io#/"), "\"socket.io#/\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
    }
}
