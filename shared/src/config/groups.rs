//! The settings by concern, with every period as a [`Duration`]: what the code reads.
//! [`Settings`] stays flat because its field names are the public `MAPLINK_*`
//! variables and configuration-file keys; these views are how callers take them, so
//! no call site converts seconds or milliseconds by hand.

use std::time::Duration;

use super::Settings;

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn millis(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

/// How sessions live and die.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionRules {
    /// Idle time after which a session expires (sliding).
    pub ttl: Duration,
    /// How often the cleanup sweep runs.
    pub cleanup_interval: Duration,
    /// How often a running job refreshes its session.
    pub heartbeat_interval: Duration,
    /// How long an expired session's tombstone is kept (for "expired" answers).
    pub tombstone_ttl: Duration,
}

/// The job queue and the workers that take from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueSettings {
    /// Jobs one worker process runs at once.
    pub concurrency: usize,
    /// How often a delivery's lease is renewed.
    pub heartbeat: Duration,
    /// How long a delivery is held without renewal before another worker takes it:
    /// the heartbeat times the missed heartbeats allowed.
    pub lease: Duration,
    /// How long, and how many, finished jobs are remembered; how many dead ones.
    pub keep_done: Duration,
    pub keep_done_count: u64,
    pub keep_dead_count: u64,
    /// Attempts a job gets before it is dead.
    pub max_attempts: u32,
    /// How long a stopping worker lets running jobs finish.
    pub shutdown_timeout: Duration,
    /// Pause per planned row (rehearsing long runs).
    pub row_delay: Duration,
}

/// What one request, client or upload may cost the API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestLimits {
    pub max_upload_bytes: u64,
    /// Time to send the request head; time to send an upload's body.
    pub header_timeout: Duration,
    pub body_timeout: Duration,
    pub uploads_per_minute: u32,
    pub process_per_minute: u32,
    pub max_event_streams: usize,
    pub max_event_streams_per_client: usize,
    /// How long one event stream stays open.
    pub event_stream_max: Duration,
}

/// Looking links up on the network, and the link cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResolveSettings<'a> {
    pub allowed_hosts: &'a [String],
    pub private_hosts: &'a [String],
    /// One request's time limit; the pause before a retry (doubling).
    pub timeout: Duration,
    pub backoff: Duration,
    pub max_redirects: u32,
    pub max_body_bytes: u64,
    pub attempts: u32,
    pub concurrency: usize,
    pub per_host: usize,
    /// How long a found point, and a link found to have none, are cached.
    pub cache_ttl: Duration,
    pub cache_negative_ttl: Duration,
}

/// Where shared state lives and how long its stores are waited for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoreSettings<'a> {
    pub redis_url: Option<&'a str>,
    /// Time limit of one Redis command or connection attempt (the API fails fast).
    pub redis_timeout: Duration,
    pub storage_url: Option<&'a str>,
    /// How long the object store's client retries a failing request.
    pub storage_retry: Duration,
}

impl Settings {
    pub fn sessions(&self) -> SessionRules {
        SessionRules {
            ttl: secs(self.session_ttl_secs),
            cleanup_interval: secs(self.cleanup_interval_secs),
            heartbeat_interval: secs(self.heartbeat_interval_secs),
            tombstone_ttl: secs(self.tombstone_ttl_secs),
        }
    }

    pub fn queue(&self) -> QueueSettings {
        QueueSettings {
            concurrency: self.worker_concurrency.max(1),
            heartbeat: secs(self.queue_heartbeat_secs),
            lease: secs(
                self.queue_heartbeat_secs
                    .saturating_mul(self.queue_missed_heartbeats as u64),
            ),
            keep_done: secs(self.queue_keep_done_secs),
            keep_done_count: self.queue_keep_done_count,
            keep_dead_count: self.queue_keep_dead_count,
            max_attempts: self.job_max_attempts,
            shutdown_timeout: secs(self.shutdown_timeout_secs),
            row_delay: millis(self.row_delay_ms),
        }
    }

    pub fn limits(&self) -> RequestLimits {
        RequestLimits {
            max_upload_bytes: self.max_upload_bytes,
            header_timeout: secs(self.request_header_timeout_secs),
            body_timeout: secs(self.request_body_timeout_secs),
            uploads_per_minute: self.rate_limit_uploads_per_minute,
            process_per_minute: self.rate_limit_process_per_minute,
            max_event_streams: self.max_event_streams,
            max_event_streams_per_client: self.max_event_streams_per_client,
            event_stream_max: secs(self.event_stream_max_secs),
        }
    }

    pub fn resolve(&self) -> ResolveSettings<'_> {
        ResolveSettings {
            allowed_hosts: &self.resolve_allowed_hosts,
            private_hosts: &self.resolve_private_hosts,
            timeout: millis(self.resolve_timeout_ms),
            backoff: millis(self.resolve_backoff_ms),
            max_redirects: self.resolve_max_redirects,
            max_body_bytes: self.resolve_max_body_bytes,
            attempts: self.resolve_attempts,
            concurrency: self.resolve_concurrency,
            per_host: self.resolve_per_host,
            cache_ttl: secs(self.link_cache_ttl_secs),
            cache_negative_ttl: secs(self.link_cache_negative_ttl_secs),
        }
    }

    pub fn stores(&self) -> StoreSettings<'_> {
        StoreSettings {
            redis_url: self.redis_url.as_deref(),
            redis_timeout: millis(self.redis_timeout_ms),
            storage_url: self.storage_url.as_deref(),
            storage_retry: secs(self.storage_retry_secs),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_groups_carry_the_settings_as_durations() {
        let s = Settings {
            queue_heartbeat_secs: 2,
            queue_missed_heartbeats: 3,
            row_delay_ms: 250,
            session_ttl_secs: 7200,
            resolve_timeout_ms: 1500,
            redis_timeout_ms: 400,
            ..Settings::default()
        };
        assert_eq!(s.queue().lease, Duration::from_secs(6));
        assert_eq!(s.queue().row_delay, Duration::from_millis(250));
        assert_eq!(s.sessions().ttl, Duration::from_secs(7200));
        assert_eq!(s.resolve().timeout, Duration::from_millis(1500));
        assert_eq!(s.stores().redis_timeout, Duration::from_millis(400));
        assert_eq!(
            Settings {
                worker_concurrency: 0,
                ..Settings::default()
            }
            .queue()
            .concurrency,
            1,
            "a worker runs at least one job"
        );
    }
}
