//! Typed settings: defaults, then an optional TOML file, then `MAPLINK_*` variables.
//!
//! The file uses the same key names as the variables, lower-cased and without the
//! prefix (`session_ttl_secs = 7200` ⇔ `MAPLINK_SESSION_TTL_SECS=7200`). The variable
//! names are a public interface; every key is documented in
//! `deploy/maplink.example.toml`.

use std::{net::SocketAddr, path::PathBuf};

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

mod groups;

pub use groups::{QueueSettings, RequestLimits, ResolveSettings, SessionRules, StoreSettings};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// API listen address; port 0 picks a free port (logged at start).
    pub bind: String,
    /// Files and, in embedded mode, the SQLite database.
    pub data_dir: PathBuf,
    /// Set → distributed mode on that Redis; unset → embedded SQLite.
    pub redis_url: Option<String>,
    /// Where session files live: unset → the local filesystem under `data_dir`;
    /// `s3://bucket/prefix` → S3 or an S3-compatible service, reached with the standard
    /// `AWS_*` environment variables.
    pub storage_url: Option<String>,
    /// How long the object-store client retries a failed request (with backoff)
    /// before the failure is reported: the API then answers 503, a job is retried later.
    pub storage_retry_secs: u64,
    /// How long the API waits for Redis (to connect, or to answer one command) before
    /// it answers 503; it never waits through a reconnect backoff.
    pub redis_timeout_ms: u64,
    pub session_ttl_secs: u64,
    pub cleanup_interval_secs: u64,
    pub heartbeat_interval_secs: u64,
    pub max_upload_bytes: u64,
    /// How long a client may take to send its request headers.
    pub request_header_timeout_secs: u64,
    /// How long a client may take to send an upload's body.
    pub request_body_timeout_secs: u64,
    /// Uploads one client (IP address) may start per minute; 0 = no limit.
    pub rate_limit_uploads_per_minute: u32,
    /// Processing requests one client may make per minute; 0 = no limit.
    pub rate_limit_process_per_minute: u32,
    /// Event streams (SSE) one API process serves at once; beyond, 503.
    pub max_event_streams: usize,
    /// Event streams one client (an IPv4 address, an IPv6 /64) may hold open at once;
    /// beyond, 429.
    pub max_event_streams_per_client: usize,
    /// The longest an event stream stays open; a client then reconnects with
    /// `Last-Event-ID` and resumes where it was.
    pub event_stream_max_secs: u64,
    /// Bearer tokens allowed to use the API; empty = open. With tokens, a session is
    /// visible only to the token that created it.
    pub submitter_tokens: Vec<String>,
    /// Origins allowed to call the API from a browser (CORS); empty = none.
    pub cors_allowed_origins: Vec<String>,
    /// Addresses of reverse proxies whose `X-Forwarded-For` is believed (for rate
    /// limits); empty = limits apply to the peer address.
    pub trusted_proxies: Vec<String>,
    /// Bearer token for `/metrics` and `/api/v1/ops/*` (the `/ops` dashboard's data and
    /// actions); unset = clients on this machine only (closed with submitter tokens).
    pub ops_token: Option<String>,
    /// Largest total size the parts of an .xlsx may unpack to (zip bomb guard), and
    /// the most text one workbook's cells may hold.
    pub max_unpacked_bytes: u64,
    /// Rows of one sheet, header included (an .xlsx holds at most 1,048,576).
    pub max_rows: u64,
    /// Columns of one sheet (an .xlsx holds at most 16,384).
    pub max_columns: u64,
    /// Cells of one workbook, each row counted as wide as its last value.
    pub max_cells: u64,
    /// Uploads the API reads and checks at once (CPU work, on blocking threads); more
    /// wait their turn, up to `sheet_work_queue`, and beyond that get 503.
    pub sheet_work_threads: usize,
    /// Uploads that may wait for a sheet thread; 0 = none wait.
    pub sheet_work_queue: usize,
    /// Bytes all uploads in flight may hold in memory together; an upload whose next
    /// chunk does not fit goes on in a temporary file under `data_dir`.
    pub max_upload_memory_bytes: u64,
    /// Uploads one client (an IPv4 address, an IPv6 /64) may send at once; beyond,
    /// 429. 0 = no limit.
    pub max_uploads_per_client: usize,
    /// Live sessions the service keeps at most; uploads beyond get 503. 0 = no limit.
    pub max_sessions: u64,
    /// Bytes of session files the service keeps at most; uploads beyond get 503.
    /// 0 = no limit.
    pub max_stored_bytes: u64,
    pub worker_metrics_bind: String,
    pub log_format: LogFormat,
    /// Jobs one worker process runs at once.
    pub worker_concurrency: usize,
    /// How often a worker renews the leases of the jobs it runs.
    pub queue_heartbeat_secs: u64,
    /// Missed renewals after which a worker's jobs are handed to another worker (the
    /// lease is `queue_heartbeat_secs × queue_missed_heartbeats`).
    pub queue_missed_heartbeats: usize,
    /// How long the queue remembers a done job.
    pub queue_keep_done_secs: u64,
    /// At most this many done jobs are remembered (0: none).
    pub queue_keep_done_count: u64,
    /// At most this many dead jobs are kept for an operator, newest first.
    pub queue_keep_dead_count: u64,
    /// Runs of one job before it is given up and marked failed.
    pub job_max_attempts: u32,
    /// How long a stopping worker waits for its jobs before handing them back.
    pub shutdown_timeout_secs: u64,
    /// How long the service remembers that an expired session existed.
    pub tombstone_ttl_secs: u64,
    /// Pause after each row of a job, in milliseconds (0 = none). Meant for rehearsing
    /// long runs (heartbeats, kill tests) in staging; leave at 0 in production.
    pub row_delay_ms: u64,
    /// Hosts the network tier may fetch (a host matches an entry equal to it or ending
    /// in `.<entry>`). Everything else is refused.
    pub resolve_allowed_hosts: Vec<String>,
    /// Hosts the network tier may reach at private, loopback or link-local addresses
    /// (an internal map service, a test server); `*` means any host. Empty by default:
    /// short links must not reach internal services.
    pub resolve_private_hosts: Vec<String>,
    /// Per-request timeout of the network tier.
    pub resolve_timeout_ms: u64,
    pub resolve_max_redirects: u32,
    /// Largest response body read when scraping a map page.
    pub resolve_max_body_bytes: u64,
    /// Tries per link for transient network failures (timeouts, 5xx, 429).
    pub resolve_attempts: u32,
    /// First retry delay; doubled for each further retry.
    pub resolve_backoff_ms: u64,
    /// Links one job resolves at once.
    pub resolve_concurrency: usize,
    /// Requests one worker process sends to one host at once.
    pub resolve_per_host: usize,
    /// Google Places API key; unset disables the place-name search.
    pub places_api_key: Option<String>,
    /// Base URL of the Places API (or a compatible service).
    pub places_base_url: String,
    /// How long a resolved link is remembered (shared by all workers).
    pub link_cache_ttl_secs: u64,
    /// How long a link that could not be resolved is remembered.
    pub link_cache_negative_ttl_secs: u64,
    /// Base URL of a Nominatim-compatible address search for rows with no link but an
    /// address or a name (`https://nominatim.openstreetmap.org`); unset = off.
    pub geocode_url: Option<String>,
    /// Address searches one worker process sends per second at most (all its jobs
    /// together; each process has its own limit). 1 is the public Nominatim's maximum.
    pub geocode_rate_per_sec: u32,
    /// The `User-Agent` of address searches. The public Nominatim requires one that
    /// identifies the application and its operator: set a real contact.
    pub geocode_user_agent: String,
    /// ISO 3166-1 alpha-2 codes the address search is limited to; empty = worldwide.
    pub geocode_countrycodes: Vec<String>,
    /// Tile URL template of the web page's map: an `https://` or `http://` URL with
    /// `{z}`, `{x}` and `{y}` (and `{s}.` before the host for a server's subdomains).
    /// Empty = no tiles: the map draws its bundled country outlines only. The page's
    /// content security policy lets images come from this origin ([`Settings::map_tile_origin`]).
    pub map_tile_url: String,
    /// The tiles' attribution, shown in the map's corner: text and `<a href="https://…">`
    /// links (the page keeps only those; anything else shows as its text).
    pub map_tile_attribution: String,
    /// Most located rows the page's map draws; a larger run shows a note pointing to
    /// the GeoJSON download instead of loading every point into the browser.
    pub map_max_points: u64,
}

/// Map and short-link domains the network tier may fetch by default.
pub const DEFAULT_ALLOWED_HOSTS: &[&str] = &[
    "goo.gl",
    "g.co",
    "google.com",
    "google.co.za",
    "google.co.uk",
    "google.de",
    "google.fr",
    "google.es",
    "google.it",
    "google.nl",
    "google.com.au",
    "google.ca",
    "googleapis.com",
    "maps.apple.com",
    "openstreetmap.org",
    "osm.org",
    "bing.com",
];

/// OpenStreetMap's standard tile layer. Its usage policy allows light use such as one
/// page's results map, with the attribution below.
pub const DEFAULT_MAP_TILE_URL: &str = "https://tile.openstreetmap.org/{z}/{x}/{y}.png";

pub const DEFAULT_MAP_TILE_ATTRIBUTION: &str =
    "© <a href=\"https://www.openstreetmap.org/copyright\">OpenStreetMap</a> contributors";

/// Names the application and says that nobody set a contact; operators of a public
/// service must replace it (`geocode_user_agent`).
pub const DEFAULT_GEOCODE_USER_AGENT: &str = concat!(
    "maplink/",
    env!("CARGO_PKG_VERSION"),
    " (self-hosted; no contact configured)"
);

impl Default for Settings {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("./data"),
            redis_url: None,
            storage_url: None,
            storage_retry_secs: 10,
            redis_timeout_ms: 500,
            session_ttl_secs: 7200,
            cleanup_interval_secs: 60,
            heartbeat_interval_secs: 5,
            max_upload_bytes: 16 * 1024 * 1024,
            max_unpacked_bytes: 256 * 1024 * 1024,
            max_rows: 1_048_576,
            max_columns: 1_024,
            max_cells: 5_000_000,
            sheet_work_threads: 2,
            sheet_work_queue: 16,
            max_upload_memory_bytes: 64 * 1024 * 1024,
            max_uploads_per_client: 4,
            max_sessions: 100_000,
            max_stored_bytes: 20 * 1024 * 1024 * 1024,
            request_header_timeout_secs: 10,
            request_body_timeout_secs: 120,
            rate_limit_uploads_per_minute: 30,
            rate_limit_process_per_minute: 60,
            max_event_streams: 1_000,
            max_event_streams_per_client: 8,
            event_stream_max_secs: 1_800,
            submitter_tokens: Vec::new(),
            cors_allowed_origins: Vec::new(),
            ops_token: None,
            trusted_proxies: Vec::new(),
            worker_metrics_bind: "127.0.0.1:9464".into(),
            log_format: LogFormat::Text,
            worker_concurrency: 4,
            queue_heartbeat_secs: 2,
            queue_missed_heartbeats: 3,
            queue_keep_done_secs: 3600,
            queue_keep_done_count: 10_000,
            queue_keep_dead_count: 1000,
            job_max_attempts: 3,
            shutdown_timeout_secs: 30,
            tombstone_ttl_secs: 86_400,
            row_delay_ms: 0,
            resolve_allowed_hosts: DEFAULT_ALLOWED_HOSTS
                .iter()
                .map(|h| (*h).to_owned())
                .collect(),
            resolve_private_hosts: Vec::new(),
            resolve_timeout_ms: 10_000,
            resolve_max_redirects: 10,
            resolve_max_body_bytes: 2 * 1024 * 1024,
            resolve_attempts: 3,
            resolve_backoff_ms: 250,
            resolve_concurrency: 32,
            resolve_per_host: 16,
            places_api_key: None,
            places_base_url: "https://maps.googleapis.com".into(),
            link_cache_ttl_secs: 30 * 86_400,
            link_cache_negative_ttl_secs: 3_600,
            geocode_url: None,
            geocode_rate_per_sec: 1,
            geocode_user_agent: DEFAULT_GEOCODE_USER_AGENT.into(),
            geocode_countrycodes: Vec::new(),
            map_tile_url: DEFAULT_MAP_TILE_URL.into(),
            map_tile_attribution: DEFAULT_MAP_TILE_ATTRIBUTION.into(),
            map_max_points: 20_000,
        }
    }
}

/// Keys whose values are secrets: never printed.
const SECRET_KEYS: &[&str] = &["places_api_key", "ops_token", "submitter_tokens"];

/// Settings as an operator may see them in a log line: secrets replaced, and the
/// password of a Redis URL (`redis://:password@host`) with them.
impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut table = toml::Table::try_from(self).map_err(|_| std::fmt::Error)?;
        for key in SECRET_KEYS {
            if let Some(value) = table.get_mut(*key) {
                *value = toml::Value::String("[redacted]".into());
            }
        }
        if let Some(toml::Value::String(url)) = table.get_mut("redis_url")
            && let Some((scheme, rest)) = url.split_once("://")
            && let Some((_, host)) = rest.rsplit_once('@')
        {
            *url = format!("{scheme}://[redacted]@{host}");
        }
        write!(
            f,
            "Settings {{ {} }}",
            table.to_string().trim().replace('\n', ", ")
        )
    }
}

/// How a variable's text becomes a TOML value.
#[derive(Clone, Copy)]
enum Kind {
    Text,
    Integer,
    /// Comma-separated.
    List,
}

/// Every key, with its variable `MAPLINK_<KEY>`.
const KEYS: &[(&str, Kind)] = &[
    ("bind", Kind::Text),
    ("data_dir", Kind::Text),
    ("redis_url", Kind::Text),
    ("storage_url", Kind::Text),
    ("storage_retry_secs", Kind::Integer),
    ("redis_timeout_ms", Kind::Integer),
    ("session_ttl_secs", Kind::Integer),
    ("cleanup_interval_secs", Kind::Integer),
    ("heartbeat_interval_secs", Kind::Integer),
    ("max_upload_bytes", Kind::Integer),
    ("max_unpacked_bytes", Kind::Integer),
    ("max_rows", Kind::Integer),
    ("max_columns", Kind::Integer),
    ("max_cells", Kind::Integer),
    ("sheet_work_threads", Kind::Integer),
    ("sheet_work_queue", Kind::Integer),
    ("max_upload_memory_bytes", Kind::Integer),
    ("max_uploads_per_client", Kind::Integer),
    ("max_sessions", Kind::Integer),
    ("max_stored_bytes", Kind::Integer),
    ("request_header_timeout_secs", Kind::Integer),
    ("request_body_timeout_secs", Kind::Integer),
    ("rate_limit_uploads_per_minute", Kind::Integer),
    ("rate_limit_process_per_minute", Kind::Integer),
    ("max_event_streams", Kind::Integer),
    ("max_event_streams_per_client", Kind::Integer),
    ("event_stream_max_secs", Kind::Integer),
    ("submitter_tokens", Kind::List),
    ("cors_allowed_origins", Kind::List),
    ("ops_token", Kind::Text),
    ("trusted_proxies", Kind::List),
    ("worker_metrics_bind", Kind::Text),
    ("log_format", Kind::Text),
    ("worker_concurrency", Kind::Integer),
    ("queue_heartbeat_secs", Kind::Integer),
    ("queue_missed_heartbeats", Kind::Integer),
    ("queue_keep_done_secs", Kind::Integer),
    ("queue_keep_done_count", Kind::Integer),
    ("queue_keep_dead_count", Kind::Integer),
    ("job_max_attempts", Kind::Integer),
    ("shutdown_timeout_secs", Kind::Integer),
    ("tombstone_ttl_secs", Kind::Integer),
    ("row_delay_ms", Kind::Integer),
    ("resolve_allowed_hosts", Kind::List),
    ("resolve_private_hosts", Kind::List),
    ("resolve_timeout_ms", Kind::Integer),
    ("resolve_max_redirects", Kind::Integer),
    ("resolve_max_body_bytes", Kind::Integer),
    ("resolve_attempts", Kind::Integer),
    ("resolve_backoff_ms", Kind::Integer),
    ("resolve_concurrency", Kind::Integer),
    ("resolve_per_host", Kind::Integer),
    ("places_api_key", Kind::Text),
    ("places_base_url", Kind::Text),
    ("link_cache_ttl_secs", Kind::Integer),
    ("link_cache_negative_ttl_secs", Kind::Integer),
    ("geocode_url", Kind::Text),
    ("geocode_rate_per_sec", Kind::Integer),
    ("geocode_user_agent", Kind::Text),
    ("geocode_countrycodes", Kind::List),
    ("map_tile_url", Kind::Text),
    ("map_tile_attribution", Kind::Text),
    ("map_max_points", Kind::Integer),
];

/// Every setting as a line of the binaries' `--help`: its variable and its default
/// (the README's table says what each is for).
pub fn variables_help() -> String {
    use std::fmt::Write;

    let defaults = toml::Table::try_from(Settings::default()).unwrap_or_default();
    let var = |key: &str| format!("MAPLINK_{}", key.to_ascii_uppercase());
    let width = KEYS
        .iter()
        .map(|(key, _)| var(key).len())
        .max()
        .unwrap_or(0);
    let mut text = String::from(
        "Settings: defaults, then the --config file, then these variables (default shown):\n",
    );
    for (key, _) in KEYS {
        let default = match defaults.get(*key) {
            None => "(unset)".to_owned(),
            Some(toml::Value::String(s)) if s.is_empty() => "(empty)".to_owned(),
            Some(toml::Value::String(s)) => s.clone(),
            Some(toml::Value::Array(items)) if items.is_empty() => "(none)".to_owned(),
            Some(toml::Value::Array(items)) => items
                .iter()
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                .collect::<Vec<_>>()
                .join(","),
            Some(other) => other.to_string(),
        };
        let _ = writeln!(text, "  {:<width$}  {default}", var(key));
    }
    text
}

impl Settings {
    /// Defaults, then the file named by `config_file` or `MAPLINK_CONFIG`, then the
    /// `MAPLINK_*` variables of the process environment.
    pub fn load(config_file: Option<PathBuf>) -> Result<Self> {
        let file = config_file.or_else(|| std::env::var_os("MAPLINK_CONFIG").map(PathBuf::from));
        Self::load_from(file, |name| std::env::var(name).ok())
    }

    /// [`Settings::load`] with the environment supplied by the caller (tests).
    pub fn load_from(
        config_file: Option<PathBuf>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self> {
        let mut table = match &config_file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
                text.parse::<toml::Table>()
                    .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?
            }
            None => toml::Table::new(),
        };
        for (key, kind) in KEYS {
            let var = format!("MAPLINK_{}", key.to_ascii_uppercase());
            let Some(text) = env(&var) else { continue };
            let value = match kind {
                Kind::Text => toml::Value::String(text),
                Kind::Integer => text
                    .trim()
                    .parse::<i64>()
                    .map(toml::Value::Integer)
                    .map_err(|_| Error::Config(format!("{var}={text:?} is not a whole number")))?,
                Kind::List => toml::Value::Array(
                    text.split(',')
                        .map(str::trim)
                        .filter(|h| !h.is_empty())
                        .map(|h| toml::Value::String(h.to_owned()))
                        .collect(),
                ),
            };
            table.insert((*key).to_owned(), value);
        }
        for optional in [
            "redis_url",
            "storage_url",
            "places_api_key",
            "ops_token",
            "geocode_url",
        ] {
            if table.get(optional).and_then(|v| v.as_str()) == Some("") {
                table.remove(optional);
            }
        }
        let settings: Settings = table
            .try_into()
            .map_err(|e: toml::de::Error| Error::Config(e.message().to_owned()))?;
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Config(m));
        if self.bind.parse::<SocketAddr>().is_err() {
            return bad(format!(
                "bind {:?} is not an address like 127.0.0.1:8080",
                self.bind
            ));
        }
        if self.worker_metrics_bind.parse::<SocketAddr>().is_err() {
            return bad(format!(
                "worker_metrics_bind {:?} is not an address",
                self.worker_metrics_bind
            ));
        }
        if self.redis_timeout_ms == 0 {
            return bad("redis_timeout_ms must be at least 1".into());
        }
        if self.max_event_streams == 0
            || self.max_event_streams_per_client == 0
            || self.event_stream_max_secs == 0
        {
            return bad("max_event_streams, max_event_streams_per_client and event_stream_max_secs must be at least 1".into());
        }
        if self.session_ttl_secs == 0 || self.cleanup_interval_secs == 0 {
            return bad("session_ttl_secs and cleanup_interval_secs must be at least 1".into());
        }
        // A heartbeat at or beyond the TTL would let a running job's session expire.
        if self.heartbeat_interval_secs == 0
            || self.heartbeat_interval_secs >= self.session_ttl_secs
        {
            return bad(format!(
                "heartbeat_interval_secs ({}) must be at least 1 and below session_ttl_secs ({})",
                self.heartbeat_interval_secs, self.session_ttl_secs
            ));
        }
        if self.request_header_timeout_secs == 0 || self.request_body_timeout_secs == 0 {
            return bad(
                "request_header_timeout_secs and request_body_timeout_secs must be at least 1"
                    .into(),
            );
        }
        if let Some(proxy) = self
            .trusted_proxies
            .iter()
            .find(|p| p.parse::<std::net::IpAddr>().is_err())
        {
            return bad(format!("trusted_proxies: {proxy:?} is not an IP address"));
        }
        if self.submitter_tokens.iter().any(|t| t.len() < 16) {
            return bad("submitter_tokens must be at least 16 characters long".into());
        }
        if self.max_rows < 2 || self.max_columns == 0 || self.max_cells == 0 {
            return bad(
                "max_rows must be at least 2 (a header and a row); max_columns and max_cells at least 1"
                    .into(),
            );
        }
        if self.max_columns > u64::from(crate::sheet::XLSX_MAX_COLUMNS) {
            return bad(format!(
                "max_columns ({}) is more than an .xlsx sheet can hold ({})",
                self.max_columns,
                crate::sheet::XLSX_MAX_COLUMNS
            ));
        }
        if self.sheet_work_threads == 0 {
            return bad("sheet_work_threads must be at least 1".into());
        }
        if self.worker_concurrency == 0 || self.job_max_attempts == 0 {
            return bad("worker_concurrency and job_max_attempts must be at least 1".into());
        }
        if self.resolve_attempts == 0
            || self.resolve_concurrency == 0
            || self.resolve_per_host == 0
            || self.resolve_timeout_ms == 0
        {
            return bad("resolve_attempts, resolve_concurrency, resolve_per_host and resolve_timeout_ms must be at least 1".into());
        }
        if !(self.places_base_url.starts_with("http://")
            || self.places_base_url.starts_with("https://"))
        {
            return bad(format!(
                "places_base_url {:?} must start with http:// or https://",
                self.places_base_url
            ));
        }
        self.validate_geocoding()?;
        self.map_tile_origin()?;
        if self.queue_heartbeat_secs == 0 || self.queue_missed_heartbeats < 2 {
            return bad(format!(
                "queue_heartbeat_secs ({}) must be at least 1 and queue_missed_heartbeats ({}) at least 2 \
                 (a lease must outlive one late renewal)",
                self.queue_heartbeat_secs, self.queue_missed_heartbeats
            ));
        }
        Ok(())
    }

    fn validate_geocoding(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Config(m));
        if let Some(url) = &self.geocode_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return bad(format!(
                "geocode_url {url:?} must start with http:// or https://"
            ));
        }
        if self.geocode_rate_per_sec == 0 {
            return bad("geocode_rate_per_sec must be at least 1".into());
        }
        let agent = self.geocode_user_agent.trim();
        if agent.is_empty() || !agent.bytes().all(|b| (b' '..=b'~').contains(&b)) {
            return bad(
                "geocode_user_agent must be printable ASCII and not empty (it is an HTTP header)"
                    .into(),
            );
        }
        if let Some(code) = self
            .geocode_countrycodes
            .iter()
            .find(|c| c.len() != 2 || !c.bytes().all(|b| b.is_ascii_alphabetic()))
        {
            return bad(format!(
                "geocode_countrycodes: {code:?} is not a two-letter country code"
            ));
        }
        Ok(())
    }

    /// Where the web page's map tiles come from, as a content-security-policy source:
    /// the scheme, host and port of `map_tile_url` (`https://tile.openstreetmap.org`),
    /// with a `{s}.` subdomain template as a wildcard (`https://*.tile.example.org`).
    /// `None` when `map_tile_url` is empty (no tiles); an error names what is wrong
    /// with a template the page could not use.
    pub fn map_tile_origin(&self) -> Result<Option<String>> {
        let template = self.map_tile_url.as_str();
        if template.is_empty() {
            return Ok(None);
        }
        let bad = |why: &str| Error::Config(format!("map_tile_url {template:?} {why}"));
        let (scheme, rest) = template
            .split_once("://")
            .filter(|(scheme, _)| matches!(*scheme, "https" | "http"))
            .ok_or_else(|| bad("must start with https:// or http://"))?;
        if ["{z}", "{x}", "{y}"].iter().any(|p| !template.contains(p)) {
            return Err(bad(
                "must contain {z}, {x} and {y}, as in https://tile.openstreetmap.org/{z}/{x}/{y}.png",
            ));
        }
        if template
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(bad("must not contain spaces or control characters"));
        }
        let (authority, path) = rest.split_at(rest.find(['/', '?', '#']).unwrap_or(rest.len()));
        // Leaflet fills `{s}` with one of a server's subdomains (a., b., c.): the policy
        // then has to allow all of them.
        let (wildcard, authority) = match authority.strip_prefix("{s}.") {
            Some(host) => (true, host),
            None => (false, authority),
        };
        if authority.is_empty() {
            return Err(bad("has no host"));
        }
        if authority.contains(['{', '}', '@']) {
            return Err(bad(
                "must name its host plainly (only {s}. may come before it, and no user name)",
            ));
        }
        // The placeholders are no valid URL characters; without their braces the rest
        // of the template is checked as the URL it will become.
        let probe = format!("{scheme}://{authority}{}", path.replace(['{', '}'], ""));
        let parsed = url::Url::parse(&probe).map_err(|e| bad(&format!("is not a URL ({e})")))?;
        let host = parsed
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| bad("has no host"))?;
        let port = parsed.port().map(|p| format!(":{p}")).unwrap_or_default();
        let star = if wildcard { "*." } else { "" };
        Ok(Some(format!("{scheme}://{star}{host}{port}")))
    }

    /// The limits every sheet read is held to.
    pub fn sheet_limits(&self) -> crate::sheet::Limits {
        crate::sheet::Limits {
            max_rows: self.max_rows,
            max_columns: self.max_columns,
            max_cells: self.max_cells,
            max_unpacked_bytes: self.max_unpacked_bytes,
        }
    }

    pub fn sqlite_path(&self) -> PathBuf {
        self.data_dir.join("maplink.db")
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn defaults_match_the_spec() {
        let s = Settings::load_from(None, env(&[])).unwrap();
        assert_eq!(s.bind, "127.0.0.1:8080");
        assert_eq!(s.data_dir, PathBuf::from("./data"));
        assert_eq!(s.redis_url, None);
        assert_eq!(s.session_ttl_secs, 7200);
        assert_eq!(s.cleanup_interval_secs, 60);
        assert_eq!(s.heartbeat_interval_secs, 5);
        assert_eq!(s.max_upload_bytes, 16_777_216);
        assert_eq!(s.worker_metrics_bind, "127.0.0.1:9464");
        assert_eq!(s.log_format, LogFormat::Text);
    }

    #[test]
    fn file_then_environment_override_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("maplink.toml");
        std::fs::write(&path, "session_ttl_secs = 600\nbind = \"127.0.0.1:9000\"\n").unwrap();
        let s = Settings::load_from(
            Some(path),
            env(&[
                ("MAPLINK_SESSION_TTL_SECS", "900"),
                ("MAPLINK_LOG_FORMAT", "json"),
            ]),
        )
        .unwrap();
        assert_eq!(s.session_ttl_secs, 900, "environment beats file");
        assert_eq!(s.bind, "127.0.0.1:9000", "file beats default");
        assert_eq!(s.log_format, LogFormat::Json);
    }

    #[test]
    fn bad_values_are_reported_by_name() {
        let err =
            Settings::load_from(None, env(&[("MAPLINK_SESSION_TTL_SECS", "soon")])).unwrap_err();
        assert!(
            err.to_string().contains("MAPLINK_SESSION_TTL_SECS"),
            "{err}"
        );
        let err = Settings::load_from(None, env(&[("MAPLINK_HEARTBEAT_INTERVAL_SECS", "7200")]))
            .unwrap_err();
        assert!(err.to_string().contains("heartbeat_interval_secs"), "{err}");
        let err = Settings::load_from(None, env(&[("MAPLINK_BIND", "localhost")])).unwrap_err();
        assert!(err.to_string().contains("bind"), "{err}");
    }

    #[test]
    fn the_example_config_documents_every_key_with_its_default() {
        let example = include_str!("../../../deploy/maplink.example.toml");
        for (key, _) in KEYS {
            let set = format!("\n{key} = ");
            let commented = format!("\n# {key} = ");
            assert!(
                example.contains(&set) || example.contains(&commented),
                "{key} is not in deploy/maplink.example.toml"
            );
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("maplink.toml");
        std::fs::write(&path, example).unwrap();
        assert_eq!(
            Settings::load_from(Some(path), env(&[])).unwrap(),
            Settings::default()
        );
    }

    #[test]
    fn every_field_has_a_variable() {
        // KEYS drives the environment, the README and example checks and `--help`: a
        // field missing from it would be settable only in the file, and undocumented.
        let fields: Vec<String> = toml::Table::try_from(Settings {
            // Optional fields are left out of a serialised table when unset.
            redis_url: Some(String::new()),
            storage_url: Some(String::new()),
            ops_token: Some(String::new()),
            places_api_key: Some(String::new()),
            geocode_url: Some(String::new()),
            ..Settings::default()
        })
        .unwrap()
        .keys()
        .cloned()
        .collect();
        let keys: Vec<String> = KEYS.iter().map(|(k, _)| (*k).to_owned()).collect();
        let mut missing: Vec<&String> = fields.iter().filter(|f| !keys.contains(f)).collect();
        missing.sort();
        assert!(
            missing.is_empty(),
            "fields without a MAPLINK_ variable: {missing:?}"
        );
        assert_eq!(
            fields.len(),
            keys.len(),
            "KEYS names a field that does not exist"
        );
    }

    #[test]
    fn the_readme_lists_every_variable() {
        let readme = include_str!("../../../README.md");
        for (key, _) in KEYS {
            let var = format!("`MAPLINK_{}`", key.to_ascii_uppercase());
            assert!(
                readme.contains(&var),
                "{var} is not in the README's configuration table"
            );
        }
    }

    #[test]
    fn the_help_lists_every_variable_with_its_default() {
        let help = variables_help();
        assert_eq!(help.lines().count(), KEYS.len() + 1);
        let line = |var: &str| {
            help.lines()
                .find(|l| l.split_whitespace().next() == Some(var))
                .unwrap_or_else(|| panic!("{var} is not in {help}"))
                .split_whitespace()
                .skip(1)
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert_eq!(line("MAPLINK_SESSION_TTL_SECS"), "7200");
        assert_eq!(line("MAPLINK_BIND"), "127.0.0.1:8080");
        assert_eq!(line("MAPLINK_REDIS_URL"), "(unset)");
        assert_eq!(line("MAPLINK_SUBMITTER_TOKENS"), "(none)");
        assert_eq!(line("MAPLINK_LOG_FORMAT"), "text");
        assert!(line("MAPLINK_RESOLVE_ALLOWED_HOSTS").starts_with("goo.gl,g.co,"));
    }

    #[test]
    fn list_variables_are_comma_separated() {
        let s = Settings::load_from(
            None,
            env(&[("MAPLINK_RESOLVE_ALLOWED_HOSTS", " goo.gl, example.org ,,")]),
        )
        .unwrap();
        assert_eq!(s.resolve_allowed_hosts, ["goo.gl", "example.org"]);
    }

    #[test]
    fn secrets_never_reach_a_debug_line() {
        let s = Settings {
            places_api_key: Some("AIza-places-secret".into()),
            ops_token: Some("ops-secret-0123456789".into()),
            submitter_tokens: vec!["submitter-secret-0123".into()],
            redis_url: Some("redis://:redis-secret@cache:6379/0".into()),
            ..Settings::default()
        };
        let line = format!("{s:?}");
        for secret in [
            "AIza-places-secret",
            "ops-secret",
            "submitter-secret",
            "redis-secret",
        ] {
            assert!(!line.contains(secret), "{secret} in {line}");
        }
        assert!(line.contains("cache:6379"), "{line}");
        assert!(line.contains("session_ttl_secs = 7200"), "{line}");
    }

    #[test]
    fn geocoding_is_off_by_default_and_its_settings_are_checked() {
        let s = Settings::load_from(None, env(&[("MAPLINK_GEOCODE_URL", "")])).unwrap();
        assert_eq!(s.geocode_url, None, "an empty variable leaves it off");
        assert_eq!(s.geocode_rate_per_sec, 1);
        assert!(s.geocode_user_agent.starts_with("maplink/"));
        let s = Settings::load_from(
            None,
            env(&[
                ("MAPLINK_GEOCODE_URL", "https://nominatim.example.org"),
                ("MAPLINK_GEOCODE_COUNTRYCODES", "za, na"),
            ]),
        )
        .unwrap();
        assert_eq!(s.geocode_countrycodes, ["za", "na"]);
        for (key, value) in [
            ("geocode_url", "nominatim.example.org"),
            ("geocode_rate_per_sec", "0"),
            ("geocode_user_agent", " "),
            ("geocode_user_agent", "maplink\u{e9}"),
            ("geocode_countrycodes", "zaf"),
        ] {
            let var = format!("MAPLINK_{}", key.to_ascii_uppercase());
            let err = Settings::load_from(None, env(&[(&var, value)])).unwrap_err();
            assert!(err.to_string().contains(key), "{var}={value:?}: {err}");
        }
    }

    #[test]
    fn the_map_tiles_default_to_openstreetmap_and_an_empty_url_turns_them_off() {
        let s = Settings::load_from(None, env(&[])).unwrap();
        assert_eq!(
            s.map_tile_url,
            "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
        );
        assert!(
            s.map_tile_attribution
                .contains("https://www.openstreetmap.org/copyright")
        );
        assert_eq!(
            s.map_tile_origin().unwrap().as_deref(),
            Some("https://tile.openstreetmap.org")
        );
        let s = Settings::load_from(None, env(&[("MAPLINK_MAP_TILE_URL", "")])).unwrap();
        assert_eq!(s.map_tile_url, "");
        assert_eq!(s.map_tile_origin().unwrap(), None);
    }

    #[test]
    fn the_map_tile_origin_is_the_templates_scheme_host_and_port() {
        for (template, origin) in [
            (
                "http://127.0.0.1:8123/{z}/{x}/{y}.png",
                "http://127.0.0.1:8123",
            ),
            (
                "https://{s}.tile.example.org/{z}/{x}/{y}.png?key=abc",
                "https://*.tile.example.org",
            ),
            (
                "https://tiles.example.org:443/osm/{z}/{x}/{y}{r}.png",
                "https://tiles.example.org",
            ),
            ("https://[::1]:9000/{z}/{x}/{y}.png", "https://[::1]:9000"),
            (
                "https://Tiles.Example.ORG/{z}/{x}/{y}.png",
                "https://tiles.example.org",
            ),
        ] {
            let var = ("MAPLINK_MAP_TILE_URL", template);
            let s = Settings::load_from(None, env(&[var])).unwrap();
            assert_eq!(s.map_tile_origin().unwrap().as_deref(), Some(origin));
        }
    }

    #[test]
    fn a_map_tile_url_the_page_could_not_use_is_refused_at_start() {
        for template in [
            "tile.openstreetmap.org/{z}/{x}/{y}.png",
            "ftp://tiles.example.org/{z}/{x}/{y}.png",
            "https://tiles.example.org/{z}/{x}.png",
            "https://tiles.example.org/{x}/{y}.png",
            "https://{z}.example.org/{z}/{x}/{y}.png",
            "https://user@tiles.example.org/{z}/{x}/{y}.png",
            "https:///{z}/{x}/{y}.png",
            "https://tiles.example.org/{z}/{x}/{y}.png; img-src *",
            "https://tiles example.org/{z}/{x}/{y}.png",
        ] {
            let err =
                Settings::load_from(None, env(&[("MAPLINK_MAP_TILE_URL", template)])).unwrap_err();
            assert!(
                err.to_string().contains("map_tile_url"),
                "{template}: {err}"
            );
        }
    }

    #[test]
    fn unknown_file_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("maplink.toml");
        std::fs::write(&path, "session_ttl = 5\n").unwrap();
        let err = Settings::load_from(Some(path), env(&[])).unwrap_err();
        assert!(err.to_string().contains("session_ttl"), "{err}");
    }
}
