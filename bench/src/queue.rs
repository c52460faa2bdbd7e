//! The `queue` scenario: what the job queue itself costs, with no-op jobs run through
//! the same runtime as the coordinates job (`maplink_worker::noop`: the same job
//! source, acknowledging layer, lease keeping, worker layers and attempts cap), so
//! that only the job's own work is left out.
//!
//! Phases, on a private `redis-server` (random port, nothing saved, every phase from
//! an empty database) and, where marked, on the embedded SQLite queue (a fresh file):
//! - enqueue: 20,000 jobs through `JobStore::enqueue` in chunks of 1,000 (before each
//!   drain, also on SQLite), one at a time awaited (`c1`), and one at a time with 50
//!   calls in flight (`c50`);
//! - drain (Redis and SQLite): one worker in this process, concurrency 50, takes the
//!   20,000 jobs just queued; rate = N / (first handler entry → the queue showing
//!   nothing pending or running), so the worker's start-up is left out. Three runs,
//!   the median judged. On Redis each run also counts the server's commands
//!   (`CONFIG RESETSTAT` before, `INFO commandstats` after; commands run by the
//!   scripts are counted too) and its CPU time;
//! - idle pickup (Redis and SQLite): an idle worker, 100 jobs one after another, each
//!   queued 5–30 ms after the previous one was entered; latency = handler entry −
//!   start of the enqueue call. In embedded mode the producer and the worker share one
//!   `QueueBackend`, as they do inside the API. Also shown split at the enqueue call's
//!   return; on Redis the handler is often entered before that return (the script's
//!   XADD answers the waiting read before its own reply reaches the producer);
//! - one-row sessions end to end through the release binaries
//!   ([`crate::queue_sessions`]).
//!
//! These phases measure the same things as the BullMQ reference benchmark
//! (`enqueue_addBulk1000`, `enqueue_add_c1`, `enqueue_add_c50`, `process_c50`,
//! `latency_e2e`), to be run in the same sitting. Targets: the drain at least 1.3 ×
//! BullMQ's `process_c50` (judged when `BULLMQ_PROCESS_RATE` gives that figure, in
//! jobs/s); idle pickup p50 ≤ 1 ms and p99 ≤ 5 ms, on Redis and on SQLite.

use std::{
    collections::BTreeMap,
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use maplink::{
    backend::{Backend, Reconnect},
    config::Settings,
    shutdown::Shutdown,
};
use maplink_tests::RedisServer;
use maplink_worker::{
    app::open_backend,
    noop::{self, NoopJob},
    queue::{JobStore, QueueBackend, QueueStats},
};
use redis::aio::ConnectionManager;
use tokio::sync::{Notify, mpsc};

use crate::stack;

/// Jobs per enqueue and drain phase.
const JOBS: usize = 20_000;
/// Jobs per `enqueue` call in the bulk phase.
const CHUNK: usize = 1_000;
/// Single enqueues in flight in the `c50` phase.
const ENQUEUERS: usize = 50;
/// The draining worker's concurrency (BullMQ's `process_c50`).
const DRAIN_CONCURRENCY: usize = 50;
const DRAIN_RUNS: usize = 3;
const PICKUP_SAMPLES: usize = 100;
/// The idle gap before each pickup sample: 5–30 ms.
const GAP_MIN_US: u64 = 5_000;
const GAP_SPAN_US: u64 = 25_000;

const DRAIN_VS_BULLMQ_TARGET: f64 = 1.3;
const PICKUP_P50_TARGET_MS: f64 = 1.0;
const PICKUP_P99_TARGET_MS: f64 = 5.0;

/// Bounds: one phase (an enqueue loop, a drain, all sessions), one pickup sample, a
/// process's start and a worker's stop.
pub(crate) const PHASE_TIMEOUT: Duration = Duration::from_secs(240);
const PICKUP_TIMEOUT: Duration = Duration::from_secs(5);
const STOP_TIMEOUT: Duration = Duration::from_secs(15);
/// How often the queue is asked whether the last jobs are acknowledged. A drain asks
/// only after the last handler entry, so the polls add a handful of calls in all.
const DRAIN_POLL: Duration = Duration::from_millis(1);
/// Linux reports process CPU time in ticks of 1/100 s (`USER_HZ`).
const TICKS_PER_S: f64 = 100.0;

pub async fn queue() -> anyhow::Result<bool> {
    let settings = Settings::default();
    println!(
        "queue: no-op jobs through the worker runtime; {JOBS} jobs per phase, drain by one \
         worker at concurrency {DRAIN_CONCURRENCY} (median of {DRAIN_RUNS}), \
         {PICKUP_SAMPLES} idle pickups"
    );
    let bullmq = bullmq_process_rate()?;
    let mut met = true;
    if stack::redis_installed() {
        met &= on_redis(&settings, bullmq).await?;
    } else {
        println!(
            "  Redis phases SKIPPED: redis-server is not installed (see README: Testing); \
             the drain and the Redis pickup targets are not measured  MISSED"
        );
        met = false;
    }
    met &= on_sqlite(&settings).await?;
    if stack::redis_installed() {
        crate::queue_sessions::sessions_end_to_end().await?;
    }
    Ok(met)
}

/// BullMQ's `process_c50` in jobs/s from the same sitting, if given.
fn bullmq_process_rate() -> anyhow::Result<Option<f64>> {
    match std::env::var("BULLMQ_PROCESS_RATE") {
        Ok(v) => Ok(Some(v.trim().parse().map_err(|_| {
            anyhow::anyhow!("BULLMQ_PROCESS_RATE must be a number of jobs/s, not {v:?}")
        })?)),
        Err(_) => Ok(None),
    }
}

async fn on_redis(settings: &Settings, bullmq: Option<f64>) -> anyhow::Result<bool> {
    let server = RedisServer::start();
    let settings = &Settings {
        redis_url: Some(server.url()),
        ..settings.clone()
    };
    let backend = Backend::open(settings, Reconnect::WithBackoff).await?;
    // The queue's own connection, so that the accounting sees what the queue sends.
    let Backend::Redis { conn, .. } = &backend else {
        anyhow::bail!("redis_url is set, yet the backend is not Redis");
    };
    let version = redis_version(&mut conn.clone()).await?;
    println!("\n  Redis {version} (private server, no persistence)");

    // The bulk enqueues fill the queue each drain takes, as BullMQ's phases do.
    let mut bulk = Vec::new();
    let mut drains = Vec::new();
    for run in 1..=DRAIN_RUNS {
        flush(&mut conn.clone()).await?;
        let queue = QueueBackend::open(&backend, settings).await?;
        let store = queue.store();
        bulk.push(enqueue_bulk(&*store, &format!("bulk{run}")).await?);
        let mut accounting = conn.clone();
        let _: () = redis::cmd("CONFIG")
            .arg("RESETSTAT")
            .query_async(&mut accounting)
            .await?;
        let before = RedisSnapshot::take(&mut accounting).await?;
        let drained = drain(store, settings, &format!("drain-redis-{run}")).await?;
        let after = RedisSnapshot::take(&mut accounting).await?;
        drains.push((drained, after.since(&before)));
    }
    report_rates("enqueue, chunks of 1,000", &bulk);

    flush(&mut conn.clone()).await?;
    let queue = QueueBackend::open(&backend, settings).await?;
    let rate = enqueue_single(queue.store(), 1, "c1").await?;
    report_rates("enqueue, one at a time (c1)", &[rate]);
    flush(&mut conn.clone()).await?;
    let rate = enqueue_single(queue.store(), ENQUEUERS, "c50").await?;
    report_rates("enqueue, 50 in flight (c50)", &[rate]);

    let (median_rate, mut met) = report_drain(&drains.iter().map(|(d, _)| *d).collect::<Vec<_>>());
    met &= judge_against_bullmq(median_rate, bullmq);
    let per_run: Vec<String> = drains
        .iter()
        .map(|(_, work)| format!("{:.2}", work.calls as f64 / JOBS as f64))
        .collect();
    let (median_run, redis_work) = median_by_rate(&drains);
    println!(
        "    Redis per job: {:.2} commands, scripts' included ({} in the runs), {:.2} \
         script calls; {:.1} µs of Redis CPU, {:.1} µs of this process's CPU (run at the \
         median)",
        redis_work.calls as f64 / JOBS as f64,
        per_run.join(", "),
        redis_work.scripts() as f64 / JOBS as f64,
        redis_work.cpu_s * 1e6 / JOBS as f64,
        median_run.cpu_s * 1e6 / JOBS as f64,
    );
    println!("    top commands per job: {}", redis_work.top(8));

    flush(&mut conn.clone()).await?;
    let queue = QueueBackend::open(&backend, settings).await?;
    met &= report_pickup("Redis", &pickup(&queue, settings).await?);
    Ok(met)
}

async fn on_sqlite(settings: &Settings) -> anyhow::Result<bool> {
    println!("\n  SQLite (embedded: the producer and the worker share one QueueBackend)");
    let mut bulk = Vec::new();
    let mut drains = Vec::new();
    for run in 1..=DRAIN_RUNS {
        let dir = tempfile::tempdir()?;
        let backend = sqlite_backend(dir.path(), settings).await?;
        let store = backend.store();
        bulk.push(enqueue_bulk(&*store, &format!("bulk{run}")).await?);
        drains.push(drain(store, settings, &format!("drain-sqlite-{run}")).await?);
    }
    report_rates("enqueue, chunks of 1,000", &bulk);
    let (_, met) = report_drain(&drains);

    let dir = tempfile::tempdir()?;
    let backend = sqlite_backend(dir.path(), settings).await?;
    Ok(report_pickup("SQLite", &pickup(&backend, settings).await?) && met)
}

async fn sqlite_backend(dir: &Path, settings: &Settings) -> anyhow::Result<QueueBackend> {
    let settings = Settings {
        data_dir: dir.to_owned(),
        redis_url: None,
        ..settings.clone()
    };
    let (_, queue) = open_backend(&settings, Reconnect::WithBackoff).await?;
    Ok(queue)
}

fn payload() -> String {
    serde_json::to_string(&NoopJob {
        sent_us: noop::now_us(),
    })
    .expect("a NoopJob serializes")
}

/// `JOBS` jobs in chunks of `CHUNK`; jobs/s.
async fn enqueue_bulk(store: &dyn JobStore, prefix: &str) -> anyhow::Result<f64> {
    let started = Instant::now();
    let added = tokio::time::timeout(PHASE_TIMEOUT, async {
        let mut added = 0;
        for first in (0..JOBS).step_by(CHUNK) {
            let chunk: Vec<(String, String)> = (first..(first + CHUNK).min(JOBS))
                .map(|i| (format!("{prefix}-{i}"), payload()))
                .collect();
            added += store.enqueue(&chunk).await?;
        }
        anyhow::Ok(added)
    })
    .await??;
    let rate = JOBS as f64 / started.elapsed().as_secs_f64();
    anyhow::ensure!(added == JOBS as u64, "only {added} of {JOBS} jobs added");
    Ok(rate)
}

/// `JOBS` jobs one per call, `in_flight` calls at a time (all from one task, as one
/// client would); jobs/s.
async fn enqueue_single(
    store: Arc<dyn JobStore>,
    in_flight: usize,
    prefix: &str,
) -> anyhow::Result<f64> {
    let next = AtomicUsize::new(0);
    let lane = || async {
        let mut added = 0;
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= JOBS {
                return anyhow::Ok(added);
            }
            added += store
                .enqueue(&[(format!("{prefix}-{i}"), payload())])
                .await?;
        }
    };
    let started = Instant::now();
    let lanes = futures::future::join_all((0..in_flight).map(|_| lane()));
    let added: u64 = tokio::time::timeout(PHASE_TIMEOUT, lanes)
        .await?
        .into_iter()
        .sum::<anyhow::Result<u64>>()?;
    let rate = JOBS as f64 / started.elapsed().as_secs_f64();
    anyhow::ensure!(added == JOBS as u64, "only {added} of {JOBS} jobs added");
    Ok(rate)
}

/// Handler entries of a drain, counted by the workers as they happen.
struct Entries {
    count: AtomicUsize,
    /// The first entry, µs since the epoch (0 until then).
    first_us: AtomicU64,
    /// Notified at the `JOBS`-th entry. `notify_one` keeps the permit if nobody waits
    /// yet, so the waiter cannot miss it.
    all_entered: Notify,
}

#[derive(Clone, Copy)]
struct Drained {
    rate: f64,
    seconds: f64,
    /// Handler entries: more than `JOBS` would mean jobs run twice.
    entries: usize,
    dead: u64,
    /// This process's CPU time over the drain (the worker, with its start and stop).
    cpu_s: f64,
}

/// One worker at `DRAIN_CONCURRENCY` drains the `JOBS` jobs on `store`.
async fn drain(
    store: Arc<dyn JobStore>,
    settings: &Settings,
    name: &str,
) -> anyhow::Result<Drained> {
    let entries = Arc::new(Entries {
        count: AtomicUsize::new(0),
        first_us: AtomicU64::new(0),
        all_entered: Notify::new(),
    });
    let on_entry: noop::OnEntry = {
        let entries = entries.clone();
        Arc::new(move |_job| {
            let now = noop::now_us();
            let _ = entries
                .first_us
                .compare_exchange(0, now, Ordering::Relaxed, Ordering::Relaxed);
            if entries.count.fetch_add(1, Ordering::Relaxed) + 1 == JOBS {
                entries.all_entered.notify_one();
            }
        })
    };
    let mut config = QueueBackend::source_config(settings);
    config.concurrency = DRAIN_CONCURRENCY;
    let cpu_before = process_cpu_s()?;
    let (trigger, shutdown) = Shutdown::new();
    let worker = tokio::spawn(noop::run(
        store.clone(),
        config,
        name.to_owned(),
        settings.job_max_attempts as usize,
        on_entry,
        shutdown,
    ));
    let finished = tokio::time::timeout(PHASE_TIMEOUT, async {
        entries.all_entered.notified().await;
        // Entered is not yet acknowledged: the last acknowledgements are still being
        // written.
        loop {
            let stats = store.stats().await?;
            if idle(&stats) {
                return anyhow::Ok((noop::now_us(), stats.dead));
            }
            tokio::time::sleep(DRAIN_POLL).await;
        }
    })
    .await;
    trigger.trigger();
    let stopped = tokio::time::timeout(STOP_TIMEOUT, worker).await;
    let cpu_s = process_cpu_s()? - cpu_before;
    let (done_us, dead) = finished.map_err(|_| {
        anyhow::anyhow!(
            "{name}: {} of {JOBS} jobs entered within {PHASE_TIMEOUT:?}",
            entries.count.load(Ordering::Relaxed)
        )
    })??;
    stopped
        .map_err(|_| anyhow::anyhow!("{name}: the worker did not stop within {STOP_TIMEOUT:?}"))??
        .map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
    let seconds = done_us.saturating_sub(entries.first_us.load(Ordering::Relaxed)) as f64 / 1e6;
    Ok(Drained {
        rate: JOBS as f64 / seconds,
        seconds,
        entries: entries.count.load(Ordering::Relaxed),
        dead,
        cpu_s,
    })
}

pub(crate) fn idle(stats: &QueueStats) -> bool {
    stats.pending + stats.scheduled + stats.running == 0
}

/// Idle pickup latencies in ms, each list sorted.
struct Pickups {
    /// Start of the enqueue call → handler entry: what is judged.
    total: Vec<f64>,
    /// The enqueue call itself.
    call: Vec<f64>,
    /// The enqueue call's return → handler entry.
    after: Vec<f64>,
}

/// An idle worker; `PICKUP_SAMPLES` jobs one after another.
async fn pickup(backend: &QueueBackend, settings: &Settings) -> anyhow::Result<Pickups> {
    let (tx, mut rx) = mpsc::unbounded_channel::<(NoopJob, u64)>();
    let on_entry: noop::OnEntry = Arc::new(move |job| {
        let _ = tx.send((job, noop::now_us()));
    });
    let mut config = QueueBackend::source_config(settings);
    config.concurrency = DRAIN_CONCURRENCY;
    let (trigger, shutdown) = Shutdown::new();
    let worker = tokio::spawn(noop::run(
        backend.store(),
        config,
        "pickup".into(),
        settings.job_max_attempts as usize,
        on_entry,
        shutdown,
    ));
    // Let the worker start and settle into its wait for work.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let store = backend.store();
    let mut gaps = Gaps(0x9E37_79B9_7F4A_7C15);
    let mut pickups = Pickups {
        total: Vec::with_capacity(PICKUP_SAMPLES),
        call: Vec::with_capacity(PICKUP_SAMPLES),
        after: Vec::with_capacity(PICKUP_SAMPLES),
    };
    let sampled = async {
        for i in 0..PICKUP_SAMPLES {
            tokio::time::sleep(gaps.next()).await;
            let job = NoopJob {
                sent_us: noop::now_us(),
            };
            store
                .enqueue(&[(format!("pickup-{i}"), serde_json::to_string(&job)?)])
                .await?;
            let returned_us = noop::now_us();
            let (seen, entered_us) = tokio::time::timeout(PICKUP_TIMEOUT, rx.recv())
                .await
                .map_err(|_| anyhow::anyhow!("job {i} was not entered within {PICKUP_TIMEOUT:?}"))?
                .ok_or_else(|| anyhow::anyhow!("the pickup worker stopped"))?;
            anyhow::ensure!(
                seen.sent_us == job.sent_us,
                "job {i}: another job was entered"
            );
            let ms = |from: u64, to: u64| to.saturating_sub(from) as f64 / 1e3;
            pickups.total.push(ms(job.sent_us, entered_us));
            pickups.call.push(ms(job.sent_us, returned_us));
            pickups.after.push(ms(returned_us, entered_us));
        }
        anyhow::Ok(())
    }
    .await;
    trigger.trigger();
    let stopped = tokio::time::timeout(STOP_TIMEOUT, worker).await;
    sampled?;
    stopped
        .map_err(|_| anyhow::anyhow!("the pickup worker did not stop within {STOP_TIMEOUT:?}"))??
        .map_err(|e| anyhow::anyhow!("pickup: {e}"))?;
    for list in [&mut pickups.total, &mut pickups.call, &mut pickups.after] {
        list.sort_by(f64::total_cmp);
    }
    Ok(pickups)
}

/// Idle gaps of 5–30 ms from a fixed-seed xorshift: the enqueues land at different
/// points of the worker's wait, in the same order every run.
struct Gaps(u64);

impl Gaps {
    fn next(&mut self) -> Duration {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        Duration::from_micros(GAP_MIN_US + self.0 % (GAP_SPAN_US + 1))
    }
}

/// The nearest-rank percentile of sorted values (for 100 samples p50 is the 50th,
/// p99 the 99th, as the BullMQ benchmark reports them).
fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn report_rates(name: &str, rates: &[f64]) {
    let runs: Vec<String> = rates.iter().map(|r| format!("{r:.0}")).collect();
    println!(
        "    {name:<34} {:>8.0} jobs/s  ({})",
        median(rates),
        runs.join(", ")
    );
}

/// Prints the drains; false if a job ran twice or died. Returns the median rate too.
fn report_drain(runs: &[Drained]) -> (f64, bool) {
    let rates: Vec<f64> = runs.iter().map(|d| d.rate).collect();
    let median = median(&rates);
    let detail: Vec<String> = runs
        .iter()
        .map(|d| format!("{:.0} ({:.2} s)", d.rate, d.seconds))
        .collect();
    println!(
        "    {:<34} {median:>8.0} jobs/s  ({})",
        format!("drain, one worker, concurrency {DRAIN_CONCURRENCY}"),
        detail.join(", ")
    );
    let mut met = true;
    for d in runs.iter().filter(|d| d.entries != JOBS || d.dead > 0) {
        println!(
            "      {} handler entries for {JOBS} jobs, {} dead  MISSED",
            d.entries, d.dead
        );
        met = false;
    }
    (median, met)
}

/// The drain's target: a ratio to BullMQ's `process_c50` from the same sitting.
fn judge_against_bullmq(median: f64, bullmq: Option<f64>) -> bool {
    let Some(b) = bullmq else {
        println!(
            "      target ≥ {DRAIN_VS_BULLMQ_TARGET} × BullMQ process_c{DRAIN_CONCURRENCY}: not \
             judged (set BULLMQ_PROCESS_RATE to its jobs/s from the same sitting)"
        );
        return true;
    };
    let ratio = median / b;
    let ok = ratio >= DRAIN_VS_BULLMQ_TARGET;
    println!(
        "      vs BullMQ process_c{DRAIN_CONCURRENCY} {b:.0} jobs/s: {ratio:.2} × \
         (target ≥ {DRAIN_VS_BULLMQ_TARGET} ×) {}",
        if ok { "ok" } else { "MISSED" }
    );
    ok
}

/// Prints the idle pickup latencies against their targets.
fn report_pickup(what: &str, pickups: &Pickups) -> bool {
    let sorted_ms = &pickups.total;
    let p50 = percentile(sorted_ms, 50.0);
    let p99 = percentile(sorted_ms, 99.0);
    let ok = p50 <= PICKUP_P50_TARGET_MS && p99 <= PICKUP_P99_TARGET_MS;
    println!(
        "    {:<34} p50 {p50:.2} ms, p99 {p99:.2} ms, max {:.2} ms (target p50 ≤ \
         {PICKUP_P50_TARGET_MS} ms, p99 ≤ {PICKUP_P99_TARGET_MS} ms) {}",
        format!("idle pickup on {what}"),
        sorted_ms.last().copied().unwrap_or(f64::NAN),
        if ok { "ok" } else { "MISSED" }
    );
    println!(
        "      of which the enqueue call p50 {:.2} ms (p99 {:.2}), its return → handler entry \
         p50 {:.2} ms (p99 {:.2})",
        percentile(&pickups.call, 50.0),
        percentile(&pickups.call, 99.0),
        percentile(&pickups.after, 50.0),
        percentile(&pickups.after, 99.0),
    );
    ok
}

/// The drain run at the median rate, with its Redis accounting.
fn median_by_rate(runs: &[(Drained, RedisWork)]) -> &(Drained, RedisWork) {
    let mut order: Vec<&(Drained, RedisWork)> = runs.iter().collect();
    order.sort_by(|a, b| a.0.rate.total_cmp(&b.0.rate));
    order[order.len() / 2]
}

/// This process's CPU time so far (user + system), in seconds.
fn process_cpu_s() -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    // The fields after the command name (which may hold spaces) start at the state,
    // field 3: utime and stime are fields 14 and 15.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .ok_or_else(|| anyhow::anyhow!("unexpected /proc/self/stat"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| -> anyhow::Result<f64> {
        Ok(fields
            .get(i)
            .ok_or_else(|| anyhow::anyhow!("unexpected /proc/self/stat"))?
            .parse::<f64>()?)
    };
    Ok((ticks(11)? + ticks(12)?) / TICKS_PER_S)
}

async fn redis_version(conn: &mut ConnectionManager) -> anyhow::Result<String> {
    let info: String = redis::cmd("INFO").arg("server").query_async(conn).await?;
    Ok(info_field(&info, "redis_version").unwrap_or("?").to_owned())
}

async fn flush(conn: &mut ConnectionManager) -> anyhow::Result<()> {
    let _: () = redis::cmd("FLUSHALL").query_async(conn).await?;
    Ok(())
}

fn info_field<'a>(info: &'a str, name: &str) -> Option<&'a str> {
    info.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .map(str::trim)
}

/// The server's command counts and CPU time at one moment.
struct RedisSnapshot {
    calls: BTreeMap<String, u64>,
    cpu_s: f64,
}

impl RedisSnapshot {
    async fn take(conn: &mut ConnectionManager) -> anyhow::Result<Self> {
        let info: String = redis::cmd("INFO")
            .arg("cpu")
            .arg("commandstats")
            .query_async(conn)
            .await?;
        let cpu = |name| -> f64 {
            info_field(&info, name)
                .and_then(|v| v.parse().ok())
                .unwrap_or(0.0)
        };
        // `cmdstat_xack:calls=20000,usec=…`
        let calls = info
            .lines()
            .filter_map(|l| {
                let (name, rest) = l.strip_prefix("cmdstat_")?.split_once(':')?;
                let calls = rest
                    .strip_prefix("calls=")?
                    .split(',')
                    .next()?
                    .parse()
                    .ok()?;
                Some((name.to_owned(), calls))
            })
            .collect();
        Ok(Self {
            calls,
            cpu_s: cpu("used_cpu_user") + cpu("used_cpu_sys"),
        })
    }

    /// What the server did between `before` and this snapshot, leaving out the
    /// accounting's own commands.
    fn since(&self, before: &Self) -> RedisWork {
        let by_command: Vec<(String, u64)> = self
            .calls
            .iter()
            .filter(|(name, _)| !name.starts_with("info") && !name.starts_with("config"))
            .map(|(name, n)| {
                (
                    name.clone(),
                    n - before.calls.get(name).copied().unwrap_or(0),
                )
            })
            .filter(|(_, n)| *n > 0)
            .collect();
        RedisWork {
            calls: by_command.iter().map(|(_, n)| n).sum(),
            by_command,
            cpu_s: self.cpu_s - before.cpu_s,
        }
    }
}

struct RedisWork {
    /// Every command, those run inside scripts included.
    calls: u64,
    by_command: Vec<(String, u64)>,
    cpu_s: f64,
}

impl RedisWork {
    fn scripts(&self) -> u64 {
        self.by_command
            .iter()
            .filter(|(name, _)| name.starts_with("eval") || name.starts_with("fcall"))
            .map(|(_, n)| n)
            .sum()
    }

    /// The `n` most called commands, per job.
    fn top(&self, n: usize) -> String {
        let mut order: Vec<&(String, u64)> = self.by_command.iter().collect();
        order.sort_by_key(|(_, calls)| std::cmp::Reverse(*calls));
        order
            .iter()
            .take(n)
            .map(|(name, calls)| format!("{name} {:.2}", *calls as f64 / JOBS as f64))
            .collect::<Vec<_>>()
            .join(", ")
    }
}
