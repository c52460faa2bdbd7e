//! Domain types: session ids, sessions and their status machine, per-row outcomes.

mod id;
mod outcome;
mod session;

pub use id::SessionId;
pub use outcome::{RowOutcome, RowStatus, SKIPPED_COMMENT, SUCCESS_COMMENT};
pub use session::{Counts, FileFormat, Session, SessionStatus, Tombstone, now_ms};
