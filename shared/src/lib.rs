//! `maplink`: everything the API and the workers share.
//!
//! The domain types, the session store (Redis and SQLite behind one trait), the file
//! store, job payloads, sheet reading/writing, the pure link parser and configuration.
//! Nothing here knows how jobs are queued or run.

pub mod backend;
pub mod cache;
pub mod clock;
pub mod config;
pub mod domain;
pub mod error;
pub mod events;
pub mod export;
pub mod files;
pub mod geo;
pub mod jobs;
pub mod links;
pub mod metrics;
pub mod ops;
pub mod secret;
pub mod session;
pub mod sheet;
pub mod shutdown;
pub mod telemetry;
pub mod text;

pub use error::{Error, Result};
