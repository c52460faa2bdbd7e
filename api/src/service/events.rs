//! Following a session's event log as a stream: what both SSE routes serve.
//!
//! The log is polled (every 200 ms while idle) rather than pushed, so the same code
//! works on Redis and SQLite and across API instances; a reconnecting client passes the
//! last id it saw and gets every later event exactly once. The stream ends after a
//! `complete` or `error` event once no run is active, and refreshes the session while
//! it is open (a client watching progress is a sign of life).

use std::{
    collections::VecDeque,
    time::{Duration, Instant},
};

use futures::Stream;
use maplink::{
    domain::SessionId,
    events::{Event, EventKind},
};
use serde_json::json;

use crate::{error::SESSION_EXPIRED_MESSAGE, state::AppState};

const POLL: Duration = Duration::from_millis(200);
const TOUCH_EVERY: Duration = Duration::from_secs(5);
const BATCH: usize = 200;

/// Events after `after`, until the run ends.
pub fn follow(
    state: AppState,
    id: SessionId,
    after: Option<String>,
) -> impl Stream<Item = Event> + Send + 'static {
    struct Cursor {
        state: AppState,
        id: SessionId,
        last: Option<String>,
        /// A `complete` or `error` was yielded since the last `start`.
        final_seen: bool,
        /// The run number of the last `start` yielded.
        run: Option<u64>,
        queue: VecDeque<Event>,
        touched: Instant,
        done: bool,
    }
    let cursor = Cursor {
        state,
        id,
        last: after,
        final_seen: false,
        run: None,
        queue: VecDeque::new(),
        touched: Instant::now(),
        done: false,
    };
    futures::stream::unfold(cursor, |mut c| async move {
        loop {
            if let Some(event) = c.queue.pop_front() {
                c.last = Some(event.id.clone());
                let run = event.data.get("run").and_then(serde_json::Value::as_u64);
                match event.kind {
                    EventKind::Start => {
                        c.final_seen = false;
                        c.run = run;
                    }
                    // The ending of a run that lost to a newer one (a re-delivered job
                    // finishing late) is not the ending of the run being followed.
                    k if k.is_final() && run.is_some() && c.run.is_some() && run != c.run => {
                        continue;
                    }
                    k if k.is_final() => c.final_seen = true,
                    _ => {}
                }
                return Some((event, c));
            }
            if c.done {
                return None;
            }
            match c
                .state
                .events
                .read_after(c.id, c.last.as_deref(), BATCH)
                .await
            {
                Ok(batch) if !batch.is_empty() => {
                    c.queue.extend(batch);
                    continue;
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(session = %c.id, error = %e, "could not read events"),
            }
            // Nothing new: is the run over, and is the session still there?
            let session = if c.touched.elapsed() >= TOUCH_EVERY {
                c.touched = Instant::now();
                c.state.sessions.touch(c.id).await
            } else {
                c.state.sessions.get(c.id).await
            };
            match session {
                Ok(None) => {
                    c.done = true;
                    c.queue.push_back(Event {
                        id: c.last.clone().unwrap_or_default(),
                        kind: EventKind::Error,
                        data: json!({ "type": "error", "message": SESSION_EXPIRED_MESSAGE }),
                    });
                    continue;
                }
                Ok(Some(s)) if !s.status.is_active() && c.final_seen => return None,
                _ => {}
            }
            tokio::time::sleep(POLL).await;
        }
    })
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
