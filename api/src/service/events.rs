//! Following a session's event log as a stream: what both SSE routes serve.
//!
//! The log is polled rather than pushed, so the same code works on Redis and SQLite and
//! across API instances; a reconnecting client passes the last id it saw and gets every
//! later event exactly once.
//!
//! A stream costs little and ends by itself:
//! - each look reads the session's status, then the log (in that order: a run's ending
//!   is stored before its status changes, so a status that says "no run active" means
//!   the log already holds everything to send);
//! - with no run queued or processing, the stream sends what the log holds after the
//!   client's position and ends; while a run is active it follows until the run ends;
//! - it looks every 200 ms after an event, backing off to every 2 s while nothing
//!   happens, and ends after `event_stream_max_secs` whatever happens (a client then
//!   reconnects with `Last-Event-ID`);
//! - it does not refresh the session: only the request that opened it counts as a read,
//!   so an open stream does not keep an abandoned session alive;
//! - each process holds at most `max_event_streams` open, and each client (an IPv4
//!   address or an IPv6 /64, as for rate limits) at most `max_event_streams_per_client`
//!   ([`StreamSlots`]);
//! - a stopping API ends its streams at once (clients reconnect elsewhere) instead of
//!   holding its shutdown for them.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex},
    time::Duration,
};

use futures::Stream;
use maplink::{
    domain::SessionId,
    events::{Event, EventKind},
};
use serde_json::json;
use tokio::{sync::watch, time::Instant};

use crate::{
    error::{ApiError, SESSION_EXPIRED_MESSAGE},
    limits::Client,
    state::AppState,
};

/// The pause before the next look after events arrived.
const POLL_MIN: Duration = Duration::from_millis(200);
/// The longest pause between looks while nothing happens.
const POLL_MAX: Duration = Duration::from_secs(2);
const BATCH: usize = 200;
/// How often an idle stream sends a comment: that write is how a stream whose client
/// went away is noticed (and its slot freed), so it is kept short.
pub const STREAM_KEEP_ALIVE: Duration = Duration::from_secs(5);

/// Events after `after`: while a run is queued or processing, until it ends; otherwise
/// what the log holds, then the end.
pub fn follow(
    state: AppState,
    id: SessionId,
    after: Option<String>,
    slot: StreamSlot,
) -> impl Stream<Item = Event> + Send + 'static {
    struct Cursor {
        state: AppState,
        id: SessionId,
        last: Option<String>,
        /// The run number of the last `start` yielded.
        run: Option<u64>,
        queue: VecDeque<Event>,
        /// The pause before the next look if it finds nothing.
        poll: Duration,
        deadline: Instant,
        done: bool,
        /// Held for as long as the stream lives; dropping it frees the slot.
        slot: StreamSlot,
    }
    let max = state.settings.limits().event_stream_max;
    let cursor = Cursor {
        state,
        id,
        last: after,
        run: None,
        queue: VecDeque::new(),
        poll: POLL_MIN,
        deadline: Instant::now() + max,
        done: false,
        slot,
    };
    futures::stream::unfold(cursor, |mut c| async move {
        loop {
            if let Some(event) = c.queue.pop_front() {
                c.last = Some(event.id.clone());
                let run = event.data.get("run").and_then(serde_json::Value::as_u64);
                match event.kind {
                    EventKind::Start => c.run = run,
                    // The ending of a run that lost to a newer one (a re-delivered job
                    // finishing late) is not the ending of the run being followed.
                    k if k.is_final() && run.is_some() && c.run.is_some() && run != c.run => {
                        continue;
                    }
                    _ => {}
                }
                return Some((event, c));
            }
            if c.done || Instant::now() >= c.deadline || c.slot.closing() {
                return None;
            }
            // The status first, then the log: see the module doc.
            let active = match c.state.sessions.get(c.id).await {
                Ok(Some(s)) => s.status.is_active(),
                Ok(None) => {
                    c.done = true;
                    c.queue.push_back(Event {
                        id: c.last.clone().unwrap_or_default(),
                        kind: EventKind::Error,
                        data: json!({ "type": "error", "message": SESSION_EXPIRED_MESSAGE }),
                    });
                    continue;
                }
                Err(e) => {
                    tracing::warn!(session = %c.id, error = %e, "could not read the session");
                    true
                }
            };
            match c
                .state
                .events
                .read_after(c.id, c.last.as_deref(), BATCH)
                .await
            {
                Ok(batch) if !batch.is_empty() => {
                    c.queue.extend(batch);
                    c.poll = POLL_MIN;
                    continue;
                }
                Ok(_) if !active => return None,
                Ok(_) => {}
                Err(e) => tracing::warn!(session = %c.id, error = %e, "could not read events"),
            }
            let wake = (Instant::now() + c.poll).min(c.deadline);
            let mut closing = c.slot.closing.clone();
            tokio::select! {
                _ = tokio::time::sleep_until(wake) => {}
                _ = closing.wait_for(|closing| *closing) => return None,
            }
            c.poll = (c.poll * 2).min(POLL_MAX);
        }
    })
}

/// Open event streams, counted per client and in all. Lives in the process: each API
/// instance limits on its own.
pub struct StreamSlots {
    /// One lock for both counts, so a stream is never admitted past either limit by
    /// two requests checking at once; it is held only to count.
    open: Mutex<Open>,
    /// Set once when the process stops: every stream ends at its next look or pause.
    closing: watch::Sender<bool>,
}

impl Default for StreamSlots {
    fn default() -> Self {
        Self {
            open: Mutex::default(),
            closing: watch::channel(false).0,
        }
    }
}

#[derive(Default)]
struct Open {
    total: usize,
    per_client: HashMap<Client, usize>,
}

/// Why a stream was refused (answered as [`ApiError::TooManyStreams`] and
/// [`ApiError::StreamsFull`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// The client holds its share of streams: 429.
    Client { limit: usize },
    /// The process serves as many streams as it may: 503.
    Full,
}

/// One open stream's place; frees itself when dropped (the stream ended, or its
/// client went away).
pub struct StreamSlot {
    slots: Arc<StreamSlots>,
    client: Option<Client>,
    closing: watch::Receiver<bool>,
}

impl StreamSlot {
    fn closing(&self) -> bool {
        *self.closing.borrow()
    }
}

impl StreamSlots {
    /// Takes a place for a stream of `client` (`None` when the peer is unknown: only
    /// the overall limit applies).
    pub fn acquire(
        self: &Arc<Self>,
        client: Option<Client>,
        per_client: usize,
        overall: usize,
    ) -> Result<StreamSlot, Refused> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = client
            && open.per_client.get(&c).copied().unwrap_or(0) >= per_client
        {
            return Err(Refused::Client { limit: per_client });
        }
        if open.total >= overall {
            return Err(Refused::Full);
        }
        open.total += 1;
        if let Some(c) = client {
            *open.per_client.entry(c).or_default() += 1;
        }
        Ok(StreamSlot {
            slots: self.clone(),
            client,
            closing: self.closing.subscribe(),
        })
    }

    /// Ends every open stream (and any opened later): the process is stopping.
    pub fn close_all(&self) {
        self.closing.send_replace(true);
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut open = self.slots.open.lock().unwrap_or_else(|p| p.into_inner());
        open.total = open.total.saturating_sub(1);
        if let Some(c) = self.client
            && let Some(n) = open.per_client.get_mut(&c)
        {
            *n = n.saturating_sub(1);
            // No entry for a client without streams: the map stays as small as the
            // number of clients streaming now.
            if *n == 0 {
                open.per_client.remove(&c);
            }
        }
    }
}

impl From<Refused> for ApiError {
    fn from(refused: Refused) -> Self {
        match refused {
            Refused::Client { limit } => ApiError::TooManyStreams { limit },
            Refused::Full => ApiError::StreamsFull,
        }
    }
}

/// A place for a stream of the client behind `peer` (as rate limits see it: the
/// forwarding address when the peer is a trusted proxy).
pub fn acquire_slot(
    state: &AppState,
    peer: Option<std::net::SocketAddr>,
    headers: &axum::http::HeaderMap,
) -> Result<StreamSlot, Refused> {
    let client = peer.map(|p| {
        Client::from(crate::limits::client_ip(
            p.ip(),
            headers,
            &state.settings.trusted_proxies,
        ))
    });
    state.streams.acquire(
        client,
        state.settings.max_event_streams_per_client,
        state.settings.max_event_streams,
    )
}

/// The id to follow from so that a client sees the current (or last) run from its
/// `start` event: the id just before the last `start`, `None` for the whole log.
pub async fn current_run_start(state: &AppState, id: SessionId) -> maplink::Result<Option<String>> {
    let events = state
        .events
        .read_after(id, None, maplink::events::MAX_EVENTS_PER_SESSION)
        .await?;
    let Some(start) = events.iter().rposition(|e| e.kind == EventKind::Start) else {
        return Ok(events.last().map(|e| e.id.clone()));
    };
    Ok(start.checked_sub(1).map(|i| events[i].id.clone()))
}

/// The id of the newest event in the log, so that a follower sees only what comes next.
pub async fn latest_event_id(state: &AppState, id: SessionId) -> maplink::Result<Option<String>> {
    state.events.last_id(id).await
}
