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
    /// Add the `Source`, `Precision` and `Check` columns to the output sheet.
    ///
    /// An option of the run, so it travels with the run's job: whichever worker takes
    /// the job (or a redelivery, or an operator's retry of the dead job) writes the
    /// same columns, with no field in either session store. Left out of the payload
    /// when false, so a default run's payload is what it was before the option existed
    /// and an older worker reads it unchanged (one that meets `true` ignores it and
    /// writes the default sheet).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub details: bool,
    /// How many times an operator retried this session from the dead list to get this
    /// run: each retry's job carries one more, and past [`ConvertJob::MAX_DEAD_RETRIES`]
    /// the session stays dead. It travels with the job for the same reasons as
    /// `details`, and is left out when 0.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub dead_retries: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl ConvertJob {
    pub const VERSION: u32 = 1;
    /// Retries from the dead list one session may have; a job that dies after them
    /// stays dead (its session failed), so a job that kills its worker cannot be
    /// started again and again.
    pub const MAX_DEAD_RETRIES: u32 = 3;

    pub fn new(session_id: SessionId, run: u32) -> Self {
        Self {
            v: Self::VERSION,
            session_id,
            run,
            details: false,
            dead_retries: 0,
        }
    }

    /// The same job, with or without the details columns.
    pub fn with_details(self, details: bool) -> Self {
        Self { details, ..self }
    }

    /// The job of a new run started by retrying this one from the dead list.
    pub fn dead_retry(&self, run: u32) -> Self {
        Self {
            run,
            dead_retries: self.dead_retries + 1,
            ..self.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_default_payload_is_unchanged_and_details_round_trip() {
        let id = SessionId::random();
        let plain = serde_json::to_value(ConvertJob::new(id, 3)).unwrap();
        assert_eq!(
            plain,
            serde_json::json!({ "v": 1, "session_id": id.to_string(), "run": 3 })
        );
        let detailed = ConvertJob::new(id, 3).with_details(true);
        let text = serde_json::to_string(&detailed).unwrap();
        assert_eq!(serde_json::from_str::<ConvertJob>(&text).unwrap(), detailed);
        assert!(
            !serde_json::from_value::<ConvertJob>(plain.clone())
                .unwrap()
                .details
        );
        assert_eq!(
            serde_json::from_value::<ConvertJob>(plain)
                .unwrap()
                .dead_retries,
            0
        );
        let retried = detailed.dead_retry(4);
        assert_eq!(
            (retried.run, retried.dead_retries, retried.details),
            (4, 1, true)
        );
        let text = serde_json::to_string(&retried).unwrap();
        assert!(text.contains("\"dead_retries\":1"), "{text}");
    }
}
