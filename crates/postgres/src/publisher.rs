//! The publishing connection: `pg_notify`, attachments, the table and its cleanup.

use std::{
    sync::{Arc, Weak},
    time::Duration,
};

use futures_util::future::join_all;
use tokio::sync::mpsc;
use tokio_postgres::{Client, NoTls, Statement};
use tower_socketio_cluster::Message;

use crate::{
    Error, MAX_RECONNECT_DELAY, MIN_RECONNECT_DELAY, PostgresConfig, STATEMENT_TIMEOUT, Shared,
};

/// Most messages published in one pipeline.
const MAX_BATCH: usize = 256;

/// A message ready to go.
enum Outgoing {
    /// `pg_notify(channel, payload)`.
    Notify { channel: String, payload: String },
    /// Stored in the table first, then announced.
    Attachment {
        channel: String,
        uid: String,
        kind: u8,
        payload: Vec<u8>,
    },
}

/// Node's choice: an attachment when the message holds binary data or its JSON reaches the
/// threshold.
fn encode(message: &Message, channel: String, threshold: usize) -> Outgoing {
    let attachment = |message: &Message| Outgoing::Attachment {
        channel: channel.clone(),
        uid: message.uid.clone(),
        kind: message.kind as u8,
        payload: message.to_msgpack(),
    };
    if message.has_binary() {
        return attachment(message);
    }
    let json = message.to_json();
    if json.len() >= threshold {
        return attachment(message);
    }
    match String::from_utf8(json) {
        Ok(payload) => Outgoing::Notify {
            channel: channel.clone(),
            payload,
        },
        Err(_) => attachment(message),
    }
}

/// The announcement of an attachment, as Node writes it (the id as a string: `pg` reads a
/// `bigint` as one).
fn attachment_header(uid: &str, kind: u8, id: i64) -> String {
    #[derive(serde::Serialize)]
    struct Header<'a> {
        uid: &'a str,
        #[serde(rename = "type")]
        kind: u8,
        #[serde(rename = "attachmentId")]
        attachment_id: String,
    }
    serde_json::to_string(&Header {
        uid,
        kind,
        attachment_id: id.to_string(),
    })
    .unwrap_or_default()
}

/// A connection with its prepared statements.
pub(crate) struct Db {
    pg: tokio_postgres::Config,
    table: String,
    create_table: bool,
    conn: Option<Conn>,
}

struct Conn {
    client: Arc<Client>,
    notify: Statement,
    insert: Statement,
}

async fn timed<T>(
    what: impl std::future::Future<Output = Result<T, tokio_postgres::Error>>,
) -> Result<T, Error> {
    match tokio::time::timeout(STATEMENT_TIMEOUT, what).await {
        Ok(result) => Ok(result?),
        Err(_) => Err(Error::Timeout(STATEMENT_TIMEOUT)),
    }
}

/// Connects with `pg` and spawns the connection's driver.
pub(crate) async fn open(pg: &tokio_postgres::Config) -> Result<Client, Error> {
    let (client, connection) = timed(pg.connect(NoTls)).await?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(target: "socketio::postgres", "connection closed: {e}");
        }
    });
    Ok(client)
}

impl Db {
    /// Connects (and creates the table): the adapter's start fails if this does.
    pub(crate) async fn connect(
        pg: tokio_postgres::Config,
        config: &PostgresConfig,
    ) -> Result<Db, Error> {
        let mut db = Db {
            pg,
            table: config.table_name.clone(),
            create_table: config.create_table,
            conn: None,
        };
        db.conn = Some(db.open().await?);
        Ok(db)
    }

    async fn open(&self) -> Result<Conn, Error> {
        let client = open(&self.pg).await?;
        if self.create_table {
            create_table(&client, &self.table).await?;
        }
        let notify = timed(client.prepare("SELECT pg_notify($1, $2)")).await?;
        let insert = timed(client.prepare(&format!(
            "INSERT INTO {} (payload) VALUES ($1) RETURNING id",
            self.table
        )))
        .await?;
        Ok(Conn {
            client: Arc::new(client),
            notify,
            insert,
        })
    }

    /// The connection, reconnected if it was lost.
    async fn conn(&mut self) -> Result<&Conn, Error> {
        if self.conn.as_ref().is_some_and(|c| c.client.is_closed()) {
            self.conn = None;
        }
        if self.conn.is_none() {
            self.conn = Some(self.open().await?);
        }
        self.conn.as_ref().ok_or(Error::Timeout(STATEMENT_TIMEOUT))
    }

    /// Publishes `batch` in order: consecutive notifications pipelined, each in its own
    /// transaction (PostgreSQL folds identical notifications of one transaction).
    async fn publish(&mut self, batch: &[Outgoing]) -> Result<(), Error> {
        let conn = self.conn().await?;
        let mut rest = batch;
        while !rest.is_empty() {
            let notifies = rest
                .iter()
                .take_while(|o| matches!(o, Outgoing::Notify { .. }))
                .count();
            if notifies > 0 {
                let sent = join_all(rest[..notifies].iter().filter_map(|o| {
                    match o {
                        Outgoing::Notify { channel, payload } => Some(
                            conn.client
                                .execute_raw(&conn.notify, [channel.as_str(), payload.as_str()]),
                        ),
                        Outgoing::Attachment { .. } => None,
                    }
                }));
                for result in timed(async { Ok(sent.await) }).await? {
                    result?;
                }
                rest = &rest[notifies..];
                continue;
            }
            if let Some(Outgoing::Attachment {
                channel,
                uid,
                kind,
                payload,
            }) = rest.first()
            {
                let row = timed(conn.client.query_one(&conn.insert, &[payload])).await?;
                let id: i64 = row.try_get(0)?;
                let header = attachment_header(uid, *kind, id);
                timed(conn.client.execute(&conn.notify, &[channel, &header])).await?;
            }
            rest = &rest[1..];
        }
        Ok(())
    }

    /// Deletes the attachments older than `age`.
    async fn cleanup(&mut self, age: Duration) -> Result<(), Error> {
        let ms = age.as_millis();
        let sql = format!(
            "DELETE FROM {} WHERE created_at < now() - interval '{ms} milliseconds'",
            self.table
        );
        let conn = self.conn().await?;
        timed(conn.client.batch_execute(&sql)).await
    }
}

/// `CREATE TABLE IF NOT EXISTS` the table of Node's README. Two nodes starting at once can
/// race on it; the loser checks that the table is there.
async fn create_table(client: &Client, table: &str) -> Result<(), Error> {
    let sql = format!(
        "CREATE TABLE IF NOT EXISTS {table} (\
             id bigserial UNIQUE, \
             created_at timestamptz DEFAULT NOW(), \
             payload bytea)"
    );
    match timed(client.batch_execute(&sql)).await {
        Ok(()) => Ok(()),
        Err(e) => {
            let exists = timed(client.query_one("SELECT to_regclass($1) IS NOT NULL", &[&table]))
                .await
                .ok()
                .and_then(|row| row.try_get::<_, bool>(0).ok())
                .unwrap_or(false);
            if exists { Ok(()) } else { Err(e) }
        }
    }
}

/// Publishes what is queued, in order, in batches; while the database is away, what waited
/// is dropped (one log line per outage). Deletes old attachments every cleanup interval.
pub(crate) async fn publish_task(
    mut db: Db,
    mut queue: mpsc::Receiver<Message>,
    shared: Weak<Shared>,
) {
    let Some((prefix, threshold, cleanup_every)) = shared.upgrade().map(|s| {
        (
            s.config.channel_prefix.clone(),
            s.config.payload_threshold,
            s.config.cleanup_interval,
        )
    }) else {
        return;
    };
    drop(shared);
    let mut cleanup = tokio::time::interval(cleanup_every.max(Duration::from_secs(1)));
    cleanup.tick().await;
    let mut messages = Vec::with_capacity(MAX_BATCH);
    let mut delay = MIN_RECONNECT_DELAY;
    let mut down = false;
    loop {
        tokio::select! {
            n = queue.recv_many(&mut messages, MAX_BATCH) => {
                if n == 0 {
                    return;
                }
                let batch: Vec<Outgoing> = messages
                    .drain(..)
                    .map(|m| {
                        let channel = format!("{prefix}#{}", m.nsp);
                        encode(&m, channel, threshold)
                    })
                    .collect();
                match db.publish(&batch).await {
                    Ok(()) => {
                        if down {
                            tracing::info!(target: "socketio::postgres", "publishing again");
                        }
                        down = false;
                        delay = MIN_RECONNECT_DELAY;
                    }
                    Err(e) => {
                        if !down {
                            tracing::warn!(target: "socketio::postgres", "cannot publish, messages dropped until PostgreSQL is back: {e}");
                        }
                        down = true;
                        db.conn = None;
                        tokio::time::sleep(delay).await;
                        delay = (delay * 2).min(MAX_RECONNECT_DELAY);
                    }
                }
            }
            _ = cleanup.tick() => {
                if let Err(e) = db.cleanup(cleanup_every).await {
                    tracing::debug!(target: "socketio::postgres", "attachments not cleaned up: {e}");
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::panic, reason = "test assertions")]
mod tests {
    use tower_socketio_cluster::{Data, MessageType};

    use super::*;

    fn broadcast(packet: rmpv::Value) -> Message {
        let mut data = Data::default();
        data.packet = Some(packet);
        Message::new(MessageType::Broadcast, Some(data), "0123456789abcdef", "/")
    }

    #[test]
    fn small_text_messages_are_notified_in_json() {
        let m = broadcast(rmpv::Value::from("hi"));
        match encode(&m, "socket.io#/".into(), 8000) {
            Outgoing::Notify { channel, payload } => {
                assert_eq!(channel, "socket.io#/");
                assert_eq!(
                    serde_json::from_str::<serde_json::Value>(&payload).unwrap_or_default(),
                    serde_json::json!({"type": 3, "data": {"packet": "hi"}, "uid": "0123456789abcdef", "nsp": "/"})
                );
            }
            Outgoing::Attachment { .. } => panic!("expected a notification"),
        }
    }

    #[test]
    fn binary_and_large_messages_are_attachments() {
        let binary = broadcast(rmpv::Value::Binary(vec![1, 2]));
        assert!(matches!(
            encode(&binary, "c".into(), 8000),
            Outgoing::Attachment { kind: 3, .. }
        ));
        let large = broadcast(rmpv::Value::from("x".repeat(8000)));
        assert!(matches!(
            encode(&large, "c".into(), 8000),
            Outgoing::Attachment { .. }
        ));
        // Just under the threshold stays a notification.
        let json_len = broadcast(rmpv::Value::from("")).to_json().len();
        let under = broadcast(rmpv::Value::from("x".repeat(8000 - json_len - 1)));
        assert_eq!(under.to_json().len(), 7999);
        assert!(matches!(
            encode(&under, "c".into(), 8000),
            Outgoing::Notify { .. }
        ));
    }

    #[test]
    fn headers_as_node_writes_them() {
        assert_eq!(
            attachment_header("ab", 3, 42),
            r#"{"uid":"ab","type":3,"attachmentId":"42"}"#
        );
    }
}
