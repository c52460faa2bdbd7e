//! Job payloads and queue names: what the API enqueues and the workers consume.
//!
//! Payloads are versioned JSON. A worker that meets a payload it cannot decode (an
//! older or newer producer, a hand-edited queue) sends that one job to the dead list
//! and keeps running; see `maplink_worker::queue::source`.

use serde::{Deserialize, Serialize};

use crate::domain::SessionId;

/// The coordinates job's queue.
pub const CONVERT_QUEUE: &str = "maplink-convert";

/// Run the coordinates job for one session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConvertJob {
    /// Payload version; bump on an incompatible change.
    pub v: u32,
    pub session_id: SessionId,
    /// Which run of the session this is (`Session::attempt` when it was enqueued). A
    /// worker that finds the session on a later run drops this one as stale.
    pub run: u32,
}

impl ConvertJob {
    pub const VERSION: u32 = 1;

    pub fn new(session_id: SessionId, run: u32) -> Self {
        Self {
            v: Self::VERSION,
            session_id,
            run,
        }
    }
}
