//! The Redis connections of one server: a publishing connection and a subscribing one, shared
//! by the adapters of all its namespaces.
//!
//! - Publishing goes through a bounded queue to one task that sends whatever is queued as one
//!   pipeline (messages leave in the order they were queued). When the queue is full (Redis
//!   away, or slower than the server), new messages are dropped and counted.
//! - Subscribing is redis-rs' `ConnectionManager` on RESP3: on a lost connection it reconnects
//!   with a capped exponential backoff and re-subscribes everything it had confirmed. A
//!   subscription asked for while Redis is away is retried until Redis confirms it.
//! - Received messages go through a bounded queue to one dispatcher task, which routes them to
//!   the namespace that subscribed, in order.
//!
//! Each outage is logged once when it starts and once when it ends, not once per message.

use std::{
    collections::HashMap,
    sync::{
        Arc, PoisonError, RwLock, Weak,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::Duration,
};

use redis::{
    Client, ProtocolVersion, PushInfo, PushKind, RedisError, Value,
    aio::{ConnectionManager, ConnectionManagerConfig},
};
use tokio::sync::mpsc;

/// The longest wait between two reconnection attempts.
pub(crate) const MAX_RECONNECT_DELAY: Duration = Duration::from_secs(1);
/// The first wait between reconnection attempts.
pub(crate) const MIN_RECONNECT_DELAY: Duration = Duration::from_millis(50);
/// How long one command may take (a publish batch, a `PUBSUB NUMSUB`).
pub(crate) const COMMAND_TIMEOUT: Duration = Duration::from_secs(2);
/// Most messages published in one pipeline.
const MAX_BATCH: usize = 512;

/// What a subscribed channel or pattern is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// Broadcasts (a pattern).
    Broadcast,
    /// Requests of other servers.
    Request,
    /// Responses to this server's requests.
    Response,
}

/// What receives the messages of its channels.
pub(crate) trait Receiver: Send + Sync + 'static {
    /// A message on `channel`, subscribed for `role`.
    fn on_message(self: Arc<Self>, role: Role, channel: &[u8], payload: &[u8]);
    /// Redis confirmed a subscription (the first time, or again after a reconnection).
    fn on_subscribed(&self, role: Role);
    /// The subscribing connection was lost: subscriptions are gone until confirmed again.
    fn on_disconnected(&self);
}

#[derive(Clone)]
struct Route {
    role: Role,
    receiver: Weak<dyn Receiver>,
}

/// Channels and patterns to their receivers.
#[derive(Default)]
struct Router {
    channels: RwLock<HashMap<Vec<u8>, Route>>,
    patterns: RwLock<HashMap<Vec<u8>, Route>>,
}

impl Router {
    fn get(map: &RwLock<HashMap<Vec<u8>, Route>>, key: &[u8]) -> Option<(Role, Arc<dyn Receiver>)> {
        let route = map
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
            .cloned()?;
        Some((route.role, route.receiver.upgrade()?))
    }

    fn all(&self) -> Vec<Arc<dyn Receiver>> {
        let mut out: Vec<Arc<dyn Receiver>> = Vec::new();
        for map in [&self.channels, &self.patterns] {
            for route in map.read().unwrap_or_else(PoisonError::into_inner).values() {
                if let Some(r) = route.receiver.upgrade()
                    && !out.iter().any(|o| Arc::ptr_eq(o, &r))
                {
                    out.push(r);
                }
            }
        }
        out
    }
}

/// A subscription change for the subscribing task.
enum Control {
    Subscribe {
        channels: Vec<String>,
        patterns: Vec<String>,
    },
    Unsubscribe {
        channels: Vec<String>,
        patterns: Vec<String>,
    },
}

/// A message to publish.
struct Outgoing {
    channel: String,
    payload: Vec<u8>,
}

/// The state of the Redis link, for logging transitions once.
#[derive(Default)]
pub(crate) struct Health {
    pub(crate) publish_down: AtomicBool,
    pub(crate) subscribe_down: AtomicBool,
    queue_full: AtomicBool,
    pub(crate) dropped_out: AtomicU64,
    pub(crate) dropped_in: AtomicU64,
    intake_full: AtomicBool,
}

impl Health {
    pub(crate) fn publish_ok(&self) {
        if self.publish_down.swap(false, Ordering::AcqRel) {
            tracing::info!(target: "socketio::redis", dropped = self.dropped_out.load(Ordering::Relaxed), "Redis reachable again: publishing");
        }
        self.queue_full.store(false, Ordering::Release);
    }

    pub(crate) fn publish_failed(&self, error: &dyn std::fmt::Display, lost: usize) {
        self.dropped_out.fetch_add(lost as u64, Ordering::Relaxed);
        if !self.publish_down.swap(true, Ordering::AcqRel) {
            tracing::warn!(target: "socketio::redis", "Redis unreachable ({error}): messages to other servers are dropped until it is back");
        }
    }

    pub(crate) fn queue_overflow(&self) {
        self.dropped_out.fetch_add(1, Ordering::Relaxed);
        if !self.queue_full.swap(true, Ordering::AcqRel) {
            tracing::warn!(target: "socketio::redis", "the queue of messages to Redis is full: messages to other servers are dropped");
        }
    }

    /// Hands a received message to the dispatcher, or drops (and counts) it when the intake
    /// is full. `Err` once the dispatcher is gone.
    pub(crate) fn take_in(&self, tx: &mpsc::Sender<PushInfo>, info: PushInfo) -> Result<(), ()> {
        match tx.try_send(info) {
            Ok(()) => {
                self.intake_full.store(false, Ordering::Release);
                Ok(())
            }
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.dropped_in.fetch_add(1, Ordering::Relaxed);
                if !self.intake_full.swap(true, Ordering::AcqRel) {
                    tracing::warn!(target: "socketio::redis", "messages from other servers arrive faster than they are handled: dropping them");
                }
                Ok(())
            }
            Err(mpsc::error::TrySendError::Closed(_)) => Err(()),
        }
    }

    pub(crate) fn subscription_lost(&self) {
        if !self.subscribe_down.swap(true, Ordering::AcqRel) {
            tracing::warn!(target: "socketio::redis", "lost the Redis subscription connection: reconnecting");
        }
    }

    pub(crate) fn subscription_back(&self) {
        if self.subscribe_down.swap(false, Ordering::AcqRel) {
            tracing::info!(target: "socketio::redis", "Redis subscription connection back: subscribed again");
        }
    }
}

/// Sizes of the queues.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Messages waiting to be published.
    pub(crate) outgoing: usize,
    /// Received messages waiting to be dispatched.
    pub(crate) incoming: usize,
}

/// The connections of one server (see the module documentation).
pub(crate) struct Connections {
    publisher: mpsc::Sender<Outgoing>,
    commands: ConnectionManager,
    control: mpsc::UnboundedSender<Control>,
    router: Arc<Router>,
    health: Arc<Health>,
}

impl std::fmt::Debug for Connections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connections").finish_non_exhaustive()
    }
}

pub(crate) fn manager_config() -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_min_delay(MIN_RECONNECT_DELAY)
        .set_max_delay(MAX_RECONNECT_DELAY)
        .set_number_of_retries(usize::MAX)
        .set_connection_timeout(Some(COMMAND_TIMEOUT))
        .set_response_timeout(Some(COMMAND_TIMEOUT))
}

impl Connections {
    /// Connects both connections (failing if Redis does not answer a `PING` within
    /// [`COMMAND_TIMEOUT`]) and starts the three tasks.
    pub(crate) async fn connect(client: &Client, limits: Limits) -> Result<Arc<Self>, RedisError> {
        let info = client.get_connection_info().clone();
        let resp3 = info
            .redis_settings()
            .clone()
            .set_protocol(ProtocolVersion::RESP3);
        let sub_client = Client::open(info.set_redis_settings(resp3))?;

        let health = Arc::new(Health::default());
        let router = Arc::new(Router::default());
        let (push_tx, push_rx) = mpsc::channel::<PushInfo>(limits.incoming.max(1));
        let intake_health = health.clone();
        let push_sender = move |info: PushInfo| -> Result<(), ()> {
            if info.kind == PushKind::Disconnection {
                // Never lost: the dispatcher must see it to reset the subscriptions.
                let tx = push_tx.clone();
                tokio::spawn(async move {
                    let _ = tx.send(info).await;
                });
                return Ok(());
            }
            intake_health.take_in(&push_tx, info)
        };
        let subscriber = ConnectionManager::new_lazy_with_config(
            sub_client,
            manager_config()
                .set_push_sender(push_sender)
                .set_automatic_resubscription(),
        )?;
        let commands = ConnectionManager::new_lazy_with_config(client.clone(), manager_config())?;
        for conn in [&commands, &subscriber] {
            let mut conn = conn.clone();
            tokio::time::timeout(
                COMMAND_TIMEOUT,
                redis::cmd("PING").query_async::<()>(&mut conn),
            )
            .await
            .map_err(|_| {
                RedisError::from((
                    redis::ErrorKind::Io,
                    "Redis did not answer PING",
                    format!("within {COMMAND_TIMEOUT:?}"),
                ))
            })??;
        }

        let (publisher, outgoing) = mpsc::channel(limits.outgoing.max(1));
        tokio::spawn(publish_task(commands.clone(), outgoing, health.clone()));
        let (control, control_rx) = mpsc::unbounded_channel();
        tokio::spawn(subscribe_task(subscriber, control_rx));
        tokio::spawn(dispatch_task(push_rx, router.clone(), health.clone()));
        Ok(Arc::new(Connections {
            publisher,
            commands,
            control,
            router,
            health,
        }))
    }

    /// Queues `payload` for `channel`. Never waits: drops (and counts) when the queue is full.
    pub(crate) fn publish(&self, channel: String, payload: Vec<u8>) {
        match self.publisher.try_send(Outgoing { channel, payload }) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => self.health.queue_overflow(),
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
    }

    /// `PUBSUB NUMSUB channel`: how many clients subscribed to `channel`. `None` when Redis
    /// does not answer in time, and at once while the subscription connection is down (no
    /// answer could reach this server then).
    pub(crate) async fn numsub(&self, channel: &str) -> Option<usize> {
        if self.health.subscribe_down.load(Ordering::Acquire) {
            return None;
        }
        let mut conn = self.commands.clone();
        let answer = tokio::time::timeout(
            COMMAND_TIMEOUT,
            redis::cmd("PUBSUB")
                .arg("NUMSUB")
                .arg(channel)
                .query_async::<Vec<(String, usize)>>(&mut conn),
        )
        .await;
        match answer {
            Ok(Ok(counts)) => counts.first().map(|(_, n)| *n),
            Ok(Err(e)) => {
                tracing::debug!(target: "socketio::redis", "PUBSUB NUMSUB failed: {e}");
                None
            }
            Err(_) => None,
        }
    }

    /// Routes `channels` and `patterns` to `receiver` and subscribes to them.
    pub(crate) fn subscribe(
        &self,
        receiver: Weak<dyn Receiver>,
        channels: Vec<(String, Role)>,
        patterns: Vec<(String, Role)>,
    ) {
        let route = |role| Route {
            role,
            receiver: receiver.clone(),
        };
        {
            let mut map = self
                .router
                .channels
                .write()
                .unwrap_or_else(PoisonError::into_inner);
            for (c, role) in &channels {
                map.insert(c.clone().into_bytes(), route(*role));
            }
        }
        {
            let mut map = self
                .router
                .patterns
                .write()
                .unwrap_or_else(PoisonError::into_inner);
            for (p, role) in &patterns {
                map.insert(p.clone().into_bytes(), route(*role));
            }
        }
        let _ = self.control.send(Control::Subscribe {
            channels: channels.into_iter().map(|(c, _)| c).collect(),
            patterns: patterns.into_iter().map(|(p, _)| p).collect(),
        });
    }

    /// Stops routing and unsubscribes.
    pub(crate) fn unsubscribe(&self, channels: Vec<String>, patterns: Vec<String>) {
        {
            let mut map = self
                .router
                .channels
                .write()
                .unwrap_or_else(PoisonError::into_inner);
            for c in &channels {
                map.remove(c.as_bytes());
            }
        }
        {
            let mut map = self
                .router
                .patterns
                .write()
                .unwrap_or_else(PoisonError::into_inner);
            for p in &patterns {
                map.remove(p.as_bytes());
            }
        }
        let _ = self
            .control
            .send(Control::Unsubscribe { channels, patterns });
    }

    /// The connection for commands (shared, multiplexed).
    pub(crate) fn commands(&self) -> ConnectionManager {
        self.commands.clone()
    }

    /// Messages dropped so far: (to other servers, from other servers).
    pub(crate) fn dropped(&self) -> (u64, u64) {
        (
            self.health.dropped_out.load(Ordering::Relaxed),
            self.health.dropped_in.load(Ordering::Relaxed),
        )
    }
}

async fn publish_task(
    mut conn: ConnectionManager,
    mut queue: mpsc::Receiver<Outgoing>,
    health: Arc<Health>,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        if health.publish_down.load(Ordering::Acquire) {
            // Redis was away: probe it before sending. While it stays away, what was queued
            // meanwhile is dropped rather than delivered late.
            let ping = redis::cmd("PING");
            let answer = tokio::time::timeout(COMMAND_TIMEOUT, ping.query_async::<()>(&mut conn));
            if !matches!(answer.await, Ok(Ok(()))) {
                let mut lost = batch.len();
                batch.clear();
                while let Ok(m) = queue.try_recv() {
                    drop(m);
                    lost += 1;
                }
                health.dropped_out.fetch_add(lost as u64, Ordering::Relaxed);
                tokio::time::sleep(MIN_RECONNECT_DELAY).await;
                continue;
            }
        }
        let mut pipe = redis::pipe();
        for m in &batch {
            pipe.cmd("PUBLISH").arg(&m.channel).arg(&m.payload).ignore();
        }
        match tokio::time::timeout(COMMAND_TIMEOUT, pipe.query_async::<()>(&mut conn)).await {
            Ok(Ok(())) => health.publish_ok(),
            Ok(Err(e)) => health.publish_failed(&e, batch.len()),
            Err(_) => health.publish_failed(&"no answer in time", batch.len()),
        }
        batch.clear();
    }
}

/// Applies subscription changes in order, retrying each until Redis confirms it.
async fn subscribe_task(
    mut conn: ConnectionManager,
    mut control: mpsc::UnboundedReceiver<Control>,
) {
    while let Some(change) = control.recv().await {
        let mut delay = MIN_RECONNECT_DELAY;
        loop {
            let attempt = async {
                match &change {
                    Control::Subscribe { channels, patterns } => {
                        if !channels.is_empty() {
                            conn.subscribe(channels).await?;
                        }
                        if !patterns.is_empty() {
                            conn.psubscribe(patterns).await?;
                        }
                    }
                    Control::Unsubscribe { channels, patterns } => {
                        if !channels.is_empty() {
                            conn.unsubscribe(channels).await?;
                        }
                        if !patterns.is_empty() {
                            conn.punsubscribe(patterns).await?;
                        }
                    }
                }
                Ok::<(), RedisError>(())
            };
            match tokio::time::timeout(COMMAND_TIMEOUT, attempt).await {
                Ok(Ok(())) => break,
                Ok(Err(e)) => {
                    tracing::debug!(target: "socketio::redis", "subscription change failed, retrying: {e}");
                }
                Err(_) => {
                    tracing::debug!(target: "socketio::redis", "subscription change timed out, retrying");
                }
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(MAX_RECONNECT_DELAY);
        }
    }
}

pub(crate) fn bulk(value: &Value) -> Option<&[u8]> {
    match value {
        Value::BulkString(b) => Some(b),
        Value::SimpleString(s) => Some(s.as_bytes()),
        _ => None,
    }
}

async fn dispatch_task(mut rx: mpsc::Receiver<PushInfo>, router: Arc<Router>, health: Arc<Health>) {
    while let Some(push) = rx.recv().await {
        match push.kind {
            PushKind::Message => {
                if let [channel, payload, ..] = push.data.as_slice()
                    && let (Some(channel), Some(payload)) = (bulk(channel), bulk(payload))
                    && let Some((role, receiver)) = Router::get(&router.channels, channel)
                {
                    receiver.on_message(role, channel, payload);
                }
            }
            PushKind::PMessage => {
                if let [pattern, channel, payload, ..] = push.data.as_slice()
                    && let (Some(pattern), Some(channel), Some(payload)) =
                        (bulk(pattern), bulk(channel), bulk(payload))
                    && let Some((role, receiver)) = Router::get(&router.patterns, pattern)
                {
                    receiver.on_message(role, channel, payload);
                }
            }
            PushKind::Subscribe | PushKind::PSubscribe => {
                health.subscription_back();
                let map = if push.kind == PushKind::Subscribe {
                    &router.channels
                } else {
                    &router.patterns
                };
                if let Some(name) = push.data.first().and_then(bulk)
                    && let Some((role, receiver)) = Router::get(map, name)
                {
                    receiver.on_subscribed(role);
                }
            }
            PushKind::Disconnection => {
                health.subscription_lost();
                for receiver in router.all() {
                    receiver.on_disconnected();
                }
            }
            _ => {}
        }
    }
}
