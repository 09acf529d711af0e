//! The listening connection: `LISTEN` on every namespace's channel, notifications (and their
//! attachments) handed to the namespaces, in order.

use std::sync::{Arc, PoisonError, Weak};

use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio_postgres::{AsyncMessage, Client, NoTls, Notification, Statement};
use tower_socketio_cluster::Message;

use crate::{
    Control, Error, MAX_RECONNECT_DELAY, MIN_RECONNECT_DELAY, STATEMENT_TIMEOUT, Shared,
    quote_ident,
};

/// What a notification announces.
enum Received {
    /// The whole message.
    Message(Box<Message>),
    /// A message stored in the table, by another node.
    Attachment(i64),
    /// Nothing to do (this node's own attachment).
    Nothing,
}

/// Reads a notification's payload: a cluster message in JSON, or the header
/// `{"uid","type","attachmentId"}` of an attachment (its id a string, as Node writes it, or a
/// number).
fn read(payload: &str, is_own: impl Fn(&str) -> bool) -> Result<Received, String> {
    let value: serde_json::Value = serde_json::from_str(payload).map_err(|e| e.to_string())?;
    if let Some(id) = value.get("attachmentId") {
        if value
            .get("uid")
            .and_then(serde_json::Value::as_str)
            .is_some_and(is_own)
        {
            return Ok(Received::Nothing);
        }
        let id = match id {
            serde_json::Value::String(s) => s.parse::<i64>().ok(),
            serde_json::Value::Number(n) => n.as_i64(),
            _ => None,
        };
        return id
            .map(Received::Attachment)
            .ok_or_else(|| format!("invalid attachment id {id:?}"));
    }
    serde_json::from_value(value)
        .map(|m| Received::Message(Box::new(m)))
        .map_err(|e| e.to_string())
}

struct Listening {
    client: Client,
    select: Statement,
    notifications: mpsc::Receiver<Notification>,
}

async fn listen(
    pg: &tokio_postgres::Config,
    table: &str,
    channels: Vec<String>,
    capacity: usize,
) -> Result<Listening, Error> {
    let (client, mut connection) =
        match tokio::time::timeout(STATEMENT_TIMEOUT, pg.connect(NoTls)).await {
            Ok(result) => result?,
            Err(_) => return Err(Error::Timeout(STATEMENT_TIMEOUT)),
        };
    let (tx, notifications) = mpsc::channel(capacity.max(1));
    tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        let mut dropped = 0u64;
        while let Some(message) = messages.next().await {
            match message {
                Ok(AsyncMessage::Notification(n)) => {
                    if tx.try_send(n).is_err() {
                        dropped += 1;
                        if dropped == 1 {
                            tracing::warn!(target: "socketio::postgres", "notification queue full: notifications dropped");
                        }
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::debug!(target: "socketio::postgres", "listening connection closed: {e}");
                    break;
                }
            }
        }
    });
    for channel in channels {
        let sql = format!("LISTEN {}", quote_ident(&channel));
        match tokio::time::timeout(STATEMENT_TIMEOUT, client.batch_execute(&sql)).await {
            Ok(result) => result?,
            Err(_) => return Err(Error::Timeout(STATEMENT_TIMEOUT)),
        }
    }
    let select = match tokio::time::timeout(
        STATEMENT_TIMEOUT,
        client.prepare(&format!("SELECT payload FROM {table} WHERE id = $1")),
    )
    .await
    {
        Ok(result) => result?,
        Err(_) => return Err(Error::Timeout(STATEMENT_TIMEOUT)),
    };
    Ok(Listening {
        client,
        select,
        notifications,
    })
}

/// Handles one notification: reads it (fetching its attachment) and hands it to its namespace.
async fn handle(listening: &Listening, shared: &Arc<Shared>, notification: &Notification) {
    let message = match read(notification.payload(), |uid| shared.is_own(uid)) {
        Ok(Received::Message(m)) => *m,
        Ok(Received::Nothing) => return,
        Ok(Received::Attachment(id)) => {
            let row = tokio::time::timeout(
                STATEMENT_TIMEOUT,
                listening.client.query_opt(&listening.select, &[&id]),
            )
            .await;
            let payload: Option<Vec<u8>> = match row {
                Ok(Ok(Some(row))) => row.try_get(0).ok(),
                Ok(Ok(None)) => {
                    tracing::debug!(target: "socketio::postgres", id, "attachment not found (cleaned up?)");
                    return;
                }
                Ok(Err(e)) => {
                    tracing::debug!(target: "socketio::postgres", id, "attachment not read: {e}");
                    return;
                }
                Err(_) => {
                    tracing::debug!(target: "socketio::postgres", id, "attachment not read in time");
                    return;
                }
            };
            match payload.map(|p| rmp_serde::from_slice::<Message>(&p)) {
                Some(Ok(m)) => m,
                Some(Err(e)) => {
                    tracing::debug!(target: "socketio::postgres", id, "malformed attachment ignored: {e}");
                    return;
                }
                None => return,
            }
        }
        Err(e) => {
            tracing::debug!(target: "socketio::postgres", channel = notification.channel(), "malformed notification ignored: {e}");
            return;
        }
    };
    if let Some(adapter) = shared.transport(&message.nsp).and_then(|t| t.adapter()) {
        adapter.on_message(message, None);
    }
}

/// Keeps a listening connection: (re)connects with a backoff, listens on every channel, hands
/// the notifications over in order, and follows `Listen`/`Unlisten` requests. Ends when the
/// adapter is gone.
pub(crate) async fn listen_task(
    pg: tokio_postgres::Config,
    mut control: mpsc::UnboundedReceiver<Control>,
    shared: Weak<Shared>,
) {
    let mut delay = MIN_RECONNECT_DELAY;
    let mut down = false;
    loop {
        let Some((table, capacity, channels)) = shared.upgrade().map(|s| {
            (
                s.config.table_name.clone(),
                s.config.max_queued_notifications,
                s.channels
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .iter()
                    .cloned()
                    .collect::<Vec<_>>(),
            )
        }) else {
            return;
        };
        // What was asked meanwhile is in `channels` already.
        while control.try_recv().is_ok() {}
        let mut listening = match listen(&pg, &table, channels, capacity).await {
            Ok(l) => l,
            Err(e) => {
                if !down {
                    tracing::warn!(target: "socketio::postgres", "cannot listen, retrying: {e}");
                }
                down = true;
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(MAX_RECONNECT_DELAY);
                continue;
            }
        };
        if down {
            tracing::info!(target: "socketio::postgres", "listening again");
        }
        delay = MIN_RECONNECT_DELAY;
        loop {
            tokio::select! {
                notification = listening.notifications.recv() => {
                    let Some(notification) = notification else {
                        break;
                    };
                    let Some(shared) = shared.upgrade() else {
                        return;
                    };
                    handle(&listening, &shared, &notification).await;
                }
                request = control.recv() => {
                    let sql = match request {
                        Some(Control::Listen(channel)) => format!("LISTEN {}", quote_ident(&channel)),
                        Some(Control::Unlisten(channel)) => format!("UNLISTEN {}", quote_ident(&channel)),
                        None => return,
                    };
                    if listening.client.batch_execute(&sql).await.is_err() {
                        break;
                    }
                }
            }
        }
        tracing::warn!(target: "socketio::postgres", "listening connection lost, reconnecting");
        down = true;
        tokio::time::sleep(delay).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_messages_and_attachment_headers() {
        let own = |uid: &str| uid == "me";
        assert!(matches!(
            read(r#"{"type":3,"data":{"packet":{"type":2,"data":["a"]},"opts":{"rooms":[],"except":[],"flags":{}}},"uid":"x","nsp":"/"}"#, own),
            Ok(Received::Message(m)) if m.nsp == "/" && m.uid == "x"
        ));
        assert!(matches!(
            read(r#"{"uid":"x","type":3,"attachmentId":"17"}"#, own),
            Ok(Received::Attachment(17))
        ));
        assert!(matches!(
            read(r#"{"uid":"x","type":3,"attachmentId":18}"#, own),
            Ok(Received::Attachment(18))
        ));
        assert!(matches!(
            read(r#"{"uid":"me","type":3,"attachmentId":"19"}"#, own),
            Ok(Received::Nothing)
        ));
        for bad in [
            "",
            "[]",
            "{",
            r#"{"uid":"x","attachmentId":"1; drop"}"#,
            r#"{"uid":"x","attachmentId":null}"#,
            r#"{"type":99,"uid":"x"}"#,
        ] {
            assert!(read(bad, own).is_err(), "{bad}");
        }
    }
}
