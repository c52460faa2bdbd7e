//! Redis event log: one stream per session, capped with an exact `MAXLEN` (the cap is a
//! byte bound, so it must hold: `MAXLEN ~` could leave up to a node of 100 entries
//! more). Redis frees a stream node's memory once all its entries are trimmed; the
//! budget in [`super`] leaves room for that one partly trimmed node.

use async_trait::async_trait;
use redis::{AsyncCommands, aio::ConnectionManager, streams::StreamRangeReply};

use super::{Event, EventKind, EventLog, MAX_EVENTS_PER_SESSION, fit};
use crate::{Error, Result, domain::SessionId};

fn key(session: SessionId) -> String {
    format!("{{maplink}}:events:{session}")
}

/// A stream id `ms-seq`; anything else is not a valid position.
fn valid_id(id: &str) -> bool {
    let mut parts = id.splitn(2, '-');
    let ok =
        |p: Option<&str>| p.is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    ok(parts.next()) && ok(parts.next())
}

#[derive(Clone)]
pub struct RedisEventLog {
    conn: ConnectionManager,
}

impl RedisEventLog {
    pub fn new(conn: ConnectionManager) -> Self {
        Self { conn }
    }
}

#[async_trait]
impl EventLog for RedisEventLog {
    async fn append(
        &self,
        session: SessionId,
        kind: EventKind,
        data: &serde_json::Value,
    ) -> Result<String> {
        let mut conn = self.conn.clone();
        let id: String = redis::cmd("XADD")
            .arg(key(session))
            .arg("MAXLEN")
            .arg(MAX_EVENTS_PER_SESSION)
            .arg("*")
            .arg("kind")
            .arg(kind.as_str())
            .arg("data")
            .arg(fit(kind, data))
            .query_async(&mut conn)
            .await?;
        Ok(id)
    }

    async fn read_after(
        &self,
        session: SessionId,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Event>> {
        let mut conn = self.conn.clone();
        // `(id` is an exclusive start: the events strictly after the client's last one.
        let start = match after.filter(|a| valid_id(a)) {
            Some(a) => format!("({a}"),
            None => "-".to_owned(),
        };
        let reply: StreamRangeReply = conn
            .xrange_count(key(session), start, "+", limit.max(1))
            .await?;
        let mut events = Vec::with_capacity(reply.ids.len());
        for entry in reply.ids {
            let kind: Option<String> = entry.get("kind");
            let data: Option<String> = entry.get("data");
            let (Some(kind), Some(data)) = (kind.as_deref().and_then(EventKind::parse), data)
            else {
                return Err(Error::Corrupt(format!(
                    "event {} lacks kind or data",
                    entry.id
                )));
            };
            let data = serde_json::from_str(&data).map_err(|e| Error::Corrupt(e.to_string()))?;
            events.push(Event {
                id: entry.id,
                kind,
                data,
            });
        }
        Ok(events)
    }

    async fn last_id(&self, session: SessionId) -> Result<Option<String>> {
        let mut conn = self.conn.clone();
        let reply: StreamRangeReply = conn.xrevrange_count(key(session), "+", "-", 1).await?;
        Ok(reply.ids.into_iter().next().map(|e| e.id))
    }

    async fn delete(&self, session: SessionId) -> Result<()> {
        let mut conn = self.conn.clone();
        conn.del::<_, ()>(key(session)).await?;
        Ok(())
    }
}
