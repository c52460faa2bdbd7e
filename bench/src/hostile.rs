//! The `hostile` scenario: the hostile-upload corpus (`maplink_tests::hostile`) and the
//! largest ordinary uploads, replayed against the release binaries; then the worker
//! side, the largest sheets the default limits let through.
//!
//! API side, per case: the answer (status and error code; for an accepted upload also
//! `POST /process/<id>`, the original app's waiting route, and the size of its answer),
//! the time, peak RSS, and `/healthz` latency polled every 10 ms while the case runs.
//! The cases run in distributed mode (`stack::Mode::Distributed`): a private Redis, the
//! API and one worker, so that the API's peak is the API's own work (reading and
//! checking uploads, waiting, answering) and the job's memory shows in the worker's
//! column. Every case gets fresh processes, so that each peak (`VmHWM`, which only
//! grows) is that case's alone; a start costs under a second, far less than the cases.
//!
//! One extra line runs the largest CSV in embedded mode, where the API hosts the
//! workers: its peak after `/process` is the job's, so it is held to the worker's
//! target, not the API's.
//!
//! Worker side: each sheet is converted in a fresh child process (`measure FILE`).
//!
//! Targets: the API process's peak RSS under 256 MiB in every distributed case, after
//! the upload and after `/process`; the worker's under 1 GiB; the API (and worker)
//! alive after each case; `/healthz` p99 under 100 ms over all cases; a worker
//! converting the largest allowed sheet under 1 GiB.

use std::{
    fs::File,
    io::Write,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use maplink::config::Settings;
use maplink_tests::hostile::{self, Attack};
use serde_json::Value;

use crate::{
    scenarios,
    stack::{self, Binaries, Mode, Service, Stack},
};

const API_PEAK_TARGET_MIB: f64 = 256.0;
const HEALTHZ_P99_TARGET_MS: f64 = 100.0;
const WORKER_PEAK_TARGET_MIB: f64 = 1024.0;

/// How often `/healthz` is asked while a case runs.
const HEALTHZ_EVERY: Duration = Duration::from_millis(10);
/// Bounds on one case: its requests, and the health poller's samples and time.
const UPLOAD_TIMEOUT: Duration = Duration::from_secs(120);
const PROCESS_TIMEOUT: Duration = Duration::from_secs(300);
const HEALTHZ_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_HEALTHZ_SAMPLES: usize = 60_000;
const MAX_CASE_TIME: Duration = Duration::from_secs(600);

pub async fn hostile() -> anyhow::Result<bool> {
    let settings = Settings::default();
    let limits = settings.sheet_limits();
    let upload_limit = settings.max_upload_bytes as usize;
    println!(
        "hostile: the hostile-upload corpus against the release maplink-api and maplink-worker \
         (distributed: private Redis, one worker; fresh processes per case)"
    );
    println!(
        "  limits: upload {} MiB, {} rows, {} columns, {} cells, {} MiB of text",
        upload_limit / 1048576,
        limits.max_rows,
        limits.max_columns,
        limits.max_cells,
        limits.max_unpacked_bytes / 1048576
    );

    let big_csv = largest_csv(upload_limit, limits.max_rows as usize);
    let big_xlsx = largest_links_xlsx(upload_limit, limits.max_rows as usize)?;
    let mut cases: Vec<Case> = hostile::all()
        .into_iter()
        .map(|a| Case {
            name: a.name.to_owned(),
            uploads: vec![a],
        })
        .collect();
    cases.push(Case {
        name: "largest_csv".into(),
        uploads: vec![big_csv.clone()],
    });
    cases.push(Case {
        name: "largest_xlsx".into(),
        uploads: vec![big_xlsx.clone()],
    });
    cases.push(Case {
        name: "two_at_once".into(),
        uploads: vec![big_csv.clone(), big_csv.clone()],
    });

    let binaries = Binaries::find()?;
    println!();
    print_header();
    let mut met = true;
    let distributed = if stack::redis_installed() {
        let mut results = Vec::new();
        for case in &cases {
            let r = run_case(&binaries, case, Mode::Distributed).await?;
            let ok = r.alive == Alive::Yes
                && r.api_upload_peak_mib < API_PEAK_TARGET_MIB
                && r.api_peak_mib < API_PEAK_TARGET_MIB
                && r.worker_peak_mib < WORKER_PEAK_TARGET_MIB;
            met &= ok;
            print_line(case, &r, ok, |processed| {
                processed.then(|| format!("{:.1}", r.worker_peak_mib))
            });
            results.push(r);
        }
        results
    } else {
        // Without Redis there is no API that only enqueues: the API targets cannot be
        // measured, which is a miss, not a pass.
        println!(
            "  distributed cases SKIPPED: redis-server is not installed (see README: Testing); \
             the API and worker targets are not measured  MISSED"
        );
        met = false;
        Vec::new()
    };
    // The API hosts the workers here: its peak after `/process` is the job's and answers
    // to the worker's target; after the upload it is still the API's own.
    let embedded_case = Case {
        name: "largest_csv, embedded".into(),
        uploads: vec![big_csv.clone()],
    };
    let embedded = run_case(&binaries, &embedded_case, Mode::Embedded).await?;
    let embedded_ok = embedded.alive == Alive::Yes
        && embedded.api_upload_peak_mib < API_PEAK_TARGET_MIB
        && embedded.api_peak_mib < WORKER_PEAK_TARGET_MIB;
    met &= embedded_ok;
    print_line(&embedded_case, &embedded, embedded_ok, |_| {
        Some("in API".into())
    });
    println!(
        "  (embedded: no Redis, the API runs the job itself; its peak after /process is held \
         to the worker's {WORKER_PEAK_TARGET_MIB} MiB)"
    );

    println!();
    if !distributed.is_empty() {
        met &= report_distributed(&distributed);
    }
    met &= scenarios::report(
        "embedded API after upload",
        embedded.api_upload_peak_mib,
        "MiB",
        Some(API_PEAK_TARGET_MIB),
    );
    met &= scenarios::report(
        "embedded API+job, /process",
        embedded.api_peak_mib,
        "MiB",
        Some(WORKER_PEAK_TARGET_MIB),
    );
    let all_latencies: Vec<Sample> = distributed
        .iter()
        .chain([&embedded])
        .flat_map(|r| r.healthz.iter().copied())
        .collect();
    let overall = Latencies::of(&all_latencies);
    met &= scenarios::report(
        "/healthz p99, all cases",
        overall.p99,
        "ms",
        Some(HEALTHZ_P99_TARGET_MS),
    );
    scenarios::report("/healthz p50, all cases", overall.p50, "ms", None);
    scenarios::report("/healthz max, all cases", overall.max, "ms", None);
    println!(
        "  /healthz samples              {:>10} ({} failed)",
        all_latencies.len(),
        all_latencies.iter().filter(|s| !s.ok).count()
    );

    met &= worker_side(&big_xlsx, &big_csv, &limits, upload_limit)?;
    Ok(met)
}

/// The distributed cases' worst peaks against their targets, and their peaks at rest.
fn report_distributed(results: &[CaseResult]) -> bool {
    let worst = |peak: fn(&CaseResult) -> f64| results.iter().map(peak).fold(0.0, f64::max);
    let api_idle: Vec<f64> = results.iter().map(|r| r.api_idle_mib).collect();
    let worker_idle: Vec<f64> = results.iter().filter_map(|r| r.worker_idle_mib).collect();
    println!(
        "  at rest (after start): API peak RSS {}, worker {}",
        range(&api_idle),
        range(&worker_idle)
    );
    let mut met = scenarios::report(
        "API peak after upload",
        worst(|r| r.api_upload_peak_mib),
        "MiB",
        Some(API_PEAK_TARGET_MIB),
    );
    met &= scenarios::report(
        "API peak after /process",
        worst(|r| r.api_peak_mib),
        "MiB",
        Some(API_PEAK_TARGET_MIB),
    );
    met &= scenarios::report(
        "worker peak after /process",
        worst(|r| r.worker_peak_mib),
        "MiB",
        Some(WORKER_PEAK_TARGET_MIB),
    );
    met
}

/// "min–max MiB" of some peaks, or "-" without any.
fn range(peaks: &[f64]) -> String {
    if peaks.is_empty() {
        return "-".into();
    }
    format!(
        "{:.1}–{:.1} MiB",
        peaks.iter().copied().fold(f64::INFINITY, f64::min),
        peaks.iter().copied().fold(0.0, f64::max)
    )
}

/// Peaks: the API's after the upload(s), its own work; the API's after `/process`
/// (waiting and answering, plus the job in embedded mode); the worker's after
/// `/process`, the job.
fn print_header() {
    table_row([
        "case",
        "size",
        "answer",
        "upload",
        "process",
        "API MiB",
        "API MiB",
        "worker",
        "healthz p50/p99/max ms",
        "alive",
    ]);
    table_row([
        "",
        "",
        "",
        "s",
        "s",
        "upload",
        "process",
        "MiB",
        "(samples)",
        "",
    ]);
}

/// One case's line; `worker(processed)` is what the worker column says.
fn print_line(case: &Case, r: &CaseResult, ok: bool, worker: impl FnOnce(bool) -> Option<String>) {
    let size: usize = case.uploads.iter().map(|a| a.bytes.len()).sum();
    let processed = |text: String| r.process_seconds.map_or_else(|| "-".to_owned(), |_| text);
    let alive = match (r.alive, ok) {
        (Alive::Yes, true) => "yes",
        (Alive::Yes, false) => "yes  MISSED",
        (Alive::ApiGone, _) => "API GONE  MISSED",
        (Alive::WorkerGone, _) => "worker GONE  MISSED",
    };
    table_row([
        &case.name,
        &human_bytes(size),
        &r.answer,
        &format!("{:.2}", r.upload_seconds),
        &processed(format!("{:.2}", r.process_seconds.unwrap_or_default())),
        &format!("{:.1}", r.api_upload_peak_mib),
        &processed(format!("{:.1}", r.api_peak_mib)),
        &worker(r.process_seconds.is_some()).unwrap_or_else(|| "-".into()),
        &Latencies::of(&r.healthz).summary(),
        alive,
    ]);
}

/// One line of the API table: case, size, answer, two times, three peaks, health, alive.
fn table_row(cells: [&str; 10]) {
    let [
        case,
        size,
        answer,
        upload_s,
        process_s,
        upload_peak,
        api_peak,
        worker_peak,
        health,
        alive,
    ] = cells;
    let line = format!(
        "  {case:<22} {size:>9}  {answer:<36} {upload_s:>7} {process_s:>7} {upload_peak:>8} {api_peak:>8} {worker_peak:>8}  {health:>24}  {alive}"
    );
    println!("{}", line.trim_end());
}

/// One or more uploads sent at once to fresh processes.
struct Case {
    name: String,
    uploads: Vec<Attack>,
}

/// Whether the processes were still there after a case.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Alive {
    Yes,
    /// The API exited or stopped answering `/healthz`.
    ApiGone,
    /// The worker process exited (distributed mode).
    WorkerGone,
}

struct CaseResult {
    answer: String,
    upload_seconds: f64,
    /// `None` when nothing was processed.
    process_seconds: Option<f64>,
    api_idle_mib: f64,
    /// `None` in embedded mode, which has no worker process.
    worker_idle_mib: Option<f64>,
    api_upload_peak_mib: f64,
    api_peak_mib: f64,
    /// The worker's peak at the end of the case; 0 in embedded mode.
    worker_peak_mib: f64,
    alive: Alive,
    healthz: Vec<Sample>,
}

/// Starts fresh processes, runs `case` while `/healthz` is polled, and measures.
async fn run_case(binaries: &Binaries, case: &Case, mode: Mode) -> anyhow::Result<CaseResult> {
    // Dropped on every return, `?` included: the API, worker and Redis are killed.
    let mut stack = Stack::start(binaries, mode)?;
    let api_idle_mib = stack.api.peak_mib();
    let worker_idle_mib = stack.worker.as_ref().map(Service::peak_mib);
    let base = format!("http://{}", stack.addr);
    let client = client()?;

    let stop = Arc::new(AtomicBool::new(false));
    let poller = tokio::spawn(poll_healthz(base.clone(), stop.clone()));
    let started = Instant::now();
    let answers = send_all(&client, &base, &case.uploads).await;
    let upload_seconds = started.elapsed().as_secs_f64();
    let api_upload_peak_mib = stack.api.peak_mib();
    // The waiting route only for a single accepted upload: "two at once" is about the
    // API reading two sheets side by side.
    let mut answer = answers
        .iter()
        .map(|a| a.describe())
        .collect::<Vec<_>>()
        .join(" + ");
    let mut process_seconds = None;
    if let [Answer::Accepted { session_id }] = &answers[..] {
        let started = Instant::now();
        answer.push_str(&process(&client, &base, session_id).await);
        process_seconds = Some(started.elapsed().as_secs_f64());
    }
    stop.store(true, Ordering::Relaxed);
    let healthz = poller.await?;

    let alive = if !(stack.api.is_running() && health_ok(&client, &base).await) {
        Alive::ApiGone
    } else if stack.worker.as_mut().is_some_and(|w| !w.is_running()) {
        Alive::WorkerGone
    } else {
        Alive::Yes
    };
    Ok(CaseResult {
        answer,
        upload_seconds,
        process_seconds,
        api_idle_mib,
        worker_idle_mib,
        api_upload_peak_mib,
        api_peak_mib: stack.api.peak_mib(),
        worker_peak_mib: stack.worker.as_ref().map_or(0.0, Service::peak_mib),
        alive,
        healthz,
    })
}

/// Sends every upload of a case at once. One task is enough: for this process the
/// uploads are only I/O.
async fn send_all(client: &reqwest::Client, base: &str, uploads: &[Attack]) -> Vec<Answer> {
    futures::future::join_all(uploads.iter().map(|a| upload(client, base, a))).await
}

enum Answer {
    Accepted { session_id: String },
    Refused { status: u16, code: String },
    Failed(String),
}

impl Answer {
    fn describe(&self) -> String {
        match self {
            Self::Accepted { .. } => "201".into(),
            Self::Refused { status, code } => format!("{status} {code}"),
            Self::Failed(e) => format!("request failed: {e}"),
        }
    }
}

async fn upload(client: &reqwest::Client, base: &str, attack: &Attack) -> Answer {
    let part = reqwest::multipart::Part::bytes(attack.bytes.clone()).file_name(attack.filename);
    let form = reqwest::multipart::Form::new().part("file", part);
    let sent = client
        .post(format!("{base}/api/v1/sessions"))
        .multipart(form)
        .timeout(UPLOAD_TIMEOUT)
        .send()
        .await;
    let response = match sent {
        Ok(r) => r,
        Err(e) => return Answer::Failed(e.to_string()),
    };
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    match (status, body["session_id"].as_str()) {
        (201, Some(id)) => Answer::Accepted {
            session_id: id.to_owned(),
        },
        _ => Answer::Refused {
            status,
            code: body["code"].as_str().unwrap_or("-").to_owned(),
        },
    }
}

/// `POST /process/<id>`, waiting for the job; describes the answer and its size.
async fn process(client: &reqwest::Client, base: &str, id: &str) -> String {
    let sent = client
        .post(format!("{base}/process/{id}"))
        .timeout(PROCESS_TIMEOUT)
        .send()
        .await;
    match sent {
        Ok(r) => {
            let status = r.status().as_u16();
            match r.bytes().await {
                Ok(body) => format!(", process {status} ({})", human_bytes(body.len())),
                Err(e) => format!(", process {status} (body failed: {e})"),
            }
        }
        Err(e) => format!(", process failed: {e}"),
    }
}

fn client() -> anyhow::Result<reqwest::Client> {
    maplink_worker::resolve::install_crypto_provider();
    Ok(reqwest::Client::builder().no_proxy().build()?)
}

async fn health_ok(client: &reqwest::Client, base: &str) -> bool {
    client
        .get(format!("{base}/healthz"))
        .timeout(HEALTHZ_TIMEOUT)
        .send()
        .await
        .is_ok_and(|r| r.status() == 200)
}

/// One `/healthz` request: how long it took and whether it answered 200.
#[derive(Clone, Copy)]
struct Sample {
    ms: f64,
    ok: bool,
}

/// Asks `/healthz` every 10 ms until `stop`, within the sample and time bounds. Its own
/// client, so that its requests never queue behind an upload's connection.
async fn poll_healthz(base: String, stop: Arc<AtomicBool>) -> Vec<Sample> {
    let client = client().expect("an HTTP client");
    let url = format!("{base}/healthz");
    let deadline = Instant::now() + MAX_CASE_TIME;
    let mut samples = Vec::new();
    while !stop.load(Ordering::Relaxed)
        && samples.len() < MAX_HEALTHZ_SAMPLES
        && Instant::now() < deadline
    {
        let sent = Instant::now();
        let ok = client
            .get(&url)
            .timeout(HEALTHZ_TIMEOUT)
            .send()
            .await
            .is_ok_and(|r| r.status() == 200);
        samples.push(Sample {
            ms: sent.elapsed().as_secs_f64() * 1000.0,
            ok,
        });
        tokio::time::sleep(HEALTHZ_EVERY).await;
    }
    samples
}

struct Latencies {
    n: usize,
    p50: f64,
    p99: f64,
    max: f64,
}

impl Latencies {
    fn of(samples: &[Sample]) -> Self {
        let mut ms: Vec<f64> = samples.iter().map(|s| s.ms).collect();
        ms.sort_by(f64::total_cmp);
        // Nearest rank: the smallest sample with at least q of them at or below it.
        let rank = |q: f64| {
            ms.get(((q * ms.len() as f64).ceil() as usize).saturating_sub(1))
                .copied()
                .unwrap_or(f64::NAN)
        };
        Self {
            n: ms.len(),
            p50: rank(0.50),
            p99: rank(0.99),
            max: ms.last().copied().unwrap_or(f64::NAN),
        }
    }

    fn summary(&self) -> String {
        if self.n == 0 {
            // The case was over before the first poll.
            return "- (0)".into();
        }
        format!(
            "{:.1}/{:.1}/{:.1} ({})",
            self.p50, self.p99, self.max, self.n
        )
    }
}

fn human_bytes(n: usize) -> String {
    match n {
        n if n >= 1 << 20 => format!("{:.1} MiB", n as f64 / 1048576.0),
        n if n >= 1 << 10 => format!("{:.1} KiB", n as f64 / 1024.0),
        n => format!("{n} B"),
    }
}

/// The largest ordinary CSV within the upload limit: the row limit's worth of rows
/// with a parseable pair, their names padded so that the file fills the upload limit
/// (rows of two lengths, one byte apart).
fn largest_csv(upload_limit: usize, max_rows: usize) -> Attack {
    const HEADER: &str = "Name,Region,Maps\n";
    const TAIL: &str = ",b,\"1.1,2.2\"\n";
    let room = upload_limit - HEADER.len();
    let row_len = (room / (max_rows - 1)).max(TAIL.len() + 1);
    let rows = (max_rows - 1).min(room / row_len);
    let longer = (room - rows * row_len).min(rows);
    let mut csv = String::with_capacity(upload_limit);
    csv.push_str(HEADER);
    for i in 0..rows {
        let name_len = row_len - TAIL.len() + usize::from(i < longer);
        csv.push_str(&"a".repeat(name_len));
        csv.push_str(TAIL);
    }
    Attack {
        name: "largest_csv",
        what: "the row limit's worth of parseable pairs, filling the upload limit",
        filename: "largest.csv",
        bytes: csv.into_bytes(),
    }
}

/// The largest .xlsx of parseable links within the upload limit: the row limit's worth
/// if it fits, else as many rows as do.
fn largest_links_xlsx(upload_limit: usize, max_rows: usize) -> anyhow::Result<Attack> {
    let link = |i: usize| {
        let lat = -34.0 + (i % 1000) as f64 * 0.01;
        let lng = 18.0 + (i % 997) as f64 * 0.01;
        format!("https://www.google.com/maps/place/Site/@{lat:.4},{lng:.4},15z")
    };
    let mut rows = max_rows - 1;
    let mut bytes = scenarios::generate(rows, link)?;
    // The size grows with the rows almost linearly: scale down, then trim, until it fits.
    for _ in 0..5 {
        if bytes.len() <= upload_limit {
            break;
        }
        rows = (rows as f64 * upload_limit as f64 / bytes.len() as f64 * 0.995) as usize;
        bytes = scenarios::generate(rows, link)?;
    }
    anyhow::ensure!(
        bytes.len() <= upload_limit,
        "no .xlsx of links fits the upload limit"
    );
    println!(
        "  largest .xlsx of links: {rows} data rows in {}",
        human_bytes(bytes.len())
    );
    Ok(Attack {
        name: "largest_xlsx",
        what: "rows of parseable links up to the upload or row limit",
        filename: "largest.xlsx",
        bytes,
    })
}

/// A CSV as wide as the column limit with as many rows of one-character cells as the
/// cell limit allows: the most cells per byte of text. Every map cell is `x`, which no
/// pattern reads and which is no URL: every row fails (without a network request), so
/// the job also writes every row to the failed-rows file.
fn most_cells_csv(limits: &maplink::sheet::Limits) -> Vec<u8> {
    let columns = limits.max_columns as usize;
    let rows = limits.max_cells as usize / columns;
    let mut csv = String::from("Name,Region,Maps");
    for c in 3..columns {
        csv.push_str(&format!(",c{c}"));
    }
    csv.push('\n');
    let row = format!("{}x\n", "x,".repeat(columns - 1));
    for _ in 1..rows {
        csv.push_str(&row);
    }
    csv.into_bytes()
}

/// An .xlsx near the cell limit whose text is near the text limit: 100 columns, and
/// every cell refers to one of 100 shared strings of 51 characters (the map column to
/// a parseable link of that length). Shared strings keep the file small; the text
/// budget counts them once per cell, as the reader holds them. Rows are narrow so that
/// one row fits deflate's 32 KiB window: the next row repeats it, and the file stays
/// under the upload limit.
fn long_text_xlsx(limits: &maplink::sheet::Limits) -> Vec<u8> {
    const COLUMNS: u32 = 100;
    const LINK: &str = "https://www.google.com/maps/@-26.10000,28.05000,15z";
    let per_cell = LINK.len() as u64;
    // Leave room for the header's text and stay under both limits.
    let rows = (limits.max_cells / u64::from(COLUMNS))
        .min(limits.max_unpacked_bytes / (per_cell * u64::from(COLUMNS)))
        .saturating_sub(10) as u32;
    let mut shared: Vec<String> = (0..COLUMNS)
        .map(|c| format!("{c:0>width$}", width = LINK.len()))
        .collect();
    shared[2] = LINK.to_owned();
    let shared_refs: Vec<&str> = shared.iter().map(String::as_str).collect();
    let columns: Vec<String> = (0..COLUMNS).map(hostile::column_name).collect();
    let mut data = String::with_capacity(rows as usize * COLUMNS as usize * 36);
    data.push_str(r#"<row r="1">"#);
    for (c, name) in columns.iter().enumerate() {
        let title = match c {
            0 => "Name".to_owned(),
            1 => "Region".to_owned(),
            2 => "Maps".to_owned(),
            c => format!("c{c}"),
        };
        data.push_str(&hostile::text_cell(&format!("{name}1"), &title));
    }
    data.push_str("</row>");
    for r in 2..rows + 1 {
        data.push_str(&format!(r#"<row r="{r}">"#));
        for (c, name) in columns.iter().enumerate() {
            data.push_str(&format!(r#"<c r="{name}{r}" t="s"><v>{c}</v></c>"#));
        }
        data.push_str("</row>");
    }
    hostile::raw_xlsx(&data, &shared_refs, None)
}

/// The largest sheets the default limits accept, each converted in a fresh process.
fn worker_side(
    links_xlsx: &Attack,
    rows_csv: &Attack,
    limits: &maplink::sheet::Limits,
    upload_limit: usize,
) -> anyhow::Result<bool> {
    println!();
    println!("hostile, worker side: the largest allowed sheets, converted in a fresh process");
    let dir = tempfile::tempdir()?;
    let sheets: Vec<(&str, &str, Vec<u8>)> = vec![
        (
            "links.xlsx",
            "(a) the largest .xlsx upload above",
            links_xlsx.bytes.clone(),
        ),
        (
            "rows.csv",
            "(b) the largest CSV upload above",
            rows_csv.bytes.clone(),
        ),
        (
            "cells.csv",
            "(c) max cells of one character (.csv)",
            most_cells_csv(limits),
        ),
        (
            "text.xlsx",
            "(d) near max cells and max text (.xlsx)",
            long_text_xlsx(limits),
        ),
    ];
    println!(
        "  {:<40} {:>9} {:>9} {:>9} {:>10} {:>9}",
        "sheet", "size", "rows ok", "time s", "peak MiB", "output"
    );
    let mut met = true;
    for (filename, what, bytes) in sheets {
        let size = bytes.len();
        let path = dir.path().join(filename);
        File::create(&path)?.write_all(&bytes)?;
        drop(bytes);
        if size > upload_limit {
            println!(
                "  {what:<40} {:>9}  over the upload limit: not a sheet the API accepts",
                human_bytes(size)
            );
            met = false;
            continue;
        }
        match scenarios::measure_in_child(&path) {
            Ok(m) => {
                let ok = m.peak_mib < WORKER_PEAK_TARGET_MIB;
                met &= ok;
                println!(
                    "  {what:<40} {:>9} {:>9} {:>9.2} {:>10.1} {:>9}  (target < {WORKER_PEAK_TARGET_MIB} MiB) {}",
                    human_bytes(size),
                    m.successful_rows,
                    m.seconds,
                    m.peak_mib,
                    human_bytes(m.output_bytes),
                    if ok { "ok" } else { "MISSED" }
                );
            }
            Err(e) => {
                met = false;
                println!("  {what:<40} {:>9}  FAILED: {e:#}", human_bytes(size));
            }
        }
    }
    Ok(met)
}
