//! `maplink-worker`: consumes the job queue, runs the coordinates job with a session
//! heartbeat, and runs the scheduled TTL cleanup.

pub mod app;
pub mod cli;
pub mod hand_back;
pub mod heartbeat;
pub mod jobs;
pub mod noop;
pub mod observe;
pub mod progress;
pub mod queue;
pub mod resolve;
pub mod runtime;
pub mod state;

pub use app::Application;
pub use state::WorkerState;
