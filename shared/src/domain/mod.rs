//! Domain types: session ids, sessions and their status machine, per-row outcomes
//! with their reason codes and provenance.

mod filename;
mod id;
mod outcome;
pub mod provenance;
pub mod reason_code;
mod session;

pub use filename::{download_name, sanitize_filename};
pub use id::SessionId;
pub use outcome::{RowOutcome, RowStatus, SKIPPED_COMMENT, SUCCESS_COMMENT};
pub use session::{Counts, FileFormat, Session, SessionStatus, Tombstone, now_ms};
