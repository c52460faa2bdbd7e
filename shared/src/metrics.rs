//! Metric names (the only place they are spelled), their descriptions, and the
//! Prometheus recorder both binaries install.
//!
//! Units are in the names; labels never carry session or job ids, raw paths or other
//! unbounded values (routes are the matched templates, methods and statuses are small
//! sets).

use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
pub use metrics_exporter_prometheus::PrometheusHandle;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};

pub const HTTP_REQUESTS: &str = "maplink_http_requests_total";
pub const HTTP_DURATION: &str = "maplink_http_request_duration_seconds";
pub const UPLOADS: &str = "maplink_uploads_total";
pub const UPLOAD_BYTES: &str = "maplink_upload_bytes_total";
pub const UPLOADS_SPOOLED: &str = "maplink_uploads_spooled_total";
pub const SESSIONS_CREATED: &str = "maplink_sessions_created_total";
pub const SESSIONS: &str = "maplink_sessions";
pub const SESSION_OLDEST_IDLE: &str = "maplink_session_oldest_idle_seconds";
pub const JOBS_ENQUEUED: &str = "maplink_jobs_enqueued_total";
pub const JOBS_STARTED: &str = "maplink_jobs_started_total";
pub const JOBS_COMPLETED: &str = "maplink_jobs_completed_total";
pub const JOBS_FAILED: &str = "maplink_jobs_failed_total";
pub const JOBS_RETRIED: &str = "maplink_jobs_retried_total";
pub const JOB_DURATION: &str = "maplink_job_duration_seconds";
pub const ROWS: &str = "maplink_rows_total";
pub const LINK_RESOLUTIONS: &str = "maplink_link_resolutions_total";
pub const LINK_CACHE_HITS: &str = "maplink_link_cache_hits_total";
pub const QUEUE_DEPTH: &str = "maplink_queue_depth";
pub const QUEUE_OLDEST_PENDING: &str = "maplink_queue_oldest_pending_seconds";
pub const WORKER_HEARTBEATS: &str = "maplink_worker_heartbeats_total";
pub const LIVE_WORKERS: &str = "maplink_live_workers";
pub const SESSIONS_EXPIRED: &str = "maplink_sessions_expired_total";
pub const SESSION_AGE_AT_CLEANUP: &str = "maplink_session_age_at_cleanup_seconds";
pub const CLEANUP_RUNS: &str = "maplink_cleanup_runs_total";
pub const CLEANUP_LAST_RUN: &str = "maplink_cleanup_last_run_timestamp_seconds";
pub const STORE_UP: &str = "maplink_store_up";
pub const STORAGE_ERRORS: &str = "maplink_storage_errors_total";
pub const RATE_LIMIT_FALLBACKS: &str = "maplink_rate_limit_fallbacks_total";

/// Every metric name, for checks that dashboards and alerts only use real ones.
pub const ALL: &[&str] = &[
    HTTP_REQUESTS,
    HTTP_DURATION,
    UPLOADS,
    UPLOAD_BYTES,
    UPLOADS_SPOOLED,
    SESSIONS_CREATED,
    SESSIONS,
    SESSION_OLDEST_IDLE,
    JOBS_ENQUEUED,
    JOBS_STARTED,
    JOBS_COMPLETED,
    JOBS_FAILED,
    JOBS_RETRIED,
    JOB_DURATION,
    ROWS,
    LINK_RESOLUTIONS,
    LINK_CACHE_HITS,
    QUEUE_DEPTH,
    QUEUE_OLDEST_PENDING,
    WORKER_HEARTBEATS,
    LIVE_WORKERS,
    SESSIONS_EXPIRED,
    SESSION_AGE_AT_CLEANUP,
    CLEANUP_RUNS,
    CLEANUP_LAST_RUN,
    STORE_UP,
    STORAGE_ERRORS,
    RATE_LIMIT_FALLBACKS,
];

pub fn describe_all() {
    describe_counter!(
        HTTP_REQUESTS,
        "HTTP requests by matched route, method and status"
    );
    describe_histogram!(
        HTTP_DURATION,
        Unit::Seconds,
        "HTTP request latency by matched route and method"
    );
    describe_counter!(UPLOADS, "Uploads accepted");
    describe_counter!(UPLOAD_BYTES, Unit::Bytes, "Bytes of uploads accepted");
    describe_counter!(
        UPLOADS_SPOOLED,
        "Uploads moved to a temporary file because uploads in flight held max_upload_memory_bytes"
    );
    describe_counter!(SESSIONS_CREATED, "Sessions created");
    describe_counter!(
        STORAGE_ERRORS,
        "Failed requests to the file store (after its own retries) by operation"
    );
    describe_counter!(
        RATE_LIMIT_FALLBACKS,
        "Rate-limited requests counted in the API process because Redis did not answer"
    );
    describe_gauge!(SESSIONS, "Sessions in the store by status");
    describe_gauge!(
        SESSION_OLDEST_IDLE,
        Unit::Seconds,
        "Idle time of the least recently seen session"
    );
    describe_counter!(JOBS_ENQUEUED, "Coordinates jobs enqueued");
    describe_counter!(JOBS_STARTED, "Coordinates jobs started (including re-runs)");
    describe_counter!(JOBS_COMPLETED, "Coordinates jobs that completed");
    describe_counter!(JOBS_FAILED, "Coordinates jobs that failed for good");
    describe_counter!(JOBS_RETRIED, "Coordinates job attempts after the first");
    describe_histogram!(JOB_DURATION, Unit::Seconds, "Coordinates job run time");
    describe_counter!(ROWS, "Rows processed by outcome (success, failed, skipped)");
    describe_counter!(
        LINK_RESOLUTIONS,
        "Online link resolutions by method and outcome"
    );
    describe_counter!(
        LINK_CACHE_HITS,
        "Link resolutions answered from the shared cache"
    );
    describe_gauge!(
        QUEUE_DEPTH,
        "Coordinates jobs by queue state (pending, scheduled, running, dead)"
    );
    describe_gauge!(
        QUEUE_OLDEST_PENDING,
        "How long the oldest pending coordinates job has waited for a worker"
    );
    describe_counter!(
        WORKER_HEARTBEATS,
        "Worker presence heartbeats sent by this process"
    );
    describe_gauge!(LIVE_WORKERS, "Workers whose last heartbeat is recent");
    describe_counter!(SESSIONS_EXPIRED, "Sessions removed by the TTL cleanup");
    describe_histogram!(
        SESSION_AGE_AT_CLEANUP,
        Unit::Seconds,
        "Age of sessions when cleanup removed them"
    );
    describe_counter!(CLEANUP_RUNS, "Cleanup sweeps run by this process");
    describe_gauge!(
        CLEANUP_LAST_RUN,
        Unit::Seconds,
        "Unix time of the last cleanup sweep seen in the store"
    );
    describe_gauge!(
        STORE_UP,
        "1 when the session store answered the last check, else 0"
    );
}

/// Counters that may stay at zero for a long time (failures, retries) are exported
/// from the start, so that dashboards and alerts see a zero rather than no series.
fn register_zeroes() {
    for name in [
        JOBS_ENQUEUED,
        JOBS_STARTED,
        JOBS_COMPLETED,
        JOBS_FAILED,
        JOBS_RETRIED,
        UPLOADS,
        UPLOAD_BYTES,
        UPLOADS_SPOOLED,
        SESSIONS_CREATED,
        SESSIONS_EXPIRED,
        LINK_CACHE_HITS,
        WORKER_HEARTBEATS,
        CLEANUP_RUNS,
        RATE_LIMIT_FALLBACKS,
    ] {
        metrics::counter!(name).increment(0);
    }
    for outcome in ["success", "failed", "skipped"] {
        metrics::counter!(ROWS, "outcome" => outcome).increment(0);
    }
    for operation in crate::files::STORAGE_OPERATIONS {
        metrics::counter!(STORAGE_ERRORS, "operation" => *operation).increment(0);
    }
}

/// Installs the process-wide Prometheus recorder (once; later calls return the same
/// handle) with histogram buckets suited to each histogram.
pub fn install() -> PrometheusHandle {
    static HANDLE: std::sync::OnceLock<PrometheusHandle> = std::sync::OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full(HTTP_DURATION.into()),
                    &[
                        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                    ],
                )
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Full(JOB_DURATION.into()),
                        &[0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 1800.0],
                    )
                })
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Full(SESSION_AGE_AT_CLEANUP.into()),
                        &[
                            60.0, 600.0, 1800.0, 3600.0, 7200.0, 14400.0, 43200.0, 86400.0,
                        ],
                    )
                });
            let handle = match builder.and_then(|b| b.install_recorder()) {
                Ok(h) => h,
                // Another recorder is installed (a test process): render from a private one.
                Err(_) => PrometheusBuilder::new().build_recorder().handle(),
            };
            describe_all();
            register_zeroes();
            handle
        })
        .clone()
}
